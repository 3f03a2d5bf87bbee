"""WebSocket payload parsers against every relevant captured payload in binance-fixtures.

Each user-data and market fixture is parsed and its outcome pinned with exact Decimals;
a coverage test fails when a new fixture file appears without an expectation here.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters.binance.ws_parsers import (
    ApiResponse,
    ClosedCandle,
    EventStreamTerminated,
    ListenKeyExpired,
    MarkPrice,
    ServerShutdown,
    StreamMessageError,
    UserEvents,
    parse_kline,
    parse_market_message,
    parse_user_data,
)
from domain.candles import Candle
from domain.enums import Liquidity, Side
from domain.events import (
    FundingPaid,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderModified,
    OrderRejected,
    RejectReason,
)
from domain.orders import Fill
from tests.conftest import data_dir

FIXTURES = data_dir() / "binance-fixtures"


@pytest.fixture(autouse=True)
def _real_payloads(shared_data: Path) -> None:
    """Every test here reads captured payloads: skip or fail exactly as ``shared_data`` says."""


ASSETS = {
    "ETHUSDT": ("ETH", "USDT"),
    "BTCUSDT": ("BTC", "USDT"),
    "BTCUSD": ("BTC", "USD"),
    "ETHBTC": ("ETH", "BTC"),
}
D = Decimal
T1 = 1759347763167
T2 = 1759347763200
TF = 1568879465651


def raw(rel: str) -> str:
    return (FIXTURES / rel).read_text()


def fill(
    tid: int,
    cid: str,
    side: Side,
    qty: str,
    price: str,
    fee: str,
    asset: str,
    maker: bool,
    ts: int,
    fee_quote: str | None,
) -> OrderFilled:
    return OrderFilled(
        Fill(
            tid,
            cid,
            side,
            D(qty),
            D(price),
            D(fee),
            asset,
            Liquidity.MAKER if maker else Liquidity.TAKER,
            ts,
            None if fee_quote is None else D(fee_quote),
        )
    )


BUY, SELL = Side.BUY, Side.SELL
FU = "futures/user-data/"
SU = "spot/user-data/"
SD = "spot/docs-examples/user-data/"

#: fixture -> expected execution events (None: StreamMessageError expected).
USER_EVENTS: dict[str, tuple[Any, ...] | None] = {
    # ---- futures ORDER_TRADE_UPDATE
    FU + "nautilus-py__ws_futures_order_update_adl.json": (
        fill(2233445566, "adl_autoclose", BUY, "1.000", "2500.00", "2.5", "USDT", False, T2, "2.5"),
    ),
    FU + "nautilus-py__ws_futures_order_update_adl_filled.json": (
        fill(
            2233445566,
            "adl_autoclose-123",
            BUY,
            "1.000",
            "2500.00",
            "2.5",
            "USDT",
            False,
            T2,
            "2.5",
        ),
    ),
    FU + "nautilus-py__ws_futures_order_update_liquidation.json": (
        fill(
            1122334455,
            "autoclose-1234567890123456",
            SELL,
            "0.100",
            "50000.00",
            "5",
            "USDT",
            False,
            T1,
            "5",
        ),
    ),
    FU + "nautilus-py__ws_futures_order_update_liquidation_zero_qty.json": (),
    FU + "nautilus-py__ws_futures_order_update_new_limit_if_touched_price_match.json": (
        OrderAccepted("O-12345-test-limit-if-touched-price-match", 8765432102, T2),
    ),
    FU + "nautilus-py__ws_futures_order_update_new_price_match.json": (
        OrderAccepted("O-12345-test-price-match", 8765432100, T2),
    ),
    FU + "nautilus-py__ws_futures_order_update_new_reduce_only_qty.json": (
        OrderAccepted("O-12345-test-reduce-only", 8765432200, T2),
    ),
    FU + "nautilus-py__ws_futures_order_update_new_stop_limit_price_match.json": (
        OrderAccepted("O-12345-test-stop-limit-price-match", 8765432101, T2),
    ),
    FU + "nautilus-py__ws_futures_order_update_settlement.json": (
        fill(
            4455667788,
            "settlement_autoclose-1111222233334444",
            BUY,
            "0.050",
            "51000.00",
            "2.55",
            "USDT",
            False,
            1759347763300,
            "2.55",
        ),
    ),
    FU + "nautilus-py__ws_futures_order_update_trade_reduce_only_qty.json": (
        fill(
            9988776655,
            "O-12345-test-reduce-only-trade",
            SELL,
            "1.000",
            "2500.00",
            "0.5",
            "USDT",
            False,
            T2,
            "0.5",
        ),
    ),
    FU + "nautilus-rs__order_update_adl.json": (
        fill(
            12346001,
            "adl_autoclose_12345",
            BUY,
            "0.005",
            "42000.00",
            "0.105",
            "USDT",
            False,
            TF,
            "0.105",
        ),
    ),
    FU + "nautilus-rs__order_update_calculated.json": (
        fill(
            12345999,
            "autoclose-1234567890",
            SELL,
            "0.014",
            "9910.12",
            "0.06937084",
            "USDT",
            False,
            TF,
            "0.06937084",
        ),
    ),
    FU + "nautilus-rs__order_update_calculated_pending.json": (),
    # No N/n: no commission at all, worth zero.
    FU + "nautilus-rs__order_update_delivery.json": (
        fill(
            12346003,
            "delivery_autoclose-12345",
            SELL,
            "1",
            "70000.0",
            "0",
            "",
            False,
            1711929600000,
            "0",
        ),
    ),
    FU + "nautilus-rs__order_update_insurance.json": (
        fill(
            12346003,
            "autoclose-insurance-5678",
            SELL,
            "0.020",
            "45000.00",
            "0.45",
            "USDT",
            False,
            TF,
            "0.45",
        ),
    ),
    FU + "nautilus-rs__order_update_new.json": (OrderAccepted("TEST", 8886774, TF),),
    FU + "nautilus-rs__order_update_settlement.json": (
        fill(
            12346002,
            "settlement_autoclose-9999",
            SELL,
            "0.010",
            "50000.00",
            "0.25",
            "USDT",
            False,
            TF,
            "0.25",
        ),
    ),
    FU + "nautilus-rs__order_update_trade.json": (
        fill(12345678, "TEST", BUY, "0.001", "7100.50", "0.01", "USDT", True, TF, "0.01"),
    ),
    FU + "nautilus-rs__order_update_trade_partial.json": (
        fill(12345678, "TEST", BUY, "0.001", "7100.50", "0.01", "USDT", True, TF, "0.01"),
    ),
    # ---- futures events the bot reads over REST instead
    FU + "nautilus-py__ws_futures_algo_update_finished.json": (),
    FU + "nautilus-py__ws_futures_algo_update_finished_canceled.json": (),
    FU + "nautilus-py__ws_futures_algo_update_triggered.json": (),
    FU + "nautilus-py__ws_futures_algo_update_triggering.json": (),
    # ALGO_UPDATE: trigger steps carry nothing (the triggered order's ORDER_TRADE_UPDATE
    # carries the fills); NEW / CANCELED name the algo order by caid / aid.
    FU + "nautilus-rs__algo_update_canceled.json": (
        OrderCanceled("Q5xaq5EGKgXXa0fD7fs0Ip", 1750515742297),
    ),
    FU + "nautilus-rs__algo_update_new.json": (
        OrderAccepted("Q5xaq5EGKgXXa0fD7fs0Ip", 2148719, 1750515742297),
    ),
    FU + "nautilus-py__ws_futures_trade_lite.json": (),
    FU + "nautilus-rs__trade_lite.json": (),
    FU + "nautilus-rs__account_update.json": (),  # reason ORDER, not FUNDING_FEE
    FU + "nautilus-rs__account_update_bnfcr.json": (),
    # ---- spot executionReport
    SU + "nautilus-py__ws_spot_execution_report_binance_us.json": (
        fill(
            88685053,
            "T0ESHzso0banw0QiPFZYgj",
            SELL,
            "0.00042",
            "117290.77",
            "0.00492621",
            "USD",
            False,
            T1,
            "0.00492621",
        ),
    ),
    SU + "nautilus-py__ws_spot_execution_report_calculated.json": (
        fill(
            98765432,
            "autoclose-123456789",
            SELL,
            "0.01",
            "49500",
            "2.475",
            "USDT",
            False,
            T1,
            "2.475",
        ),
    ),
    SU + "nautilus-py__ws_spot_execution_report_canceled.json": (
        OrderCanceled("O-12345-test-cancel", T1),
    ),
    # Base-asset commission: 0.0005 ETH x 2499.5 = 1.24975 USDT.
    SU + "nautilus-py__ws_spot_execution_report_custom_client_id.json": (
        fill(
            98765432,
            "INIT-BTC-1234567890",
            BUY,
            "0.5",
            "2499.5",
            "0.0005",
            "ETH",
            True,
            T1,
            "1.24975",
        ),
    ),
    SU + "nautilus-py__ws_spot_execution_report_empty_client_id.json": None,
    SU + "nautilus-py__ws_spot_execution_report_expired.json": (
        OrderExpired("O-12345-test-expired", T1),
    ),
    SU + "nautilus-py__ws_spot_execution_report_new.json": (
        OrderAccepted("O-12345-test-new", 1234567890, T1),
    ),
    SU + "nautilus-py__ws_spot_execution_report_new_limit_if_touched_price_match.json": (
        OrderAccepted("O-12345-test-limit-if-touched-price-match", 1234567892, T1),
    ),
    SU + "nautilus-py__ws_spot_execution_report_new_price_match.json": (
        OrderAccepted("O-12345-test-price-match", 1234567890, T1),
    ),
    SU + "nautilus-py__ws_spot_execution_report_new_stop_limit_price_match.json": (
        OrderAccepted("O-12345-test-stop-limit-price-match", 1234567891, T1),
    ),
    SU + "nautilus-py__ws_spot_execution_report_pending_cancel.json": (),
    SU + "nautilus-py__ws_spot_execution_report_rejected.json": (
        OrderRejected(
            "O-12345-test-reject", RejectReason.POST_ONLY_WOULD_TAKE, 0, "GTX_ORDER_REJECT", T1
        ),
    ),
    SU + "nautilus-py__ws_spot_execution_report_trade.json": (
        fill(
            98765432,
            "O-12345-test-trade",
            BUY,
            "0.5",
            "2499.5",
            "0.0005",
            "ETH",
            True,
            T1,
            "1.24975",
        ),
    ),
    # l > 0 but L == 0: a fill price cannot be invented; REST resync recovers it.
    SU + "nautilus-py__ws_spot_execution_report_trade_l_zero.json": None,
    SU + "nautilus-py__ws_spot_execution_report_trade_l_zero_canceled.json": (
        OrderCanceled("O-12345-test-l-zero-canceled", T1),
    ),
    SU + "nautilus-py__ws_spot_execution_report_trade_l_zero_expired.json": (
        OrderExpired("O-12345-test-l-zero-expired", T1),
    ),
    SU + "nautilus-py__ws_spot_execution_report_trade_l_zero_new.json": (),
    SU + "nautilus-py__ws_spot_execution_report_trade_l_zero_partial.json": (),
    SU + "nautilus-py__ws_spot_execution_report_trade_prevention.json": (
        OrderExpired("O-12345-test-stp", T1, in_match=True),
    ),
    SU + "nautilus-rs__execution_report_canceled.json": (
        OrderCanceled("x-TD67BGP9-T0000000000000", 1709654402000),
    ),
    SU + "nautilus-rs__execution_report_expired.json": (
        OrderExpired("x-TD67BGP9-T0000000000000", 1709654403000),
    ),
    SU + "nautilus-rs__execution_report_new.json": (
        OrderAccepted("x-TD67BGP9-T0000000000000", 12345678, 1709654400000),
    ),
    SU + "nautilus-rs__execution_report_stop_loss.json": (
        OrderAccepted("x-TD67BGP9-T0000000000001", 12345679, 1709654400000),
    ),
    SU + "nautilus-rs__execution_report_trade.json": (
        fill(
            98765432,
            "x-TD67BGP9-T0000000000000",
            BUY,
            "1",
            "2500",
            "0.001",
            "ETH",
            True,
            1709654401000,
            "2.5",
        ),
    ),
    SU + "nautilus-rs__execution_report_wrapped.json": (
        OrderAccepted("mUvoqJxFIILMdfAW5iGSOW", 4293153, 1499405658657),
    ),
    SU + "nautilus-rs__account_position.json": (),
    SU + "nautilus-rs__account_position_wrapped.json": (),
    SU + "nautilus-rs__balance_update.json": (),
    SU + "nautilus-rs__balance_update_wrapped.json": (),
    SU + "nautilus-rs__list_status_wrapped.json": (),
    SD + "account-update.json": (),
    SD + "balance-update.json": (),
    SD + "external-lock-update.json": (),
    SD + "order-reject-reason.json": (),
    SD + "order-update.json": (OrderAccepted("mUvoqJxFIILMdfAW5iGSOW", 4293153, 1499405658657),),
}


def test_every_user_data_fixture_has_an_expectation() -> None:
    found = {
        str(p.relative_to(FIXTURES))
        for d in ("futures/user-data", "spot/user-data", "spot/docs-examples/user-data")
        for p in (FIXTURES / d).glob("*.json")
    }
    assert found - {SD + "event-stream-terminated.json"} == set(USER_EVENTS)


@pytest.mark.parametrize("rel", sorted(USER_EVENTS))
def test_user_data_fixture(rel: str) -> None:
    expected = USER_EVENTS[rel]
    if expected is None:
        with pytest.raises(StreamMessageError):
            parse_user_data(raw(rel), ASSETS)
        return
    message = parse_user_data(raw(rel), ASSETS)
    assert isinstance(message, UserEvents)
    event = json.loads(raw(rel))
    event = event.get("data", event.get("event", event))
    order = event["o"] if isinstance(event.get("o"), dict) else event
    if "rp" in order:
        # Futures trades carry the realized PnL Binance booked ("rp"); the fill keeps it.
        expected = tuple(
            OrderFilled(e.fill._replace(realized_pnl=D(order["rp"])))
            if isinstance(e, OrderFilled)
            else e
            for e in expected
        )
    assert message.events == expected
    # Decimal equality ignores the exponent: also pin the digits exactly as sent.
    for got in message.events:
        if isinstance(got, OrderFilled):
            assert str(got.fill.quantity) == order["l"]
            assert str(got.fill.price) == order["L"]
            assert str(got.fill.fee) == (order.get("n") or "0")
            if "rp" in order:
                assert str(got.fill.realized_pnl) == order["rp"]


def test_fee_quote_is_none_for_third_asset_and_without_symbol_assets() -> None:
    payload = json.loads(raw(FU + "nautilus-rs__order_update_trade.json"))
    payload["o"]["N"] = "BNB"
    msg = parse_user_data(json.dumps(payload), ASSETS)
    assert isinstance(msg, UserEvents)
    (ev,) = msg.events
    assert isinstance(ev, OrderFilled)
    assert ev.fill.fee_asset == "BNB" and ev.fill.fee_quote is None
    msg = parse_user_data(raw(SU + "nautilus-rs__execution_report_trade.json"))
    assert isinstance(msg, UserEvents)
    assert isinstance(msg.events[0], OrderFilled)
    assert msg.events[0].fill.fee_quote is None


def test_futures_canceled_expired_in_match_and_amendment() -> None:
    base = json.loads(raw(FU + "nautilus-rs__order_update_new.json"))
    base["o"].update({"x": "CANCELED", "X": "CANCELED"})
    assert parse_user_data(json.dumps(base)) == UserEvents(
        "ORDER_TRADE_UPDATE", TF, (OrderCanceled("TEST", TF),)
    )
    base["o"].update({"x": "EXPIRED", "X": "EXPIRED_IN_MATCH"})
    assert parse_user_data(json.dumps(base)).events == (  # type: ignore[union-attr]
        OrderExpired("TEST", TF, in_match=True),
    )
    base["o"].update({"x": "EXPIRED", "X": "EXPIRED"})
    assert parse_user_data(json.dumps(base)).events == (  # type: ignore[union-attr]
        OrderExpired("TEST", TF, in_match=False),
    )
    base["o"].update({"x": "AMENDMENT", "X": "NEW", "p": "7000.10", "q": "0.002"})
    assert parse_user_data(json.dumps(base)).events == (  # type: ignore[union-attr]
        OrderModified("TEST", D("7000.10"), D("0.002"), TF),
    )


def test_spot_replaced_and_cancel_uses_original_client_id() -> None:
    base = json.loads(raw(SU + "nautilus-rs__execution_report_new.json"))
    base.update({"x": "REPLACED", "q": "0.5"})
    assert parse_user_data(json.dumps(base)).events == (  # type: ignore[union-attr]
        OrderModified("x-TD67BGP9-T0000000000000", D("2500"), D("0.5"), 1709654400000),
    )
    base.update({"x": "CANCELED", "X": "CANCELED", "c": "cancel-req-1", "C": "grid-7"})
    assert parse_user_data(json.dumps(base)).events == (  # type: ignore[union-attr]
        OrderCanceled("grid-7", 1709654400000),
    )


def test_funding_fee_account_update() -> None:
    # Shape from the reference (section 8, FUNDING_FEE isolated); no captured fixture exists.
    payload = {
        "e": "ACCOUNT_UPDATE",
        "E": 1700000000100,
        "T": 1700000000000,
        "a": {
            "m": "FUNDING_FEE",
            "B": [{"a": "USDT", "wb": "1000.5", "cw": "1000.5", "bc": "-0.01234567"}],
            "P": [
                {
                    "s": "BTCUSDT",
                    "pa": "0.010",
                    "ep": "60000",
                    "up": "1",
                    "mt": "isolated",
                    "iw": "10",
                    "ps": "BOTH",
                }
            ],
        },
    }
    assert parse_user_data(json.dumps(payload)) == UserEvents(
        "ACCOUNT_UPDATE",
        1700000000100,
        (FundingPaid("BTCUSDT", D("-0.01234567"), D(0), D(0), D("0.010"), 1700000000000),),
    )
    payload["a"]["P"] = []  # type: ignore[index]
    (ev,) = parse_user_data(json.dumps(payload)).events  # type: ignore[union-attr]
    assert ev == FundingPaid("", D("-0.01234567"), D(0), D(0), D(0), 1700000000000)


def test_control_signals() -> None:
    assert parse_user_data(raw(SD + "event-stream-terminated.json")) == EventStreamTerminated(
        1728973001334
    )
    expired = '{"e":"listenKeyExpired","E":1576653824250,"listenKey":"OfYGbUzi3PraNagEkdKuFwUHn"}'
    assert parse_user_data(expired) == ListenKeyExpired("OfYGbUzi3PraNagEkdKuFwUHn", 1576653824250)
    wrapped = '{"stream":"x","data":' + expired + "}"
    assert parse_user_data(wrapped) == ListenKeyExpired("OfYGbUzi3PraNagEkdKuFwUHn", 1576653824250)
    for rel in ("server-shutdown.json", "server-shutdown-2.json"):
        assert parse_market_message(raw("spot/docs-examples/ws-market/" + rel)) == ServerShutdown(
            1770123456789
        )


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        "[1,2]",
        '{"e":"somethingNew","E":1}',
        '{"no":"type"}',
        b"\xff\xfe",
        '{"e":"ORDER_TRADE_UPDATE","E":1,"o":{"c":"a","x":"WHAT","X":"NEW","i":1}}',
        '{"e":"ORDER_TRADE_UPDATE","E":1}',
    ],
)
def test_malformed_or_unknown_user_data_is_typed(frame: str | bytes) -> None:
    with pytest.raises(StreamMessageError):
        parse_user_data(frame)


def test_ws_api_response() -> None:
    frame = '{"id":"uds-1","status":200,"result":{"subscriptionId":0}}'
    assert parse_user_data(frame) == ApiResponse(
        "uds-1", 200, {"id": "uds-1", "status": 200, "result": {"subscriptionId": 0}}
    )


# ---------------------------------------------------------------------- market
CLOSED = Candle(
    1638747660000,
    D("0.0010"),
    D("0.0025"),
    D("0.0010"),
    D("0.0020"),
    D("1000"),
    1638747719999,
    D("1.0000"),
    100,
    D("500"),
    D("0.500"),
)


def test_closed_kline_plain_and_combined() -> None:
    text = raw("futures/ws-market/nautilus-rs__kline_stream_closed.json")
    assert parse_kline(json.loads(text)) == CLOSED
    assert parse_market_message(text) == ClosedCandle("BTCUSDT", "1m", CLOSED)
    combined = '{"stream":"btcusdt@kline_1m","data":' + text + "}"
    assert parse_market_message(combined) == ClosedCandle("BTCUSDT", "1m", CLOSED)
    candle = parse_kline(json.loads(combined))
    assert candle is not None and str(candle.open) == "0.0010" and str(candle.low) == "0.0010"


@pytest.mark.parametrize(
    "rel",
    [
        "futures/ws-market/nautilus-rs__kline_stream_open.json",
        "spot/docs-examples/ws-market/kline-candlestick-streams-for-utc.json",
        "spot/docs-examples/ws-market/kline-candlestick-streams-with-timezone-offset.json",
    ],
)
def test_open_kline_is_none(rel: str) -> None:
    assert parse_market_message(raw(rel)) is None
    assert parse_kline(json.loads(raw(rel))) is None


def test_spot_closed_kline_from_docs_example() -> None:
    payload = json.loads(raw("spot/docs-examples/ws-market/kline-candlestick-streams-for-utc.json"))
    payload["k"]["x"] = True
    assert parse_kline(payload) == Candle(
        1672515780000,
        D("0.0010"),
        D("0.0025"),
        D("0.0015"),
        D("0.0020"),
        D("1000"),
        1672515839999,
        D("1.0000"),
        100,
        D("500"),
        D("0.500"),
    )


def test_mark_price() -> None:
    text = raw("futures/ws-market/nautilus-rs__mark_price_stream.json")
    expected = MarkPrice(
        "BTCUSDT",
        D("11794.15000000"),
        D("11784.62659091"),
        D("0.00038167"),
        1562306400000,
        1562305380000,
    )
    assert parse_market_message(text) == expected
    assert parse_market_message('{"stream":"btcusdt@markPrice","data":' + text + "}") == expected


@pytest.mark.parametrize(
    "rel",
    sorted(
        str(p.relative_to(FIXTURES))
        for d in ("futures/ws-market", "spot/ws-market")
        for p in (FIXTURES / d).glob("*.json")
        if "kline" not in p.name and "mark_price" not in p.name
    ),
)
def test_unsubscribed_market_events_are_typed_errors(rel: str) -> None:
    with pytest.raises(StreamMessageError):
        parse_market_message(raw(rel))


def test_malformed_kline_values() -> None:
    payload = json.loads(raw("futures/ws-market/nautilus-rs__kline_stream_closed.json"))
    payload["k"]["o"] = 0.001  # float: lossy, refused
    with pytest.raises(StreamMessageError):
        parse_market_message(json.dumps(payload))
    payload["k"]["o"] = "abc"
    with pytest.raises(StreamMessageError):
        parse_market_message(json.dumps(payload))
    with pytest.raises(StreamMessageError):
        parse_market_message('{"e":"kline","E":1,"s":"X"}')


def _algo_frame(status: str, **extra: object) -> str:
    payload = json.loads(raw(FU + "nautilus-rs__algo_update_new.json"))
    payload["o"]["X"] = status
    payload["o"].update(extra)
    return json.dumps(payload)


def test_algo_update_expired_and_rejected() -> None:
    cid, ts = "Q5xaq5EGKgXXa0fD7fs0Ip", 1750515742297
    msg = parse_user_data(_algo_frame("EXPIRED"), ASSETS)
    assert isinstance(msg, UserEvents)
    assert msg.events == (OrderExpired(cid, ts),)
    msg = parse_user_data(_algo_frame("REJECTED"), ASSETS)
    assert isinstance(msg, UserEvents)
    (rejected,) = msg.events
    assert isinstance(rejected, OrderRejected)
    assert (rejected.client_order_id, rejected.message) == (cid, "Reduce Only reject")


def test_algo_update_trigger_steps_are_silent_and_unknown_status_errors() -> None:
    for status in ("TRIGGERING", "TRIGGERED", "FINISHED"):
        msg = parse_user_data(_algo_frame(status), ASSETS)
        assert isinstance(msg, UserEvents)
        assert msg.events == ()
    with pytest.raises(StreamMessageError):
        parse_user_data(_algo_frame("BOGUS"), ASSETS)
    with pytest.raises(StreamMessageError):
        parse_user_data(_algo_frame("NEW", caid=""), ASSETS)
