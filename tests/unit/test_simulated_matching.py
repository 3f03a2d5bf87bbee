"""Simulated exchange matching: the candle path, placement rules, rejections, modify, faults.

Every expectation is derived from the module docstring of ``adapters.simulated.exchange``
(the matching model) and from Binance's documented codes and messages
(``shared/reference/binance-api.md`` sections 5, 6, 7 and 10).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Decimal

import pytest

from adapters.simulated.exchange import SimulatedExchange
from adapters.simulated.settings import SimulationSettings
from application.ports.exchange import OrderRequest
from bootstrap.instruments import builtin_instrument
from domain.candles import MINUTE_MS, Candle
from domain.enums import Liquidity, MarketType, OrderType, Side, TimeInForce
from domain.events import (
    CancelRejected,
    ExecutionEvent,
    ModifyRejected,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderModified,
    OrderRejected,
    RejectReason,
)
from domain.instruments import Instrument, LotSizeFilter, PriceFilter
from domain.orders import Fill, OrderStatus

D = Decimal
SYMBOL = "BTCUSDT"
FUT = builtin_instrument(MarketType.USDM_FUTURES, SYMBOL)
SPOT = builtin_instrument(MarketType.SPOT, SYMBOL)
BUY, SELL = Side.BUY, Side.SELL
GTC, IOC, FOK, GTX = TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK, TimeInForce.GTX
STOP, TAKE_PROFIT = OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET
MAKER, TAKER = Liquidity.MAKER, Liquidity.TAKER
NO_CAP = SimulationSettings(max_volume_share=None)
Maker = Callable[..., SimulatedExchange]


def plain(market: MarketType = MarketType.USDM_FUTURES) -> Instrument:
    """Prices around 100: tick 0.01, step 0.001, no notional or percent-price filter."""
    return Instrument(
        symbol=SYMBOL,
        market=market,
        base_asset="BTC",
        quote_asset="USDT",
        price_filter=PriceFilter(D("0.01"), D("100000"), D("0.01")),
        lot_size=LotSizeFilter(D("0.001"), D("1000"), D("0.001")),
    )


def candle(minute: int, o: str, h: str, low: str, c: str, volume: str = "1000") -> Candle:
    t = minute * MINUTE_MS
    return Candle(t, D(o), D(h), D(low), D(c), D(volume), t + 59_999)


def flat(minute: int, price: str, volume: str = "1000") -> Candle:
    return candle(minute, price, price, price, price, volume)


def limit(
    cid: str,
    side: Side,
    qty: str,
    price: str,
    tif: TimeInForce = GTC,
    reduce_only: bool = False,
) -> OrderRequest:
    return OrderRequest(
        cid, SYMBOL, side, OrderType.LIMIT, D(qty), D(price), tif, reduce_only=reduce_only
    )


def market(cid: str, side: Side, qty: str, reduce_only: bool = False) -> OrderRequest:
    return OrderRequest(cid, SYMBOL, side, OrderType.MARKET, D(qty), reduce_only=reduce_only)


def conditional(cid: str, side: Side, qty: str, stop: str, kind: OrderType = STOP) -> OrderRequest:
    return OrderRequest(cid, SYMBOL, side, kind, D(qty), stop_price=D(stop))


def futures(
    settings: SimulationSettings | None = None,
    instrument: Instrument = FUT,
    wallet: str = "1000000",
    last: str | None = "50000",
) -> SimulatedExchange:
    """A futures exchange; with ``last`` a flat candle at minute 0 sets the last price."""
    sim = SimulatedExchange(instrument, {"USDT": D(wallet)}, settings)
    if last is not None:
        assert sim.on_candle(flat(0, last)) == []
    return sim


def spot(
    settings: SimulationSettings | None = None,
    instrument: Instrument = SPOT,
    usdt: str = "1000000",
    btc: str = "10",
    last: str | None = "50000",
) -> SimulatedExchange:
    sim = SimulatedExchange(instrument, {"USDT": D(usdt), "BTC": D(btc)}, settings)
    if last is not None:
        assert sim.on_candle(flat(0, last)) == []
    return sim


def fills(events: list[ExecutionEvent]) -> list[Fill]:
    return [e.fill for e in events if isinstance(e, OrderFilled)]


def summary(events: list[ExecutionEvent]) -> list[tuple[str, str, Decimal, int]]:
    """(cid, liquidity, price, timestamp) of every fill, in event order."""
    return [(f.client_order_id, f.liquidity.value, f.price, f.timestamp) for f in fills(events)]


def only(events: list[ExecutionEvent], kind: type) -> list:
    return [e for e in events if isinstance(e, kind)]


def rejected(events: list[ExecutionEvent]) -> OrderRejected:
    assert len(events) == 1, events
    assert isinstance(events[0], OrderRejected), events
    return events[0]


def place_ok(sim: SimulatedExchange, request: OrderRequest) -> list[ExecutionEvent]:
    events = sim.place_order(request)
    assert isinstance(events[0], OrderAccepted), events
    return events


def status(sim: SimulatedExchange, cid: str) -> OrderStatus:
    snap = sim.query_order(SYMBOL, cid)
    assert snap is not None
    return snap.status


# --------------------------------------------------------------------------- candle path
def test_bullish_candle_visits_low_before_high() -> None:
    sim = futures(NO_CAP)
    place_ok(sim, limit("bid", BUY, "0.010", "49900"))
    place_ok(sim, limit("ask", SELL, "0.010", "50100"))
    t0 = 1 * MINUTE_MS
    events = sim.on_candle(candle(1, "50000", "50200", "49800", "50150"))
    assert summary(events) == [
        ("bid", "MAKER", D("49900"), t0 + 20_000),
        ("ask", "MAKER", D("50100"), t0 + 40_000),
    ]
    assert sim.now_ms() == t0 + 59_999 + 1
    assert sim.last_price == D("50150")


def test_bearish_candle_visits_high_before_low() -> None:
    sim = futures(NO_CAP)
    place_ok(sim, limit("bid", BUY, "0.010", "49900"))
    place_ok(sim, limit("ask", SELL, "0.010", "50100"))
    t0 = 1 * MINUTE_MS
    events = sim.on_candle(candle(1, "50000", "50200", "49800", "49850"))
    assert summary(events) == [
        ("ask", "MAKER", D("50100"), t0 + 20_000),
        ("bid", "MAKER", D("49900"), t0 + 40_000),
    ]
    assert sim.now_ms() == t0 + 60_000


def test_doji_counts_as_bullish() -> None:
    sim = futures(NO_CAP)
    place_ok(sim, limit("ask", SELL, "0.010", "50100"))
    place_ok(sim, limit("bid", BUY, "0.010", "49900"))
    events = sim.on_candle(candle(1, "50000", "50200", "49800", "50000"))
    assert [f.client_order_id for f in fills(events)] == ["bid", "ask"]


def test_untouched_orders_stay_open_and_clock_advances() -> None:
    sim = futures()
    place_ok(sim, limit("bid", BUY, "0.010", "49000"))
    assert sim.on_candle(candle(1, "50000", "50200", "49800", "50100")) == []
    assert status(sim, "bid") is OrderStatus.NEW
    assert sim.now_ms() == 2 * MINUTE_MS


# -------------------------------------------------------------------- trade-through vs touch
def test_bid_at_the_low_needs_a_trade_through_by_default() -> None:
    sim = futures()
    place_ok(sim, limit("bid", BUY, "0.010", "49800"))
    place_ok(sim, limit("ask", SELL, "0.010", "50200"))
    assert sim.on_candle(candle(1, "50000", "50200", "49800", "50100")) == []
    assert [o.client_order_id for o in sim.open_orders(SYMBOL)] == ["bid", "ask"]


def test_touch_fills_fills_at_the_exact_extremes() -> None:
    sim = futures(SimulationSettings(touch_fills=True, max_volume_share=None))
    place_ok(sim, limit("bid", BUY, "0.010", "49800"))
    place_ok(sim, limit("ask", SELL, "0.010", "50200"))
    t0 = MINUTE_MS
    events = sim.on_candle(candle(1, "50000", "50200", "49800", "50100"))
    assert summary(events) == [
        ("bid", "MAKER", D("49800"), t0 + 20_000),
        ("ask", "MAKER", D("50200"), t0 + 40_000),
    ]


def test_pessimistic_trade_through_needs_the_path_that_far_beyond_the_level() -> None:
    # 3 bp: the bid at 49990 needs a trade below 49975.003, the ask at 50010 one above 50025.003.
    settings = SimulationSettings(
        trade_through=D("0.0003"), touch_fills=True, max_volume_share=None
    )
    sim = futures(settings, instrument=plain(), last="50000")
    place_ok(sim, limit("bid", BUY, "0.010", "49990"))
    place_ok(sim, limit("ask", SELL, "0.010", "50010"))
    # Touch fills are ignored under a trade-through requirement; just short of it: nothing.
    assert sim.on_candle(candle(1, "50000", "50025", "49975.1", "50000")) == []
    events = sim.on_candle(candle(2, "50000", "50026", "49974", "50000"))
    assert [(f.client_order_id, f.liquidity.value, f.price) for f in fills(events)] == [
        ("bid", "MAKER", D("49990")),
        ("ask", "MAKER", D("50010")),
    ]
    # Without the requirement the first candle already fills both.
    normal = futures(NO_CAP, instrument=plain(), last="50000")
    place_ok(normal, limit("bid", BUY, "0.010", "49990"))
    place_ok(normal, limit("ask", SELL, "0.010", "50010"))
    assert len(fills(normal.on_candle(candle(1, "50000", "50025", "49975.1", "50000")))) == 2


# ------------------------------------------------------------------------------- gaps
def test_gap_down_fills_every_jumped_bid_at_its_own_price_best_first() -> None:
    sim = futures(NO_CAP, instrument=plain(), last="100")
    for cid, price in (("b97", "97"), ("b99", "99"), ("b90", "90"), ("b98", "98")):
        place_ok(sim, limit(cid, BUY, "1", price))
    t0 = MINUTE_MS
    events = sim.on_candle(candle(1, "95", "95.5", "95", "95.2"))
    assert summary(events) == [
        ("b99", "MAKER", D("99"), t0),
        ("b98", "MAKER", D("98"), t0),
        ("b97", "MAKER", D("97"), t0),
    ]
    assert [o.client_order_id for o in sim.open_orders(SYMBOL)] == ["b90"]
    assert sim.ledger.position.quantity == D("3")


def test_gap_up_fills_every_jumped_ask_lowest_first() -> None:
    sim = futures(NO_CAP, instrument=plain(), last="100")
    for cid, price in (("a103", "103"), ("a101", "101"), ("a110", "110"), ("a102", "102")):
        place_ok(sim, limit(cid, SELL, "1", price))
    events = sim.on_candle(candle(1, "105", "105", "104.5", "104.8"))
    assert summary(events) == [
        ("a101", "MAKER", D("101"), MINUTE_MS),
        ("a102", "MAKER", D("102"), MINUTE_MS),
        ("a103", "MAKER", D("103"), MINUTE_MS),
    ]
    assert sim.ledger.position.quantity == D("-3")


def test_same_price_bids_fill_oldest_first() -> None:
    sim = futures(NO_CAP, instrument=plain(), last="100")
    place_ok(sim, limit("first", BUY, "1", "99"))
    place_ok(sim, limit("second", BUY, "1", "99"))
    place_ok(sim, limit("better", BUY, "1", "99.5"))
    events = sim.on_candle(candle(1, "100", "100", "98", "99"))
    assert [f.client_order_id for f in fills(events)] == ["better", "first", "second"]


# ---------------------------------------------------------------------- volume share cap
def test_partial_fills_are_capped_by_candle_volume_in_path_order() -> None:
    sim = futures(instrument=plain(), last="100")  # default max_volume_share 0.25
    place_ok(sim, limit("a", BUY, "0.3", "99"))
    place_ok(sim, limit("b", BUY, "0.4", "98"))
    place_ok(sim, limit("ask", SELL, "0.1", "103"))
    t0 = MINUTE_MS
    events = sim.on_candle(candle(1, "100", "104", "97", "101", volume="2"))
    assert [(f.client_order_id, f.quantity, f.price, f.timestamp) for f in fills(events)] == [
        ("a", D("0.3"), D("99"), t0 + 20_000),
        ("b", D("0.2"), D("98"), t0 + 20_000),
    ]
    b = sim.query_order(SYMBOL, "b")
    assert b is not None
    assert b.status is OrderStatus.PARTIALLY_FILLED
    assert b.executed_quantity == D("0.2")
    assert b.executed_quote == D("19.6")
    assert status(sim, "ask") is OrderStatus.NEW  # the cap was used up before the high
    assert [o.client_order_id for o in sim.open_orders(SYMBOL)] == ["b", "ask"]

    t1 = 2 * MINUTE_MS
    events = sim.on_candle(candle(2, "100", "104", "97", "101", volume="2"))
    assert [(f.client_order_id, f.quantity, f.timestamp) for f in fills(events)] == [
        ("b", D("0.2"), t1 + 20_000),
        ("ask", D("0.1"), t1 + 40_000),
    ]
    assert status(sim, "b") is OrderStatus.FILLED
    assert status(sim, "ask") is OrderStatus.FILLED
    assert sim.open_orders(SYMBOL) == []


def test_custom_volume_share() -> None:
    sim = futures(SimulationSettings(max_volume_share=D("0.1")), instrument=plain(), last="100")
    place_ok(sim, limit("a", BUY, "5", "99"))
    events = sim.on_candle(candle(1, "100", "100", "98", "99", volume="12"))
    assert [f.quantity for f in fills(events)] == [D("1.2")]


def test_zero_volume_candle_fills_nothing_under_a_cap() -> None:
    sim = futures(instrument=plain(), last="100")
    place_ok(sim, limit("a", BUY, "1", "99"))
    assert sim.on_candle(candle(1, "100", "100", "98", "99", volume="0")) == []


def test_no_volume_cap_when_share_is_none() -> None:
    sim = futures(NO_CAP, instrument=plain(), last="100")
    place_ok(sim, limit("a", BUY, "3", "99"))
    place_ok(sim, limit("b", BUY, "4", "98"))
    events = sim.on_candle(candle(1, "100", "100", "97", "99", volume="0.001"))
    assert [(f.client_order_id, f.quantity) for f in fills(events)] == [
        ("a", D("3")),
        ("b", D("4")),
    ]


def test_market_and_triggered_fills_ignore_the_cap() -> None:
    sim = futures(instrument=plain(), last="100")
    place_ok(sim, conditional("stop", SELL, "5", "99"))
    events = sim.on_candle(candle(1, "100", "100", "98", "98.5", volume="1"))
    assert [(f.quantity, f.price, f.liquidity) for f in fills(events)] == [(D("5"), D("99"), TAKER)]
    events = place_ok(sim, market("m", BUY, "7"))
    assert [f.quantity for f in fills(events)] == [D("7")]


# --------------------------------------------------------------------- placement rules
@pytest.mark.parametrize("make", [futures, spot])
def test_marketable_limit_fills_at_once_as_taker_at_the_last_close(make: Maker) -> None:
    sim = make()
    now = sim.now_ms()
    events = sim.place_order(limit("buy", BUY, "0.010", "50500"))
    assert isinstance(events[0], OrderAccepted)
    assert [(f.quantity, f.price, f.liquidity, f.timestamp) for f in fills(events)] == [
        (D("0.010"), D("50000"), TAKER, now)
    ]
    assert status(sim, "buy") is OrderStatus.FILLED
    events = sim.place_order(limit("sell", SELL, "0.010", "49500"))
    assert [(f.price, f.liquidity) for f in fills(events)] == [(D("50000"), TAKER)]
    assert sim.open_orders(SYMBOL) == []


def test_limit_at_the_last_close_counts_as_marketable() -> None:
    sim = futures()
    events = sim.place_order(limit("at", BUY, "0.010", "50000"))
    assert [(f.price, f.liquidity) for f in fills(events)] == [(D("50000"), TAKER)]


def test_futures_post_only_crossing_is_rejected_without_a_record() -> None:
    sim = futures()
    r = rejected(sim.place_order(limit("gtx", BUY, "0.010", "50000", GTX)))
    assert (r.code, r.reason) == (-5022, RejectReason.POST_ONLY_WOULD_TAKE)
    assert r.message == (
        "Due to the order could not be executed as maker, the Post Only order will be "
        "rejected. The order will not be recorded in the order history"
    )
    assert sim.query_order(SYMBOL, "gtx") is None
    assert sim.ledger.position.quantity == 0


def test_spot_post_only_crossing_is_rejected() -> None:
    sim = spot()
    r = rejected(sim.place_order(limit("gtx", SELL, "0.010", "49000", GTX)))
    assert (r.code, r.message) == (-2010, "Order would immediately match and take.")
    assert r.reason is RejectReason.POST_ONLY_WOULD_TAKE


def test_post_only_that_does_not_cross_rests_and_fills_as_maker() -> None:
    sim = futures(NO_CAP)
    assert only(place_ok(sim, limit("gtx", BUY, "0.010", "49900", GTX)), OrderFilled) == []
    events = sim.on_candle(candle(1, "50000", "50000", "49800", "49900"))
    assert [(f.price, f.liquidity) for f in fills(events)] == [(D("49900"), MAKER)]


def test_futures_fok_not_marketable_is_rejected() -> None:
    sim = futures()
    r = rejected(sim.place_order(limit("fok", BUY, "0.010", "49900", FOK)))
    assert (r.code, r.reason) == (-5021, RejectReason.FOK_UNFILLABLE)
    assert r.message.startswith("Due to the order could not be filled immediately, the FOK")
    assert sim.query_order(SYMBOL, "fok") is None


def test_spot_fok_not_marketable_is_accepted_then_expired() -> None:
    sim = spot()
    usdt_before = sim.account().balances["USDT"]
    now = sim.now_ms()
    events = sim.place_order(limit("fok", BUY, "0.010", "49900", FOK))
    assert events == [OrderAccepted("fok", 1, now), OrderExpired("fok", now)]
    assert status(sim, "fok") is OrderStatus.EXPIRED
    assert sim.account().balances["USDT"] == usdt_before  # the lock was returned


@pytest.mark.parametrize("make", [futures, spot])
def test_ioc_not_marketable_expires(make: Maker) -> None:
    sim = make()
    now = sim.now_ms()
    events = sim.place_order(limit("ioc", SELL, "0.010", "50100", IOC))
    assert events == [OrderAccepted("ioc", 1, now), OrderExpired("ioc", now)]
    assert status(sim, "ioc") is OrderStatus.EXPIRED
    assert sim.open_orders(SYMBOL) == []


@pytest.mark.parametrize("tif", [IOC, FOK])
def test_marketable_ioc_and_fok_fill_completely(tif: TimeInForce) -> None:
    sim = futures()
    events = sim.place_order(limit("x", BUY, "0.010", "50100", tif))
    assert [(f.quantity, f.price, f.liquidity) for f in fills(events)] == [
        (D("0.010"), D("50000"), TAKER)
    ]


@pytest.mark.parametrize("make", [futures, spot])
def test_market_order_fills_at_last_close_as_taker(make: Maker) -> None:
    sim = make()
    events = sim.place_order(market("m", BUY, "0.010"))
    assert isinstance(events[0], OrderAccepted)
    assert [(f.quantity, f.price, f.liquidity) for f in fills(events)] == [
        (D("0.010"), D("50000"), TAKER)
    ]
    assert status(sim, "m") is OrderStatus.FILLED


@pytest.mark.parametrize("make", [futures, spot])
def test_market_order_before_any_candle_is_rejected(make: Maker) -> None:
    sim = make(last=None)
    r = rejected(sim.place_order(market("m", BUY, "0.010")))
    assert (r.code, r.message) == (-2010, "Market is closed.")
    assert sim.query_order(SYMBOL, "m") is None


def test_limit_before_any_candle_rests_and_a_gap_fills_it_at_its_price() -> None:
    sim = futures(NO_CAP, last=None)
    assert only(place_ok(sim, limit("bid", BUY, "0.010", "50000")), OrderFilled) == []
    events = sim.on_candle(candle(0, "49000", "49100", "48900", "49050"))
    assert summary(events) == [("bid", "MAKER", D("50000"), 0)]


# ------------------------------------------------------------------------- conditional
@pytest.mark.parametrize(
    ("side", "kind", "stop"),
    [
        (BUY, STOP, "50000"),
        (BUY, STOP, "49900"),
        (SELL, STOP, "50100"),
        (BUY, TAKE_PROFIT, "50100"),
        (SELL, TAKE_PROFIT, "49900"),
        (SELL, TAKE_PROFIT, "50000"),
    ],
)
@pytest.mark.parametrize("venue", ["futures", "spot"])
def test_trigger_on_the_wrong_side_is_rejected(
    venue: str, side: Side, kind: OrderType, stop: str
) -> None:
    sim = futures() if venue == "futures" else spot()
    r = rejected(sim.place_order(conditional("c", side, "0.010", stop, kind)))
    assert r.reason is RejectReason.WOULD_TRIGGER_IMMEDIATELY
    if venue == "futures":
        assert (r.code, r.message) == (-2021, "Order would immediately trigger.")
    else:
        assert (r.code, r.message) == (-2010, "Order would trigger immediately.")


@pytest.mark.parametrize(
    ("side", "kind", "stop", "bar", "offset"),
    [
        # bullish O-L-H-C: low at +20 s, high at +40 s
        (BUY, STOP, "50100", ("50000", "50200", "49800", "50150"), 40_000),
        (SELL, STOP, "49900", ("50000", "50200", "49800", "50150"), 20_000),
        (SELL, TAKE_PROFIT, "50100", ("50000", "50200", "49800", "50150"), 40_000),
        (BUY, TAKE_PROFIT, "49900", ("50000", "50200", "49800", "50150"), 20_000),
        # bearish O-H-L-C: high at +20 s, low at +40 s
        (BUY, STOP, "50100", ("50000", "50200", "49800", "49850"), 20_000),
        (SELL, STOP, "49900", ("50000", "50200", "49800", "49850"), 40_000),
    ],
)
def test_trigger_inside_the_candle_fills_at_the_stop_as_taker(
    side: Side, kind: OrderType, stop: str, bar: tuple[str, str, str, str], offset: int
) -> None:
    sim = futures()
    assert only(place_ok(sim, conditional("c", side, "0.010", stop, kind)), OrderFilled) == []
    events = sim.on_candle(candle(1, *bar))
    assert [(f.quantity, f.price, f.liquidity, f.timestamp) for f in fills(events)] == [
        (D("0.010"), D(stop), TAKER, MINUTE_MS + offset)
    ]
    assert fills(events)[0].fee == D(stop) * D("0.010") * D("0.0005")
    assert status(sim, "c") is OrderStatus.FILLED


def test_trigger_exactly_at_the_extreme_fires() -> None:
    sim = futures()
    place_ok(sim, conditional("c", BUY, "0.010", "50200"))
    events = sim.on_candle(candle(1, "50000", "50200", "49800", "50150"))
    assert [f.price for f in fills(events)] == [D("50200")]


def test_gap_past_the_stop_fills_at_the_open() -> None:
    sim = futures()
    place_ok(sim, conditional("sl", SELL, "0.010", "49900"))
    place_ok(sim, conditional("tp", BUY, "0.010", "49950", TAKE_PROFIT))
    events = sim.on_candle(candle(1, "49500", "49600", "49400", "49550"))
    assert [(f.client_order_id, f.price, f.liquidity, f.timestamp) for f in fills(events)] == [
        ("tp", D("49500"), TAKER, MINUTE_MS),
        ("sl", D("49500"), TAKER, MINUTE_MS),
    ]


def test_untriggered_stop_stays_open() -> None:
    sim = futures()
    place_ok(sim, conditional("c", BUY, "0.010", "50300"))
    assert sim.on_candle(candle(1, "50000", "50200", "49800", "50150")) == []
    assert status(sim, "c") is OrderStatus.NEW


# ------------------------------------------------------------------------- rejections
@pytest.mark.parametrize(
    ("request_", "filter_name"),
    [
        (limit("r", BUY, "0.010", "49999.999"), "PRICE_FILTER"),
        (limit("r", BUY, "0.000015", "49999"), "LOT_SIZE"),
        (limit("r", BUY, "0.00019", "49999"), "MIN_NOTIONAL"),
        (limit("r", SELL, "0.010", "250000.01"), "PERCENT_PRICE"),
        (limit("r", BUY, "0.010", "9999.99"), "PERCENT_PRICE"),
    ],
)
def test_spot_filter_failures(request_: OrderRequest, filter_name: str) -> None:
    r = rejected(spot().place_order(request_))
    assert (r.code, r.message, r.reason) == (
        -1013,
        f"Filter failure: {filter_name}",
        RejectReason.FILTER,
    )


@pytest.mark.parametrize(
    ("request_", "code", "message"),
    [
        (limit("r", BUY, "0.010", "49999.95"), -4014, "Price not increased by tick size."),
        (limit("r", BUY, "0.010", "401.9"), -4013, "Price less than min price."),
        (limit("r", BUY, "0.0015", "49999"), -4023, "Qty not increased by step size."),
        (limit("r", BUY, "0.0005", "49999"), -4004, "Quantity less than min quantity."),
        (
            limit("r", BUY, "0.001", "9999.9"),
            -4164,
            "Order's notional must be no smaller than 10 (unless you choose reduce only)",
        ),
        (
            limit("r", BUY, "0.010", "55000.1"),
            -4016,
            "Price is higher than mark price multiplier cap.",
        ),
        (
            limit("r", SELL, "0.010", "27269.9"),
            -4024,
            "Price is lower than mark price multiplier floor.",
        ),
    ],
)
def test_futures_filter_failures(request_: OrderRequest, code: int, message: str) -> None:
    r = rejected(futures().place_order(request_))
    assert (r.code, r.message, r.reason) == (code, message, RejectReason.FILTER)


def test_futures_percent_price_checks_only_the_aggressive_side() -> None:
    sim = futures()
    # A SELL far above the mark and a BUY far below it are outside the band but allowed.
    place_ok(sim, limit("ask", SELL, "0.010", "60000"))
    place_ok(sim, limit("bid", BUY, "0.010", "20000"))


def test_spot_insufficient_balance() -> None:
    sim = spot(usdt="499.99", btc="0.005")
    msg = "Account has insufficient balance for requested action."
    r = rejected(sim.place_order(limit("b", BUY, "0.010", "49999.50")))
    assert (r.code, r.message, r.reason) == (-2010, msg, RejectReason.INSUFFICIENT_BALANCE)
    r = rejected(sim.place_order(limit("s", SELL, "0.006", "50001")))
    assert (r.code, r.message) == (-2010, msg)
    r = rejected(sim.place_order(market("m", BUY, "0.010")))
    assert (r.code, r.message) == (-2010, msg)
    # Exactly the free balance is fine.
    place_ok(sim, limit("ok", SELL, "0.005", "50001"))
    assert sim.account().balances["BTC"] == (D("0"), D("0.005"))


def test_spot_balance_locked_by_an_open_order_is_not_available() -> None:
    sim = spot(usdt="1000", btc="0")
    place_ok(sim, limit("b1", BUY, "0.010", "49000"))
    r = rejected(sim.place_order(limit("b2", BUY, "0.011", "49000")))
    assert r.code == -2010
    assert sim.account().balances["USDT"] == (D("510"), D("490"))


def test_futures_insufficient_margin() -> None:
    sim = futures(wallet="100")
    r = rejected(sim.place_order(limit("b", BUY, "0.010", "49000")))
    assert (r.code, r.message, r.reason) == (
        -2019,
        "Margin is insufficient.",
        RejectReason.INSUFFICIENT_MARGIN,
    )
    r = rejected(sim.place_order(market("m", SELL, "0.003")))
    assert r.code == -2019
    place_ok(sim, limit("ok", BUY, "0.002", "49000"))  # 0.002 x mark 50000 = 100 <= 100


def test_futures_leverage_scales_the_margin_check() -> None:
    sim = futures(SimulationSettings(leverage=10), wallet="100")
    place_ok(sim, limit("b", BUY, "0.020", "49000"))  # 0.020 x 50000 / 10 = 100
    assert rejected(sim.place_order(limit("c", BUY, "0.001", "49000"))).code == -2019


def test_duplicate_open_client_id() -> None:
    sim = futures()
    place_ok(sim, limit("dup", BUY, "0.010", "49000"))
    r = rejected(sim.place_order(limit("dup", BUY, "0.010", "48000")))
    assert (r.code, r.reason) == (-4116, RejectReason.DUPLICATE_CLIENT_ID)
    assert r.message == "clientOrderId is duplicated"
    # Once the holder is closed, the id may be reused.
    sim.cancel_order(SYMBOL, "dup")
    place_ok(sim, limit("dup", BUY, "0.010", "48000"))
    snap = sim.query_order(SYMBOL, "dup")
    assert snap is not None
    assert (snap.price, snap.status, snap.exchange_order_id) == (D("48000"), OrderStatus.NEW, 2)


def test_duplicate_open_client_id_spot() -> None:
    sim = spot()
    place_ok(sim, limit("dup", BUY, "0.010", "49000"))
    r = rejected(sim.place_order(limit("dup", BUY, "0.010", "48000")))
    assert (r.code, r.message) == (-2010, "Duplicate order sent.")


@pytest.mark.parametrize("make", [futures, spot])
def test_cancel_unknown_or_closed_order(make: Maker) -> None:
    sim = make()
    events = sim.cancel_order(SYMBOL, "nope")
    assert events == [
        CancelRejected(
            "nope", RejectReason.UNKNOWN_ORDER, -2011, "Unknown order sent.", sim.now_ms()
        )
    ]
    sim.place_order(market("m", BUY, "0.010"))
    assert status(sim, "m") is OrderStatus.FILLED
    [event] = sim.cancel_order(SYMBOL, "m")
    assert isinstance(event, CancelRejected)
    assert (event.code, event.message) == (-2011, "Unknown order sent.")
    place_ok(sim, limit("c", BUY, "0.010", "49000"))
    assert isinstance(sim.cancel_order(SYMBOL, "c")[0], OrderCanceled)
    [event] = sim.cancel_order(SYMBOL, "c")
    assert isinstance(event, CancelRejected)


def test_reduce_only_that_would_increase_the_position_is_rejected() -> None:
    sim = futures()
    msg = "ReduceOnly Order is rejected."
    r = rejected(sim.place_order(limit("ro", SELL, "0.010", "50100", reduce_only=True)))
    assert (r.code, r.message, r.reason) == (-2022, msg, RejectReason.REDUCE_ONLY)
    place_ok(sim, market("long", BUY, "0.010"))
    r = rejected(sim.place_order(market("ro2", BUY, "0.001", reduce_only=True)))
    assert r.code == -2022
    r = rejected(sim.place_order(limit("ro3", SELL, "0.011", "50100", reduce_only=True)))
    assert r.code == -2022
    place_ok(sim, limit("ro4", SELL, "0.010", "50100", reduce_only=True))


def test_reduce_only_is_not_allowed_on_spot() -> None:
    r = rejected(spot().place_order(limit("ro", SELL, "0.010", "50100", reduce_only=True)))
    assert (r.code, r.reason) == (-1102, RejectReason.INVALID_REQUEST)


def test_max_num_orders_futures() -> None:
    sim = futures()
    assert FUT.max_num_orders == 200
    for i in range(200):
        place_ok(sim, limit(f"o{i}", BUY, "0.001", str(40000 + i)))
    r = rejected(sim.place_order(limit("o200", BUY, "0.001", "39000")))
    assert (r.code, r.message, r.reason) == (
        -2025,
        "Reach max open order limit.",
        RejectReason.MAX_OPEN_ORDERS,
    )
    sim.cancel_order(SYMBOL, "o0")
    place_ok(sim, limit("o200", BUY, "0.001", "39000"))


def test_max_num_orders_spot_counts_conditional_orders() -> None:
    sim = spot(instrument=dataclasses.replace(SPOT, max_num_orders=2))
    place_ok(sim, limit("a", BUY, "0.010", "49000"))
    place_ok(sim, conditional("b", SELL, "0.010", "49000"))
    r = rejected(sim.place_order(limit("c", BUY, "0.010", "48000")))
    assert (r.code, r.message) == (-1013, "Filter failure: MAX_NUM_ORDERS")


def test_unknown_symbol_is_rejected() -> None:
    sim = futures()
    req = OrderRequest("x", "ETHUSDT", BUY, OrderType.LIMIT, D("0.010"), D("49000"), GTC)
    r = rejected(sim.place_order(req))
    assert (r.code, r.message) == (-1121, "Invalid symbol.")
    with pytest.raises(KeyError):
        sim.open_orders("ETHUSDT")


def test_rejections_are_timestamped_now_and_leave_no_record() -> None:
    sim = futures()
    r = rejected(sim.place_order(limit("r", BUY, "0.0015", "49999")))
    assert r.timestamp == sim.now_ms() == MINUTE_MS
    assert sim.query_order(SYMBOL, "r") is None
    assert sim.open_orders(SYMBOL) == []


# ------------------------------------------------------------------------------ modify
def test_modify_keeps_the_order_id_and_changes_price_and_quantity() -> None:
    sim = futures(NO_CAP)
    place_ok(sim, limit("a", BUY, "0.010", "49000"))
    now = sim.now_ms()
    events = sim.modify_order(SYMBOL, "a", D("49500"), D("0.020"))
    assert events == [OrderModified("a", D("49500"), D("0.020"), now)]
    snap = sim.query_order(SYMBOL, "a")
    assert snap is not None
    assert (snap.exchange_order_id, snap.price, snap.quantity, snap.status) == (
        1,
        D("49500"),
        D("0.020"),
        OrderStatus.NEW,
    )
    events = sim.on_candle(candle(1, "50000", "50000", "49400", "49600"))
    assert [(f.quantity, f.price) for f in fills(events)] == [(D("0.020"), D("49500"))]


def test_modify_loses_queue_priority() -> None:
    def run(modify: bool) -> list[str]:
        sim = futures(NO_CAP)
        place_ok(sim, limit("older", BUY, "0.010", "49900"))
        place_ok(sim, limit("newer", BUY, "0.010", "49900"))
        if modify:
            [event] = sim.modify_order(SYMBOL, "older", D("49900"), D("0.020"))
            assert isinstance(event, OrderModified)
            assert [o.client_order_id for o in sim.open_orders(SYMBOL)] == ["newer", "older"]
        events = sim.on_candle(candle(1, "50000", "50000", "49800", "49850"))
        return [f.client_order_id for f in fills(events)]

    assert run(modify=False) == ["older", "newer"]
    assert run(modify=True) == ["newer", "older"]


def test_modify_to_at_most_the_executed_quantity_cancels() -> None:
    sim = futures(instrument=plain(), last="100")
    place_ok(sim, limit("a", BUY, "2", "99"))
    sim.on_candle(candle(1, "100", "100", "98", "99", volume="4"))  # fills 1 of 2
    assert status(sim, "a") is OrderStatus.PARTIALLY_FILLED
    now = sim.now_ms()
    assert sim.modify_order(SYMBOL, "a", D("99"), D("1")) == [OrderCanceled("a", now)]
    snap = sim.query_order(SYMBOL, "a")
    assert snap is not None
    assert (snap.status, snap.executed_quantity) == (OrderStatus.CANCELED, D("1"))
    assert sim.open_orders(SYMBOL) == []
    assert sim.ledger.open_buy == 0  # type: ignore[union-attr]


def test_modify_partially_filled_order_keeps_its_fills() -> None:
    sim = futures(instrument=plain(), last="100")
    place_ok(sim, limit("a", BUY, "2", "99"))
    sim.on_candle(candle(1, "100", "100", "98", "99", volume="4"))
    [event] = sim.modify_order(SYMBOL, "a", D("98.5"), D("3"))
    assert isinstance(event, OrderModified)
    snap = sim.query_order(SYMBOL, "a")
    assert snap is not None
    assert (snap.status, snap.quantity, snap.executed_quantity) == (
        OrderStatus.PARTIALLY_FILLED,
        D("3"),
        D("1"),
    )
    events = sim.on_candle(candle(2, "100", "100", "98", "99", volume="100"))
    assert [(f.quantity, f.price) for f in fills(events)] == [(D("2"), D("98.5"))]
    assert status(sim, "a") is OrderStatus.FILLED


def test_modify_with_same_price_and_quantity_is_rejected() -> None:
    sim = futures()
    place_ok(sim, limit("a", BUY, "0.010", "49000"))
    [event] = sim.modify_order(SYMBOL, "a", D("49000.0"), D("0.01"))
    assert isinstance(event, ModifyRejected)
    assert (event.code, event.message) == (-5027, "No need to modify the order.")


def test_modify_unknown_order_is_rejected() -> None:
    sim = futures()
    assert sim.modify_order(SYMBOL, "ghost", D("49000"), D("0.010")) == [
        ModifyRejected(
            "ghost", RejectReason.UNKNOWN_ORDER, -2013, "Order does not exist.", sim.now_ms()
        )
    ]
    place_ok(sim, conditional("stop", BUY, "0.010", "51000"))
    [event] = sim.modify_order(SYMBOL, "stop", D("49000"), D("0.010"))
    assert isinstance(event, ModifyRejected)
    assert event.code == -2013


def test_modify_filter_violation_keeps_the_order() -> None:
    sim = futures()
    place_ok(sim, limit("a", BUY, "0.010", "49000"))
    [event] = sim.modify_order(SYMBOL, "a", D("49000.05"), D("0.010"))
    assert isinstance(event, ModifyRejected)
    assert (event.code, event.reason) == (-4014, RejectReason.FILTER)
    snap = sim.query_order(SYMBOL, "a")
    assert snap is not None
    assert (snap.price, snap.quantity) == (D("49000"), D("0.010"))


def test_modify_margin_rejection_restores_the_order() -> None:
    sim = futures(wallet="1000")
    place_ok(sim, limit("a", BUY, "0.010", "49000"))
    [event] = sim.modify_order(SYMBOL, "a", D("49000"), D("0.030"))
    assert isinstance(event, ModifyRejected)
    assert event.code == -2019
    snap = sim.query_order(SYMBOL, "a")
    assert snap is not None
    assert (snap.price, snap.quantity) == (D("49000"), D("0.010"))
    assert sim.ledger.open_buy == D("0.010")  # type: ignore[union-attr]


def test_modify_post_only_across_the_market_cancels_it() -> None:
    sim = futures()
    place_ok(sim, limit("a", BUY, "0.010", "49000", GTX))
    now = sim.now_ms()
    events = sim.modify_order(SYMBOL, "a", D("50100"), D("0.010"))
    assert events == [OrderModified("a", D("50100"), D("0.010"), now), OrderCanceled("a", now)]
    assert status(sim, "a") is OrderStatus.CANCELED


def test_modify_gtc_across_the_market_fills_as_taker() -> None:
    sim = futures()
    place_ok(sim, limit("a", BUY, "0.010", "49000"))
    events = sim.modify_order(SYMBOL, "a", D("50100"), D("0.010"))
    assert isinstance(events[0], OrderModified)
    assert [(f.price, f.liquidity) for f in fills(events)] == [(D("50000"), TAKER)]


# ------------------------------------------------------------------------------ cancel
def test_cancel_all_cancels_every_open_order_oldest_first() -> None:
    sim = futures()
    place_ok(sim, limit("a", BUY, "0.010", "49000"))
    place_ok(sim, limit("b", SELL, "0.010", "51000"))
    place_ok(sim, conditional("c", BUY, "0.010", "52000"))
    place_ok(sim, conditional("d", BUY, "0.010", "48000", TAKE_PROFIT))
    now = sim.now_ms()
    events = sim.cancel_all_orders(SYMBOL)
    assert events == [OrderCanceled(cid, now) for cid in "abcd"]
    assert sim.open_orders(SYMBOL) == []
    assert all(status(sim, cid) is OrderStatus.CANCELED for cid in "abcd")
    assert sim.ledger.open_buy == sim.ledger.open_sell == 0  # type: ignore[union-attr]
    # Nothing is left to trigger or fill.
    assert sim.on_candle(candle(1, "50000", "53000", "47000", "50000")) == []
    assert sim.cancel_all_orders(SYMBOL) == []


def test_canceled_order_no_longer_fills() -> None:
    sim = futures(NO_CAP)
    place_ok(sim, limit("a", BUY, "0.010", "49900"))
    assert sim.cancel_order(SYMBOL, "a") == [OrderCanceled("a", sim.now_ms())]
    assert sim.on_candle(candle(1, "50000", "50000", "49000", "49500")) == []


# ------------------------------------------------------------------------------ faults
def _latency_run(seed: int) -> tuple[int, list[list[ExecutionEvent]]]:
    sim = futures(SimulationSettings(latency_ms=90_000, seed=seed, max_volume_share=None))
    placed_at = sim.now_ms()
    assert sim.place_order(limit("a", BUY, "0.010", "49900")) == []
    assert sim.query_order(SYMBOL, "a") is None
    assert sim.open_orders(SYMBOL) == []
    per_candle = []
    for minute in range(1, 5):
        per_candle.append(sim.on_candle(candle(minute, "50000", "50000", "49800", "49950")))
    return placed_at, per_candle


def test_latency_delays_acceptance_to_a_later_candle() -> None:
    placed_at, per_candle = _latency_run(seed=3)
    accepted = [
        (i, e)
        for i, events in enumerate(per_candle)
        for e in events
        if isinstance(e, OrderAccepted)
    ]
    assert len(accepted) == 1
    i, ack = accepted[0]
    assert placed_at <= ack.timestamp <= placed_at + 90_000
    # Accepted on the first candle opening at or after the acknowledgement time...
    first_open = (i + 1) * MINUTE_MS
    assert ack.timestamp <= first_open
    assert i == 0 or ack.timestamp > i * MINUTE_MS
    # ...and matched against that same candle (the bid at 49900 trades through at the low).
    assert [(f.client_order_id, f.price) for f in fills(per_candle[i])] == [("a", D("49900"))]
    assert all(events == [] for events in per_candle[:i])


def test_latency_is_reproducible_per_seed() -> None:
    assert _latency_run(seed=11) == _latency_run(seed=11)
    outcomes = {
        next(e.timestamp for events in _latency_run(s)[1] for e in events) for s in range(8)
    }
    assert len(outcomes) > 1  # the delay really is drawn from the seed


def test_query_returns_the_order_once_accepted_after_latency() -> None:
    sim = futures(SimulationSettings(latency_ms=1, seed=0))
    assert sim.place_order(limit("a", BUY, "0.010", "49000")) == []
    assert sim.query_order(SYMBOL, "a") is None
    for minute in range(1, 3):
        sim.on_candle(flat(minute, "50000"))
    assert status(sim, "a") is OrderStatus.NEW
    assert [o.client_order_id for o in sim.open_orders(SYMBOL)] == ["a"]


def test_every_order_is_refused_with_probability_one() -> None:
    sim = futures(SimulationSettings(reject_probability=1.0))
    for i in range(20):
        r = rejected(sim.place_order(limit(f"o{i}", BUY, "0.010", "49000")))
        assert (r.code, r.reason) == (-1008, RejectReason.RANDOM_FAULT)
        assert r.message.startswith("Server is currently overloaded")
    assert sim.open_orders(SYMBOL) == []


def _fault_pattern(seed: int) -> list[bool]:
    sim = futures(SimulationSettings(reject_probability=0.5, seed=seed))
    return [
        isinstance(sim.place_order(limit(f"o{i}", BUY, "0.001", "49000"))[0], OrderAccepted)
        for i in range(40)
    ]


def test_random_rejects_are_reproducible_per_seed() -> None:
    pattern = _fault_pattern(seed=42)
    assert pattern == _fault_pattern(seed=42)
    assert 0 < sum(pattern) < 40
    assert pattern != _fault_pattern(seed=43)


# ------------------------------------------------------ fixed discrepancies (regression tests)
def test_partial_fill_quantities_stay_on_the_lot_step() -> None:
    sim = futures()
    place_ok(sim, limit("a", BUY, "1.000", "49900"))
    events = sim.on_candle(candle(1, "50000", "50100", "49800", "50000", volume="1.2345"))
    [fill] = fills(events)
    assert (fill.quantity - FUT.lot_size.min_qty) % FUT.lot_size.step_size == 0


def test_in_flight_orders_due_together_are_accepted_in_arrival_order() -> None:
    # Seed 28 with latency 120 s draws delays 14805 (first), 97301 (second) and 17151 (third).
    settings = SimulationSettings(latency_ms=120_000, seed=28)
    sim = SimulatedExchange(FUT, {"USDT": D(100000)}, settings)
    assert sim.place_order(limit("first", BUY, "0.001", "40000")) == []
    assert sim.place_order(limit("zz-second", BUY, "0.001", "40000")) == []  # due at 97301
    k = 97301 - 60_000 - 17151  # a candle opening here activates "first" only
    sim.on_candle(Candle(k, D(50000), D(50000), D(50000), D(50000), D(1), k + 59_999))
    assert sim.place_order(limit("aa-third", BUY, "0.001", "40000")) == []  # due at 97301
    t = 97301
    events = sim.on_candle(Candle(t, D(50000), D(50000), D(50000), D(50000), D(1), t + 59_999))
    accepted = [e.client_order_id for e in events if isinstance(e, OrderAccepted)]
    assert accepted == ["zz-second", "aa-third"]


def test_reduce_only_trim_does_not_use_up_the_volume_cap() -> None:
    sim = futures()  # cap = 1000 x 0.25 = 250 per candle
    place_ok(sim, market("long", BUY, "0.010"))
    place_ok(sim, limit("ro", SELL, "0.010", "50100", reduce_only=True))
    place_ok(sim, limit("plain", SELL, "0.005", "50050"))  # fills first: position 0.005 left
    place_ok(sim, limit("other", SELL, "0.005", "50150"))
    events = sim.on_candle(candle(1, "50000", "50200", "50000", "50150"))
    assert [(f.client_order_id, f.quantity) for f in fills(events)] == [
        ("plain", D("0.005")),
        ("ro", D("0.005")),
        ("other", D("0.005")),
    ]
