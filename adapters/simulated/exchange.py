"""A deterministic simulated exchange that matches orders against closed 1m candles.

Matching model (documented because every backtest figure depends on it):

* Orders placed between candles see the last close as the market price. A LIMIT at or
  through it (a bid >= last close, an ask <= last close) fills at once, completely, at that
  price as taker (GTX/post-only is rejected instead); MARKET fills at it too. Nothing else
  fills at placement.
* Each candle is walked along a fixed path: bullish (close >= open) O-L-H-C, bearish O-H-L-C.
  At every point, resting bids priced above the point (or at it, with ``touch_fills``) fill
  at their own price as maker, best first; asks symmetrically. A gap at the open fills every
  level it jumps, each at its own limit price.
* Conditional orders (STOP_MARKET / TAKE_PROFIT_MARKET) trigger when the path reaches the
  stop and fill completely as taker at the stop, or at the open if the candle gapped past it.
* Resting limit fills in one candle are capped at ``max_volume_share`` of its volume, in path
  order, in whole lot steps; the rest stays on the book (a partial fill). Market and
  triggered fills are not capped. A reduce-only order trimmed by the position is expired.
* Events carry times inside the candle: the four path points at +0 s, +20 s, +40 s and the
  close time. After a candle, the exchange clock stands at its close time + 1 ms.
* Futures funding settles at every 8 h boundary, at the open of the first candle at or after
  it, using that open as the mark price. Mark price is otherwise the last close.
* Seeded latency delays acceptance until the first candle after the delay; seeded faults
  reject new orders with -1008. Both are off by default.

Simplifications, each a venue detail the Binance adapter handles on the wire: conditional
orders use the ordinary order path (real futures route them to the algo-order service and
margin-check them only when triggered; here they are checked at placement and count towards
MAX_NUM_ORDERS); post-only is the GTX time-in-force on both markets (spot's LIMIT_MAKER);
futures-style modify is offered on spot too (the spot adapter uses cancel-replace); spot's
PERCENT_PRICE reference is the last close rather than the 5-minute average price.

Code layout: this class keeps the API, the clock, the order records and funding; the checks a
new order passes before its margin check are in :mod:`adapters.simulated.acceptance`, the
candle walk (fills, triggers, volume cap) in :mod:`adapters.simulated.matching`.
"""

from __future__ import annotations

import random
from collections import OrderedDict, deque
from decimal import Decimal

from adapters.simulated import rejections as rj
from adapters.simulated.acceptance import is_marketable, placement_rejection
from adapters.simulated.book import RestingBook, SimOrder
from adapters.simulated.ledgers import FuturesLedger, SpotLedger
from adapters.simulated.matching import CandleMatcher
from adapters.simulated.settings import SimulationSettings
from application.ports.exchange import AccountSnapshot, OrderRequest, OrderSnapshot
from domain.candles import Candle
from domain.enums import Liquidity, OrderType, TimeInForce
from domain.errors import FilterViolation
from domain.events import (
    CancelRejected,
    ExecutionEvent,
    FundingPaid,
    ModifyRejected,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderModified,
    OrderRejected,
)
from domain.instruments import Instrument
from domain.orders import Fill, OrderStatus

ZERO = Decimal(0)


class TradeHistoryExpired(LookupError):
    """``trades_since`` asked for fills older than the retained history."""


class SimulatedExchange:
    """One symbol on a simulated Binance account (spot or USD-M one-way futures)."""

    def __init__(
        self,
        instrument: Instrument,
        initial_balances: dict[str, Decimal],
        settings: SimulationSettings | None = None,
        start_time_ms: int = 0,
    ) -> None:
        self._instrument = instrument
        self._settings = settings or SimulationSettings()
        maker, taker = self._settings.fees_for(instrument.market)
        self._futures = instrument.market.is_futures
        self.ledger: SpotLedger | FuturesLedger
        if self._futures:
            wallet = initial_balances.get(instrument.quote_asset, ZERO)
            self.ledger = FuturesLedger(instrument, wallet, self._settings.leverage, maker, taker)
        else:
            self.ledger = SpotLedger(instrument, initial_balances, maker, taker)
        self._book = RestingBook()
        self._open: dict[str, SimOrder] = {}
        self._closed: OrderedDict[str, SimOrder] = OrderedDict()
        self._trades: deque[Fill] = deque(maxlen=self._settings.trade_history_retention)
        self._funding_history: deque[FundingPaid] = deque(
            maxlen=self._settings.trade_history_retention
        )
        self._in_flight: list[tuple[int, int, OrderRequest]] = []
        self._rng = random.Random(self._settings.seed)
        self._now = start_time_ms
        self._last: Decimal | None = None
        self._next_order_id = self._settings.first_id
        self._next_trade_id = self._settings.first_id
        self._seq = 0
        self._next_funding = 0  # set from the first candle
        # A trade-through requirement overrides touch fills (see CandleMatcher.match).
        self._touch = self._settings.touch_fills and not self._settings.trade_through
        self._matcher = CandleMatcher(
            instrument, self._settings, self._book, self.ledger, self._fill, self._expire
        )

    # ----------------------------------------------------------------- queries
    def now_ms(self) -> int:
        """The exchange clock (also the backtest's clock)."""
        return self._now

    @property
    def last_price(self) -> Decimal | None:
        """Last traded price: the latest candle close (None before the first candle)."""
        return self._last

    @property
    def max_leverage_seen(self) -> Decimal:
        """Highest worst-case exposure / equity ratio observed (futures; 0 for spot)."""
        return self.ledger.max_leverage_seen if isinstance(self.ledger, FuturesLedger) else ZERO

    def equity(self) -> Decimal:
        """Account value in the quote asset at the last price."""
        return self.ledger.equity(self._last or ZERO)

    def instrument(self, symbol: str) -> Instrument:
        """The simulated instrument (any other symbol is unknown)."""
        self._check_symbol(symbol)
        return self._instrument

    def query_order(self, symbol: str, client_order_id: str) -> OrderSnapshot | None:
        """Open or retained closed order with this client id."""
        self._check_symbol(symbol)
        order = self._open.get(client_order_id) or self._closed.get(client_order_id)
        return None if order is None else self._snapshot(order)

    def open_orders(self, symbol: str) -> list[OrderSnapshot]:
        """Open orders, oldest first."""
        self._check_symbol(symbol)
        return [self._snapshot(o) for o in sorted(self._open.values(), key=lambda o: o.seq)]

    def account(self) -> AccountSnapshot:
        """Balances and (futures) the position at the last price."""
        return self.ledger.snapshot(self._last or ZERO)

    def trades_since(self, symbol: str, after_trade_id: int) -> list[Fill]:
        """Fills with trade id above ``after_trade_id``.

        Raises:
            TradeHistoryExpired: Some of the requested fills are no longer retained.
        """
        self._check_symbol(symbol)
        if self._trades and after_trade_id + 1 < self._trades[0].trade_id:
            raise TradeHistoryExpired(
                f"fills after {after_trade_id} requested, "
                f"history starts at {self._trades[0].trade_id}"
            )
        return [f for f in self._trades if f.trade_id > after_trade_id]

    def funding_since(self, symbol: str, after_ms: int) -> list[FundingPaid]:
        """Funding settlements after ``after_ms``, oldest first (from the retained history)."""
        self._check_symbol(symbol)
        return [f for f in self._funding_history if f.timestamp > after_ms]

    # --------------------------------------------------------------- commands
    def place_order(self, request: OrderRequest) -> list[ExecutionEvent]:
        """Submit a new order (see the module docstring for the matching rules)."""
        if request.symbol != self._instrument.symbol:
            return [
                self._reject(
                    request.client_order_id,
                    rj.Rejection(-1121, "Invalid symbol.", rj.RejectReason.INVALID_REQUEST),
                )
            ]
        s = self._settings
        if s.reject_probability and self._rng.random() < s.reject_probability:
            return [self._reject(request.client_order_id, rj.server_busy())]
        if s.latency_ms:
            delay = self._rng.randint(0, s.latency_ms)
            self._in_flight.append((self._now + delay, len(self._in_flight), request))
            return []
        events: list[ExecutionEvent] = []
        self._accept(request, self._now, events)
        return events

    def modify_order(
        self, symbol: str, client_order_id: str, price: Decimal, quantity: Decimal
    ) -> list[ExecutionEvent]:
        """Futures-style modify: same order id, new price/quantity, queue priority lost."""
        self._check_symbol(symbol)
        now = self._now
        order = self._open.get(client_order_id)
        if order is None or order.order_type is not OrderType.LIMIT:
            return [self._modify_reject(client_order_id, rj.unknown_order_query())]
        if price == order.price and quantity == order.quantity:
            return [self._modify_reject(client_order_id, rj.no_need_to_modify())]
        if quantity <= order.executed_quantity:
            # Binance futures cancels an order modified to at or below its executed quantity.
            return self._cancel_open(order, now)
        try:
            self._instrument.check_order(order.side, OrderType.LIMIT, quantity, price, self._last)
        except FilterViolation as exc:
            return [
                self._modify_reject(
                    client_order_id, rj.filter_rejection(self._instrument.market, exc)
                )
            ]
        old_price, old_quantity = order.price, order.quantity
        self._book.remove(order)
        self.ledger.release(order)
        order.price, order.quantity = price, quantity
        rejection = self.ledger.reserve(order, self._last, self._book)
        if rejection is not None:
            order.price, order.quantity = old_price, old_quantity
            self.ledger.reserve(order, self._last, self._book, force=True)
            self._book.add(order)
            return [self._modify_reject(client_order_id, rejection)]
        self._seq += 1
        order.seq = self._seq  # a modified order loses its queue priority
        order.update_time = now
        events: list[ExecutionEvent] = [OrderModified(client_order_id, price, quantity, now)]
        if is_marketable(order.side, price, self._last):
            if order.time_in_force is TimeInForce.GTX:
                self._expire_or_cancel(order, now, events)
            else:
                self._fill(
                    order, order.remaining, self._last or price, Liquidity.TAKER, now, events
                )
        else:
            self._book.add(order)
        return events

    def replace_order(
        self,
        symbol: str,
        client_order_id: str,
        new_client_order_id: str,
        price: Decimal,
        quantity: Decimal,
    ) -> list[ExecutionEvent]:
        """Binance spot's cancel-replace (STOP_ON_FAILURE, ``cancelRestrictions=ONLY_NEW``).

        The new order's filters are checked first, then the old order is cancelled (only a
        LIMIT order with nothing executed: -2011 otherwise) and the new one placed under
        ``new_client_order_id`` like any new order. Nothing done answers
        ``CancelRejected`` + ``OrderRejected``; a refused new order after the cancel
        ``OrderCanceled`` + ``OrderRejected``.
        """
        self._check_symbol(symbol)
        now = self._now
        old, new = client_order_id, new_client_order_id
        order = self._open.get(old)
        refusal: rj.Rejection | None = None
        if order is None:
            refusal = rj.unknown_order_cancel()
        elif order.order_type is not OrderType.LIMIT or order.executed_quantity:
            refusal = rj.cancel_restricted()
        else:
            try:
                self._instrument.check_order(order.side, OrderType.LIMIT, quantity, price, None)
            except FilterViolation as exc:
                refusal = rj.filter_rejection(self._instrument.market, exc)
        if refusal is not None or order is None:
            r = refusal or rj.unknown_order_cancel()
            return [
                CancelRejected(old, r.reason, r.code, r.message, now),
                self._reject(new, r, now),
            ]
        events = self._cancel_open(order, now)
        request = OrderRequest(
            new,
            symbol,
            order.side,
            OrderType.LIMIT,
            quantity,
            price,
            order.time_in_force,
            None,
            order.reduce_only,
        )
        self._accept(request, now, events)
        return events

    def cancel_order(self, symbol: str, client_order_id: str) -> list[ExecutionEvent]:
        """Cancel one open order; anything else answers -2011 Unknown order sent."""
        self._check_symbol(symbol)
        order = self._open.get(client_order_id)
        if order is None:
            r = rj.unknown_order_cancel()
            return [CancelRejected(client_order_id, r.reason, r.code, r.message, self._now)]
        return self._cancel_open(order, self._now)

    def cancel_all_orders(self, symbol: str) -> list[ExecutionEvent]:
        """Cancel every open order on the symbol, oldest first."""
        self._check_symbol(symbol)
        events: list[ExecutionEvent] = []
        for order in sorted(self._open.values(), key=lambda o: o.seq):
            events.extend(self._cancel_open(order, self._now))
        return events

    # ------------------------------------------------------------------ market
    def on_candle(self, candle: Candle) -> list[ExecutionEvent]:
        """Advance by one closed candle: acceptances in flight, funding, then matching."""
        events: list[ExecutionEvent] = []
        if self._in_flight:
            self._activate_in_flight(candle.open_time, events)
        if self._futures and candle.open_time >= self._next_funding:
            self._settle_funding(candle, events)
        book = self._book
        bids = book.bids
        asks = book.asks
        if self._touch:
            hit = (bids and bids[-1].price >= candle.low) or (asks and asks[0].price <= candle.high)  # type: ignore[operator]
        else:
            hit = (bids and bids[-1].price > candle.low) or (asks and asks[0].price < candle.high)  # type: ignore[operator]
        if hit or book.rise or book.fall:
            self._matcher.match(candle, events)
        self._last = candle.close
        self._now = candle.close_time + 1
        return events

    # ---------------------------------------------------------------- internals
    def _check_symbol(self, symbol: str) -> None:
        if symbol != self._instrument.symbol:
            raise KeyError(
                f"unknown symbol {symbol!r}; this exchange simulates {self._instrument.symbol}"
            )

    def _reject(
        self, client_order_id: str, r: rj.Rejection, ts: int | None = None
    ) -> OrderRejected:
        return OrderRejected(
            client_order_id, r.reason, r.code, r.message, self._now if ts is None else ts
        )

    def _modify_reject(self, client_order_id: str, r: rj.Rejection) -> ModifyRejected:
        return ModifyRejected(client_order_id, r.reason, r.code, r.message, self._now)

    def _accept(self, req: OrderRequest, now: int, events: list[ExecutionEvent]) -> None:
        cid = req.client_order_id
        last = self._last
        rejection = placement_rejection(req, self._instrument, last, self._open)
        if rejection is not None:
            events.append(self._reject(cid, rejection, now))
            return
        otype = req.order_type
        tif = req.time_in_force
        marketable = otype is OrderType.MARKET or (
            otype is OrderType.LIMIT and is_marketable(req.side, req.price, last)  # type: ignore[arg-type]
        )
        self._seq += 1
        order = SimOrder(
            self._next_order_id,
            cid,
            req.side,
            otype,
            req.quantity,
            req.price,
            req.stop_price,
            tif,
            req.reduce_only,
            self._seq,
            now,
        )
        rejection = self.ledger.reserve(order, last, self._book)
        if rejection is not None:
            events.append(self._reject(cid, rejection, now))
            return
        self._next_order_id += 1
        self._open[cid] = order
        events.append(OrderAccepted(cid, order.order_id, now))
        if marketable:
            self._fill(order, order.quantity, last, Liquidity.TAKER, now, events)  # type: ignore[arg-type]
        elif otype is OrderType.LIMIT and tif in (TimeInForce.IOC, TimeInForce.FOK):
            self.ledger.release(order)
            self._finish(order, OrderStatus.EXPIRED)
            events.append(OrderExpired(cid, now))
        else:
            self._book.add(order)

    def _activate_in_flight(self, until: int, events: list[ExecutionEvent]) -> None:
        # Stable sort on the due time alone keeps arrival order among ties.
        due = sorted((item for item in self._in_flight if item[0] <= until), key=lambda i: i[0])
        if not due:
            return
        self._in_flight = [item for item in self._in_flight if item[0] > until]
        for at, _, request in due:
            self._accept(request, at, events)

    def _settle_funding(self, candle: Candle, events: list[ExecutionEvent]) -> None:
        schedule = self._settings.funding
        if not self._next_funding:
            self._next_funding = schedule.next_settlement(candle.open_time - 1)
        ledger = self.ledger
        assert isinstance(ledger, FuturesLedger)
        # A data gap can span several settlements: each one is settled, at this open.
        while candle.open_time >= self._next_funding:
            when = self._next_funding
            self._next_funding = schedule.next_settlement(when)
            qty = ledger.position.quantity
            if not qty:
                continue
            rate = schedule.rate_at(when)
            amount = ledger.funding(rate, candle.open)
            paid = FundingPaid(self._instrument.symbol, amount, rate, candle.open, qty, when)
            self._funding_history.append(paid)  # what funding_since answers after a restart
            events.append(paid)

    def _expire_or_cancel(self, order: SimOrder, ts: int, events: list[ExecutionEvent]) -> None:
        self.ledger.release(order)
        self._finish(order, OrderStatus.CANCELED)
        events.append(OrderCanceled(order.client_order_id, ts))

    def _expire(self, order: SimOrder, ts: int, events: list[ExecutionEvent]) -> None:
        self.ledger.release(order)
        self._finish(order, OrderStatus.EXPIRED)
        events.append(OrderExpired(order.client_order_id, ts))

    def _fill(
        self,
        order: SimOrder,
        qty: Decimal,
        price: Decimal,
        liquidity: Liquidity,
        ts: int,
        events: list[ExecutionEvent],
    ) -> None:
        fee, fee_asset, fee_quote = self.ledger.settle(order, qty, price, liquidity)
        executed = order.executed_quantity
        order.executed_quantity = executed + qty if executed else qty
        order.executed_quote += qty * price
        order.update_time = ts
        fill = Fill(
            self._next_trade_id,
            order.client_order_id,
            order.side,
            qty,
            price,
            fee,
            fee_asset,
            liquidity,
            ts,
            fee_quote,
        )
        self._next_trade_id += 1
        self._trades.append(fill)
        events.append(OrderFilled(fill))
        if order.executed_quantity == order.quantity:
            self.ledger.release(order)
            self._finish(order, OrderStatus.FILLED)
        else:
            order.status = OrderStatus.PARTIALLY_FILLED

    def _cancel_open(self, order: SimOrder, now: int) -> list[ExecutionEvent]:
        self._book.remove(order)
        self.ledger.release(order)
        order.update_time = now
        self._finish(order, OrderStatus.CANCELED)
        return [OrderCanceled(order.client_order_id, now)]

    def _finish(self, order: SimOrder, status: OrderStatus) -> None:
        order.status = status
        self._open.pop(order.client_order_id, None)
        closed = self._closed
        closed[order.client_order_id] = order
        if len(closed) > self._settings.closed_order_retention:
            closed.popitem(last=False)

    def _snapshot(self, o: SimOrder) -> OrderSnapshot:
        return OrderSnapshot(
            client_order_id=o.client_order_id,
            exchange_order_id=o.order_id,
            symbol=self._instrument.symbol,
            side=o.side,
            order_type=o.order_type,
            status=o.status,
            quantity=o.quantity,
            executed_quantity=o.executed_quantity,
            executed_quote=o.executed_quote,
            price=o.price,
            stop_price=o.stop_price,
            time_in_force=o.time_in_force,
            reduce_only=o.reduce_only,
            update_time=o.update_time,
        )
