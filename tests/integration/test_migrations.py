"""Schema migrations: an older journal upgrades in place, without losing a row.

A database is created at revision 0001 only (as an earlier release left it), rows are
written into it with plain SQL, and then the journal is opened the way the bot opens it:
:func:`open_journal` upgrades to head. A database at 0002 with fills likewise upgrades to
0003, which gives the old fills a NULL ``fee_quote``, and on to 0004 (a NULL
``realized_pnl``: the bot's own figure, as before). Runs on SQLite always and on
PostgreSQL when ``GRIDBOT_TEST_POSTGRES_URL`` is set (see
tests/contract/test_repository_contract.py).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import make_url

from adapters.persistence import open_journal
from adapters.persistence.engine import create_journal_engine, sqlite_url
from adapters.persistence.migrate import (
    alembic_config,
    current_revision,
    head_revision,
    upgrade_to_head,
)
from adapters.persistence.schema import metadata
from domain.enums import Liquidity, Side
from domain.events import FundingPaid
from domain.orders import Fill, OrderStatus

D = Decimal
T0 = 1_704_067_200_000
FIRST = "0001_initial"
SECOND = "0002_equity_and_strategy_state"
THIRD = "0003_fill_fee_quote"
HEAD = "0005_signal_weight_updates"
ALL_TABLES = {
    "runs",
    "orders",
    "order_events",
    "fills",
    "funding_payments",
    "snapshots",
    "reports",
    "equity_curve",
    "strategy_state",
    "signal_weight_updates",
}
#: The tables of revision 0001.
RELEASE_ONE_TABLES = ALL_TABLES - {"equity_curve", "strategy_state", "signal_weight_updates"}


@contextmanager
def postgres_schema_url() -> Iterator[str]:
    base = os.environ.get("GRIDBOT_TEST_POSTGRES_URL")
    if not base:
        reason = "PostgreSQL not configured: set GRIDBOT_TEST_POSTGRES_URL"
        if os.environ.get("GRIDBOT_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    schema = f"gridbot_test_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(base)
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "data")
    else:
        with postgres_schema_url() as pg_url:
            yield pg_url


@pytest.fixture
def engine(url: str) -> Iterator[sa.Engine]:
    e = create_journal_engine(url)
    yield e
    e.dispose()


def tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}


def describe(engine: sa.Engine) -> dict[str, list[tuple[str, str, bool]]]:
    inspector = sa.inspect(engine)
    return {
        table: [(c["name"], repr(c["type"]), c["nullable"]) for c in inspector.get_columns(table)]
        for table in sorted(tables(engine))
    }


def write_release_one_rows(engine: sa.Engine) -> None:
    """What a bot at revision 0001 wrote: plain SQL, no help from the current code."""
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO orders (client_order_id, seq, symbol, side, order_type, "
                "time_in_force, quantity, price, stop_price, reduce_only, tag, status, "
                "exchange_order_id, executed_quantity, executed_quote, trade_ids, fee_totals, "
                "updated_at) VALUES (:cid, :seq, 'BTCUSDT', 'BUY', 'LIMIT', 'GTC', "
                "'0.00100000', '42000.10', NULL, :ro, '', :status, :xid, :exq, :exquote, "
                ":tids, :fees, :ts)"
            ),
            [
                {"cid": "gb-1", "seq": 1, "ro": False, "status": "NEW", "xid": 11,
                 "exq": "0.00040000", "exquote": "16.80040000", "tids": "[7]",
                 "fees": '[["USDT","0.00840000"]]', "ts": T0},
                {"cid": "gb-2", "seq": 2, "ro": False, "status": "PENDING_NEW", "xid": None,
                 "exq": "0", "exquote": "0", "tids": "[]", "fees": "[]", "ts": T0},
            ],
        )  # fmt: skip
        conn.execute(
            sa.text(
                "INSERT INTO fills (trade_id, client_order_id, side, quantity, price, fee, "
                "fee_asset, liquidity, timestamp) VALUES (7, 'gb-1', 'BUY', '0.00040000', "
                "'42000.10', '0.00840000', 'USDT', 'MAKER', :ts)"
            ),
            {"ts": T0 + 7},
        )
        conn.execute(
            sa.text(
                "INSERT INTO order_events (client_order_id, kind, payload, recorded_seq, "
                "recorded_at) VALUES ('gb-1', 'OrderAccepted', :payload, 1, :ts)"
            ),
            {"payload": '{"client_order_id":"gb-1"}', "ts": T0},
        )
        conn.execute(
            sa.text(
                "INSERT INTO funding_payments (symbol, funding_time, amount, rate, mark_price, "
                "position_quantity) VALUES ('BTCUSDT', :ts, '-0.0125', '0.0001', '42000', '1')"
            ),
            {"ts": T0},
        )
        conn.execute(
            sa.text("INSERT INTO reports (kind, timestamp, payload) VALUES ('run', :ts, '{}')"),
            {"ts": T0},
        )


def test_head_is_the_fifth_revision() -> None:
    assert head_revision() == HEAD


def test_a_release_one_database_upgrades_without_loss(url: str, engine: sa.Engine) -> None:
    command.upgrade(alembic_config(url), FIRST)  # the command-line path, no engine passed in
    assert current_revision(engine) == FIRST
    assert tables(engine) == RELEASE_ONE_TABLES
    write_release_one_rows(engine)

    journal = open_journal(url)
    try:
        assert current_revision(journal.engine) == HEAD
        assert tables(journal.engine) == ALL_TABLES
        assert journal.order_ids() == ["gb-1", "gb-2"]
        first = journal.get_order("gb-1")
        assert first is not None
        assert (first.status, first.exchange_order_id, first.trade_ids) == (
            OrderStatus.NEW,
            11,
            (7,),
        )
        assert str(first.quantity) == "0.00100000"
        assert first.fee_totals == (("USDT", D("0.00840000")),)
        assert [o.client_order_id for o in journal.open_orders()] == ["gb-1", "gb-2"]
        assert journal.fills() == [
            Fill(7, "gb-1", Side.BUY, D("0.00040000"), D("42000.10"), D("0.00840000"), "USDT",
                 Liquidity.MAKER, T0 + 7)
        ]  # fmt: skip
        assert journal.funding_payments() == [
            FundingPaid("BTCUSDT", D("-0.0125"), D("0.0001"), D("42000"), D("1"), T0)
        ]
        assert journal.order_events("gb-1") == [("OrderAccepted", {"client_order_id": "gb-1"})]
        assert journal.reports() == [("run", T0, "{}")]
        # The new tables work, and new orders continue the creation sequence.
        journal.save_state("strategy", "{}")
        journal.record_equity(T0, D("1000.0"))
        assert journal.load_state("strategy") == "{}"
        assert journal.equity_curve() == [(T0, D("1000.0"))]
        journal.add_order(first.__class__("gb-3", "BTCUSDT", Side.SELL, first.order_type, D("1")))
        assert journal.order_ids() == ["gb-1", "gb-2", "gb-3"]
    finally:
        journal.engine.dispose()


def test_upgrading_twice_is_a_no_op(engine: sa.Engine) -> None:
    upgrade_to_head(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO strategy_state (key, value, updated_at) VALUES ('k', 'v', 1)"
        )
    schema_before = describe(engine)

    upgrade_to_head(engine)

    assert current_revision(engine) == HEAD
    assert describe(engine) == schema_before
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT value FROM strategy_state").scalar() == "v"
        assert conn.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar() == 1


def test_an_empty_database_has_no_revision(engine: sa.Engine) -> None:
    assert current_revision(engine) is None


def test_schema_module_matches_the_migrations(engine: sa.Engine) -> None:
    upgrade_to_head(engine)

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_downgrade_to_release_one_keeps_its_rows(url: str, engine: sa.Engine) -> None:
    upgrade_to_head(engine)
    write_release_one_rows(engine)

    command.downgrade(alembic_config(url), FIRST)

    assert current_revision(engine) == FIRST
    assert tables(engine) == RELEASE_ONE_TABLES
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM orders").scalar() == 2
        assert conn.exec_driver_sql("SELECT count(*) FROM fills").scalar() == 1


def fill_columns(engine: sa.Engine) -> list[str]:
    return [c["name"] for c in sa.inspect(engine).get_columns("fills")]


def test_a_release_two_database_with_fills_gets_a_null_fee_quote(
    url: str, engine: sa.Engine
) -> None:
    command.upgrade(alembic_config(url), SECOND)
    assert current_revision(engine) == SECOND
    assert "fee_quote" not in fill_columns(engine)
    write_release_one_rows(engine)  # 0002 wrote fills exactly as 0001 did

    journal = open_journal(url)
    try:
        assert current_revision(journal.engine) == HEAD
        assert fill_columns(journal.engine)[-2:] == ["fee_quote", "realized_pnl"]
        with journal.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT fee_quote, realized_pnl FROM fills").all() == [
                (None, None)
            ]
        [old] = journal.fills()
        assert old.fee_quote is None and old.realized_pnl is None
        assert old == Fill(7, "gb-1", Side.BUY, D("0.00040000"), D("42000.10"),
                           D("0.00840000"), "USDT", Liquidity.MAKER, T0 + 7)  # fmt: skip
        # A BNB commission's quote value is stored as exact text and reads back unchanged.
        bnb = Fill(8, "gb-1", Side.BUY, D("0.00010000"), D("42000.10"), D("0.00010000"), "BNB",
                   Liquidity.TAKER, T0 + 8, D("0.06000000"))  # fmt: skip
        assert journal.add_fill(bnb)
        assert journal.fills() == [old, bnb]
        assert str(journal.fills()[1].fee_quote) == "0.06000000"
        with journal.engine.connect() as conn:
            stored = conn.exec_driver_sql("SELECT fee_quote FROM fills WHERE trade_id = 8")
            assert stored.scalar() == "0.06000000"
    finally:
        journal.engine.dispose()


def test_downgrade_to_release_two_drops_fee_quote_and_keeps_fills(
    url: str, engine: sa.Engine
) -> None:
    upgrade_to_head(engine)
    write_release_one_rows(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE fills SET fee_quote = '0.01' WHERE trade_id = 7")

    command.downgrade(alembic_config(url), SECOND)

    assert current_revision(engine) == SECOND
    assert "fee_quote" not in fill_columns(engine)
    assert tables(engine) == ALL_TABLES - {"signal_weight_updates"}
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT trade_id, fee FROM fills").all() == [(7, "0.00840000")]
    inspector = sa.inspect(engine)  # SQLite rebuilt the table: its keys and index survive
    assert {ix["name"] for ix in inspector.get_indexes("fills")} == {"ix_fills_client_order_id"}
    assert inspector.get_pk_constraint("fills")["constrained_columns"] == ["trade_id"]
    [fk] = inspector.get_foreign_keys("fills")
    assert (fk["referred_table"], fk["constrained_columns"]) == ("orders", ["client_order_id"])


def test_a_release_three_database_gets_a_null_realized_pnl_that_round_trips(
    url: str, engine: sa.Engine
) -> None:
    command.upgrade(alembic_config(url), THIRD)
    write_release_one_rows(engine)
    assert "realized_pnl" not in fill_columns(engine)
    journal = open_journal(url)
    try:
        assert current_revision(journal.engine) == HEAD
        [old] = journal.fills()
        assert old.realized_pnl is None
        booked = Fill(9, "gb-1", Side.SELL, D("0.00040000"), D("42100.10"), D("0.00840000"),
                      "USDT", Liquidity.MAKER, T0 + 9, None, D("0.0400000000001"))  # fmt: skip
        assert journal.add_fill(booked)
        assert journal.fills()[-1] == booked
        assert str(journal.fills()[-1].realized_pnl) == "0.0400000000001"
    finally:
        journal.engine.dispose()
    command.downgrade(alembic_config(url), THIRD)
    assert "realized_pnl" not in fill_columns(engine)
    with engine.connect() as conn:
        assert [r[0] for r in conn.exec_driver_sql("SELECT trade_id FROM fills")] == [7, 9]
