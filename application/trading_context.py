"""What the strategy is handed on every call: the bot's state plus what it decides on.

The execution service owns the orders and the account; the decision cycle owns the latest
decision record and the market facts. This view joins them behind the read-only
:class:`~domain.strategy.TradingContext` so a strategy sees one object, and nothing it is
handed lets it change the bot's state except by returning commands.
"""

from __future__ import annotations

from collections.abc import Mapping

from application.brakes import BrakeGate
from application.execution import ExecutionService
from domain.account import AccountProjection
from domain.drawdown_brake import UNBRAKED, BrakeActions
from domain.instruments import Instrument
from domain.market_facts import MarketFacts
from domain.orders import Order
from domain.signals.decision import DecisionRecord


class CycleContext:
    """The :class:`~domain.strategy.TradingContext` of one decision cycle.

    Args:
        execution: Orders, account and instrument.
        market: The market facts the cycle updates on every candle.
        brakes: The brake gate whose level the strategy plans within (None: no brakes).
    """

    __slots__ = ("_brakes", "_execution", "decision", "market")

    def __init__(
        self, execution: ExecutionService, market: MarketFacts, brakes: BrakeGate | None = None
    ) -> None:
        self._execution = execution
        self._brakes = brakes
        self.market = market
        #: The latest decision record (the cycle sets it before asking the strategy).
        self.decision: DecisionRecord | None = None

    @property
    def brake(self) -> BrakeActions:
        """What the brakes allow at their current level (unbraked without brakes)."""
        brakes = self._brakes
        return brakes.allowance if brakes is not None else UNBRAKED

    @property
    def instrument(self) -> Instrument:
        """The traded instrument and its filters."""
        return self._execution.instrument

    @property
    def open_orders(self) -> Mapping[str, Order]:
        """Open orders by client order id."""
        return self._execution.open_orders

    @property
    def account(self) -> AccountProjection:
        """Cash, position, fees and funding as the bot knows them."""
        return self._execution.account
