"""The emulator's WebSocket streams, driven over real loopback sockets with aiohttp's client.

Each test starts a real emulator with ``start_emulator(state, port=0)`` inside
``asyncio.run`` (no pytest plugin), opens WebSockets with ``ClientSession.ws_connect`` and
drives the replay through ``/_emulator/advance``, so the whole path (REST handler ->
simulator -> state hooks -> stream queues -> socket) is exercised as the adapter will see it.
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

import aiohttp
import pytest

from adapters.simulated.emulator import EmulatorState, start_emulator
from adapters.simulated.emulator.state import StreamTimings
from bootstrap.instruments import builtin_instrument
from domain.candles import Candle
from domain.enums import MarketType

KEY = "test-key"
SECRET = "test-secret"
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
SPOT = builtin_instrument(MarketType.SPOT, "BTCUSDT")
FUT = builtin_instrument(MarketType.USDM_FUTURES, "BTCUSDT")
RECV = 1.0  # seconds to wait for one message


def candle(i: int, o: str, h: str, low: str, c: str) -> Candle:
    start = T0 + i * 60_000
    return Candle(
        start,
        Decimal(o),
        Decimal(h),
        Decimal(low),
        Decimal(c),
        Decimal("100"),
        start + 59_999,
        Decimal("3000000"),
        1000,
        Decimal("50"),
        Decimal("1500000"),
    )


#: Flat at 30000, then a dip through 29900 (fills a 29950 bid), then a rise.
CANDLES = [
    candle(0, "30000", "30000", "30000", "30000"),
    candle(1, "30000", "30010", "29900", "29990"),
    candle(2, "29990", "30100", "29980", "30050"),
]


def make_state(**kwargs: Any) -> EmulatorState:
    kwargs.setdefault("candles", CANDLES)
    kwargs.setdefault(
        "balances",
        {
            MarketType.SPOT: {"USDT": Decimal(10_000)},
            MarketType.USDM_FUTURES: {"USDT": Decimal(10_000)},
        },
    )
    return EmulatorState([SPOT, FUT], KEY, SECRET, **kwargs)


class Client:
    """A loopback Binance client: signed REST, listenKeys and WebSockets."""

    def __init__(self, session: aiohttp.ClientSession, base: str, state: EmulatorState) -> None:
        self.session = session
        self.base = base
        self.ws_base = "ws" + base[len("http") :]
        self.state = state

    async def ws(self, path: str, **kwargs: Any) -> aiohttp.ClientWebSocketResponse:
        ws: aiohttp.ClientWebSocketResponse = await self.session.ws_connect(
            self.ws_base + path, **kwargs
        )
        return ws

    async def advance(self, n: int = 1) -> None:
        async with self.session.post(f"{self.base}/_emulator/advance?n={n}") as resp:
            assert resp.status == 200

    async def fault(self, name: str) -> None:
        async with self.session.post(f"{self.base}/_emulator/fault?name={name}") as resp:
            assert resp.status == 200, await resp.text()

    async def signed(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, Any]:
        qs = urlencode({**params, "timestamp": self.state.server_time_ms()})
        qs += "&signature=" + hmac.new(SECRET.encode(), qs.encode(), hashlib.sha256).hexdigest()
        headers = {"X-MBX-APIKEY": KEY}
        async with self.session.request(method, f"{self.base}{path}?{qs}", headers=headers) as r:
            return r.status, await r.json()

    async def keyed(
        self, method: str, path: str, query: str = "", key: str | None = KEY
    ) -> tuple[int, Any]:
        headers = {"X-MBX-APIKEY": key} if key is not None else {}
        url = f"{self.base}{path}" + (f"?{query}" if query else "")
        async with self.session.request(method, url, headers=headers) as r:
            return r.status, await r.json()

    async def listen_key(self) -> str:
        status, body = await self.keyed("POST", "/fapi/v1/listenKey")
        assert status == 200, body
        return str(body["listenKey"])


def run(test: Callable[[Client], Awaitable[None]], state: EmulatorState | None = None) -> None:
    """Serve ``state`` on a free 127.0.0.1 port and run ``test`` against it (< 2 s)."""
    emu_state = state or make_state()

    async def main() -> None:
        runner, base = await start_emulator(emu_state, port=0)
        try:
            async with aiohttp.ClientSession() as session:
                await asyncio.wait_for(test(Client(session, base, emu_state)), timeout=2)
        finally:
            await runner.cleanup()

    asyncio.run(main())


async def recv(ws: aiohttp.ClientWebSocketResponse) -> Any:
    return await ws.receive_json(timeout=RECV)


async def no_message(ws: aiohttp.ClientWebSocketResponse, wait: float = 0.1) -> None:
    with pytest.raises(asyncio.TimeoutError):
        await ws.receive(timeout=wait)


FUT_LIMIT = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "0.001",
    "price": "29950",
    "newClientOrderId": "grid-1",
}
SPOT_LIMIT = {**FUT_LIMIT, "newClientOrderId": "spot-1"}


# -------------------------------------------------------------------------------- market
def test_kline_stream_sends_the_closed_candle_on_advance() -> None:
    async def test(c: Client) -> None:
        ws = await c.ws("/ws/btcusdt@kline_1m")
        await no_message(ws)
        await c.advance()
        msg = await recv(ws)
        assert msg["e"] == "kline" and msg["s"] == "BTCUSDT"
        k = msg["k"]
        assert list(k) == list("tTsifLochlvnxqVQB")
        assert k["x"] is True and k["i"] == "1m" and k["s"] == "BTCUSDT"
        assert (k["t"], k["T"]) == (T0, T0 + 59_999)
        assert [k[f] for f in "ohlcv"] == ["30000", "30000", "30000", "30000", "100"]
        assert (k["n"], k["q"], k["V"], k["Q"]) == (1000, "3000000", "50", "1500000")
        assert (k["f"], k["L"]) == (1, 1000)
        await c.advance()
        k2 = (await recv(ws))["k"]
        assert k2["t"] == T0 + 60_000 and k2["l"] == "29900" and k2["f"] == 1001
        await ws.close()

    run(test)


def test_combined_stream_wraps_kline_and_mark_price() -> None:
    async def test(c: Client) -> None:
        ws = await c.ws("/market/stream?streams=btcusdt@kline_1m/btcusdt@markPrice")
        await c.advance()
        got = {m["stream"]: m["data"] for m in [await recv(ws), await recv(ws)]}
        assert set(got) == {"btcusdt@kline_1m", "btcusdt@markPrice"}
        assert got["btcusdt@kline_1m"]["k"]["x"] is True
        assert got["btcusdt@markPrice"]["e"] == "markPriceUpdate"
        spot = await c.ws("/stream?streams=btcusdt@kline_1m")
        await c.advance()
        wrapped = await recv(spot)
        assert list(wrapped) == ["stream", "data"] and wrapped["stream"] == "btcusdt@kline_1m"
        assert wrapped["data"]["k"]["c"] == "29990"

    run(test)


def test_mark_price_stream_reports_last_close_funding_rate_and_next_funding() -> None:
    async def test(c: Client) -> None:
        ws = await c.ws("/market/ws/btcusdt@markPrice")
        await c.advance()
        msg = await recv(ws)
        assert {"e", "E", "s", "p", "i", "P", "r", "T"} <= set(msg)
        assert msg["e"] == "markPriceUpdate" and msg["s"] == "BTCUSDT"
        assert Decimal(msg["p"]) == Decimal("30000") == Decimal(msg["i"])
        rate = c.state.settings.funding.rate_at(msg["E"])
        assert Decimal(msg["r"]) == rate
        assert msg["T"] == T0 + 8 * 3_600_000  # next 8 h boundary after 00:01
        legacy = await c.ws("/ws/btcusdt@markPrice")
        await c.advance()
        assert Decimal((await recv(legacy))["p"]) == Decimal("29990")

    run(test)


def test_control_messages_subscribe_and_list() -> None:
    async def test(c: Client) -> None:
        ws = await c.ws("/ws/btcusdt@kline_1m")
        await ws.send_json({"method": "SUBSCRIBE", "params": ["btcusdt@markPrice"], "id": 7})
        assert await recv(ws) == {"result": None, "id": 7}
        await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 8})
        assert await recv(ws) == {"result": ["btcusdt@kline_1m", "btcusdt@markPrice"], "id": 8}

    run(test)


def test_bad_stream_names_are_refused() -> None:
    async def test(c: Client) -> None:
        for path in ("/ws/btcusdt@kline_5m", "/ws/ethusdt@kline_1m", "/ws/not-a-listen-key"):
            with pytest.raises(aiohttp.WSServerHandshakeError) as info:
                await c.ws(path)
            assert info.value.status == 400

    run(test)


# ---------------------------------------------------------------------- futures user data
def test_futures_listen_key_stream_new_then_trade_then_account_update() -> None:
    async def test(c: Client) -> None:
        await c.advance()  # last price 30000
        key = await c.listen_key()
        ws = await c.ws(f"/private/ws/{key}")
        status, placed = await c.signed("POST", "/fapi/v1/order", FUT_LIMIT)
        assert status == 200, placed
        new = await recv(ws)
        assert new["e"] == "ORDER_TRADE_UPDATE" and list(new) == ["e", "T", "E", "o"]
        o = new["o"]
        assert [o[f] for f in "xXscS"] == ["NEW", "NEW", "BTCUSDT", "grid-1", "BUY"]
        assert (o["o"], o["f"], o["i"]) == ("LIMIT", "GTC", placed["orderId"])
        assert Decimal(o["p"]) == Decimal("29950") and Decimal(o["q"]) == Decimal("0.001")
        assert Decimal(o["z"]) == 0 and o["t"] == 0 and "n" not in o
        assert Decimal(o["b"]) == Decimal("29.95")
        for field in ("ap", "sp", "l", "L", "T", "m", "R", "wt", "ot", "ps", "cp", "rp", "V"):
            assert field in o
        await c.advance()  # low 29900 fills the bid
        trade = await recv(ws)
        o = trade["o"]
        assert (trade["e"], o["x"], o["X"]) == ("ORDER_TRADE_UPDATE", "TRADE", "FILLED")
        assert Decimal(o["l"]) == Decimal("0.001") == Decimal(o["z"])
        assert Decimal(o["L"]) == Decimal("29950") == Decimal(o["ap"])
        assert o["m"] is True and o["t"] > 0 and o["N"] == "USDT" and Decimal(o["n"]) > 0
        update = await recv(ws)
        assert update["e"] == "ACCOUNT_UPDATE" and update["a"]["m"] == "ORDER"
        (balance,) = update["a"]["B"]
        assert list(balance) == ["a", "wb", "cw", "bc"] and balance["a"] == "USDT"
        assert Decimal(balance["wb"]) == Decimal(10_000) - Decimal(o["n"])
        (position,) = update["a"]["P"]
        assert list(position) == ["s", "pa", "ep", "bep", "cr", "up", "mt", "iw", "ps"]
        assert Decimal(position["pa"]) == Decimal("0.001")
        assert Decimal(position["ep"]) == Decimal("29950")

    run(test)


def test_futures_cancel_and_modify_events() -> None:
    async def test(c: Client) -> None:
        await c.advance()
        ws = await c.ws(f"/ws/{await c.listen_key()}")  # legacy route
        await c.signed("POST", "/fapi/v1/order", FUT_LIMIT)
        assert (await recv(ws))["o"]["x"] == "NEW"
        params = {**FUT_LIMIT, "price": "29800", "origClientOrderId": "grid-1"}
        for name in ("type", "timeInForce", "newClientOrderId"):
            params.pop(name)
        status, body = await c.signed("PUT", "/fapi/v1/order", params)
        assert status == 200, body
        o = (await recv(ws))["o"]
        assert (o["x"], o["X"]) == ("AMENDMENT", "NEW") and Decimal(o["p"]) == Decimal("29800")
        status, body = await c.signed(
            "DELETE", "/fapi/v1/order", {"symbol": "BTCUSDT", "origClientOrderId": "grid-1"}
        )
        assert status == 200, body
        o = (await recv(ws))["o"]
        assert (o["x"], o["X"]) == ("CANCELED", "CANCELED")
        await no_message(ws)  # no ACCOUNT_UPDATE for an unfilled order

    run(test)


def test_listen_key_keepalive_delete_and_unknown_key() -> None:
    async def test(c: Client) -> None:
        status, body = await c.keyed("PUT", "/fapi/v1/listenKey")
        assert (status, body) == (400, {"code": -1125, "msg": "This listenKey does not exist."})
        key = await c.listen_key()
        assert await c.listen_key() == key  # one key per account, POST extends it
        status, body = await c.keyed("PUT", "/fapi/v1/listenKey")
        assert status == 200 and body == {"listenKey": key}
        status, body = await c.keyed("PUT", "/fapi/v1/listenKey", f"listenKey={key}")
        assert status == 200
        status, body = await c.keyed("PUT", "/fapi/v1/listenKey", "listenKey=nope")
        assert body["code"] == -1125
        status, body = await c.keyed("POST", "/fapi/v1/listenKey", key=None)
        assert (status, body["code"]) == (401, -2014)
        ws = await c.ws(f"/private/ws/{key}")
        status, body = await c.keyed("DELETE", "/fapi/v1/listenKey")
        assert (status, body) == (200, {})
        assert (await ws.receive(timeout=RECV)).type is aiohttp.WSMsgType.CLOSE
        status, body = await c.keyed("PUT", "/fapi/v1/listenKey")
        assert body["code"] == -1125
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await c.ws(f"/private/ws/{key}")

    run(test)


def test_listen_key_expired_fault_sends_event_then_closes() -> None:
    async def test(c: Client) -> None:
        key = await c.listen_key()
        ws = await c.ws(f"/private/ws/{key}")
        await c.fault("listen_key_expired")
        msg = await recv(ws)
        assert msg["e"] == "listenKeyExpired" and msg["listenKey"] == key and "E" in msg
        assert (await ws.receive(timeout=RECV)).type is aiohttp.WSMsgType.CLOSE
        _, body = await c.keyed("PUT", "/fapi/v1/listenKey")
        assert body["code"] == -1125
        assert await c.listen_key() != key

    run(test)


def test_listen_key_expires_without_keepalive() -> None:
    state = make_state(stream_timings=StreamTimings(listen_key_ttl_ms=150))

    async def test(c: Client) -> None:
        key = await c.listen_key()
        ws = await c.ws(f"/private/ws/{key}")
        await asyncio.sleep(0.1)
        assert (await c.keyed("PUT", "/fapi/v1/listenKey"))[0] == 200
        await no_message(ws, 0.1)  # kept alive past the first 150 ms
        msg = await recv(ws)
        assert msg["e"] == "listenKeyExpired"

    run(test, state)


# ------------------------------------------------------------------------- spot user data
def ws_api_subscribe(rid: str, ts: int, secret: str = SECRET) -> dict[str, Any]:
    params: dict[str, Any] = {"apiKey": KEY, "timestamp": ts}
    payload = "&".join(f"{k}={params[k]}" for k in sorted(params))
    params["signature"] = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    return {"id": rid, "method": "userDataStream.subscribe.signature", "params": params}


def test_spot_ws_api_subscription_reports_new_trade_and_balances() -> None:
    async def test(c: Client) -> None:
        await c.advance()
        ws = await c.ws("/ws-api/v3")
        await ws.send_json(ws_api_subscribe("bad", c.state.server_time_ms(), "wrong"))
        bad = await recv(ws)
        assert bad["status"] == 400 and bad["error"]["code"] == -1022
        await ws.send_json(ws_api_subscribe("sub-1", c.state.server_time_ms()))
        assert await recv(ws) == {"id": "sub-1", "status": 200, "result": {"subscriptionId": 0}}
        status, placed = await c.signed("POST", "/api/v3/order", SPOT_LIMIT)
        assert status == 200, placed
        new = await recv(ws)
        assert list(new) == ["subscriptionId", "event"] and new["subscriptionId"] == 0
        ev = new["event"]
        assert ev["e"] == "executionReport" and (ev["x"], ev["X"]) == ("NEW", "NEW")
        assert (ev["c"], ev["i"], ev["t"], ev["N"], ev["w"]) == (
            "spot-1",
            placed["orderId"],
            -1,
            None,
            True,
        )
        expected = "e E s c S o f q p P F g C x X r i l z L n N T t I w m M O Z Y Q W V"
        assert list(ev) == expected.split()
        pos = (await recv(ws))["event"]
        assert pos["e"] == "outboundAccountPosition" and list(pos) == ["e", "E", "u", "B"]
        usdt = next(b for b in pos["B"] if b["a"] == "USDT")
        assert Decimal(usdt["l"]) == Decimal("29.95")
        await c.advance()  # the bid fills
        ev = (await recv(ws))["event"]
        assert (ev["e"], ev["x"], ev["X"]) == ("executionReport", "TRADE", "FILLED")
        assert Decimal(ev["l"]) == Decimal("0.001") and Decimal(ev["L"]) == Decimal("29950")
        assert Decimal(ev["Z"]) == Decimal("29.95") and ev["m"] is True and ev["w"] is False
        pos = (await recv(ws))["event"]
        assert pos["e"] == "outboundAccountPosition"
        balances = {b["a"]: b for b in pos["B"]}
        assert Decimal(balances["USDT"]["l"]) == 0 and Decimal(balances["BTC"]["f"]) > 0
        status, _ = await c.signed("POST", "/api/v3/order", {**SPOT_LIMIT, "price": "29000"})
        await recv(ws)
        await recv(ws)
        await c.signed(
            "DELETE", "/api/v3/order", {"symbol": "BTCUSDT", "origClientOrderId": "spot-1"}
        )
        ev = (await recv(ws))["event"]
        assert (ev["x"], ev["X"], ev["C"]) == ("CANCELED", "CANCELED", "spot-1")

    run(test)


# ----------------------------------------------------------------------- connection rules
def test_ws_drop_closes_every_connection() -> None:
    async def test(c: Client) -> None:
        market = await c.ws("/ws/btcusdt@kline_1m")
        user = await c.ws(f"/private/ws/{await c.listen_key()}")
        api = await c.ws("/ws-api/v3")
        await c.fault("ws_drop")
        for ws in (market, user, api):
            msg = await ws.receive(timeout=RECV)
            assert msg.type is aiohttp.WSMsgType.CLOSE
        again = await c.ws("/ws/btcusdt@kline_1m")  # reconnecting works
        await c.advance()
        assert (await recv(again))["k"]["x"] is True

    run(test)


def test_ws_stall_silences_existing_connections_only() -> None:
    state = make_state(stream_timings=StreamTimings(spot_ping_ms=20))

    async def test(c: Client) -> None:
        old = await c.ws("/ws/btcusdt@kline_1m", autoping=False)
        assert (await old.receive(timeout=RECV)).type is aiohttp.WSMsgType.PING
        c.state.inject("ws_stall")
        fresh = await c.ws("/ws/btcusdt@kline_1m")
        await c.advance()
        assert (await recv(fresh))["k"]["x"] is True
        await no_message(old)  # neither the kline nor any ping

    run(test, state)


def test_server_pings_and_disconnects_without_pong() -> None:
    state = make_state(stream_timings=StreamTimings(spot_ping_ms=20, spot_pong_timeout_ms=100))

    async def test(c: Client) -> None:
        alive = await c.ws("/ws/btcusdt@kline_1m")
        texts: asyncio.Queue[Any] = asyncio.Queue()

        async def read_alive() -> None:  # aiohttp pongs while a receive() is pending
            async for msg in alive:
                texts.put_nowait(json.loads(msg.data))

        reader = asyncio.create_task(read_alive())
        silent = await c.ws("/ws/btcusdt@kline_1m", autoping=False)
        ping = await silent.receive(timeout=RECV)
        assert ping.type is aiohttp.WSMsgType.PING and ping.data
        while True:
            msg = await silent.receive(timeout=RECV)
            if msg.type is not aiohttp.WSMsgType.PING:
                break
        assert msg.type is aiohttp.WSMsgType.CLOSE
        await asyncio.sleep(0.15)  # past the pong timeout: the answering client survives
        await c.advance()
        kline = await asyncio.wait_for(texts.get(), RECV)
        assert kline["k"]["x"] is True and not alive.closed
        reader.cancel()

    run(test, state)


def test_fault_endpoint_accepts_stream_faults_without_connections() -> None:
    async def test(c: Client) -> None:
        for name in ("ws_drop", "ws_stall", "listen_key_expired"):
            await c.fault(name)
        async with c.session.get(f"{c.base}/_emulator/status") as resp:
            assert json.loads(await resp.text())["faults"] == {}

    run(test)


def test_funding_sends_account_update_with_balance_only() -> None:
    eight = T0 + 8 * 3_600_000
    candles = [
        candle(478, "30000", "30000", "30000", "30000"),  # 07:58
        candle(479, "30000", "30010", "29900", "29990"),  # 07:59, fills the bid
        candle(480, "29990", "30000", "29980", "30000"),  # 08:00, funding settles
    ]

    async def test(c: Client) -> None:
        await c.advance()
        ws = await c.ws(f"/private/ws/{await c.listen_key()}")
        await c.signed("POST", "/fapi/v1/order", FUT_LIMIT)
        await c.advance()
        kinds = [(await recv(ws))["e"] for _ in range(3)]
        assert kinds == ["ORDER_TRADE_UPDATE", "ORDER_TRADE_UPDATE", "ACCOUNT_UPDATE"]
        await c.advance()
        update = await recv(ws)
        assert update["e"] == "ACCOUNT_UPDATE" and update["T"] == eight
        assert update["a"]["m"] == "FUNDING_FEE" and update["a"]["P"] == []
        assert [b["a"] for b in update["a"]["B"]] == ["USDT"]

    run(test, make_state(candles=candles))


def test_algo_order_reports_algo_updates_only_until_it_triggers() -> None:
    async def test(c: Client) -> None:
        await c.advance()  # last price 30000
        ws = await c.ws(f"/private/ws/{await c.listen_key()}")
        algo = {
            "algoType": "CONDITIONAL",
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "STOP_MARKET",
            "quantity": "0.001",
            "triggerPrice": "30050",
            "clientAlgoId": "stop-1",
        }
        status, body = await c.signed("POST", "/fapi/v1/algoOrder", algo)
        assert status == 200, body
        new = await recv(ws)
        assert new["e"] == "ALGO_UPDATE"
        assert (new["o"]["caid"], new["o"]["X"], new["o"]["aid"]) == (
            "stop-1",
            "NEW",
            body["algoId"],
        )
        take_profit = {**algo, "type": "TAKE_PROFIT_MARKET", "side": "SELL"}
        take_profit.update(triggerPrice="30200", clientAlgoId="tp-1")
        status, body = await c.signed("POST", "/fapi/v1/algoOrder", take_profit)
        assert status == 200, body
        assert (await recv(ws))["o"]["X"] == "NEW"
        status, body = await c.signed(
            "DELETE", "/fapi/v1/algoOrder", {"symbol": "BTCUSDT", "clientAlgoId": "tp-1"}
        )
        assert status == 200, body
        canceled = await recv(ws)
        assert (canceled["e"], canceled["o"]["caid"], canceled["o"]["X"]) == (
            "ALGO_UPDATE",
            "tp-1",
            "CANCELED",
        )
        await c.advance()  # high 30010: the stop stays untriggered and silent
        await no_message(ws)
        await c.advance()  # high 30100 crosses 30050: the stop fires and fills
        seen: list[tuple[str, str]] = []
        while not seen or seen[-1] != ("ALGO_UPDATE", "FINISHED"):
            message = await recv(ws)
            if message["e"] == "ALGO_UPDATE":
                seen.append(("ALGO_UPDATE", message["o"]["X"]))
            elif message["e"] == "ORDER_TRADE_UPDATE":
                seen.append(("ORDER_TRADE_UPDATE", message["o"]["x"]))
            else:
                seen.append((message["e"], ""))
        triggered = seen.index(("ALGO_UPDATE", "TRIGGERED"))
        order_new = seen.index(("ORDER_TRADE_UPDATE", "NEW"))
        trade = seen.index(("ORDER_TRADE_UPDATE", "TRADE"))
        assert triggered < order_new < trade < len(seen) - 1
        assert ("ORDER_TRADE_UPDATE", "NEW") not in seen[:triggered]

    run(test)
