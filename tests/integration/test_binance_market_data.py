"""BinanceCandleFeed against the emulator over real HTTP and WebSocket on loopback.

The promise under test is the decision core's: every closed minute exactly once, in
order, even across dropped connections, with the exchange state resynced before any new
stream candle is delivered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from decimal import Decimal
from typing import Any, TypeVar

import pytest

from adapters.binance import market_data
from adapters.binance.errors import BinanceParseError
from adapters.binance.exchange import BinanceExchange
from adapters.binance.market_data import (
    BinanceCandleFeed,
    ExchangeState,
    exchange_resync,
    parse_kline_row,
)
from adapters.binance.rest import BinanceRestClient, Market
from adapters.binance.ws_parsers import MarkPrice
from adapters.simulated.emulator.server import start_emulator
from adapters.simulated.emulator.state import EmulatorState
from bootstrap.instruments import builtin_instrument
from domain.candles import Candle
from domain.enums import MarketType

D = Decimal
KEY, SECRET = "md-key", "md-secret"
T0 = 1_704_067_200_000
MIN = 60_000
R = TypeVar("R")

Scenario = Callable[[EmulatorState, BinanceRestClient, str], Coroutine[Any, Any, R]]


def _candles(n: int) -> list[Candle]:
    """Distinct, many-digit values so any rounding or column mix-up shows."""
    out = []
    for i in range(n):
        base = D("42000.15") + i * D("10.01")
        out.append(
            Candle(
                T0 + i * MIN,
                base,
                base + D("5.5"),
                base - D("3.25"),
                base + D("1.07"),
                D("12.345") + i,
                T0 + i * MIN + 59_999,
                D("518490.123") + i,
                100 + i,
                D("6.1") + i,
                D("256000.5") + i,
            )
        )
    return out


CANDLES = _candles(12)


def _run(market: MarketType, scenario: Scenario[R]) -> R:
    """Start the emulator for ``market``, run ``scenario(state, client, ws_base)``, clean up."""

    async def main() -> R:
        instrument = builtin_instrument(market, "BTCUSDT")
        quote = {MarketType.USDM_FUTURES: {"USDT": D("100000")}, MarketType.SPOT: {}}
        state = EmulatorState([instrument], KEY, SECRET, CANDLES, balances=quote)
        runner, url = await start_emulator(state)
        name: Market = "futures" if market.is_futures else "spot"
        client = BinanceRestClient(name, url, KEY, SECRET)
        try:
            return await asyncio.wait_for(
                scenario(state, client, url.replace("http://", "ws://")), 5
            )
        finally:
            await client.aclose()
            await runner.cleanup()

    return asyncio.run(main())


async def _until(predicate: Callable[[], bool], timeout: float = 2.5) -> None:
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


def _feed(
    client: BinanceRestClient,
    ws_base: str,
    on_candle: Callable[[Candle], Awaitable[None]],
    **kwargs: Any,
) -> BinanceCandleFeed:
    options: dict[str, Any] = {
        "ping_interval": None,
        "silence_timeout": 5.0,
        "backoff_base": 0.05,
        "backoff_max": 0.2,
        "connect_timeout": 2.0,
    }
    return BinanceCandleFeed(client, "BTCUSDT", ws_base, on_candle, **(options | kwargs))


async def _started(feed: BinanceCandleFeed, connections: int = 1) -> asyncio.Task[None]:
    task = asyncio.create_task(feed.run())
    await _until(lambda: feed.connections >= connections)
    await asyncio.sleep(0.1)  # the emulator registers the subscription after the handshake
    return task


async def _stop(feed: BinanceCandleFeed, task: asyncio.Task[None]) -> None:
    await feed.stop()
    await asyncio.wait_for(task, 2)


# ---------------------------------------------------------------------- REST backfill
@pytest.mark.parametrize("market", [MarketType.SPOT, MarketType.USDM_FUTURES])
def test_backfill_returns_exactly_the_replayed_candles(market: MarketType) -> None:
    async def scenario(
        state: EmulatorState, client: BinanceRestClient, ws: str
    ) -> tuple[list[Candle], list[Candle]]:
        state.advance(6)
        feed = _feed(client, ws, _ignore)
        everything = await feed.backfill("BTCUSDT", T0 - 10 * MIN, T0 + 100 * MIN)
        middle = await feed.backfill("BTCUSDT", T0 + MIN, T0 + 3 * MIN)
        return everything, middle

    everything, middle = _run(market, scenario)
    assert everything == CANDLES[:6]  # nothing unreplayed, exact Decimals in every column
    assert [c.close for c in everything] == [c.close for c in CANDLES[:6]]
    assert middle == CANDLES[1:4]


def test_backfill_pages_without_duplicates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(market_data._PAGE, "futures", 2)

    async def scenario(state: EmulatorState, client: BinanceRestClient, ws: str) -> list[Candle]:
        state.advance(7)
        return await _feed(client, ws, _ignore).backfill("BTCUSDT", T0, T0 + 6 * MIN)

    assert _run(MarketType.USDM_FUTURES, scenario) == CANDLES[:7]


def test_latest_pages_backwards_from_the_newest_closed_kline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(market_data._PAGE, "futures", 2)

    async def scenario(
        state: EmulatorState, client: BinanceRestClient, ws: str
    ) -> tuple[list[Candle], list[Candle], list[Candle]]:
        state.advance(7)
        feed = _feed(client, ws, _ignore)
        return (
            await feed.latest("BTCUSDT", 5),
            await feed.latest("BTCUSDT", 50),
            await feed.latest("BTCUSDT", 0),
        )

    five, all_of_them, none = _run(MarketType.USDM_FUTURES, scenario)
    assert five == CANDLES[2:7]
    assert all_of_them == CANDLES[:7]
    assert none == []


def test_kline_row_parsing_refuses_floats() -> None:
    row = [T0, "1.10", "2", "0.5", "1.5", "10", T0 + 59_999, "15", 3, "4", "6", "0"]
    assert parse_kline_row(row).open == D("1.10")
    with pytest.raises(BinanceParseError):
        parse_kline_row([T0, 1.1, *row[2:]])
    with pytest.raises(BinanceParseError):
        parse_kline_row(row[:5])


# ---------------------------------------------------------------------- live feed
def test_live_spot_candles_delivered_once_each_in_order() -> None:
    async def scenario(state: EmulatorState, client: BinanceRestClient, ws: str) -> list[Candle]:
        got: list[Candle] = []

        async def on_candle(candle: Candle) -> None:
            got.append(candle)

        state.advance(1)
        feed = _feed(client, ws, on_candle)
        assert feed.stream_url.endswith("/ws/btcusdt@kline_1m")
        task = await _started(feed)
        state.advance(4)
        await _until(lambda: len(got) >= 4)
        await asyncio.sleep(0.1)  # nothing more may arrive
        await _stop(feed, task)
        assert feed.stats.backfilled == 0 and feed.stats.streamed == 4
        return got

    assert _run(MarketType.SPOT, scenario) == CANDLES[1:5]


def test_reconnect_backfills_missed_candles_and_resyncs_before_streaming() -> None:
    async def scenario(
        state: EmulatorState, client: BinanceRestClient, ws: str
    ) -> tuple[list[object], BinanceCandleFeed, list[ExchangeState]]:
        log: list[object] = []
        states: list[ExchangeState] = []
        exchange = BinanceExchange(client)

        async def on_candle(candle: Candle) -> None:
            log.append(candle)

        async def on_resynced(fresh: ExchangeState) -> None:
            states.append(fresh)
            # A candle closes while the shell is still reconciling: it must wait.
            state.advance(1)
            await asyncio.sleep(0.2)
            log.append("resynced")

        feed = _feed(
            client,
            ws,
            on_candle,
            resync=exchange_resync(exchange, "BTCUSDT"),
            on_resynced=on_resynced,
        )
        assert "/market/ws/btcusdt@kline_1m" in feed.stream_url
        task = await _started(feed)
        state.advance(2)  # candles 0, 1 over the stream
        await _until(lambda: len(log) >= 2)
        state.inject("ws_drop")
        state.advance(3)  # candles 2, 3, 4 while the connection is gone: never pushed
        await _until(lambda: "resynced" in log and len(log) >= 7)
        state.advance(1)  # candle 6 over the new connection
        await _until(lambda: len(log) >= 8)
        await asyncio.sleep(0.1)
        await _stop(feed, task)
        return log, feed, states

    log, feed, states = _run(MarketType.USDM_FUTURES, scenario)
    assert log == [*CANDLES[:5], "resynced", CANDLES[5], CANDLES[6]]
    assert feed.connections == 2
    assert feed.stats.backfilled == 3  # 2, 3, 4 came over REST
    assert feed.stats.resyncs == 1
    [fresh] = states
    assert fresh.open_orders == [] and fresh.account.balances["USDT"][0] == D("100000")


def test_failed_resync_retries_the_whole_reconnect() -> None:
    async def scenario(
        state: EmulatorState, client: BinanceRestClient, ws: str
    ) -> tuple[list[object], BinanceCandleFeed]:
        log: list[object] = []
        calls = 0
        real = exchange_resync(BinanceExchange(client), "BTCUSDT")

        async def flaky() -> ExchangeState:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise ConnectionError("REST down")
            return await real()

        async def on_candle(candle: Candle) -> None:
            log.append(candle)

        async def on_resynced(fresh: ExchangeState) -> None:
            log.append("resynced")

        feed = _feed(client, ws, on_candle, resync=flaky, on_resynced=on_resynced)
        task = await _started(feed)
        state.advance(1)
        await _until(lambda: len(log) >= 1)
        state.inject("ws_drop")
        state.advance(2)
        await _until(lambda: "resynced" in log)
        state.advance(1)
        await _until(lambda: len(log) >= 5)
        await _stop(feed, task)
        return log, feed

    log, feed = _run(MarketType.USDM_FUTURES, scenario)
    assert log == [*CANDLES[:3], "resynced", CANDLES[3]]
    assert feed.connections == 3 and feed.stats.resyncs == 1


def test_silent_stream_is_replaced_and_the_silence_backfilled() -> None:
    async def scenario(
        state: EmulatorState, client: BinanceRestClient, ws: str
    ) -> tuple[list[Candle], BinanceCandleFeed]:
        got: list[Candle] = []

        async def on_candle(candle: Candle) -> None:
            got.append(candle)

        feed = _feed(client, ws, on_candle, silence_timeout=0.3)
        task = await _started(feed)
        state.advance(1)
        await _until(lambda: len(got) >= 1)
        state.inject("ws_stall")  # half-open: no data, no pings, but no close either
        state.advance(2)
        await _until(lambda: len(got) >= 3)
        await _stop(feed, task)
        return got, feed

    got, feed = _run(MarketType.USDM_FUTURES, scenario)
    assert got == CANDLES[:3]
    assert feed.connections == 2 and feed.stats.backfilled == 2


def test_gap_on_the_stream_is_backfilled_first() -> None:
    async def scenario(
        state: EmulatorState, client: BinanceRestClient, ws: str
    ) -> tuple[list[Candle], BinanceCandleFeed]:
        got: list[Candle] = []

        async def on_candle(candle: Candle) -> None:
            got.append(candle)

        state.advance(4)  # the caller warmed up on candle 0 only; 1..3 closed meanwhile
        feed = _feed(client, ws, on_candle, last_open_time=T0)
        task = await _started(feed)
        state.advance(2)  # stream: 4 (gap 1..3 detected), then 5
        await _until(lambda: len(got) >= 5)
        await asyncio.sleep(0.1)
        await _stop(feed, task)
        return got, feed

    got, feed = _run(MarketType.USDM_FUTURES, scenario)
    assert got == CANDLES[1:6]
    assert (feed.stats.gaps, feed.stats.backfilled, feed.stats.streamed) == (1, 3, 2)


def test_futures_mark_price_shares_the_kline_connection() -> None:
    async def scenario(
        state: EmulatorState, client: BinanceRestClient, ws: str
    ) -> tuple[list[Candle], list[MarkPrice], BinanceCandleFeed]:
        candles: list[Candle] = []
        marks: list[MarkPrice] = []

        async def on_candle(candle: Candle) -> None:
            candles.append(candle)

        async def on_mark(mark: MarkPrice) -> None:
            marks.append(mark)

        feed = _feed(client, ws, on_candle, on_mark_price=on_mark)
        assert "/market/stream?streams=" in feed.stream_url
        task = await _started(feed)
        state.advance(2)
        await _until(lambda: len(candles) >= 2 and len(marks) >= 2)
        await _stop(feed, task)
        return candles, marks, feed

    candles, marks, feed = _run(MarketType.USDM_FUTURES, scenario)
    assert candles == CANDLES[:2]
    assert [m.mark_price for m in marks] == [c.close for c in CANDLES[:2]]
    assert {m.symbol for m in marks} == {"BTCUSDT"}
    assert feed.connections == 1


def test_mark_price_refused_on_spot() -> None:
    client = BinanceRestClient("spot", "http://127.0.0.1:1", KEY, SECRET)
    with pytest.raises(ValueError):
        BinanceCandleFeed(client, "BTCUSDT", "ws://x", _ignore, on_mark_price=_ignore_mark)
    asyncio.run(client.aclose())


async def _ignore(candle: Candle) -> None:
    return None


async def _ignore_mark(mark: MarkPrice) -> None:
    return None
