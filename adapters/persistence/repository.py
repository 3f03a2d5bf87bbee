"""The durable journal: the ``OrderRepository`` and ``UnitOfWork`` ports over SQLAlchemy Core.

Write-ahead durability is the point of this module. The execution service records an order
intent before the request leaves the process and every exchange event as it is applied; each
call here commits before it returns, so whatever the bot acted on is on disk when the
process dies, and a restart rebuilds open orders, fills and funding from the journal alone.
Where several records must land together (a batch of fills found during reconciliation),
``with journal.batch():`` or :class:`SqlUnitOfWork` makes them one transaction instead.

Semantics match :class:`adapters.memory.repository.InMemoryOrderRepository` (the contract
suite runs both), with one deliberate difference: a fill or event must name a recorded order
— the foreign keys refuse orphans, which in memory would go unnoticed.

Duplicates are detected by the database's own keys (``INSERT ... ON CONFLICT DO NOTHING``),
never by reading first: a read-then-insert could race a second writer, and a failed insert
would abort a PostgreSQL transaction that a batch still needs.

A journal is used from one thread at a time, like the execution service that owns it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql import Executable

from adapters.persistence.mappers import (
    event_payload,
    fill_from_row,
    fill_values,
    funding_from_row,
    funding_values,
    order_from_row,
    order_values,
)
from adapters.persistence.schema import (
    equity_curve,
    fills,
    funding_payments,
    order_events,
    orders,
    reports,
    runs,
    signal_weight_updates,
    snapshots,
    strategy_state,
)
from adapters.persistence.unit_of_work import SqlUnitOfWork
from application.ports.signal_journal import WeightUpdateEntry
from domain.events import ExecutionEvent, FundingPaid
from domain.orders import Fill, Order, OrderStatus

__all__ = ["SqlJournal", "SqlUnitOfWork"]

_TERMINAL = tuple(status.value for status in OrderStatus if status.is_terminal)
_INSERTS: dict[str, Any] = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}


def _wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class _Statements:
    """Every write statement, built once per journal with bound parameters.

    Building a statement with ``.values(...)`` per call costs more than executing it
    (SQLAlchemy derives a cache key from every value); prebuilt statements executed with a
    parameter dict take the compiled-cache fast path, roughly tripling batch throughput.
    """

    def __init__(self, dialect: str) -> None:
        insert = _INSERTS[dialect]
        # Creation order: one more than the highest so far (a single writer per journal).
        next_order_seq = select(func.coalesce(func.max(orders.c.seq), 0) + 1).scalar_subquery()
        # The on-conflict inserts report through the row count whether they inserted;
        # SQLAlchemy keeps an INSERT's row count only when asked (psycopg's reads -1).
        counted = {"preserve_rowcount": True}
        self.add_order: Executable = (
            insert(orders)
            .values(seq=next_order_seq)
            .on_conflict_do_nothing(index_elements=[orders.c.client_order_id])
            .execution_options(**counted)
        )
        # "b_cid": an UPDATE reserves bind names equal to column names for its SET clause.
        self.update_order: Executable = update(orders).where(
            orders.c.client_order_id == bindparam("b_cid")
        )
        next_event_seq = (
            select(func.coalesce(func.max(order_events.c.recorded_seq), 0) + 1)
            .where(order_events.c.client_order_id == bindparam("b_cid"))
            .scalar_subquery()
        )
        self.add_event: Executable = order_events.insert().values(recorded_seq=next_event_seq)
        self.add_fill: Executable = (
            insert(fills)
            .on_conflict_do_nothing(index_elements=[fills.c.trade_id])
            .execution_options(**counted)
        )
        self.add_funding: Executable = (
            insert(funding_payments)
            .on_conflict_do_nothing(
                index_elements=[funding_payments.c.symbol, funding_payments.c.funding_time]
            )
            .execution_options(**counted)
        )
        state = insert(strategy_state)
        self.save_state: Executable = state.on_conflict_do_update(
            index_elements=[strategy_state.c.key],
            set_={"value": state.excluded.value, "updated_at": state.excluded.updated_at},
        )
        equity = insert(equity_curve)
        self.record_equity: Executable = equity.on_conflict_do_update(
            index_elements=[equity_curve.c.timestamp], set_={"equity": equity.excluded.equity}
        )


class SqlJournal:
    """Orders, their event history, fills, funding and state records in one database.

    Args:
        engine: An engine from :func:`adapters.persistence.engine.create_journal_engine`
            on a database already at the head revision (see
            :func:`adapters.persistence.factory.open_journal`).
        now_ms: Clock for the ``updated_at`` / ``recorded_at`` bookkeeping columns (wall
            time by default; a backtest may pass its simulated clock). Exchange times are
            kept in the records themselves.

    Raises:
        ValueError: The engine's backend is neither SQLite nor PostgreSQL (the upserts use
            their ``ON CONFLICT`` clause).
    """

    def __init__(self, engine: Engine, now_ms: Callable[[], int] | None = None) -> None:
        if engine.dialect.name not in _INSERTS:
            raise ValueError(f"unsupported journal backend {engine.dialect.name!r}")
        self._sql = _Statements(engine.dialect.name)
        self._engine = engine
        self._now_ms = now_ms or _wall_clock_ms
        self._conn: Connection | None = None  # set while a batch / unit of work is open

    @property
    def engine(self) -> Engine:
        """The engine the journal writes to."""
        return self._engine

    # Transactions ----------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run every journal call inside the block in one transaction (the port's boundary).

        The transaction commits when the block ends and rolls back if it raises, so either
        all of the block's records are durable or none is: the trading session journals an
        event, the orders decided in answer and the strategy's state together. A
        transaction opened inside an open one (or inside a unit of work) joins it: the
        outermost boundary decides.
        """
        if self._conn is not None:
            yield
            return
        with SqlUnitOfWork(self) as uow:
            yield
            uow.commit()

    @contextmanager
    def batch(self) -> Iterator[SqlJournal]:
        """:meth:`transaction`, yielding the journal (``with journal.batch() as j: ...``)."""
        with self.transaction():
            yield self

    def _attach(self) -> Connection:
        if self._conn is not None:
            raise RuntimeError("a unit of work is already open on this journal")
        self._conn = self._engine.connect()
        return self._conn

    def _detach(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        # Inside a batch: the batch's transaction. Otherwise: a transaction that commits
        # before the call returns (or rolls back if it raises).
        if self._conn is not None:
            yield self._conn
            return
        with self._engine.begin() as conn:
            yield conn

    # Orders ----------------------------------------------------------------------------
    def add_order(self, order: Order) -> None:
        """Record a new order intent, durably, before its request is sent.

        Raises:
            ValueError: The client order id was already recorded (ids are never reused).
        """
        values = order_values(order, self._now_ms())
        with self._tx() as conn:
            if conn.execute(self._sql.add_order, values).rowcount != 1:
                raise ValueError(f"client order id {order.client_order_id} already recorded")

    def update_order(self, order: Order, event: ExecutionEvent | None = None) -> None:
        """Write the order's new state and append ``event`` to its history, atomically.

        Raises:
            KeyError: The order was never recorded.
        """
        cid = order.client_order_id
        now = self._now_ms()
        values = order_values(order, now)
        del values["client_order_id"]  # the key itself never changes
        values["b_cid"] = cid
        with self._tx() as conn:
            if conn.execute(self._sql.update_order, values).rowcount == 0:
                raise KeyError(cid)
            if event is not None:
                conn.execute(
                    self._sql.add_event,
                    {
                        "client_order_id": cid,
                        "b_cid": cid,
                        "kind": type(event).__name__,
                        "payload": event_payload(event),
                        "recorded_at": now,
                    },
                )

    def get_order(self, client_order_id: str) -> Order | None:
        """The order with this client id, rebuilt from its row, if recorded."""
        query = select(orders).where(orders.c.client_order_id == client_order_id)
        with self._tx() as conn:
            row = conn.execute(query).first()
        return None if row is None else order_from_row(row)

    def open_orders(self) -> list[Order]:
        """Every non-terminal order (PENDING_NEW intents included), in creation order."""
        query = select(orders).where(orders.c.status.not_in(_TERMINAL)).order_by(orders.c.seq)
        with self._tx() as conn:
            return [order_from_row(row) for row in conn.execute(query)]

    def order_ids(self) -> list[str]:
        """Client ids of every recorded order, in creation order."""
        with self._tx() as conn:
            return list(conn.scalars(select(orders.c.client_order_id).order_by(orders.c.seq)))

    def order_events(self, client_order_id: str) -> list[tuple[str, dict[str, str | None]]]:
        """The recorded event history of one order: ``(kind, fields)`` oldest first."""
        query = (
            select(order_events.c.kind, order_events.c.payload)
            .where(order_events.c.client_order_id == client_order_id)
            .order_by(order_events.c.recorded_seq)
        )
        with self._tx() as conn:
            return [(kind, json.loads(payload)) for kind, payload in conn.execute(query)]

    # Fills and funding -----------------------------------------------------------------
    def add_fill(self, fill: Fill) -> bool:
        """Record a fill; False (nothing written) if its trade id was already recorded."""
        with self._tx() as conn:
            return conn.execute(self._sql.add_fill, fill_values(fill)).rowcount == 1

    def fills(self) -> list[Fill]:
        """Every recorded fill, in trade-id order."""
        query = select(fills).order_by(fills.c.trade_id)
        with self._tx() as conn:
            return [fill_from_row(row) for row in conn.execute(query)]

    def last_trade_id(self) -> int:
        """The highest recorded trade id (0 when none)."""
        with self._tx() as conn:
            return int(conn.scalar(select(func.coalesce(func.max(fills.c.trade_id), 0))) or 0)

    def settled_trade_id(self, margin_ms: int) -> int:
        """See :meth:`OrderRepository.settled_trade_id`."""
        newest = select(func.max(fills.c.timestamp)).scalar_subquery()
        query = select(func.coalesce(func.max(fills.c.trade_id), 0)).where(
            fills.c.timestamp <= newest - margin_ms
        )
        with self._tx() as conn:
            return int(conn.scalar(query) or 0)

    def add_funding(self, event: FundingPaid) -> bool:
        """Record a funding settlement; False if that (symbol, time) was already recorded."""
        with self._tx() as conn:
            return conn.execute(self._sql.add_funding, funding_values(event)).rowcount == 1

    def funding_payments(self) -> list[FundingPaid]:
        """Every recorded funding settlement, oldest first (ties in recording order)."""
        query = select(funding_payments).order_by(
            funding_payments.c.funding_time, funding_payments.c.id
        )
        with self._tx() as conn:
            return [funding_from_row(row) for row in conn.execute(query)]

    # State, reports, run records ---------------------------------------------------------
    def save_state(self, key: str, value: str) -> None:
        """Store (insert or replace) a small state record under ``key``."""
        values = {"key": key, "value": value, "updated_at": self._now_ms()}
        with self._tx() as conn:
            conn.execute(self._sql.save_state, values)

    def load_state(self, key: str) -> str | None:
        """The state record stored under ``key``, if any."""
        query = select(strategy_state.c.value).where(strategy_state.c.key == key)
        with self._tx() as conn:
            return conn.scalar(query)

    def save_report(self, kind: str, timestamp: int, payload: str) -> None:
        """Append a report (e.g. a reconciliation report as JSON)."""
        with self._tx() as conn:
            conn.execute(
                reports.insert(), {"kind": kind, "timestamp": timestamp, "payload": payload}
            )

    def reports(self, kind: str | None = None) -> list[tuple[str, int, str]]:
        """Reports as ``(kind, timestamp, payload)`` in recording order, optionally of one kind."""
        query = select(reports.c.kind, reports.c.timestamp, reports.c.payload).order_by(
            reports.c.id
        )
        if kind is not None:
            query = query.where(reports.c.kind == kind)
        with self._tx() as conn:
            return [(k, ts, payload) for k, ts, payload in conn.execute(query)]

    def add_weight_update(self, entry: WeightUpdateEntry) -> None:
        """Append one weekly signal-weight update (the signal-weight journal port)."""
        values = {
            "boundary": entry.boundary,
            "source": entry.source,
            "changed": entry.changed,
            "weights": entry.weights,
            "calibration": entry.calibration,
            "summary": entry.summary,
            "recorded_at": self._now_ms(),
        }
        with self._tx() as conn:
            conn.execute(signal_weight_updates.insert(), values)

    def weight_updates(self) -> list[WeightUpdateEntry]:
        """Every weekly signal-weight update, oldest first."""
        t = signal_weight_updates.c
        query = select(
            t.boundary, t.source, t.changed, t.weights, t.calibration, t.summary
        ).order_by(t.id)
        with self._tx() as conn:
            return [
                WeightUpdateEntry(int(b), str(src), bool(ch), w, cal, summ)
                for b, src, ch, w, cal, summ in conn.execute(query)
            ]

    def start_run(
        self, started_at: int, prefix: str, symbol: str, market: str, config_source: str
    ) -> int:
        """Record the start of a bot run; returns its id (increasing across restarts).

        Args:
            started_at: Start time, Unix ms.
            prefix: The client order id prefix of the bot.
            symbol: The traded symbol.
            market: The market (e.g. ``SPOT``, ``USDM_FUTURES``).
            config_source: Where the configuration came from (a path, or the config text).
        """
        values = {
            "started_at": started_at,
            "prefix": prefix,
            "symbol": symbol,
            "market": market,
            "config_source": config_source,
        }
        with self._tx() as conn:
            key = conn.execute(runs.insert(), values).inserted_primary_key
        assert key is not None  # a single-row INSERT always reports its key
        return int(key[0])

    def record_snapshot(self, timestamp: int, payload_json: str) -> None:
        """Append an account/strategy snapshot (JSON) taken at ``timestamp``."""
        with self._tx() as conn:
            conn.execute(snapshots.insert(), {"timestamp": timestamp, "payload": payload_json})

    def snapshots(self) -> list[tuple[int, str]]:
        """Snapshots as ``(timestamp, payload)``, in recording order."""
        query = select(snapshots.c.timestamp, snapshots.c.payload).order_by(snapshots.c.id)
        with self._tx() as conn:
            return [(ts, payload) for ts, payload in conn.execute(query)]

    def record_equity(self, timestamp: int, equity: Decimal) -> None:
        """Store the equity at ``timestamp``; a repeated timestamp (after a restart) replaces it."""
        with self._tx() as conn:
            conn.execute(self._sql.record_equity, {"timestamp": timestamp, "equity": equity})

    def equity_curve(self) -> list[tuple[int, Decimal]]:
        """The equity curve as ``(timestamp, equity)``, oldest first."""
        query = select(equity_curve.c.timestamp, equity_curve.c.equity).order_by(
            equity_curve.c.timestamp
        )
        with self._tx() as conn:
            return [(ts, equity) for ts, equity in conn.execute(query)]
