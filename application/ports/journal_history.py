"""Journal history port: a read-only view of a bot's journal, for reports.

A report reads the journal of a bot that may still be running: the implementation must
never write to it, never migrate it and never hold a lock that would block the bot's next
commit (SQLite in WAL mode lets a reader work beside the writer; PostgreSQL reads in a
read-only transaction).
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple, Protocol

from application.ports.signal_journal import WeightUpdateEntry
from domain.events import FundingPaid
from domain.orders import Fill


class RunRecord(NamedTuple):
    """One start of the bot, as the journal recorded it."""

    started_at: int
    symbol: str
    market: str


class OrderSpan(NamedTuple):
    """A limit order's life: from its first exchange event to its last (Unix ms).

    ``closed`` is False for an order still open (it rests until the end of the history);
    ``filled`` is True for an order that ended completely filled.
    """

    client_order_id: str
    side: str
    price: Decimal
    placed_at: int
    last_event_at: int
    closed: bool
    filled: bool = False


class DecisionPoint(NamedTuple):
    """A stored decision record, reduced to what a report draws."""

    time: int
    long_conviction: float
    short_conviction: float
    regime: str


class JournalHistory(Protocol):
    """Everything a report needs from a journal, read-only."""

    def runs(self) -> list[RunRecord]:
        """Every recorded start, oldest first."""
        ...

    def initial_account(self) -> dict[str, str] | None:
        """The first start's ``{"cash", "base", "price"}`` record, if the bot ever started."""
        ...

    def fills(self) -> list[Fill]:
        """Every fill, in trade-id order."""
        ...

    def funding_payments(self) -> list[FundingPaid]:
        """Every funding settlement, oldest first."""
        ...

    def order_spans(self) -> list[OrderSpan]:
        """Every priced order that reached the exchange, in creation order."""
        ...

    def equity_curve(self) -> list[tuple[int, Decimal]]:
        """The recorded equity observations, oldest first."""
        ...

    def decisions(self) -> list[DecisionPoint]:
        """The stored decision records, oldest first."""
        ...

    def weight_updates(self) -> list[WeightUpdateEntry]:
        """The signal's weekly weight updates, oldest first."""
        ...
