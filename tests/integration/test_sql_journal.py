"""The SQL journal on SQLite: crash-safety settings, constraints, transactions, restarts.

The repository contract (tests/contract) covers behaviour shared with the in-memory
repository; this file covers what only a real database file gives: the pragmas that make
SQLite a write-ahead journal, foreign keys, one transaction per batch, the event history
and records that survive a restart — including a process killed without any cleanup.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, StatementError

from adapters.persistence import SqlJournal, SqlUnitOfWork, open_journal
from adapters.persistence.engine import create_journal_engine, sqlite_url
from adapters.persistence.types import ExactDecimal
from domain.enums import Liquidity, OrderType, Side, TimeInForce
from domain.events import (
    CancelRejected,
    FundingPaid,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    RejectReason,
)
from domain.orders import Fill, Order, OrderStatus, OrderTrigger

D = Decimal
T0 = 1_704_067_200_000
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def url(tmp_path: Path) -> str:
    return sqlite_url(tmp_path / "data")


@pytest.fixture
def journal(url: str) -> Iterator[SqlJournal]:
    j = open_journal(url, now_ms=lambda: T0)
    yield j
    j.engine.dispose()


def limit(cid: str, quantity: str = "0.00100000") -> Order:
    return Order(
        cid, "BTCUSDT", Side.BUY, OrderType.LIMIT, D(quantity), D("42000.10"), TimeInForce.GTC
    )


def fill(trade_id: int, cid: str, quantity: str = "0.00040000") -> Fill:
    return Fill(
        trade_id,
        cid,
        Side.BUY,
        D(quantity),
        D("42000.10"),
        D("0.00840000"),
        "USDT",
        Liquidity.MAKER,
        T0 + trade_id,
    )


def state(order: Order) -> dict[str, str]:
    return {name: repr(getattr(order, name)) for name in Order.__slots__}


# ----------------------------------------------------------------- engine and pragmas
def test_sqlite_url_points_at_gridbot_db_in_the_data_dir(tmp_path: Path) -> None:
    assert sqlite_url(tmp_path / "d") == f"sqlite:///{tmp_path / 'd' / 'gridbot.db'}"


def test_engine_creates_the_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "a" / "b"
    engine = create_journal_engine(sqlite_url(data))
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    finally:
        engine.dispose()
    assert (data / "gridbot.db").is_file()


def test_every_connection_has_the_crash_safety_pragmas(journal: SqlJournal) -> None:
    # Two connections at once: the pragmas are set per connection, not once per file.
    with journal.engine.connect() as first, journal.engine.connect() as second:
        for conn in (first, second):
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_decimal_column_refuses_floats() -> None:
    column = ExactDecimal()
    dialect = sa.create_engine("sqlite://").dialect

    assert column.process_bind_param(D("0.00100000"), dialect) == "0.00100000"
    assert column.process_bind_param(None, dialect) is None
    assert column.process_result_value("1E-8", dialect) == D("1E-8")
    with pytest.raises(TypeError, match="float"):
        column.process_bind_param(0.1, dialect)


# ------------------------------------------------------------------------ constraints
def test_an_event_cannot_reference_an_unknown_order(journal: SqlJournal) -> None:
    with pytest.raises(IntegrityError), journal.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO order_events (client_order_id, kind, payload, recorded_seq, "
            "recorded_at) VALUES ('gb-404', 'OrderCanceled', '{}', 1, 0)"
        )


def test_a_fill_cannot_reference_an_unknown_order(journal: SqlJournal) -> None:
    with pytest.raises(IntegrityError):
        journal.add_fill(fill(1, "gb-404"))
    assert journal.fills() == []


def test_an_order_with_history_cannot_be_deleted(journal: SqlJournal) -> None:
    order = limit("gb-1")
    journal.add_order(order)
    order.apply(OrderTrigger.ACCEPT, exchange_order_id=1)
    journal.update_order(order, OrderAccepted("gb-1", 1, T0))

    with pytest.raises(IntegrityError), journal.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM orders WHERE client_order_id = 'gb-1'")


def test_decimals_are_stored_as_their_exact_text(journal: SqlJournal) -> None:
    journal.add_order(limit("gb-1"))

    with journal.engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT quantity, price, executed_quantity, typeof(quantity) FROM orders"
        ).one()
    assert tuple(row) == ("0.00100000", "42000.10", "0", "text")


# ---------------------------------------------------------------------- event history
def test_update_order_appends_every_event_with_all_fields_as_text(journal: SqlJournal) -> None:
    order = limit("gb-1")
    journal.add_order(order)
    order.apply(OrderTrigger.ACCEPT, exchange_order_id=9_000_000_001)
    journal.update_order(order, OrderAccepted("gb-1", 9_000_000_001, T0))
    f = fill(7, "gb-1")
    order.apply_fill(f)
    journal.add_fill(f)
    journal.update_order(order, OrderFilled(f))
    order.apply(OrderTrigger.REQUEST_CANCEL)
    journal.update_order(order)  # no event: state only
    journal.update_order(
        order, CancelRejected("gb-1", RejectReason.UNKNOWN_ORDER, -2011, "Unknown order sent.", T0)
    )
    order.apply(OrderTrigger.EXPIRE)
    journal.update_order(order, OrderExpired("gb-1", T0 + 1, in_match=False))

    assert journal.order_events("gb-1") == [
        ("OrderAccepted", {"client_order_id": "gb-1", "exchange_order_id": "9000000001",
                           "timestamp": str(T0)}),
        ("OrderFilled", {"trade_id": "7", "client_order_id": "gb-1", "side": "BUY",
                         "quantity": "0.00040000", "price": "42000.10", "fee": "0.00840000",
                         "fee_asset": "USDT", "liquidity": "MAKER", "timestamp": str(T0 + 7)}),
        ("CancelRejected", {"client_order_id": "gb-1", "reason": "UNKNOWN_ORDER",
                            "code": "-2011", "message": "Unknown order sent.",
                            "timestamp": str(T0)}),
        ("OrderExpired", {"client_order_id": "gb-1", "timestamp": str(T0 + 1),
                          "in_match": "false"}),
    ]  # fmt: skip
    with journal.engine.connect() as conn:
        seqs = conn.exec_driver_sql("SELECT recorded_seq FROM order_events ORDER BY id").all()
    assert [s for (s,) in seqs] == [1, 2, 3, 4]


def test_order_row_and_event_are_one_transaction(journal: SqlJournal) -> None:
    order = limit("gb-1")
    journal.add_order(order)
    with journal.engine.begin() as conn:  # make the event insert fail after the UPDATE ran
        conn.exec_driver_sql(
            "CREATE TRIGGER no_events BEFORE INSERT ON order_events "
            "BEGIN SELECT RAISE(ABORT, 'disk says no'); END"
        )

    order.apply(OrderTrigger.ACCEPT, exchange_order_id=1)
    with pytest.raises(IntegrityError, match="disk says no"):
        journal.update_order(order, OrderAccepted("gb-1", 1, T0))

    stored = journal.get_order("gb-1")
    assert stored is not None and stored.status is OrderStatus.PENDING_NEW


# ---------------------------------------------------------------------- transactions
def test_batch_commits_once_at_the_end(journal: SqlJournal, url: str) -> None:
    observer = create_journal_engine(url)  # another connection, like a report tool
    try:
        with journal.batch():
            for n in range(3):
                journal.add_order(limit(f"gb-{n}"))
            with observer.connect() as conn:  # WAL: readers see the last commit, no waiting
                assert conn.exec_driver_sql("SELECT count(*) FROM orders").scalar() == 0
        with observer.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM orders").scalar() == 3
    finally:
        observer.dispose()


def test_batch_rolls_back_every_call_on_exception(journal: SqlJournal) -> None:
    journal.add_order(limit("gb-0"))

    with pytest.raises(ZeroDivisionError), journal.batch():
        order = limit("gb-1")
        journal.add_order(order)
        f = fill(1, "gb-1")
        order.apply_fill(f)
        journal.add_fill(f)
        journal.update_order(order, OrderFilled(f))
        journal.add_funding(FundingPaid("BTCUSDT", D("1"), D("0.0001"), D("42000"), D("1"), T0))
        journal.save_state("k", "v")
        journal.save_report("r", T0, "{}")
        journal.record_equity(T0, D("1000.00"))
        journal.record_snapshot(T0, "{}")
        journal.start_run(T0, "gb", "BTCUSDT", "SPOT", "cfg.json")
        _ = 1 / 0

    assert journal.order_ids() == ["gb-0"]
    assert journal.fills() == []
    assert journal.funding_payments() == []
    assert journal.load_state("k") is None
    assert journal.reports() == []
    assert journal.equity_curve() == []
    assert journal.snapshots() == []
    with journal.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM order_events").scalar() == 0
        assert conn.exec_driver_sql("SELECT count(*) FROM runs").scalar() == 0


def test_nested_batch_joins_the_outer_one(journal: SqlJournal) -> None:
    with pytest.raises(KeyError), journal.batch():
        with journal.batch():
            journal.add_order(limit("gb-1"))
        journal.update_order(limit("gb-2"))  # unknown: raises, the whole batch goes

    assert journal.order_ids() == []


def test_unit_of_work_commit_rollback_and_exit(journal: SqlJournal) -> None:
    with SqlUnitOfWork(journal) as uow:
        uow.orders.add_order(limit("gb-1"))
        uow.commit()
        uow.orders.add_order(limit("gb-2"))
        uow.rollback()
        uow.orders.add_order(limit("gb-3"))
        uow.commit()
        uow.orders.add_order(limit("gb-4"))  # never committed
        assert uow.committed

    assert journal.order_ids() == ["gb-1", "gb-3"]


def test_only_one_unit_of_work_at_a_time(journal: SqlJournal) -> None:
    with SqlUnitOfWork(journal), pytest.raises(RuntimeError, match="already open"):
        SqlUnitOfWork(journal).__enter__()
    with pytest.raises(RuntimeError, match="not open"):
        SqlUnitOfWork(journal).commit()


def test_failed_duplicate_inside_a_batch_keeps_the_batch_usable(journal: SqlJournal) -> None:
    with journal.batch():
        journal.add_order(limit("gb-1"))
        with pytest.raises(ValueError, match="already recorded"):
            journal.add_order(limit("gb-1"))
        journal.add_order(limit("gb-2"))

    assert journal.order_ids() == ["gb-1", "gb-2"]


# ------------------------------------------------------------------------- restarts
def fill_journal(journal: SqlJournal) -> dict[str, Order]:
    orders = {cid: limit(cid, "0.00100000") for cid in ("gb-1", "gb-2", "gb-3", "gb-4")}
    for order in orders.values():
        journal.add_order(order)
    trade = 100
    for cid in ("gb-2", "gb-3", "gb-4"):
        order = orders[cid]
        order.apply(OrderTrigger.ACCEPT, exchange_order_id=int(cid[3:]))
        journal.update_order(order, OrderAccepted(cid, int(cid[3:]), T0))
        f = fill(trade, cid, "0.00100000" if cid == "gb-4" else "0.00030000")
        trade += 1
        order.apply_fill(f)
        journal.add_fill(f)
        journal.update_order(order, OrderFilled(f))
    orders["gb-3"].apply(OrderTrigger.CANCEL)
    journal.update_order(orders["gb-3"], OrderCanceled("gb-3", T0 + 5))
    journal.add_funding(FundingPaid("BTCUSDT", D("-0.0125"), D("0.0001"), D("42000"), D("1"), T0))
    journal.save_state("strategy", '{"centre": "42000.10"}')
    journal.save_report("reconciliation", T0, '{"ok": true}')
    journal.record_equity(T0, D("1000.00000000"))
    journal.record_equity(T0, D("1000.50000000"))  # the same bar after a restart replaces
    journal.record_snapshot(T0, '{"balance": "1000"}')
    return orders


def test_everything_reads_back_identical_from_a_new_engine(url: str) -> None:
    first = open_journal(url, now_ms=lambda: T0)
    written = fill_journal(first)
    run_id = first.start_run(T0, "gb", "BTCUSDT", "SPOT", "config.json")
    before = (first.fills(), first.funding_payments(), first.order_events("gb-2"))
    first.engine.dispose()

    second = open_journal(url)  # a new engine on the same file: what a restart does
    try:
        assert [o.client_order_id for o in second.open_orders()] == ["gb-1", "gb-2"]
        assert [state(o) for o in second.open_orders()] == [
            state(written["gb-1"]),
            state(written["gb-2"]),
        ]
        for cid, order in written.items():
            stored = second.get_order(cid)
            assert stored is not None and state(stored) == state(order)
        assert (second.fills(), second.funding_payments(), second.order_events("gb-2")) == before
        assert second.last_trade_id() == 102
        assert second.load_state("strategy") == '{"centre": "42000.10"}'
        assert second.reports("reconciliation") == [("reconciliation", T0, '{"ok": true}')]
        assert second.reports("other") == []
        assert second.equity_curve() == [(T0, D("1000.50000000"))]
        assert str(second.equity_curve()[0][1]) == "1000.50000000"
        assert second.snapshots() == [(T0, '{"balance": "1000"}')]
        assert second.start_run(T0 + 1, "gb", "BTCUSDT", "SPOT", "config.json") == run_id + 1
    finally:
        second.engine.dispose()


KILLED_WRITER = """
import os, sys
from decimal import Decimal as D
from adapters.persistence import open_journal
from domain.enums import OrderType, Side, TimeInForce
from domain.orders import Order

journal = open_journal(sys.argv[1])
for n in range(50):
    journal.add_order(
        Order(f"gb-{n}", "BTCUSDT", Side.BUY, OrderType.LIMIT, D("0.001"), D("1"), TimeInForce.GTC)
    )
journal.save_state("last", "gb-49")
os._exit(0)  # no dispose, no atexit, no checkpoint: as abrupt as a kill
"""


def test_every_acknowledged_write_survives_an_abrupt_exit(url: str) -> None:
    subprocess.run(
        [sys.executable, "-c", KILLED_WRITER, url], cwd=REPO_ROOT, check=True, timeout=60
    )

    journal = open_journal(url)
    try:
        assert journal.order_ids() == [f"gb-{n}" for n in range(50)]
        assert len(journal.open_orders()) == 50
        assert journal.load_state("last") == "gb-49"
    finally:
        journal.engine.dispose()


def test_unsupported_values_are_refused_before_reaching_the_file(journal: SqlJournal) -> None:
    bad = limit("gb-1")
    bad.price = 42000.1  # type: ignore[assignment]

    with pytest.raises(StatementError, match="ExactDecimal needs a Decimal"):
        journal.add_order(bad)
    assert journal.order_ids() == []


def test_json_columns_hold_trade_ids_and_fee_totals(journal: SqlJournal) -> None:
    order = limit("gb-1")
    journal.add_order(order)
    for trade_id in (5, 6):
        f = fill(trade_id, "gb-1")
        order.apply_fill(f)
        journal.add_fill(f)
        journal.update_order(order, OrderFilled(f))

    with journal.engine.connect() as conn:
        trade_ids, fees = conn.exec_driver_sql("SELECT trade_ids, fee_totals FROM orders").one()
    assert json.loads(trade_ids) == [5, 6]
    assert json.loads(fees) == [["USDT", "0.01680000"]]
