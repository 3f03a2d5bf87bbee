"""Matching resting orders against one closed candle, for the simulated exchange.

The rules (path order, maker fills at the limit price, triggers, the volume cap, reduce-only
trimming, event times) are the matching model documented in the module docstring of
:mod:`adapters.simulated.exchange`; this module implements its candle part. What a fill does
to the order and the account (the trade record, the order status, the ledger) stays with
:class:`~adapters.simulated.exchange.SimulatedExchange`, which hands its ``fill`` and
``expire`` operations to the matcher.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from adapters.simulated.book import RestingBook, SimOrder
from adapters.simulated.ledgers import FuturesLedger, SpotLedger
from adapters.simulated.settings import SimulationSettings
from domain.candles import Candle
from domain.enums import Liquidity, Side
from domain.events import ExecutionEvent
from domain.instruments import Instrument
from domain.orders import OrderStatus

ZERO = Decimal(0)
#: Event time of each point of the candle path, from the open: +0 s, +20 s, +40 s, close.
_POINT_OFFSETS_MS = (0, 20_000, 40_000, 59_999)

#: Fill ``quantity`` of an order at ``price``: ``(order, quantity, price, liquidity, ts, events)``.
FillOrder = Callable[[SimOrder, Decimal, Decimal, Liquidity, int, list[ExecutionEvent]], None]
#: Expire what is left of an order: ``(order, ts, events)``.
ExpireOrder = Callable[[SimOrder, int, list[ExecutionEvent]], None]


class CandleMatcher:
    """Walks a candle's price path and fills or triggers the resting orders it reaches."""

    def __init__(
        self,
        instrument: Instrument,
        settings: SimulationSettings,
        book: RestingBook,
        ledger: SpotLedger | FuturesLedger,
        fill: FillOrder,
        expire: ExpireOrder,
    ) -> None:
        self._instrument = instrument
        self._settings = settings
        self._futures = instrument.market.is_futures
        self._book = book
        self._ledger = ledger
        self._fill = fill
        self._expire = expire

    def match(self, candle: Candle, events: list[ExecutionEvent]) -> None:
        """Fill and trigger every resting order the candle reaches, appending the events."""
        share = self._settings.max_volume_share
        cap = None if share is None else candle.volume * share
        through = self._settings.trade_through
        touch = self._settings.touch_fills and not through
        book = self._book
        t0 = candle.open_time
        for i, x in enumerate(candle.path()):
            ts = t0 + _POINT_OFFSETS_MS[i]
            gap = i == 0
            # With a trade-through requirement a bid fills when price * (1 - through) > x,
            # i.e. when its price is above x / (1 - through); asks symmetrically.
            bid_x = x / (1 - through) if through else x
            ask_x = x / (1 + through) if through else x
            # Falling side: bids above x and fall-triggered stops at/above x, highest first.
            while True:
                bid = book.bids[-1] if book.bids else None
                stop = book.fall[-1] if book.fall else None
                bid_ok = (
                    bid is not None
                    and cap != 0
                    and (bid.price > bid_x or (touch and bid.price == x))  # type: ignore[operator]
                )
                stop_ok = stop is not None and stop.stop_price >= x  # type: ignore[operator]
                if stop_ok and (not bid_ok or stop.stop_price >= bid.price):  # type: ignore[union-attr,operator]
                    book.fall.pop()
                    self._trigger(stop, x if gap else stop.stop_price, ts, events)  # type: ignore[arg-type,union-attr]
                elif bid_ok:
                    cap = self._fill_resting(bid, cap, ts, events)  # type: ignore[arg-type]
                else:
                    break
            # Rising side: asks below x and rise-triggered stops at/below x, lowest first.
            while True:
                ask = book.asks[0] if book.asks else None
                stop = book.rise[0] if book.rise else None
                ask_ok = (
                    ask is not None
                    and cap != 0
                    and (ask.price < ask_x or (touch and ask.price == x))  # type: ignore[operator]
                )
                stop_ok = stop is not None and stop.stop_price <= x  # type: ignore[operator]
                if stop_ok and (not ask_ok or stop.stop_price <= ask.price):  # type: ignore[union-attr,operator]
                    book.rise.pop(0)
                    self._trigger(stop, x if gap else stop.stop_price, ts, events)  # type: ignore[arg-type,union-attr]
                elif ask_ok:
                    cap = self._fill_resting(ask, cap, ts, events)  # type: ignore[arg-type]
                else:
                    break

    def _fill_resting(
        self, order: SimOrder, cap: Decimal | None, ts: int, events: list[ExecutionEvent]
    ) -> Decimal | None:
        """Fill a resting limit as far as the volume cap and reduce-only allow.

        Returns the volume cap left for the rest of the candle (ZERO stops limit fills).
        """
        qty = order.remaining
        capped = False
        if cap is not None and qty > cap:
            # A partial fill is a whole number of lot steps, like every exchange fill.
            step = self._instrument.lot_size.step_size
            qty = (cap // step) * step if step else cap
            capped = True
        if self._futures and order.reduce_only:
            allowed = self._reduce_only_allowance(order, qty)
            if not allowed:
                self._book.remove(order)
                self._expire(order, ts, events)
                return cap
            qty = allowed
        if not qty:
            return ZERO
        if qty < order.remaining:
            self._fill(order, qty, order.price, Liquidity.MAKER, ts, events)  # type: ignore[arg-type]
            if self._futures and order.reduce_only and not capped:
                # The position is closed: Binance expires what is left of a reduce-only order.
                self._book.remove(order)
                self._expire(order, ts, events)
                return None if cap is None else cap - qty
            return ZERO if capped else (None if cap is None else cap - qty)
        self._book.remove(order)
        self._fill(order, qty, order.price, Liquidity.MAKER, ts, events)  # type: ignore[arg-type]
        return None if cap is None else cap - qty

    def _trigger(
        self, order: SimOrder, price: Decimal, ts: int, events: list[ExecutionEvent]
    ) -> None:
        qty = order.remaining
        if self._futures and order.reduce_only:
            qty = self._reduce_only_allowance(order, qty)
        if not qty or not self._ledger.can_settle(order, qty, price):
            self._expire(order, ts, events)
            return
        self._fill(order, qty, price, Liquidity.TAKER, ts, events)
        if order.status is not OrderStatus.FILLED:
            self._expire(order, ts, events)

    def _reduce_only_allowance(self, order: SimOrder, qty: Decimal) -> Decimal:
        ledger = self._ledger
        assert isinstance(ledger, FuturesLedger)
        pos = ledger.position.quantity
        if (pos > ZERO and order.side is Side.SELL) or (pos < ZERO and order.side is Side.BUY):
            return min(qty, abs(pos))
        return ZERO
