"""Instrument filters and rounding: unit cases per filter plus "any rounded order is valid"."""

from __future__ import annotations

import contextlib
from decimal import Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.enums import MarketType, OrderType, Side
from domain.errors import FilterViolation
from domain.instruments import (
    Instrument,
    LotSizeFilter,
    NotionalFilter,
    PercentPriceBySideFilter,
    PercentPriceFilter,
    PriceFilter,
    Rounding,
)

D = Decimal
SPOT = MarketType.SPOT
FUT = MarketType.USDM_FUTURES
BUY, SELL = Side.BUY, Side.SELL
LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET


def make(
    market: MarketType = SPOT,
    price: tuple[str, str, str] = ("0", "0", "0.01"),
    lot: tuple[str, str, str] = ("0", "0", "0.001"),
    market_lot: tuple[str, str, str] | None = None,
    notional: NotionalFilter | None = None,
    percent_price: PercentPriceFilter | None = None,
    by_side: PercentPriceBySideFilter | None = None,
    max_num_orders: int = 0,
) -> Instrument:
    return Instrument(
        symbol="BTCUSDT",
        market=market,
        base_asset="BTC",
        quote_asset="USDT",
        price_filter=PriceFilter(*(D(v) for v in price)),
        lot_size=LotSizeFilter(*(D(v) for v in lot)),
        market_lot_size=None if market_lot is None else LotSizeFilter(*(D(v) for v in market_lot)),
        notional=notional,
        percent_price=percent_price,
        percent_price_by_side=by_side,
        max_num_orders=max_num_orders,
    )


def exact_mul(a: Decimal, b: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 200
        return a * b


def violation(
    inst: Instrument,
    side: Side,
    order_type: OrderType,
    quantity: str,
    price: str | None,
    reference: str | None = None,
    reduce_only: bool = False,
    stop_price: str | None = None,
) -> FilterViolation | None:
    try:
        inst.check_order(
            side,
            order_type,
            D(quantity),
            None if price is None else D(price),
            None if reference is None else D(reference),
            reduce_only=reduce_only,
            stop_price=None if stop_price is None else D(stop_price),
        )
    except FilterViolation as exc:
        return exc
    return None


def assert_violation(exc: FilterViolation | None, name: str, rule: str) -> None:
    assert exc is not None, f"expected {name}/{rule}"
    assert (exc.filter_name, exc.rule) == (name, rule)


# ------------------------------------------------------------------- step semantics
def test_spot_price_step_counts_from_zero() -> None:
    inst = make(SPOT, price=("0.05", "0", "0.1"))
    assert violation(inst, BUY, LIMIT, "1", "0.1") is None
    assert violation(inst, BUY, LIMIT, "1", "12.3") is None
    assert_violation(violation(inst, BUY, LIMIT, "1", "0.15"), "PRICE_FILTER", "step")


def test_futures_price_step_counts_from_min_price() -> None:
    inst = make(FUT, price=("0.05", "0", "0.1"))
    assert violation(inst, BUY, LIMIT, "1", "0.15") is None
    assert violation(inst, BUY, LIMIT, "1", "0.05") is None
    assert violation(inst, BUY, LIMIT, "1", "12.35") is None
    assert_violation(violation(inst, BUY, LIMIT, "1", "0.1"), "PRICE_FILTER", "step")
    assert_violation(violation(inst, BUY, LIMIT, "1", "12.3"), "PRICE_FILTER", "step")


def test_spot_quantity_step_counts_from_zero() -> None:
    inst = make(SPOT, lot=("0.005", "0", "0.01"))
    assert violation(inst, BUY, LIMIT, "0.02", "1") is None
    assert_violation(violation(inst, BUY, LIMIT, "0.015", "1"), "LOT_SIZE", "step")


def test_futures_quantity_step_counts_from_min_qty() -> None:
    inst = make(FUT, lot=("0.005", "0", "0.01"))
    assert violation(inst, BUY, LIMIT, "0.015", "1") is None
    assert violation(inst, BUY, LIMIT, "0.005", "1") is None
    assert_violation(violation(inst, BUY, LIMIT, "0.02", "1"), "LOT_SIZE", "step")


def test_futures_rounding_uses_min_price_grid() -> None:
    inst = make(FUT, price=("0.05", "0", "0.1"))
    assert inst.round_price(D("0.12"), Rounding.DOWN) == D("0.05")
    assert inst.round_price(D("0.12"), Rounding.UP) == D("0.15")
    assert inst.round_price(D("0.12"), Rounding.NEAREST) == D("0.15")
    assert inst.round_price(D("0.19"), Rounding.NEAREST) == D("0.15")
    assert inst.round_price(D("0.01"), Rounding.UP) == D("0.05")
    with pytest.raises(FilterViolation):
        inst.round_price(D("0.01"), Rounding.DOWN)


def test_spot_rounding_uses_zero_grid() -> None:
    inst = make(SPOT, price=("0.05", "0", "0.1"))
    assert inst.round_price(D("0.12"), Rounding.DOWN) == D("0.1")
    assert inst.round_price(D("0.12"), Rounding.UP) == D("0.2")
    assert inst.round_price(D("0.12"), Rounding.NEAREST) == D("0.1")


# ------------------------------------------------------------------ rounding directions
@pytest.mark.parametrize(
    ("value", "rounding", "expected"),
    [
        ("100.123", Rounding.DOWN, "100.12"),
        ("100.123", Rounding.UP, "100.13"),
        ("100.123", Rounding.NEAREST, "100.12"),
        ("100.127", Rounding.DOWN, "100.12"),
        ("100.127", Rounding.UP, "100.13"),
        ("100.127", Rounding.NEAREST, "100.13"),
        # exact half rounds away from the lower grid point (half-up, not banker's)
        ("100.125", Rounding.NEAREST, "100.13"),
        ("100.135", Rounding.NEAREST, "100.14"),
        ("100.12", Rounding.DOWN, "100.12"),
        ("100.12", Rounding.UP, "100.12"),
        ("100.12", Rounding.NEAREST, "100.12"),
        ("100.1200000001", Rounding.UP, "100.13"),
    ],
)
def test_round_price_directions(value: str, rounding: Rounding, expected: str) -> None:
    inst = make(SPOT, price=("0.01", "1000000", "0.01"))
    assert inst.round_price(D(value), rounding) == D(expected)


@pytest.mark.parametrize(
    ("value", "rounding", "expected"),
    [
        ("100.2", Rounding.NEAREST, "100"),
        ("100.25", Rounding.NEAREST, "100.5"),
        ("100.7", Rounding.NEAREST, "100.5"),
        ("100.75", Rounding.NEAREST, "101"),
        ("100.01", Rounding.UP, "100.5"),
        ("100.99", Rounding.DOWN, "100.5"),
    ],
)
def test_round_price_five_tick(value: str, rounding: Rounding, expected: str) -> None:
    inst = make(SPOT, price=("0", "0", "0.5"))
    assert inst.round_price(D(value), rounding) == D(expected)


def test_round_price_tick_zero_only_checks_bounds() -> None:
    inst = make(SPOT, price=("1", "10", "0"))
    assert inst.round_price(D("3.14159")) == D("3.14159")
    with pytest.raises(FilterViolation) as info:
        inst.round_price(D("10.5"))
    assert (info.value.rule, info.value.limit) == ("max", D("10"))


@pytest.mark.parametrize(
    ("value", "rounding", "expected"),
    [
        ("0.0129", Rounding.DOWN, "0.012"),
        ("0.0129", Rounding.UP, "0.013"),
        ("0.0125", Rounding.NEAREST, "0.013"),
        ("0.0124", Rounding.NEAREST, "0.012"),
        ("0.012", Rounding.UP, "0.012"),
    ],
)
def test_round_quantity_directions(value: str, rounding: Rounding, expected: str) -> None:
    inst = make(SPOT, lot=("0.001", "100", "0.001"))
    assert inst.round_quantity(D(value), LIMIT, rounding) == D(expected)


def test_round_quantity_defaults_to_down() -> None:
    inst = make(SPOT, lot=("0.001", "100", "0.001"))
    assert inst.round_quantity(D("0.0129999")) == D("0.012")


def test_futures_round_quantity_below_min() -> None:
    inst = make(FUT, lot=("0.005", "0", "0.01"))
    assert inst.round_quantity(D("0.001"), LIMIT, Rounding.UP) == D("0.005")
    assert inst.round_quantity(D("0.024"), LIMIT, Rounding.DOWN) == D("0.015")
    assert inst.round_quantity(D("0.024"), LIMIT, Rounding.UP) == D("0.025")
    with pytest.raises(FilterViolation) as info:
        inst.round_quantity(D("0.004"), LIMIT, Rounding.DOWN)
    assert info.value.filter_name == "LOT_SIZE"


def test_round_quantity_below_min_raises() -> None:
    inst = make(SPOT, lot=("0.01", "100", "0.001"))
    with pytest.raises(FilterViolation) as info:
        inst.round_quantity(D("0.0099"))
    assert (info.value.filter_name, info.value.rule) == ("LOT_SIZE", "min")
    with pytest.raises(FilterViolation) as info:
        inst.round_quantity(D("0.0004"))
    assert info.value.rule == "positive"


# -------------------------------------------------------------------- PRICE_FILTER
def test_price_filter_bounds() -> None:
    inst = make(SPOT, price=("1", "1000", "0.01"))
    assert violation(inst, BUY, LIMIT, "1", "1") is None
    assert violation(inst, BUY, LIMIT, "1", "1000") is None
    assert_violation(violation(inst, BUY, LIMIT, "1", "0.99"), "PRICE_FILTER", "min")
    assert_violation(violation(inst, BUY, LIMIT, "1", "1000.01"), "PRICE_FILTER", "max")
    assert_violation(violation(inst, BUY, LIMIT, "1", "0"), "PRICE_FILTER", "positive")
    assert_violation(violation(inst, BUY, LIMIT, "1", "-5"), "PRICE_FILTER", "positive")
    assert_violation(violation(inst, BUY, LIMIT, "1", "10.001"), "PRICE_FILTER", "step")


def test_price_filter_zero_disables_parts() -> None:
    inst = make(SPOT, price=("0", "0", "0"))
    assert violation(inst, BUY, LIMIT, "1", "0.000000001") is None
    assert violation(inst, BUY, LIMIT, "1", "123456789.123456789") is None


def test_price_filter_applies_to_stop_price() -> None:
    inst = make(FUT, price=("0.1", "1000", "0.1"))
    kind = OrderType.STOP_MARKET
    assert violation(inst, SELL, kind, "1", None, stop_price="99.1") is None
    assert_violation(
        violation(inst, SELL, kind, "1", None, stop_price="99.15"), "PRICE_FILTER", "step"
    )
    assert_violation(
        violation(inst, SELL, kind, "1", None, stop_price="2000"), "PRICE_FILTER", "max"
    )


def test_round_price_raises_outside_bounds() -> None:
    inst = make(SPOT, price=("1", "100", "0.5"))
    with pytest.raises(FilterViolation) as info:
        inst.round_price(D("0.9"), Rounding.DOWN)
    assert info.value.rule in {"min", "positive"}
    with pytest.raises(FilterViolation) as info:
        inst.round_price(D("100.1"), Rounding.UP)
    assert info.value.rule == "max"
    assert inst.round_price(D("100.1"), Rounding.DOWN) == D("100")


# ----------------------------------------------------------- LOT_SIZE / MARKET_LOT_SIZE
def test_lot_size_bounds() -> None:
    inst = make(SPOT, lot=("0.001", "9", "0.001"))
    assert violation(inst, BUY, LIMIT, "0.001", "1") is None
    assert violation(inst, BUY, LIMIT, "9", "1") is None
    assert_violation(violation(inst, BUY, LIMIT, "0.0009", "1"), "LOT_SIZE", "min")
    assert_violation(violation(inst, BUY, LIMIT, "9.001", "1"), "LOT_SIZE", "max")
    assert_violation(violation(inst, BUY, LIMIT, "0.0015", "1"), "LOT_SIZE", "step")
    assert_violation(violation(inst, BUY, LIMIT, "0", "1"), "LOT_SIZE", "positive")


def test_market_lot_size_is_used_for_market_orders() -> None:
    inst = make(SPOT, lot=("0.001", "100", "0.001"), market_lot=("0.01", "5", "0.01"))
    # LIMIT uses LOT_SIZE only.
    assert violation(inst, BUY, LIMIT, "0.005", "1") is None
    assert violation(inst, BUY, LIMIT, "6", "1") is None
    # MARKET uses MARKET_LOT_SIZE.
    assert violation(inst, BUY, MARKET, "0.05", None) is None
    assert_violation(violation(inst, BUY, MARKET, "0.005", None), "MARKET_LOT_SIZE", "min")
    assert_violation(violation(inst, BUY, MARKET, "0.015", None), "MARKET_LOT_SIZE", "step")
    assert_violation(violation(inst, BUY, MARKET, "6", None), "MARKET_LOT_SIZE", "max")
    assert inst.round_quantity(D("0.0159"), MARKET) == D("0.01")
    assert inst.round_quantity(D("0.0159"), LIMIT) == D("0.015")


def test_spot_market_orders_also_check_lot_size() -> None:
    inst = make(SPOT, lot=("0.001", "1", "0.001"), market_lot=("0", "5", "0"))
    assert violation(inst, BUY, MARKET, "0.5", None) is None
    assert_violation(violation(inst, BUY, MARKET, "0.0015", None), "LOT_SIZE", "step")
    assert_violation(violation(inst, BUY, MARKET, "2", None), "LOT_SIZE", "max")
    # A disabled MARKET_LOT_SIZE step does not disable LOT_SIZE's step when rounding.
    assert inst.round_quantity(D("0.12345"), MARKET) == D("0.123")


def test_futures_market_orders_use_only_market_lot_size() -> None:
    inst = make(FUT, lot=("0.001", "1", "0.001"), market_lot=("0.01", "5", "0.01"))
    assert violation(inst, BUY, MARKET, "2.01", None) is None  # above LOT_SIZE max
    assert_violation(violation(inst, BUY, MARKET, "0.015", None), "MARKET_LOT_SIZE", "step")
    assert_violation(violation(inst, BUY, LIMIT, "2.01", None), "LOT_SIZE", "max")
    assert inst.round_quantity(D("2.0199"), MARKET) == D("2.01")


def test_market_orders_fall_back_to_lot_size() -> None:
    inst = make(SPOT, lot=("0.001", "100", "0.001"))
    assert_violation(violation(inst, BUY, MARKET, "0.0015", None), "LOT_SIZE", "step")
    assert violation(inst, BUY, MARKET, "0.002", None) is None


# ------------------------------------------------------------------- MIN_NOTIONAL
def test_min_notional_limit_orders() -> None:
    inst = make(SPOT, notional=NotionalFilter(min_notional=D("10")))
    assert violation(inst, BUY, LIMIT, "0.1", "100") is None  # exactly 10
    exc = violation(inst, BUY, LIMIT, "0.099", "100")
    assert_violation(exc, "MIN_NOTIONAL", "min")
    assert exc is not None
    assert (exc.value, exc.limit) == (D("9.9"), D("10"))


def test_min_notional_market_orders_use_reference_price() -> None:
    inst = make(FUT, notional=NotionalFilter(min_notional=D("5")))
    assert violation(inst, BUY, MARKET, "0.001", None, reference="5000") is None
    assert_violation(
        violation(inst, BUY, MARKET, "0.001", None, reference="4999"), "MIN_NOTIONAL", "min"
    )
    # Without any price the notional cannot be known and is not checked.
    assert violation(inst, BUY, MARKET, "0.001", None) is None


def test_min_notional_apply_to_market_flag() -> None:
    inst = make(SPOT, notional=NotionalFilter(min_notional=D("10"), apply_min_to_market=False))
    assert violation(inst, BUY, MARKET, "0.001", None, reference="100") is None
    assert_violation(violation(inst, BUY, LIMIT, "0.001", "100"), "MIN_NOTIONAL", "min")


def test_futures_reduce_only_is_exempt_from_min_notional() -> None:
    fut = make(FUT, notional=NotionalFilter(min_notional=D("5")))
    assert_violation(violation(fut, SELL, LIMIT, "0.001", "100"), "MIN_NOTIONAL", "min")
    assert violation(fut, SELL, LIMIT, "0.001", "100", reduce_only=True) is None
    assert violation(fut, SELL, MARKET, "0.001", None, reference="100", reduce_only=True) is None
    spot = make(SPOT, notional=NotionalFilter(min_notional=D("5")))
    assert_violation(
        violation(spot, SELL, LIMIT, "0.001", "100", reduce_only=True), "MIN_NOTIONAL", "min"
    )


def test_spot_notional_max() -> None:
    inst = make(SPOT, notional=NotionalFilter(min_notional=D("5"), max_notional=D("1000")))
    assert violation(inst, BUY, LIMIT, "10", "100") is None  # exactly max
    assert_violation(violation(inst, BUY, LIMIT, "10.001", "100"), "NOTIONAL", "max")
    assert_violation(violation(inst, BUY, LIMIT, "0.01", "100"), "NOTIONAL", "min")
    # applyMaxToMarket defaults to false
    assert violation(inst, BUY, MARKET, "20", None, reference="100") is None
    strict = make(
        SPOT,
        notional=NotionalFilter(
            D("5"), D("1000"), apply_min_to_market=True, apply_max_to_market=True
        ),
    )
    assert_violation(violation(strict, BUY, MARKET, "20", None, reference="100"), "NOTIONAL", "max")


# ------------------------------------------------------------------ PERCENT_PRICE
PP = PercentPriceFilter(multiplier_up=D("1.05"), multiplier_down=D("0.95"))


@pytest.mark.parametrize("side", [BUY, SELL])
def test_spot_percent_price_checks_both_bounds(side: Side) -> None:
    inst = make(SPOT, percent_price=PP)
    assert violation(inst, side, LIMIT, "1", "105", reference="100") is None
    assert violation(inst, side, LIMIT, "1", "95", reference="100") is None
    assert_violation(
        violation(inst, side, LIMIT, "1", "105.01", reference="100"), "PERCENT_PRICE", "up"
    )
    assert_violation(
        violation(inst, side, LIMIT, "1", "94.99", reference="100"), "PERCENT_PRICE", "down"
    )


def test_futures_percent_price_buy_checks_only_upper() -> None:
    inst = make(FUT, price=("0.01", "0", "0.01"), percent_price=PP)
    assert_violation(
        violation(inst, BUY, LIMIT, "1", "105.01", reference="100"), "PERCENT_PRICE", "up"
    )
    assert violation(inst, BUY, LIMIT, "1", "105", reference="100") is None
    assert violation(inst, BUY, LIMIT, "1", "50", reference="100") is None


def test_futures_percent_price_sell_checks_only_lower() -> None:
    inst = make(FUT, price=("0.01", "0", "0.01"), percent_price=PP)
    assert_violation(
        violation(inst, SELL, LIMIT, "1", "94.99", reference="100"), "PERCENT_PRICE", "down"
    )
    assert violation(inst, SELL, LIMIT, "1", "95", reference="100") is None
    assert violation(inst, SELL, LIMIT, "1", "200", reference="100") is None


def test_percent_price_skipped_without_reference() -> None:
    inst = make(SPOT, percent_price=PP)
    assert violation(inst, BUY, LIMIT, "1", "500") is None


def test_percent_price_by_side() -> None:
    band = PercentPriceBySideFilter(
        bid_multiplier_up=D("1.01"),
        bid_multiplier_down=D("0.5"),
        ask_multiplier_up=D("2"),
        ask_multiplier_down=D("0.99"),
    )
    inst = make(SPOT, by_side=band)
    name = "PERCENT_PRICE_BY_SIDE"
    assert violation(inst, BUY, LIMIT, "1", "101", reference="100") is None
    assert violation(inst, BUY, LIMIT, "1", "50", reference="100") is None
    assert_violation(violation(inst, BUY, LIMIT, "1", "101.01", reference="100"), name, "up")
    assert_violation(violation(inst, BUY, LIMIT, "1", "49.99", reference="100"), name, "down")
    assert violation(inst, SELL, LIMIT, "1", "200", reference="100") is None
    assert violation(inst, SELL, LIMIT, "1", "99", reference="100") is None
    assert_violation(violation(inst, SELL, LIMIT, "1", "98.99", reference="100"), name, "down")
    assert_violation(violation(inst, SELL, LIMIT, "1", "200.01", reference="100"), name, "up")


# ----------------------------------------------------------------- MAX_NUM_ORDERS
def test_max_num_orders() -> None:
    inst = make(SPOT, max_num_orders=200)
    inst.check_open_order_count(0)
    inst.check_open_order_count(199)
    with pytest.raises(FilterViolation) as info:
        inst.check_open_order_count(200)
    assert (info.value.filter_name, info.value.value, info.value.limit) == (
        "MAX_NUM_ORDERS",
        201,
        200,
    )
    make(SPOT, max_num_orders=0).check_open_order_count(10_000)


# -------------------------------------------------------------- quantity_for_notional
def test_quantity_for_notional_rounds_down() -> None:
    inst = make(SPOT, lot=("0.00001", "9000", "0.00001"), notional=NotionalFilter(D("5")))
    qty = inst.quantity_for_notional(D("100"), D("30000"))
    assert qty == D("0.00333")
    assert qty * D("30000") <= D("100")
    assert (qty + D("0.00001")) * D("30000") > D("100")


def test_quantity_for_notional_futures_grid() -> None:
    inst = make(FUT, lot=("0.005", "0", "0.01"))
    assert inst.quantity_for_notional(D("2.4"), D("100")) == D("0.015")


def test_quantity_for_notional_below_minimums() -> None:
    inst = make(SPOT, lot=("0.001", "0", "0.001"), notional=NotionalFilter(D("10")))
    with pytest.raises(FilterViolation) as info:
        inst.quantity_for_notional(D("9.99"), D("100"))  # 0.099 BTC = 9.9 USDT
    assert info.value.filter_name == "MIN_NOTIONAL"
    with pytest.raises(FilterViolation) as info:
        inst.quantity_for_notional(D("0.05"), D("100"))
    assert info.value.filter_name == "LOT_SIZE"
    with pytest.raises(FilterViolation):
        inst.quantity_for_notional(D("100"), D("0"))


def test_quantity_for_notional_market_lot() -> None:
    inst = make(SPOT, lot=("0.001", "0", "0.001"), market_lot=("0.01", "0", "0.01"))
    assert inst.quantity_for_notional(D("12.99"), D("100"), MARKET) == D("0.12")
    assert inst.quantity_for_notional(D("12.99"), D("100"), LIMIT) == D("0.129")


# -------------------------------------------------------------------- round_order
def test_round_order_is_never_more_aggressive() -> None:
    inst = make(SPOT, price=("0.01", "0", "0.01"), lot=("0.001", "0", "0.001"))
    assert inst.round_order(BUY, LIMIT, D("0.0129"), D("100.129")) == (D("100.12"), D("0.012"))
    assert inst.round_order(SELL, LIMIT, D("0.0129"), D("100.121")) == (D("100.13"), D("0.012"))
    assert inst.round_order(BUY, MARKET, D("0.0129"), None) == (None, D("0.012"))


def test_round_order_raises_when_band_broken() -> None:
    inst = make(SPOT, percent_price=PP, notional=NotionalFilter(D("10")))
    with pytest.raises(FilterViolation) as info:
        inst.round_order(BUY, LIMIT, D("1"), D("94.999"), reference_price=D("100"))
    assert info.value.filter_name == "PERCENT_PRICE"
    with pytest.raises(FilterViolation) as info:
        inst.round_order(BUY, LIMIT, D("0.0999"), D("100"), reference_price=D("100"))
    assert info.value.filter_name == "MIN_NOTIONAL"


# ------------------------------------------------------------- hypothesis properties
def _grid_size(k_max: int) -> st.SearchStrategy[Decimal]:
    return st.builds(
        lambda mult, k: D(mult) * D(10) ** -k,
        st.sampled_from([1, 5]),
        st.integers(min_value=0, max_value=k_max),
    )


def _decimal(places: int, lo: str, hi: str) -> st.SearchStrategy[Decimal]:
    return st.decimals(
        min_value=D(lo), max_value=D(hi), places=places, allow_nan=False, allow_infinity=False
    )


@st.composite
def instruments(draw: st.DrawFn, stepped: bool = False) -> Instrument:
    market = draw(st.sampled_from([SPOT, FUT]))
    maybe_zero = st.nothing() if stepped else st.just(D(0))
    tick = draw(st.one_of(maybe_zero, _grid_size(8)))
    min_price = draw(st.one_of(st.just(D(0)), _decimal(8, "0.00000001", "100")))
    max_price = draw(
        st.one_of(st.just(D(0)), _decimal(2, "1", "1000000").map(lambda x: x + min_price))
    )
    step = draw(st.one_of(maybe_zero, _grid_size(8)))
    min_qty = draw(st.one_of(st.just(D(0)), _decimal(8, "0.00000001", "10")))
    max_qty = draw(st.one_of(st.just(D(0)), _decimal(3, "1", "100000").map(lambda x: x + min_qty)))
    market_lot = None
    if draw(st.booleans()):
        m_step = draw(st.one_of(st.just(D(0)), _grid_size(6)))
        m_min = draw(st.one_of(st.just(D(0)), _decimal(6, "0.000001", "10")))
        market_lot = LotSizeFilter(m_min, draw(_decimal(2, "10", "1000")) + m_min, m_step)
    notional = None
    if draw(st.booleans()):
        min_notional = draw(_decimal(2, "0", "100"))
        max_notional = D(0)
        if market is SPOT and draw(st.booleans()):
            max_notional = draw(_decimal(2, "100", "10000000"))
        notional = NotionalFilter(
            min_notional, max_notional, draw(st.booleans()), draw(st.booleans())
        )
    percent_price = None
    if draw(st.booleans()):
        percent_price = PercentPriceFilter(
            draw(_decimal(2, "1.01", "5")), draw(_decimal(2, "0.2", "0.99"))
        )
    by_side = None
    if market is SPOT and draw(st.booleans()):
        by_side = PercentPriceBySideFilter(
            draw(_decimal(2, "1.01", "5")),
            draw(_decimal(2, "0.2", "0.99")),
            draw(_decimal(2, "1.01", "5")),
            draw(_decimal(2, "0.2", "0.99")),
        )
    return Instrument(
        symbol="XUSDT",
        market=market,
        base_asset="X",
        quote_asset="USDT",
        price_filter=PriceFilter(min_price, max_price, tick),
        lot_size=LotSizeFilter(min_qty, max_qty, step),
        market_lot_size=market_lot,
        notional=notional,
        percent_price=percent_price,
        percent_price_by_side=by_side,
    )


def _log_decimal(min_exp: int, max_exp: int) -> st.SearchStrategy[Decimal]:
    """Up to 7 significant digits at a log-uniform magnitude: realistic prices and sizes."""
    return st.builds(
        lambda mantissa, exp: D(mantissa).scaleb(exp),
        st.integers(min_value=1, max_value=9_999_999),
        st.integers(min_value=min_exp, max_value=max_exp),
    )


prices = st.one_of(_decimal(10, "0.0000000001", "2000000"), _log_decimal(-16, 0))
quantities = st.one_of(_decimal(10, "0.0000000001", "200000"), _log_decimal(-16, -1))


def _on_grid(value: Decimal, base: Decimal, step: Decimal) -> bool:
    """Independent oracle: (value - base) / step is a whole number."""
    if not step:
        return True
    return ((value - base) / step) == ((value - base) / step).to_integral_value()


def _assert_valid_price(inst: Instrument, price: Decimal) -> None:
    pf = inst.price_filter
    assert price > 0
    if pf.min_price:
        assert price >= pf.min_price
    if pf.max_price:
        assert price <= pf.max_price
    base = pf.min_price if inst.market is FUT else D(0)
    assert _on_grid(price, base, pf.tick_size)


def _applicable_lots(inst: Instrument, order_type: OrderType) -> list[LotSizeFilter]:
    """Spot: LOT_SIZE always, MARKET_LOT_SIZE in addition for MARKET; futures: one or the other."""
    if order_type is LIMIT or inst.market_lot_size is None:
        return [inst.lot_size]
    if inst.market is FUT:
        return [inst.market_lot_size]
    return [inst.lot_size, inst.market_lot_size]


def _coarsest_step(inst: Instrument, order_type: OrderType) -> Decimal:
    return max(lot.step_size for lot in _applicable_lots(inst, order_type))


def _assert_valid_quantity(inst: Instrument, qty: Decimal, order_type: OrderType) -> None:
    assert qty > 0
    for lot in _applicable_lots(inst, order_type):
        if lot.min_qty:
            assert qty >= lot.min_qty
        if lot.max_qty:
            assert qty <= lot.max_qty
        base = lot.min_qty if inst.market is FUT else D(0)
        assert _on_grid(qty, base, lot.step_size)


@settings(max_examples=500, deadline=None)
@given(
    inst=instruments(),
    side=st.sampled_from([BUY, SELL]),
    order_type=st.sampled_from([LIMIT, MARKET]),
    price=prices,
    qty=quantities,
    ref_factor=st.one_of(st.none(), _decimal(2, "0.5", "1.5")),
    reduce_only=st.booleans(),
)
def test_any_rounded_order_passes_every_filter(
    inst: Instrument,
    side: Side,
    order_type: OrderType,
    price: Decimal,
    qty: Decimal,
    ref_factor: Decimal | None,
    reduce_only: bool,
) -> None:
    limit_price = price if order_type is LIMIT else None
    reference = None if ref_factor is None else price * ref_factor
    try:
        rounded_price, rounded_qty = inst.round_order(
            side, order_type, qty, limit_price, reference, reduce_only
        )
    except FilterViolation:
        return
    inst.check_order(side, order_type, rounded_qty, rounded_price, reference, reduce_only)
    _assert_valid_quantity(inst, rounded_qty, order_type)
    assert rounded_qty <= qty
    step = _coarsest_step(inst, order_type)
    if step:
        assert qty - rounded_qty < step
    else:
        assert rounded_qty == qty
    if limit_price is None:
        assert rounded_price is None
        return
    assert rounded_price is not None
    _assert_valid_price(inst, rounded_price)
    if side is BUY:
        assert rounded_price <= limit_price
    else:
        assert rounded_price >= limit_price
    tick = inst.price_filter.tick_size
    assert abs(rounded_price - limit_price) < tick if tick else rounded_price == limit_price
    if inst.notional is not None and rounded_price is not None:
        notional = exact_mul(rounded_price, rounded_qty)
        nf = inst.notional
        if nf.min_notional and not (reduce_only and inst.market is FUT):
            assert notional >= nf.min_notional
        if nf.max_notional:
            assert notional <= nf.max_notional


@settings(max_examples=300, deadline=None)
@given(
    inst=instruments(stepped=True),
    side=st.sampled_from([BUY, SELL]),
    units_p=st.integers(min_value=0, max_value=10**7),
    units_q=st.integers(min_value=0, max_value=10**7),
    ref_factor=st.one_of(st.none(), _decimal(2, "0.5", "1.5")),
)
def test_valid_order_survives_rounding_unchanged(
    inst: Instrument, side: Side, units_p: int, units_q: int, ref_factor: Decimal | None
) -> None:
    pf, lot = inst.price_filter, inst.lot_size
    assert pf.tick_size and lot.step_size
    p_base = pf.min_price if inst.market is FUT else D(0)
    q_base = lot.min_qty if inst.market is FUT else D(0)
    price = p_base + units_p * pf.tick_size
    qty = q_base + units_q * lot.step_size
    reference = None if ref_factor is None else price * ref_factor
    try:
        inst.check_order(side, LIMIT, qty, price, reference)
    except FilterViolation:
        return
    assert inst.round_order(side, LIMIT, qty, price, reference) == (price, qty)


@settings(max_examples=400, deadline=None)
@given(
    inst=instruments(),
    price=prices,
    first=st.sampled_from(list(Rounding)),
    second=st.sampled_from(list(Rounding)),
)
def test_round_price_is_idempotent_and_directional(
    inst: Instrument, price: Decimal, first: Rounding, second: Rounding
) -> None:
    try:
        once = inst.round_price(price, first)
    except FilterViolation:
        return
    _assert_valid_price(inst, once)
    assert inst.round_price(once, second) == once
    if first is Rounding.DOWN:
        assert once <= price
    elif first is Rounding.UP:
        assert once >= price
    tick = inst.price_filter.tick_size
    if tick:
        if first is Rounding.NEAREST:
            assert abs(once - price) * 2 <= tick
        else:
            assert abs(once - price) < tick


@settings(max_examples=300, deadline=None)
@given(
    inst=instruments(),
    qty=quantities,
    order_type=st.sampled_from([LIMIT, MARKET]),
    rounding=st.sampled_from(list(Rounding)),
)
def test_round_quantity_properties(
    inst: Instrument, qty: Decimal, order_type: OrderType, rounding: Rounding
) -> None:
    try:
        once = inst.round_quantity(qty, order_type, rounding)
    except FilterViolation:
        return
    _assert_valid_quantity(inst, once, order_type)
    if rounding is Rounding.DOWN:
        assert once <= qty
    elif rounding is Rounding.UP:
        assert once >= qty
    assert inst.round_quantity(once, order_type, Rounding.DOWN) == once
    assert inst.round_quantity(once, order_type, Rounding.UP) == once


@settings(max_examples=300, deadline=None)
@given(inst=instruments(stepped=True), quote=_decimal(2, "0.01", "1000000"), price=prices)
def test_quantity_for_notional_never_overspends(
    inst: Instrument, quote: Decimal, price: Decimal
) -> None:
    # A disabled step (0) is covered by the test below.
    assert inst.lot_size.step_size
    try:
        qty = inst.quantity_for_notional(quote, price)
    except FilterViolation:
        return
    _assert_valid_quantity(inst, qty, LIMIT)
    assert exact_mul(qty, price) <= quote
    step = inst.lot_size.step_size
    if step:
        bigger = qty + step
        assert exact_mul(bigger, price) > quote or (
            inst.lot_size.max_qty and bigger > inst.lot_size.max_qty
        )


@pytest.mark.parametrize("order_type", [LIMIT, MARKET])
def test_quantity_for_notional_with_disabled_step_never_overspends(order_type: OrderType) -> None:
    inst = make(SPOT, lot=("0", "0", "0"), market_lot=("0", "0", "0"))
    qty = inst.quantity_for_notional(D("98.92"), D("0.0000000024"), order_type)
    assert exact_mul(qty, D("0.0000000024")) <= D("98.92")


# ------------------------------------------------------------------ absurdly large values
_HUGE = st.builds(
    lambda mantissa, exponent: Decimal(mantissa).scaleb(exponent),
    st.integers(min_value=1, max_value=10**6),
    st.integers(min_value=10, max_value=999_990),
)


@pytest.mark.parametrize("market", [SPOT, FUT])
@pytest.mark.parametrize("amount", ["1e40", "1e104", "1e400", "1e999999"])
def test_quantity_for_a_huge_budget_is_a_filter_violation(market: MarketType, amount: str) -> None:
    """Issue 11: 1e40 quote per level crashed with DivisionImpossible in the step count."""
    inst = make(market, price=("0.01", "0", "0.01"), lot=("0.001", "0", "0.001"))
    with pytest.raises(FilterViolation) as caught:
        inst.quantity_for_notional(D(amount), D("100000"))
    assert caught.value.rule == "max"


@settings(max_examples=200, deadline=None)
@given(value=_HUGE, market=st.sampled_from([SPOT, FUT]))
def test_rounding_any_huge_value_passes_or_violates_never_crashes(
    value: Decimal, market: MarketType
) -> None:
    inst = make(market, price=("0.01", "0", "0.01"), lot=("0.001", "0", "0.001"))
    for call in (
        lambda: inst.round_price(value),
        lambda: inst.round_quantity(value),
        lambda: inst.quantity_for_notional(value, D("65000.5")),
        lambda: inst.round_order(BUY, LIMIT, value, value),
    ):
        with contextlib.suppress(FilterViolation):
            call()


def test_check_order_with_a_huge_quantity_is_a_violation() -> None:
    inst = make(SPOT)
    assert_violation(violation(inst, BUY, LIMIT, "1e40", "100"), "LOT_SIZE", "step")
