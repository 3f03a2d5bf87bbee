"""Buy and hold: all in on the first candle, never trade again.

Spot buys with all the quote cash; futures go 1x long (the position's notional equals the
equity). A small ``reserve`` of the budget is left unspent so that the market order's fee
and the fill price's move from the last close cannot make the exchange refuse it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from domain.candles import Candle
from domain.commands import Command, PlaceOrder
from domain.enums import OrderType, Side
from domain.errors import FilterViolation
from domain.events import ExecutionEvent
from domain.orders import Order
from domain.strategy import StrategyDefaults, TradingContext

ZERO = Decimal(0)
ONE = Decimal(1)


class BuyAndHold(StrategyDefaults):
    """One market buy on the first candle, held to the end.

    Args:
        symbol: The traded instrument.
        reserve: Fraction of the budget left unspent (fees, price move).
        leverage: Futures: notional as a multiple of equity (1 = a 1x long).
    """

    def __init__(
        self, symbol: str, reserve: Decimal = Decimal("0.002"), leverage: Decimal = ONE
    ) -> None:
        if not ZERO <= reserve < ONE:
            raise ValueError("reserve must be in [0, 1)")
        if leverage <= 0:
            raise ValueError("leverage must be > 0")
        self.symbol = symbol
        self.reserve = reserve
        self.leverage = leverage
        self.bought = False
        #: Why the buy could not be placed (too little money for one lot), or "".
        self.skipped = ""

    def on_candle(self, candle: Candle, context: TradingContext) -> Sequence[Command]:
        """Buy once, on the first candle."""
        if self.bought:
            return ()
        self.bought = True
        inst = context.instrument
        account = context.account
        price = candle.close
        budget = account.equity(price) * self.leverage if inst.is_futures else account.cash
        budget *= ONE - self.reserve
        try:
            quantity = inst.quantity_for_notional(budget, price, OrderType.MARKET)
        except FilterViolation as exc:
            self.skipped = exc.filter_name
            return ()
        return (PlaceOrder(self.symbol, Side.BUY, OrderType.MARKET, quantity, tag="hold"),)

    def on_execution(
        self, event: ExecutionEvent, order: Order | None, context: TradingContext
    ) -> Sequence[Command]:
        """Nothing to answer: the position is held."""
        return ()

    def snapshot(self) -> dict[str, str]:
        """Whether the buy was sent."""
        return {"bought": "1" if self.bought else "0"}

    def restore(self, state: Mapping[str, str]) -> None:
        """Resume from :meth:`snapshot` (never buy twice)."""
        self.bought = state.get("bought") == "1"
