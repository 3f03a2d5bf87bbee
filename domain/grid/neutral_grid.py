"""Binance's neutral futures grid: a fixed range, N arithmetic lines, never re-centred.

The baseline a user of Binance's own grid bot knows. At the first candle the range
``[lower, upper]`` is cut into ``lines`` equal intervals (``lines + 1`` prices); a buy rests
on every price below the close and a sell on every price above it, except the price nearest
the close, which stays empty (Binance does the same: an order there would fill at once). Every
order is for the same base quantity: the investment (equity × ``leverage``) split over the
lines at the first close. A filled buy on line ``i`` is answered with a sell on line ``i + 1``
and a filled sell on line ``i`` with a buy on line ``i - 1``. When price leaves the range the
orders just wait: nothing is re-centred. The range is given in prices, or as a fraction
around the first close.

On spot (where a sell needs coins) sell lines are only placed against the base the account
holds, as the static grid does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from domain.candles import Candle
from domain.commands import Command, PlaceOrder
from domain.enums import OrderType, Side, TimeInForce
from domain.errors import FilterViolation
from domain.events import ExecutionEvent, OrderFilled
from domain.instruments import Rounding
from domain.orders import Order
from domain.strategy import StrategyDefaults, TradingContext

ZERO = Decimal(0)
ONE = Decimal(1)
_TAG = "line:"


@dataclass(frozen=True, slots=True)
class NeutralGridParams:
    """Parameters of the neutral grid.

    Attributes:
        lines: Number of intervals the range is cut into (Binance's "grid number").
        range_fraction: Half-width of the range around the first close (0.1 = ±10 %), used
            when ``lower`` / ``upper`` are not given.
        lower: Bottom of the range (a price), or None.
        upper: Top of the range (a price), or None.
        leverage: Investment as a multiple of the starting equity.
    """

    lines: int = 20
    range_fraction: Decimal = Decimal("0.1")
    lower: Decimal | None = None
    upper: Decimal | None = None
    leverage: Decimal = ONE

    def __post_init__(self) -> None:
        if self.lines < 2:
            raise ValueError("lines must be >= 2")
        if not ZERO < self.range_fraction < ONE:
            raise ValueError("range_fraction must be between 0 and 1")
        if (self.lower is None) != (self.upper is None):
            raise ValueError("give both lower and upper, or neither")
        if self.lower is not None and self.upper is not None and not ZERO < self.lower < self.upper:
            raise ValueError("need 0 < lower < upper")
        if self.leverage <= 0:
            raise ValueError("leverage must be > 0")


class NeutralGrid(StrategyDefaults):
    """The neutral futures grid (see the module docstring)."""

    def __init__(self, symbol: str, params: NeutralGridParams) -> None:
        self.symbol = symbol
        self.params = params
        self.prices: list[Decimal] = []
        self.quantity = ZERO
        #: Lines that could not become a valid order, by filter name (reported, not hidden).
        self.skipped_levels: dict[str, int] = {}
        self._residual: dict[int, Decimal] = {}

    def on_candle(self, candle: Candle, context: TradingContext) -> Sequence[Command]:
        """Lay the grid on the first candle; afterwards only fills move it."""
        if self.prices:
            return ()
        return self._build(candle.close, context)

    def on_execution(
        self, event: ExecutionEvent, order: Order | None, context: TradingContext
    ) -> Sequence[Command]:
        """Answer a fill on line ``i`` with the opposite order one line away."""
        if type(event) is not OrderFilled or order is None or not order.tag.startswith(_TAG):
            return ()
        fill = event.fill
        line = int(order.tag[len(_TAG) :])
        target = line + 1 if fill.side is Side.BUY else line - 1
        if not 0 <= target < len(self.prices):
            return ()
        inst = context.instrument
        received = fill.quantity
        if fill.fee_asset == inst.base_asset and fill.side is Side.BUY:
            received -= fill.fee  # spot takes the commission out of the coins bought
        qty = received + self._residual.get(target, ZERO)
        try:
            price, quantity = inst.round_order(
                fill.side.opposite, OrderType.LIMIT, qty, self.prices[target]
            )
        except FilterViolation:
            self._residual[target] = qty
            return ()
        self._residual[target] = qty - quantity
        assert price is not None
        return (self._order(fill.side.opposite, quantity, price, target),)

    def _build(self, close: Decimal, context: TradingContext) -> list[Command]:
        params = self.params
        inst = context.instrument
        lower, upper = params.lower, params.upper
        if lower is None or upper is None:
            lower = close * (ONE - params.range_fraction)
            upper = close * (ONE + params.range_fraction)
        step = (upper - lower) / params.lines
        self.prices = []
        for k in range(params.lines + 1):
            try:
                self.prices.append(inst.round_price(lower + step * k, Rounding.NEAREST))
            except FilterViolation as exc:
                self._skip(exc.filter_name)
                self.prices.append(lower + step * k)
        investment = context.account.equity(close) * params.leverage
        try:
            self.quantity = inst.round_quantity(investment / params.lines / close)
        except FilterViolation as exc:
            self._skip(exc.filter_name)
            return []
        nearest = min(range(len(self.prices)), key=lambda k: abs(self.prices[k] - close))
        sellable = None if inst.market.is_futures else context.account.base_balance
        commands: list[Command] = []
        for k, price in enumerate(self.prices):
            if k == nearest:
                continue
            side = Side.BUY if price < close else Side.SELL
            if side is Side.SELL and sellable is not None:
                if self.quantity > sellable:
                    self._skip("INSUFFICIENT_BASE")
                    continue
                sellable -= self.quantity
            try:
                inst.check_order(side, OrderType.LIMIT, self.quantity, price, close)
            except FilterViolation as exc:
                self._skip(exc.filter_name)
                continue
            commands.append(self._order(side, self.quantity, price, k))
        return commands

    def _order(self, side: Side, quantity: Decimal, price: Decimal, line: int) -> PlaceOrder:
        return PlaceOrder(
            self.symbol,
            side,
            OrderType.LIMIT,
            quantity,
            price,
            TimeInForce.GTC,
            tag=f"{_TAG}{line}",
        )

    def _skip(self, reason: str) -> None:
        self.skipped_levels[reason] = self.skipped_levels.get(reason, 0) + 1

    def snapshot(self) -> dict[str, str]:
        """The grid's prices, order size and carried residuals."""
        state = {
            "prices": ",".join(str(p) for p in self.prices),
            "quantity": str(self.quantity),
        }
        for line, residual in self._residual.items():
            state[f"residual:{line}"] = str(residual)
        return state

    def restore(self, state: Mapping[str, str]) -> None:
        """Resume from :meth:`snapshot`.

        Raises:
            ValueError: A required key is missing or not a number.
        """
        try:
            prices = state["prices"]
            self.prices = [Decimal(p) for p in prices.split(",")] if prices else []
            self.quantity = Decimal(state["quantity"])
            self._residual = {
                int(key.split(":", 1)[1]): Decimal(value)
                for key, value in state.items()
                if key.startswith("residual:")
            }
        except (KeyError, ArithmeticError) as exc:
            raise ValueError(f"neutral grid state is incomplete or malformed: {exc!r}") from exc
