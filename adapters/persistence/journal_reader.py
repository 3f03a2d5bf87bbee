"""Read a journal without disturbing the bot that may be writing it.

A report must never block, alter or migrate a running bot's journal, so this reader does
not use :func:`~adapters.persistence.factory.open_journal`:

* SQLite is opened through a ``mode=ro`` URI: the connection cannot write, even by
  accident. The journal runs in WAL mode, where a reader sees the last committed state
  and never blocks the writer; everything is read in one transaction (one consistent
  snapshot) which ends before :func:`read_journal` returns.
* PostgreSQL is read in a ``REPEATABLE READ`` read-only transaction: one snapshot, no
  locks that a writer waits for.

A journal at an older schema revision is refused with a one-line message rather than
migrated: migrating is the bot's job, on its next start.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, select
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from adapters.persistence.engine import DATABASE_FILE
from adapters.persistence.mappers import fill_from_row, funding_from_row
from adapters.persistence.migrate import head_revision
from adapters.persistence.schema import (
    equity_curve,
    fills,
    funding_payments,
    order_events,
    orders,
    reports,
    runs,
    signal_weight_updates,
    strategy_state,
)
from application.ports.journal_history import DecisionPoint, OrderSpan, RunRecord
from application.ports.signal_journal import WeightUpdateEntry
from domain.events import FundingPaid
from domain.orders import Fill, OrderStatus

__all__ = ["JournalSnapshot", "JournalUnreadable", "display_url", "journal_url", "read_journal"]

#: Journal key of the first start's account record (written by the trading session).
ACCOUNT_KEY = "account.initial"


class JournalUnreadable(ValueError):
    """The journal does not exist, cannot be opened, or is at another schema revision."""


class JournalSnapshot:
    """One consistent read of a journal, held in memory (the ``JournalHistory`` port)."""

    def __init__(
        self,
        runs: list[RunRecord],
        initial_account: dict[str, str] | None,
        fills: list[Fill],
        funding: list[FundingPaid],
        spans: list[OrderSpan],
        equity: list[tuple[int, Decimal]],
        decisions: list[DecisionPoint],
        weight_updates: list[WeightUpdateEntry] | None = None,
    ) -> None:
        self._runs = runs
        self._initial = initial_account
        self._fills = fills
        self._funding = funding
        self._spans = spans
        self._equity = equity
        self._decisions = decisions
        self._weight_updates = weight_updates or []

    def runs(self) -> list[RunRecord]:
        """Every recorded start, oldest first."""
        return list(self._runs)

    def initial_account(self) -> dict[str, str] | None:
        """The first start's account record."""
        return None if self._initial is None else dict(self._initial)

    def fills(self) -> list[Fill]:
        """Every fill, in trade-id order."""
        return list(self._fills)

    def funding_payments(self) -> list[FundingPaid]:
        """Every funding settlement, oldest first."""
        return list(self._funding)

    def order_spans(self) -> list[OrderSpan]:
        """Every priced order that reached the exchange, in creation order."""
        return list(self._spans)

    def equity_curve(self) -> list[tuple[int, Decimal]]:
        """The recorded equity observations, oldest first."""
        return list(self._equity)

    def decisions(self) -> list[DecisionPoint]:
        """The stored decision records, oldest first."""
        return list(self._decisions)

    def weight_updates(self) -> list[WeightUpdateEntry]:
        """The signal's weekly weight updates, oldest first."""
        return list(self._weight_updates)


def journal_url(path_or_url: str) -> str:
    """A SQLAlchemy URL from what the user typed: a URL, a database file or a data directory.

    Raises:
        JournalUnreadable: A path that is neither an existing file nor a directory holding
            ``gridbot.db``.
    """
    if "://" in path_or_url:
        return path_or_url
    path = Path(path_or_url).expanduser().resolve()
    if path.is_dir():
        path = path / DATABASE_FILE
    if not path.is_file():
        raise JournalUnreadable(f"{path_or_url}: no journal there (a gridbot.db or its directory)")
    return f"sqlite:///{path}"


def display_url(url: str) -> str:
    """``url`` as it may be shown: the password masked."""
    return make_url(url).render_as_string(hide_password=True)


def _read_only_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        ro = f"sqlite:///file:{Path(database).resolve()}?mode=ro&uri=true"
        engine = create_engine(ro)
        event.listen(engine, "connect", _sqlite_autocommit_off)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(
        parsed,
        isolation_level="REPEATABLE READ",
        execution_options={"postgresql_readonly": True},
    )


def _sqlite_autocommit_off(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # the "begin" listener starts the transaction


def _sqlite_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN")


def read_journal(url: str) -> JournalSnapshot:
    """Read everything a report needs from the journal at ``url``, in one snapshot.

    Raises:
        JournalUnreadable: The database cannot be opened or is at another revision.
    """
    shown = display_url(url)
    engine = _read_only_engine(url)
    try:
        with engine.connect() as conn, conn.begin():
            revision = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
            if revision != head_revision():
                raise JournalUnreadable(
                    f"{shown}: journal schema at revision {revision}, this gridbot reads "
                    f"{head_revision()} (start the bot once to upgrade it)"
                )
            return _snapshot(conn)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise JournalUnreadable(f"{shown}: cannot read the journal: {reason}") from exc
    finally:
        engine.dispose()


def _snapshot(conn: Connection) -> JournalSnapshot:
    run_rows = conn.execute(
        select(runs.c.started_at, runs.c.symbol, runs.c.market).order_by(runs.c.id)
    )
    stored = conn.scalar(select(strategy_state.c.value).where(strategy_state.c.key == ACCOUNT_KEY))
    fill_rows = conn.execute(select(fills).order_by(fills.c.trade_id))
    funding_rows = conn.execute(select(funding_payments).order_by(funding_payments.c.funding_time))
    equity_rows = conn.execute(
        select(equity_curve.c.timestamp, equity_curve.c.equity).order_by(equity_curve.c.timestamp)
    )
    return JournalSnapshot(
        runs=[RunRecord(int(t), s, m) for t, s, m in run_rows],
        initial_account=None if stored is None else json.loads(stored),
        fills=[fill_from_row(row) for row in fill_rows],
        funding=[funding_from_row(row) for row in funding_rows],
        spans=_order_spans(conn),
        equity=[(int(t), e) for t, e in equity_rows],
        decisions=_decisions(conn),
        weight_updates=_weight_updates(conn),
    )


def _weight_updates(conn: Connection) -> list[WeightUpdateEntry]:
    t = signal_weight_updates.c
    query = select(t.boundary, t.source, t.changed, t.weights, t.calibration, t.summary)
    return [
        WeightUpdateEntry(int(b), str(src), bool(ch), w, cal, summ)
        for b, src, ch, w, cal, summ in conn.execute(query.order_by(t.id))
    ]


def _order_spans(conn: Connection) -> list[OrderSpan]:
    """Priced orders with the first and last exchange time of their events."""
    times: dict[str, tuple[int, int]] = {}
    events = select(order_events.c.client_order_id, order_events.c.payload).order_by(
        order_events.c.id
    )
    for cid, payload in conn.execute(events):
        stamp = json.loads(payload).get("timestamp")
        if stamp is None:
            continue
        at = int(stamp)
        first, last = times.get(cid, (at, at))
        times[cid] = (min(first, at), max(last, at))
    query = (
        select(orders.c.client_order_id, orders.c.side, orders.c.price, orders.c.status)
        .where(orders.c.price.is_not(None))
        .order_by(orders.c.seq)
    )
    spans: list[OrderSpan] = []
    for cid, side, price, status in conn.execute(query):
        state = OrderStatus(status)
        if cid not in times or state is OrderStatus.REJECTED:
            continue
        first, last = times[cid]
        filled = state is OrderStatus.FILLED
        spans.append(OrderSpan(cid, side, price, first, last, state.is_terminal, filled))
    return spans


def _decisions(conn: Connection) -> list[DecisionPoint]:
    query = (
        select(reports.c.timestamp, reports.c.payload)
        .where(reports.c.kind == "decision")
        .order_by(reports.c.timestamp, reports.c.id)
    )
    points: list[DecisionPoint] = []
    for timestamp, payload in conn.execute(query):
        record = json.loads(payload)
        points.append(
            DecisionPoint(
                int(timestamp),
                float(record.get("long_conviction") or 0.0),
                float(record.get("short_conviction") or 0.0),
                str(record.get("regime", "")),
            )
        )
    return points
