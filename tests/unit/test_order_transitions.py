"""Order lifecycle: every (status, trigger) pair, fills, idempotency and a random-event property."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.enums import Liquidity, OrderType, Side, TimeInForce
from domain.errors import InvalidTransition, OverfillError
from domain.orders import TRANSITIONS, Fill, Order, OrderStatus, OrderTrigger

S = OrderStatus
T = OrderTrigger
OPEN = "OPEN"  # resume marker: NEW when nothing executed, PARTIALLY_FILLED otherwise
QTY = Decimal("1")
PRICE = Decimal("100")
CID = "gb-1"

# Independent copy of the lifecycle table. TRANSITIONS must equal it, so any change to the
# lifecycle is a deliberate edit in two places rather than an accident in one.
EXPECTED: dict[tuple[OrderStatus, OrderTrigger], OrderStatus | str] = {
    (S.PENDING_NEW, T.ACCEPT): S.NEW,
    (S.PENDING_NEW, T.REJECT): S.REJECTED,
    (S.PENDING_NEW, T.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.PENDING_NEW, T.FILL): S.FILLED,
    (S.PENDING_NEW, T.CANCEL): S.CANCELED,
    (S.PENDING_NEW, T.EXPIRE): S.EXPIRED,
    (S.PENDING_NEW, T.EXPIRE_IN_MATCH): S.EXPIRED_IN_MATCH,
    (S.NEW, T.ACCEPT): S.NEW,
    (S.NEW, T.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.NEW, T.FILL): S.FILLED,
    (S.NEW, T.REQUEST_CANCEL): S.PENDING_CANCEL,
    (S.NEW, T.CANCEL): S.CANCELED,
    (S.NEW, T.REQUEST_MODIFY): S.PENDING_MODIFY,
    (S.NEW, T.MODIFY): S.NEW,
    (S.NEW, T.EXPIRE): S.EXPIRED,
    (S.NEW, T.EXPIRE_IN_MATCH): S.EXPIRED_IN_MATCH,
    (S.PARTIALLY_FILLED, T.ACCEPT): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, T.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, T.FILL): S.FILLED,
    (S.PARTIALLY_FILLED, T.REQUEST_CANCEL): S.PENDING_CANCEL,
    (S.PARTIALLY_FILLED, T.CANCEL): S.CANCELED,
    (S.PARTIALLY_FILLED, T.REQUEST_MODIFY): S.PENDING_MODIFY,
    (S.PARTIALLY_FILLED, T.MODIFY): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, T.EXPIRE): S.EXPIRED,
    (S.PARTIALLY_FILLED, T.EXPIRE_IN_MATCH): S.EXPIRED_IN_MATCH,
    (S.PENDING_CANCEL, T.ACCEPT): S.PENDING_CANCEL,  # the stream's NEW after the REST ack
    (S.PENDING_CANCEL, T.PARTIAL_FILL): S.PENDING_CANCEL,
    (S.PENDING_CANCEL, T.FILL): S.FILLED,
    (S.PENDING_CANCEL, T.CANCEL): S.CANCELED,
    (S.PENDING_CANCEL, T.CANCEL_REJECT): OPEN,
    (S.PENDING_CANCEL, T.EXPIRE): S.EXPIRED,
    (S.PENDING_CANCEL, T.EXPIRE_IN_MATCH): S.EXPIRED_IN_MATCH,
    (S.PENDING_MODIFY, T.ACCEPT): S.PENDING_MODIFY,
    (S.PENDING_MODIFY, T.PARTIAL_FILL): S.PENDING_MODIFY,
    (S.PENDING_MODIFY, T.FILL): S.FILLED,
    (S.PENDING_MODIFY, T.MODIFY): OPEN,
    (S.PENDING_MODIFY, T.MODIFY_REJECT): OPEN,
    (S.PENDING_MODIFY, T.CANCEL): S.CANCELED,
    (S.PENDING_MODIFY, T.EXPIRE): S.EXPIRED,
    (S.PENDING_MODIFY, T.EXPIRE_IN_MATCH): S.EXPIRED_IN_MATCH,
    (S.CANCELED, T.PARTIAL_FILL): S.CANCELED,
    (S.CANCELED, T.FILL): S.FILLED,
    (S.EXPIRED, T.PARTIAL_FILL): S.EXPIRED,
    (S.EXPIRED, T.FILL): S.FILLED,
    (S.EXPIRED_IN_MATCH, T.PARTIAL_FILL): S.EXPIRED_IN_MATCH,
    (S.EXPIRED_IN_MATCH, T.FILL): S.FILLED,
    (S.CANCELED, T.CANCEL): S.CANCELED,
    # Late answers (ack, refused cancel, refused modify) after a terminal outcome: no change.
    **{
        (status, trigger): status
        for status in (S.FILLED, S.CANCELED, S.EXPIRED, S.EXPIRED_IN_MATCH)
        for trigger in (T.ACCEPT, T.CANCEL_REJECT, T.MODIFY_REJECT)
    },
}

FILL_TRIGGERS = (T.PARTIAL_FILL, T.FILL)
TERMINAL = {S.FILLED, S.CANCELED, S.REJECTED, S.EXPIRED, S.EXPIRED_IN_MATCH}

_trade_ids = itertools.count(1000)


def make_fill(
    quantity: Decimal | str,
    price: Decimal | str = PRICE,
    trade_id: int | None = None,
    fee: Decimal | str = "0",
    fee_asset: str = "USDT",
) -> Fill:
    return Fill(
        trade_id=next(_trade_ids) if trade_id is None else trade_id,
        client_order_id=CID,
        side=Side.BUY,
        quantity=Decimal(quantity),
        price=Decimal(price),
        fee=Decimal(fee),
        fee_asset=fee_asset,
        liquidity=Liquidity.MAKER,
        timestamp=1_700_000_000_000,
    )


def make_order(quantity: Decimal = QTY) -> Order:
    return Order(CID, "BTCUSDT", Side.BUY, OrderType.LIMIT, quantity, PRICE, TimeInForce.GTC)


PARTIAL = "partial"  # path step: fill 0.4 of the order
COMPLETE = "complete"  # path step: fill whatever remains

# (target status, has executed quantity) -> legal path from PENDING_NEW.
PATHS: dict[tuple[OrderStatus, bool], list[OrderTrigger | str]] = {
    (S.PENDING_NEW, False): [],
    (S.NEW, False): [T.ACCEPT],
    (S.PARTIALLY_FILLED, True): [T.ACCEPT, PARTIAL],
    (S.PENDING_CANCEL, False): [T.ACCEPT, T.REQUEST_CANCEL],
    (S.PENDING_CANCEL, True): [T.ACCEPT, PARTIAL, T.REQUEST_CANCEL],
    (S.PENDING_MODIFY, False): [T.ACCEPT, T.REQUEST_MODIFY],
    (S.PENDING_MODIFY, True): [T.ACCEPT, PARTIAL, T.REQUEST_MODIFY],
    (S.FILLED, True): [T.ACCEPT, COMPLETE],
    (S.CANCELED, False): [T.ACCEPT, T.CANCEL],
    (S.CANCELED, True): [T.ACCEPT, PARTIAL, T.CANCEL],
    (S.REJECTED, False): [T.REJECT],
    (S.EXPIRED, False): [T.ACCEPT, T.EXPIRE],
    (S.EXPIRED, True): [T.ACCEPT, PARTIAL, T.EXPIRE],
    (S.EXPIRED_IN_MATCH, False): [T.ACCEPT, T.EXPIRE_IN_MATCH],
    (S.EXPIRED_IN_MATCH, True): [T.ACCEPT, PARTIAL, T.EXPIRE_IN_MATCH],
}


def drive(path: list[OrderTrigger | str]) -> Order:
    order = make_order()
    for step in path:
        if step == PARTIAL:
            assert order.apply_fill(make_fill("0.4"))
        elif step == COMPLETE:
            assert order.apply_fill(make_fill(order.remaining_quantity))
        else:
            assert isinstance(step, OrderTrigger)
            order.apply(step, exchange_order_id=77 if step is T.ACCEPT else None)
    return order


def trade_ids(order: Order) -> frozenset[int]:
    # Orders may create these containers lazily (None until the first fill).
    return frozenset(order.trade_ids or ())


def fees(order: Order) -> dict[str, Decimal]:
    return dict(order.fees or {})


def state(order: Order) -> tuple[object, ...]:
    return (
        order.status,
        order.quantity,
        order.price,
        order.executed_quantity,
        order.executed_quote,
        trade_ids(order),
        fees(order),
        order.exchange_order_id,
    )


def resolve(target: OrderStatus | str, executed: Decimal) -> OrderStatus:
    if target == OPEN:
        return S.PARTIALLY_FILLED if executed else S.NEW
    assert isinstance(target, OrderStatus)
    return target


def test_transition_table_matches_expected_lifecycle() -> None:
    actual = {key: (OPEN if value == OPEN else value) for key, value in TRANSITIONS.items()}
    assert actual == EXPECTED


def test_paths_reach_every_status() -> None:
    assert {status for status, _ in PATHS} == set(OrderStatus)
    for (status, executed), path in PATHS.items():
        order = drive(path)
        assert order.status is status
        assert bool(order.executed_quantity) is executed


def test_terminal_statuses_only_take_late_fills_and_idempotent_answers() -> None:
    for (status, trigger), target in EXPECTED.items():
        if status in TERMINAL:
            assert trigger in {
                T.PARTIAL_FILL,
                T.FILL,
                T.CANCEL,
                T.ACCEPT,
                T.CANCEL_REJECT,
                T.MODIFY_REJECT,
            }
            assert target in {status, S.FILLED}
            assert status.is_terminal
            assert not status.is_open
        else:
            assert status.is_open


PAIRS = [
    pytest.param(
        status,
        executed,
        trigger,
        id=f"{status.value}-{'exec' if executed else 'zero'}-{trigger.value}",
    )
    for (status, executed) in PATHS
    for trigger in OrderTrigger
]


@pytest.mark.parametrize(("start", "executed", "trigger"), PAIRS)
def test_every_status_trigger_pair(
    start: OrderStatus, executed: bool, trigger: OrderTrigger
) -> None:
    order = drive(PATHS[(start, executed)])
    assert order.status is start
    before = state(order)
    executed_before = order.executed_quantity
    legal = (start, trigger) in EXPECTED
    assert order.can(trigger) is legal

    if trigger in FILL_TRIGGERS:
        remaining = order.remaining_quantity
        if start is S.FILLED:
            # A FILLED order has nothing left: a completing fill is a zero-quantity trade (the
            # table refuses it) and any positive quantity is an overfill.
            assert not legal
            if trigger is T.FILL:
                with pytest.raises(InvalidTransition) as info:
                    order.apply_fill(make_fill("0"))
                assert (info.value.from_status, info.value.trigger) == (start.value, trigger.value)
            else:
                with pytest.raises(OverfillError):
                    order.apply_fill(make_fill("0.1"))
            assert state(order) == before
            return
        quantity = remaining if trigger is T.FILL else remaining / 2
        fill = make_fill(quantity, price="101")
        if legal:
            assert order.apply_fill(fill) is True
            assert order.status is resolve(EXPECTED[(start, trigger)], order.executed_quantity)
            assert order.executed_quantity == executed_before + quantity
            assert fill.trade_id in trade_ids(order)
            if trigger is T.FILL:
                assert order.executed_quantity == order.quantity
                assert order.status is S.FILLED
            else:
                assert order.executed_quantity < order.quantity
        else:
            with pytest.raises(InvalidTransition) as info:
                order.apply_fill(fill)
            assert (info.value.from_status, info.value.trigger) == (start.value, trigger.value)
            assert info.value.client_order_id == CID
            assert state(order) == before
        return

    new_price, new_quantity = Decimal("99"), Decimal("2")
    if legal:
        result = order.apply(trigger, price=new_price, quantity=new_quantity)
        expected = resolve(EXPECTED[(start, trigger)], executed_before)
        assert result is expected
        assert order.status is expected
        assert order.executed_quantity == executed_before
        if trigger is T.MODIFY:
            assert (order.price, order.quantity) == (new_price, new_quantity)
        else:
            assert (order.price, order.quantity) == (PRICE, QTY)
    else:
        with pytest.raises(InvalidTransition) as info:
            order.apply(trigger, price=new_price, quantity=new_quantity)
        assert (info.value.from_status, info.value.trigger) == (start.value, trigger.value)
        assert state(order) == before


@pytest.mark.parametrize(("start", "executed"), list(PATHS))
@pytest.mark.parametrize("trigger", FILL_TRIGGERS)
def test_apply_refuses_fill_triggers(
    start: OrderStatus, executed: bool, trigger: OrderTrigger
) -> None:
    order = drive(PATHS[(start, executed)])
    before = state(order)
    with pytest.raises(InvalidTransition):
        order.apply(trigger)
    assert state(order) == before


@pytest.mark.parametrize(
    ("start_path", "trigger", "expected"),
    [
        ([T.ACCEPT, T.REQUEST_CANCEL], T.CANCEL_REJECT, S.NEW),
        ([T.ACCEPT, PARTIAL, T.REQUEST_CANCEL], T.CANCEL_REJECT, S.PARTIALLY_FILLED),
        ([T.ACCEPT, T.REQUEST_MODIFY], T.MODIFY, S.NEW),
        ([T.ACCEPT, PARTIAL, T.REQUEST_MODIFY], T.MODIFY, S.PARTIALLY_FILLED),
        ([T.ACCEPT, T.REQUEST_MODIFY], T.MODIFY_REJECT, S.NEW),
        ([T.ACCEPT, PARTIAL, T.REQUEST_MODIFY], T.MODIFY_REJECT, S.PARTIALLY_FILLED),
        # A fill while the request was in flight makes the resumed order partially filled.
        ([T.ACCEPT, T.REQUEST_CANCEL, PARTIAL], T.CANCEL_REJECT, S.PARTIALLY_FILLED),
        ([T.ACCEPT, T.REQUEST_MODIFY, PARTIAL], T.MODIFY_REJECT, S.PARTIALLY_FILLED),
    ],
)
def test_open_resume_value(
    start_path: list[OrderTrigger | str], trigger: OrderTrigger, expected: OrderStatus
) -> None:
    order = drive(start_path)
    assert order.apply(trigger) is expected


def test_accept_records_exchange_order_id() -> None:
    order = make_order()
    assert order.exchange_order_id is None
    assert order.apply(T.ACCEPT, exchange_order_id=123) is S.NEW
    assert order.exchange_order_id == 123
    order.apply(T.ACCEPT)  # duplicate ack without an id keeps the id
    assert order.exchange_order_id == 123


def test_duplicate_trade_id_is_ignored() -> None:
    order = drive([T.ACCEPT])
    fill = make_fill("0.3", price="100.5", fee="0.01", fee_asset="BNB")
    assert order.apply_fill(fill) is True
    snapshot = state(order)
    assert order.apply_fill(fill) is False
    # Same trade id with different content is still the same trade.
    assert order.apply_fill(make_fill("0.5", trade_id=fill.trade_id, fee="1")) is False
    assert state(order) == snapshot
    assert order.executed_quantity == Decimal("0.3")
    assert fees(order) == {"BNB": Decimal("0.01")}


def test_duplicate_completing_fill_on_filled_order_is_ignored() -> None:
    order = drive([T.ACCEPT])
    fill = make_fill("1")
    assert order.apply_fill(fill)
    assert order.status is S.FILLED
    assert order.apply_fill(fill) is False
    assert order.status is S.FILLED
    assert order.executed_quantity == QTY


def test_overfill_raises_and_changes_nothing() -> None:
    order = drive([T.ACCEPT, PARTIAL])
    before = state(order)
    with pytest.raises(OverfillError):
        order.apply_fill(make_fill("0.6000001"))
    assert state(order) == before
    # Exactly the remainder is fine.
    assert order.apply_fill(make_fill("0.6"))
    assert order.status is S.FILLED


def test_average_price_is_exact() -> None:
    order = drive([T.ACCEPT])
    assert order.average_price is None
    order.apply_fill(make_fill("0.1", price="100.01"))
    order.apply_fill(make_fill("0.2", price="100.02"))
    # 0.1 * 100.01 + 0.2 * 100.02 = 10.001 + 20.004
    assert order.executed_quote == Decimal("30.005")
    assert order.executed_quantity == Decimal("0.3")
    assert order.average_price == Decimal("300.05") / Decimal(3)
    assert order.average_price == order.executed_quote / order.executed_quantity
    assert order.remaining_quantity == Decimal("0.7")
    assert order.status is S.PARTIALLY_FILLED


def test_late_partial_fill_after_cancel_stays_canceled() -> None:
    order = drive([T.ACCEPT, T.REQUEST_CANCEL])
    assert order.apply(T.CANCEL) is S.CANCELED
    assert order.apply_fill(make_fill("0.25"))
    assert order.status is S.CANCELED
    assert order.executed_quantity == Decimal("0.25")
    assert order.executed_quote == Decimal("25")


def test_late_fill_completing_after_cancel_becomes_filled() -> None:
    order = drive([T.ACCEPT, PARTIAL, T.CANCEL])
    assert order.status is S.CANCELED
    assert order.apply_fill(make_fill("0.6"))
    assert order.status is S.FILLED
    assert order.executed_quantity == QTY
    assert order.remaining_quantity == 0


@pytest.mark.parametrize("terminal", [T.EXPIRE, T.EXPIRE_IN_MATCH])
def test_late_fills_after_expiry(terminal: OrderTrigger) -> None:
    order = drive([T.ACCEPT, terminal])
    closed = order.status
    order.apply_fill(make_fill("0.5"))
    assert order.status is closed
    order.apply_fill(make_fill("0.5"))
    assert order.status is S.FILLED


def test_rejected_order_refuses_fills() -> None:
    order = drive([T.REJECT])
    with pytest.raises(InvalidTransition):
        order.apply_fill(make_fill("0.1"))
    assert order.executed_quantity == 0
    assert trade_ids(order) == frozenset()
    assert fees(order) == {}


def test_fees_accumulate_per_asset() -> None:
    order = drive([T.ACCEPT])
    order.apply_fill(make_fill("0.1", fee="0.001", fee_asset="BNB"))
    order.apply_fill(make_fill("0.1", fee="0.02", fee_asset="USDT"))
    order.apply_fill(make_fill("0.1", fee="0.0025", fee_asset="BNB"))
    order.apply_fill(make_fill("0.1", fee="0", fee_asset="BTC"))
    assert fees(order) == {"BNB": Decimal("0.0035"), "USDT": Decimal("0.02")}


def test_modify_below_executed_raises_overfill() -> None:
    order = drive([T.ACCEPT, PARTIAL, T.REQUEST_MODIFY])
    with pytest.raises(OverfillError):
        order.apply(T.MODIFY, quantity=Decimal("0.3"))
    assert order.quantity == QTY
    assert order.executed_quantity == Decimal("0.4")


def test_failed_modify_leaves_order_untouched() -> None:
    order = drive([T.ACCEPT, PARTIAL, T.REQUEST_MODIFY])
    before = state(order)
    with pytest.raises(OverfillError):
        order.apply(T.MODIFY, price=Decimal("90"), quantity=Decimal("0.3"))
    assert state(order) == before


def test_modify_to_executed_quantity_is_allowed() -> None:
    order = drive([T.ACCEPT, PARTIAL])
    assert order.apply(T.MODIFY, quantity=Decimal("0.4")) is S.PARTIALLY_FILLED
    assert order.remaining_quantity == 0


def test_modify_up_then_fill_to_new_quantity() -> None:
    order = drive([T.ACCEPT, PARTIAL, T.REQUEST_MODIFY])
    assert order.apply(T.MODIFY, price=Decimal("101"), quantity=Decimal("2")) is S.PARTIALLY_FILLED
    assert order.price == Decimal("101")
    order.apply_fill(make_fill("0.6"))
    assert order.status is S.PARTIALLY_FILLED  # 1.0 of 2 is not complete any more
    order.apply_fill(make_fill("1"))
    assert order.status is S.FILLED


# ------------------------------------------------------------------ random-event property
_quantities = st.integers(min_value=1, max_value=12).map(lambda n: Decimal(n) / 10)
_fill_events = st.tuples(
    st.just("fill"),
    st.integers(min_value=1, max_value=8),  # small id range => duplicates happen
    _quantities,
    st.sampled_from([Decimal("99.99"), Decimal("100"), Decimal("100.01")]),
)
_status_events = st.tuples(
    st.just("apply"),
    st.sampled_from([t for t in OrderTrigger if t not in FILL_TRIGGERS]),
    st.one_of(st.none(), st.integers(min_value=1, max_value=20).map(lambda n: Decimal(n) / 10)),
    st.just(Decimal(0)),
)
_events = st.lists(st.one_of(_fill_events, _status_events), max_size=40)


@settings(max_examples=400, deadline=None)
@given(events=_events)
def test_random_events_keep_order_consistent(events: list[tuple[object, ...]]) -> None:
    order = make_order()
    model_executed = Decimal(0)
    model_quote = Decimal(0)
    seen: set[int] = set()
    for kind, a, b, c in events:
        before = state(order)
        start = order.status
        if kind == "fill":
            assert isinstance(a, int)
            assert isinstance(b, Decimal)
            assert isinstance(c, Decimal)
            fill = make_fill(b, price=c, trade_id=a)
            try:
                applied = order.apply_fill(fill)
            except (InvalidTransition, OverfillError) as exc:
                assert a not in seen
                if isinstance(exc, OverfillError):
                    assert model_executed + b > order.quantity
                else:
                    assert model_executed + b <= order.quantity
                assert state(order) == before
            else:
                assert applied is (a not in seen)
                if applied:
                    seen.add(a)
                    model_executed += b
                    model_quote += b * c
                    trigger = T.FILL if model_executed == order.quantity else T.PARTIAL_FILL
                    assert order.status is resolve(EXPECTED[(start, trigger)], model_executed)
                else:
                    assert state(order) == before
        else:
            assert isinstance(a, OrderTrigger)
            new_qty = b if isinstance(b, Decimal) else None
            try:
                order.apply(a, quantity=new_qty)
            except InvalidTransition:
                assert (start, a) not in EXPECTED
                assert state(order) == before
            except OverfillError:
                assert a is T.MODIFY
                assert new_qty is not None
                assert new_qty < model_executed
            else:
                assert (start, a) in EXPECTED
                assert order.status is resolve(EXPECTED[(start, a)], model_executed)
        assert order.status in set(OrderStatus)
        assert order.executed_quantity <= order.quantity
        assert order.executed_quantity == model_executed
        assert order.executed_quote == model_quote
        assert trade_ids(order) == seen
        assert order.remaining_quantity >= 0
        if order.status is S.NEW or order.status is S.PENDING_NEW:
            assert order.executed_quantity == 0
        if order.status is S.PARTIALLY_FILLED:
            assert order.executed_quantity > 0
        if order.status is S.FILLED:
            assert order.executed_quantity == order.quantity
