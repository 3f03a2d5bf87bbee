"""Simulated exchange accounting: fees, funding, spot locks, conservation and query consistency.

Amounts are checked exactly (Decimal equality). The conservation tests drive a seeded random
sequence of orders and candles and re-derive every balance from the reported events alone.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.simulated.exchange import SimulatedExchange
from adapters.simulated.funding import FUNDING_INTERVAL_MS, FundingFileError, FundingSchedule
from adapters.simulated.ledgers import FuturesLedger, SpotLedger
from adapters.simulated.settings import SimulationSettings
from application.ports.exchange import OrderRequest
from bootstrap.instruments import builtin_instrument
from domain.candles import MINUTE_MS, Candle
from domain.enums import Liquidity, MarketType, OrderType, Side, TimeInForce
from domain.events import (
    CancelRejected,
    ExecutionEvent,
    FundingPaid,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
)
from domain.orders import Fill, OrderStatus

D = Decimal
ZERO = D(0)
SYMBOL = "BTCUSDT"
FUT = builtin_instrument(MarketType.USDM_FUTURES, SYMBOL)
SPOT = builtin_instrument(MarketType.SPOT, SYMBOL)
BUY, SELL = Side.BUY, Side.SELL
GTC = TimeInForce.GTC
H8 = FUNDING_INTERVAL_MS
H8_MIN = H8 // MINUTE_MS  # 480


def candle(minute: int, o: str, h: str, low: str, c: str, volume: str = "1000") -> Candle:
    t = minute * MINUTE_MS
    return Candle(t, D(o), D(h), D(low), D(c), D(volume), t + 59_999)


def flat(minute: int, price: str) -> Candle:
    return candle(minute, price, price, price, price)


def limit(cid: str, side: Side, qty: str, price: str) -> OrderRequest:
    return OrderRequest(cid, SYMBOL, side, OrderType.LIMIT, D(qty), D(price), GTC)


def market(cid: str, side: Side, qty: str) -> OrderRequest:
    return OrderRequest(cid, SYMBOL, side, OrderType.MARKET, D(qty))


def fills(events: list[ExecutionEvent]) -> list[Fill]:
    return [e.fill for e in events if isinstance(e, OrderFilled)]


def funding_events(events: list[ExecutionEvent]) -> list[FundingPaid]:
    return [e for e in events if isinstance(e, FundingPaid)]


def futures_ledger(sim: SimulatedExchange) -> FuturesLedger:
    assert isinstance(sim.ledger, FuturesLedger)
    return sim.ledger


def spot_ledger(sim: SimulatedExchange) -> SpotLedger:
    assert isinstance(sim.ledger, SpotLedger)
    return sim.ledger


# ---------------------------------------------------------------------------------- fees
def test_futures_maker_fee_is_two_basis_points_in_usdt() -> None:
    sim = SimulatedExchange(FUT, {"USDT": D("10000")})
    sim.on_candle(flat(0, "50100"))
    sim.place_order(limit("bid", BUY, "0.010", "50000.0"))
    [fill] = fills(sim.on_candle(candle(1, "50100", "50100", "49900", "50000")))
    assert (fill.liquidity, fill.fee, fill.fee_asset) == (Liquidity.MAKER, D("0.1"), "USDT")
    ledger = futures_ledger(sim)
    assert ledger.wallet == D("9999.9")
    assert ledger.position.fees == D("0.1")
    assert sim.account().balances == {"USDT": (D("9999.9"), ZERO)}


def test_futures_taker_fee_is_five_basis_points() -> None:
    sim = SimulatedExchange(FUT, {"USDT": D("10000")})
    sim.on_candle(flat(0, "50000"))
    [fill] = fills(sim.place_order(market("m", SELL, "0.010")))
    assert (fill.liquidity, fill.fee, fill.fee_asset) == (Liquidity.TAKER, D("0.25"), "USDT")
    assert futures_ledger(sim).wallet == D("9999.75")


def test_configured_fee_rates_override_the_defaults() -> None:
    settings = SimulationSettings(maker_fee=D("0"), taker_fee=D("0.0004"))
    sim = SimulatedExchange(FUT, {"USDT": D("10000")}, settings)
    sim.on_candle(flat(0, "50000"))
    [taker] = fills(sim.place_order(market("m", BUY, "0.010")))
    assert taker.fee == D("0.2")
    sim.place_order(limit("ask", SELL, "0.010", "50100"))
    [maker] = fills(sim.on_candle(candle(1, "50000", "50200", "50000", "50150")))
    assert maker.fee == 0
    ledger = futures_ledger(sim)
    assert ledger.position.realized_pnl == D("1.0")
    assert ledger.wallet == D("10000.8")


def test_spot_buy_fee_is_charged_in_base() -> None:
    sim = SimulatedExchange(SPOT, {"USDT": D("1000"), "BTC": D("0")})
    sim.on_candle(flat(0, "50100"))
    sim.place_order(limit("bid", BUY, "0.01", "50000"))
    assert sim.account().balances["USDT"] == (D("500"), D("500"))
    [fill] = fills(sim.on_candle(candle(1, "50100", "50100", "49900", "50000")))
    assert (fill.liquidity, fill.fee, fill.fee_asset) == (Liquidity.MAKER, D("0.00001"), "BTC")
    assert sim.account().balances == {
        "USDT": (D("500"), ZERO),
        "BTC": (D("0.00999"), ZERO),
    }


def test_spot_sell_fee_is_charged_in_quote() -> None:
    sim = SimulatedExchange(SPOT, {"USDT": D("0"), "BTC": D("0.01")})
    sim.on_candle(flat(0, "50900"))
    sim.place_order(limit("ask", SELL, "0.01", "51000"))
    assert sim.account().balances["BTC"] == (ZERO, D("0.01"))
    [fill] = fills(sim.on_candle(candle(1, "50900", "51100", "50900", "51050")))
    assert (fill.fee, fill.fee_asset) == (D("0.51"), "USDT")
    assert sim.account().balances == {"USDT": (D("509.49"), ZERO), "BTC": (ZERO, ZERO)}


def test_spot_taker_fees() -> None:
    sim = SimulatedExchange(SPOT, {"USDT": D("1000"), "BTC": D("0")})
    sim.on_candle(flat(0, "40000"))
    [buy] = fills(sim.place_order(market("b", BUY, "0.02")))
    assert (buy.liquidity, buy.price, buy.fee, buy.fee_asset) == (
        Liquidity.TAKER,
        D("40000"),
        D("0.00002"),
        "BTC",
    )
    [sell] = fills(sim.place_order(market("s", SELL, "0.01")))
    assert (sell.fee, sell.fee_asset) == (D("0.4"), "USDT")
    assert sim.account().balances == {
        "USDT": (D("1000") - D("800") + D("400") - D("0.4"), ZERO),
        "BTC": (D("0.02") - D("0.00002") - D("0.01"), ZERO),
    }


def test_spot_commission_is_booked_with_binance_8_decimals() -> None:
    """Spot balances carry 8 decimals and Binance reports commission with 8: the venue books
    the rounded amount, so the fee reported and the balance moved are the same figure.

    A validation run found the emulator booking ``0.4719753735 USDT`` while reporting
    ``0.47197537`` (docs/validation/findings.md, entries 15 and 18).
    """
    sim = SimulatedExchange(SPOT, {"USDT": D("0"), "BTC": D("0.01")})
    sim.on_candle(flat(0, "104126.07"))
    [sell] = fills(sim.place_order(market("s", SELL, "0.00191")))
    exact = D("0.00191") * D("104126.07") * D("0.001")  # 0.1988807937: 10 decimals
    assert exact != exact.quantize(D("1e-8"))
    assert (sell.fee, sell.fee_asset) == (D("0.19888079"), "USDT")
    assert sim.account().balances["USDT"] == (D("0.00191") * D("104126.07") - sell.fee, ZERO)
    # A base commission too: 0.00191 x 0.00075 (a discounted rate) = 0.0000014325 BTC.
    discounted = SimulationSettings(taker_fee=D("0.00075"))
    sim = SimulatedExchange(SPOT, {"USDT": D("1000"), "BTC": D("0")}, discounted)
    sim.on_candle(flat(0, "104126.07"))
    [buy] = fills(sim.place_order(market("b", BUY, "0.00191")))
    assert (buy.fee, buy.fee_asset) == (D("0.00000143"), "BTC")
    assert sim.account().balances["BTC"] == (D("0.00191") - D("0.00000143"), ZERO)


def test_spot_replace_cancels_then_places_under_the_new_id_or_does_nothing() -> None:
    sim = SimulatedExchange(SPOT, {"USDT": D("1000"), "BTC": D("0")})
    sim.on_candle(flat(0, "50100"))
    sim.place_order(limit("a", BUY, "0.01", "50000"))
    events = sim.replace_order(SYMBOL, "a", "b", D("49000"), D("0.01"))
    assert [(type(e), e.client_order_id) for e in events] == [
        (OrderCanceled, "a"),
        (OrderAccepted, "b"),
    ]
    assert sim.account().balances["USDT"] == (D("510"), D("490"))
    # More than the free quote: the cancel happened, the new order is refused -2010.
    canceled, refused = sim.replace_order(SYMBOL, "b", "c", D("49000"), D("0.03"))
    assert isinstance(canceled, OrderCanceled) and isinstance(refused, OrderRejected)
    assert (refused.client_order_id, refused.code) == ("c", -2010)
    assert sim.account().balances["USDT"] == (D("1000"), ZERO)
    # ONLY_NEW: a partially filled order is not replaced; neither is an unknown one.
    sim.place_order(limit("d", BUY, "0.01", "50000"))
    thin = candle(1, "50100", "50100", "49900", "50000", volume="0.02")
    sim.on_candle(thin)
    assert sim.query_order(SYMBOL, "d").status is OrderStatus.PARTIALLY_FILLED  # type: ignore[union-attr]
    kept, never = sim.replace_order(SYMBOL, "d", "e", D("49000"), D("0.01"))
    assert (type(kept), kept.code, type(never)) == (CancelRejected, -2011, OrderRejected)  # type: ignore[union-attr]
    assert sim.query_order(SYMBOL, "e") is None


# ------------------------------------------------------------------------------- funding
def _long_before_boundary(
    settings: SimulationSettings | None = None, side: Side = BUY
) -> SimulatedExchange:
    """A 0.010 BTC position opened at 50000 two minutes before the 08:00 settlement."""
    sim = SimulatedExchange(FUT, {"USDT": D("10000")}, settings)
    assert sim.on_candle(flat(H8_MIN - 2, "50000")) == []
    assert [f.fee for f in fills(sim.place_order(market("pos", side, "0.010")))] == [D("0.25")]
    assert sim.on_candle(flat(H8_MIN - 1, "50000")) == []
    return sim


def test_long_pays_funding_at_the_open_of_the_boundary_candle() -> None:
    sim = _long_before_boundary()
    events = sim.on_candle(candle(H8_MIN, "50100", "50200", "50050", "50150"))
    assert funding_events(events) == [
        FundingPaid(SYMBOL, D("-0.0501"), D("0.0001"), D("50100"), D("0.010"), H8)
    ]
    ledger = futures_ledger(sim)
    assert ledger.wallet == D("10000") - D("0.25") - D("0.0501")
    assert ledger.position.funding == D("-0.0501")
    # Nothing more until the next boundary.
    for minute in range(H8_MIN + 1, H8_MIN + 5):
        assert funding_events(sim.on_candle(flat(minute, "50000"))) == []


def test_short_receives_funding() -> None:
    sim = _long_before_boundary(side=SELL)
    [paid] = funding_events(sim.on_candle(flat(H8_MIN, "49000")))
    assert (paid.amount, paid.position_quantity, paid.mark_price) == (
        D("0.049"),
        D("-0.010"),
        D("49000"),
    )
    assert futures_ledger(sim).wallet == D("10000") - D("0.25") + D("0.049")


def test_negative_rate_pays_longs() -> None:
    sim = _long_before_boundary(SimulationSettings(funding=FundingSchedule(D("-0.0003"))))
    [paid] = funding_events(sim.on_candle(flat(H8_MIN, "50000")))
    assert (paid.amount, paid.rate) == (D("0.15"), D("-0.0003"))


def test_no_funding_event_when_flat() -> None:
    sim = SimulatedExchange(FUT, {"USDT": D("10000")})
    sim.on_candle(flat(H8_MIN - 1, "50000"))
    assert sim.on_candle(flat(H8_MIN, "50000")) == []
    assert futures_ledger(sim).wallet == D("10000")


def test_funding_uses_the_first_candle_at_or_after_the_boundary() -> None:
    sim = _long_before_boundary()
    # The 08:00 candle is missing; the 08:03 candle's open is the mark.
    [paid] = funding_events(sim.on_candle(flat(H8_MIN + 3, "50200")))
    assert (paid.timestamp, paid.mark_price, paid.amount) == (H8, D("50200"), D("-0.0502"))


def test_position_opened_inside_the_boundary_candle_pays_nothing_there() -> None:
    sim = SimulatedExchange(FUT, {"USDT": D("10000")}, SimulationSettings(max_volume_share=None))
    sim.on_candle(flat(H8_MIN - 1, "50000"))
    sim.place_order(limit("bid", BUY, "0.010", "49950"))
    events = sim.on_candle(candle(H8_MIN, "50000", "50000", "49900", "49950"))
    assert funding_events(events) == []
    assert len(fills(events)) == 1


def test_spot_has_no_funding() -> None:
    sim = SimulatedExchange(SPOT, {"USDT": D("1000"), "BTC": D("1")})
    sim.on_candle(flat(H8_MIN - 1, "50000"))
    assert sim.on_candle(flat(H8_MIN, "50000")) == []


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "BTCUSDT.csv"
    path.write_text(text)
    return path


def test_funding_file_uses_the_latest_rate_at_or_before_the_settlement(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "symbol,fundingTime,fundingRate,fundingTimeExact\n"
        f"BTCUSDT,{H8},0.00030000,{H8 + 3}\n"
        f"BTCUSDT,{3 * H8},-0.00020000,{3 * H8}\n",
    )
    schedule = FundingSchedule.from_csv(path)
    assert schedule.rate_at(H8) == D("0.0003")
    assert schedule.rate_at(2 * H8) == D("0.0003")  # no row: the earlier rate carries on
    assert schedule.rate_at(3 * H8) == D("-0.0002")
    assert schedule.rate_at(10 * H8) == D("-0.0002")

    sim = _long_before_boundary(SimulationSettings(funding=schedule))
    paid = []
    for boundary in (1, 2, 3):
        paid += funding_events(sim.on_candle(flat(boundary * H8_MIN, "50000")))
    assert [(p.timestamp, p.rate, p.amount) for p in paid] == [
        (H8, D("0.0003"), D("-0.15")),
        (2 * H8, D("0.0003"), D("-0.15")),
        (3 * H8, D("-0.0002"), D("0.1")),
    ]
    ledger = futures_ledger(sim)
    assert ledger.position.funding == D("-0.2")
    assert ledger.wallet == D("10000") - D("0.25") - D("0.2")


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (f"symbol,fundingTime,fundingRate\nBTCUSDT,{H8},0.0001\nBTCUSDT,{2 * H8},abc\n", ":3:"),
        ("symbol,fundingTime,fundingRate\nBTCUSDT,soon,0.0001\n", ":2:"),
        (f"symbol,fundingTime,fundingRate\nBTCUSDT,{H8},0.0001\nBTCUSDT,{H8},0.0002\n", ":3:"),
        ("symbol,time,rate\nBTCUSDT,1,0.0001\n", ": needs columns"),
        ("symbol,fundingTime,fundingRate\n", ": no funding rows"),
    ],
)
def test_malformed_funding_file_names_file_and_line(tmp_path: Path, text: str, where: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(FundingFileError) as info:
        FundingSchedule.from_csv(path)
    assert str(info.value).startswith(f"{path}{where}")


def test_missing_funding_file(tmp_path: Path) -> None:
    with pytest.raises(FundingFileError, match="cannot read funding file"):
        FundingSchedule.from_csv(tmp_path / "absent.csv")


# ------------------------------------------------------------------------------ spot locks
def test_cancel_releases_spot_locks_exactly() -> None:
    sim = SimulatedExchange(SPOT, {"USDT": D("1000.37"), "BTC": D("0.12345")})
    sim.on_candle(flat(0, "50000"))
    sim.place_order(limit("bid", BUY, "0.00777", "49876.54"))
    sim.place_order(limit("ask", SELL, "0.0111", "50123.45"))
    sim.place_order(
        OrderRequest("stop", SYMBOL, BUY, OrderType.STOP_MARKET, D("0.001"), stop_price=D("51000"))
    )
    bid_lock = D("0.00777") * D("49876.54")
    assert sim.account().balances == {
        "USDT": (D("1000.37") - bid_lock - D("51"), bid_lock + D("51")),
        "BTC": (D("0.12345") - D("0.0111"), D("0.0111")),
    }
    sim.cancel_order(SYMBOL, "bid")
    assert sim.account().balances["USDT"] == (D("1000.37") - D("51"), D("51"))
    sim.cancel_all_orders(SYMBOL)
    assert sim.account().balances == {
        "USDT": (D("1000.37"), ZERO),
        "BTC": (D("0.12345"), ZERO),
    }


def test_partial_fill_then_cancel_releases_only_the_remainder() -> None:
    sim = SimulatedExchange(SPOT, {"USDT": D("1000"), "BTC": D("0")})
    sim.on_candle(flat(0, "50000"))
    sim.place_order(limit("bid", BUY, "0.01", "49000"))
    [fill] = fills(sim.on_candle(candle(1, "50000", "50000", "48000", "48500", volume="0.016")))
    assert fill.quantity == D("0.004")
    assert sim.account().balances["USDT"] == (D("510"), D("294"))
    sim.cancel_order(SYMBOL, "bid")
    assert sim.account().balances == {
        "USDT": (D("804"), ZERO),
        "BTC": (D("0.004") - D("0.000004"), ZERO),
    }


def test_marketable_spot_buy_locks_at_its_limit_and_pays_the_last_close() -> None:
    sim = SimulatedExchange(SPOT, {"USDT": D("1000"), "BTC": D("0")})
    sim.on_candle(flat(0, "50000"))
    sim.place_order(limit("bid", BUY, "0.01", "50500"))
    assert sim.account().balances == {
        "USDT": (D("500"), ZERO),
        "BTC": (D("0.00999"), ZERO),
    }


# --------------------------------------------------------------------- random conservation
class Tape:
    """Everything the exchange reported, plus checks that only need the events."""

    def __init__(self) -> None:
        self.events: list[ExecutionEvent] = []
        self.accepted: set[str] = set()
        self.fills: list[Fill] = []
        self.funding: list[FundingPaid] = []
        self.closed: dict[str, OrderStatus] = {}

    def record(self, events: list[ExecutionEvent]) -> None:
        for e in events:
            self.events.append(e)
            if isinstance(e, OrderAccepted):
                assert e.client_order_id not in self.accepted  # ids are unique in these runs
                self.accepted.add(e.client_order_id)
            elif isinstance(e, OrderFilled):
                assert e.client_order_id in self.accepted, "fill before acceptance"
                assert e.client_order_id not in self.closed, "fill after the order closed"
                self.fills.append(e.fill)
            elif isinstance(e, FundingPaid):
                self.funding.append(e)
            elif isinstance(e, OrderCanceled):
                self.closed[e.client_order_id] = OrderStatus.CANCELED
            elif isinstance(e, OrderExpired):
                self.closed[e.client_order_id] = OrderStatus.EXPIRED
            elif isinstance(e, OrderRejected):
                assert e.client_order_id not in self.accepted

    def executed(self, cid: str) -> tuple[Decimal, Decimal]:
        mine = [f for f in self.fills if f.client_order_id == cid]
        return sum((f.quantity for f in mine), ZERO), sum((f.notional for f in mine), ZERO)


Check = Callable[[SimulatedExchange, Tape], None]


def _random_bar(rng: random.Random, t: int, last: Decimal, unit: Decimal) -> Candle:
    jump = rng.choice([0, 0, 0, 1, -1, 8, -8, 30, -30])
    o = last + unit * jump
    c = o + unit * rng.randint(-20, 20)
    h = max(o, c) + unit * rng.randint(0, 15)
    low = min(o, c) - unit * rng.randint(0, 15)
    volume = D(rng.randint(0, 60)) / 1000  # small: the volume cap often binds
    return Candle(t, o, h, low, c, volume, t + 59_999)


def _random_request(
    rng: random.Random, cid: str, last: Decimal, unit: Decimal, qty_unit: Decimal, futures: bool
) -> OrderRequest:
    side = rng.choice([BUY, SELL])
    qty = qty_unit * rng.randint(1, 40)
    kind = rng.choices(
        [OrderType.LIMIT, OrderType.MARKET, OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET],
        weights=[12, 2, 1, 1],
    )[0]
    reduce_only = futures and rng.random() < 0.15
    if kind is OrderType.LIMIT:
        away = unit * rng.randint(-6, 25)  # mostly resting, sometimes marketable
        price = last - away if side is BUY else last + away
        tif = rng.choices(list(TimeInForce), weights=[10, 1, 1, 3])[0]
        return OrderRequest(cid, SYMBOL, side, kind, qty, price, tif, reduce_only=reduce_only)
    if kind is OrderType.MARKET:
        return OrderRequest(cid, SYMBOL, side, kind, qty, reduce_only=reduce_only)
    stop = last + unit * rng.randint(-25, 25)
    return OrderRequest(cid, SYMBOL, side, kind, qty, stop_price=stop, reduce_only=reduce_only)


def _drive(
    sim: SimulatedExchange,
    seed: int,
    bars: int,
    unit: Decimal,
    qty_unit: Decimal,
    check: Check,
    bar_step_ms: int = MINUTE_MS,
) -> Tape:
    """Random orders, cancels and modifies between random candles; ``check`` after every step."""
    rng = random.Random(seed)
    tape = Tape()
    futures = sim.instrument(SYMBOL).market.is_futures
    last = D("50000")
    tape.record(sim.on_candle(Candle(0, last, last, last, last, D(1), 59_999)))
    check(sim, tape)
    n = 0
    for i in range(1, bars + 1):
        for _ in range(rng.randint(0, 3)):
            action = rng.random()
            open_orders = sim.open_orders(SYMBOL)
            if action < 0.65 or not open_orders:
                n += 1
                req = _random_request(rng, f"o{n}", last, unit, qty_unit, futures)
                tape.record(sim.place_order(req))
            elif action < 0.8:
                tape.record(sim.cancel_order(SYMBOL, rng.choice(open_orders).client_order_id))
            elif action < 0.97:
                target = rng.choice(open_orders)
                price = last + unit * rng.randint(-25, 25)
                if rng.random() < 0.3 and target.price is not None:
                    price = target.price
                qty = qty_unit * rng.randint(0, 40) + target.executed_quantity
                if qty <= 0:
                    qty = qty_unit
                tape.record(sim.modify_order(SYMBOL, target.client_order_id, price, qty))
            else:
                tape.record(sim.cancel_all_orders(SYMBOL))
            check(sim, tape)
        bar = _random_bar(rng, i * bar_step_ms, last, unit)
        tape.record(sim.on_candle(bar))
        last = bar.close
        check(sim, tape)
    return tape


def _check_orders(sim: SimulatedExchange, tape: Tape) -> None:
    """query_order / open_orders / trades_since agree with the event tape."""
    trades = sim.trades_since(SYMBOL, 0)
    assert trades == tape.fills
    assert [f.trade_id for f in trades] == list(range(1, len(trades) + 1))
    assert [f.timestamp for f in trades] == sorted(f.timestamp for f in trades)
    if trades:
        assert sim.trades_since(SYMBOL, trades[-1].trade_id) == []
        middle = trades[len(trades) // 2].trade_id
        assert sim.trades_since(SYMBOL, middle) == [f for f in trades if f.trade_id > middle]
    open_ids = [o.client_order_id for o in sim.open_orders(SYMBOL)]
    assert len(open_ids) == len(set(open_ids))
    for cid in tape.accepted:
        snap = sim.query_order(SYMBOL, cid)
        assert snap is not None
        qty, quote = tape.executed(cid)
        assert (snap.executed_quantity, snap.executed_quote) == (qty, quote)
        assert 0 <= snap.executed_quantity <= snap.quantity
        if cid in tape.closed:
            assert snap.status is tape.closed[cid]
        elif qty == snap.quantity:
            assert snap.status is OrderStatus.FILLED
        elif qty:
            assert snap.status is OrderStatus.PARTIALLY_FILLED
        else:
            assert snap.status is OrderStatus.NEW
        assert (cid in open_ids) == snap.status.is_open


def _check_futures(initial: Decimal) -> Check:
    def check(sim: SimulatedExchange, tape: Tape) -> None:
        ledger = futures_ledger(sim)
        pos = ledger.position
        assert ledger.wallet == initial + pos.realized_pnl - pos.fees + pos.funding
        assert pos.fees == sum((f.fee for f in tape.fills), ZERO)
        assert pos.funding == sum((p.amount for p in tape.funding), ZERO)
        signed = sum((f.quantity * f.side.sign for f in tape.fills), ZERO)
        assert pos.quantity == signed
        # Open exposure counts exactly the unfilled remainder of non-reduce-only orders.
        open_orders = sim.open_orders(SYMBOL)
        for side, exposure in ((BUY, ledger.open_buy), (SELL, ledger.open_sell)):
            remaining = sum(
                (
                    o.quantity - o.executed_quantity
                    for o in open_orders
                    if o.side is side and not o.reduce_only
                ),
                ZERO,
            )
            assert exposure == remaining
        for p in tape.funding:
            assert p.timestamp % FUNDING_INTERVAL_MS == 0
        _check_orders(sim, tape)

    return check


def _check_spot(initial_usdt: Decimal, initial_btc: Decimal) -> Check:
    def check(sim: SimulatedExchange, tape: Tape) -> None:
        balances = sim.account().balances
        for free, locked in balances.values():
            assert free >= 0
            assert locked >= 0
        usdt = sum(balances.get("USDT", (ZERO, ZERO)), ZERO)
        btc = sum(balances.get("BTC", (ZERO, ZERO)), ZERO)
        buys = [f for f in tape.fills if f.side is BUY]
        sells = [f for f in tape.fills if f.side is SELL]
        assert all(f.fee_asset == "BTC" for f in buys)
        assert all(f.fee_asset == "USDT" for f in sells)
        assert usdt == (
            initial_usdt
            - sum((f.notional for f in buys), ZERO)
            + sum((f.notional for f in sells), ZERO)
            - sum((f.fee for f in sells), ZERO)
        )
        assert btc == (
            initial_btc
            + sum((f.quantity - f.fee for f in buys), ZERO)
            - sum((f.quantity for f in sells), ZERO)
        )
        # Locks are exactly what the open orders' remainders may spend.
        open_orders = sim.open_orders(SYMBOL)
        quote_lock = sum(
            (
                (o.price or o.stop_price or ZERO) * (o.quantity - o.executed_quantity)
                for o in open_orders
                if o.side is BUY
            ),
            ZERO,
        )
        base_lock = sum(
            (o.quantity - o.executed_quantity for o in open_orders if o.side is SELL), ZERO
        )
        assert balances.get("USDT", (ZERO, ZERO))[1] == quote_lock
        assert balances.get("BTC", (ZERO, ZERO))[1] == base_lock
        _check_orders(sim, tape)

    return check


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_futures_wallet_is_conserved(seed: int) -> None:
    initial = D("3000")
    settings = SimulationSettings(leverage=3, funding=FundingSchedule(D("0.0001")))
    sim = SimulatedExchange(FUT, {"USDT": initial}, settings)
    # Bars 20 minutes apart cross an 8 h boundary every 24 bars (and never two at once).
    tape = _drive(
        sim,
        seed,
        bars=150,
        unit=D("5"),
        qty_unit=D("0.001"),
        check=_check_futures(initial),
        bar_step_ms=20 * MINUTE_MS,
    )
    assert len(tape.fills) > 30
    assert len(tape.funding) >= 2
    assert {type(e) for e in tape.events} >= {OrderAccepted, OrderRejected, OrderFilled}


def test_futures_equity_matches_the_cash_flows() -> None:
    initial = D("3000")
    sim = SimulatedExchange(FUT, {"USDT": initial}, SimulationSettings(leverage=3))
    tape = _drive(
        sim,
        7,
        bars=150,
        unit=D("5"),
        qty_unit=D("0.001"),
        check=_check_futures(initial),
        bar_step_ms=20 * MINUTE_MS,
    )
    mark = sim.last_price
    assert mark is not None
    ledger = futures_ledger(sim)
    flows = sum((-f.quantity * f.side.sign * f.price for f in tape.fills), ZERO)
    expected = (
        initial
        + flows
        + ledger.position.quantity * mark
        - ledger.position.fees
        + ledger.position.funding
    )
    assert sim.equity() == expected


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_spot_balances_are_conserved(seed: int) -> None:
    usdt, btc = D("1000"), D("0.02")
    sim = SimulatedExchange(SPOT, {"USDT": usdt, "BTC": btc})
    tape = _drive(
        sim, seed, bars=150, unit=D("5"), qty_unit=D("0.00025"), check=_check_spot(usdt, btc)
    )
    assert len(tape.fills) > 20
    reasons = {e.code for e in tape.events if isinstance(e, OrderRejected)}
    assert -2010 in reasons  # the balances really were exhausted at times


def test_trades_since_reports_fills_in_trade_id_order() -> None:
    sim = SimulatedExchange(FUT, {"USDT": D("100000")}, SimulationSettings(max_volume_share=None))
    sim.on_candle(flat(0, "50000"))
    sim.place_order(limit("low", BUY, "0.010", "49800"))
    sim.place_order(limit("high", BUY, "0.010", "49900"))
    sim.place_order(market("m", BUY, "0.001"))
    sim.on_candle(candle(1, "50000", "50000", "49700", "49750"))
    trades = sim.trades_since(SYMBOL, 0)
    assert [(f.trade_id, f.client_order_id) for f in trades] == [
        (1, "m"),
        (2, "high"),
        (3, "low"),
    ]
    assert sim.trades_since(SYMBOL, 2) == trades[2:]
    assert sim.trades_since(SYMBOL, 3) == []


def test_every_boundary_in_a_data_gap_is_settled() -> None:
    sim = _long_before_boundary()
    assert len(funding_events(sim.on_candle(flat(H8_MIN, "50000")))) == 1
    # The next candle comes 24 h later: the 16:00 and 00:00 settlements both fell in the gap.
    events = sim.on_candle(flat(4 * H8_MIN, "50000"))
    assert [p.timestamp for p in funding_events(events)] == [2 * H8, 3 * H8, 4 * H8]
