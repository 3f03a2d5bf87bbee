"""The strategy interface: the synchronous decision core's contract.

Events in (a closed candle, an execution event), commands out. A strategy never calls an
exchange, reads a clock or logs; it returns :mod:`domain.commands` and the application
executes them. The static grid implements it now; the adaptive strategy will too, so
backtest, paper and live run the same code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from domain.account import AccountProjection
from domain.candles import Candle
from domain.commands import Command
from domain.events import ExecutionEvent
from domain.instruments import Instrument
from domain.orders import Order


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


class Strategy(Protocol):
    """Turns market and execution events into order commands."""

    def on_candle(self, candle: Candle, context: TradingContext) -> Sequence[Command]:
        """React to a closed 1m candle."""
        ...

    def on_execution(
        self, event: ExecutionEvent, order: Order | None, context: TradingContext
    ) -> Sequence[Command]:
        """React to an execution event about one of our orders (``order`` is its record)."""
        ...

    def snapshot(self) -> dict[str, str]:
        """The strategy's state as strings, journaled with the orders it decided on."""
        ...

    def restore(self, state: Mapping[str, str]) -> None:
        """Resume from a :meth:`snapshot` after a restart."""
        ...
