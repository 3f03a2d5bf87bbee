"""The Binance adapter against the emulator's injected faults, over real loopback HTTP / WS.

Every test drives the real :class:`BinanceExchange` / :class:`BinanceRestClient` (and, for
the WebSocket faults, :class:`FuturesUserDataStream`) against ``start_emulator`` on
127.0.0.1, injects one fault with :meth:`EmulatorState.inject` and checks the three things
that matter to a trading bot:

* no duplicate order: the emulator's own event feed shows at most one accepted order per
  client id, whatever the adapter did to find out what happened;
* no lost fill: the fill the emulator produced reaches ``trades_since`` (and the user-data
  stream) exactly once;
* trading resumes by itself: the next operations succeed with no intervention.

Waits on the 429 back-off and the 418 ban run on a fake monotonic clock handed to the
REST client (its rate limiter sleeps through it), so nothing sleeps for the real
``Retry-After``. Unknown outcomes use a short ``recvWindow`` so the resolver's "not found
is final" deadline is about a second.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import pytest

from adapters.binance.exchange import BinanceExchange
from adapters.binance.rest import BinanceRestClient
from adapters.binance.user_data import FuturesUserDataStream, RestListenKeyApi
from adapters.binance.ws_parsers import ListenKeyExpired, UserDataMessage, UserEvents
from adapters.simulated.emulator.server import start_emulator
from adapters.simulated.emulator.state import EmulatorState, Venue
from application.ports.exchange import OrderRequest
from bootstrap.instruments import builtin_instrument
from domain.candles import Candle
from domain.enums import MarketType, OrderType, Side, TimeInForce
from domain.events import ExecutionEvent, OrderAccepted, OrderFilled, OrderRejected, RejectReason

D = Decimal
KEY, SECRET = "fault-key", "fault-secret"
T0 = 1_704_067_200_000
FUT = builtin_instrument(MarketType.USDM_FUTURES, "BTCUSDT")
SYMBOL = "BTCUSDT"
BID = D("49500.0")
ORDER_PATH = "/fapi/v1/order"


def _candle(minute: int, o: str, h: str, low: str, c: str) -> Candle:
    start = T0 + minute * 60_000
    return Candle(start, D(o), D(h), D(low), D(c), D("100"), start + 59_999)


def _candles() -> list[Candle]:
    """A flat first candle, then one trading through the resting bids at 49,500."""
    return [
        _candle(0, "50000", "50000", "50000", "50000"),
        _candle(1, "50000", "50100", "49000", "49500"),
        _candle(2, "49500", "49600", "49400", "49500"),
    ]


def _bid(cid: str) -> OrderRequest:
    return OrderRequest(cid, SYMBOL, Side.BUY, OrderType.LIMIT, D("0.010"), BID, TimeInForce.GTC)


class FastClock:
    """Monotonic clock and sleep for the REST client: sleeping moves the clock instead."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.offset += max(seconds, 0.0)
        await asyncio.sleep(0)


async def _until(predicate: Callable[[], bool], what: str, timeout: float = 2.0) -> None:
    """Wait for real I/O (the emulator's answer or a stream event) to make ``predicate`` true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


@dataclass
class Rig:
    """One emulator and one adapter talking to it."""

    state: EmulatorState
    url: str
    client: BinanceRestClient
    exchange: BinanceExchange
    #: (method, path, status) of every HTTP answer the adapter received.
    requests: list[tuple[str, str, int]]
    #: Every execution event the emulator produced (its ground truth).
    emitted: list[ExecutionEvent]

    @property
    def venue(self) -> Venue:
        venue = self.state.venue(MarketType.USDM_FUTURES, SYMBOL)
        assert venue is not None
        return venue

    def accepted_on_emulator(self, cid: str) -> int:
        """Orders the emulator accepted under ``cid`` (a duplicate would make it 2)."""
        return sum(
            1 for e in self.emitted if isinstance(e, OrderAccepted) and e.client_order_id == cid
        )

    def open_on_emulator(self, cid: str) -> int:
        return sum(1 for meta, _ in self.venue.open_orders() if meta.client_order_id == cid)

    def fills_on_emulator(self, cid: str) -> list[OrderFilled]:
        return [
            e for e in self.emitted if isinstance(e, OrderFilled) and e.fill.client_order_id == cid
        ]

    def order_posts(self) -> list[int]:
        """Statuses of the POST /fapi/v1/order answers received."""
        return [s for m, p, s in self.requests if (m, p) == ("POST", ORDER_PATH)]

    async def assert_fills_once(self, *cids: str) -> None:
        """A candle through the bids fills each order once, in the REST history too."""
        self.state.advance(1)
        trades = await self.exchange.trades_since(SYMBOL, 0)
        for cid in cids:
            [emitted] = self.fills_on_emulator(cid)
            [fill] = [f for f in trades if f.client_order_id == cid]
            assert (fill.trade_id, fill.quantity, fill.price) == (
                emitted.fill.trade_id,
                D("0.010"),
                BID,
            )


@asynccontextmanager
async def _rig(
    *,
    clock: FastClock | None = None,
    timeout: float = 2.0,
    recv_window: int = 5000,
    own_http: bool = True,
    **exchange_options: Any,
) -> AsyncIterator[Rig]:
    state = EmulatorState(
        [FUT], KEY, SECRET, _candles(), balances={MarketType.USDM_FUTURES: {"USDT": D("100000")}}
    )
    state.advance(1)
    emitted: list[ExecutionEvent] = []
    state.listeners.append(lambda _venue, events: emitted.extend(events))
    runner, url = await start_emulator(state)
    requests: list[tuple[str, str, int]] = []

    async def record(response: httpx.Response) -> None:
        requests.append((response.request.method, response.request.url.path, response.status_code))

    http = (
        httpx.AsyncClient(timeout=timeout, event_hooks={"response": [record]}) if own_http else None
    )
    timing: dict[str, Any] = {}
    if clock is not None:
        timing = {"monotonic": clock.monotonic, "sleep": clock.sleep}
    client = BinanceRestClient(
        "futures", url, KEY, SECRET, recv_window, http, timeout=timeout, **timing
    )
    exchange = BinanceExchange(client, **exchange_options)
    try:
        # Load exchangeInfo and the clock offset first, so the fault hits the order request.
        await exchange.instrument(SYMBOL)
        await client.sync_time()
        yield Rig(state, url, client, exchange, requests, emitted)
    finally:
        await exchange.aclose()
        if http is not None:
            await http.aclose()
        await runner.cleanup()


# ======================================================================== REST faults
def test_unknown_after_place_is_resolved_by_query_without_resending() -> None:
    async def scenario() -> None:
        async with _rig() as rig:
            rig.state.inject("unknown_after_place")
            answer = await rig.exchange.place_order(_bid("u-1"))
            assert [type(e) for e in answer] == [OrderAccepted]
            assert answer[0].client_order_id == "u-1"
            assert rig.order_posts() == [503]  # sent once, never resent
            assert rig.accepted_on_emulator("u-1") == 1
            assert rig.open_on_emulator("u-1") == 1
            # Trading carries on: the next order is acknowledged directly.
            [next_answer] = await rig.exchange.place_order(_bid("u-2"))
            assert isinstance(next_answer, OrderAccepted)
            await rig.assert_fills_once("u-1", "u-2")

    asyncio.run(scenario())


def test_http_500_on_place_is_not_resent_and_resolves_to_never_sent() -> None:
    async def scenario() -> None:
        async with _rig(recv_window=1000, resolve_grace_ms=100, backoff_initial=0.05) as rig:
            rig.state.inject("http_500")
            answer = await rig.exchange.place_order(_bid("h-1"))
            [rejected] = answer
            assert isinstance(rejected, OrderRejected)
            assert rejected.reason is RejectReason.NEVER_SENT and rejected.code == -1000
            assert rig.order_posts() == [500]  # the 500 was not followed by a blind resend
            assert rig.accepted_on_emulator("h-1") == 0
            # The strategy may send the intent again: exactly one order results.
            [accepted] = await rig.exchange.place_order(_bid("h-1"))
            assert isinstance(accepted, OrderAccepted)
            assert rig.order_posts() == [500, 200]
            assert rig.accepted_on_emulator("h-1") == 1
            await rig.assert_fills_once("h-1")

    asyncio.run(scenario())


def test_rate_limit_429_holds_the_next_request_for_retry_after() -> None:
    clock = FastClock()

    async def scenario() -> None:
        async with _rig(clock=clock) as rig:
            rig.state.inject("rate_limit_429")
            [refused] = await rig.exchange.place_order(_bid("r-1"))
            assert isinstance(refused, OrderRejected)
            assert (refused.code, refused.reason) == (-1003, RejectReason.RANDOM_FAULT)
            assert rig.client.limiter.blocked_for == pytest.approx(1.0, abs=0.2)
            assert rig.accepted_on_emulator("r-1") == 0
            clock.slept.clear()
            [accepted] = await rig.exchange.place_order(_bid("r-1"))
            assert isinstance(accepted, OrderAccepted)
            assert sum(clock.slept) == pytest.approx(1.0, abs=0.2)  # waited Retry-After
            assert rig.order_posts() == [429, 200]
            assert rig.accepted_on_emulator("r-1") == 1
            await rig.assert_fills_once("r-1")

    asyncio.run(scenario())


def test_ban_418_fails_fast_while_banned_and_recovers_after_the_ban() -> None:
    clock = FastClock()

    async def scenario() -> None:
        async with _rig(clock=clock) as rig:
            rig.state.inject("ban_418")
            [refused] = await rig.exchange.place_order(_bid("b-1"))
            assert isinstance(refused, OrderRejected) and refused.code == -1003
            ban = rig.client.limiter.banned_for
            assert 100 < ban <= 120  # the emulator's Retry-After (2 minutes)
            sent = len(rig.requests)
            started = time.perf_counter()
            [again] = await rig.exchange.place_order(_bid("b-1"))
            assert time.perf_counter() - started < 0.1  # refused locally, no waiting
            assert isinstance(again, OrderRejected) and "not sent" in again.message
            assert len(rig.requests) == sent  # nothing reached the (banning) server
            assert clock.slept == []
            clock.offset += ban + 1  # the ban runs out
            [accepted] = await rig.exchange.place_order(_bid("b-1"))
            assert isinstance(accepted, OrderAccepted)
            assert rig.order_posts() == [418, 200]
            assert rig.accepted_on_emulator("b-1") == 1
            await rig.assert_fills_once("b-1")

    asyncio.run(scenario())


def test_delay_beyond_client_timeout_is_resolved_by_query_without_resending() -> None:
    async def scenario() -> None:
        async with _rig(timeout=0.3, recv_window=2000, own_http=False, backoff_initial=0.05) as rig:
            rig.state.inject("delay_ms:600")  # the place is processed after the client gave up
            started = time.perf_counter()
            answer = await rig.exchange.place_order(_bid("d-1"))
            elapsed = time.perf_counter() - started
            assert [type(e) for e in answer] == [OrderAccepted], answer
            assert 0.6 <= elapsed < 2.0  # found by query once the late request executed
            assert rig.accepted_on_emulator("d-1") == 1
            assert rig.open_on_emulator("d-1") == 1
            [accepted] = await rig.exchange.place_order(_bid("d-2"))
            assert isinstance(accepted, OrderAccepted)
            await rig.assert_fills_once("d-1", "d-2")

    asyncio.run(scenario())


@pytest.mark.parametrize("skew_ms", [30_000, -30_000])
def test_clock_skew_triggers_one_resync_and_one_retry(skew_ms: int) -> None:
    async def scenario() -> None:
        async with _rig() as rig:
            before = rig.client.time_offset_ms  # the replay clock stands in 2024
            assert before is not None
            rig.state.inject(f"clock_skew_ms:{skew_ms}")
            mark = len(rig.requests)
            [accepted] = await rig.exchange.place_order(_bid("s-1"))
            assert isinstance(accepted, OrderAccepted)
            assert rig.requests[mark:] == [
                ("POST", ORDER_PATH, 400),  # -1021 outside recvWindow
                ("GET", "/fapi/v1/time", 200),
                ("POST", ORDER_PATH, 200),
            ]
            assert rig.client.time_offset_ms == pytest.approx(before + skew_ms, abs=1000)
            assert rig.accepted_on_emulator("s-1") == 1
            [second] = await rig.exchange.place_order(_bid("s-2"))  # no further resync
            assert isinstance(second, OrderAccepted)
            assert [p for _, p, _ in rig.requests[mark + 3 :]] == [ORDER_PATH]
            await rig.assert_fills_once("s-1", "s-2")

    asyncio.run(scenario())


# =================================================================== WebSocket faults
@dataclass
class StreamProbe:
    """A running futures user-data stream and what it delivered."""

    stream: FuturesUserDataStream
    messages: list[UserDataMessage] = field(default_factory=list)
    reconnects: int = 0

    @property
    def events(self) -> list[ExecutionEvent]:
        return [e for m in self.messages if isinstance(m, UserEvents) for e in m.events]

    def accepted(self, cid: str) -> int:
        return sum(
            1 for e in self.events if isinstance(e, OrderAccepted) and e.client_order_id == cid
        )

    def filled(self, cid: str) -> int:
        return sum(
            1 for e in self.events if isinstance(e, OrderFilled) and e.fill.client_order_id == cid
        )

    @property
    def connections(self) -> int:
        return self.stream.connection.connections


@asynccontextmanager
async def _user_stream(rig: Rig) -> AsyncIterator[StreamProbe]:
    probe: StreamProbe

    async def on_message(message: UserDataMessage) -> None:
        probe.messages.append(message)

    async def on_reconnected() -> None:
        probe.reconnects += 1

    stream = FuturesUserDataStream(
        RestListenKeyApi(rig.client),
        rig.url.replace("http://", "ws://"),
        on_message,
        symbol_assets={SYMBOL: ("BTC", "USDT")},
        on_reconnected=on_reconnected,
        ping_interval=0.1,
        silence_timeout=0.5,
        backoff_base=0.05,
        backoff_max=0.1,
    )
    probe = StreamProbe(stream)
    task = asyncio.create_task(stream.run())
    try:
        await _until(lambda: probe.connections == 1, "the first connection")
        yield probe
    finally:
        await stream.stop()
        await asyncio.wait_for(task, 5)


async def _order_round(rig: Rig, probe: StreamProbe, cid: str) -> None:
    """Place ``cid`` and see its NEW arrive on the stream."""
    [accepted] = await rig.exchange.place_order(_bid(cid))
    assert isinstance(accepted, OrderAccepted)
    await _until(lambda: probe.accepted(cid) == 1, f"NEW of {cid} on the stream")


async def _fills_flow(rig: Rig, probe: StreamProbe, *cids: str) -> None:
    """The next candle's TRADEs arrive once each on the stream and in the REST history."""
    await rig.assert_fills_once(*cids)
    await _until(lambda: all(probe.filled(c) == 1 for c in cids), "the TRADE events")
    await asyncio.sleep(0.05)  # anything duplicated would arrive now
    assert [probe.accepted(c) for c in cids] == [1] * len(cids)
    assert [probe.filled(c) for c in cids] == [1] * len(cids)


def test_ws_drop_reconnects_and_events_flow_again() -> None:
    async def scenario() -> None:
        async with _rig() as rig, _user_stream(rig) as probe:
            await _order_round(rig, probe, "w-1")
            key = probe.stream.listen_key
            rig.state.inject("ws_drop")
            await _until(lambda: probe.reconnects == 1, "the reconnect")
            assert probe.connections == 2 and probe.stream.listen_key == key  # same key kept
            await _order_round(rig, probe, "w-2")
            await _fills_flow(rig, probe, "w-1", "w-2")

    asyncio.run(scenario())


def test_ws_stall_is_detected_by_silence_and_the_connection_replaced() -> None:
    async def scenario() -> None:
        async with _rig() as rig, _user_stream(rig) as probe:
            await _order_round(rig, probe, "st-1")
            rig.state.inject("ws_stall")
            started = time.perf_counter()
            await _until(lambda: probe.reconnects == 1, "the silence detection")
            waited = time.perf_counter() - started
            assert 0.3 <= waited < 1.5  # about silence_timeout (0.5 s), not before
            assert probe.connections == 2
            await _order_round(rig, probe, "st-2")
            await _fills_flow(rig, probe, "st-1", "st-2")

    asyncio.run(scenario())


def test_listen_key_expired_creates_a_new_key_and_events_flow_on_it() -> None:
    async def scenario() -> None:
        async with _rig() as rig, _user_stream(rig) as probe:
            await _order_round(rig, probe, "k-1")
            old_key = probe.stream.listen_key
            rig.state.inject("listen_key_expired")
            await _until(lambda: probe.reconnects == 1, "the reconnect on a new key")
            assert any(isinstance(m, ListenKeyExpired) for m in probe.messages)
            assert probe.stream.listen_key not in (None, old_key)
            assert probe.stream.connection.current_url.endswith(f"/{probe.stream.listen_key}")
            await _order_round(rig, probe, "k-2")
            await _fills_flow(rig, probe, "k-1", "k-2")

    asyncio.run(scenario())
