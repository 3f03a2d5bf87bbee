"""ExecutionService: commands out, events in, with a hand-written exchange fake.

The fake records every request and answers from a script of event lists, so each test states
exactly what the venue says and in which order. No mocking library: the architecture rule is
that application code is unit-tested against hand-written fakes of its ports.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

import pytest

from adapters.memory.repository import InMemoryOrderRepository
from adapters.memory.sinks import RecordingSink
from application.execution import ExecutionService, UnknownOrderEvent
from application.ports.exchange import AccountSnapshot, OrderRequest, OrderSnapshot
from bootstrap.instruments import builtin_instrument
from domain.account import AccountProjection
from domain.client_ids import ClientOrderIdSequence, client_order_id, parse_sequence
from domain.commands import CancelAllOrders, CancelOrder, Command, ModifyOrder, PlaceOrder
from domain.enums import Liquidity, MarketType, OrderType, Side, TimeInForce
from domain.events import (
    CancelRejected,
    ExecutionEvent,
    FundingPaid,
    ModifyRejected,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderModified,
    OrderRejected,
    RejectReason,
)
from domain.instruments import Instrument
from domain.orders import Fill, Order, OrderStatus

D = Decimal
ZERO = D(0)
SYMBOL = "BTCUSDT"
PREFIX = "gb"
NOW = 1_700_000_000_000
FUT = builtin_instrument(MarketType.USDM_FUTURES, SYMBOL)
SPOT = builtin_instrument(MarketType.SPOT, SYMBOL)
BUY, SELL = Side.BUY, Side.SELL
MAKER, TAKER = Liquidity.MAKER, Liquidity.TAKER
S = OrderStatus


# --------------------------------------------------------------------------- fakes
class FakeClock:
    """A clock that never moves."""

    def __init__(self, now: int = NOW) -> None:
        self.now = now

    def now_ms(self) -> int:
        return self.now


class FakeExchange:
    """Hand-written ExchangePort.

    Every call is recorded. State-changing calls answer with the next event list queued in
    ``script``; with an empty script a new order is acknowledged (``auto_accept``) and every
    other call answers nothing. ``on_place`` runs inside ``place_order`` before it answers.
    """

    def __init__(self, instrument: Instrument, auto_accept: bool = True) -> None:
        self._instrument = instrument
        self.auto_accept = auto_accept
        self.script: deque[list[ExecutionEvent]] = deque()
        self.on_place: Callable[[OrderRequest], None] | None = None
        self.requests: list[OrderRequest] = []
        self.cancels: list[tuple[str, str]] = []
        self.cancel_alls: list[str] = []
        self.modifies: list[tuple[str, str, Decimal, Decimal]] = []
        self.replaces: list[tuple[str, str, str, Decimal, Decimal]] = []
        self.snapshots: dict[str, OrderSnapshot] = {}
        self.fills: list[Fill] = []
        self._next_exchange_id = 1000

    def then(self, *answers: Iterable[ExecutionEvent]) -> FakeExchange:
        """Queue the answers of the next state-changing calls, in call order."""
        self.script.extend(list(a) for a in answers)
        return self

    def _answer(self) -> list[ExecutionEvent]:
        return self.script.popleft() if self.script else []

    # ExchangePort -------------------------------------------------------------------
    def instrument(self, symbol: str) -> Instrument:
        assert symbol == self._instrument.symbol
        return self._instrument

    def place_order(self, request: OrderRequest) -> list[ExecutionEvent]:
        if self.on_place is not None:
            self.on_place(request)
        self.requests.append(request)
        if self.script or not self.auto_accept:
            return self._answer()
        self._next_exchange_id += 1
        return [OrderAccepted(request.client_order_id, self._next_exchange_id, NOW)]

    def modify_order(
        self, symbol: str, client_order_id: str, price: Decimal, quantity: Decimal
    ) -> list[ExecutionEvent]:
        self.modifies.append((symbol, client_order_id, price, quantity))
        return self._answer()

    def replace_order(
        self,
        symbol: str,
        client_order_id: str,
        new_client_order_id: str,
        price: Decimal,
        quantity: Decimal,
    ) -> list[ExecutionEvent]:
        self.replaces.append((symbol, client_order_id, new_client_order_id, price, quantity))
        return self._answer()

    def cancel_order(self, symbol: str, client_order_id: str) -> list[ExecutionEvent]:
        self.cancels.append((symbol, client_order_id))
        return self._answer()

    def cancel_all_orders(self, symbol: str) -> list[ExecutionEvent]:
        self.cancel_alls.append(symbol)
        return self._answer()

    def query_order(self, symbol: str, client_order_id: str) -> OrderSnapshot | None:
        return self.snapshots.get(client_order_id)

    def open_orders(self, symbol: str) -> list[OrderSnapshot]:
        return [s for s in self.snapshots.values() if s.status.is_open]

    def account(self) -> AccountSnapshot:
        return AccountSnapshot({"USDT": (D("10000"), ZERO)})

    def trades_since(self, symbol: str, after_trade_id: int) -> list[Fill]:
        return [f for f in self.fills if f.trade_id > after_trade_id]


@dataclass
class Rig:
    exchange: FakeExchange
    repo: InMemoryOrderRepository
    sink: RecordingSink
    account: AccountProjection
    clock: FakeClock
    service: ExecutionService

    def place(
        self,
        side: Side = BUY,
        qty: str = "0.010",
        price: str | None = "50000",
        order_type: OrderType = OrderType.LIMIT,
        tif: TimeInForce | None = TimeInForce.GTC,
        tag: str = "t",
    ) -> list[tuple[ExecutionEvent, Order | None]]:
        command = PlaceOrder(
            SYMBOL,
            side,
            order_type,
            D(qty),
            None if price is None else D(price),
            tif,
            tag=tag,
        )
        return self.service.execute([command])

    def order(self, cid: str) -> Order:
        order = self.repo.get_order(cid)
        assert order is not None
        return order


def make_rig(
    instrument: Instrument = FUT,
    cash: str = "10000",
    base: str = "0",
    next_sequence: int = 0,
    auto_accept: bool = True,
) -> Rig:
    exchange = FakeExchange(instrument, auto_accept=auto_accept)
    repo = InMemoryOrderRepository()
    sink = RecordingSink()
    account = AccountProjection(instrument, D(cash), D(base), D("50000"))
    clock = FakeClock()
    service = ExecutionService(
        exchange,
        instrument,
        account,
        ClientOrderIdSequence(PREFIX, next_sequence),
        repo,
        sink,
        clock,
    )
    return Rig(exchange, repo, sink, account, clock, service)


@pytest.fixture
def rig() -> Rig:
    return make_rig()


def cid(n: int) -> str:
    return client_order_id(PREFIX, n)


def fill(
    order_cid: str,
    trade_id: int,
    qty: str = "0.010",
    price: str = "50000",
    side: Side = BUY,
    fee: str = "0.1",
    fee_asset: str = "USDT",
    liquidity: Liquidity = MAKER,
) -> OrderFilled:
    return OrderFilled(
        Fill(trade_id, order_cid, side, D(qty), D(price), D(fee), fee_asset, liquidity, NOW + 1)
    )


def statuses(produced: list[tuple[ExecutionEvent, Order | None]]) -> list[OrderStatus | None]:
    return [None if o is None else o.status for _, o in produced]


# ------------------------------------------------------------------------ placing
def test_order_is_journaled_pending_new_before_the_exchange_sees_the_request(rig: Rig) -> None:
    seen: list[str] = []

    def check(request: OrderRequest) -> None:
        recorded = rig.repo.get_order(request.client_order_id)
        assert recorded is not None, "request left before the intent was journaled"
        assert recorded.status is S.PENDING_NEW
        assert recorded.exchange_order_id is None
        assert rig.repo.order_ids() == [request.client_order_id]
        assert request.client_order_id in rig.service.open_orders
        seen.append(request.client_order_id)

    rig.exchange.on_place = check
    rig.place()
    assert seen == [cid(0)]
    assert rig.order(cid(0)).status is S.NEW


def test_request_carries_the_command_and_a_submit_record_is_emitted(rig: Rig) -> None:
    command = PlaceOrder(
        SYMBOL,
        SELL,
        OrderType.STOP_MARKET,
        D("0.005"),
        None,
        None,
        stop_price=D("48000"),
        reduce_only=True,
        tag="stop",
    )
    rig.service.execute([command])
    assert rig.exchange.requests == [
        OrderRequest(
            cid(0), SYMBOL, SELL, OrderType.STOP_MARKET, D("0.005"), None, None, D("48000"), True
        )
    ]
    order = rig.order(cid(0))
    assert (order.tag, order.stop_price, order.reduce_only) == ("stop", D("48000"), True)
    assert rig.sink.records[0] == (
        "order.submit",
        NOW,
        {
            "client_order_id": cid(0),
            "side": "SELL",
            "type": "STOP_MARKET",
            "quantity": D("0.005"),
            "price": None,
            "stop_price": D("48000"),
            "tag": "stop",
        },
    )
    assert rig.service.stats.orders_placed == 1


def test_client_ids_are_deterministic_prefixed_and_increasing() -> None:
    first = make_rig()
    second = make_rig()
    for r in (first, second):
        for _ in range(40):
            r.place()
    ids = [req.client_order_id for req in first.exchange.requests]
    assert ids == [req.client_order_id for req in second.exchange.requests]
    assert ids == [cid(n) for n in range(40)]
    assert all(i.startswith(PREFIX + "-") for i in ids)
    sequences = [parse_sequence(PREFIX, i) for i in ids]
    assert sequences == sorted(sequences) == list(range(40))
    assert first.repo.order_ids() == ids


def test_client_ids_resume_after_the_journaled_sequence() -> None:
    r = make_rig(next_sequence=36)
    r.place()
    r.place()
    assert [q.client_order_id for q in r.exchange.requests] == ["gb-10", "gb-11"]


def test_accepted_order_is_new_and_listed_as_open(rig: Rig) -> None:
    produced = rig.place()
    order = rig.order(cid(0))
    assert produced == [(OrderAccepted(cid(0), 1001, NOW), order)]
    assert order.status is S.NEW
    assert order.exchange_order_id == 1001
    assert dict(rig.service.open_orders) == {cid(0): order}


def test_order_without_ack_stays_pending_new_and_open() -> None:
    r = make_rig(auto_accept=False)
    assert r.place() == []
    assert r.order(cid(0)).status is S.PENDING_NEW
    assert cid(0) in r.service.open_orders


def test_rejected_order_is_closed_counted_and_reported(rig: Rig) -> None:
    rejection = OrderRejected(
        cid(0), RejectReason.INSUFFICIENT_MARGIN, -2019, "Margin is insufficient.", NOW + 5
    )
    rig.exchange.then([rejection])
    produced = rig.place()
    order = rig.order(cid(0))
    assert produced == [(rejection, order)]
    assert order.status is S.REJECTED
    assert cid(0) not in rig.service.open_orders
    assert rig.service.stats.rejects == 1
    assert rig.sink.named("order.rejected") == [
        {
            "client_order_id": cid(0),
            "code": -2019,
            "reason": "INSUFFICIENT_MARGIN",
            "message": "Margin is insufficient.",
        }
    ]
    assert [r[1] for r in rig.sink.records if r[0] == "order.rejected"] == [NOW + 5]


# -------------------------------------------------------------------------- fills
def test_fill_updates_account_repository_stats_and_sink(rig: Rig) -> None:
    rig.place()
    event = fill(cid(0), 7, qty="0.010", price="50000", fee="0.1")
    produced = rig.service.apply([event])
    order = rig.order(cid(0))
    assert produced == [(event, order)]
    assert order.status is S.FILLED
    assert order.executed_quantity == D("0.010")
    assert cid(0) not in rig.service.open_orders
    assert rig.repo.fills() == [event.fill]
    account = rig.account
    assert account.position.quantity == D("0.010")
    assert account.position.entry_price == D("50000")
    assert account.cash == D("10000") - D("0.1")
    assert account.fees_quote == D("0.1")
    assert rig.service.stats.fills == 1
    [record] = rig.sink.named("fill")
    assert record["trade_id"] == 7
    assert record["quantity"] == D("0.010")
    assert record["liquidity"] == "MAKER"
    assert record["realized_pnl"] == ZERO


def test_closing_fill_books_realized_pnl(rig: Rig) -> None:
    rig.place(BUY, "0.010", "50000")
    rig.place(SELL, "0.010", "51000")
    rig.service.apply([fill(cid(0), 1), fill(cid(1), 2, price="51000", side=SELL)])
    assert rig.account.position.is_flat
    assert rig.account.position.realized_pnl == D("10")
    assert rig.account.cash == D("10000") + D("10") - D("0.2")
    assert [r["realized_pnl"] for r in rig.sink.named("fill")] == [ZERO, D("10")]


def test_spot_fill_with_base_commission_updates_cash_and_inventory() -> None:
    r = make_rig(SPOT, cash="1000")
    r.place(BUY, "0.01", "50000")
    r.service.apply([fill(cid(0), 3, "0.01", fee="0.00001", fee_asset="BTC")])
    assert r.account.cash == D("500")
    assert r.account.base_balance == D("0.00999")
    assert r.account.fees_quote == D("0.5")


def test_duplicate_fill_is_applied_once(rig: Rig) -> None:
    rig.place()
    event = fill(cid(0), 9, qty="0.004")
    assert len(rig.service.apply([event])) == 1
    # A repeated trade id (REST and WebSocket both report it) is neither booked nor handed to
    # the strategy again: a strategy answering it would place a second take-profit.
    assert rig.service.apply([event]) == []
    assert rig.service.apply([fill(cid(0), 9, qty="0.004")]) == []
    order = rig.order(cid(0))
    assert order.executed_quantity == D("0.004")
    assert order.status is S.PARTIALLY_FILLED
    assert rig.repo.fills() == [event.fill]
    assert rig.account.position.quantity == D("0.004")
    assert rig.account.fees_quote == D("0.1")
    assert rig.service.stats.fills == 1
    assert len(rig.sink.named("fill")) == 1


def test_partial_then_full_fill(rig: Rig) -> None:
    rig.place(qty="0.010")
    first = rig.service.apply([fill(cid(0), 1, qty="0.003", price="50000")])
    assert statuses(first) == [S.PARTIALLY_FILLED]
    assert cid(0) in rig.service.open_orders
    assert rig.order(cid(0)).remaining_quantity == D("0.007")
    second = rig.service.apply([fill(cid(0), 2, qty="0.007", price="49990")])
    assert statuses(second) == [S.FILLED]
    order = rig.order(cid(0))
    assert order.executed_quantity == D("0.010")
    assert order.executed_quote == D("0.003") * D("50000") + D("0.007") * D("49990")
    assert cid(0) not in rig.service.open_orders
    assert rig.account.position.quantity == D("0.010")
    assert rig.service.stats.fills == 2
    assert [f.trade_id for f in rig.repo.fills()] == [1, 2]


def test_immediate_fill_answered_with_the_ack(rig: Rig) -> None:
    rig.exchange.then([OrderAccepted(cid(0), 55, NOW), fill(cid(0), 1, liquidity=TAKER)])
    produced = rig.place(price="50100")
    assert statuses(produced) == [S.FILLED, S.FILLED]  # the same order object, now filled
    assert [type(e) for e, _ in produced] == [OrderAccepted, OrderFilled]
    assert rig.service.stats.taker_fills == 1
    assert rig.service.open_orders == {}


def test_fill_reported_before_the_ack(rig: Rig) -> None:
    rig.exchange.then([fill(cid(0), 1, liquidity=TAKER), OrderAccepted(cid(0), 77, NOW)])
    rig.place()
    order = rig.order(cid(0))
    assert order.status is S.FILLED
    assert order.exchange_order_id == 77


def test_maker_and_taker_counters(rig: Rig) -> None:
    for _ in range(3):
        rig.place(qty="0.002")
    rig.service.apply(
        [
            fill(cid(0), 1, qty="0.002", liquidity=MAKER),
            fill(cid(1), 2, qty="0.001", liquidity=TAKER),
            fill(cid(1), 3, qty="0.001", liquidity=MAKER),
            fill(cid(2), 4, qty="0.002", liquidity=TAKER),
            fill(cid(2), 4, qty="0.002", liquidity=TAKER),  # duplicate, not counted
        ]
    )
    stats = rig.service.stats
    assert (stats.fills, stats.maker_fills, stats.taker_fills) == (4, 2, 2)
    assert stats.fills == stats.maker_fills + stats.taker_fills


# ------------------------------------------------------------------------ cancels
def test_cancel_goes_pending_cancel_then_canceled(rig: Rig) -> None:
    rig.place()
    assert rig.service.execute([CancelOrder(cid(0))]) == []
    order = rig.order(cid(0))
    assert order.status is S.PENDING_CANCEL
    assert cid(0) in rig.service.open_orders
    assert rig.exchange.cancels == [(SYMBOL, cid(0))]
    assert rig.service.stats.cancels == 1
    assert rig.sink.named("order.cancel") == [{"client_order_id": cid(0)}]
    produced = rig.service.apply([OrderCanceled(cid(0), NOW + 3)])
    assert statuses(produced) == [S.CANCELED]
    assert cid(0) not in rig.service.open_orders
    assert rig.sink.named("order.canceled") == [{"client_order_id": cid(0)}]


def test_cancel_acknowledged_synchronously(rig: Rig) -> None:
    rig.place()
    rig.exchange.then([OrderCanceled(cid(0), NOW)])
    produced = rig.service.execute([CancelOrder(cid(0))])
    assert statuses(produced) == [S.CANCELED]
    assert rig.service.open_orders == {}


def test_cancel_rejected_after_a_fill_completed_the_order_stays_filled(rig: Rig) -> None:
    rig.place()
    rig.service.execute([CancelOrder(cid(0))])
    rig.service.apply([fill(cid(0), 1)])
    assert rig.order(cid(0)).status is S.FILLED
    rejected = CancelRejected(cid(0), RejectReason.UNKNOWN_ORDER, -2011, "Unknown order sent.", 0)
    produced = rig.service.apply([rejected])
    assert produced == [(rejected, rig.order(cid(0)))]
    assert rig.order(cid(0)).status is S.FILLED
    assert rig.service.open_orders == {}
    assert rig.account.position.quantity == D("0.010")


@pytest.mark.parametrize(("filled", "expected"), [(None, S.NEW), ("0.004", S.PARTIALLY_FILLED)])
def test_cancel_rejected_while_pending_resumes_the_order(
    rig: Rig, filled: str | None, expected: OrderStatus
) -> None:
    rig.place()
    if filled:
        rig.service.apply([fill(cid(0), 1, qty=filled)])
    rejected = CancelRejected(cid(0), RejectReason.UNKNOWN_ORDER, -2011, "Unknown order sent.", 0)
    rig.exchange.then([rejected])
    rig.service.execute([CancelOrder(cid(0))])
    assert rig.order(cid(0)).status is expected
    assert cid(0) in rig.service.open_orders


def test_cancel_of_an_unknown_client_id_is_a_no_op(rig: Rig) -> None:
    rig.place()
    assert rig.service.execute([CancelOrder("gb-zz"), CancelOrder("other-1")]) == []
    assert rig.exchange.cancels == []
    assert rig.service.stats.cancels == 0
    assert rig.order(cid(0)).status is S.NEW


def test_cancel_of_a_closed_order_is_a_no_op(rig: Rig) -> None:
    rig.place()
    rig.service.apply([fill(cid(0), 1)])
    assert rig.service.execute([CancelOrder(cid(0))]) == []
    assert rig.exchange.cancels == []


def test_cancel_all_marks_every_open_order_and_sends_one_request(rig: Rig) -> None:
    for _ in range(3):
        rig.place()
    rig.service.apply([fill(cid(1), 1, qty="0.004")])
    assert rig.service.execute([CancelAllOrders(SYMBOL)]) == []
    assert rig.exchange.cancel_alls == [SYMBOL]
    assert rig.exchange.cancels == []
    assert [rig.order(cid(n)).status for n in range(3)] == [S.PENDING_CANCEL] * 3
    assert rig.service.stats.cancels == 3
    assert rig.sink.named("order.cancel_all") == [{"symbol": SYMBOL, "open": 3}]
    produced = rig.service.apply([OrderCanceled(cid(n), NOW) for n in range(3)])
    assert statuses(produced) == [S.CANCELED] * 3
    assert rig.order(cid(1)).executed_quantity == D("0.004")
    assert rig.service.open_orders == {}


def test_cancel_all_answered_synchronously(rig: Rig) -> None:
    rig.place()
    rig.place()
    rig.exchange.then([OrderCanceled(cid(0), NOW), OrderCanceled(cid(1), NOW)])
    produced = rig.service.execute([CancelAllOrders(SYMBOL)])
    assert statuses(produced) == [S.CANCELED, S.CANCELED]
    assert rig.service.open_orders == {}


def test_cancel_of_an_unacknowledged_order_is_still_sent() -> None:
    r = make_rig(auto_accept=False)
    r.place()
    r.exchange.then([OrderCanceled(cid(0), NOW)])
    assert r.order(cid(0)).status is S.PENDING_NEW
    produced = r.service.execute([CancelOrder(cid(0))])
    assert r.exchange.cancels == [(SYMBOL, cid(0))]
    assert statuses(produced) == [S.CANCELED]
    assert r.service.open_orders == {}


def test_cancel_all_leaves_unacknowledged_orders_pending_new() -> None:
    r = make_rig(auto_accept=False)
    r.exchange.then([OrderAccepted(cid(0), 1, NOW)])
    r.place()
    r.place()  # no answer: stays PENDING_NEW
    r.service.execute([CancelAllOrders(SYMBOL)])
    assert [r.order(cid(n)).status for n in range(2)] == [S.PENDING_CANCEL, S.PENDING_NEW]
    assert r.exchange.cancel_alls == [SYMBOL]


def test_unsolicited_cancel_and_modify_rejections_change_nothing(rig: Rig) -> None:
    rig.place()
    cancel_rejected = CancelRejected(
        cid(0), RejectReason.UNKNOWN_ORDER, -2011, "Unknown order sent.", NOW
    )
    modify_rejected = ModifyRejected(
        cid(0), RejectReason.UNKNOWN_ORDER, -2013, "Order does not exist.", NOW
    )
    produced = rig.service.apply([cancel_rejected, modify_rejected])
    assert statuses(produced) == [S.NEW, S.NEW]
    assert cid(0) in rig.service.open_orders


def test_late_fill_after_cancel_is_applied_and_counted(rig: Rig) -> None:
    rig.place(qty="0.010")
    rig.service.execute([CancelOrder(cid(0))])
    late = fill(cid(0), 42, qty="0.003", liquidity=TAKER)
    produced = rig.service.apply([OrderCanceled(cid(0), NOW), late])
    order = rig.order(cid(0))
    assert produced == [(OrderCanceled(cid(0), NOW), order), (late, order)]
    assert order.status is S.CANCELED
    assert order.executed_quantity == D("0.003")
    assert cid(0) not in rig.service.open_orders
    assert rig.repo.fills() == [late.fill]
    assert rig.account.position.quantity == D("0.003")
    assert (rig.service.stats.fills, rig.service.stats.taker_fills) == (1, 1)


def test_late_fill_completing_a_canceled_order_makes_it_filled(rig: Rig) -> None:
    rig.place(qty="0.010")
    rig.service.apply([OrderCanceled(cid(0), NOW), fill(cid(0), 1, qty="0.010")])
    assert rig.order(cid(0)).status is S.FILLED


@pytest.mark.parametrize(("in_match", "expected"), [(False, S.EXPIRED), (True, S.EXPIRED_IN_MATCH)])
def test_expired_order_is_closed(rig: Rig, in_match: bool, expected: OrderStatus) -> None:
    rig.place()
    produced = rig.service.apply([OrderExpired(cid(0), NOW, in_match)])
    assert statuses(produced) == [expected]
    assert rig.service.open_orders == {}
    assert rig.sink.named("order.expired") == [{"client_order_id": cid(0)}]


# ------------------------------------------------------------------------ modifies
def test_modify_goes_pending_then_takes_the_new_price_and_quantity(rig: Rig) -> None:
    rig.place(qty="0.010", price="50000")
    assert rig.service.execute([ModifyOrder(cid(0), D("49900"), D("0.020"))]) == []
    order = rig.order(cid(0))
    assert order.status is S.PENDING_MODIFY
    assert (order.price, order.quantity) == (D("50000"), D("0.010"))
    assert rig.exchange.modifies == [(SYMBOL, cid(0), D("49900"), D("0.020"))]
    assert rig.service.stats.modifies == 1
    assert rig.sink.named("order.modify") == [
        {"client_order_id": cid(0), "price": D("49900"), "quantity": D("0.020")}
    ]
    rig.service.apply([OrderModified(cid(0), D("49900"), D("0.020"), NOW)])
    assert order.status is S.NEW
    assert (order.price, order.quantity) == (D("49900"), D("0.020"))
    assert cid(0) in rig.service.open_orders


def test_modify_of_partially_filled_order_resumes_partially_filled(rig: Rig) -> None:
    rig.place(qty="0.010")
    rig.service.apply([fill(cid(0), 1, qty="0.004")])
    rig.exchange.then([OrderModified(cid(0), D("49800"), D("0.008"), NOW)])
    produced = rig.service.execute([ModifyOrder(cid(0), D("49800"), D("0.008"))])
    order = rig.order(cid(0))
    assert statuses(produced) == [S.PARTIALLY_FILLED]
    assert order.remaining_quantity == D("0.004")


@pytest.mark.parametrize(("filled", "expected"), [(None, S.NEW), ("0.004", S.PARTIALLY_FILLED)])
def test_modify_rejected_restores_the_order(
    rig: Rig, filled: str | None, expected: OrderStatus
) -> None:
    rig.place(qty="0.010", price="50000")
    if filled:
        rig.service.apply([fill(cid(0), 1, qty=filled)])
    rejected = ModifyRejected(
        cid(0), RejectReason.INVALID_REQUEST, -5027, "No need to modify the order.", NOW
    )
    rig.exchange.then([rejected])
    produced = rig.service.execute([ModifyOrder(cid(0), D("49000"), D("0.010"))])
    order = rig.order(cid(0))
    assert produced == [(rejected, order)]
    assert order.status is expected
    assert (order.price, order.quantity) == (D("50000"), D("0.010"))
    assert cid(0) in rig.service.open_orders


def test_modify_rejected_after_the_order_filled_changes_nothing(rig: Rig) -> None:
    rig.place()
    rig.service.execute([ModifyOrder(cid(0), D("49000"), D("0.010"))])
    rig.service.apply([fill(cid(0), 1)])
    rejected = ModifyRejected(cid(0), RejectReason.UNKNOWN_ORDER, -2013, "Order does not exist.", 0)
    rig.service.apply([rejected])
    assert rig.order(cid(0)).status is S.FILLED


def test_spot_modify_is_a_replacement_under_a_fresh_client_id() -> None:
    # Binance spot modifies by cancel-replace: a new exchange order, so a new client id (one
    # id must never stand for two exchange orders; docs/validation/findings.md, entry 17).
    rig = make_rig(SPOT, base="1")
    rig.place(qty="0.010", price="50000", tif=TimeInForce.GTX, tag="grid:BUY:1")
    assert rig.service.execute([ModifyOrder(cid(0), D("49900"), D("0.020"))]) == []
    old, new = rig.order(cid(0)), rig.order(cid(1))
    assert rig.exchange.modifies == []
    assert rig.exchange.replaces == [(SYMBOL, cid(0), cid(1), D("49900"), D("0.020"))]
    assert (old.status, old.price, old.quantity) == (S.PENDING_CANCEL, D("50000"), D("0.010"))
    assert (new.status, new.price, new.quantity) == (S.PENDING_NEW, D("49900"), D("0.020"))
    assert (new.side, new.order_type, new.time_in_force, new.tag) == (
        BUY,
        OrderType.LIMIT,
        TimeInForce.GTX,
        "grid:BUY:1",
    )
    assert rig.service.stats.modifies == 1
    assert rig.sink.named("order.modify") == [
        {
            "client_order_id": cid(0),
            "price": D("49900"),
            "quantity": D("0.020"),
            "replaced_by": cid(1),
        }
    ]
    [submit] = [e for e in rig.sink.named("order.submit") if e["client_order_id"] == cid(1)]
    assert submit["replaces"] == cid(0) and submit["tag"] == "grid:BUY:1"
    produced = rig.service.apply([OrderCanceled(cid(0), NOW), OrderAccepted(cid(1), 2002, NOW)])
    assert statuses(produced) == [S.CANCELED, S.NEW]
    assert list(rig.service.open_orders) == [cid(1)]
    assert new.exchange_order_id == 2002


def test_spot_replacement_refused_leaves_the_old_order_or_its_cancel() -> None:
    rig = make_rig(SPOT, base="1")
    rig.place(qty="0.010", price="50000")
    rig.place(qty="0.010", price="49000")
    refused = CancelRejected(cid(0), RejectReason.UNKNOWN_ORDER, -2011, "Unknown order sent.", NOW)
    never = OrderRejected(cid(2), RejectReason.UNKNOWN_ORDER, -2011, "not placed", NOW)
    rig.exchange.then([refused, never])
    rig.service.execute([ModifyOrder(cid(0), D("49900"), D("0.010"))])
    assert (rig.order(cid(0)).status, rig.order(cid(2)).status) == (S.NEW, S.REJECTED)
    canceled = OrderCanceled(cid(1), NOW)
    funds = OrderRejected(cid(3), RejectReason.INSUFFICIENT_BALANCE, -2010, "balance", NOW)
    rig.exchange.then([canceled, funds])
    rig.service.execute([ModifyOrder(cid(1), D("48000"), D("0.020"))])
    assert (rig.order(cid(1)).status, rig.order(cid(3)).status) == (S.CANCELED, S.REJECTED)
    assert list(rig.service.open_orders) == [cid(0)]


def test_futures_modify_keeps_its_client_id(rig: Rig) -> None:
    rig.place(qty="0.010", price="50000")
    rig.service.execute([ModifyOrder(cid(0), D("49900"), D("0.020"))])
    assert rig.exchange.replaces == [] and rig.repo.get_order(cid(1)) is None
    assert rig.exchange.modifies == [(SYMBOL, cid(0), D("49900"), D("0.020"))]


def test_modify_of_unknown_order_is_a_no_op(rig: Rig) -> None:
    assert rig.service.execute([ModifyOrder("gb-zz", D("1"), D("1"))]) == []
    assert rig.exchange.modifies == []
    assert rig.service.stats.modifies == 0


# ------------------------------------------------------------------ other events
def test_funding_updates_cash_and_funding_and_has_no_order(rig: Rig) -> None:
    paid = FundingPaid(SYMBOL, D("-1.25"), D("0.0001"), D("50000"), D("0.25"), NOW)
    produced = rig.service.apply([paid])
    assert produced == [(paid, None)]
    assert rig.account.cash == D("10000") - D("1.25")
    assert rig.account.position.funding == D("-1.25")
    assert rig.sink.named("funding") == [
        {
            "amount": D("-1.25"),
            "rate": D("0.0001"),
            "mark_price": D("50000"),
            "position": D("0.25"),
        }
    ]


@pytest.mark.parametrize(
    "event",
    [
        OrderAccepted("gb-zz", 1, NOW),
        OrderCanceled("someone-else-1", NOW),
        fill("gb-zz", 1),
        CancelRejected("gb-zz", RejectReason.UNKNOWN_ORDER, -2011, "Unknown order sent.", 0),
    ],
)
def test_event_for_an_unknown_client_id_raises(rig: Rig, event: ExecutionEvent) -> None:
    with pytest.raises(UnknownOrderEvent):
        rig.service.apply([event])
    assert rig.repo.fills() == []
    assert rig.account.position.is_flat


def test_unknown_command_type_raises_type_error(rig: Rig) -> None:
    class Mystery:
        pass

    with pytest.raises(TypeError, match="unknown command"):
        rig.service.execute([Mystery()])  # type: ignore[list-item]
    assert rig.exchange.requests == []


def test_commands_run_in_order_and_results_are_concatenated(rig: Rig) -> None:
    rig.exchange.then(
        [OrderAccepted(cid(0), 1, NOW)],
        [OrderAccepted(cid(1), 2, NOW)],
        [OrderCanceled(cid(0), NOW)],
    )
    commands: list[Command] = [
        PlaceOrder(SYMBOL, BUY, OrderType.LIMIT, D("0.01"), D("49000"), TimeInForce.GTC),
        PlaceOrder(SYMBOL, SELL, OrderType.LIMIT, D("0.01"), D("51000"), TimeInForce.GTC),
        CancelOrder(cid(0)),
    ]
    produced = rig.service.execute(commands)
    assert [(type(e).__name__, e.client_order_id) for e, _ in produced] == [
        ("OrderAccepted", cid(0)),
        ("OrderAccepted", cid(1)),
        ("OrderCanceled", cid(0)),
    ]
    assert list(rig.service.open_orders) == [cid(1)]


def test_modify_while_an_answer_is_pending_is_skipped_and_reported() -> None:
    r = make_rig(auto_accept=False)
    r.place()
    assert r.service.execute([ModifyOrder(cid(0), D("49000"), D("0.010"))]) == []
    order = r.order(cid(0))
    assert order.status is OrderStatus.PENDING_NEW
    assert (order.price, order.quantity) == (D("50000"), D("0.010"))
    assert r.sink.named("order.modify_skipped") == [
        {"client_order_id": cid(0), "status": OrderStatus.PENDING_NEW}
    ]
    assert r.service.stats.modifies == 0


def test_risk_blocked_request_never_reaches_the_exchange() -> None:
    from domain.events import OrderRejected, RejectReason
    from domain.risk import PreTradeRisk, RiskLimits, RiskRule

    exchange = FakeExchange(FUT, auto_accept=True)
    repo = InMemoryOrderRepository()
    sink = RecordingSink()
    risk = PreTradeRisk(RiskLimits(max_leverage=D("1"), kill_switch=True), FUT)
    service = ExecutionService(
        exchange,
        FUT,
        AccountProjection(FUT, D("10000")),
        ClientOrderIdSequence(PREFIX),
        repo,
        sink,
        FakeClock(),
        risk,
    )
    service.mark_price = D("50000")
    command = PlaceOrder(SYMBOL, BUY, OrderType.LIMIT, D("0.010"), D("49000"), TimeInForce.GTC)
    produced = service.execute([command])
    assert exchange.requests == []
    ((event, order),) = produced
    assert isinstance(event, OrderRejected) and event.reason is RejectReason.RISK_BLOCKED
    assert order is not None and order.status is OrderStatus.REJECTED
    assert repo.get_order(order.client_order_id) is order  # journaled for the audit trail
    (block,) = sink.named("risk.block")
    assert block["rule"] is RiskRule.KILL_SWITCH
    assert service.stats.risk_blocks == 1 and service.stats.orders_placed == 0


def test_leverage_cap_blocks_only_orders_that_would_exceed_it() -> None:
    from domain.risk import PreTradeRisk, RiskLimits, RiskRule

    exchange = FakeExchange(FUT, auto_accept=True)
    sink = RecordingSink()
    risk = PreTradeRisk(RiskLimits(max_leverage=D("1")), FUT)
    service = ExecutionService(
        exchange,
        FUT,
        AccountProjection(FUT, D("1000")),
        ClientOrderIdSequence(PREFIX),
        InMemoryOrderRepository(),
        sink,
        FakeClock(),
        risk,
    )
    service.mark_price = D("50000")
    small = PlaceOrder(SYMBOL, BUY, OrderType.LIMIT, D("0.010"), D("49000"), TimeInForce.GTC)
    service.execute([small])  # 500 of worst-case exposure on 1000 equity: allowed
    assert len(exchange.requests) == 1
    service.execute([small, small])  # the second would take exposure to 1500 > 1000
    assert len(exchange.requests) == 2
    (block,) = sink.named("risk.block")
    assert block["rule"] is RiskRule.LEVERAGE


# ------------------------------------------------------------ the same event twice
def test_an_ack_the_stream_repeats_is_journaled_and_logged_once(rig: Rig) -> None:
    """Binance reports an acceptance in the REST answer and again on the user-data stream."""
    rig.place()
    recorded = rig.repo.events_recorded
    assert rig.service.apply([OrderAccepted(cid(0), 1001, NOW + 5)]) == []
    assert rig.repo.events_recorded == recorded
    assert len(rig.sink.named("order.accepted")) == 1
    assert rig.order(cid(0)).status is S.NEW


def test_a_cancel_the_stream_repeats_is_journaled_and_logged_once(rig: Rig) -> None:
    rig.place()
    rig.exchange.then([OrderCanceled(cid(0), NOW)])
    rig.service.execute([CancelOrder(cid(0))])
    recorded = rig.repo.events_recorded
    assert rig.service.apply([OrderCanceled(cid(0), NOW + 5)]) == []
    assert rig.repo.events_recorded == recorded
    assert len(rig.sink.named("order.canceled")) == 1
    assert rig.order(cid(0)).status is S.CANCELED


def test_a_modify_reported_after_the_cancel_changes_nothing(rig: Rig) -> None:
    """A stream report of an earlier modify arriving once the order is cancelled.

    Seen in the 72 h adaptive validation run (docs/validation/findings.md, entry 24): the
    engine died on ``InvalidTransition: order gridbot-2b: MODIFY is not allowed in status
    CANCELED``. The exchange's news is old: the order is closed, so nothing changes.
    """
    rig.place()
    rig.exchange.then([OrderCanceled(cid(0), NOW)])
    rig.service.execute([CancelOrder(cid(0))])
    recorded = rig.repo.events_recorded
    assert rig.service.apply([OrderModified(cid(0), D("49900"), D("0.020"), NOW + 5)]) == []
    assert rig.repo.events_recorded == recorded
    assert rig.sink.named("order.modified") == []
    assert rig.order(cid(0)).status is S.CANCELED


def test_an_ack_after_a_fill_that_came_first_is_still_journaled(rig: Rig) -> None:
    r = make_rig(auto_accept=False)
    r.place()
    r.service.apply([fill(cid(0), 7, qty="0.004")])
    recorded = r.repo.events_recorded
    produced = r.service.apply([OrderAccepted(cid(0), 1001, NOW + 5)])
    assert statuses(produced) == [S.PARTIALLY_FILLED]
    assert r.repo.events_recorded == recorded + 1
    assert r.order(cid(0)).exchange_order_id == 1001
