"""The Binance REST emulator, driven over real HTTP on 127.0.0.1 like the adapter will drive it.

Each test builds a fresh emulator, serves it with aiohttp's test server on a free loopback
port and talks to it with a real HTTP client, inside ``asyncio.run`` (no pytest plugin).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.binance.exchange_info import instrument_from_exchange_info
from adapters.simulated.emulator import EmulatorState, RateLimits, create_app, start_emulator
from adapters.simulated.emulator.wire import fmt, places_of, signed_payload
from bootstrap.instruments import builtin_instrument
from domain.candles import Candle
from domain.enums import MarketType
from domain.instruments import Instrument, LotSizeFilter, PriceFilter

KEY = "test-key"
SECRET = "test-secret"
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
SPOT = builtin_instrument(MarketType.SPOT, "BTCUSDT")
FUT = builtin_instrument(MarketType.USDM_FUTURES, "BTCUSDT")

# Official Binance HMAC test vectors (reference sheet, section 2).
SPOT_DOC_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SPOT_DOC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
SPOT_DOC_PAYLOAD = (
    "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
    "&recvWindow=5000&timestamp=1499827319559"
)
SPOT_DOC_SIGNATURE = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
SPOT_DOC_PAYLOAD2 = SPOT_DOC_PAYLOAD.replace(
    "symbol=LTCBTC", "symbol=%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96"
)
SPOT_DOC_SIGNATURE2 = "e1353ec6b14d888f1164ae9af8228a3dbd508bc82eb867db8ab6046442f33ef3"
FUT_DOC_KEY = "dbefbc809e3e83c283a984c3a1459732ea7db1360ca80c5c2c8867408d28cc83"
FUT_DOC_SECRET = "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9"
FUT_DOC_PAYLOAD = (
    "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC"
    "&recvWindow=5000&timestamp=1591702613943"
)
FUT_DOC_SIGNATURE = "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"

LTCBTC = Instrument(
    symbol="LTCBTC",
    market=MarketType.SPOT,
    base_asset="LTC",
    quote_asset="BTC",
    price_filter=PriceFilter(Decimal("0.00000100"), Decimal("100000"), Decimal("0.00000100")),
    lot_size=LotSizeFilter(Decimal("0.00100000"), Decimal("100000"), Decimal("0.00100000")),
)


def candle(i: int, o: str, h: str, low: str, c: str, volume: str = "100") -> Candle:
    start = T0 + i * 60_000
    return Candle(
        start,
        Decimal(o),
        Decimal(h),
        Decimal(low),
        Decimal(c),
        Decimal(volume),
        start + 59_999,
        Decimal("3000000"),
        1000,
        Decimal("50"),
        Decimal("1500000"),
    )


#: Flat at 30000, then a dip through 29900, then a rise through 30100.
CANDLES = [
    candle(0, "30000", "30000", "30000", "30000"),
    candle(1, "30000", "30010", "29900", "29990"),
    candle(2, "29990", "30100", "29980", "30050"),
]


class Emu:
    """A signed Binance client for one emulator in a test."""

    def __init__(self, client: TestClient, state: EmulatorState) -> None:
        self.client = client
        self.state = state

    def query(self, params: dict[str, Any], *, ts_offset: int = 0, sign: bool = True) -> str:
        data = {**params, "timestamp": self.state.server_time_ms() + ts_offset}
        qs = urlencode(data)
        if sign:
            qs += "&signature=" + hmac.new(SECRET.encode(), qs.encode(), hashlib.sha256).hexdigest()
        return qs

    async def public(self, path: str, **params: Any) -> tuple[int, Any, Any]:
        resp = await self.client.get(path, params=params)
        return resp.status, await resp.json(), resp.headers

    async def signed(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        key: str = KEY,
        ts_offset: int = 0,
        in_body: bool = False,
    ) -> tuple[int, Any, Any]:
        qs = self.query(params or {}, ts_offset=ts_offset)
        headers = {"X-MBX-APIKEY": key}
        if in_body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            resp = await self.client.request(method, path, data=qs, headers=headers)
        else:
            resp = await self.client.request(method, f"{path}?{qs}", headers=headers)
        return resp.status, await resp.json(), resp.headers

    async def advance(self, n: int = 1) -> None:
        """Replay ``n`` candles through the emulator-only control endpoint."""
        resp = await self.client.post(f"/_emulator/advance?n={n}")
        assert resp.status == 200

    async def raw(self, method: str, path_and_query: str, body: str = "", key: str = KEY):
        headers = {"X-MBX-APIKEY": key, "Content-Type": "application/x-www-form-urlencoded"}
        resp = await self.client.request(method, path_and_query, data=body, headers=headers)
        return resp.status, await resp.json(), resp.headers


def make_state(**kwargs: Any) -> EmulatorState:
    kwargs.setdefault("candles", CANDLES)
    kwargs.setdefault(
        "balances",
        {
            MarketType.SPOT: {"USDT": Decimal(10_000)},
            MarketType.USDM_FUTURES: {"USDT": Decimal(10_000)},
        },
    )
    instruments = kwargs.pop("instruments", [SPOT, FUT])
    api_key = kwargs.pop("api_key", KEY)
    api_secret = kwargs.pop("api_secret", SECRET)
    return EmulatorState(instruments, api_key, api_secret, **kwargs)


def run(test: Callable[[Emu], Awaitable[None]], state: EmulatorState | None = None) -> None:
    """Serve ``state`` on a free 127.0.0.1 port and run ``test`` against it."""
    emu_state = state or make_state()

    async def main() -> None:
        server = TestServer(create_app(emu_state), host="127.0.0.1")
        async with TestClient(server) as client:
            await asyncio.wait_for(test(Emu(client, emu_state)), timeout=5)

    asyncio.run(main())


LIMIT_BUY = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "0.001",
    "price": "29950",
    "newClientOrderId": "grid-1",
}


# ------------------------------------------------------------------------------ signing
def test_official_spot_vector_is_accepted_and_a_tampered_one_is_not() -> None:
    assert (
        hmac.new(SPOT_DOC_SECRET.encode(), SPOT_DOC_PAYLOAD.encode(), hashlib.sha256).hexdigest()
        == SPOT_DOC_SIGNATURE
    )
    state = make_state(
        instruments=[LTCBTC],
        api_key=SPOT_DOC_KEY,
        api_secret=SPOT_DOC_SECRET,
        candles=[],
        start_time_ms=1499827319559,
        balances={MarketType.SPOT: {"BTC": Decimal(1)}},
    )

    async def test(emu: Emu) -> None:
        path = "/api/v3/order?" + SPOT_DOC_PAYLOAD
        status, body, _ = await emu.raw(
            "POST", f"{path}&signature={SPOT_DOC_SIGNATURE}", key=SPOT_DOC_KEY
        )
        assert status == 200, body
        assert body["symbol"] == "LTCBTC" and body["status"] == "NEW"
        assert body["price"] == "0.10000000" and body["origQty"] == "1.00000000"
        # Binance HMAC signatures are case-insensitive.
        upper = SPOT_DOC_SIGNATURE.upper()
        status, body, _ = await emu.raw("POST", f"{path}&signature={upper}", key=SPOT_DOC_KEY)
        assert status == 200, body
        tampered = "/api/v3/order?" + SPOT_DOC_PAYLOAD.replace("quantity=1", "quantity=2")
        status, body, _ = await emu.raw(
            "POST", f"{tampered}&signature={SPOT_DOC_SIGNATURE}", key=SPOT_DOC_KEY
        )
        assert (status, body) == (
            400,
            {"code": -1022, "msg": "Signature for this request is not valid."},
        )
        # Non-ASCII symbol, percent-encoded before signing: the signature is valid, so the
        # answer is about the (unlisted) symbol, not the signature.
        status, body, _ = await emu.raw(
            "POST",
            f"/api/v3/order?{SPOT_DOC_PAYLOAD2}&signature={SPOT_DOC_SIGNATURE2}",
            key=SPOT_DOC_KEY,
        )
        assert (status, body) == (400, {"code": -1121, "msg": "Invalid symbol."})

    run(test, state)


def test_official_futures_vector_in_query_body_and_mixed() -> None:
    assert (
        hmac.new(FUT_DOC_SECRET.encode(), FUT_DOC_PAYLOAD.encode(), hashlib.sha256).hexdigest()
        == FUT_DOC_SIGNATURE
    )
    state = make_state(
        instruments=[FUT],
        api_key=FUT_DOC_KEY,
        api_secret=FUT_DOC_SECRET,
        candles=[],
        start_time_ms=1591702613943,
        balances={MarketType.USDM_FUTURES: {"USDT": Decimal(100_000)}},
    )
    # The reference's mixed example: query + body concatenated without '&'.
    mixed_query = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC"
    mixed_body = "quantity=1&price=9000&recvWindow=5000&timestamp=1591702613943"
    mixed_sig = "30baaf0fab549bbeda7f5ef201898b34122da25fd23c646cac2c529aebe670a4"
    assert signed_payload(mixed_query, mixed_body.encode()) == (mixed_query + mixed_body).encode()

    async def test(emu: Emu) -> None:
        sig = f"signature={FUT_DOC_SIGNATURE}"
        status, body, _ = await emu.raw(
            "POST", f"/fapi/v1/order?{FUT_DOC_PAYLOAD}&{sig}", key=FUT_DOC_KEY
        )
        assert status == 200, body
        assert body["status"] == "NEW" and body["price"] == "9000.00"
        # Same payload as a form body (a second order: the client id is auto-generated).
        status, body, _ = await emu.raw(
            "POST", "/fapi/v1/order", f"{FUT_DOC_PAYLOAD}&{sig}", key=FUT_DOC_KEY
        )
        assert status == 200, body
        status, body, _ = await emu.raw(
            "POST",
            f"/fapi/v1/order?{mixed_query}",
            f"{mixed_body}&signature={mixed_sig}",
            key=FUT_DOC_KEY,
        )
        assert status == 200, body
        # The documented mixed signature only matches with the doc's stray space: -1022.
        doc_sig = "f9d0ae5e813ef6ccf15c2b5a434047a0181cb5a342b903b367ca6d27a66e36f2"
        status, body, _ = await emu.raw(
            "POST",
            f"/fapi/v1/order?{mixed_query}",
            f"{mixed_body}&signature={doc_sig}",
            key=FUT_DOC_KEY,
        )
        assert body["code"] == -1022

    run(test, state)


def test_wrong_or_missing_api_key() -> None:
    async def test(emu: Emu) -> None:
        status, body, _ = await emu.signed("GET", "/api/v3/account", key="not-the-key")
        assert (status, body) == (
            401,
            {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."},
        )
        resp = await emu.client.get("/api/v3/account?" + emu.query({}))
        assert resp.status == 401 and (await resp.json())["code"] == -2014

    run(test)


def test_stale_and_future_timestamps_are_minus_1021() -> None:
    async def test(emu: Emu) -> None:
        status, body, _ = await emu.signed("GET", "/api/v3/account", ts_offset=-6000)
        assert (status, body) == (
            400,
            {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."},
        )
        status, body, _ = await emu.signed("GET", "/fapi/v2/account", ts_offset=1500)
        assert status == 400 and body["code"] == -1021
        # A wider recvWindow accepts the same delay; beyond 60000 it is refused.
        status, _, _ = await emu.signed(
            "GET", "/api/v3/account", {"recvWindow": 10_000}, ts_offset=-6000
        )
        assert status == 200
        status, body, _ = await emu.signed("GET", "/api/v3/account", {"recvWindow": 60_001})
        assert body["code"] == -1102

    run(test)


def test_clock_skew_fault_makes_synchronised_clients_fail_until_they_resync() -> None:
    async def test(emu: Emu) -> None:
        local = emu.state.server_time_ms()
        emu.state.inject("clock_skew_ms:30000")
        (_, server, _) = await emu.public("/api/v3/time")
        assert server["serverTime"] >= local + 30_000
        params = {"timestamp": local}
        qs = urlencode(params)
        qs += "&signature=" + hmac.new(SECRET.encode(), qs.encode(), hashlib.sha256).hexdigest()
        resp = await emu.client.get(f"/api/v3/account?{qs}", headers={"X-MBX-APIKEY": KEY})
        assert resp.status == 400 and (await resp.json())["code"] == -1021
        status, _, _ = await emu.signed("GET", "/api/v3/account")  # re-synced: fine
        assert status == 200

    run(test)


def test_bad_signature_and_params_in_body_or_query() -> None:
    async def test(emu: Emu) -> None:
        qs = emu.query({"symbol": "BTCUSDT"}, sign=False) + "&signature=" + "0" * 64
        resp = await emu.client.get(f"/api/v3/openOrders?{qs}", headers={"X-MBX-APIKEY": KEY})
        assert resp.status == 400
        assert await resp.json() == {
            "code": -1022,
            "msg": "Signature for this request is not valid.",
        }
        await emu.advance()
        status, body, _ = await emu.signed("POST", "/api/v3/order", LIMIT_BUY, in_body=True)
        assert status == 200, body
        status, body, _ = await emu.signed(
            "POST", "/api/v3/order", {**LIMIT_BUY, "newClientOrderId": "grid-2"}
        )
        assert status == 200, body
        status, orders, _ = await emu.signed("GET", "/api/v3/openOrders", {"symbol": "BTCUSDT"})
        assert [o["clientOrderId"] for o in orders] == ["grid-1", "grid-2"]
        # A parameter sent in both places: the query string wins.
        qs = emu.query({**LIMIT_BUY, "newClientOrderId": "from-query"}, sign=False)
        body_part = "newClientOrderId=from-body"
        sig = hmac.new(SECRET.encode(), (qs + body_part).encode(), hashlib.sha256).hexdigest()
        status, body, _ = await emu.raw(
            "POST", f"/api/v3/order?{qs}", f"{body_part}&signature={sig}"
        )
        assert status == 200 and body["clientOrderId"] == "from-query"

    run(test)


# ---------------------------------------------------------------------------- spot orders
def test_spot_order_lifecycle_place_query_open_cancel() -> None:
    async def test(emu: Emu) -> None:
        await emu.advance()
        status, body, headers = await emu.signed("POST", "/api/v3/order", LIMIT_BUY)
        assert status == 200, body
        assert list(body) == [
            "symbol",
            "orderId",
            "orderListId",
            "clientOrderId",
            "transactTime",
            "price",
            "origQty",
            "executedQty",
            "origQuoteOrderQty",
            "cummulativeQuoteQty",
            "status",
            "timeInForce",
            "type",
            "side",
            "workingTime",
            "selfTradePreventionMode",
            "fills",
        ]
        assert body["orderListId"] == -1 and body["status"] == "NEW" and body["fills"] == []
        assert body["price"] == "29950.00000000" and body["origQty"] == "0.00100000"
        assert body["executedQty"] == "0.00000000" and body["timeInForce"] == "GTC"
        assert headers["X-MBX-ORDER-COUNT-10S"] == "1" and "X-MBX-ORDER-COUNT-1D" in headers
        order_id = body["orderId"]

        status, q, _ = await emu.signed(
            "GET", "/api/v3/order", {"symbol": "BTCUSDT", "origClientOrderId": "grid-1"}
        )
        assert status == 200 and q["orderId"] == order_id and q["status"] == "NEW"
        assert q["isWorking"] is True and q["time"] == body["transactTime"]
        status, q2, _ = await emu.signed(
            "GET", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": order_id}
        )
        assert q2 == q
        status, opened, _ = await emu.signed("GET", "/api/v3/openOrders")
        assert [o["orderId"] for o in opened] == [order_id]

        status, c, _ = await emu.signed(
            "DELETE", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": order_id}
        )
        assert status == 200 and c["status"] == "CANCELED"
        assert c["origClientOrderId"] == "grid-1" and c["clientOrderId"] != "grid-1"
        status, again, _ = await emu.signed(
            "DELETE", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": order_id}
        )
        assert (status, again) == (400, {"code": -2011, "msg": "Unknown order sent."})
        status, missing, _ = await emu.signed(
            "GET", "/api/v3/order", {"symbol": "BTCUSDT", "origClientOrderId": "nope"}
        )
        assert (status, missing) == (400, {"code": -2013, "msg": "Order does not exist."})
        status, none_open, _ = await emu.signed(
            "DELETE", "/api/v3/openOrders", {"symbol": "BTCUSDT"}
        )
        assert none_open["code"] == -2011

    run(test)


def test_spot_post_only_and_filter_rejections() -> None:
    async def test(emu: Emu) -> None:
        await emu.advance()  # last price 30000
        maker = {**LIMIT_BUY, "type": "LIMIT_MAKER", "price": "30010"}
        del maker["timeInForce"]
        status, body, _ = await emu.signed("POST", "/api/v3/order", maker)
        assert (status, body) == (
            400,
            {"code": -2010, "msg": "Order would immediately match and take."},
        )
        maker["price"] = "29900"
        status, body, _ = await emu.signed("POST", "/api/v3/order", maker)
        # LIMIT_MAKER answers ACK unless asked otherwise.
        assert status == 200 and set(body) == {
            "symbol",
            "orderId",
            "orderListId",
            "clientOrderId",
            "transactTime",
        }
        status, body, _ = await emu.signed(
            "POST",
            "/api/v3/order",
            {**maker, "newClientOrderId": "mk-2", "newOrderRespType": "RESULT"},
        )
        assert body["type"] == "LIMIT_MAKER" and body["status"] == "NEW"
        assert body["timeInForce"] == "GTC" and "fills" not in body
        status, body, _ = await emu.signed(
            "POST", "/api/v3/order", {**LIMIT_BUY, "newClientOrderId": "f", "price": "29950.001"}
        )
        assert (status, body) == (400, {"code": -1013, "msg": "Filter failure: PRICE_FILTER"})
        status, body, _ = await emu.signed("POST", "/api/v3/order", {**LIMIT_BUY, "side": "UP"})
        assert body == {"code": -1117, "msg": "Invalid side."}
        no_tif = dict(LIMIT_BUY)
        del no_tif["timeInForce"]
        status, body, _ = await emu.signed("POST", "/api/v3/order", no_tif)
        assert body["code"] == -1102 and "'timeInForce'" in body["msg"]
        status, body, _ = await emu.signed(
            "POST", "/api/v3/order", {**LIMIT_BUY, "quantity": "1e-3"}
        )
        assert body["code"] == -1100
        status, body, _ = await emu.signed(
            "POST", "/api/v3/order", {**LIMIT_BUY, "reduceOnly": "true"}
        )
        assert body["code"] == -1104

    run(test)


def test_spot_fill_on_candle_shows_in_my_trades_with_commission() -> None:
    async def test(emu: Emu) -> None:
        await emu.advance()
        status, placed, _ = await emu.signed("POST", "/api/v3/order", LIMIT_BUY)
        assert status == 200
        await emu.advance()  # low 29900 trades through the 29950 bid
        status, q, _ = await emu.signed(
            "GET", "/api/v3/order", {"symbol": "BTCUSDT", "origClientOrderId": "grid-1"}
        )
        assert q["status"] == "FILLED" and q["executedQty"] == "0.00100000"
        assert q["cummulativeQuoteQty"] == "29.95000000"
        status, trades, _ = await emu.signed("GET", "/api/v3/myTrades", {"symbol": "BTCUSDT"})
        assert status == 200 and len(trades) == 1
        t = trades[0]
        assert t["orderId"] == placed["orderId"] and t["price"] == "29950.00000000"
        assert t["qty"] == "0.00100000" and t["quoteQty"] == "29.95000000"
        assert t["commission"] == "0.00000100" and t["commissionAsset"] == "BTC"
        assert t["isBuyer"] is True and t["isMaker"] is True
        status, account, _ = await emu.signed(
            "GET", "/api/v3/account", {"omitZeroBalances": "true"}
        )
        balances = {b["asset"]: b for b in account["balances"]}
        assert balances["BTC"]["free"] == "0.00099900"
        assert balances["USDT"]["free"] == "9970.05000000"
        assert account["commissionRates"]["maker"] == "0.00100000"

    run(test)


def test_spot_market_order_full_response_has_fills() -> None:
    async def test(emu: Emu) -> None:
        await emu.advance()
        market = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01"}
        status, body, _ = await emu.signed("POST", "/api/v3/order", market)
        assert status == 200, body
        assert body["status"] == "FILLED" and body["fills"][0]["price"] == "30000.00000000"
        assert body["fills"][0]["commissionAsset"] == "BTC"
        status, body, _ = await emu.signed("POST", "/api/v3/order", {**market, "price": "1"})
        assert body == {"code": -1106, "msg": "Parameter 'price' sent when not required."}

    run(test)


# ------------------------------------------------------------------- spot cancel-replace
CANCEL_REPLACE = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "0.002",
    "price": "29940",
    "cancelReplaceMode": "STOP_ON_FAILURE",
    "cancelOrigClientOrderId": "grid-1",
    "cancelRestrictions": "ONLY_NEW",
    "newClientOrderId": "grid-1",
    "newOrderRespType": "FULL",
}
CANCEL_FAILED = {"code": -2022, "msg": "Order cancel-replace failed."}
PARTIALLY_FAILED = {"code": -2021, "msg": "Order cancel-replace partially failed."}
UNKNOWN_ORDER = {"code": -2011, "msg": "Unknown order sent."}


async def _open_ids(emu: Emu) -> list[int]:
    status, opened, _ = await emu.signed("GET", "/api/v3/openOrders", {"symbol": "BTCUSDT"})
    assert status == 200, opened
    return [o["orderId"] for o in opened]


def test_spot_cancel_replace_reuses_the_client_id_for_a_new_order() -> None:
    async def test(emu: Emu) -> None:
        await emu.advance()
        status, placed, _ = await emu.signed("POST", "/api/v3/order", LIMIT_BUY)
        assert status == 200, placed
        old_id = placed["orderId"]
        status, body, headers = await emu.signed(
            "POST", "/api/v3/order/cancelReplace", CANCEL_REPLACE, in_body=True
        )
        assert status == 200, body
        assert list(body) == [
            "cancelResult",
            "newOrderResult",
            "cancelResponse",
            "newOrderResponse",
        ]
        assert (body["cancelResult"], body["newOrderResult"]) == ("SUCCESS", "SUCCESS")
        cancel, new = body["cancelResponse"], body["newOrderResponse"]
        assert cancel["orderId"] == old_id and cancel["status"] == "CANCELED"
        assert cancel["origClientOrderId"] == "grid-1" and cancel["clientOrderId"] != "grid-1"
        assert cancel["price"] == "29950.00000000" and cancel["origQty"] == "0.00100000"
        assert new["clientOrderId"] == "grid-1" and new["orderId"] != old_id
        assert new["status"] == "NEW" and new["fills"] == [] and new["type"] == "LIMIT"
        assert new["price"] == "29940.00000000" and new["origQty"] == "0.00200000"
        assert headers["X-MBX-ORDER-COUNT-10S"] == "2"  # the replacement counts as an order

        status, old, _ = await emu.signed(
            "GET", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": old_id}
        )
        assert status == 200 and old["status"] == "CANCELED" and old["clientOrderId"] == "grid-1"
        status, q, _ = await emu.signed(
            "GET", "/api/v3/order", {"symbol": "BTCUSDT", "origClientOrderId": "grid-1"}
        )
        assert q["orderId"] == new["orderId"] and q["status"] == "NEW"
        assert await _open_ids(emu) == [new["orderId"]]

        # By orderId, an ACK answer, an explicit cancel id; the client id may change too.
        replace = {
            **CANCEL_REPLACE,
            "cancelOrderId": new["orderId"],
            "cancelNewClientOrderId": "my-cancel",
            "newClientOrderId": "grid-2",
            "newOrderRespType": "ACK",
        }
        del replace["cancelOrigClientOrderId"]
        status, body, _ = await emu.signed("POST", "/api/v3/order/cancelReplace", replace)
        assert status == 200, body
        assert body["cancelResponse"]["clientOrderId"] == "my-cancel"
        assert set(body["newOrderResponse"]) == {
            "symbol",
            "orderId",
            "orderListId",
            "clientOrderId",
            "transactTime",
        }
        assert body["newOrderResponse"]["clientOrderId"] == "grid-2"
        assert await _open_ids(emu) == [body["newOrderResponse"]["orderId"]]
        status, info, _ = await emu.public("/api/v3/exchangeInfo", symbol="BTCUSDT")
        assert info["symbols"][0]["cancelReplaceAllowed"] is True

    run(test)


def test_spot_cancel_replace_of_an_unknown_order_fails_without_placing() -> None:
    async def test(emu: Emu) -> None:
        await emu.advance()
        status, body, _ = await emu.signed("POST", "/api/v3/order/cancelReplace", CANCEL_REPLACE)
        assert (status, body) == (
            400,
            {
                **CANCEL_FAILED,
                "data": {
                    "cancelResult": "FAILURE",
                    "newOrderResult": "NOT_ATTEMPTED",
                    "cancelResponse": UNKNOWN_ORDER,
                    "newOrderResponse": None,
                },
            },
        )
        assert await _open_ids(emu) == []
        # orderId and client id must name the same order.
        status, placed, _ = await emu.signed("POST", "/api/v3/order", LIMIT_BUY)
        mismatch = {**CANCEL_REPLACE, "cancelOrderId": placed["orderId"] + 1000}
        status, body, _ = await emu.signed("POST", "/api/v3/order/cancelReplace", mismatch)
        assert status == 400 and body["data"]["cancelResponse"] == UNKNOWN_ORDER
        # ALLOW_FAILURE places the new order anyway: one leg failed, 409.
        allow = {
            **CANCEL_REPLACE,
            "cancelReplaceMode": "ALLOW_FAILURE",
            "cancelOrigClientOrderId": "nope",
            "newClientOrderId": "other",
        }
        status, body, _ = await emu.signed("POST", "/api/v3/order/cancelReplace", allow)
        assert status == 409 and {k: body[k] for k in ("code", "msg")} == PARTIALLY_FAILED
        data = body["data"]
        assert (data["cancelResult"], data["newOrderResult"]) == ("FAILURE", "SUCCESS")
        assert data["cancelResponse"] == UNKNOWN_ORDER
        assert data["newOrderResponse"]["clientOrderId"] == "other"
        assert len(await _open_ids(emu)) == 2
        # Both legs failed (the new order's client id is still in use): -2022, 400.
        allow["newClientOrderId"] = "grid-1"
        status, body, _ = await emu.signed("POST", "/api/v3/order/cancelReplace", allow)
        assert status == 400 and {k: body[k] for k in ("code", "msg")} == CANCEL_FAILED
        assert body["data"]["newOrderResult"] == "FAILURE"
        assert body["data"]["newOrderResponse"] == {"code": -2010, "msg": "Duplicate order sent."}
        # Malformed requests are plain errors and cancel nothing.
        for bad, code in (
            ({"cancelReplaceMode": "SOMETIMES"}, -1130),
            ({"cancelRestrictions": "ONLY_OLD"}, -1145),
            ({"cancelOrigClientOrderId": ""}, -1102),
            ({"price": "29940.001"}, -1013),  # filters are checked before the cancel
        ):
            status, body, _ = await emu.signed(
                "POST", "/api/v3/order/cancelReplace", {**CANCEL_REPLACE, **bad}
            )
            assert status == 400 and body["code"] == code and "data" not in body, body
        assert len(await _open_ids(emu)) == 2

    run(test)


def test_spot_cancel_replace_only_new_refuses_a_partially_filled_order() -> None:
    # The dip candle trades so little volume that the bid fills only in part (volume cap).
    thin = [CANDLES[0], candle(1, "30000", "30010", "29900", "29990", volume="0.002")]
    state = make_state(candles=thin)

    async def test(emu: Emu) -> None:
        await emu.advance()
        status, placed, _ = await emu.signed("POST", "/api/v3/order", LIMIT_BUY)
        assert status == 200
        await emu.advance()
        status, q, _ = await emu.signed(
            "GET", "/api/v3/order", {"symbol": "BTCUSDT", "origClientOrderId": "grid-1"}
        )
        assert q["status"] == "PARTIALLY_FILLED", q
        status, body, _ = await emu.signed("POST", "/api/v3/order/cancelReplace", CANCEL_REPLACE)
        assert (status, body) == (
            400,
            {
                **CANCEL_FAILED,
                "data": {
                    "cancelResult": "FAILURE",
                    "newOrderResult": "NOT_ATTEMPTED",
                    "cancelResponse": {
                        "code": -2011,
                        "msg": "Order was not canceled due to cancel restrictions.",
                    },
                    "newOrderResponse": None,
                },
            },
        )
        assert await _open_ids(emu) == [placed["orderId"]]
        # ONLY_PARTIALLY_FILLED accepts it: the remainder is replaced.
        partial = {**CANCEL_REPLACE, "cancelRestrictions": "ONLY_PARTIALLY_FILLED"}
        status, body, _ = await emu.signed("POST", "/api/v3/order/cancelReplace", partial)
        assert status == 200, body
        assert body["cancelResponse"]["status"] == "CANCELED"
        assert body["cancelResponse"]["executedQty"] == q["executedQty"]
        assert await _open_ids(emu) == [body["newOrderResponse"]["orderId"]]

    run(test, state)


def test_spot_cancel_replace_new_order_rejected_after_the_cancel_is_409() -> None:
    async def test(emu: Emu) -> None:
        await emu.advance()  # last price 30000
        status, placed, _ = await emu.signed("POST", "/api/v3/order", LIMIT_BUY)
        crossing = {**CANCEL_REPLACE, "type": "LIMIT_MAKER", "price": "30010"}
        del crossing["timeInForce"]
        status, body, _ = await emu.signed("POST", "/api/v3/order/cancelReplace", crossing)
        assert status == 409 and {k: body[k] for k in ("code", "msg")} == PARTIALLY_FAILED
        data = body["data"]
        assert (data["cancelResult"], data["newOrderResult"]) == ("SUCCESS", "FAILURE")
        assert data["cancelResponse"]["orderId"] == placed["orderId"]
        assert data["cancelResponse"]["status"] == "CANCELED"
        assert data["newOrderResponse"] == {
            "code": -2010,
            "msg": "Order would immediately match and take.",
        }
        assert await _open_ids(emu) == []
        status, old, _ = await emu.signed(
            "GET", "/api/v3/order", {"symbol": "BTCUSDT", "origClientOrderId": "grid-1"}
        )
        assert old["orderId"] == placed["orderId"] and old["status"] == "CANCELED"

    run(test)


def test_spot_cancel_replace_over_the_order_limit() -> None:
    now = [float(T0)]
    limits = RateLimits(
        weight_per_minute=6000, orders_per_10s=1, orders_per_long=1000, long_interval="1D"
    )
    state = make_state(spot_limits=limits, real_ms=lambda: now[0])

    async def test(emu: Emu) -> None:
        await emu.advance()
        status, placed, _ = await emu.signed("POST", "/api/v3/order", LIMIT_BUY)
        assert status == 200
        # DO_NOTHING (the default): -1015 and nothing is cancelled.
        status, body, headers = await emu.signed(
            "POST", "/api/v3/order/cancelReplace", CANCEL_REPLACE
        )
        assert status == 429 and body["code"] == -1015 and "data" not in body
        assert "Retry-After" in headers
        assert await _open_ids(emu) == [placed["orderId"]]
        # CANCEL_ONLY: the cancel goes through, the new order fails with -1015.
        cancel_only = {**CANCEL_REPLACE, "orderRateLimitExceededMode": "CANCEL_ONLY"}
        status, body, headers = await emu.signed("POST", "/api/v3/order/cancelReplace", cancel_only)
        assert status == 429 and {k: body[k] for k in ("code", "msg")} == PARTIALLY_FAILED
        data = body["data"]
        assert (data["cancelResult"], data["newOrderResult"]) == ("SUCCESS", "FAILURE")
        assert data["cancelResponse"]["status"] == "CANCELED"
        assert data["newOrderResponse"] == {
            "code": -1015,
            "msg": "Too many new orders; current limit is 1 orders per 10 SECOND.",
        }
        assert await _open_ids(emu) == []

    run(test, state)


# ------------------------------------------------------------------------- futures orders
FUT_LIMIT = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "0.001",
    "price": "29950",
    "newClientOrderId": "f-1",
}
FUTURES_ORDER_FIELDS = [
    "orderId",
    "symbol",
    "status",
    "clientOrderId",
    "price",
    "avgPrice",
    "origQty",
    "executedQty",
    "cumQty",
    "cumQuote",
    "timeInForce",
    "type",
    "reduceOnly",
    "closePosition",
    "side",
    "positionSide",
    "stopPrice",
    "workingType",
    "priceProtect",
    "origType",
    "priceMatch",
    "selfTradePreventionMode",
    "goodTillDate",
    "updateTime",
]


def test_futures_lifecycle_modify_keeps_order_id_and_fill_in_user_trades() -> None:
    async def test(emu: Emu) -> None:
        await emu.advance()
        status, body, headers = await emu.signed("POST", "/fapi/v1/order", FUT_LIMIT)
        assert status == 200, body
        assert list(body) == FUTURES_ORDER_FIELDS
        assert body["price"] == "29950.00" and body["origQty"] == "0.001"
        assert body["avgPrice"] == "0.00000" and body["positionSide"] == "BOTH"
        assert "X-MBX-ORDER-COUNT-1M" in headers
        order_id = body["orderId"]
        status, mod, _ = await emu.signed(
            "PUT",
            "/fapi/v1/order",
            {
                "symbol": "BTCUSDT",
                "origClientOrderId": "f-1",
                "side": "BUY",
                "quantity": "0.002",
                "price": "29960",
            },
        )
        assert status == 200, mod
        assert mod["orderId"] == order_id and mod["price"] == "29960.00"
        assert mod["origQty"] == "0.002" and mod["status"] == "NEW"
        status, same, _ = await emu.signed(
            "PUT",
            "/fapi/v1/order",
            {
                "symbol": "BTCUSDT",
                "orderId": order_id,
                "side": "BUY",
                "quantity": "0.002",
                "price": "29960",
            },
        )
        assert same == {"code": -5027, "msg": "No need to modify the order."}
        status, opened, _ = await emu.signed("GET", "/fapi/v1/openOrders", {"symbol": "BTCUSDT"})
        assert [o["orderId"] for o in opened] == [order_id] and "time" in opened[0]

        await emu.advance()  # dips to 29900: the bid fills as maker
        status, q, _ = await emu.signed(
            "GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": order_id}
        )
        assert q["status"] == "FILLED" and q["avgPrice"] == "29960.00000"
        assert q["cumQuote"] == "59.92000"
        status, trades, _ = await emu.signed("GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT"})
        assert len(trades) == 1 and trades[0]["orderId"] == order_id
        assert trades[0]["commission"] == "0.01198400"  # 59.92 x 0.02 % maker
        assert trades[0]["commissionAsset"] == "USDT" and trades[0]["maker"] is True
        status, income, _ = await emu.signed("GET", "/fapi/v1/income", {"incomeType": "COMMISSION"})
        assert [r["income"] for r in income] == ["-0.01198400"]
        status, risk, _ = await emu.signed("GET", "/fapi/v2/positionRisk", {"symbol": "BTCUSDT"})
        assert risk[0]["positionAmt"] == "0.002" and risk[0]["markPrice"] == "29990.00000000"
        status, account, _ = await emu.signed("GET", "/fapi/v2/account")
        assert account["positions"][0]["positionAmt"] == "0.002"
        status, balance, _ = await emu.signed("GET", "/fapi/v2/balance")
        assert balance[0]["asset"] == "USDT" and balance[0]["balance"] == "9999.98801600"
        status, cancel, _ = await emu.signed(
            "DELETE", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": order_id}
        )
        assert (status, cancel) == (400, {"code": -2011, "msg": "Unknown order sent."})

    run(test)


def test_futures_post_only_filter_algo_and_cancel_all() -> None:
    async def test(emu: Emu) -> None:
        await emu.advance()
        gtx = {**FUT_LIMIT, "timeInForce": "GTX", "price": "30010"}
        status, body, _ = await emu.signed("POST", "/fapi/v1/order", gtx)
        assert status == 400 and body["code"] == -5022
        status, body, _ = await emu.signed(
            "POST", "/fapi/v1/order", {**FUT_LIMIT, "price": "29950.05"}
        )
        assert body == {"code": -4014, "msg": "Price not increased by tick size."}
        stop = {**FUT_LIMIT, "type": "STOP_MARKET", "stopPrice": "31000"}
        status, body, _ = await emu.signed("POST", "/fapi/v1/order", stop)
        assert body["code"] == -4120
        status, body, _ = await emu.signed(
            "POST", "/fapi/v1/order", {**FUT_LIMIT, "positionSide": "LONG"}
        )
        assert body["code"] == -4061
        for cid in ("a-1", "a-2"):
            status, body, _ = await emu.signed(
                "POST", "/fapi/v1/order", {**FUT_LIMIT, "newClientOrderId": cid}
            )
            assert status == 200
        status, dup, _ = await emu.signed(
            "POST", "/fapi/v1/order", {**FUT_LIMIT, "newClientOrderId": "a-1"}
        )
        assert dup == {"code": -4116, "msg": "clientOrderId is duplicated"}
        status, body, _ = await emu.signed(
            "DELETE", "/fapi/v1/allOpenOrders", {"symbol": "BTCUSDT"}
        )
        assert body == {"code": 200, "msg": "The operation of cancel all open order is done."}
        status, opened, _ = await emu.signed("GET", "/fapi/v1/openOrders")
        assert opened == []
        status, lev, _ = await emu.signed(
            "POST", "/fapi/v1/leverage", {"symbol": "BTCUSDT", "leverage": 5}
        )
        assert lev["leverage"] == 5 and lev["symbol"] == "BTCUSDT"
        status, lev, _ = await emu.signed(
            "POST", "/fapi/v1/leverage", {"symbol": "BTCUSDT", "leverage": 200}
        )
        assert lev == {"code": -4028, "msg": "Leverage 200 is not valid"}

    run(test)


# ---------------------------------------------------------------------------- market data
def test_public_market_data_shapes() -> None:
    async def test(emu: Emu) -> None:
        assert (await emu.public("/api/v3/ping"))[1] == {}
        before = emu.state.server_time_ms()
        server_time = (await emu.public("/fapi/v1/time"))[1]["serverTime"]
        assert before <= server_time <= emu.state.server_time_ms()
        await emu.advance(2)
        status, rows, _ = await emu.public("/api/v3/klines", symbol="BTCUSDT", interval="1m")
        assert status == 200 and len(rows) == 2
        assert rows[1] == [
            T0 + 60_000,
            "30000",
            "30010",
            "29900",
            "29990",
            "100",
            T0 + 119_999,
            "3000000",
            1000,
            "50",
            "1500000",
            "0",
        ]
        status, rows, _ = await emu.public("/fapi/v1/klines", symbol="BTCUSDT", interval="5m")
        assert len(rows) == 1 and rows[0][2] == "30010" and rows[0][5] == "200"
        status, body, _ = await emu.public("/api/v3/klines", symbol="BTCUSDT", interval="7m")
        assert body == {"code": -1120, "msg": "Invalid interval."}
        status, body, _ = await emu.public("/api/v3/klines", symbol="NOPE", interval="1m")
        assert body == {"code": -1121, "msg": "Invalid symbol."}
        status, premium, _ = await emu.public("/fapi/v1/premiumIndex", symbol="BTCUSDT")
        assert premium["markPrice"] == "29990.00000000"
        assert premium["nextFundingTime"] == T0 + 8 * 3_600_000
        for market, path, inst in (
            (MarketType.SPOT, "/api/v3/exchangeInfo", SPOT),
            (MarketType.USDM_FUTURES, "/fapi/v1/exchangeInfo", FUT),
        ):
            status, info, _ = await emu.public(path)
            assert status == 200 and info["rateLimits"][0]["rateLimitType"] == "REQUEST_WEIGHT"
            (entry,) = info["symbols"]
            assert instrument_from_exchange_info(entry, market) == inst
        status, info, _ = await emu.public("/fapi/v1/exchangeInfo")
        assert info["symbols"][0]["pricePrecision"] == 2
        assert info["symbols"][0]["quantityPrecision"] == 3

    run(test)


# ---------------------------------------------------------------------------- rate limits
def test_weight_header_increases_then_429_then_418() -> None:
    now = [float(T0)]
    limits = RateLimits(
        weight_per_minute=5,
        orders_per_10s=100,
        orders_per_long=1000,
        long_interval="1D",
        ban_after_429s=2,
        ban_seconds=120,
    )
    state = make_state(spot_limits=limits, real_ms=lambda: now[0])

    async def test(emu: Emu) -> None:
        seen = []
        for _ in range(5):
            status, _, headers = await emu.public("/api/v3/time")
            assert status == 200
            seen.append(int(headers["X-MBX-USED-WEIGHT-1M"]))
        assert seen == [1, 2, 3, 4, 5]
        # Futures weight is counted separately.
        _, _, headers = await emu.public("/fapi/v1/time")
        assert headers["X-MBX-USED-WEIGHT-1M"] == "1"
        for _ in range(2):
            status, body, headers = await emu.public("/api/v3/time")
            assert status == 429 and body["code"] == -1003
            assert int(headers["Retry-After"]) == 60
        status, body, headers = await emu.public("/api/v3/time")
        assert status == 418 and body["code"] == -1003 and "banned" in body["msg"]
        assert int(headers["Retry-After"]) == 120
        now[0] += 61_000  # a new minute does not lift the ban
        status, _, headers = await emu.public("/api/v3/time")
        assert status == 418 and int(headers["Retry-After"]) == 59
        now[0] += 60_000
        status, _, headers = await emu.public("/api/v3/time")
        assert status == 200 and headers["X-MBX-USED-WEIGHT-1M"] == "1"

    run(test, state)


def test_order_count_limit_answers_minus_1015() -> None:
    now = [float(T0)]
    limits = RateLimits(
        weight_per_minute=6000, orders_per_10s=2, orders_per_long=1000, long_interval="1D"
    )
    state = make_state(spot_limits=limits, real_ms=lambda: now[0])

    async def test(emu: Emu) -> None:
        await emu.advance()
        for i in range(2):
            status, _, headers = await emu.signed(
                "POST", "/api/v3/order", {**LIMIT_BUY, "newClientOrderId": f"o-{i}"}
            )
            assert status == 200 and headers["X-MBX-ORDER-COUNT-10S"] == str(i + 1)
        status, body, headers = await emu.signed(
            "POST", "/api/v3/order", {**LIMIT_BUY, "newClientOrderId": "o-3"}
        )
        assert status == 429 and body["code"] == -1015 and "Retry-After" in headers
        now[0] += 10_000
        status, _, headers = await emu.signed(
            "POST", "/api/v3/order", {**LIMIT_BUY, "newClientOrderId": "o-3"}
        )
        assert status == 200 and headers["X-MBX-ORDER-COUNT-10S"] == "1"

    run(test, state)


# --------------------------------------------------------------------------------- faults
def test_unknown_after_place_fault_the_order_exists_when_queried() -> None:
    async def test(emu: Emu) -> None:
        await emu.advance()
        resp = await emu.client.post("/_emulator/fault?name=unknown_after_place&count=1")
        assert resp.status == 200
        status, body, _ = await emu.signed("POST", "/api/v3/order", LIMIT_BUY)
        assert (status, body) == (
            503,
            {
                "code": -1007,
                "msg": "Timeout waiting for response from backend server. Send status "
                "unknown; execution status unknown.",
            },
        )
        status, q, _ = await emu.signed(
            "GET", "/api/v3/order", {"symbol": "BTCUSDT", "origClientOrderId": "grid-1"}
        )
        assert status == 200 and q["status"] == "NEW"
        status, body, _ = await emu.signed(
            "POST", "/fapi/v1/order", FUT_LIMIT
        )  # the fault was used up
        assert status == 200

    run(test)


def test_http_500_ban_429_and_delay_faults() -> None:
    async def test(emu: Emu) -> None:
        emu.state.inject("http_500", 2)
        for _ in range(2):
            status, body, _ = await emu.public("/api/v3/ping")
            assert status == 500 and body["code"] == -1000
        assert (await emu.public("/api/v3/ping"))[0] == 200
        emu.state.inject("rate_limit_429")
        status, body, headers = await emu.public("/fapi/v1/ping")
        assert status == 429 and body["code"] == -1003 and headers["Retry-After"] == "1"
        emu.state.inject("delay_ms:150")
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert (await emu.public("/api/v3/ping"))[0] == 200
        assert loop.time() - started >= 0.15
        emu.state.inject("ban_418")
        status, body, headers = await emu.public("/api/v3/ping")
        assert status == 418 and headers["Retry-After"] == "120" and body["code"] == -1003
        assert (await emu.public("/api/v3/ping"))[0] == 200  # one request, as asked
        emu.state.inject("http_500", 5)
        resp = await emu.client.post("/_emulator/reset")
        assert resp.status == 200
        assert (await emu.public("/api/v3/ping"))[0] == 200
        with pytest.raises(ValueError, match="unknown fault"):
            emu.state.inject("meteor_strike")
        resp = await emu.client.post("/_emulator/fault?name=nope")
        assert resp.status == 400

    run(test)


# ------------------------------------------------------------------------ server and misc
def test_start_emulator_binds_loopback_and_serves_status() -> None:
    state = make_state(speed=0)

    async def main() -> None:
        runner, base_url = await start_emulator(state)
        try:
            assert base_url.startswith("http://127.0.0.1:")
            from aiohttp import ClientSession

            async with ClientSession() as session:
                async with session.get(f"{base_url}/_emulator/status") as resp:
                    status = await resp.json()
                assert status["candlesFed"] == 0 and T0 <= status["serverTime"] < T0 + 5000
                async with session.post(f"{base_url}/_emulator/advance?n=5") as resp:
                    advanced = await resp.json()
                assert advanced["advanced"] == 3 and advanced["exhausted"] is True
        finally:
            await runner.cleanup()
        with pytest.raises(ValueError, match="loopback"):
            await start_emulator(state, host="0.0.0.0")

    asyncio.run(main())


def test_background_replay_runs_at_speed() -> None:
    state = make_state(speed=200)

    async def test(emu: Emu) -> None:
        for _ in range(100):
            if emu.state.candles_fed == len(CANDLES):
                break
            await asyncio.sleep(0.01)
        assert emu.state.candles_fed == len(CANDLES)
        assert emu.state.now_ms() >= CANDLES[-1].close_time + 1

    run(test, state)


def test_decimal_formatting_follows_filter_places() -> None:
    assert places_of(Decimal("0.10")) == 2
    assert places_of(Decimal("0.01000000")) == 8
    assert places_of(Decimal("1")) == 0
    assert fmt(Decimal("29950"), 2) == "29950.00"
    assert fmt(Decimal("-0.0000"), 2) == "0.00"
    assert json.dumps(fmt(Decimal("1E-8"), 8)) == '"0.00000001"'


def test_funding_fee_income_and_realized_pnl() -> None:
    eight_hours = 8 * 60  # candles
    later = candle(eight_hours, "30000", "30150", "29950", "30100")
    state = make_state(candles=[CANDLES[0], later])

    async def test(emu: Emu) -> None:
        await emu.advance()
        market = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.010"}
        status, body, _ = await emu.signed(
            "POST", "/fapi/v1/order", {**market, "newOrderRespType": "RESULT"}
        )
        assert status == 200 and body["status"] == "FILLED" and body["avgPrice"] == "30000.00000"
        await emu.advance()  # crosses 08:00 UTC with a long position: the long pays
        status, rows, _ = await emu.signed(
            "GET", "/fapi/v1/income", {"symbol": "BTCUSDT", "incomeType": "FUNDING_FEE"}
        )
        assert status == 200 and len(rows) == 1
        assert rows[0]["income"] == "-0.03000000" and rows[0]["asset"] == "USDT"
        assert rows[0]["time"] == T0 + 8 * 3_600_000 and rows[0]["info"] == "FUNDING_FEE"
        status, body, _ = await emu.signed("POST", "/fapi/v1/order", {**market, "side": "SELL"})
        assert status == 200 and body["status"] == "NEW"  # ACK: as accepted
        status, trades, _ = await emu.signed("GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT"})
        assert [t["realizedPnl"] for t in trades] == ["0.00000000", "1.00000000"]
        assert [t["maker"] for t in trades] == [False, False]
        status, premium, _ = await emu.public("/fapi/v1/premiumIndex")
        assert premium[0]["lastFundingRate"] == "0.00010000"

    run(test, state)


def test_duplicate_and_unknown_parameters() -> None:
    async def test(emu: Emu) -> None:
        resp = await emu.client.get("/api/v3/klines?symbol=BTCUSDT&symbol=BTCUSDT&interval=1m")
        assert resp.status == 400
        assert await resp.json() == {
            "code": -1101,
            "msg": "Duplicate values for a parameter detected.",
        }
        status, body, _ = await emu.signed("GET", "/api/v3/order", {"symbol": "BTCUSDT"})
        assert status == 400 and body["code"] == -1102 and "orderId" in body["msg"]

    run(test)


# ---------------------------------------------------------------------- futures algo orders
FUT_ALGO = {
    "algoType": "CONDITIONAL",
    "symbol": "BTCUSDT",
    "side": "SELL",
    "type": "STOP_MARKET",
    "quantity": "0.001",
    "triggerPrice": "29950",
    "workingType": "CONTRACT_PRICE",
    "clientAlgoId": "sl-1",
}


def test_futures_algo_orders_place_list_cancel_and_trigger() -> None:
    async def test(emu: Emu) -> None:
        await emu.advance()  # last price 30000
        status, stop, _ = await emu.signed("POST", "/fapi/v1/algoOrder", FUT_ALGO)
        assert status == 200, stop
        assert stop["clientAlgoId"] == "sl-1" and stop["algoType"] == "CONDITIONAL"
        assert (stop["orderType"], stop["side"], stop["algoStatus"]) == (
            "STOP_MARKET",
            "SELL",
            "NEW",
        )
        assert stop["triggerPrice"] == "29950.00" and stop["quantity"] == "0.001"
        take = {**FUT_ALGO, "type": "TAKE_PROFIT_MARKET", "triggerPrice": "30080"}
        take["clientAlgoId"] = "tp-1"
        status, tp, _ = await emu.signed("POST", "/fapi/v1/algoOrder", take)
        assert status == 200 and tp["algoStatus"] == "NEW" and tp["algoId"] != stop["algoId"]
        wrong = {**FUT_ALGO, "triggerPrice": "30050", "clientAlgoId": "sl-bad"}
        status, body, _ = await emu.signed("POST", "/fapi/v1/algoOrder", wrong)
        assert (status, body) == (400, {"code": -2021, "msg": "Order would immediately trigger."})
        status, body, _ = await emu.signed(
            "POST", "/fapi/v1/algoOrder", {**FUT_ALGO, "algoType": "VP", "clientAlgoId": "x"}
        )
        assert body["code"] == -1130
        # Untriggered algo orders live in the Algo service only.
        status, listed, _ = await emu.signed(
            "GET", "/fapi/v1/openAlgoOrders", {"symbol": "BTCUSDT"}
        )
        assert [r["clientAlgoId"] for r in listed] == ["sl-1", "tp-1"]
        status, opened, _ = await emu.signed("GET", "/fapi/v1/openOrders", {"symbol": "BTCUSDT"})
        assert opened == []
        status, body, _ = await emu.signed(
            "GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "origClientOrderId": "sl-1"}
        )
        assert body == {"code": -2013, "msg": "Order does not exist."}
        status, body, _ = await emu.signed(
            "DELETE", "/fapi/v1/order", {"symbol": "BTCUSDT", "origClientOrderId": "tp-1"}
        )
        assert body == {"code": -2011, "msg": "Unknown order sent."}
        status, canceled, _ = await emu.signed(
            "DELETE", "/fapi/v1/algoOrder", {"clientAlgoId": "tp-1"}
        )
        assert status == 200 and canceled["algoStatus"] == "CANCELED"
        assert canceled["algoId"] == tp["algoId"]
        status, body, _ = await emu.signed("DELETE", "/fapi/v1/algoOrder", {"algoId": tp["algoId"]})
        assert body == {"code": -2011, "msg": "Unknown order sent."}
        status, body, _ = await emu.signed("GET", "/fapi/v1/algoOrder", {"clientAlgoId": "nope"})
        assert body == {"code": -2013, "msg": "Order does not exist."}
        status, body, _ = await emu.signed("GET", "/fapi/v1/algoOrder", {})
        assert body["code"] == -1102
        await emu.advance()  # low 29900: the stop triggers and fills
        status, done, _ = await emu.signed("GET", "/fapi/v1/algoOrder", {"algoId": stop["algoId"]})
        assert status == 200 and done["algoStatus"] == "FINISHED"
        order_id = int(done["actualOrderId"])
        status, listed, _ = await emu.signed("GET", "/fapi/v1/openAlgoOrders")
        assert listed == []
        status, trades, _ = await emu.signed("GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT"})
        assert [(t["orderId"], t["side"], t["qty"]) for t in trades] == [
            (order_id, "SELL", "0.001")
        ]
        status, order, _ = await emu.signed(
            "GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "origClientOrderId": "sl-1"}
        )
        assert (order["orderId"], order["status"], order["type"]) == (
            order_id,
            "FILLED",
            "STOP_MARKET",
        )

    run(test)
