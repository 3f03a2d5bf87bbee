"""The strategy interface: the synchronous decision core's contract.

Events in (a closed candle, an execution event), commands out. A strategy never calls an
exchange, reads a clock or logs; it returns :mod:`domain.commands` and the application
executes them. The static grid implements it now; the adaptive strategy will too, so
backtest, paper and live run the same code.

The context carries what a strategy decides on, computed for the candle before the
strategy is asked: the signal's decision record (convictions, regime, confidences) and the
market facts a grid sizes itself with (ATR and realised volatility in price units), and
what the brakes allow at their current level. A strategy that needs none of them (the
static grid, the baseline) simply does not read them; the brake gate then scales and drops
its entries after the fact.

Every member of :class:`Strategy` is checked by mypy; a strategy that has nothing to do in
a hook inherits :class:`StrategyDefaults`, which says so once (the static grid, the
baselines: they neither plan within the brakes nor hold what the gate refuses).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from domain.account import AccountProjection
from domain.calendar.events import CalendarEvent
from domain.candles import Candle
from domain.commands import Command
from domain.drawdown_brake import BrakeActions
from domain.events import ExecutionEvent
from domain.instruments import Instrument
from domain.market_facts import MarketFacts
from domain.orders import Order
from domain.signals.decision import DecisionRecord


class TradingContext(Protocol):
    """Read-only view of the bot's state handed to a strategy."""

    @property
    def instrument(self) -> Instrument:
        """The traded instrument and its filters."""
        ...

    @property
    def open_orders(self) -> Mapping[str, Order]:
        """Open orders by client order id (read them, never mutate them)."""
        ...

    @property
    def account(self) -> AccountProjection:
        """Cash, position, fees and funding as the bot knows them."""
        ...

    @property
    def decision(self) -> DecisionRecord | None:
        """The signal's record for the latest closed candle (None: no signal, or warming up).

        On a candle it is that candle's record: the signal runs before the strategy.
        """
        ...

    @property
    def market(self) -> MarketFacts:
        """ATR and realised volatility in price units, up to the latest closed candle."""
        ...

    @property
    def brake(self) -> BrakeActions:
        """What the brakes allow now: the level, whether entries may go, their size factor.

        A strategy plans within it (no entry while entries are not allowed, entries sized by
        the factor; take-profits and closing orders always), so the gate that checks its
        commands afterwards has nothing to drop. ``allow_entries`` is also False while
        leverage is above the cap (when the guard restricts entries then).
        """
        ...


class Strategy(Protocol):
    """Turns market and execution events into order commands.

    Attributes:
        plans_within_brakes: The strategy reads the brake level from its context and sizes
            its own entries at REDUCED, so the brake gate does not scale them again (it
            still drops what the level does not allow).
    """

    plans_within_brakes: bool

    def on_candle(self, candle: Candle, context: TradingContext) -> Sequence[Command]:
        """React to a closed 1m candle."""
        ...

    def on_execution(
        self, event: ExecutionEvent, order: Order | None, context: TradingContext
    ) -> Sequence[Command]:
        """React to an execution event about one of our orders (``order`` is its record)."""
        ...

    def on_brake_refusal(self, tags: Sequence[str]) -> None:
        """The brake gate dropped commands for orders with these tags (after the strategy).

        A strategy that would send them again on every candle holds them until the level
        changes.
        """
        ...

    def take_calendar_events(self) -> Sequence[CalendarEvent]:
        """Weekend-mode switches and CME gaps since the last call, oldest first.

        The strategy decides on them (a wider grid for the weekend); the cycle takes them
        after every candle decision and logs, streams and journals each one.
        """
        ...

    def snapshot(self) -> dict[str, str]:
        """The strategy's state as strings, journaled with the orders it decided on."""
        ...

    def restore(self, state: Mapping[str, str]) -> None:
        """Resume from a :meth:`snapshot` after a restart."""
        ...


class StrategyDefaults:
    """The hooks a strategy that ignores the brakes' level and the calendar leaves as they are.

    Such a strategy (the static grid, the baselines) plans as if unbraked: the brake gate
    scales and drops its entries after the fact, and a refusal changes nothing it would do
    (it re-plans from the book on the next candle).
    """

    plans_within_brakes: bool = False

    def on_brake_refusal(self, tags: Sequence[str]) -> None:
        """Nothing to hold: the gate drops the same entries again while the level stands."""
        del tags

    def take_calendar_events(self) -> Sequence[CalendarEvent]:
        """No calendar overlay: nothing switches, no gap is recorded."""
        return ()
