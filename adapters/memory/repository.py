"""In-process repository and unit of work: for backtests and tests.

Durable storage is the SQLAlchemy adapter's job; this one keeps records in dicts so a
backtest can check that every fill belongs to an order without touching a disk.

By default everything is kept. A long backtest that only needs its report can bound the
memory with ``retain_closed`` / ``retain_fills``: open orders are always kept, and only the
most recent closed orders and fills beyond those limits are forgotten (they were already
counted, emitted to the event sink and folded into the account projection). Duplicate
detection (client ids, trade ids) then covers the retained window; the execution service's
own per-order trade-id check still rejects a repeated fill of any open order.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from contextlib import AbstractContextManager, nullcontext
from types import TracebackType
from typing import Any

from application.ports.signal_journal import WeightUpdateEntry
from domain.events import ExecutionEvent, FundingPaid
from domain.orders import Fill, Order


class InMemoryOrderRepository:
    """Orders by client id (creation order kept) and fills unique by trade id.

    Args:
        retain_closed: Keep at most this many closed orders (None: keep all).
        retain_fills: Keep at most this many fills (None: keep all).
    """

    def __init__(self, retain_closed: int | None = None, retain_fills: int | None = None) -> None:
        if retain_closed is not None and retain_closed < 0:
            raise ValueError("retain_closed must be >= 0")
        if retain_fills is not None and retain_fills < 0:
            raise ValueError("retain_fills must be >= 0")
        self._orders: dict[str, Order] = {}
        self._closed: OrderedDict[str, None] = OrderedDict()
        self._retain_closed = retain_closed
        self._fills: deque[Fill] = deque()
        self._retain_fills = retain_fills
        self._trade_ids: set[int] = set()
        self._max_trade_id = 0
        self._funding: dict[tuple[str, int], FundingPaid] = {}
        self._state: dict[str, str] = {}
        self.reports: list[tuple[str, int, str]] = []
        self._weight_updates: list[WeightUpdateEntry] = []
        self.events_recorded = 0

    def add_order(self, order: Order) -> None:
        """Record a new order intent.

        Raises:
            ValueError: The client id was already used (ids must never be reused).
        """
        cid = order.client_order_id
        if cid in self._orders:
            raise ValueError(f"client order id {cid} already recorded")
        self._orders[cid] = order

    def update_order(self, order: Order, event: ExecutionEvent | None = None) -> None:
        """Orders are stored by reference; closing one may evict the oldest closed order.

        Event details are not kept in memory (only counted): the durable journal keeps them.
        """
        cid = order.client_order_id
        if cid not in self._orders:
            raise KeyError(cid)
        if event is not None:
            self.events_recorded += 1
        if self._retain_closed is not None and order.status.is_terminal and cid not in self._closed:
            self._closed[cid] = None
            while len(self._closed) > self._retain_closed:
                old, _ = self._closed.popitem(last=False)
                del self._orders[old]

    def get_order(self, client_order_id: str) -> Order | None:
        """The order with this id, if recorded (and not evicted)."""
        return self._orders.get(client_order_id)

    def add_fill(self, fill: Fill) -> bool:
        """Record a fill once per trade id."""
        if fill.trade_id in self._trade_ids:
            return False
        self._trade_ids.add(fill.trade_id)
        self._fills.append(fill)
        if fill.trade_id > self._max_trade_id:
            self._max_trade_id = fill.trade_id
        if self._retain_fills is not None and len(self._fills) > self._retain_fills:
            self._trade_ids.discard(self._fills.popleft().trade_id)
        return True

    def fills(self) -> list[Fill]:
        """Recorded fills in trade-id order."""
        return sorted(self._fills, key=lambda f: f.trade_id)

    def open_orders(self) -> list[Order]:
        """Orders that are not terminal, in creation order."""
        return [o for o in self._orders.values() if not o.status.is_terminal]

    def last_trade_id(self) -> int:
        """Highest trade id ever recorded (kept even when the fill itself was forgotten)."""
        return self._max_trade_id

    def settled_trade_id(self, margin_ms: int) -> int:
        """See :meth:`OrderRepository.settled_trade_id` (over the fills still retained)."""
        if not self._fills:
            return 0
        cutoff = max(f.timestamp for f in self._fills) - margin_ms
        return max((f.trade_id for f in self._fills if f.timestamp <= cutoff), default=0)

    def add_funding(self, event: FundingPaid) -> bool:
        """Record a funding settlement once per (symbol, time)."""
        key = (event.symbol, event.timestamp)
        if key in self._funding:
            return False
        self._funding[key] = event
        return True

    def funding_payments(self) -> list[FundingPaid]:
        """Funding settlements, oldest first."""
        return sorted(self._funding.values(), key=lambda e: e.timestamp)

    def save_state(self, key: str, value: str) -> None:
        """Store a state record."""
        self._state[key] = value

    def load_state(self, key: str) -> str | None:
        """A stored state record."""
        return self._state.get(key)

    def save_report(self, kind: str, timestamp: int, payload: str) -> None:
        """Append a report."""
        self.reports.append((kind, timestamp, payload))

    def add_weight_update(self, entry: WeightUpdateEntry) -> None:
        """Append one weekly signal-weight update."""
        self._weight_updates.append(entry)

    def weight_updates(self) -> list[WeightUpdateEntry]:
        """Every weekly signal-weight update, oldest first."""
        return list(self._weight_updates)

    def transaction(self) -> AbstractContextManager[None]:
        """Nothing to commit in memory: the block's calls are already applied."""
        return nullcontext()

    def order_ids(self) -> list[str]:
        """Client ids of recorded orders in creation order."""
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
