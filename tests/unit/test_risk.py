"""Pre-trade risk: worked numbers per rule, check order, exemptions and a leverage property."""

from __future__ import annotations

import itertools
from decimal import ROUND_DOWN, Decimal
from typing import NamedTuple

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from domain.commands import PlaceOrder
from domain.enums import Liquidity, MarketType, OrderType, Side, TimeInForce
from domain.instruments import (
    Instrument,
    LotSizeFilter,
    NotionalFilter,
    PercentPriceFilter,
    PriceFilter,
)
from domain.orders import Fill, Order, OrderTrigger
from domain.risk import (
    INFINITE_LEVERAGE,
    PreTradeRisk,
    RiskLimits,
    RiskRule,
    RiskVerdict,
    effective_leverage,
    worst_case_exposure,
)

D = Decimal
BUY, SELL = Side.BUY, Side.SELL
LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET
SYMBOL = "BTCUSDT"
TICK = D("0.01")
STEP = D("0.001")
MARK = D("100")
ZERO = D(0)


def instrument(
    notional: NotionalFilter | None = None,
    percent_price: PercentPriceFilter | None = None,
    max_num_orders: int = 0,
) -> Instrument:
    return Instrument(
        symbol=SYMBOL,
        market=MarketType.USDM_FUTURES,
        base_asset="BTC",
        quote_asset="USDT",
        price_filter=PriceFilter(TICK, ZERO, TICK),
        lot_size=LotSizeFilter(STEP, ZERO, STEP),
        notional=notional,
        percent_price=percent_price,
        max_num_orders=max_num_orders,
    )


INST = instrument(notional=NotionalFilter(D("5")))
_ids = itertools.count(1)


def place(
    side: Side,
    qty: str,
    price: str | None = "100",
    order_type: OrderType = LIMIT,
    reduce_only: bool = False,
    stop: str | None = None,
) -> PlaceOrder:
    return PlaceOrder(
        SYMBOL,
        side,
        order_type,
        D(qty),
        None if price is None else D(price),
        TimeInForce.GTC if order_type is LIMIT else None,
        None if stop is None else D(stop),
        reduce_only,
    )


def order(
    side: Side,
    qty: str,
    price: str | None = "100",
    order_type: OrderType = LIMIT,
    reduce_only: bool = False,
    stop: str | None = None,
    executed: str = "0",
    trigger: OrderTrigger | None = OrderTrigger.ACCEPT,
) -> Order:
    o = Order(
        f"gb-{next(_ids)}",
        SYMBOL,
        side,
        order_type,
        D(qty),
        None if price is None else D(price),
        None,
        None if stop is None else D(stop),
        reduce_only,
    )
    if trigger is not None:
        o.apply(trigger)
    if D(executed):
        fill_price = o.price or o.stop_price or MARK
        o.apply_fill(
            Fill(
                next(_ids),
                o.client_order_id,
                side,
                D(executed),
                fill_price,
                ZERO,
                "USDT",
                Liquidity.MAKER,
                0,
            )
        )
    return o


def cancelled(side: Side, qty: str, price: str = "100") -> Order:
    o = order(side, qty, price)
    o.apply(OrderTrigger.CANCEL)
    return o


def risk(inst: Instrument = INST, **limits: object) -> PreTradeRisk:
    values: dict[str, object] = {"max_leverage": D("3")}
    values.update(limits)
    return PreTradeRisk(RiskLimits(**values), inst)  # type: ignore[arg-type]


# ------------------------------------------------------------------ worst-case exposure
def test_worst_case_exposure_long_position_with_every_kind_of_order() -> None:
    orders = [
        order(BUY, "1", "95"),  # below mark: valued at the mark, 100
        order(BUY, "0.5", "105"),  # above mark: valued at its price, 52.5
        order(BUY, "2", "98", executed="0.5"),  # remaining 1.5 at 100 = 150
        order(BUY, "1", None, OrderType.STOP_MARKET, stop="104"),  # stop price: 104
        order(SELL, "3", "110"),  # 330
        order(SELL, "1", "120", reduce_only=True),  # reduce-only: nothing
        cancelled(BUY, "10", "90"),  # terminal: nothing
        order(BUY, "4", "97", trigger=None),  # PENDING_NEW still counts: 400
    ]
    long, short = worst_case_exposure(D("2"), orders, MARK)
    assert long == D("200") + D("100") + D("52.5") + D("150") + D("104") + D("400")
    assert long == D("1006.5")
    assert short == D("330")
    # The candidate order counts the same way: a SELL below the mark is valued at the mark.
    assert worst_case_exposure(D("2"), orders, MARK, place(SELL, "1", "99")) == (
        D("1006.5"),
        D("430"),
    )
    # A market BUY is valued at the mark; a reduce-only candidate adds nothing.
    assert worst_case_exposure(D("2"), orders, MARK, place(BUY, "1", None, MARKET))[0] == D(
        "1106.5"
    )
    assert worst_case_exposure(D("2"), orders, MARK, place(BUY, "9", reduce_only=True)) == (
        D("1006.5"),
        D("330"),
    )


def test_worst_case_exposure_is_gross_a_buy_against_a_short_still_counts_long() -> None:
    # Short 3 at mark 100 = 300 short. A BUY of 2 would close part of it if it filled, but the
    # worst case does not net: it is 200 of long exposure on its own.
    long, short = worst_case_exposure(D("-3"), [order(BUY, "2", "100")], MARK)
    assert (long, short) == (D("200"), D("300"))


def test_worst_case_exposure_needs_a_positive_mark() -> None:
    with pytest.raises(ValueError, match="mark"):
        worst_case_exposure(ZERO, [], ZERO)


@pytest.mark.parametrize(
    ("long", "short", "equity", "expected"),
    [
        ("32000", "1000", "10000", D("3.2")),
        ("100", "300", "100", D("3")),
        ("0", "0", "-5", D("0")),  # nothing exposed: no leverage, whatever the equity
        ("1", "0", "0", INFINITE_LEVERAGE),
        ("0", "1", "-10", INFINITE_LEVERAGE),
    ],
)
def test_effective_leverage(long: str, short: str, equity: str, expected: Decimal) -> None:
    assert effective_leverage(D(long), D(short), D(equity)) == expected


# ------------------------------------------------------------------ limits and verdicts
@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_leverage": D("0")},
        {"max_leverage": D("-1")},
        {"max_leverage": D("NaN")},
        {"max_leverage": D("Infinity")},
        {"max_leverage": D("3"), "max_position_notional": D("0")},
        {"max_leverage": D("3"), "max_open_orders": 0},
        {"max_leverage": D("3"), "max_open_orders": -2},
        {"max_leverage": D("3"), "price_band": D("-0.01")},
    ],
)
def test_limits_refuse_non_positive_values(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        RiskLimits(**kwargs)  # type: ignore[arg-type]


def test_verdict_names_a_rule_exactly_when_it_refuses() -> None:
    assert RiskVerdict.allow("ok") == RiskVerdict(True, None, "ok")
    with pytest.raises(ValueError):
        RiskVerdict(True, RiskRule.LEVERAGE, "x")
    with pytest.raises(ValueError):
        RiskVerdict(False, None, "x")


def test_order_for_another_symbol_is_a_wiring_bug() -> None:
    cmd = place(BUY, "1")._replace(symbol="ETHUSDT")
    with pytest.raises(ValueError, match="ETHUSDT"):
        risk().check(cmd, ZERO, [], D("1000"), MARK)


# ------------------------------------------------------------------ one example per rule
def test_leverage_refusal_detail_has_the_numbers() -> None:
    verdict = risk().check(place(BUY, "320"), ZERO, [], D("10000"), MARK)
    assert verdict == RiskVerdict(
        False,
        RiskRule.LEVERAGE,
        "effective leverage 3.2 > cap 3 (worst-case long exposure 32000 on equity 10000)",
    )


def test_leverage_exactly_at_the_cap_is_allowed() -> None:
    verdict = risk().check(place(BUY, "300"), ZERO, [], D("10000"), MARK)
    assert verdict.allowed
    assert verdict.detail == (
        "effective leverage 3 <= cap 3 (worst-case long exposure 30000 on equity 10000)"
    )


def test_leverage_counts_position_and_open_orders_and_values_at_max_of_mark_and_price() -> None:
    # Long 10 at 100 = 1000; open BUY 5 @ 90 valued at 100 = 500; open SELL 20 @ 110 = 2200
    # short. Candidate SELL 1 @ 120 = 120 -> short 2320 on equity 800 = 2.9.
    checker = risk()
    open_orders = [order(BUY, "5", "90"), order(SELL, "20", "110")]
    ok = checker.check(place(SELL, "1", "120"), D("10"), open_orders, D("800"), MARK)
    assert ok.allowed
    assert ok.detail == (
        "effective leverage 2.9 <= cap 3 (worst-case short exposure 2320 on equity 800)"
    )
    # SELL 1 @ 200 (no band configured) is valued at 200 -> 2400 / 800 = 3 -> still allowed;
    # @ 200.01 it is 2400.01 -> refused.
    assert checker.check(place(SELL, "1", "200"), D("10"), open_orders, D("800"), MARK).allowed
    refused = checker.check(place(SELL, "1", "200.01"), D("10"), open_orders, D("800"), MARK)
    assert refused.rule is RiskRule.LEVERAGE
    assert refused.detail.startswith("effective leverage 3.0000125 > cap 3")


def test_order_that_does_not_raise_the_largest_exposure_passes_even_above_the_cap() -> None:
    # Short 300 at 100 = 30000 on equity 5000: leverage 6, already twice the cap.
    checker = risk()
    reducing = checker.check(place(BUY, "200"), D("-300"), [], D("5000"), MARK)
    assert reducing == RiskVerdict(
        True,
        None,
        "does not increase the largest worst-case exposure 30000 (long 20000, short 30000)",
    )
    # A BUY of exactly the short keeps the largest side at 30000: still allowed.
    assert checker.check(place(BUY, "300"), D("-300"), [], D("5000"), MARK).allowed
    # One step more raises it to 30000.1: a risk-increasing order, refused.
    more = checker.check(place(BUY, "300.001"), D("-300"), [], D("5000"), MARK)
    assert more.rule is RiskRule.LEVERAGE
    # Adding to the short while above the cap is refused.
    assert checker.check(place(SELL, "0.1"), D("-300"), [], D("5000"), MARK).rule is (
        RiskRule.LEVERAGE
    )


def test_reduce_only_is_exempt_from_leverage_and_position_notional() -> None:
    checker = risk(max_position_notional=D("100"))
    cmd = place(SELL, "50", reduce_only=True)
    verdict = checker.check(cmd, D("1000"), [], D("10"), MARK)
    assert verdict == RiskVerdict(True, None, "reduce-only: adds no exposure")
    # Even with no equity and no mark at all.
    assert checker.check(cmd, D("1000"), [], D("-50"), None).allowed


def test_no_equity_refuses_risk_increasing_orders_only() -> None:
    checker = risk()
    verdict = checker.check(place(BUY, "1"), ZERO, [], ZERO, MARK)
    assert verdict == RiskVerdict(
        False,
        RiskRule.NO_EQUITY,
        "equity 0 <= 0 cannot carry worst-case long exposure 100",
    )
    assert checker.check(place(BUY, "1"), ZERO, [], D("-20"), MARK).rule is RiskRule.NO_EQUITY
    # Closing part of a short with negative equity lowers risk: allowed.
    assert checker.check(place(BUY, "1"), D("-5"), [], D("-20"), MARK).allowed


def test_no_mark_price() -> None:
    checker = risk()
    verdict = checker.check(place(BUY, "1"), ZERO, [], D("1000"), None)
    assert verdict == RiskVerdict(
        False, RiskRule.NO_MARK_PRICE, "no mark price: cannot value the worst-case exposure"
    )
    # A non-positive mark is no usable mark either.
    assert checker.check(place(BUY, "1"), ZERO, [], D("1000"), ZERO).rule is (
        RiskRule.NO_MARK_PRICE
    )
    # The price band needs the mark too, for reduce-only orders as well.
    banded = risk(price_band=D("0.05"))
    cmd = place(SELL, "1", reduce_only=True)
    assert banded.check(cmd, D("2"), [], D("1000"), None) == RiskVerdict(
        False, RiskRule.NO_MARK_PRICE, "no mark price to check limit price 100 against"
    )


def test_min_notional_maps_to_its_own_rule_and_futures_reduce_only_is_exempt() -> None:
    checker = risk()
    verdict = checker.check(place(BUY, "0.049"), ZERO, [], D("1000"), MARK)
    assert verdict == RiskVerdict(
        False, RiskRule.MIN_NOTIONAL, "order notional 4.900 below minimum 5 (MIN_NOTIONAL)"
    )
    assert checker.check(place(BUY, "0.05"), ZERO, [], D("1000"), MARK).allowed
    assert checker.check(place(SELL, "0.049", reduce_only=True), D("1"), [], D("1"), MARK).allowed
    # A market order's notional is taken at the mark: 0.049 x 100.
    market = checker.check(place(BUY, "0.049", None, MARKET), ZERO, [], D("1000"), MARK)
    assert market.rule is RiskRule.MIN_NOTIONAL


@pytest.mark.parametrize(
    ("cmd", "inst", "text"),
    [
        (place(BUY, "1", "100.005"), INST, "PRICE_FILTER: step violated by 100.005"),
        (place(BUY, "1.0005"), INST, "LOT_SIZE: step violated by 1.0005"),
        (place(BUY, "0"), INST, "LOT_SIZE: positive violated by 0"),
        (
            place(BUY, "1", "111"),
            instrument(percent_price=PercentPriceFilter(D("1.1"), D("0.9"))),
            "PERCENT_PRICE: up violated by 111",
        ),
    ],
)
def test_other_filter_failures_map_to_filter(cmd: PlaceOrder, inst: Instrument, text: str) -> None:
    verdict = risk(inst).check(cmd, ZERO, [], D("1000"), MARK)
    assert verdict.rule is RiskRule.FILTER
    assert verdict.detail.startswith(f"exchange filter refuses the order: {text}")


def test_exchange_max_num_orders_is_a_filter_failure() -> None:
    checker = risk(instrument(max_num_orders=2))
    live = [order(BUY, "1", "90"), order(SELL, "1", "110")]
    verdict = checker.check(place(BUY, "1", "95"), ZERO, live, D("1000"), MARK)
    assert verdict.rule is RiskRule.FILTER
    assert "MAX_NUM_ORDERS" in verdict.detail
    assert checker.check(place(BUY, "1", "95"), ZERO, live[:1], D("1000"), MARK).allowed


def test_price_band() -> None:
    checker = risk(price_band=D("0.05"))
    assert checker.check(place(BUY, "1", "105"), ZERO, [], D("1000"), MARK).allowed
    assert checker.check(place(SELL, "1", "95"), ZERO, [], D("1000"), MARK).allowed
    verdict = checker.check(place(BUY, "1", "105.01"), ZERO, [], D("1000"), MARK)
    assert verdict == RiskVerdict(
        False, RiskRule.PRICE_BAND, "limit price 105.01 is 5.01% from mark 100 > band 5%"
    )
    low = checker.check(place(SELL, "1", "94.99"), ZERO, [], D("1000"), MARK)
    assert low.rule is RiskRule.PRICE_BAND
    # A fat-fingered reduce-only price is still refused.
    far = checker.check(place(SELL, "1", "80", reduce_only=True), D("5"), [], D("1000"), MARK)
    assert far.rule is RiskRule.PRICE_BAND
    # Market and conditional orders carry no limit price to check.
    assert checker.check(place(BUY, "1", None, MARKET), ZERO, [], D("1000"), MARK).allowed
    stop = place(BUY, "1", None, OrderType.STOP_MARKET, stop="150")
    assert checker.check(stop, ZERO, [], D("1000"), MARK).allowed


def test_max_position_notional() -> None:
    # Long 20 at 100 = 2000, open BUY 20 @ 99 valued at 100 = 2000: long side 4000.
    checker = risk(max_position_notional=D("5000"), max_leverage=D("100"))
    live = [order(BUY, "20", "99")]
    assert checker.check(place(BUY, "10"), D("20"), live, D("1000"), MARK).allowed
    verdict = checker.check(place(BUY, "10.01"), D("20"), live, D("1000"), MARK)
    assert verdict == RiskVerdict(
        False,
        RiskRule.MAX_POSITION_NOTIONAL,
        "worst-case long exposure 5001 > max position notional 5000",
    )
    # Gross, not netted: SELL 60 against the long is 6000 of short exposure on its own.
    short = checker.check(place(SELL, "60"), D("20"), live, D("1000"), MARK)
    assert short.rule is RiskRule.MAX_POSITION_NOTIONAL
    assert short.detail == "worst-case short exposure 6000 > max position notional 5000"
    # Valued at max(mark, price): BUY 9.9 @ 101.02 = 1000.098 -> 5000.098 > 5000.
    assert checker.check(place(BUY, "9.9", "101.02"), D("20"), live, D("1000"), MARK).rule is (
        RiskRule.MAX_POSITION_NOTIONAL
    )


def test_max_position_notional_exempts_orders_that_keep_the_largest_side() -> None:
    # Long side 8000 (over the 5000 limit after a price move); SELL 70 = 7000 short exceeds the
    # limit on its own side but does not raise the largest worst-case exposure: allowed.
    checker = risk(max_position_notional=D("5000"), max_leverage=D("100"))
    assert checker.check(place(SELL, "70"), D("80"), [], D("1000"), MARK).allowed
    assert checker.check(place(SELL, "80.001"), D("80"), [], D("1000"), MARK).rule is (
        RiskRule.MAX_POSITION_NOTIONAL
    )


def test_max_open_orders_counts_only_live_orders() -> None:
    checker = risk(max_open_orders=2)
    dead = [cancelled(BUY, "1"), order(BUY, "1", "90", executed="1")]
    live = [order(BUY, "1", "90"), order(SELL, "2", "110", executed="1")]
    verdict = checker.check(place(BUY, "1", "95"), ZERO, dead + live, D("1000"), MARK)
    assert verdict == RiskVerdict(
        False, RiskRule.MAX_OPEN_ORDERS, "2 open orders + this one > limit 2"
    )
    assert checker.check(place(BUY, "1", "95"), ZERO, dead + live[:1], D("1000"), MARK).allowed
    # Reduce-only orders count toward the limit too: they occupy a slot on the exchange.
    ro = place(SELL, "1", reduce_only=True)
    assert checker.check(ro, D("5"), live, D("1000"), MARK).rule is RiskRule.MAX_OPEN_ORDERS


def test_kill_switch_refuses_all_but_reduce_only() -> None:
    checker = risk(kill_switch=True)
    verdict = checker.check(place(BUY, "1"), ZERO, [], D("1000"), MARK)
    assert verdict == RiskVerdict(
        False, RiskRule.KILL_SWITCH, "kill switch is on: only reduce-only orders are accepted"
    )
    # Even a risk-reducing (but not reduce-only) order is refused.
    assert checker.check(place(BUY, "1"), D("-5"), [], D("1000"), MARK).rule is (
        RiskRule.KILL_SWITCH
    )
    assert checker.check(place(SELL, "1", reduce_only=True), D("5"), [], D("1000"), MARK).allowed


# ------------------------------------------------------------------ order of checks
def test_checks_run_in_the_documented_order() -> None:
    # One order that breaks every rule: peel the limits off one at a time and the next rule
    # in line must be the one that refuses it.
    notional_inst = instrument(notional=NotionalFilter(D("5")))
    plain_inst = instrument()
    busy = [order(BUY, "0.04", "90")]  # long side 4 (valued at the mark)
    cmd = place(BUY, "0.04", "120")  # notional 4.8 < 5; 20% from the mark
    tick_cmd = place(BUY, "0.04", "120.005")  # also off the tick grid
    base: dict[str, object] = {
        "max_leverage": D("3"),
        "max_position_notional": D("1"),
        "max_open_orders": 1,
        "price_band": D("0.05"),
        "kill_switch": True,
    }
    steps: list[tuple[dict[str, object], Instrument, PlaceOrder, Decimal, RiskRule | None]] = [
        ({}, notional_inst, cmd, D("1"), RiskRule.KILL_SWITCH),
        ({"kill_switch": False}, notional_inst, tick_cmd, D("1"), RiskRule.MAX_OPEN_ORDERS),
        ({"max_open_orders": None}, notional_inst, tick_cmd, D("1"), RiskRule.FILTER),
        ({}, notional_inst, cmd, D("1"), RiskRule.MIN_NOTIONAL),
        ({}, plain_inst, cmd, D("1"), RiskRule.PRICE_BAND),
        ({"price_band": None}, plain_inst, cmd, D("1"), RiskRule.MAX_POSITION_NOTIONAL),
        ({"max_position_notional": None}, plain_inst, cmd, D("0"), RiskRule.NO_EQUITY),
        ({}, plain_inst, cmd, D("1"), RiskRule.LEVERAGE),
        ({}, plain_inst, cmd, D("100"), None),
    ]
    limits = dict(base)
    for change, inst, command, equity, expected in steps:
        limits.update(change)
        checker = PreTradeRisk(RiskLimits(**limits), inst)  # type: ignore[arg-type]
        verdict = checker.check(command, ZERO, busy, equity, MARK)
        assert verdict.rule is expected, (change, verdict)
        assert verdict.allowed is (expected is None)


# ------------------------------------------------------------------ the leverage property
PROP_INST = instrument()  # no notional filter: every order on the grid reaches the exposure rules


class PlaceStep(NamedTuple):
    side: Side
    bps: int  # price offset from the mark, basis points
    size: int  # per mille of the leverage headroom
    reduce_only: bool


class FillStep(NamedTuple):
    pick: int  # which live order, modulo their count
    percent: int


class CancelStep(NamedTuple):
    pick: int  # which live order, modulo their count


class SweepStep(NamedTuple):
    """The market runs through every open order."""


class MoveStep(NamedTuple):
    bps: int  # mark change, basis points


Step = PlaceStep | FillStep | CancelStep | SweepStep | MoveStep

_place = st.builds(
    PlaceStep,
    st.sampled_from([BUY, SELL]),
    st.integers(-300, 300),
    # Often right at the headroom boundary, otherwise anywhere up to three times it.
    st.one_of(st.integers(990, 1_010), st.integers(1, 3_000)),
    st.integers(0, 4).map(lambda n: n == 0),
)
_fill = st.builds(FillStep, st.integers(0, 63), st.integers(1, 100))
_cancel = st.builds(CancelStep, st.integers(0, 63))
_move = st.builds(MoveStep, st.integers(-500, 500))
_steps = st.lists(
    st.one_of(_place, _place, _fill, _fill, _cancel, st.just(SweepStep()), _move, _move),
    min_size=10,
    max_size=40,
)


class Book:
    """Independent model: position, cash, open orders; equity = cash + position x mark."""

    def __init__(self, cash: Decimal, mark: Decimal) -> None:
        self.cash = cash
        self.mark = mark
        self.position = ZERO
        self.orders: list[Order] = []
        self.trades = itertools.count(1)

    @property
    def equity(self) -> Decimal:
        return self.cash + self.position * self.mark

    def live(self) -> list[Order]:
        return [o for o in self.orders if o.status.is_open]

    def exposure(self, extra: PlaceOrder | None = None) -> Decimal:
        """Largest gross worst-case side, recomputed from scratch (not via domain.risk)."""
        mark = self.mark
        long = self.position * mark if self.position > 0 else ZERO
        short = -self.position * mark if self.position < 0 else ZERO
        items = [(o.side, o.remaining_quantity, o.price, o.reduce_only) for o in self.live()]
        if extra is not None:
            items.append((extra.side, extra.quantity, extra.price, extra.reduce_only))
        for side, qty, price, reduce_only in items:
            if reduce_only:
                continue
            assert price is not None
            value = qty * (price if price > mark else mark)
            if side is BUY:
                long += value
            else:
                short += value
        return max(long, short)

    def leverage(self, exposure: Decimal) -> Decimal:
        if exposure == 0:
            return ZERO
        if self.equity <= 0:
            return D("Infinity")
        return exposure / self.equity

    def fill(self, index: int, percent: int) -> None:
        live = self.live()
        if not live:
            return
        self.fill_order(live[index % len(live)], percent)

    def fill_order(self, o: Order, percent: int) -> None:
        qty = (o.remaining_quantity * percent / 100).quantize(STEP, ROUND_DOWN)
        qty = min(max(qty, STEP), o.remaining_quantity)
        if o.reduce_only:
            # The exchange only lets a reduce-only order shrink the position.
            opposes = (self.position > 0 and o.side is SELL) or (
                self.position < 0 and o.side is BUY
            )
            if not opposes:
                o.apply(OrderTrigger.EXPIRE)
                return
            qty = min(qty, abs(self.position))
        assert o.price is not None
        o.apply_fill(
            Fill(
                next(self.trades),
                o.client_order_id,
                o.side,
                qty,
                o.price,
                ZERO,
                "USDT",
                Liquidity.MAKER,
                0,
            )
        )
        self.position += o.side.sign * qty
        self.cash -= o.side.sign * qty * o.price

    def cancel(self, index: int) -> None:
        live = self.live()
        if live:
            live[index % len(live)].apply(OrderTrigger.CANCEL)

    def sweep(self) -> None:
        for o in self.live():
            self.fill_order(o, 100)

    def quantity(self, cap: Decimal, price: Decimal, size: int) -> Decimal:
        """Size an order in per mille of the leverage headroom, so many land near the cap."""
        budget = cap * self.equity
        headroom = budget - self.exposure()
        base = headroom if headroom > 0 else budget
        if base <= 0:
            return size * STEP
        return max(STEP, (base * size / 1000 / price).quantize(STEP, ROUND_DOWN))

    def move(self, bps: int) -> None:
        self.mark = max(TICK, (self.mark * (10_000 + bps) / 10_000).quantize(TICK))


@settings(max_examples=400, deadline=None)
@given(
    steps=_steps,
    cap=st.sampled_from(["0.5", "1", "2", "3", "5", "10"]).map(D),
    cash=st.integers(100, 20_000).map(D),
    mark_cents=st.integers(1_000, 100_000),
)
def test_no_admitted_order_takes_leverage_above_the_cap(
    steps: list[Step],
    cap: Decimal,
    cash: Decimal,
    mark_cents: int,
) -> None:
    book = Book(cash, D(mark_cents) / 100)
    checker = PreTradeRisk(RiskLimits(max_leverage=cap), PROP_INST)
    ids = itertools.count(1)
    for step in steps:
        if isinstance(step, FillStep):
            book.fill(step.pick, step.percent)
            continue
        if isinstance(step, CancelStep):
            book.cancel(step.pick)
            continue
        if isinstance(step, MoveStep):
            book.move(step.bps)
            continue
        if isinstance(step, SweepStep):
            book.sweep()
            continue
        side, bps, size, reduce_only = step
        price = max(TICK, (book.mark * (10_000 + bps) / 10_000).quantize(TICK))
        cmd = PlaceOrder(
            SYMBOL,
            side,
            LIMIT,
            book.quantity(cap, price, size),
            price,
            TimeInForce.GTC,
            None,
            reduce_only,
        )
        before = book.exposure()
        after = book.exposure(cmd)
        increases = after > before
        lev_before = book.leverage(before)
        lev_after = book.leverage(after)  # what leverage would be with the order admitted
        verdict = checker.check(cmd, book.position, book.orders, book.equity, book.mark)

        # An order that would raise leverage above the cap is always refused ...
        if increases and lev_after > cap:
            assert not verdict.allowed, verdict
            expected_rule = RiskRule.NO_EQUITY if book.equity <= 0 else RiskRule.LEVERAGE
            assert verdict.rule is expected_rule, verdict
        # ... and nothing else is (no other limit is configured here).
        else:
            assert verdict.allowed, verdict
        if lev_before > cap:
            event("leverage already above the cap before the order")
            # Above the cap: risk-increasing orders refused, reduce-only/reducing ones pass.
            assert verdict.allowed is (reduce_only or not increases), verdict
            if verdict.allowed:
                event("risk-reducing order admitted above the cap")
            else:
                event("risk-increasing order refused above the cap")

        if not verdict.allowed:
            event(f"refused: {verdict.rule}")
            continue
        admitted = Order(
            f"gb-{next(ids)}",
            SYMBOL,
            side,
            LIMIT,
            cmd.quantity,
            price,
            TimeInForce.GTC,
            None,
            reduce_only,
        )
        admitted.apply(OrderTrigger.ACCEPT)
        book.orders.append(admitted)
        # From scratch, after admission: an admitted order never leaves leverage above the
        # cap unless it lowered or kept the worst case (then leverage did not rise).
        exposure_now = book.exposure()
        lev_now = book.leverage(exposure_now)
        if increases or lev_before <= cap:
            assert lev_now <= cap, (lev_before, lev_now, cap)
        else:
            assert exposure_now <= before
            assert lev_now <= lev_before
