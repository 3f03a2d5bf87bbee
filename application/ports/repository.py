"""Repository port: the bot's durable journal of orders, fills, funding and state.

The execution service writes ahead: an order intent is recorded before the request leaves the
process, and every exchange event is recorded as it is applied. A durable implementation
commits each call before returning, so after a crash the in-memory state (open orders, the
account projection) can be rebuilt from the journal alone and reconciled with the exchange.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from types import TracebackType
from typing import Protocol

from domain.events import ExecutionEvent, FundingPaid
from domain.orders import Fill, Order


class OrderRepository(Protocol):
    """Orders, their event history, fills, funding and small state records of one bot."""

    def add_order(self, order: Order) -> None:
        """Record a new order intent (status PENDING_NEW) before it is sent.

        Raises:
            ValueError: The client order id was already recorded.
        """
        ...

    def update_order(self, order: Order, event: ExecutionEvent | None = None) -> None:
        """Record the order's new state and, when given, the event that produced it."""
        ...

    def get_order(self, client_order_id: str) -> Order | None:
        """The order with this client id, if recorded."""
        ...

    def open_orders(self) -> list[Order]:
        """Every recorded order that is not terminal, PENDING_NEW intents included."""
        ...

    def add_fill(self, fill: Fill) -> bool:
        """Record a fill; returns False if its trade id was already recorded."""
        ...

    def fills(self) -> list[Fill]:
        """Every recorded fill, in trade-id order."""
        ...

    def last_trade_id(self) -> int:
        """The highest recorded trade id (0 when none)."""
        ...

    def settled_trade_id(self, margin_ms: int) -> int:
        """Highest trade id among fills at least ``margin_ms`` older than the newest fill.

        Fills reach the bot out of trade-id order (an order's own answer can overtake the
        user-data stream), so the highest id is no proof that every lower one was seen;
        fills old enough before the newest one are. 0 when there is none.
        """
        ...

    def add_funding(self, event: FundingPaid) -> bool:
        """Record a funding settlement; False if that (symbol, time) was already recorded."""
        ...

    def funding_payments(self) -> list[FundingPaid]:
        """Every recorded funding settlement, oldest first."""
        ...

    def order_ids(self) -> list[str]:
        """Client ids of every recorded order, in creation order."""
        ...

    def save_state(self, key: str, value: str) -> None:
        """Store a small state record (e.g. the strategy's JSON state) under ``key``."""
        ...

    def load_state(self, key: str) -> str | None:
        """The state record stored under ``key``, if any."""
        ...

    def save_report(self, kind: str, timestamp: int, payload: str) -> None:
        """Append a report (e.g. a reconciliation report as JSON)."""
        ...

    def transaction(self) -> AbstractContextManager[None]:
        """A block whose calls commit together when it ends, or not at all if it raises.

        The trading session journals an event, the orders the strategy decided on in answer
        and the strategy's new state in one transaction, so a crash never splits them.
        """
        ...


class UnitOfWork(Protocol):
    """A transaction boundary around the repository: all of it commits, or none of it.

    Used where several records must land together (a batch of fills found during
    reconciliation); single events are committed by the repository call itself.
    """

    orders: OrderRepository

    def __enter__(self) -> UnitOfWork:
        """Begin."""
        ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back anything not committed."""
        ...

    def commit(self) -> None:
        """Make the changes durable."""
        ...

    def rollback(self) -> None:
        """Discard uncommitted changes."""
        ...
