"""Binance REST payload parsers against the captured payloads in binance-fixtures.

Every relevant REST answer in the fixture set is parsed and checked field by field with
exact Decimals: spot new-order FULL, order, open/all orders, cancel and cancel-all,
account, account trades and the official cancel-replace examples; futures order, account
v2, balance, position risk (one-way and hedge) and account trades. The error-code
catalogs check that the reason mapping names the codes Binance documents.
"""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters.binance.errors import (
    AuthenticationFailed,
    BinanceParseError,
    DuplicateClientOrderId,
    FilterFailure,
    InsufficientFunds,
    IpBanned,
    PostOnlyRejected,
    RateLimited,
    ReduceOnlyRejected,
    ServerBusy,
    TimestampRejected,
    UnknownOrder,
    UnknownOutcome,
    error_from_response,
    reject_reason,
)
from adapters.binance.exchange_info import instrument_from_exchange_info
from adapters.binance.parsers import (
    canceled_client_ids,
    dec,
    event_time,
    fee_in_quote,
    order_events,
    parse_cancel_replace,
    parse_funding_income,
    parse_futures_account_balances,
    parse_futures_balances,
    parse_order,
    parse_order_type,
    parse_position_risk,
    parse_response_fills,
    parse_spot_account,
    parse_trade,
    server_time,
    status_events,
)
from application.ports.exchange import AccountSnapshot, OrderSnapshot, PositionSnapshot
from domain.enums import Liquidity, MarketType, OrderType, Side, TimeInForce
from domain.events import (
    FundingPaid,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    RejectReason,
)
from domain.instruments import Instrument
from domain.orders import Fill, OrderStatus

D = Decimal
SPOT = MarketType.SPOT
FUTURES = MarketType.USDM_FUTURES
FIX = "binance-fixtures"


def _load(shared_data: Path, relative: str) -> Any:
    return json.loads((shared_data / FIX / relative).read_text(encoding="utf-8"))


def _instrument(shared_data: Path, market: MarketType, symbol: str) -> Instrument:
    name = "spot" if market is SPOT else "futures"
    info = _load(shared_data, f"{name}/rest/nautilus-py__http_{name}_market_exchange_info.json")
    entry = next(s for s in info["symbols"] if s["symbol"] == symbol)
    return instrument_from_exchange_info(entry, market)


@pytest.fixture
def btcusdt(shared_data: Path) -> Instrument:
    return _instrument(shared_data, SPOT, "BTCUSDT")


@pytest.fixture
def bnbbtc(btcusdt: Instrument) -> Instrument:
    """BNBBTC has no captured exchangeInfo entry: BTCUSDT's filters with BNB/BTC assets."""
    return dataclasses.replace(btcusdt, symbol="BNBBTC", base_asset="BNB", quote_asset="BTC")


LTCBTC_NEW = OrderSnapshot(
    client_order_id="myOrder1",
    exchange_order_id=1,
    symbol="LTCBTC",
    side=Side.BUY,
    order_type=OrderType.LIMIT,
    status=OrderStatus.NEW,
    quantity=D("1.0"),
    executed_quantity=D("0.0"),
    executed_quote=D("0"),
    price=D("0.1"),
    stop_price=None,
    time_in_force=TimeInForce.GTC,
    reduce_only=False,
    update_time=1499827319559,
)


# ---------------------------------------------------------------------- spot orders
def test_spot_new_order_full_response(shared_data: Path, btcusdt: Instrument) -> None:
    payload = _load(shared_data, "spot/rest/nautilus-rs__new_order_full_response.json")
    snap = parse_order(payload, SPOT)
    assert snap == OrderSnapshot(
        client_order_id="6gCrw2kRUAF9CvJDGP16IP",
        exchange_order_id=28,
        symbol="BTCUSDT",
        side=Side.SELL,
        order_type=OrderType.MARKET,
        status=OrderStatus.FILLED,
        quantity=D("10.00000000"),
        executed_quantity=D("10.00000000"),
        executed_quote=D("10.00000000"),
        price=None,
        stop_price=None,
        time_in_force=None,
        reduce_only=False,
        update_time=1507725176595,
    )
    fills = parse_response_fills(payload, snap.side, btcusdt)
    expected = [
        (56, "4000.00000000", "1.00000000", "4.00000000"),
        (57, "3999.00000000", "5.00000000", "19.99500000"),
        (58, "3998.00000000", "2.00000000", "7.99600000"),
        (59, "3997.00000000", "1.00000000", "3.99700000"),
        (60, "3995.00000000", "1.00000000", "3.99500000"),
    ]
    assert fills == [
        Fill(
            trade_id=trade_id,
            client_order_id="6gCrw2kRUAF9CvJDGP16IP",
            side=Side.SELL,
            quantity=D(qty),
            price=D(price),
            fee=D(fee),
            fee_asset="USDT",
            liquidity=Liquidity.TAKER,
            timestamp=1507725176595,
            fee_quote=D(fee),  # commission in the quote asset is its own quote value
        )
        for trade_id, price, qty, fee in expected
    ]
    assert sum(f.quantity for f in fills) == snap.executed_quantity
    assert sum(f.fee for f in fills) == D("39.98300000")
    events = order_events(snap, fills)
    assert events == [
        OrderAccepted("6gCrw2kRUAF9CvJDGP16IP", 28, 1507725176595),
        *(OrderFilled(f) for f in fills),
    ]


def test_official_new_order_examples_match_the_captured_response(shared_data: Path) -> None:
    captured = _load(shared_data, "spot/rest/nautilus-rs__new_order_full_response.json")
    full = _load(shared_data, "spot/docs-examples/rest/new-order-trade-3.json")
    result = _load(shared_data, "spot/docs-examples/rest/new-order-trade-2.json")
    assert parse_order(full, SPOT) == parse_order(captured, SPOT) == parse_order(result, SPOT)
    ack = _load(shared_data, "spot/docs-examples/rest/new-order-trade.json")
    assert (ack["orderId"], event_time(ack)) == (28, 1507725176595)
    with pytest.raises(BinanceParseError):
        parse_order(ack, SPOT)  # an ACK answer lacks the order fields


@pytest.mark.parametrize(
    "relative",
    [
        "spot/rest/nautilus-rs__order_response.json",
        "spot/docs-examples/rest/query-order-user-data.json",
    ],
)
def test_spot_order_query(shared_data: Path, relative: str) -> None:
    payload = _load(shared_data, relative)
    snap = parse_order(payload, SPOT)
    assert snap == LTCBTC_NEW
    assert status_events(snap) == []
    assert order_events(snap, []) == [OrderAccepted("myOrder1", 1, 1499827319559)]


@pytest.mark.parametrize(
    "relative",
    [
        "spot/rest/nautilus-rs__open_orders_response.json",
        "spot/rest/nautilus-rs__all_orders_response.json",
        "spot/docs-examples/rest/current-open-orders-user-data.json",
        "spot/docs-examples/rest/all-orders-user-data.json",
    ],
)
def test_spot_order_lists(shared_data: Path, relative: str) -> None:
    rows = _load(shared_data, relative)
    assert [parse_order(row, SPOT) for row in rows] == [LTCBTC_NEW]


@pytest.mark.parametrize(
    "relative",
    [
        "spot/rest/nautilus-rs__cancel_order_response.json",
        "spot/docs-examples/rest/cancel-order-trade.json",
    ],
)
def test_spot_cancel_response_names_the_order_by_orig_client_id(
    shared_data: Path, relative: str
) -> None:
    payload = _load(shared_data, relative)
    snap = parse_order(payload, SPOT)
    # clientOrderId "cancelMyOrder1" is the cancel request's own id, not the order's.
    assert snap.client_order_id == "myOrder1"
    assert (snap.exchange_order_id, snap.status) == (4, OrderStatus.CANCELED)
    assert (snap.price, snap.quantity, snap.executed_quantity) == (D("2"), D("1"), D("0"))
    assert snap.update_time == 1684804350068
    assert status_events(snap) == [OrderCanceled("myOrder1", 1684804350068)]


@pytest.mark.parametrize(
    "relative",
    [
        "spot/rest/nautilus-rs__cancel_open_orders_response.json",
        "spot/docs-examples/rest/cancel-all-open-orders-on-a-symbol-trade.json",
    ],
)
def test_spot_cancel_all_lists_every_cancelled_order_including_order_list_legs(
    shared_data: Path, relative: str
) -> None:
    payload = _load(shared_data, relative)
    assert canceled_client_ids(payload) == [
        ("E6APeyTJvkMvLMYMqu1KQ4", 1684804350068),
        ("A3EF2HCwxgZPFMrfwbgrhv", 1684804350069),
        ("CwOOIPHSmYywx6jZX77TdL", 1688005070874),
        ("461cPg51vQjV3zIMOXNz39", 1688005070874),
    ]
    singles = [parse_order(e, SPOT) for e in payload if "orderReports" not in e]
    assert [(s.client_order_id, s.price, s.quantity) for s in singles] == [
        ("E6APeyTJvkMvLMYMqu1KQ4", D("0.089853"), D("0.178622")),
        ("A3EF2HCwxgZPFMrfwbgrhv", D("0.090430"), D("0.178622")),
    ]
    [order_list] = [e for e in payload if "orderReports" in e]
    stop_limit, maker = order_list["orderReports"]
    with pytest.raises(BinanceParseError, match="STOP_LOSS_LIMIT"):
        parse_order(stop_limit, SPOT)  # a type the bot never uses is not guessed
    leg = parse_order(maker, SPOT)
    assert (leg.order_type, leg.time_in_force) == (OrderType.LIMIT, TimeInForce.GTX)


def test_spot_account(shared_data: Path) -> None:
    for relative in (
        "spot/rest/nautilus-rs__account_response.json",
        "spot/docs-examples/rest/account-information-user-data.json",
    ):
        assert parse_spot_account(_load(shared_data, relative)) == AccountSnapshot(
            balances={
                "BTC": (D("4723846.89208129"), D("0E-8")),
                "LTC": (D("4763368.68006011"), D("0.00000000")),
            }
        )


def test_spot_account_trade_with_base_asset_commission(
    shared_data: Path, bnbbtc: Instrument, btcusdt: Instrument
) -> None:
    for relative in (
        "spot/rest/nautilus-rs__account_trades_response.json",
        "spot/docs-examples/rest/account-trade-list-user-data.json",
    ):
        [row] = _load(shared_data, relative)
        fill = parse_trade(row, "cid-100234", bnbbtc)
        assert fill == Fill(
            trade_id=28457,
            client_order_id="cid-100234",
            side=Side.BUY,
            quantity=D("12.00000000"),
            price=D("4.00000100"),
            fee=D("10.10000000"),
            fee_asset="BNB",
            liquidity=Liquidity.TAKER,
            timestamp=1499865549590,
            fee_quote=D("40.4000101"),  # base-asset commission x price, exact
        )
        assert fill.notional == D(row["quoteQty"])
        # On a symbol where BNB is a third asset its quote value is not derivable here.
        assert parse_trade(row, "cid-100234", btcusdt).fee_quote is None


def test_fee_in_quote_rules(btcusdt: Instrument) -> None:
    assert fee_in_quote(D("0.5"), "USDT", D("50000"), btcusdt) == D("0.5")
    assert fee_in_quote(D("0.00001"), "BTC", D("50000"), btcusdt) == D("0.50000")
    assert fee_in_quote(D("0.001"), "BNB", D("50000"), btcusdt) is None
    assert fee_in_quote(D("0"), "", D("50000"), btcusdt) == D("0")


# ---------------------------------------------------------------------- cancel-replace
def test_cancel_replace_success(shared_data: Path) -> None:
    body = _load(
        shared_data,
        "spot/docs-examples/rest/cancel-an-existing-order-and-send-a-new-order-trade.json",
    )
    outcome = parse_cancel_replace(body)
    assert (outcome.canceled, outcome.cancel_time, outcome.failure) == (True, 1684804350068, None)
    assert outcome.new_order is not None
    new = parse_order(outcome.new_order, SPOT)
    assert (new.client_order_id, new.exchange_order_id, new.status) == (
        "wOceeeOzNORyLiQfw7jd8S",
        10,
        OrderStatus.NEW,
    )
    assert (new.price, new.quantity, new.update_time) == (D("0.02"), D("0.04"), 1652928801803)
    assert parse_response_fills(outcome.new_order, new.side, _dummy_spot()) == []


@pytest.mark.parametrize(
    ("suffix", "canceled", "placed", "failure", "reason"),
    [
        ("2", False, False, (-2011, "Unknown order sent."), RejectReason.UNKNOWN_ORDER),
        (
            "3",
            True,
            False,
            (-2010, "Order would immediately match and take."),
            RejectReason.POST_ONLY_WOULD_TAKE,
        ),
        ("4", False, True, (-2011, "Unknown order sent."), RejectReason.UNKNOWN_ORDER),
        ("5", False, False, (-2011, "Unknown order sent."), RejectReason.UNKNOWN_ORDER),
        (
            "7",
            True,
            False,
            (-1015, "Too many new orders; current limit is 1 orders per 10 SECOND."),
            RejectReason.RANDOM_FAULT,
        ),
    ],
)
def test_cancel_replace_failures(
    shared_data: Path,
    suffix: str,
    canceled: bool,
    placed: bool,
    failure: tuple[int, str],
    reason: RejectReason,
) -> None:
    error = _load(
        shared_data,
        f"spot/docs-examples/rest/cancel-an-existing-order-and-send-a-new-order-trade-{suffix}.json",
    )
    assert error["code"] in (-2021, -2022)
    outcome = parse_cancel_replace(error["data"])
    assert outcome.canceled is canceled
    assert (outcome.new_order is not None) is placed
    assert outcome.failure == failure
    assert reject_reason(*failure, SPOT) is reason
    typed = error_from_response(409 if error["code"] == -2021 else 400, error, SPOT)
    assert typed.payload["data"] == error["data"]


def test_cancel_replace_rate_limited_as_a_whole(shared_data: Path) -> None:
    error = _load(
        shared_data,
        "spot/docs-examples/rest/cancel-an-existing-order-and-send-a-new-order-trade-6.json",
    )
    typed = error_from_response(429, error, SPOT, retry_after=3.0)
    assert isinstance(typed, RateLimited) and typed.retry_after == 3.0
    assert typed.reason is RejectReason.RANDOM_FAULT


# ---------------------------------------------------------------------- futures
def test_futures_order_response(shared_data: Path) -> None:
    payload = _load(shared_data, "futures/rest/nautilus-rs__order_response.json")
    snap = parse_order(payload, FUTURES)
    assert snap == OrderSnapshot(
        client_order_id="testOrder123",
        exchange_order_id=12345678,
        symbol="BTCUSDT",
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        status=OrderStatus.NEW,
        quantity=D("0.001"),
        executed_quantity=D("0.000"),
        executed_quote=D("0"),
        price=D("50000.00"),
        stop_price=None,
        time_in_force=TimeInForce.GTC,
        reduce_only=False,
        update_time=1625474304765,
    )
    gtx = parse_order({**payload, "timeInForce": "GTX", "reduceOnly": True}, FUTURES)
    assert (gtx.time_in_force, gtx.reduce_only) == (TimeInForce.GTX, True)
    stop = parse_order({**payload, "type": "STOP_MARKET", "stopPrice": "49000.5"}, FUTURES)
    assert (stop.order_type, stop.stop_price, stop.time_in_force) == (
        OrderType.STOP_MARKET,
        D("49000.5"),
        None,
    )
    expired = dataclasses.replace(snap, status=OrderStatus.EXPIRED_IN_MATCH)
    assert status_events(expired) == [OrderExpired("testOrder123", 1625474304765, in_match=True)]


def test_futures_trailing_stop_is_not_mistaken_for_a_supported_type(shared_data: Path) -> None:
    [row] = _load(shared_data, "futures/rest/nautilus-py__http_futures_account_orders.json")
    with pytest.raises(BinanceParseError, match="TRAILING_STOP_MARKET"):
        parse_order(row, FUTURES)


def test_futures_account_info_v2(shared_data: Path) -> None:
    payload = _load(shared_data, "futures/rest/nautilus-rs__account_info_v2.json")
    assert parse_futures_account_balances(payload) == {"USDT": (D("23.72469206"), D(0))}
    assert parse_position_risk(payload["positions"]) == []  # flat


def test_futures_balance(shared_data: Path) -> None:
    payload = _load(shared_data, "futures/rest/nautilus-rs__balance.json")
    assert parse_futures_balances(payload) == {"USDT": (D("122.12345678"), D(0))}


def test_futures_position_risk(shared_data: Path) -> None:
    payload = _load(shared_data, "futures/rest/nautilus-rs__position_risk.json")
    assert parse_position_risk(payload) == [
        PositionSnapshot(
            symbol="BTCUSDT",
            quantity=D("0.001"),
            entry_price=D("50000.0"),
            mark_price=D("51000.0"),
            unrealized_pnl=D("1.00000000"),
            leverage=20,
        )
    ]


def test_futures_positions_one_way_and_hedge(shared_data: Path) -> None:
    one_way = _load(
        shared_data, "futures/rest/nautilus-py__http_futures_account_positions_one_way.json"
    )
    assert parse_position_risk(one_way) == []
    hedge = _load(
        shared_data, "futures/rest/nautilus-py__http_futures_account_positions_hedge.json"
    )
    legs = parse_position_risk(hedge)
    assert [(p.quantity, p.entry_price, p.unrealized_pnl, p.leverage) for p in legs] == [
        (D("20.000"), D("6563.66500"), D("2316.83423560"), 10),
        (D("-10.000"), D("0.00000"), D("-1156.46711780"), 10),
    ]
    assert all(p.mark_price == D("6679.50671178") for p in legs)
    assert sum(p.quantity for p in legs) == D("10.000")  # net, as reconciliation sums


def test_futures_account_trades(shared_data: Path) -> None:
    ethusdt = _instrument(shared_data, FUTURES, "ETHUSDT")
    rows = _load(shared_data, "futures/rest/nautilus-py__http_futures_account_trades.json")
    fills = [parse_trade(row, f"cid-{row['orderId']}", ethusdt) for row in rows]
    assert fills == [
        Fill(
            trade_id=82357626,
            client_order_id="cid-831238666",
            side=Side.SELL,
            quantity=D("0.005"),
            price=D("2778.35"),
            fee=D("0.00555670"),
            fee_asset="USDT",
            liquidity=Liquidity.TAKER,
            timestamp=1645930322371,
            fee_quote=D("0.00555670"),
            realized_pnl=D(rows[0]["realizedPnl"]),
        ),
        Fill(
            trade_id=82357629,
            client_order_id="cid-831238690",
            side=Side.BUY,
            quantity=D("0.005"),
            price=D("2779"),
            fee=D("0.00555800"),
            fee_asset="USDT",
            liquidity=Liquidity.TAKER,
            timestamp=1645930333910,
            fee_quote=D("0.00555800"),
            realized_pnl=D(rows[1]["realizedPnl"]),
        ),
    ]
    assert [f.notional for f in fills] == [D(r["quoteQty"]) for r in rows]


# ---------------------------------------------------------------------- funding
def _income_rows(shared_data: Path) -> list[dict[str, Any]]:
    """The futures docs' income example with incomeType switched to FUNDING_FEE (derived)."""
    return [
        {
            "symbol": "BTCUSDT",
            "incomeType": "FUNDING_FEE",
            "income": "-0.37500000",
            "asset": "USDT",
            "info": "FUNDING_FEE",
            "time": 1570608000000,
            "tranId": 9689322392,
            "tradeId": "",
        },
        {
            "symbol": "BTCUSDT",
            "incomeType": "FUNDING_FEE",
            "income": "0.01000000",
            "asset": "USDT",
            "info": "FUNDING_FEE",
            "time": 1570636800003,
            "tranId": 9689322393,
            "tradeId": "",
        },
    ]


def test_funding_income_matched_with_the_captured_funding_rates(shared_data: Path) -> None:
    rates = _load(shared_data, "futures/rest/nautilus-py__http_futures_market_funding_rate.json")
    first, second = (parse_funding_income(r, rates) for r in _income_rows(shared_data))
    # The captured rate rows carry no markPrice, so the position cannot be derived.
    assert first == FundingPaid("BTCUSDT", D("-0.375"), D("-0.0375"), D(0), D(0), 1570608000000)
    assert second == FundingPaid("BTCUSDT", D("0.01"), D("0.0001"), D(0), D(0), 1570636800003)
    assert parse_funding_income(_income_rows(shared_data)[0]).rate == 0  # no rate rows


def test_funding_position_is_derived_from_amount_mark_and_rate() -> None:
    row = {
        "symbol": "BTCUSDT",
        "incomeType": "FUNDING_FEE",
        "income": "-2.50000000",
        "time": 1_704_096_000_010,
    }
    rates = [
        {
            "symbol": "BTCUSDT",
            "fundingRate": "0.00010000",
            "fundingTime": 1_704_096_000_000,
            "markPrice": "50000.00000000",
        },
        {
            "symbol": "BTCUSDT",
            "fundingRate": "0.00030000",
            "fundingTime": 1_704_124_800_000,
            "markPrice": "51000.00000000",
        },
    ]
    paid = parse_funding_income(row, rates, step_size=D("0.001"))
    assert paid == FundingPaid(
        "BTCUSDT", D("-2.5"), D("0.0001"), D("50000"), D("0.500"), 1_704_096_000_010
    )
    with pytest.raises(BinanceParseError):
        parse_funding_income({**row, "incomeType": "COMMISSION"})


# ---------------------------------------------------------------------- misc
def test_server_time(shared_data: Path) -> None:
    for relative in (
        "spot/rest/nautilus-rs__server_time_response.json",
        "spot/docs-examples/rest/check-server-time.json",
    ):
        assert server_time(_load(shared_data, relative)) == 1499827319559


def test_order_type_mapping() -> None:
    assert parse_order_type("LIMIT_MAKER", "GTC", SPOT) == (OrderType.LIMIT, TimeInForce.GTX)
    assert parse_order_type("STOP_LOSS", "GTC", SPOT) == (OrderType.STOP_MARKET, None)
    assert parse_order_type("TAKE_PROFIT", None, SPOT) == (OrderType.TAKE_PROFIT_MARKET, None)
    assert parse_order_type("LIMIT", "IOC", FUTURES) == (OrderType.LIMIT, TimeInForce.IOC)
    with pytest.raises(BinanceParseError):
        parse_order_type("STOP_LOSS", None, FUTURES)
    with pytest.raises(BinanceParseError):
        parse_order_type("LIMIT", "GTD", FUTURES)


def test_malformed_values_are_refused() -> None:
    with pytest.raises(BinanceParseError):
        dec({"price": 0.1}, "price")  # a float would already have lost exactness
    with pytest.raises(BinanceParseError):
        dec({"price": "abc"}, "price")
    with pytest.raises(BinanceParseError):
        dec({}, "price")
    assert dec({}, "price", D(0)) == 0


def test_rejected_status_becomes_a_rejection_event() -> None:
    snap = dataclasses.replace(LTCBTC_NEW, status=OrderStatus.REJECTED)
    [event] = order_events(snap, [])
    assert isinstance(event, OrderRejected) and event.reason is RejectReason.INVALID_REQUEST


# ---------------------------------------------------------------------- errors
def _catalog(shared_data: Path, market: str) -> dict[int, str]:
    document = _load(shared_data, f"{market}/errors/error-codes.json")
    return {c["code"]: c["name"] for c in document["codes"]}


FUTURES_CODES = {
    -2018: ("BALANCE_NOT_SUFFICIENT", RejectReason.INSUFFICIENT_BALANCE, InsufficientFunds),
    -2019: ("MARGIN_NOT_SUFFICIEN", RejectReason.INSUFFICIENT_MARGIN, InsufficientFunds),
    -2021: ("ORDER_WOULD_IMMEDIATELY_TRIGGER", RejectReason.WOULD_TRIGGER_IMMEDIATELY, None),
    -2022: ("REDUCE_ONLY_REJECT", RejectReason.REDUCE_ONLY, ReduceOnlyRejected),
    -2025: ("MAX_OPEN_ORDER_EXCEEDED", RejectReason.MAX_OPEN_ORDERS, FilterFailure),
    -2011: ("CANCEL_REJECTED", RejectReason.UNKNOWN_ORDER, UnknownOrder),
    -2013: ("NO_SUCH_ORDER", RejectReason.UNKNOWN_ORDER, UnknownOrder),
    -4003: ("QTY_LESS_THAN_ZERO", RejectReason.FILTER, FilterFailure),
    -4014: ("PRICE_NOT_INCREASED_BY_TICK_SIZE", RejectReason.FILTER, FilterFailure),
    -4016: ("PRICE_HIGHTER_THAN_MULTIPLIER_UP", RejectReason.FILTER, FilterFailure),
    -4023: ("QTY_NOT_INCREASED_BY_STEP_SIZE", RejectReason.FILTER, FilterFailure),
    -4024: ("PRICE_LOWER_THAN_MULTIPLIER_DOWN", RejectReason.FILTER, FilterFailure),
    -4116: ("DUPLICATED_CLIENT_ORDER_ID", RejectReason.DUPLICATE_CLIENT_ID, DuplicateClientOrderId),
    -4118: ("REDUCE_ONLY_MARGIN_CHECK_FAILED", RejectReason.REDUCE_ONLY, ReduceOnlyRejected),
    -4131: ("MARKET_ORDER_REJECT", RejectReason.FILTER, FilterFailure),
    -4164: ("MIN_NOTIONAL", RejectReason.FILTER, FilterFailure),
    -5021: ("FOK_ORDER_REJECT", RejectReason.FOK_UNFILLABLE, None),
    -5022: ("GTX_ORDER_REJECT", RejectReason.POST_ONLY_WOULD_TAKE, PostOnlyRejected),
}


def test_futures_codes_map_to_the_documented_meaning(shared_data: Path) -> None:
    catalog = _catalog(shared_data, "futures")
    for code, (name, reason, cls) in FUTURES_CODES.items():
        assert catalog[code] == name, code
        assert reject_reason(code, "", FUTURES) is reason, code
        error = error_from_response(400, {"code": code, "msg": name}, FUTURES)
        assert error.reason is reason  # type: ignore[attr-defined]
        if cls is not None:
            assert isinstance(error, cls), code


@pytest.mark.parametrize(
    ("code", "message", "reason", "cls"),
    [
        (
            -2010,
            "Account has insufficient balance for requested action.",
            RejectReason.INSUFFICIENT_BALANCE,
            InsufficientFunds,
        ),
        (
            -2010,
            "Order would immediately match and take.",
            RejectReason.POST_ONLY_WOULD_TAKE,
            PostOnlyRejected,
        ),
        (-2010, "Order would trigger immediately.", RejectReason.WOULD_TRIGGER_IMMEDIATELY, None),
        (-2010, "Duplicate order sent.", RejectReason.DUPLICATE_CLIENT_ID, DuplicateClientOrderId),
        (-2010, "Market is closed.", RejectReason.INVALID_REQUEST, None),
        (-2011, "Unknown order sent.", RejectReason.UNKNOWN_ORDER, UnknownOrder),
        (
            -2011,
            "Order was not canceled due to cancel restrictions.",
            RejectReason.INVALID_REQUEST,
            None,
        ),
        (-2013, "Order does not exist.", RejectReason.UNKNOWN_ORDER, UnknownOrder),
        (-1013, "Filter failure: PRICE_FILTER", RejectReason.FILTER, FilterFailure),
        (-1013, "Filter failure: MAX_NUM_ORDERS", RejectReason.MAX_OPEN_ORDERS, FilterFailure),
        (-1111, "Parameter 'price' has too much precision.", RejectReason.FILTER, FilterFailure),
        (-1121, "Invalid symbol.", RejectReason.INVALID_REQUEST, None),
    ],
)
def test_spot_codes_and_messages(
    shared_data: Path, code: int, message: str, reason: RejectReason, cls: type | None
) -> None:
    assert code in _catalog(shared_data, "spot")
    assert reject_reason(code, message, SPOT) is reason
    error = error_from_response(400, {"code": code, "msg": message}, SPOT)
    assert error.code == code and error.message == message
    if cls is not None:
        assert isinstance(error, cls)


def test_transport_level_classification() -> None:
    assert isinstance(
        error_from_response(400, {"code": -1021, "msg": "x"}, SPOT), TimestampRejected
    )
    for code in (-1022, -2014, -2015):
        assert isinstance(
            error_from_response(401, {"code": code, "msg": "x"}, FUTURES), AuthenticationFailed
        )
    for code in (-1000, -1006, -1007):
        assert isinstance(
            error_from_response(500, {"code": code, "msg": "x"}, SPOT), UnknownOutcome
        )
    unknown_503 = {"code": -1000, "msg": "Unknown error, please check your request or try again"}
    assert isinstance(error_from_response(503, unknown_503, FUTURES), UnknownOutcome)
    assert isinstance(error_from_response(502, "<html>bad gateway</html>", SPOT), UnknownOutcome)
    assert isinstance(error_from_response(408, "", FUTURES), UnknownOutcome)
    busy = error_from_response(503, {"code": -1008, "msg": "Request throttled"}, FUTURES)
    assert isinstance(busy, ServerBusy)
    unavailable = error_from_response(503, {"code": 0, "msg": "Service Unavailable."}, FUTURES)
    assert isinstance(unavailable, ServerBusy)
    banned = error_from_response(418, {"code": -1003, "msg": "IP banned until 1"}, SPOT, 120.0)
    assert isinstance(banned, IpBanned) and banned.retry_after == 120.0


def _dummy_spot() -> Instrument:
    from domain.instruments import LotSizeFilter, PriceFilter

    return Instrument(
        symbol="BTCUSDT",
        market=SPOT,
        base_asset="BTC",
        quote_asset="USDT",
        price_filter=PriceFilter(D("0.01"), D("1000000"), D("0.01")),
        lot_size=LotSizeFilter(D("0.00001"), D("9000"), D("0.00001")),
    )


# The v3 account routes have no captured payload in binance-fixtures: these are the
# "Position Information V3", "Futures Account Balance V3" and "Account Information V3"
# response examples of binance-spec/usdm-futures-docs/private_rest_api.md, transcribed
# without their comments (the docs' examples are not valid JSON with them).
_V3_POSITION_RISK = [
    {
        "symbol": "ADAUSDT",
        "positionSide": "BOTH",
        "positionAmt": "30",
        "entryPrice": "0.385",
        "breakEvenPrice": "0.385077",
        "markPrice": "0.41047590",
        "unRealizedProfit": "0.76427700",
        "liquidationPrice": "0",
        "isolatedMargin": "0",
        "notional": "12.31427700",
        "marginAsset": "USDT",
        "isolatedWallet": "0",
        "initialMargin": "0.61571385",
        "maintMargin": "0.08004280",
        "positionInitialMargin": "0.61571385",
        "openOrderInitialMargin": "0",
        "adl": 2,
        "bidNotional": "0",
        "askNotional": "0",
        "updateTime": 1720736417660,
    }
]
_V3_BALANCE = [
    {
        "accountAlias": "SgsR",
        "asset": "USDT",
        "balance": "122607.35137903",
        "crossWalletBalance": "23.72469206",
        "crossUnPnl": "0.00000000",
        "availableBalance": "23.72469206",
        "maxWithdrawAmount": "23.72469206",
        "marginAvailable": True,
        "updateTime": 1617939110373,
    }
]
_V3_ACCOUNT = {
    "totalInitialMargin": "0.00000000",
    "totalMaintMargin": "0.00000000",
    "totalWalletBalance": "103.12345678",
    "totalUnrealizedProfit": "0.00000000",
    "totalMarginBalance": "103.12345678",
    "totalPositionInitialMargin": "0.00000000",
    "totalOpenOrderInitialMargin": "0.00000000",
    "totalCrossWalletBalance": "103.12345678",
    "totalCrossUnPnl": "0.00000000",
    "availableBalance": "103.12345678",
    "maxWithdrawAmount": "103.12345678",
    "assets": [
        {
            "asset": "USDT",
            "walletBalance": "23.72469206",
            "unrealizedProfit": "0.00000000",
            "marginBalance": "23.72469206",
            "maintMargin": "0.00000000",
            "initialMargin": "0.00000000",
            "positionInitialMargin": "0.00000000",
            "openOrderInitialMargin": "0.00000000",
            "crossWalletBalance": "23.72469206",
            "crossUnPnl": "0.00000000",
            "availableBalance": "23.72469206",
            "maxWithdrawAmount": "23.72469206",
            "updateTime": 1625474304765,
        },
        {
            "asset": "USDC",
            "walletBalance": "103.12345678",
            "unrealizedProfit": "0.00000000",
            "marginBalance": "103.12345678",
            "maintMargin": "0.00000000",
            "initialMargin": "0.00000000",
            "positionInitialMargin": "0.00000000",
            "openOrderInitialMargin": "0.00000000",
            "crossWalletBalance": "103.12345678",
            "crossUnPnl": "0.00000000",
            "availableBalance": "126.72469206",
            "maxWithdrawAmount": "103.12345678",
            "updateTime": 1625474304765,
        },
    ],
    "positions": [
        {
            "symbol": "BTCUSDT",
            "positionSide": "BOTH",
            "positionAmt": "1.000",
            "unrealizedProfit": "0.00000000",
            "isolatedMargin": "0.00000000",
            "notional": "0",
            "isolatedWallet": "0",
            "initialMargin": "0",
            "maintMargin": "0",
            "updateTime": 0,
        }
    ],
}


def test_futures_position_risk_v3_spec_example() -> None:
    """v3 has no leverage field: notional / position initial margin (12.31 / 0.6157 = 20)."""
    assert parse_position_risk(_V3_POSITION_RISK) == [
        PositionSnapshot(
            symbol="ADAUSDT",
            quantity=D("30"),
            entry_price=D("0.385"),
            mark_price=D("0.41047590"),
            unrealized_pnl=D("0.76427700"),
            leverage=20,
        )
    ]
    flat = {**_V3_POSITION_RISK[0], "positionAmt": "0"}
    assert parse_position_risk([flat]) == []  # a symbol listed for its open orders only


def test_futures_balance_v3_spec_example() -> None:
    assert parse_futures_balances(_V3_BALANCE) == {"USDT": (D("122607.35137903"), D(0))}


def test_futures_account_v3_spec_example() -> None:
    assert parse_futures_account_balances(_V3_ACCOUNT) == {
        "USDT": (D("23.72469206"), D(0)),
        "USDC": (D("103.12345678"), D(0)),
    }
