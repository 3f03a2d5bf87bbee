"""StreamConnection and user-data streams against a real local ``websockets`` server.

Each test runs a tiny server on 127.0.0.1 (port 0) inside ``asyncio.run``; backoff sleeps
and jitter are injected so delays are recorded instead of waited for.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

from adapters.binance.errors import BinanceError
from adapters.binance.signing import HmacSha256Signer, encode_params
from adapters.binance.streams import StreamConnection
from adapters.binance.user_data import FuturesUserDataStream, SpotUserDataStream
from adapters.binance.ws_parsers import (
    ClosedCandle,
    ListenKeyExpired,
    UserEvents,
    parse_market_message,
)
from domain.events import OrderAccepted

FIXTURES = Path("/work/shared/data/binance-fixtures")
KLINE = json.dumps(
    {
        "e": "kline",
        "E": 1,
        "s": "BTCUSDT",
        "k": {
            "t": 0,
            "T": 59999,
            "s": "BTCUSDT",
            "i": "1m",
            "o": "1.5",
            "c": "2",
            "h": "2.5",
            "l": "1",
            "v": "10",
            "n": 3,
            "x": True,
            "q": "20",
            "V": "5",
            "Q": "10",
        },
    }
)
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"

Handler = Callable[[ServerConnection], Awaitable[None]]


async def until(cond: Callable[[], bool], timeout: float = 1.5) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


class Recorder:
    def __init__(self) -> None:
        self.delays: list[float] = []
        self.messages: list[Any] = []
        self.reconnects = 0

    async def sleep(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)

    async def on_message(self, message: Any) -> None:
        self.messages.append(message)

    async def on_reconnected(self) -> None:
        self.reconnects += 1


def run_with_server(handler: Handler, body: Callable[[str], Awaitable[None]]) -> None:
    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            await asyncio.wait_for(body(f"ws://127.0.0.1:{port}"), 2)

    started = time.monotonic()
    asyncio.run(main())
    assert time.monotonic() - started < 2


def connection(url: Any, rec: Recorder, **kw: Any) -> StreamConnection[Any]:
    kw.setdefault("random", lambda: 1.0)
    kw.setdefault("ping_interval", None)
    kw.setdefault("silence_timeout", 5.0)
    return StreamConnection(
        url,
        parse_market_message,
        rec.on_message,
        sleep=rec.sleep,
        on_reconnected=rec.on_reconnected,
        backoff_base=0.5,
        backoff_max=2.0,
        **kw,
    )


async def hold(ws: ServerConnection) -> None:
    await ws.wait_closed()


def test_messages_delivered_parsed_and_bad_frames_skipped() -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.send("not json")
        await ws.send('{"e":"aggTrade"}')
        await ws.send(KLINE)
        await hold(ws)

    async def body(url: str) -> None:
        rec = Recorder()
        conn = connection(url, rec)
        task = conn.start()
        await until(lambda: len(rec.messages) == 1)
        await conn.stop()
        assert task.done() and task.exception() is None
        (msg,) = rec.messages
        assert isinstance(msg, ClosedCandle) and msg.symbol == "BTCUSDT"
        assert str(msg.candle.open) == "1.5"
        assert conn.connections == 1 and rec.delays == [] and rec.reconnects == 0

    run_with_server(handler, body)


def test_server_close_reconnects_with_capped_exponential_backoff() -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.close()

    async def body(url: str) -> None:
        rec = Recorder()
        conn = connection(url, rec)
        conn.start()
        await until(lambda: len(rec.delays) >= 5)
        await conn.stop()
        # random() == 1.0 gives the cap itself: 0.5, 1, 2, then held at backoff_max.
        assert rec.delays[:5] == [0.5, 1.0, 2.0, 2.0, 2.0]
        assert rec.reconnects >= 4

    run_with_server(handler, body)


def test_full_jitter_is_bounded_by_the_cap() -> None:
    draws = iter([0.0, 0.25, 0.999, 0.5])
    conn = StreamConnection(
        "ws://x",
        str,
        Recorder().on_message,
        random=lambda: next(draws),
        backoff_base=1.0,
        backoff_max=3.0,
    )
    delays = [conn.backoff_delay(n) for n in range(4)]
    assert delays == [0.0, 0.5, 0.999 * 3.0, 1.5]
    for n, d in enumerate(delays):
        assert 0 <= d <= min(3.0, 2.0**n)


def test_on_reconnected_after_each_reconnect_and_backoff_resets_after_data() -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.send(KLINE)
        await ws.close()

    async def body(url: str) -> None:
        rec = Recorder()
        conn = connection(url, rec)
        conn.start()
        await until(lambda: rec.reconnects >= 3 and len(rec.messages) >= 4)
        await conn.stop()
        assert conn.connections - 2 <= rec.reconnects <= conn.connections - 1
        assert set(rec.delays) == {0.5}  # each connection delivered data: attempt 0 again

    run_with_server(handler, body)


def test_silence_is_detected_and_connection_replaced() -> None:
    async def body(url: str) -> None:
        rec = Recorder()
        conn = connection(url, rec, silence_timeout=0.15)
        conn.start()
        await until(lambda: conn.connections >= 3)
        await conn.stop()
        assert rec.reconnects >= 2 and len(rec.delays) >= 2

    run_with_server(hold, body)


def test_pongs_keep_a_quiet_connection_alive() -> None:
    async def body(url: str) -> None:
        rec = Recorder()
        conn = connection(url, rec, silence_timeout=0.2, ping_interval=0.03)
        conn.start()
        await asyncio.sleep(0.6)
        await conn.stop()
        assert conn.connections == 1 and rec.delays == []

    run_with_server(hold, body)


def test_max_lifetime_rotation_reconnects_without_backoff() -> None:
    async def handler(ws: ServerConnection) -> None:
        while True:
            await ws.send(KLINE)
            await asyncio.sleep(0.02)

    async def body(url: str) -> None:
        rec = Recorder()
        conn = connection(url, rec, max_lifetime=0.15)
        conn.start()
        await until(lambda: conn.connections >= 3)
        await conn.stop()
        assert rec.delays == [] and rec.reconnects >= 2

    run_with_server(handler, body)


def test_stop_during_backoff_ends_cleanly() -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.close()

    async def body(url: str) -> None:
        rec = Recorder()
        conn = StreamConnection(
            url,
            parse_market_message,
            rec.on_message,
            ping_interval=None,
            backoff_base=30.0,
            random=lambda: 1.0,
        )  # real 30 s sleep
        task = conn.start()
        await until(lambda: conn.connections == 1)
        await asyncio.sleep(0.05)
        await conn.stop()
        assert task.done() and task.exception() is None

    run_with_server(handler, body)


# ---------------------------------------------------------------------- futures user data
class FakeListenKeys:
    def __init__(self) -> None:
        self.keys = iter(["key1", "key2", "key3"])
        self.created: list[str] = []
        self.keepalives: list[str] = []

    async def create(self) -> str:
        self.created.append(next(self.keys))
        return self.created[-1]

    async def keepalive(self, listen_key: str) -> None:
        self.keepalives.append(listen_key)
        if listen_key not in self.created[-1:]:
            raise BinanceError(-1125, "This listenKey does not exist.")

    async def close(self, listen_key: str) -> None:
        pass


ORDER_NEW = (FIXTURES / "futures/user-data/nautilus-rs__order_update_new.json").read_text()


def test_listen_key_expired_creates_new_key_and_reconnects_to_new_path() -> None:
    paths: list[str] = []

    async def handler(ws: ServerConnection) -> None:
        paths.append(ws.request.path if ws.request else "")
        if paths[-1].endswith("/key1"):
            await ws.send('{"e":"listenKeyExpired","E":1,"listenKey":"key1"}')
        else:
            await ws.send(ORDER_NEW)
        await hold(ws)

    async def body(url: str) -> None:
        rec = Recorder()
        api = FakeListenKeys()
        stream = FuturesUserDataStream(
            api,
            url,
            rec.on_message,
            sleep=rec.sleep,
            random=lambda: 1.0,
            ping_interval=None,
            on_reconnected=rec.on_reconnected,
        )
        task = asyncio.ensure_future(stream.run())
        await until(lambda: len(rec.messages) == 2)
        await stream.stop()
        await task
        assert paths == ["/private/ws/key1", "/private/ws/key2"]
        assert api.created == ["key1", "key2"]
        assert rec.messages[0] == ListenKeyExpired("key1", 1)
        assert rec.messages[1] == UserEvents(
            "ORDER_TRADE_UPDATE", 1568879465651, (OrderAccepted("TEST", 8886774, 1568879465651),)
        )
        assert rec.reconnects == 1 and rec.delays == []

    run_with_server(handler, body)


def test_keepalive_minus_1125_renews_key() -> None:
    paths: list[str] = []

    async def handler(ws: ServerConnection) -> None:
        paths.append(ws.request.path if ws.request else "")
        await hold(ws)

    async def body(url: str) -> None:
        api = FakeListenKeys()
        ticks = 0

        async def keepalive_sleep(_: float) -> None:
            nonlocal ticks
            ticks += 1
            if ticks == 2:
                api.created.append("lost")  # Binance forgot key1: keepalive gets -1125
            await asyncio.sleep(0.03 if ticks < 3 else 10)

        stream = FuturesUserDataStream(
            api,
            url,
            Recorder().on_message,
            keepalive_sleep=keepalive_sleep,
            ping_interval=None,
        )
        task = asyncio.ensure_future(stream.run())
        await until(lambda: len(paths) == 2)
        await stream.stop()
        await task
        assert paths == ["/private/ws/key1", "/private/ws/key2"]

    run_with_server(handler, body)


# ---------------------------------------------------------------------- spot user data
def test_ws_api_signing_matches_official_test_vector() -> None:
    params = {
        "symbol": "BTCUSDT",
        "side": "SELL",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.01000000",
        "price": "52000.00",
        "recvWindow": 100,
        "timestamp": 1645423376532,
        "apiKey": API_KEY,
    }
    payload = encode_params(sorted(params.items()))
    assert HmacSha256Signer(SECRET).sign(payload) == (
        "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24"
    )


def test_spot_subscribe_is_signed_and_resent_after_reconnect() -> None:
    requests: list[dict[str, Any]] = []
    report = (FIXTURES / "spot/user-data/nautilus-rs__execution_report_wrapped.json").read_text()

    async def handler(ws: ServerConnection) -> None:
        request = json.loads(await ws.recv())
        requests.append(request)
        await ws.send(
            json.dumps({"id": request["id"], "status": 200, "result": {"subscriptionId": 0}})
        )
        await ws.send(report)
        if len(requests) == 1:
            await ws.close()
        await hold(ws)

    async def body(url: str) -> None:
        rec = Recorder()
        stream = SpotUserDataStream(
            url,
            API_KEY,
            HmacSha256Signer(SECRET),
            lambda: 1645423376532,
            rec.on_message,
            recv_window=5000,
            sleep=rec.sleep,
            random=lambda: 0.0,
            ping_interval=None,
            on_reconnected=rec.on_reconnected,
        )
        task = asyncio.ensure_future(stream.run())
        await until(lambda: len(rec.messages) == 2)
        await stream.stop()
        await task
        assert len(requests) == 2 and rec.reconnects == 1
        request = requests[0]
        assert request["method"] == "userDataStream.subscribe.signature"
        params = dict(request["params"])
        signature = params.pop("signature")
        assert params == {"apiKey": API_KEY, "recvWindow": 5000, "timestamp": 1645423376532}
        payload = "&".join(f"{k}={params[k]}" for k in sorted(params))
        expected = hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()
        assert signature == expected
        assert stream.subscription_id == 0
        assert all(isinstance(m, UserEvents) for m in rec.messages)

    run_with_server(handler, body)


def test_spot_subscribe_refused_counts_as_failed_connect() -> None:
    async def handler(ws: ServerConnection) -> None:
        request = json.loads(await ws.recv())
        await ws.send(
            json.dumps(
                {
                    "id": request["id"],
                    "status": 400,
                    "error": {"code": -1022, "msg": "Signature invalid."},
                }
            )
        )
        await hold(ws)

    async def body(url: str) -> None:
        rec = Recorder()
        stream = SpotUserDataStream(
            url,
            API_KEY,
            HmacSha256Signer(SECRET),
            lambda: 1,
            rec.on_message,
            sleep=rec.sleep,
            random=lambda: 1.0,
            ping_interval=None,
            backoff_base=0.5,
        )
        task = asyncio.ensure_future(stream.run())
        await until(lambda: len(rec.delays) >= 2)
        await stream.stop()
        await task
        assert rec.delays[:2] == [0.5, 1.0] and rec.messages == []

    run_with_server(handler, body)
