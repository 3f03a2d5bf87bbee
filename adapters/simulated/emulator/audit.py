"""The emulator's own ground truth for a validation run, kept for the whole run.

The venue's Binance bookkeeping (:class:`~adapters.simulated.emulator.state.Venue`) keeps
bounded histories, sized for serving queries. A validation run must instead *prove* things
about every order and every fill of a long session: that no client order id ever stood for
two orders, that the PnL the bot booked is the exchange's to the last digit, and that the
effective leverage never went above the cap at any moment. :class:`VenueAudit` records
exactly that, unbounded but small (one entry per order, running sums per fill), fed by the
venue as it records events, so it depends on nothing but the events themselves.

Effective leverage is the position's notional at the mark divided by the equity (wallet
plus unrealized PnL at the same mark): the exposure the account actually carries, as
opposed to the worst case with every open order filled, which the simulator's margin check
tracks separately (``max_leverage_seen``). It is observed after every fill (at the fill
price: the price the market traded at that instant) and at every candle close.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from domain.enums import Side
from domain.positions import Position

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class LeverageMark:
    """The highest effective leverage seen so far and when.

    Attributes:
        leverage: Position notional / equity.
        time: Exchange time of the observation, Unix ms.
        notional: Absolute position value at ``mark``.
        equity: Wallet balance plus unrealized PnL at ``mark``.
        mark: The price the position was valued at (fill price or candle close).
    """

    leverage: Decimal
    time: int
    notional: Decimal
    equity: Decimal
    mark: Decimal


@dataclass(slots=True)
class VenueAudit:
    """Every order's client id and the exact running accounting of one venue.

    Args:
        futures: USD-M futures (leverage and wallet are tracked); spot keeps ids and sums.
        wallet: Futures wallet balance at the start (the quote asset).
    """

    futures: bool
    wallet: Decimal = ZERO
    #: client order id -> every exchange order id that was accepted under it, in order.
    client_orders: dict[str, list[int]] = field(default_factory=dict)
    #: exchange order id -> client order id.
    order_clients: dict[int, str] = field(default_factory=dict)
    realized_pnl: Decimal = ZERO
    funding: Decimal = ZERO
    #: Commissions by asset.
    fees: dict[str, Decimal] = field(default_factory=dict)
    fills: int = 0
    max_leverage: LeverageMark | None = None
    leverage_observations: int = 0
    _position: Position = field(default_factory=lambda: Position(""))

    # ------------------------------------------------------------------ orders
    def accepted(self, client_order_id: str, order_id: int) -> None:
        """An order was accepted under ``client_order_id`` with exchange id ``order_id``."""
        ids = self.client_orders.setdefault(client_order_id, [])
        if order_id not in ids:
            ids.append(order_id)
        self.order_clients[order_id] = client_order_id

    def reused_client_ids(self) -> dict[str, list[int]]:
        """Client ids that stood for more than one exchange order, with those orders."""
        return {cid: list(ids) for cid, ids in self.client_orders.items() if len(ids) > 1}

    # ------------------------------------------------------------- accounting
    def filled(
        self,
        side: Side,
        quantity: Decimal,
        price: Decimal,
        fee: Decimal,
        fee_asset: str,
        realized: Decimal,
        time: int,
    ) -> None:
        """Book one of our executions (``realized``: futures realized PnL, gross of fees)."""
        self.fills += 1
        self.fees[fee_asset] = self.fees.get(fee_asset, ZERO) + fee
        if not self.futures:
            return
        self.realized_pnl += realized
        self.wallet += realized - fee
        self._position.apply_fill(side, quantity, price)
        self._observe(price, time)

    def funded(self, amount: Decimal) -> None:
        """A futures funding settlement moved the wallet by ``amount``."""
        self.funding += amount
        self.wallet += amount

    def candle_closed(self, close: Decimal, time: int) -> None:
        """Value the position at a candle's close."""
        if self.futures:
            self._observe(close, time)

    @property
    def position(self) -> Decimal:
        """The futures position these records add up to (0 for spot)."""
        return self._position.quantity

    def equity(self, mark: Decimal) -> Decimal:
        """Futures wallet plus unrealized PnL at ``mark``."""
        return self.wallet + self._position.unrealized_pnl(mark)

    def _observe(self, mark: Decimal, time: int) -> None:
        self.leverage_observations += 1
        notional = self._position.notional(mark)
        equity = self.equity(mark)
        # No equity left: any position is infinite leverage; it is recorded as such.
        infinite = Decimal("Infinity") if notional else ZERO
        leverage = notional / equity if equity > 0 else infinite
        best = self.max_leverage
        if best is None or leverage > best.leverage:
            self.max_leverage = LeverageMark(leverage, time, notional, equity, mark)
