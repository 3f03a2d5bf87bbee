"""The in-memory order repository and unit of work used by backtests.

Covers the plain store (orders by client id in creation order, fills unique by trade id), the
optional retention bounds that keep long backtests' memory flat, and the unit of work.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.memory.repository import InMemoryOrderRepository, InMemoryUnitOfWork
from domain.enums import Liquidity, OrderType, Side, TimeInForce
from domain.events import FundingPaid, OrderAccepted, OrderCanceled
from domain.orders import Fill, Order, OrderStatus, OrderTrigger


def order(n: int) -> Order:
    return Order(
        f"gb-{n}",
        "BTCUSDT",
        Side.BUY,
        OrderType.LIMIT,
        Decimal("0.010"),
        Decimal("42000.0"),
        TimeInForce.GTC,
    )


def fill(trade_id: int, cid: str = "gb-0") -> Fill:
    return Fill(
        trade_id,
        cid,
        Side.BUY,
        Decimal("0.001"),
        Decimal("42000.0"),
        Decimal("0.0084"),
        "USDT",
        Liquidity.MAKER,
        1_704_067_200_000 + trade_id,
    )


def close(repo: InMemoryOrderRepository, o: Order) -> None:
    o.apply(OrderTrigger.ACCEPT, exchange_order_id=1)
    o.apply(OrderTrigger.CANCEL)
    assert o.status is OrderStatus.CANCELED
    repo.update_order(o)


# --------------------------------------------------------------------------- orders
def test_add_and_get_order() -> None:
    repo = InMemoryOrderRepository()
    o = order(1)

    repo.add_order(o)

    assert repo.get_order("gb-1") is o
    assert repo.get_order("gb-2") is None
    assert repo.order_ids() == ["gb-1"]


def test_order_ids_keep_creation_order() -> None:
    repo = InMemoryOrderRepository()
    for n in (5, 1, 3):
        repo.add_order(order(n))

    assert repo.order_ids() == ["gb-5", "gb-1", "gb-3"]


def test_duplicate_client_id_is_rejected() -> None:
    repo = InMemoryOrderRepository()
    first = order(1)
    repo.add_order(first)

    with pytest.raises(ValueError, match="client order id gb-1 already recorded"):
        repo.add_order(order(1))

    assert repo.get_order("gb-1") is first
    assert repo.order_ids() == ["gb-1"]


def test_update_keeps_the_stored_reference() -> None:
    repo = InMemoryOrderRepository()
    o = order(1)
    repo.add_order(o)

    o.apply(OrderTrigger.ACCEPT, exchange_order_id=77)
    repo.update_order(o)

    stored = repo.get_order("gb-1")
    assert stored is o
    assert stored.status is OrderStatus.NEW
    assert stored.exchange_order_id == 77


def test_update_of_unknown_order_raises_key_error() -> None:
    repo = InMemoryOrderRepository()
    repo.add_order(order(1))

    with pytest.raises(KeyError, match="gb-2"):
        repo.update_order(order(2))


def test_open_orders_are_the_non_terminal_ones_in_creation_order() -> None:
    repo = InMemoryOrderRepository()
    orders = [order(n) for n in range(4)]
    for o in orders:
        repo.add_order(o)
    close(repo, orders[1])
    orders[2].apply(OrderTrigger.ACCEPT)
    repo.update_order(orders[2])

    assert repo.open_orders() == [orders[0], orders[2], orders[3]]


def test_update_with_an_event_counts_it() -> None:
    repo = InMemoryOrderRepository()
    o = order(1)
    repo.add_order(o)

    o.apply(OrderTrigger.ACCEPT, exchange_order_id=5)
    repo.update_order(o, OrderAccepted("gb-1", 5, 1_000))
    repo.update_order(o)
    o.apply(OrderTrigger.CANCEL)
    repo.update_order(o, OrderCanceled("gb-1", 2_000))

    assert repo.events_recorded == 2
    assert repo.get_order("gb-1") is o


def test_update_of_unknown_order_with_event_counts_nothing() -> None:
    repo = InMemoryOrderRepository()

    with pytest.raises(KeyError):
        repo.update_order(order(1), OrderCanceled("gb-1", 2_000))

    assert repo.events_recorded == 0


def test_closed_orders_are_kept_without_retention() -> None:
    repo = InMemoryOrderRepository()
    orders = [order(n) for n in range(5)]
    for o in orders:
        repo.add_order(o)
        close(repo, o)

    assert repo.order_ids() == [f"gb-{n}" for n in range(5)]
    assert all(repo.get_order(o.client_order_id) is o for o in orders)


# --------------------------------------------------------------------------- fills
def test_fills_in_trade_id_order_and_unique_by_trade_id() -> None:
    repo = InMemoryOrderRepository()

    assert repo.add_fill(fill(3)) is True
    assert repo.add_fill(fill(1)) is True
    assert repo.add_fill(fill(3, cid="gb-9")) is False

    assert [f.trade_id for f in repo.fills()] == [1, 3]
    # The duplicate did not replace the first fill with that trade id.
    assert [f.client_order_id for f in repo.fills()] == ["gb-0", "gb-0"]


def test_last_trade_id_is_the_highest_ever_recorded() -> None:
    repo = InMemoryOrderRepository(retain_fills=1)
    assert repo.last_trade_id() == 0

    repo.add_fill(fill(7))
    repo.add_fill(fill(2))

    # Fill 7 was evicted by the retention bound, but its id is still the highest seen.
    assert [f.trade_id for f in repo.fills()] == [2]
    assert repo.last_trade_id() == 7


def test_fills_returns_a_copy() -> None:
    repo = InMemoryOrderRepository()
    repo.add_fill(fill(1))

    repo.fills().clear()

    assert len(repo.fills()) == 1


# --------------------------------------------------------------------------- retention
def test_retain_closed_keeps_only_the_two_most_recently_closed() -> None:
    repo = InMemoryOrderRepository(retain_closed=2)
    orders = [order(n) for n in range(6)]
    for o in orders:
        repo.add_order(o)

    # Close in an order different from creation: 3, 0, 4, 1. Orders 2 and 5 stay open.
    for n in (3, 0, 4, 1):
        close(repo, orders[n])

    assert repo.order_ids() == ["gb-1", "gb-2", "gb-4", "gb-5"]
    assert repo.get_order("gb-3") is None
    assert repo.get_order("gb-0") is None
    assert repo.get_order("gb-4") is orders[4]
    assert repo.get_order("gb-1") is orders[1]
    # Open orders are always kept, however many orders were closed after them.
    assert repo.get_order("gb-2") is orders[2]
    assert repo.get_order("gb-5") is orders[5]


def test_retain_closed_counts_each_order_once() -> None:
    """Updating an already-closed order again (a late fill) must not evict another one."""
    repo = InMemoryOrderRepository(retain_closed=2)
    a, b = order(1), order(2)
    for o in (a, b):
        repo.add_order(o)
        close(repo, o)

    repo.update_order(a)
    repo.update_order(a)

    assert repo.order_ids() == ["gb-1", "gb-2"]


def test_retain_closed_ignores_non_terminal_updates() -> None:
    repo = InMemoryOrderRepository(retain_closed=1)
    orders = [order(n) for n in range(3)]
    for o in orders:
        repo.add_order(o)
        o.apply(OrderTrigger.ACCEPT)
        repo.update_order(o)

    assert repo.order_ids() == ["gb-0", "gb-1", "gb-2"]


def test_retain_closed_zero_forgets_an_order_when_it_closes() -> None:
    repo = InMemoryOrderRepository(retain_closed=0)
    o = order(1)
    repo.add_order(o)

    close(repo, o)

    assert repo.get_order("gb-1") is None
    assert repo.order_ids() == []
    # The evicted id is no longer known: it could be recorded again (and updating fails).
    with pytest.raises(KeyError):
        repo.update_order(o)


def test_evicted_client_id_is_accepted_again() -> None:
    """Duplicate client-id detection only covers the retained window."""
    repo = InMemoryOrderRepository(retain_closed=1)
    for n in (1, 2):
        o = order(n)
        repo.add_order(o)
        close(repo, o)
    assert repo.get_order("gb-1") is None

    repo.add_order(order(1))

    assert repo.order_ids() == ["gb-2", "gb-1"]


def test_retain_fills_keeps_last_three_and_reaccepts_evicted_trade_ids() -> None:
    repo = InMemoryOrderRepository(retain_fills=3)
    for trade_id in range(1, 6):
        assert repo.add_fill(fill(trade_id)) is True

    assert [f.trade_id for f in repo.fills()] == [3, 4, 5]
    # Retained trade ids are still duplicates...
    assert repo.add_fill(fill(4)) is False
    assert [f.trade_id for f in repo.fills()] == [3, 4, 5]
    # ...but an evicted one is forgotten and accepted as new (documented window behaviour).
    assert repo.add_fill(fill(1)) is True
    assert [f.trade_id for f in repo.fills()] == [1, 4, 5]
    # Eviction follows arrival, not trade id: accepting trade 1 evicted trade 3 (the oldest
    # arrival), so trade 3 is accepted again too, which in turn evicts trade 4.
    assert repo.add_fill(fill(3)) is True
    assert [f.trade_id for f in repo.fills()] == [1, 3, 5]
    assert repo.last_trade_id() == 5


def test_retain_fills_zero_keeps_nothing() -> None:
    repo = InMemoryOrderRepository(retain_fills=0)

    assert repo.add_fill(fill(1)) is True
    assert repo.fills() == []
    assert repo.add_fill(fill(1)) is True


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"retain_closed": -1}, "retain_closed must be >= 0"),
        ({"retain_fills": -1}, "retain_fills must be >= 0"),
    ],
)
def test_negative_retention_is_rejected(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        InMemoryOrderRepository(**kwargs)


# --------------------------------------------------------------------------- funding, state
def funding(timestamp: int, symbol: str = "BTCUSDT", amount: str = "-0.42") -> FundingPaid:
    return FundingPaid(
        symbol, Decimal(amount), Decimal("0.0001"), Decimal("42000"), Decimal("0.1"), timestamp
    )


def test_funding_once_per_symbol_and_time_oldest_first() -> None:
    repo = InMemoryOrderRepository()
    later, earlier = funding(1_704_096_000_000), funding(1_704_067_200_000)

    assert repo.add_funding(later) is True
    assert repo.add_funding(earlier) is True
    assert repo.add_funding(funding(1_704_067_200_000, amount="9")) is False
    assert repo.add_funding(funding(1_704_067_200_000, symbol="ETHUSDT")) is True

    payments = repo.funding_payments()
    assert [p.timestamp for p in payments] == [1_704_067_200_000] * 2 + [1_704_096_000_000]
    assert earlier in payments and later in payments
    # The duplicate did not overwrite the first record.
    assert all(p.amount == Decimal("-0.42") for p in payments)


def test_state_records() -> None:
    repo = InMemoryOrderRepository()
    assert repo.load_state("grid") is None

    repo.save_state("grid", '{"center": "42000"}')
    repo.save_state("grid", '{"center": "43000"}')
    repo.save_state("ids", "17")

    assert repo.load_state("grid") == '{"center": "43000"}'
    assert repo.load_state("ids") == "17"


def test_reports_are_appended_in_order() -> None:
    repo = InMemoryOrderRepository()
    assert repo.reports == []

    repo.save_report("equity", 2_000, "10001")
    repo.save_report("equity", 1_000, "10000")

    assert repo.reports == [("equity", 2_000, "10001"), ("equity", 1_000, "10000")]


def test_transaction_applies_calls_immediately_and_does_not_undo_on_error() -> None:
    repo = InMemoryOrderRepository()

    with repo.transaction() as handle:
        assert handle is None
        repo.add_order(order(1))
        assert repo.order_ids() == ["gb-1"]  # visible inside the block already

    with pytest.raises(RuntimeError, match="boom"), repo.transaction():
        repo.add_fill(fill(9))
        raise RuntimeError("boom")

    # Nothing is buffered in memory, so an error inside the block discards nothing.
    assert repo.order_ids() == ["gb-1"]
    assert [f.trade_id for f in repo.fills()] == [9]


# --------------------------------------------------------------------------- unit of work
def test_unit_of_work_defaults_to_a_fresh_repository() -> None:
    uow = InMemoryUnitOfWork()

    assert isinstance(uow.orders, InMemoryOrderRepository)
    assert uow.orders.order_ids() == []
    assert uow.results == {}
    assert uow.committed is False
    assert InMemoryUnitOfWork().orders is not uow.orders


def test_unit_of_work_uses_the_given_repository() -> None:
    repo = InMemoryOrderRepository()

    assert InMemoryUnitOfWork(repo).orders is repo


def test_unit_of_work_commit_inside_the_block() -> None:
    uow = InMemoryUnitOfWork()
    rollbacks: list[bool] = []
    uow.rollback = lambda: rollbacks.append(True)  # type: ignore[method-assign]

    with uow as entered:
        assert entered is uow
        entered.orders.add_order(order(1))
        entered.commit()

    assert uow.committed is True
    assert rollbacks == []
    assert uow.orders.order_ids() == ["gb-1"]


def test_unit_of_work_rolls_back_without_commit() -> None:
    uow = InMemoryUnitOfWork()
    rollbacks: list[bool] = []
    uow.rollback = lambda: rollbacks.append(True)  # type: ignore[method-assign]

    with uow:
        uow.orders.add_order(order(1))

    assert uow.committed is False
    assert rollbacks == [True]
    # Nothing is buffered in memory, so the repository already holds the order.
    assert uow.orders.order_ids() == ["gb-1"]


def test_unit_of_work_rolls_back_on_exception_and_does_not_swallow_it() -> None:
    uow = InMemoryUnitOfWork()
    rollbacks: list[bool] = []
    uow.rollback = lambda: rollbacks.append(True)  # type: ignore[method-assign]

    with pytest.raises(RuntimeError, match="boom"), uow:
        raise RuntimeError("boom")

    assert rollbacks == [True]
    assert uow.committed is False


def test_entering_again_resets_the_committed_flag() -> None:
    uow = InMemoryUnitOfWork()
    with uow:
        uow.commit()
    assert uow.committed is True

    with uow:
        assert uow.committed is False

    assert uow.committed is False


def test_real_rollback_is_a_no_op() -> None:
    uow = InMemoryUnitOfWork()
    uow.orders.add_order(order(1))
    uow.save_result("report", {"fills": 1})

    uow.rollback()

    assert uow.orders.order_ids() == ["gb-1"]
    assert uow.results == {"report": {"fills": 1}}


def test_save_result_stores_and_overwrites() -> None:
    uow = InMemoryUnitOfWork()

    uow.save_result("report", {"fills": 1})
    uow.save_result("equity", Decimal("10000"))
    uow.save_result("report", {"fills": 2})

    assert uow.results == {"report": {"fills": 2}, "equity": Decimal("10000")}
