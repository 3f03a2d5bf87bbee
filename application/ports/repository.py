"""Repository / unit-of-work port: where orders, fills and run results are kept."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Protocol

from domain.orders import Fill, Order


class OrderRepository(Protocol):
    """Orders and fills of one bot."""

    def add_order(self, order: Order) -> None:
        """Record a new order intent (before it is sent)."""
        ...

    def update_order(self, order: Order) -> None:
        """Record the order's new status and progress."""
        ...

    def get_order(self, client_order_id: str) -> Order | None:
        """The order with this client id, if recorded."""
        ...

    def add_fill(self, fill: Fill) -> bool:
        """Record a fill; returns False if its trade id was already recorded."""
        ...

    def fills(self) -> list[Fill]:
        """Every recorded fill, in arrival order."""
        ...

    def order_ids(self) -> list[str]:
        """Client ids of every recorded order, in creation order."""
        ...


class UnitOfWork(Protocol):
    """A transaction boundary around the repositories; rolls back unless committed."""

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

    def save_result(self, key: str, value: Any) -> None:
        """Store a run-level record (e.g. a backtest summary)."""
        ...
