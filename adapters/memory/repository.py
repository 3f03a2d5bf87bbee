"""In-process repository and unit of work: for backtests and tests.

Durable storage is the SQLAlchemy adapter's job; this one keeps everything in dicts so a
backtest can check that every fill belongs to an order without touching a disk.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from domain.orders import Fill, Order


class InMemoryOrderRepository:
    """Orders by client id (creation order kept) and fills unique by trade id."""

    def __init__(self) -> None:
        self._orders: dict[str, Order] = {}
        self._fills: list[Fill] = []
        self._trade_ids: set[int] = set()

    def add_order(self, order: Order) -> None:
        """Record a new order intent.

        Raises:
            ValueError: The client id was already used (ids must never be reused).
        """
        if order.client_order_id in self._orders:
            raise ValueError(f"client order id {order.client_order_id} already recorded")
        self._orders[order.client_order_id] = order

    def update_order(self, order: Order) -> None:
        """Orders are stored by reference, so their latest state is already here."""
        if order.client_order_id not in self._orders:
            raise KeyError(order.client_order_id)

    def get_order(self, client_order_id: str) -> Order | None:
        """The order with this id, if recorded."""
        return self._orders.get(client_order_id)

    def add_fill(self, fill: Fill) -> bool:
        """Record a fill once per trade id."""
        if fill.trade_id in self._trade_ids:
            return False
        self._trade_ids.add(fill.trade_id)
        self._fills.append(fill)
        return True

    def fills(self) -> list[Fill]:
        """All fills in arrival order."""
        return list(self._fills)

    def order_ids(self) -> list[str]:
        """All client ids in creation order."""
        return list(self._orders)


class InMemoryUnitOfWork:
    """A unit of work over :class:`InMemoryOrderRepository` (commit is a no-op boundary)."""

    def __init__(self, orders: InMemoryOrderRepository | None = None) -> None:
        self.orders = orders or InMemoryOrderRepository()
        self.results: dict[str, Any] = {}
        self.committed = False

    def __enter__(self) -> InMemoryUnitOfWork:
        self.committed = False
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self.committed:
            self.rollback()

    def commit(self) -> None:
        """Mark the work as committed."""
        self.committed = True

    def rollback(self) -> None:
        """Nothing is buffered in memory, so there is nothing to discard."""

    def save_result(self, key: str, value: Any) -> None:
        """Keep a run-level record."""
        self.results[key] = value
