"""A static symmetric grid: the first strategy, carrying the pipeline end to end.

N buy levels below and N sell levels above a centre price, ``spacing`` apart (as a fraction
of the centre), each for ``quote_per_level`` of quote value. Every fill is answered with a
take-profit one level away on the other side. When price leaves the centre by more than
``recenter_threshold``, everything is cancelled and the grid is rebuilt around the close.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from domain.candles import Candle
from domain.commands import CancelAllOrders, Command, PlaceOrder
from domain.enums import OrderType, Side, TimeInForce
from domain.errors import FilterViolation
from domain.events import ExecutionEvent, OrderFilled, OrderRejected, RejectReason
from domain.instruments import Rounding
from domain.orders import Order
from domain.strategy import StrategyDefaults, TradingContext

ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class StaticGridParams:
    """Parameters of the static grid.

    Attributes:
        levels: Orders per side.
        spacing: Distance between levels as a fraction of the centre (0.002 = 0.2 %).
        quote_per_level: Quote value of each level's order.
        recenter_threshold: Rebuild when |close - centre| / centre exceeds this; None never.
        post_only: Send grid and take-profit orders as post-only (GTX) instead of GTC.
    """

    levels: int
    spacing: Decimal
    quote_per_level: Decimal
    recenter_threshold: Decimal | None = None
    post_only: bool = False

    def __post_init__(self) -> None:
        if self.levels < 1:
            raise ValueError("levels must be >= 1")
        if not ZERO < self.spacing < ONE:
            raise ValueError("spacing must be between 0 and 1")
        if self.quote_per_level <= 0:
            raise ValueError("quote_per_level must be > 0")
        if self.recenter_threshold is not None and self.recenter_threshold <= 0:
            raise ValueError("recenter_threshold must be > 0")


class StaticGrid(StrategyDefaults):
    """Static symmetric grid with one-level take-profits (see the module docstring).

    On spot, sell levels are only placed against the base inventory the account holds (a
    rebuild cancels every open order first, so none of it is committed), and a take-profit
    sells what a buy really delivered: the quantity less the commission taken in base.
    """

    def __init__(self, symbol: str, params: StaticGridParams) -> None:
        self.symbol = symbol
        self.params = params
        self.center: Decimal | None = None
        self._low = ZERO  # closes within [_low, _high] keep the current grid
        self._high = ZERO
        self._residual = {Side.BUY: ZERO, Side.SELL: ZERO}
        self._tif = TimeInForce.GTX if params.post_only else TimeInForce.GTC
        self.recenters = 0
        #: Grid levels that could not become a valid order (below one lot, the minimum
        #: notional, or outside the price filter), by filter name. Reported, never hidden.
        self.skipped_levels: dict[str, int] = {}

    def on_candle(self, candle: Candle, context: TradingContext) -> Sequence[Command]:
        """Build the grid on the first candle; rebuild it when price leaves the band."""
        if self.center is not None:
            close = candle.close
            if self._low <= close <= self._high or self.params.recenter_threshold is None:
                return ()
        return self._build(candle.close, context)

    def on_execution(
        self, event: ExecutionEvent, order: Order | None, context: TradingContext
    ) -> Sequence[Command]:
        """Answer each fill with a take-profit one level away.

        An order that a restart found was never sent is sent again, unchanged (with a new
        client id): the decision stands, only its delivery was lost.
        """
        if type(event) is not OrderFilled or order is None:
            if (
                type(event) is OrderRejected
                and event.reason is RejectReason.NEVER_SENT
                and order is not None
            ):
                return (
                    PlaceOrder(
                        order.symbol,
                        order.side,
                        order.order_type,
                        order.quantity,
                        order.price,
                        order.time_in_force,
                        order.stop_price,
                        order.reduce_only,
                        order.tag,
                    ),
                )
            return ()
        fill = event.fill
        side = fill.side.opposite
        inst = context.instrument
        received = fill.quantity
        if fill.fee_asset == inst.base_asset and fill.side is Side.BUY:
            # Spot takes the commission out of the bought coins: only the rest can be sold.
            received -= fill.fee
        qty = received + self._residual[side]
        step = ONE + self.params.spacing if side is Side.SELL else ONE - self.params.spacing
        try:
            price, quantity = inst.round_order(side, OrderType.LIMIT, qty, fill.price * step)
        except FilterViolation:
            # Too small to be a valid order yet: carry it until later fills make it valid.
            self._residual[side] = qty
            return ()
        self._residual[side] = qty - quantity
        return (
            PlaceOrder(self.symbol, side, OrderType.LIMIT, quantity, price, self._tif, tag="tp"),
        )

    def _build(self, close: Decimal, context: TradingContext) -> list[Command]:
        params = self.params
        inst = context.instrument
        commands: list[Command] = []
        if context.open_orders:
            commands.append(CancelAllOrders(self.symbol))
        if self.center is not None:
            self.recenters += 1
        self.center = close
        if params.recenter_threshold is not None:
            band = close * params.recenter_threshold
            self._low, self._high = close - band, close + band
        self._residual = {Side.BUY: ZERO, Side.SELL: ZERO}
        sellable = None
        if not inst.market.is_futures:
            sellable = context.account.base_balance
        for k in range(1, params.levels + 1):
            offset = params.spacing * k
            for side, raw in (
                (Side.BUY, close * (ONE - offset)),
                (Side.SELL, close * (ONE + offset)),
            ):
                direction = Rounding.DOWN if side is Side.BUY else Rounding.UP
                try:
                    price = inst.round_price(raw, direction)
                    qty = inst.quantity_for_notional(params.quote_per_level, price)
                except FilterViolation as exc:
                    # "max" apart: too big wants the opposite fix of too small.
                    self._skip(f"{exc.filter_name} max" if exc.rule == "max" else exc.filter_name)
                    continue
                if side is Side.SELL and sellable is not None:
                    if qty > sellable:
                        self._skip("INSUFFICIENT_BASE")
                        continue
                    sellable -= qty
                commands.append(
                    PlaceOrder(
                        self.symbol, side, OrderType.LIMIT, qty, price, self._tif, tag=f"grid:{k}"
                    )
                )
        return commands

    def _skip(self, reason: str) -> None:
        self.skipped_levels[reason] = self.skipped_levels.get(reason, 0) + 1

    # ------------------------------------------------------------------ persistence
    def snapshot(self) -> dict[str, str]:
        """Centre, band, take-profit residuals and counters, as exact decimal strings."""
        state = {
            "center": "" if self.center is None else str(self.center),
            "low": str(self._low),
            "high": str(self._high),
            "residual_buy": str(self._residual[Side.BUY]),
            "residual_sell": str(self._residual[Side.SELL]),
            "recenters": str(self.recenters),
        }
        for reason, count in self.skipped_levels.items():
            state[f"skipped:{reason}"] = str(count)
        return state

    def restore(self, state: Mapping[str, str]) -> None:
        """Resume exactly where :meth:`snapshot` left off.

        Raises:
            ValueError: A required key is missing or not a number.
        """
        try:
            self.center = Decimal(state["center"]) if state["center"] else None
            self._low = Decimal(state["low"])
            self._high = Decimal(state["high"])
            self._residual = {
                Side.BUY: Decimal(state["residual_buy"]),
                Side.SELL: Decimal(state["residual_sell"]),
            }
            self.recenters = int(state["recenters"])
        except (KeyError, ArithmeticError) as exc:
            raise ValueError(f"static grid state is incomplete or malformed: {exc!r}") from exc
        self.skipped_levels = {
            key.split(":", 1)[1]: int(value)
            for key, value in state.items()
            if key.startswith("skipped:")
        }
