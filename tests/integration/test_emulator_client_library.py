"""The official Binance connector (``binance-connector``, module ``binance.spot``), unchanged.

Issue 4: standard Binance client libraries pointed at the emulator's base URL must work
unchanged for the spot basics. The library is used exactly as documented; only its
``base_url`` option points it at the emulator, served on 127.0.0.1 from a background thread
with its own event loop (the connector is synchronous and does real HTTP with ``requests``).

The connector stamps ``timestamp`` from the local wall clock, so the emulator runs with
``wall_clock_auth`` (as ``gridbot emulator`` does for paper sessions against real clients).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine, Iterator
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from binance.error import ClientError
from binance.spot import Spot

from adapters.simulated.emulator.server import start_emulator
from adapters.simulated.emulator.state import EmulatorState
from bootstrap.instruments import builtin_instrument
from domain.candles import Candle
from domain.enums import MarketType

T = TypeVar("T")
KEY = "lib-key"
SECRET = "lib-secret"
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
SPOT = builtin_instrument(MarketType.SPOT, "BTCUSDT")
D = Decimal


def _candle(i: int, o: str, h: str, low: str, c: str) -> Candle:
    start = T0 + i * 60_000
    return Candle(start, D(o), D(h), D(low), D(c), D("100"), start + 59_999)


CANDLES = [
    _candle(0, "30000", "30000", "30000", "30000"),
    _candle(1, "30000", "30010", "29990", "30005"),
    _candle(2, "30005", "30020", "29995", "30010"),
]


class LoopThread:
    """An event loop in a daemon thread: the emulator lives there, the test talks HTTP."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=5)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()


class Served:
    """A running emulator: its state, base URL and the loop thread that owns it."""

    def __init__(self, state: EmulatorState, url: str, loop: LoopThread) -> None:
        self.state = state
        self.url = url
        self.loop = loop

    def advance(self, n: int) -> int:
        """Replay ``n`` candles on the emulator's own loop (the state is not thread-safe)."""

        async def go() -> int:
            return self.state.advance(n)

        return self.loop.run(go())

    def client(self, secret: str = SECRET) -> Any:
        return Spot(api_key=KEY, api_secret=secret, base_url=self.url, timeout=5)


@pytest.fixture
def emu() -> Iterator[Served]:
    state = EmulatorState(
        [SPOT],
        KEY,
        SECRET,
        CANDLES,
        balances={MarketType.SPOT: {"USDT": D(10_000), "BTC": D("0.5")}},
        wall_clock_auth=True,
    )
    loop = LoopThread()
    try:
        runner, url = loop.run(start_emulator(state, port=0))
        assert url.startswith("http://127.0.0.1:")
        try:
            yield Served(state, url, loop)
        finally:
            loop.run(runner.cleanup())
    finally:
        loop.close()


def _balances(account: dict[str, Any]) -> dict[str, tuple[Decimal, Decimal]]:
    return {b["asset"]: (D(b["free"]), D(b["locked"])) for b in account["balances"]}


def test_server_time_is_the_wall_clock(emu: Served) -> None:
    before = int(time.time() * 1000)
    server = emu.client().time()["serverTime"]
    after = int(time.time() * 1000)
    assert isinstance(server, int)
    assert before - 1000 <= server <= after + 1000


def test_exchange_info_lists_btcusdt_with_its_filters(emu: Served) -> None:
    info = emu.client().exchange_info()
    assert "serverTime" in info and "rateLimits" in info
    symbols = {s["symbol"]: s for s in info["symbols"]}
    btc = symbols["BTCUSDT"]
    assert btc["status"] == "TRADING"
    assert btc["baseAsset"] == "BTC" and btc["quoteAsset"] == "USDT"
    filters = {f["filterType"]: f for f in btc["filters"]}
    assert {"PRICE_FILTER", "LOT_SIZE"} <= filters.keys()
    assert D(filters["PRICE_FILTER"]["tickSize"]) == SPOT.price_filter.tick_size
    assert D(filters["LOT_SIZE"]["stepSize"]) == SPOT.lot_size.step_size
    # The single-symbol form the connector documents, too.
    one = emu.client().exchange_info(symbol="BTCUSDT")
    assert [s["symbol"] for s in one["symbols"]] == ["BTCUSDT"]


def test_klines_after_two_candles(emu: Served) -> None:
    assert emu.advance(2) == 2
    rows = emu.client().klines("BTCUSDT", "1m", limit=10)
    assert [r[0] for r in rows] == [T0, T0 + 60_000]
    first, second = rows
    assert len(first) == 12
    assert first[6] == T0 + 59_999
    assert [D(x) for x in second[1:5]] == [D("30000"), D("30010"), D("29990"), D("30005")]
    assert D(second[5]) == D("100")


def test_account_shows_the_funded_balances(emu: Served) -> None:
    account = emu.client().account()
    balances = _balances(account)
    assert balances["USDT"] == (D(10_000), D(0))
    assert balances["BTC"] == (D("0.5"), D(0))
    assert account["canTrade"] is True


def test_limit_order_place_query_list_cancel(emu: Served) -> None:
    emu.advance(1)
    client = emu.client()
    placed = client.new_order(
        symbol="BTCUSDT",
        side="BUY",
        type="LIMIT",
        timeInForce="GTC",
        quantity=0.001,
        price=29000,
        newClientOrderId="lib-grid-1",
    )
    assert placed["status"] == "NEW"
    assert placed["symbol"] == "BTCUSDT"
    assert placed["clientOrderId"] == "lib-grid-1"
    order_id = placed["orderId"]
    assert isinstance(order_id, int)
    assert D(placed["price"]) == D(29000) and D(placed["origQty"]) == D("0.001")

    by_id = client.get_order("BTCUSDT", orderId=order_id)
    by_cid = client.get_order("BTCUSDT", origClientOrderId="lib-grid-1")
    for got in (by_id, by_cid):
        assert got["orderId"] == order_id
        assert got["clientOrderId"] == "lib-grid-1"
        assert got["status"] == "NEW"
        assert got["type"] == "LIMIT" and got["side"] == "BUY" and got["timeInForce"] == "GTC"

    assert [o["orderId"] for o in client.get_open_orders("BTCUSDT")] == [order_id]
    assert [o["orderId"] for o in client.get_open_orders()] == [order_id]
    assert _balances(client.account())["USDT"][1] == D(29)  # 0.001 x 29000 locked

    cancelled = client.cancel_order("BTCUSDT", orderId=order_id)
    assert cancelled["status"] == "CANCELED"
    assert cancelled["orderId"] == order_id
    assert client.get_open_orders("BTCUSDT") == []
    assert client.get_order("BTCUSDT", orderId=order_id)["status"] == "CANCELED"
    assert _balances(client.account())["USDT"] == (D(10_000), D(0))

    with pytest.raises(ClientError) as again:
        client.cancel_order("BTCUSDT", orderId=order_id)
    assert again.value.status_code == 400
    assert again.value.error_code == -2011


def test_wrong_secret_is_rejected_with_1022(emu: Served) -> None:
    with pytest.raises(ClientError) as err:
        emu.client(secret="not-the-secret").account()
    assert err.value.error_code == -1022
    assert err.value.status_code in (400, 401)
    # Signed order placement is refused the same way, and nothing rests.
    with pytest.raises(ClientError) as err2:
        emu.client(secret="not-the-secret").new_order(
            symbol="BTCUSDT",
            side="BUY",
            type="LIMIT",
            timeInForce="GTC",
            quantity=0.001,
            price=29000,
        )
    assert err2.value.error_code == -1022
    assert emu.client().get_open_orders("BTCUSDT") == []
