"""The OrderRepository contract, checked on every implementation.

One suite, three journals: the in-memory repository backtests use, the SQL journal on a
SQLite file and the SQL journal on PostgreSQL. Whatever the execution service can observe
through the port — intents, event-driven updates, open orders, fills, funding, state and
reports — must behave the same on all of them, down to the exact text of every Decimal.

PostgreSQL comes from ``GRIDBOT_TEST_POSTGRES_URL`` (e.g.
``postgresql+psycopg://gridbot:gridbot@127.0.0.1:5432/gridbot``). Without it those cases
skip with the reason, unless ``GRIDBOT_REQUIRE_POSTGRES=1`` (CI), where they fail. Each
PostgreSQL test runs in a fresh schema of its own, migrated from scratch and dropped after.

A second, smaller parametrisation (``durable``) covers what only a durable journal promises:
transactions that roll back and records that survive a new engine.
"""

from __future__ import annotations

import inspect
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from adapters.memory.repository import InMemoryOrderRepository, InMemoryUnitOfWork
from adapters.persistence import SqlJournal, SqlUnitOfWork, open_journal
from adapters.persistence.engine import sqlite_url
from application.ports.repository import OrderRepository, UnitOfWork
from domain.enums import Liquidity, OrderType, Side, TimeInForce
from domain.events import (
    FundingPaid,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderModified,
    OrderRejected,
    RejectReason,
)
from domain.orders import Fill, Order, OrderStatus, OrderTrigger

D = Decimal
T0 = 1_704_067_200_000
SYMBOL = "BTCUSDT"


# ----------------------------------------------------------------------- backends
def postgres_base_url() -> str:
    """The test server's URL, or skip (fail under GRIDBOT_REQUIRE_POSTGRES=1)."""
    url = os.environ.get("GRIDBOT_TEST_POSTGRES_URL")
    if not url:
        reason = "PostgreSQL not configured: set GRIDBOT_TEST_POSTGRES_URL"
        if os.environ.get("GRIDBOT_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return url


@contextmanager
def postgres_schema_url(base_url: str) -> Iterator[str]:
    """A URL whose connections live in a new, empty schema; the schema is dropped after."""
    schema = f"gridbot_test_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(base_url)
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


@dataclass
class Backend:
    """One repository under test, with the few things the port itself does not expose."""

    repo: Any
    reports: Callable[[], list[tuple[str, int, str]]]
    unit_of_work: Callable[[], UnitOfWork]
    reopen: Callable[[], Any] | None = None  # a second journal on the same database


@contextmanager
def sql_backend(url: str) -> Iterator[Backend]:
    journals: list[SqlJournal] = []

    def new_journal() -> SqlJournal:
        journals.append(open_journal(url))
        return journals[-1]

    journal = new_journal()
    try:
        yield Backend(journal, journal.reports, lambda: SqlUnitOfWork(journal), reopen=new_journal)
    finally:
        for j in journals:
            j.engine.dispose()


@contextmanager
def build(kind: str, tmp_path: Path) -> Iterator[Backend]:
    if kind == "memory":
        repo = InMemoryOrderRepository()
        yield Backend(repo, lambda: list(repo.reports), lambda: InMemoryUnitOfWork(repo))
    elif kind == "sqlite":
        with sql_backend(sqlite_url(tmp_path / "data")) as backend:
            yield backend
    else:
        with postgres_schema_url(postgres_base_url()) as url, sql_backend(url) as backend:
            yield backend


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    with build(request.param, tmp_path) as b:
        yield b


@pytest.fixture
def repo(backend: Backend) -> OrderRepository:
    return backend.repo  # type: ignore[no-any-return]


@pytest.fixture(params=["sqlite", "postgresql"])
def durable(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    with build(request.param, tmp_path) as b:
        yield b


# ------------------------------------------------------------------------ helpers
def limit(cid: str, quantity: str = "0.00100000", price: str = "42000.10") -> Order:
    return Order(
        cid, SYMBOL, Side.BUY, OrderType.LIMIT, D(quantity), D(price), TimeInForce.GTC, tag="L3"
    )


def fill(trade_id: int, cid: str, quantity: str = "0.00040000", fee: str = "0.00840000") -> Fill:
    return Fill(
        trade_id,
        cid,
        Side.BUY,
        D(quantity),
        D("42000.10"),
        D(fee),
        "USDT",
        Liquidity.MAKER,
        T0 + trade_id,
    )


def funding(ts: int, symbol: str = SYMBOL, amount: str = "-0.01250000") -> FundingPaid:
    return FundingPaid(symbol, D(amount), D("0.00010000"), D("42000.10"), D("-0.003"), ts)


def state(order: Order) -> dict[str, str]:
    """Every attribute of an order by repr: exact Decimal text, enum and int types included."""
    return {name: repr(getattr(order, name)) for name in Order.__slots__}


def accept(repo: OrderRepository, order: Order, exchange_id: int = 7_000_001) -> None:
    order.apply(OrderTrigger.ACCEPT, exchange_order_id=exchange_id)
    repo.update_order(order, OrderAccepted(order.client_order_id, exchange_id, T0))


def book_fill(repo: OrderRepository, order: Order, f: Fill) -> None:
    assert order.apply_fill(f)
    assert repo.add_fill(f)
    repo.update_order(order, OrderFilled(f))


# --------------------------------------------------------------------------- port
@pytest.mark.parametrize("implementation", [InMemoryOrderRepository, SqlJournal])
def test_every_port_method_is_implemented_with_its_signature(implementation: type) -> None:
    port = {
        name: inspect.signature(member)
        for name, member in vars(OrderRepository).items()
        if callable(member) and not name.startswith("_")
    }
    assert port  # the port was read
    for name, signature in port.items():
        implemented = inspect.signature(getattr(implementation, name))
        assert list(implemented.parameters) == list(signature.parameters), name


# ------------------------------------------------------------------------- orders
def test_intent_is_recorded_pending_new_with_identical_fields(repo: OrderRepository) -> None:
    intent = Order(
        "gb-1",
        SYMBOL,
        Side.SELL,
        OrderType.STOP_MARKET,
        D("0.00100000"),
        None,
        None,
        D("41000.50"),
        reduce_only=True,
        tag="stop",
    )

    repo.add_order(intent)

    stored = repo.get_order("gb-1")
    assert stored is not None
    assert stored.status is OrderStatus.PENDING_NEW
    assert state(stored) == state(intent)
    assert str(stored.quantity) == "0.00100000"
    assert [state(o) for o in repo.open_orders()] == [state(intent)]
    assert repo.order_ids() == ["gb-1"]


def test_unknown_order_is_none(repo: OrderRepository) -> None:
    assert repo.get_order("gb-404") is None
    assert repo.open_orders() == []
    assert repo.order_ids() == []


def test_duplicate_client_id_is_rejected_and_the_first_kept(repo: OrderRepository) -> None:
    first = limit("gb-1")
    repo.add_order(first)

    with pytest.raises(ValueError, match="gb-1"):
        repo.add_order(limit("gb-1", quantity="5"))

    stored = repo.get_order("gb-1")
    assert stored is not None and state(stored) == state(first)
    assert repo.order_ids() == ["gb-1"]


def test_update_of_an_unrecorded_order_raises(repo: OrderRepository) -> None:
    with pytest.raises(KeyError):
        repo.update_order(limit("gb-9"), OrderCanceled("gb-9", T0))


def test_accept_fill_cancel_are_recorded(repo: OrderRepository) -> None:
    order = limit("gb-1")
    repo.add_order(order)

    accept(repo, order)
    stored = repo.get_order("gb-1")
    assert stored is not None
    assert stored.status is OrderStatus.NEW
    assert stored.exchange_order_id == 7_000_001

    book_fill(repo, order, fill(11, "gb-1"))
    book_fill(repo, order, fill(12, "gb-1", quantity="0.00010000", fee="0"))
    stored = repo.get_order("gb-1")
    assert stored is not None
    assert stored.status is OrderStatus.PARTIALLY_FILLED
    assert state(stored) == state(order)
    assert stored.trade_ids == (11, 12)
    assert stored.executed_quantity == D("0.00050000")
    assert str(stored.executed_quote) == str(order.executed_quote)
    assert stored.fee_totals == (("USDT", D("0.00840000")),)
    assert [o.client_order_id for o in repo.open_orders()] == ["gb-1"]

    order.apply(OrderTrigger.REQUEST_CANCEL)
    repo.update_order(order)  # a local transition without an exchange event
    order.apply(OrderTrigger.CANCEL)
    repo.update_order(order, OrderCanceled("gb-1", T0 + 99))

    stored = repo.get_order("gb-1")
    assert stored is not None
    assert stored.status is OrderStatus.CANCELED
    assert state(stored) == state(order)
    assert repo.open_orders() == []
    assert repo.order_ids() == ["gb-1"]


def test_modify_changes_price_and_quantity(repo: OrderRepository) -> None:
    order = limit("gb-1")
    repo.add_order(order)
    accept(repo, order)
    order.apply(OrderTrigger.REQUEST_MODIFY)
    repo.update_order(order)

    order.apply(OrderTrigger.MODIFY, price=D("41999.90"), quantity=D("0.00200000"))
    repo.update_order(order, OrderModified("gb-1", D("41999.90"), D("0.00200000"), T0))

    stored = repo.get_order("gb-1")
    assert stored is not None
    assert (stored.status, str(stored.price), str(stored.quantity)) == (
        OrderStatus.NEW,
        "41999.90",
        "0.00200000",
    )


def test_terminal_orders_leave_open_orders_which_keep_creation_order(
    repo: OrderRepository,
) -> None:
    # Client ids that sort differently as text than by creation.
    orders = {cid: limit(cid) for cid in ("gb-9", "gb-10", "gb-100", "gb-11", "gb-2")}
    for order in orders.values():
        repo.add_order(order)

    filled = orders["gb-10"]
    accept(repo, filled)
    book_fill(repo, filled, fill(1, "gb-10", quantity="0.00100000"))
    rejected = orders["gb-100"]
    rejected.apply(OrderTrigger.REJECT)
    repo.update_order(
        rejected, OrderRejected("gb-100", RejectReason.FILTER, -1013, "Filter failure", T0)
    )
    expired = orders["gb-2"]
    accept(repo, expired, 7_000_002)
    expired.apply(OrderTrigger.EXPIRE)
    repo.update_order(expired, OrderExpired("gb-2", T0))

    assert filled.status is OrderStatus.FILLED
    assert [o.client_order_id for o in repo.open_orders()] == ["gb-9", "gb-11"]
    assert repo.order_ids() == ["gb-9", "gb-10", "gb-100", "gb-11", "gb-2"]
    for cid, order in orders.items():
        stored = repo.get_order(cid)
        assert stored is not None and state(stored) == state(order)


# -------------------------------------------------------------------------- fills
def test_fills_are_unique_by_trade_id_and_sorted(repo: OrderRepository) -> None:
    repo.add_order(limit("gb-1", quantity="1"))
    assert repo.last_trade_id() == 0
    assert repo.fills() == []

    for trade_id in (30, 10, 20):
        assert repo.add_fill(fill(trade_id, "gb-1"))
    assert not repo.add_fill(fill(20, "gb-1", quantity="0.5"))  # a replay changes nothing

    stored = repo.fills()
    assert [f.trade_id for f in stored] == [10, 20, 30]
    assert stored == [fill(10, "gb-1"), fill(20, "gb-1"), fill(30, "gb-1")]
    assert [repr(f) for f in stored] == [repr(fill(t, "gb-1")) for t in (10, 20, 30)]
    assert repo.last_trade_id() == 30


def test_settled_trade_id_ignores_fills_near_the_newest(repo: OrderRepository) -> None:
    repo.add_order(limit("gb-1", quantity="1"))
    assert repo.settled_trade_id(600_000) == 0
    # (trade id, time): ids out of time order, as when an answer overtakes the stream.
    for trade_id, at in ((5, 0), (9, 100_000), (7, 650_000), (12, 700_000), (11, 1_000_000)):
        assert repo.add_fill(fill(trade_id, "gb-1")._replace(timestamp=T0 + at))
    # Newest fill at +1,000,000: settled are the fills at or before +400,000.
    assert repo.settled_trade_id(600_000) == 9
    assert repo.settled_trade_id(0) == 12
    assert repo.settled_trade_id(2_000_000) == 0


def test_large_trade_ids_fit(repo: OrderRepository) -> None:
    repo.add_order(limit("gb-1", quantity="1"))
    big = 9_007_199_254_740_993  # above 2**53: no float would hold it

    assert repo.add_fill(fill(big, "gb-1"))

    assert repo.last_trade_id() == big
    assert repo.fills()[0].trade_id == big


# ------------------------------------------------------------------------ funding
def test_funding_is_recorded_once_per_symbol_and_time(repo: OrderRepository) -> None:
    assert repo.add_funding(funding(T0 + 8 * 3_600_000))
    assert repo.add_funding(funding(T0))
    assert repo.add_funding(funding(T0, symbol="ETHUSDT"))
    assert not repo.add_funding(funding(T0, amount="-99"))

    payments = repo.funding_payments()
    assert payments == [funding(T0), funding(T0, symbol="ETHUSDT"), funding(T0 + 8 * 3_600_000)]
    assert str(payments[0].amount) == "-0.01250000"


# ------------------------------------------------------------------ state, reports
def test_state_is_upserted(repo: OrderRepository) -> None:
    assert repo.load_state("strategy") is None

    repo.save_state("strategy", '{"centre": "42000.10"}')
    repo.save_state("strategy", '{"centre": "43000.00"}')
    repo.save_state("other", "x")

    assert repo.load_state("strategy") == '{"centre": "43000.00"}'
    assert repo.load_state("other") == "x"


def test_reports_are_appended(backend: Backend) -> None:
    repo = backend.repo
    repo.save_report("reconciliation", T0, '{"ok": true}')
    repo.save_report("reconciliation", T0, '{"ok": true}')
    repo.save_report("run", T0 + 1, "{}")

    assert backend.reports() == [
        ("reconciliation", T0, '{"ok": true}'),
        ("reconciliation", T0, '{"ok": true}'),
        ("run", T0 + 1, "{}"),
    ]


def test_committed_unit_of_work_is_visible(backend: Backend) -> None:
    with backend.unit_of_work() as uow:
        uow.orders.add_order(limit("gb-1"))
        uow.orders.add_fill(fill(1, "gb-1"))
        uow.commit()

    assert backend.repo.order_ids() == ["gb-1"]
    assert backend.repo.last_trade_id() == 1


def test_transaction_block_lands_together(repo: OrderRepository) -> None:
    with repo.transaction():
        order = limit("gb-1")
        repo.add_order(order)
        accept(repo, order)
        with repo.transaction():  # a nested block joins the outer one
            book_fill(repo, order, fill(1, "gb-1"))
        repo.save_state("strategy", "{}")

    stored = repo.get_order("gb-1")
    assert stored is not None and state(stored) == state(order)
    assert repo.fills() == [fill(1, "gb-1")]
    assert repo.load_state("strategy") == "{}"


# ------------------------------------------------------------- durable journals only
def test_transaction_that_raises_leaves_nothing(durable: Backend) -> None:
    repo: OrderRepository = durable.repo
    repo.add_order(limit("gb-0"))

    with pytest.raises(RuntimeError, match="crash"), repo.transaction():
        order = limit("gb-1")
        repo.add_order(order)
        accept(repo, order)
        book_fill(repo, order, fill(1, "gb-1"))
        repo.save_state("strategy", "{}")
        raise RuntimeError("crash")

    assert repo.order_ids() == ["gb-0"]
    assert repo.fills() == []
    assert repo.load_state("strategy") is None


def test_unit_of_work_without_commit_rolls_back(durable: Backend) -> None:
    with durable.unit_of_work() as uow:
        uow.orders.add_order(limit("gb-1"))
        uow.orders.add_fill(fill(1, "gb-1"))
        uow.orders.save_state("k", "v")
        assert uow.orders.order_ids() == ["gb-1"]  # visible inside its own transaction

    repo = durable.repo
    assert (repo.order_ids(), repo.fills(), repo.load_state("k")) == ([], [], None)


def test_batch_rolls_back_everything_on_error(durable: Backend) -> None:
    journal: SqlJournal = durable.repo
    journal.add_order(limit("gb-0"))

    with pytest.raises(RuntimeError, match="boom"), journal.batch():
        order = limit("gb-1")
        journal.add_order(order)
        accept(journal, order)
        book_fill(journal, order, fill(5, "gb-1"))
        assert not journal.add_fill(fill(5, "gb-1"))  # a duplicate does not spoil the batch
        journal.add_funding(funding(T0))
        journal.save_state("k", "v")
        journal.save_report("r", T0, "{}")
        raise RuntimeError("boom")

    assert journal.order_ids() == ["gb-0"]
    assert journal.fills() == []
    assert journal.funding_payments() == []
    assert journal.load_state("k") is None
    assert journal.reports() == []
    assert journal.order_events("gb-1") == []


def test_records_survive_a_new_engine(durable: Backend) -> None:
    assert durable.reopen is not None
    journal: SqlJournal = durable.repo
    order = limit("gb-1")
    journal.add_order(order)
    accept(journal, order)
    book_fill(journal, order, fill(3, "gb-1"))
    journal.add_funding(funding(T0))
    journal.save_state("strategy", "{}")

    again: SqlJournal = durable.reopen()

    assert [state(o) for o in again.open_orders()] == [state(order)]
    assert again.fills() == [fill(3, "gb-1")]
    assert again.funding_payments() == [funding(T0)]
    assert again.load_state("strategy") == "{}"
    assert [kind for kind, _ in again.order_events("gb-1")] == ["OrderAccepted", "OrderFilled"]
