"""The adaptive grid's plan: properties over random markets, and the order diff by hand.

Futures BTCUSDT (tick 0.1, lot 0.001, 10 USDT minimum notional on the built-in filters) and
spot BTCUSDT are the instruments; hypothesis draws centres, steps, equity, positions, legs
and gates, and every plan must keep the invariants the strategy relies on.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from bootstrap.instruments import builtin_instrument
from domain.commands import CancelOrder, ModifyOrder, PlaceOrder
from domain.enums import MarketType, OrderType, Side, TimeInForce
from domain.grid.confidence_sizing import FACTOR_STEP, side_size_factors
from domain.grid.order_budget import OrderBudget
from domain.grid.order_diff import diff_orders
from domain.grid.plan import (
    ENTRY,
    GridGeometry,
    Ladder,
    Leg,
    PlannedOrder,
    level_counts,
    plan_grid,
    take_profit_order,
    take_profit_price,
)
from domain.orders import Order, OrderTrigger

D = Decimal
FUT = builtin_instrument(MarketType.USDM_FUTURES, "BTCUSDT")
SPOT = builtin_instrument(MarketType.SPOT, "BTCUSDT")
GTX = TimeInForce.GTX


def _legs(draw: st.DrawFn, centre: Decimal, step: Decimal) -> list[Leg]:
    legs = []
    for i in range(draw(st.integers(0, 4))):
        side = draw(st.sampled_from([Side.BUY, Side.SELL]))
        k = draw(st.integers(1, 6))
        entry = FUT.round_price(
            centre * (1 - k * step) if side is Side.BUY else centre * (1 + k * step)
        )
        qty = D(draw(st.integers(1, 50))) * D("0.001")
        tp = take_profit_price(FUT, side, entry, step, D(1))
        legs.append(
            Leg(f"gb-{i}", f"grid:{side.value}:{k}", side, tp, qty, D(0), qty * entry, qty, False)
        )
    return legs


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, object]:
    centre = D(draw(st.integers(20_000, 120_000)))
    step = D(draw(st.integers(12, 300))) / D(100_000)  # 0.012 % .. 0.3 %
    equity = D(draw(st.integers(500, 200_000)))
    fraction = D(draw(st.integers(1, 30))) / D(100)
    move = D(draw(st.integers(-5, 5))) * step * centre / D(2)
    close = FUT.round_price(centre + move)
    legs = _legs(draw, centre, step)
    position = sum(
        (leg.open_quantity if leg.side is Side.BUY else -leg.open_quantity for leg in legs), D(0)
    )
    conviction = draw(st.floats(-1, 1))
    return {
        "geometry": GridGeometry(centre, step, fraction * equity),
        "close": close,
        "equity": equity,
        "legs": legs,
        "position": position,
        "max_exposure": D(draw(st.sampled_from(["0.5", "1", "2"]))),
        "levels": draw(st.integers(1, 12)),
        "asymmetry": D(draw(st.sampled_from(["0", "0.5", "1"]))),
        "conviction": conviction,
        "confidence_sizing": D(draw(st.sampled_from(["0", "0.5", "1"]))),
        "confidence": draw(st.none() | st.floats(0, 1)),
        "blocked": draw(
            st.sampled_from([frozenset(), frozenset({Side.BUY}), frozenset({Side.SELL})])
        ),
    }


def _plan(s: dict[str, object]):  # type: ignore[no-untyped-def]
    geometry = s["geometry"]
    levels = s["levels"]
    asymmetry = s["asymmetry"]
    assert isinstance(geometry, GridGeometry) and isinstance(levels, int)
    assert isinstance(asymmetry, Decimal)
    factors = side_size_factors(
        s["confidence_sizing"],  # type: ignore[arg-type]
        float(s["conviction"]),  # type: ignore[arg-type]
        s["confidence"],  # type: ignore[arg-type]
    )
    ladder = Ladder(geometry, levels * 2, FUT, factors)
    legs = s["legs"]
    assert isinstance(legs, list)
    tps = {leg.key: take_profit_order(leg, FUT) for leg in legs}
    counts = level_counts(levels, asymmetry, float(s["conviction"]))  # type: ignore[arg-type]
    return plan_grid(
        ladder,
        legs,
        tps,
        s["close"],  # type: ignore[arg-type]
        s["position"],  # type: ignore[arg-type]
        s["equity"],  # type: ignore[arg-type]
        s["max_exposure"],  # type: ignore[arg-type]
        counts,
        s["blocked"],  # type: ignore[arg-type]
    ), counts


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_plan_orders_pass_the_filters(s: dict[str, object]) -> None:
    plan, _ = _plan(s)
    for order in plan.orders:
        FUT.check_order(
            order.side, OrderType.LIMIT, order.quantity, order.price, None, order.reduce_only
        )


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_worst_case_exposure_never_above_the_budget(s: dict[str, object]) -> None:
    plan, _ = _plan(s)
    close = s["close"]
    cap = s["max_exposure"] * s["equity"]  # type: ignore[operator]
    position = s["position"]
    assert isinstance(close, Decimal) and isinstance(position, Decimal)
    for side, start in ((Side.BUY, position), (Side.SELL, -position)):
        mine = [o for o in plan.orders if o.side is side]
        if not any(o.role == ENTRY for o in mine):
            continue
        worst = start + sum((o.quantity for o in mine), D(0))
        valued = max([close, *(o.price for o in mine)])
        assert worst * valued <= cap


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_levels_monotonic_on_the_right_side_and_never_on_a_blocked_side(
    s: dict[str, object],
) -> None:
    plan, counts = _plan(s)
    close = s["close"]
    assert isinstance(close, Decimal)
    entries = [o for o in plan.orders if o.role == ENTRY]
    for side in (Side.BUY, Side.SELL):
        mine = [o for o in entries if o.side is side]
        assert len(mine) <= counts[side]
        if side in s["blocked"]:  # type: ignore[operator]
            assert not mine
        by_level = sorted(mine, key=lambda o: int(o.tag.rsplit(":", 1)[1]))
        prices = [o.price for o in by_level]
        if side is Side.BUY:
            assert all(p < close for p in prices)
            assert prices == sorted(prices, reverse=True) and len(set(prices)) == len(prices)
        else:
            assert all(p > close for p in prices)
            assert prices == sorted(prices) and len(set(prices)) == len(prices)
    # Every open leg keeps its take-profit: exits are never withheld.
    tags = {o.tag for o in plan.orders}
    for leg in s["legs"]:  # type: ignore[attr-defined]
        tp = take_profit_order(leg, FUT)
        if not isinstance(tp, str):
            assert f"tp:{leg.key}" in tags


def test_a_level_holding_a_leg_is_not_armed_again() -> None:
    geometry = GridGeometry(D(30000), D("0.002"), D(500))
    ladder = Ladder(geometry, 3, FUT)
    entry = ladder.levels[Side.BUY][0]
    assert not isinstance(entry, str)
    price, qty = entry
    leg = Leg("gb-9", "grid:BUY:1", Side.BUY, D("30000"), qty, D(0), qty * price, qty, False)
    plan = plan_grid(
        ladder,
        [leg],
        {"gb-9": take_profit_order(leg, FUT)},
        D("29990"),
        qty,
        D(10000),
        D(1),
        {Side.BUY: 3, Side.SELL: 3},
    )
    tags = {o.tag for o in plan.orders}
    assert "grid:BUY:1" not in tags and "grid:BUY:2" in tags and "tp:gb-9" in tags


def test_skipped_levels_are_counted_with_their_reason() -> None:
    geometry = GridGeometry(D(30000), D("0.002"), D(5))
    plan = plan_grid(
        Ladder(geometry, 4, FUT), [], {}, D(30000), D(0), D(10000), D(1), level_counts(4, D(0), 0)
    )
    assert plan.orders == ()
    assert plan.skipped == {"LOT_SIZE": 8}  # 5 USDT buys less than one 0.001 lot


def test_spot_sell_levels_need_base() -> None:
    geometry = GridGeometry(D(30000), D("0.002"), D(500))
    plan = plan_grid(
        Ladder(geometry, 3, SPOT),
        [],
        {},
        D(30000),
        D("0.02"),
        D(10000),
        D(1),
        {Side.BUY: 3, Side.SELL: 3},
        sellable=D("0.02"),
    )
    sells = [o for o in plan.orders if o.side is Side.SELL]
    assert len(sells) == 1 and plan.skipped == {"INSUFFICIENT_BASE": 2}


def test_spot_buy_levels_need_quote() -> None:
    """A spot buy locks its notional in quote: buys beyond the quote held wait, counted.

    Here the exposure cap (2x equity) would pass every level, but 1000 USDT pays for two
    500 USDT buys only; before this the third was sent and refused -2010 on every candle
    (docs/validation/findings.md, entry 16).
    """
    geometry = GridGeometry(D(30000), D("0.002"), D(500))
    plan = plan_grid(
        Ladder(geometry, 3, SPOT),
        [],
        {},
        D(30000),
        D("0"),
        D(1000),
        D(2),
        {Side.BUY: 3, Side.SELL: 0},
        sellable=D("0"),
        payable=D(1000),
    )
    buys = [o for o in plan.orders if o.side is Side.BUY]
    assert [o.tag for o in buys] == ["grid:BUY:1", "grid:BUY:2"]
    assert sum(o.price * o.quantity for o in buys) <= D(1000)
    assert plan.skipped == {"INSUFFICIENT_QUOTE": 1}


def test_spot_take_profit_buy_beyond_the_quote_waits_and_entries_get_what_is_left() -> None:
    geometry = GridGeometry(D(30000), D("0.002"), D(300))
    leg = Leg("gs-1", "grid:SELL:1", Side.SELL, D("30000"), D("0.02"), D(0), D(601), D("0.02"))
    leg.opening = False
    tps = {leg.key: take_profit_order(leg, SPOT)}
    args = (Ladder(geometry, 2, SPOT), [leg], tps, D("30050"), D("0.1"), D(10000), D(1))
    counts = {Side.BUY: 2, Side.SELL: 0}
    plan = plan_grid(*args, counts, sellable=D("0.1"), payable=D(500))
    # The take-profit needs 600, more than the 500 held: it waits; the entries share the 500
    # (as sell entries share the base a waiting take-profit sell could not use).
    assert [o.tag for o in plan.orders] == ["grid:BUY:1"]
    assert plan.skipped == {"TP_INSUFFICIENT_QUOTE": 1, "INSUFFICIENT_QUOTE": 1}
    plan = plan_grid(*args, counts, sellable=D("0.1"), payable=D(1000))
    assert [o.tag for o in plan.orders] == ["tp:gs-1", "grid:BUY:1"]
    assert plan.skipped == {"INSUFFICIENT_QUOTE": 1}


@st.composite
def spot_scenarios(draw: st.DrawFn) -> dict[str, object]:
    s = draw(scenarios())
    s["payable"] = D(draw(st.integers(0, 50_000)))
    return s


@settings(max_examples=300, deadline=None)
@given(spot_scenarios())
def test_spot_buys_never_need_more_quote_than_the_account_holds(s: dict[str, object]) -> None:
    geometry = s["geometry"]
    levels = s["levels"]
    legs = s["legs"]
    payable = s["payable"]
    assert isinstance(geometry, GridGeometry) and isinstance(levels, int)
    assert isinstance(legs, list) and isinstance(payable, Decimal)
    counts = level_counts(levels, s["asymmetry"], float(s["conviction"]))  # type: ignore[arg-type]
    held = s["position"]
    assert isinstance(held, Decimal)
    position = abs(held)
    plan = plan_grid(
        Ladder(geometry, levels * 2, SPOT),
        legs,
        {leg.key: take_profit_order(leg, SPOT) for leg in legs},
        s["close"],  # type: ignore[arg-type]
        position,
        s["equity"],  # type: ignore[arg-type]
        s["max_exposure"],  # type: ignore[arg-type]
        counts,
        s["blocked"],  # type: ignore[arg-type]
        sellable=position,
        payable=payable,
    )
    buys = [o for o in plan.orders if o.side is Side.BUY]
    assert sum((o.price * o.quantity for o in buys), D(0)) <= payable


# ---------------------------------------------------------------------- order diff
def _resting(cid: str, side: Side, price: str, qty: str, tag: str, executed: str = "0") -> Order:
    order = Order(cid, "BTCUSDT", side, OrderType.LIMIT, D(qty), D(price), GTX, tag=tag)
    order.apply(OrderTrigger.ACCEPT, 1)
    order.executed_quantity = D(executed)
    return order


def _planned(tag: str, side: Side, price: str, qty: str, role: str = ENTRY) -> PlannedOrder:
    return PlannedOrder(tag, side, D(price), D(qty), role)


def _diff(plan: list[PlannedOrder], orders: list[Order], **kw: object):  # type: ignore[no-untyped-def]
    return diff_orders(
        plan,
        {o.client_order_id: o for o in orders},
        "BTCUSDT",
        D("30000"),
        time_in_force=GTX,
        price_tolerance=D("3"),
        quantity_tolerance=D("0.1"),
        **kw,  # type: ignore[arg-type]
    )


def test_nothing_changed_no_request() -> None:
    orders = [
        _resting("a", Side.BUY, "29940", "0.017", "grid:BUY:1"),
        _resting("b", Side.SELL, "30060", "0.017", "grid:SELL:1"),
        _resting("c", Side.SELL, "30010", "0.02", "tp:x"),
    ]
    plan = [
        _planned("grid:BUY:1", Side.BUY, "29941", "0.0165"),  # within tolerance
        _planned("grid:SELL:1", Side.SELL, "30060", "0.017"),
        _planned("tp:x", Side.SELL, "30010", "0.02", "tp"),
    ]
    diff = _diff(plan, orders)
    assert diff.commands == [] and diff.kept == 3


def test_small_drift_modifies_in_place() -> None:
    orders = [
        _resting("a", Side.BUY, "29940", "0.017", "grid:BUY:1"),
        _resting("b", Side.BUY, "29880", "0.017", "grid:BUY:2", executed="0.005"),
    ]
    plan = [
        _planned("grid:BUY:1", Side.BUY, "29910", "0.017"),
        _planned("grid:BUY:2", Side.BUY, "29850", "0.012"),
    ]
    diff = _diff(plan, orders)
    assert diff.commands == [
        ModifyOrder("a", D("29910"), D("0.017")),
        ModifyOrder("b", D("29850"), D("0.017")),  # total = executed + planned remaining
    ]
    assert diff.modifies == 2 and diff.replaces == 0


def test_side_flip_cancels_first_then_places_nearest_first() -> None:
    orders = [
        _resting("a", Side.BUY, "29940", "0.017", "grid:BUY:1"),
        _resting("b", Side.BUY, "29880", "0.017", "grid:BUY:2"),
    ]
    plan = [
        _planned("grid:SELL:2", Side.SELL, "30120", "0.017"),
        _planned("grid:SELL:1", Side.SELL, "30060", "0.017"),
    ]
    diff = _diff(plan, orders)
    assert diff.commands == [
        CancelOrder("a"),
        CancelOrder("b"),
        PlaceOrder(
            "BTCUSDT",
            Side.SELL,
            OrderType.LIMIT,
            D("0.017"),
            D("30060"),
            GTX,
            None,
            False,
            "grid:SELL:1",
        ),
        PlaceOrder(
            "BTCUSDT",
            Side.SELL,
            OrderType.LIMIT,
            D("0.017"),
            D("30120"),
            GTX,
            None,
            False,
            "grid:SELL:2",
        ),
    ]


def test_modification_cap_turns_a_modify_into_cancel_and_replace() -> None:
    orders = [_resting("a", Side.BUY, "29940", "0.017", "grid:BUY:1")]
    plan = [_planned("grid:BUY:1", Side.BUY, "29900", "0.017")]
    diff = _diff(plan, orders, modifications={"a": 10}, max_modifications=10)
    assert [type(c) for c in diff.commands] == [CancelOrder, PlaceOrder]
    assert diff.replaces == 1


def test_budget_defers_the_farthest_but_never_a_cancel() -> None:
    orders = [_resting("z", Side.SELL, "30500", "0.017", "grid:SELL:9")]
    plan = [_planned(f"grid:BUY:{k}", Side.BUY, str(30000 - 60 * k), "0.017") for k in (1, 2, 3)]
    diff = _diff(plan, orders, budget=2)
    assert diff.commands[0] == CancelOrder("z")
    assert [c.price for c in diff.commands[1:]] == [D("29940"), D("29880")]  # type: ignore[union-attr]
    assert diff.deferred == 1


def test_shrinking_modifies_go_before_growing_ones() -> None:
    orders = [
        _resting("near", Side.BUY, "29940", "0.010", "grid:BUY:1"),
        _resting("far", Side.BUY, "29880", "0.030", "grid:BUY:2"),
    ]
    plan = [
        _planned("grid:BUY:1", Side.BUY, "29940", "0.020"),
        _planned("grid:BUY:2", Side.BUY, "29880", "0.015"),
    ]
    diff = _diff(plan, orders)
    assert [c.client_order_id for c in diff.commands] == ["far", "near"]  # type: ignore[union-attr]


def test_order_budget_windows() -> None:
    budget = OrderBudget(per_10s=3, per_minute=5)
    budget.spend(0, 3)
    assert budget.available(5_000) == 0
    assert budget.available(10_001) == 2  # 10 s window clear, minute has 3 of 5
    budget.spend(10_001, 2)
    assert budget.available(20_002) == 0  # the minute is full
    assert budget.available(60_001) == 3  # the first three left the minute window
    restored = OrderBudget(3, 5)
    restored.restore(budget.snapshot())
    assert restored.available(60_001) == 3


def test_a_take_profit_the_market_passed_rests_one_tick_inside_the_close() -> None:
    geometry = GridGeometry(D(30000), D("0.002"), D(500))
    leg = Leg(
        "gb-1", "grid:SELL:1", Side.SELL, D("29940"), D("0.02"), D(0), D("601.2"), D("0.02"), False
    )
    plan = plan_grid(
        Ladder(geometry, 1, FUT),
        [leg],
        {"gb-1": take_profit_order(leg, FUT)},
        D("29900"),  # below the short leg's take-profit at 29940: a buy there would take
        D("-0.02"),
        D(10000),
        D(1),
        {Side.BUY: 0, Side.SELL: 0},
        tick=D("0.1"),
    )
    assert [(o.tag, o.price) for o in plan.orders] == [("tp:gb-1", D("29899.9"))]
    assert not plan.still_valid(D("29900.1"), D(10000))  # priced off the close: recomputed


def test_price_band_keeps_resting_orders_to_the_edge_but_places_new_ones_inside() -> None:
    geometry = GridGeometry(D(30000), D("0.01"), D(500))
    ladder = Ladder(geometry, 5, FUT)
    args = ([], {}, D(30000), D(0), D(100000), D(1), {Side.BUY: 5, Side.SELL: 0})
    fresh = plan_grid(ladder, *args, band=D("0.05"))
    kept = plan_grid(ladder, *args, band=D("0.05"), resting={"grid:BUY:5", "grid:BUY:4"})
    assert [o.tag for o in fresh.orders] == [f"grid:BUY:{k}" for k in (1, 2, 3, 4)]
    assert [o.tag for o in kept.orders] == [f"grid:BUY:{k}" for k in (1, 2, 3, 4, 5)]


def test_spot_take_profit_beyond_the_base_held_waits_and_is_counted() -> None:
    """Two long legs of 0.02 BTC each, but only 0.03 BTC held (a sell entry sold the rest).

    The nearer leg's take-profit sell fits and rests; the second would sell 0.02 BTC of the
    0.01 left, which spot refuses on every candle: it waits, counted ``TP_INSUFFICIENT_BASE``,
    and no sell entry may use the base the first take-profit claims.
    """
    geometry = GridGeometry(D(30000), D("0.002"), D(600))
    legs = [
        Leg(
            key, f"grid:BUY:{k}", Side.BUY, tp, D("0.02"), D(0), D("0.02") * entry, D("0.02"), False
        )
        for key, k, entry, tp in (
            ("gb-1", 1, D("29940"), D("30000")),
            ("gb-2", 2, D("29880"), D("29940")),
        )
    ]
    tps = {leg.key: take_profit_order(leg, SPOT) for leg in legs}
    plan = plan_grid(
        Ladder(geometry, 2, SPOT),
        legs,
        tps,
        D("29890"),
        D("0.03"),
        D(10000),
        D(1),
        {Side.BUY: 0, Side.SELL: 2},
        sellable=D("0.03"),
    )
    sells = [(o.tag, o.quantity) for o in plan.orders if o.side is Side.SELL]
    assert sells == [("tp:gb-1", D("0.02000"))]
    assert plan.skipped == {"TP_INSUFFICIENT_BASE": 1, "INSUFFICIENT_BASE": 2}
    assert sum(q for _, q in sells) <= D("0.03")

    enough = plan_grid(
        Ladder(geometry, 2, SPOT),
        legs,
        tps,
        D("29890"),
        D("0.04"),
        D(10000),
        D(1),
        {Side.BUY: 0, Side.SELL: 0},
        sellable=D("0.04"),
    )
    assert {o.tag for o in enough.orders} == {"tp:gb-1", "tp:gb-2"}
    assert "TP_INSUFFICIENT_BASE" not in enough.skipped


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([D("0.25"), D("0.5"), D(1)]),
    st.floats(-1, 1).filter(lambda c: c != 0.0),
    st.floats(0, 1),
)
def test_confidence_sizing_scales_only_the_favoured_side_within_its_bounds(
    k: Decimal, conviction: float, p: float
) -> None:
    buy, sell = side_size_factors(k, conviction, p)
    favoured, other = (buy, sell) if conviction > 0 else (sell, buy)
    assert other == 1
    assert FACTOR_STEP <= favoured <= 1 + k
    assert favoured % FACTOR_STEP == 0
    if p > 0.5 + 0.05 / float(k):  # beyond half a rounding step from a coin flip
        assert favoured > 1
    elif p < 0.5 - 0.05 / float(k):
        assert favoured < 1


def test_confidence_sizing_is_off_without_a_calibration_a_side_or_a_k() -> None:
    assert side_size_factors(D(0), 0.8, 0.9) == (1, 1)
    assert side_size_factors(D(1), 0.8, None) == (1, 1)
    assert side_size_factors(D(1), 0.0, 0.9) == (1, 1)
    assert side_size_factors(D("0.5"), 0.3, 0.7) == (D("1.2"), 1)  # 1 + 0.5 x 0.4
    assert side_size_factors(D("0.5"), -0.3, 0.3) == (1, D("0.8"))


def test_a_scaled_ladder_sizes_the_favoured_side_only() -> None:
    geometry = GridGeometry(D(60_000), D("0.002"), D(1000))
    plain = Ladder(geometry, 3, FUT)
    scaled = Ladder(geometry, 3, FUT, (D("1.5"), D(1)))
    assert scaled.levels[Side.SELL] == plain.levels[Side.SELL]
    for (p1, q1), (p2, q2) in zip(plain.levels[Side.BUY], scaled.levels[Side.BUY], strict=True):  # type: ignore[misc]
        assert p1 == p2 and q2 > q1 and abs(q2 * p2 - D("1.5") * q1 * p1) < D(2) * p1 * D("0.001")
