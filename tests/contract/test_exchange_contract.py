"""The ExchangePort contract: what every venue adapter must do, checked on each of them.

Every test takes a fresh venue from ``venue_factory`` with a known last price and an
account funded in the quote asset (and, on spot, the base asset). The parameter list holds
the simulated exchange on both markets today; the Binance adapter, served by the loopback
emulator, joins it as one more :class:`VenueSpec` whose ``build`` starts the emulator and
returns a cleanup callable, and whose ``set_price`` publishes the reference candle.

The contract is deliberately venue-neutral: it asserts event types, statuses, reject
reasons and Binance's documented codes, never simulator internals such as fill timestamps
or the exact taker price.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from adapters.simulated.exchange import SimulatedExchange
from application.ports.exchange import ExchangePort, OrderRequest
from bootstrap.instruments import builtin_instrument
from domain.candles import Candle
from domain.enums import MarketType, OrderType, Side, TimeInForce
from domain.events import (
    CancelRejected,
    ExecutionEvent,
    ModifyRejected,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderModified,
    OrderRejected,
    RejectReason,
)
from domain.instruments import Instrument, Rounding
from domain.orders import OrderStatus

D = Decimal
SYMBOL = "BTCUSDT"
LAST_PRICE = D("50000")
QUOTE_BALANCE = D("100000")
BASE_BALANCE = D("1")
START_MS = 1_704_067_200_000
PRICE_CANDLE = Candle(
    START_MS, LAST_PRICE, LAST_PRICE, LAST_PRICE, LAST_PRICE, D("1000"), START_MS + 59_999
)
#: Trades through 1 % below the last price on thin volume: a resting bid there fills only in
#: part (the venues' default volume share of a candle is 25 %).
THIN_CANDLE = Candle(
    START_MS + 60_000,
    LAST_PRICE,
    LAST_PRICE,
    D("49000"),
    D("49800"),
    D("0.008"),
    START_MS + 119_999,
)
BUY, SELL = Side.BUY, Side.SELL

Cleanup = Callable[[], None]


# ------------------------------------------------------------------------ venues
@dataclass(frozen=True)
class VenueSpec:
    """How to obtain one kind of venue for the contract.

    Attributes:
        name: Test id.
        market: Spot or USD-M futures.
        build: Creates a fresh venue for ``instrument`` funded with ``balances``; returns it
            with a cleanup callable (stop an emulator, close a session).
        set_price: Makes ``candle.close`` the venue's last price. None feeds the candle
            through ``on_candle``, which every ReplayVenue offers.
    """

    name: str
    market: MarketType
    build: Callable[[Instrument, dict[str, Decimal]], tuple[ExchangePort, Cleanup]]
    set_price: Callable[[ExchangePort, Candle], None] | None = None
    advance: Callable[[ExchangePort, Candle], None] | None = None


def _simulated(
    instrument: Instrument, balances: dict[str, Decimal]
) -> tuple[ExchangePort, Cleanup]:
    return SimulatedExchange(instrument, balances, start_time_ms=START_MS), lambda: None


def _binance_over_emulator(
    instrument: Instrument, balances: dict[str, Decimal]
) -> tuple[ExchangePort, Cleanup]:
    from tests.contract.binance_over_emulator import build

    bridge, cleanup = build(instrument, balances, PRICE_CANDLE, [THIN_CANDLE])
    return bridge, cleanup  # type: ignore[return-value]


def _emulator_advance(exchange: ExchangePort, candle: Candle) -> None:
    from tests.contract.binance_over_emulator import advance

    advance(exchange, candle)


def _emulator_price(exchange: ExchangePort, candle: Candle) -> None:
    from tests.contract.binance_over_emulator import set_price

    set_price(exchange, candle)


VENUES = [
    VenueSpec("simulated-futures", MarketType.USDM_FUTURES, _simulated),
    VenueSpec("simulated-spot", MarketType.SPOT, _simulated),
    VenueSpec(
        "binance-emulator-futures",
        MarketType.USDM_FUTURES,
        _binance_over_emulator,
        _emulator_price,
        _emulator_advance,
    ),
    VenueSpec(
        "binance-emulator-spot",
        MarketType.SPOT,
        _binance_over_emulator,
        _emulator_price,
        _emulator_advance,
    ),
]


@dataclass
class Venue:
    """A fresh venue plus the helpers the contract uses to build valid requests."""

    exchange: ExchangePort
    instrument: Instrument
    last_price: Decimal
    advance: Callable[[Candle], object]
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def market(self) -> MarketType:
        return self.instrument.market

    def cid(self) -> str:
        return f"ct-{next(self._ids)}"

    def price(self, fraction: str, side: Side) -> Decimal:
        """``last x (1 + fraction)`` on the tick grid, rounded away from the market."""
        rounding = Rounding.DOWN if side is BUY else Rounding.UP
        return self.instrument.round_price(self.last_price * (1 + D(fraction)), rounding)

    def quantity(self, price: Decimal, quote: str = "200") -> Decimal:
        return self.instrument.quantity_for_notional(D(quote), price)

    def limit(
        self, side: Side, price: Decimal, cid: str | None = None, qty: Decimal | None = None
    ) -> OrderRequest:
        return OrderRequest(
            cid or self.cid(),
            SYMBOL,
            side,
            OrderType.LIMIT,
            qty if qty is not None else self.quantity(price),
            price,
            TimeInForce.GTC,
        )

    def resting_bid(self, fraction: str = "-0.01") -> OrderRequest:
        return self.limit(BUY, self.price(fraction, BUY))

    def resting_ask(self, fraction: str = "0.01") -> OrderRequest:
        return self.limit(SELL, self.price(fraction, SELL))

    def place(self, request: OrderRequest) -> list[ExecutionEvent]:
        return self.exchange.place_order(request)

    def place_resting(self, request: OrderRequest) -> OrderAccepted:
        events = self.place(request)
        assert [type(e) for e in events] == [OrderAccepted], events
        ack = events[0]
        assert isinstance(ack, OrderAccepted)
        return ack


@pytest.fixture(params=VENUES, ids=[spec.name for spec in VENUES])
def venue_factory(request: pytest.FixtureRequest) -> Callable[[], Venue]:
    """Builds fresh, funded, priced venues of one kind; each is cleaned up after the test."""
    spec: VenueSpec = request.param

    def make() -> Venue:
        instrument = builtin_instrument(spec.market, SYMBOL)
        balances = {instrument.quote_asset: QUOTE_BALANCE}
        if not spec.market.is_futures:
            balances[instrument.base_asset] = BASE_BALANCE
        exchange, cleanup = spec.build(instrument, balances)
        request.addfinalizer(cleanup)
        if spec.set_price is not None:
            spec.set_price(exchange, PRICE_CANDLE)
        else:
            on_candle = getattr(exchange, "on_candle", None)
            assert on_candle is not None, f"{spec.name}: not a ReplayVenue, give set_price"
            assert on_candle(PRICE_CANDLE) == []
        if spec.advance is not None:
            advance = spec.advance
            return Venue(exchange, instrument, PRICE_CANDLE.close, lambda c: advance(exchange, c))
        on_candle = getattr(exchange, "on_candle")  # noqa: B009 - a ReplayVenue, checked above
        return Venue(exchange, instrument, PRICE_CANDLE.close, on_candle)

    return make


@pytest.fixture
def venue(venue_factory: Callable[[], Venue]) -> Venue:
    return venue_factory()


# ---------------------------------------------------------------------- contract
def test_instrument_is_served(venue: Venue) -> None:
    assert venue.exchange.instrument(SYMBOL) == venue.instrument


def test_resting_limit_is_accepted_with_an_exchange_id(venue: Venue) -> None:
    request = venue.resting_bid()
    ack = venue.place_resting(request)
    assert ack.client_order_id == request.client_order_id
    assert isinstance(ack.exchange_order_id, int) and ack.exchange_order_id > 0


def test_query_returns_the_resting_order(venue: Venue) -> None:
    request = venue.resting_ask()
    ack = venue.place_resting(request)
    snap = venue.exchange.query_order(SYMBOL, request.client_order_id)
    assert snap is not None
    assert snap.status is OrderStatus.NEW
    assert snap.client_order_id == request.client_order_id
    assert snap.exchange_order_id == ack.exchange_order_id
    assert snap.symbol == SYMBOL
    assert (snap.side, snap.order_type) == (SELL, OrderType.LIMIT)
    assert snap.quantity == request.quantity
    assert snap.price == request.price
    assert snap.time_in_force is TimeInForce.GTC
    assert snap.executed_quantity == 0


def test_open_orders_lists_the_resting_order(venue: Venue) -> None:
    assert venue.exchange.open_orders(SYMBOL) == []
    bid = venue.resting_bid()
    venue.place_resting(bid)
    [snap] = venue.exchange.open_orders(SYMBOL)
    assert snap.client_order_id == bid.client_order_id
    assert (snap.status, snap.quantity, snap.price) == (OrderStatus.NEW, bid.quantity, bid.price)


def test_cancel_closes_the_order(venue: Venue) -> None:
    bid = venue.resting_bid()
    venue.place_resting(bid)
    events = venue.exchange.cancel_order(SYMBOL, bid.client_order_id)
    assert [type(e) for e in events] == [OrderCanceled]
    assert events[0].client_order_id == bid.client_order_id
    snap = venue.exchange.query_order(SYMBOL, bid.client_order_id)
    assert snap is not None and snap.status is OrderStatus.CANCELED
    assert venue.exchange.open_orders(SYMBOL) == []


def test_second_cancel_is_rejected_as_unknown_order(venue: Venue) -> None:
    bid = venue.resting_bid()
    venue.place_resting(bid)
    venue.exchange.cancel_order(SYMBOL, bid.client_order_id)
    [rejected] = venue.exchange.cancel_order(SYMBOL, bid.client_order_id)
    assert isinstance(rejected, CancelRejected)
    assert rejected.client_order_id == bid.client_order_id
    assert rejected.code == -2011
    assert rejected.reason is RejectReason.UNKNOWN_ORDER


def test_cancel_of_a_never_seen_order_is_rejected(venue: Venue) -> None:
    [rejected] = venue.exchange.cancel_order(SYMBOL, "ct-never")
    assert isinstance(rejected, CancelRejected)
    assert rejected.code == -2011


def test_query_of_an_unknown_client_id_is_none(venue: Venue) -> None:
    assert venue.exchange.query_order(SYMBOL, "ct-never") is None


def test_duplicate_open_client_id_is_rejected(venue: Venue) -> None:
    bid = venue.resting_bid()
    ack = venue.place_resting(bid)
    again = venue.limit(BUY, venue.price("-0.02", BUY), cid=bid.client_order_id)
    [rejected] = venue.place(again)
    assert isinstance(rejected, OrderRejected)
    assert rejected.client_order_id == bid.client_order_id
    assert rejected.reason is RejectReason.DUPLICATE_CLIENT_ID
    # The open order is untouched.
    [snap] = venue.exchange.open_orders(SYMBOL)
    assert (snap.exchange_order_id, snap.price) == (ack.exchange_order_id, bid.price)


def test_off_tick_price_is_rejected_by_the_filter(venue: Venue) -> None:
    good = venue.price("-0.01", BUY)
    off_tick = good + venue.instrument.price_filter.tick_size / 2
    request = venue.limit(BUY, off_tick, qty=venue.quantity(good))
    [rejected] = venue.place(request)
    assert isinstance(rejected, OrderRejected)
    assert rejected.reason is RejectReason.FILTER
    assert rejected.code < 0 and rejected.message
    assert venue.exchange.query_order(SYMBOL, request.client_order_id) is None
    assert venue.exchange.open_orders(SYMBOL) == []


def test_cancel_all_orders_closes_every_open_order(venue: Venue) -> None:
    requests = [venue.resting_bid("-0.01"), venue.resting_bid("-0.02"), venue.resting_ask()]
    for request in requests:
        venue.place_resting(request)
    assert len(venue.exchange.open_orders(SYMBOL)) == 3
    events = venue.exchange.cancel_all_orders(SYMBOL)
    assert all(isinstance(e, OrderCanceled) for e in events)
    assert {e.client_order_id for e in events} == {r.client_order_id for r in requests}
    assert venue.exchange.open_orders(SYMBOL) == []
    for request in requests:
        snap = venue.exchange.query_order(SYMBOL, request.client_order_id)
        assert snap is not None and snap.status is OrderStatus.CANCELED


def test_cancel_all_without_open_orders_is_harmless(venue: Venue) -> None:
    assert venue.exchange.cancel_all_orders(SYMBOL) == []


def test_account_reports_the_quote_balance(venue: Venue) -> None:
    snapshot = venue.exchange.account()
    quote = venue.instrument.quote_asset
    assert quote in snapshot.balances
    free, locked = snapshot.balances[quote]
    assert free + locked == QUOTE_BALANCE
    assert free > 0 and locked >= 0
    if not venue.market.is_futures:
        base_free, base_locked = snapshot.balances[venue.instrument.base_asset]
        assert base_free + base_locked == BASE_BALANCE


def test_trades_since_is_empty_before_fills_and_lists_a_taker_fill(venue: Venue) -> None:
    assert venue.exchange.trades_since(SYMBOL, 0) == []
    venue.place_resting(venue.resting_bid())  # resting orders are not trades
    assert venue.exchange.trades_since(SYMBOL, 0) == []

    price = venue.price("0.005", BUY)  # a bid above the market: marketable
    request = venue.limit(BUY, price)
    events = venue.place(request)
    fills = [e.fill for e in events if isinstance(e, OrderFilled)]
    assert isinstance(events[0], OrderAccepted)
    assert sum(f.quantity for f in fills) == request.quantity
    trades = venue.exchange.trades_since(SYMBOL, 0)
    assert trades == fills
    trade = trades[0]
    assert trade.client_order_id == request.client_order_id
    assert trade.side is BUY
    assert trade.trade_id > 0
    assert 0 < trade.price <= price
    assert venue.exchange.trades_since(SYMBOL, trades[-1].trade_id) == []
    snap = venue.exchange.query_order(SYMBOL, request.client_order_id)
    assert snap is not None
    assert (snap.status, snap.executed_quantity) == (OrderStatus.FILLED, request.quantity)


def test_account_reflects_a_fill(venue: Venue) -> None:
    request = venue.limit(BUY, venue.price("0.005", BUY))
    venue.place(request)
    snapshot = venue.exchange.account()
    if venue.market.is_futures:
        [position] = [p for p in snapshot.positions if p.symbol == SYMBOL]
        assert position.quantity == request.quantity
        assert position.entry_price > 0
    else:
        base_free, base_locked = snapshot.balances[venue.instrument.base_asset]
        assert BASE_BALANCE < base_free + base_locked <= BASE_BALANCE + request.quantity
        quote_free, quote_locked = snapshot.balances[venue.instrument.quote_asset]
        assert quote_free + quote_locked < QUOTE_BALANCE


def test_modify_changes_the_price_in_place_or_by_cancel_replace(venue: Venue) -> None:
    # Futures modify in place (same client id, same exchange id). Binance spot has no price
    # amend: a modify is a cancel-replace, which creates a new exchange order, so it goes
    # under a new client id and the old id stays with the cancelled order (one client id,
    # one exchange order: docs/validation/findings.md, entry 17).
    bid = venue.resting_bid("-0.01")
    ack = venue.place_resting(bid)
    new_price = venue.price("-0.015", BUY)
    old_cid = bid.client_order_id
    if venue.market.is_futures:
        [modified] = venue.exchange.modify_order(SYMBOL, old_cid, new_price, bid.quantity)
        assert isinstance(modified, OrderModified)
        assert (modified.client_order_id, modified.price, modified.quantity) == (
            old_cid,
            new_price,
            bid.quantity,
        )
        cid, exchange_id = old_cid, ack.exchange_order_id
    else:
        cid = old_cid + "r"
        events = venue.exchange.replace_order(SYMBOL, old_cid, cid, new_price, bid.quantity)
        assert [type(e) for e in events] == [OrderCanceled, OrderAccepted], events
        canceled, replaced = events
        assert canceled.client_order_id == old_cid
        assert isinstance(replaced, OrderAccepted) and replaced.client_order_id == cid
        assert replaced.exchange_order_id != ack.exchange_order_id
        exchange_id = replaced.exchange_order_id
        old = venue.exchange.query_order(SYMBOL, old_cid)
        assert old is not None
        assert (old.status, old.exchange_order_id) == (OrderStatus.CANCELED, ack.exchange_order_id)
    snap = venue.exchange.query_order(SYMBOL, cid)
    assert snap is not None and snap.exchange_order_id == exchange_id
    assert (snap.status, snap.price, snap.quantity) == (OrderStatus.NEW, new_price, bid.quantity)
    [listed] = venue.exchange.open_orders(SYMBOL)
    assert (listed.client_order_id, listed.price) == (cid, new_price)


def test_spot_replace_that_cannot_cancel_places_nothing(venue: Venue) -> None:
    if venue.market.is_futures:
        pytest.skip("futures modify in place")
    refused, never = venue.exchange.replace_order(
        SYMBOL, "ct-never", "ct-never-r", LAST_PRICE, D("0.01")
    )
    assert isinstance(refused, CancelRejected) and isinstance(never, OrderRejected)
    assert (refused.client_order_id, never.client_order_id) == ("ct-never", "ct-never-r")
    assert venue.exchange.query_order(SYMBOL, "ct-never-r") is None


def test_modify_of_an_unknown_order_is_rejected(venue: Venue) -> None:
    if not venue.market.is_futures:
        pytest.skip("spot modifies by replace_order (test_spot_replace_that_cannot_cancel...)")
    [rejected] = venue.exchange.modify_order(SYMBOL, "ct-never", LAST_PRICE, D("0.01"))
    assert isinstance(rejected, ModifyRejected)
    assert rejected.reason is RejectReason.UNKNOWN_ORDER


def test_thin_candle_partially_fills_a_resting_bid(venue: Venue) -> None:
    bid = venue.limit(BUY, venue.price("-0.01", BUY), qty=D("0.004"))
    venue.place_resting(bid)
    venue.advance(THIN_CANDLE)  # trades through the bid; only 25 % of 0.008 may fill
    snap = venue.exchange.query_order(SYMBOL, bid.client_order_id)
    assert snap is not None
    assert snap.status is OrderStatus.PARTIALLY_FILLED
    assert snap.executed_quantity == D("0.002")
    [fill] = venue.exchange.trades_since(SYMBOL, 0)
    assert (fill.client_order_id, fill.quantity, fill.price) == (
        bid.client_order_id,
        D("0.002"),
        bid.price,
    )
    assert fill.liquidity.value == "MAKER"
    [listed] = venue.exchange.open_orders(SYMBOL)
    assert listed.executed_quantity == D("0.002")
