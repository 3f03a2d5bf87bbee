"""StaticGrid: grid construction, recentring, take-profits, residuals, spot inventory limits.

The strategy only reads a TradingContext, so a tiny hand-written context stands in for the
execution service. Expected prices are derived independently here: futures BTCUSDT has
minPrice 402 and tick 0.1 (402 is a multiple of 0.1, so the tick grid is the plain 0.1 grid),
step 0.001 and a 10 USDT minimum notional.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import pytest

from bootstrap.instruments import builtin_instrument
from domain.account import AccountProjection
from domain.candles import MINUTE_MS, Candle
from domain.commands import CancelAllOrders, Command, PlaceOrder
from domain.enums import Liquidity, MarketType, OrderType, Side, TimeInForce
from domain.events import OrderAccepted, OrderCanceled, OrderFilled
from domain.grid.static_grid import StaticGrid, StaticGridParams
from domain.instruments import Instrument
from domain.orders import Fill, Order

D = Decimal
SYMBOL = "BTCUSDT"
FUT = builtin_instrument(MarketType.USDM_FUTURES, SYMBOL)
SPOT = builtin_instrument(MarketType.SPOT, SYMBOL)
BUY, SELL = Side.BUY, Side.SELL
TICK = D("0.1")
STEP = D("0.001")


@dataclass
class FakeContext:
    """The read-only view a strategy gets, with nothing behind it."""

    instrument: Instrument
    account: AccountProjection
    open_orders: dict[str, Order] = field(default_factory=dict)


def context(
    instrument: Instrument = FUT, cash: str = "100000", base: str = "0", price: str = "0"
) -> FakeContext:
    return FakeContext(instrument, AccountProjection(instrument, D(cash), D(base), D(price)))


def candle(close: str, minute: int = 0) -> Candle:
    c = D(close)
    t = minute * MINUTE_MS
    return Candle(t, c, c, c, c, D("100"), t + 59_999)


def floor_to(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(ROUND_FLOOR) * step


def ceil_to(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(ROUND_CEILING) * step


def places(commands: list[Command] | tuple[Command, ...]) -> list[PlaceOrder]:
    out = [c for c in commands if isinstance(c, PlaceOrder)]
    assert len(out) == len([c for c in commands if not isinstance(c, CancelAllOrders)])
    return out


def filled(
    side: Side, qty: str, price: str | Decimal, trade_id: int = 1, cid: str = "gb-1"
) -> tuple[OrderFilled, Order]:
    f = Fill(trade_id, cid, side, D(qty), D(price), D(0), "USDT", Liquidity.MAKER, 0)
    order = Order(cid, SYMBOL, side, OrderType.LIMIT, D(qty), D(price), TimeInForce.GTC)
    return OrderFilled(f), order


def resting(cid: str = "gb-0") -> Order:
    return Order(cid, SYMBOL, BUY, OrderType.LIMIT, D("0.01"), D("40000"), TimeInForce.GTC)


# ---------------------------------------------------------------------- building
def test_first_candle_builds_n_buys_below_and_n_sells_above() -> None:
    params = StaticGridParams(levels=3, spacing=D("0.0015"), quote_per_level=D("500"))
    grid = StaticGrid(SYMBOL, params)
    close = D("43210.7")
    commands = grid.on_candle(candle(str(close)), context())

    assert all(isinstance(c, PlaceOrder) for c in commands)
    orders = places(commands)
    assert len(orders) == 6
    expected = []
    for k in range(1, 4):
        offset = params.spacing * k
        bid = floor_to(close * (1 - offset), TICK)
        ask = ceil_to(close * (1 + offset), TICK)
        expected.append((BUY, bid, floor_to(D(500) / bid, STEP), f"grid:{k}"))
        expected.append((SELL, ask, floor_to(D(500) / ask, STEP), f"grid:{k}"))
    assert [(o.side, o.price, o.quantity, o.tag) for o in orders] == expected
    # Spelled out for the first level: 43145.88395 rounds down, 43275.51605 rounds up.
    assert (orders[0].price, orders[0].quantity) == (D("43145.8"), D("0.011"))
    assert (orders[1].price, orders[1].quantity) == (D("43275.6"), D("0.011"))
    for o in orders:
        assert o.symbol == SYMBOL
        assert o.order_type is OrderType.LIMIT
        assert o.time_in_force is TimeInForce.GTC
        assert not o.reduce_only and o.stop_price is None
        assert (o.price - FUT.price_filter.min_price) % TICK == 0
        assert o.price * o.quantity <= params.quote_per_level
        assert o.price * o.quantity >= D(10)
    assert all(o.price < close for o in orders if o.side is BUY)
    assert all(o.price > close for o in orders if o.side is SELL)
    assert grid.center == close
    assert grid.recenters == 0


def test_levels_below_min_price_or_notional_are_skipped() -> None:
    grid = StaticGrid(SYMBOL, StaticGridParams(3, D("0.01"), D("500")))
    orders = places(grid.on_candle(candle("410"), context()))
    # 410 x 0.99 = 405.9 is valid; 401.8 and 397.7 lie below minPrice 402.
    assert [(o.side, o.price) for o in orders] == [
        (BUY, D("405.9")),
        (SELL, D("414.1")),
        (SELL, D("418.2")),
        (SELL, D("422.3")),
    ]
    tiny = StaticGrid(SYMBOL, StaticGridParams(2, D("0.01"), D("5")))
    assert tiny.on_candle(candle("50000"), context()) == []


def test_post_only_uses_gtx_for_grid_and_take_profit() -> None:
    grid = StaticGrid(SYMBOL, StaticGridParams(2, D("0.002"), D("500"), post_only=True))
    ctx = context()
    orders = places(grid.on_candle(candle("50000"), ctx))
    assert {o.time_in_force for o in orders} == {TimeInForce.GTX}
    [tp] = places(grid.on_execution(*filled(BUY, "0.010", "49900"), ctx))
    assert tp.time_in_force is TimeInForce.GTX


# --------------------------------------------------------------------- recentring
def test_no_commands_while_close_stays_in_the_band() -> None:
    grid = StaticGrid(SYMBOL, StaticGridParams(2, D("0.002"), D("500"), D("0.01")))
    ctx = context()
    assert grid.on_candle(candle("50000"), ctx)
    ctx.open_orders["gb-0"] = resting()
    # The band is 50000 +/- 500, inclusive.
    for minute, close in enumerate(["50000", "50499.9", "50500", "49500", "49800.1"], start=1):
        assert grid.on_candle(candle(close, minute), ctx) == ()
    assert grid.center == D("50000")
    assert grid.recenters == 0


@pytest.mark.parametrize("close", ["50500.1", "49499.9", "60000"])
def test_leaving_the_band_cancels_everything_then_rebuilds(close: str) -> None:
    params = StaticGridParams(2, D("0.002"), D("500"), D("0.01"))
    grid = StaticGrid(SYMBOL, params)
    ctx = context()
    grid.on_candle(candle("50000"), ctx)
    ctx.open_orders["gb-0"] = resting()
    commands = grid.on_candle(candle(close, 1), ctx)
    assert commands[0] == CancelAllOrders(SYMBOL)
    rebuilt = places(commands[1:])
    fresh = places(StaticGrid(SYMBOL, params).on_candle(candle(close), context()))
    assert rebuilt == fresh
    assert len(rebuilt) == 4
    assert grid.center == D(close)
    assert grid.recenters == 1
    # The new band is centred on the new close.
    assert grid.on_candle(candle(close, 2), ctx) == ()


def test_recentre_without_open_orders_sends_no_cancel() -> None:
    grid = StaticGrid(SYMBOL, StaticGridParams(1, D("0.002"), D("500"), D("0.01")))
    ctx = context()
    grid.on_candle(candle("50000"), ctx)
    commands = grid.on_candle(candle("52000", 1), ctx)
    assert not any(isinstance(c, CancelAllOrders) for c in commands)
    assert len(commands) == 2
    assert grid.recenters == 1


def test_without_threshold_the_grid_never_recentres() -> None:
    grid = StaticGrid(SYMBOL, StaticGridParams(2, D("0.002"), D("500")))
    ctx = context()
    assert grid.on_candle(candle("50000"), ctx)
    ctx.open_orders["gb-0"] = resting()
    for minute, close in enumerate(["50000", "100000", "1000", "50000.1"], start=1):
        assert grid.on_candle(candle(close, minute), ctx) == ()
    assert grid.center == D("50000")
    assert grid.recenters == 0


# ------------------------------------------------------------------- take-profits
def test_buy_fill_answers_with_a_sell_one_level_up_rounded_up() -> None:
    grid = StaticGrid(SYMBOL, StaticGridParams(3, D("0.0015"), D("500")))
    [tp] = places(grid.on_execution(*filled(BUY, "0.011", "43145.8"), context()))
    # 43145.8 x 1.0015 = 43210.5187 -> 43210.6
    assert tp == PlaceOrder(
        SYMBOL, SELL, OrderType.LIMIT, D("0.011"), D("43210.6"), TimeInForce.GTC, tag="tp"
    )


def test_sell_fill_answers_with_a_buy_one_level_down_rounded_down() -> None:
    grid = StaticGrid(SYMBOL, StaticGridParams(3, D("0.0015"), D("500")))
    [tp] = places(grid.on_execution(*filled(SELL, "0.011", "43275.6"), context()))
    # 43275.6 x 0.9985 = 43210.6866 -> 43210.6
    assert tp == PlaceOrder(
        SYMBOL, BUY, OrderType.LIMIT, D("0.011"), D("43210.6"), TimeInForce.GTC, tag="tp"
    )


@pytest.mark.parametrize("price", ["50000", "43145.8", "12345.6", "999.9"])
@pytest.mark.parametrize("side", [BUY, SELL])
def test_take_profit_price_is_on_tick_and_never_more_aggressive(side: Side, price: str) -> None:
    spacing = D("0.0037")
    grid = StaticGrid(SYMBOL, StaticGridParams(1, spacing, D("500")))
    [tp] = places(grid.on_execution(*filled(side, "0.050", price), context()))
    p = D(price)
    if side is BUY:
        assert tp.price == ceil_to(p * (1 + spacing), TICK)
    else:
        assert tp.price == floor_to(p * (1 - spacing), TICK)
    assert tp.quantity == D("0.050")
    assert tp.side is side.opposite


def test_non_fill_events_and_fills_without_an_order_are_ignored() -> None:
    grid = StaticGrid(SYMBOL, StaticGridParams(1, D("0.01"), D("500")))
    ctx = context()
    order = resting()
    assert grid.on_execution(OrderAccepted("gb-0", 1, 0), order, ctx) == ()
    assert grid.on_execution(OrderCanceled("gb-0", 0), order, ctx) == ()
    event, _ = filled(BUY, "0.010", "50000")
    assert grid.on_execution(event, None, ctx) == ()


def test_too_small_partial_fill_accumulates_until_the_take_profit_is_valid() -> None:
    # At 5000 a 0.001 BTC take-profit is worth ~5 USDT, below the 10 USDT minimum notional.
    grid = StaticGrid(SYMBOL, StaticGridParams(1, D("0.001"), D("500")))
    ctx = context()
    assert grid.on_execution(*filled(BUY, "0.001", "5000", 1), ctx) == ()
    # A SELL fill feeds the other side's residual, not this one.
    assert grid.on_execution(*filled(SELL, "0.001", "5000", 2), ctx) == ()
    [tp] = places(grid.on_execution(*filled(BUY, "0.001", "5000", 3), ctx))
    assert (tp.side, tp.quantity, tp.price) == (SELL, D("0.002"), D("5005"))
    # The residual was used up: the next small fill starts again from zero.
    assert grid.on_execution(*filled(BUY, "0.001", "5000", 4), ctx) == ()
    # BUY side: 0.002 x 4995 = 9.99 is still too small, a third fill makes it valid.
    assert grid.on_execution(*filled(SELL, "0.001", "5000", 5), ctx) == ()
    [tp_buy] = places(grid.on_execution(*filled(SELL, "0.001", "5000", 6), ctx))
    assert (tp_buy.side, tp_buy.quantity, tp_buy.price) == (BUY, D("0.003"), D("4995"))


def test_rebuilding_the_grid_forgets_residuals() -> None:
    grid = StaticGrid(SYMBOL, StaticGridParams(1, D("0.001"), D("500"), D("0.01")))
    ctx = context()
    grid.on_candle(candle("5000"), ctx)
    assert grid.on_execution(*filled(BUY, "0.001", "5000", 1), ctx) == ()
    grid.on_candle(candle("6000", 1), ctx)
    assert grid.on_execution(*filled(BUY, "0.001", "5000", 2), ctx) == ()


# ---------------------------------------------------------------------------- spot
def test_spot_sell_levels_are_limited_by_the_base_balance() -> None:
    params = StaticGridParams(3, D("0.001"), D("500"))
    ctx = context(SPOT, cash="10000", base="0.025", price="50000")
    orders = places(StaticGrid(SYMBOL, params).on_candle(candle("50000"), ctx))
    buys = [o for o in orders if o.side is BUY]
    sells = [o for o in orders if o.side is SELL]
    assert [o.price for o in buys] == [D("49950"), D("49900"), D("49850")]
    # 0.00999 + 0.00998 fit in 0.025 BTC; the third level (0.00997) no longer does.
    assert [(o.price, o.quantity) for o in sells] == [
        (D("50050"), D("0.00999")),
        (D("50100"), D("0.00998")),
    ]
    assert sum(o.quantity for o in sells) <= ctx.account.base_balance


def test_spot_without_base_places_no_sell_levels() -> None:
    ctx = context(SPOT, cash="10000")
    grid = StaticGrid(SYMBOL, StaticGridParams(3, D("0.001"), D("500")))
    orders = places(grid.on_candle(candle("50000"), ctx))
    assert [o.side for o in orders] == [BUY, BUY, BUY]


def test_futures_sell_levels_ignore_the_base_balance() -> None:
    orders = places(
        StaticGrid(SYMBOL, StaticGridParams(3, D("0.001"), D("500"))).on_candle(
            candle("50000"), context()
        )
    )
    assert [o.side for o in orders].count(SELL) == 3


# ---------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"levels": 0}, "levels"),
        ({"levels": -1}, "levels"),
        ({"spacing": D(0)}, "spacing"),
        ({"spacing": D(1)}, "spacing"),
        ({"spacing": D("-0.01")}, "spacing"),
        ({"spacing": D("1.5")}, "spacing"),
        ({"quote_per_level": D(0)}, "quote_per_level"),
        ({"quote_per_level": D(-5)}, "quote_per_level"),
        ({"recenter_threshold": D(0)}, "recenter_threshold"),
        ({"recenter_threshold": D("-0.1")}, "recenter_threshold"),
    ],
)
def test_params_validation(kwargs: dict[str, object], message: str) -> None:
    base: dict[str, object] = {
        "levels": 2,
        "spacing": D("0.01"),
        "quote_per_level": D("100"),
        "recenter_threshold": None,
    }
    base.update(kwargs)
    with pytest.raises(ValueError, match=message):
        StaticGridParams(**base)  # type: ignore[arg-type]


def test_valid_params_are_kept() -> None:
    params = StaticGridParams(1, D("0.5"), D("1"), D("0.2"), post_only=True)
    assert (params.levels, params.spacing, params.recenter_threshold) == (1, D("0.5"), D("0.2"))
    grid = StaticGrid(SYMBOL, params)
    assert grid.center is None and grid.params is params


def test_spot_take_profit_sells_only_what_the_buy_delivered_after_base_commission() -> None:
    ctx = context(SPOT)
    grid = StaticGrid(SYMBOL, StaticGridParams(1, D("0.01"), D("500")))
    fee = D("0.0000101")
    f = Fill(1, "gb-1", BUY, D("0.0101"), D("49500"), fee, "BTC", Liquidity.MAKER, 0)
    order = Order("gb-1", SYMBOL, BUY, OrderType.LIMIT, D("0.0101"), D("49500"), TimeInForce.GTC)
    (tp,) = places(grid.on_execution(OrderFilled(f), order, ctx))
    # 0.0101 - 0.0000101 = 0.0100899 delivered; the sell rounds down to the 0.00001 step.
    assert tp.side is Side.SELL
    assert tp.quantity == D("0.01008")
    assert tp.quantity <= D("0.0101") - fee
