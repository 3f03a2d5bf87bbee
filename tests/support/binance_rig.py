"""The live engine's Binance path in one process: emulator, adapter, blocking port, journal.

What ``gridbot run`` wires for ``exchange.kind = binance`` (minus the streams): the
emulator on loopback, the real :class:`BinanceExchange` over HTTP, the
:class:`BlockingExchange` with its retry policy, the SQL journal in a data directory and a
:class:`LiveEngine` around a :class:`TradingSession`. Candles are replayed on the emulator
with :meth:`BinanceRig.candle` and then handed to the engine, as the kline stream would.

Time: the REST client's rate limiter and the blocking port's retries both run on one
:class:`FakeTime`, so a 418 ban or a long budget is waited out without sleeping.

Futures by default; ``market=MarketType.SPOT`` runs the spot API instead. Every HTTP request
the adapter sends is recorded (method, path, status) in :attr:`BinanceRig.requests`, so a
test can tell a futures modify (``PUT /fapi/v1/order``) from a spot cancel-replace.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import httpx

from adapters.binance.blocking_exchange import BlockingExchange
from adapters.binance.exchange import BinanceExchange
from adapters.binance.rest import BinanceRestClient
from adapters.live_runtime.loop_thread import LoopThread
from adapters.memory.sinks import RecordingSink
from adapters.persistence.engine import sqlite_url
from adapters.persistence.factory import open_journal
from adapters.persistence.repository import SqlJournal
from adapters.simulated.emulator.server import start_emulator
from adapters.simulated.emulator.state import EmulatorState
from application.brakes import BrakeGate
from application.live_engine import EngineIdentity, LiveEngine
from application.session import TradingSession
from bootstrap.instruments import builtin_instrument
from domain.candles import Candle
from domain.enums import MarketType
from domain.events import ExecutionEvent
from domain.grid.static_grid import StaticGrid, StaticGridParams
from domain.instruments import Instrument
from domain.market_facts import MarketFacts
from domain.strategy import Strategy

D = Decimal
KEY, SECRET = "rig-key", "rig-secret"
SYMBOL = "BTCUSDT"
PREFIX = "rig"


class FakeTime:
    """Monotonic seconds that only sleeping moves (plus real time, so timeouts still work)."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.offset += max(seconds, 0.0)

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)
        await asyncio.sleep(0)


@dataclass
class BinanceRig:
    """One emulator, one adapter, one journal directory; engines come and go."""

    state: EmulatorState
    loop: LoopThread
    client: BinanceRestClient
    exchange: BlockingExchange
    data_dir: Path
    time: FakeTime
    candles: list[Candle]
    market: MarketType = MarketType.USDM_FUTURES
    balances: dict[str, Decimal] = field(default_factory=lambda: {"USDT": D("10000")})
    requests: list[tuple[str, str, int]] = field(default_factory=list)
    #: What the emulator's user-data stream would have pushed, not yet handed to an engine.
    stream: deque[ExecutionEvent] = field(default_factory=deque)
    sink: RecordingSink = field(default_factory=RecordingSink)
    journals: list[SqlJournal] = field(default_factory=list)
    _next: int = 1

    def engine(
        self,
        strategy: Strategy | None = None,
        brakes: Callable[[Instrument, RecordingSink], BrakeGate] | None = None,
        reference_price: Decimal | None = None,
        market_facts: MarketFacts | None = None,
    ) -> LiveEngine:
        """A fresh engine (new strategy object) on the journal, as after a restart; started.

        Args:
            strategy: The strategy (default: a small static grid).
            brakes: Builds the brakes for the instrument and sink (default: none).
            reference_price: The last known price (default: the first candle's close).
            market_facts: The ATR / volatility windows the strategy reads (default: the
                decision cycle's own).
        """
        journal = open_journal(sqlite_url(self.data_dir))
        self.journals.append(journal)
        instrument = self.exchange.instrument(SYMBOL)
        grid = strategy or StaticGrid(SYMBOL, StaticGridParams(5, D("0.001"), D("200"), D("0.01")))
        clock = self.state  # its now_ms is the exchange's clock
        session = TradingSession(
            self.exchange,
            instrument,
            journal,
            grid,
            PREFIX,
            self.sink,
            clock,
            dict(self.balances),
            brakes=brakes(instrument, self.sink) if brakes is not None else None,
            market=market_facts,
        )
        engine = LiveEngine(
            session,
            self.sink,
            clock,
            EngineIdentity("rig", "binance", self.market.value, SYMBOL),
        )
        engine.start(reference_price=reference_price or self.candles[0].close)
        return engine

    def candle(self) -> Candle:
        """Replay the next candle on the emulator; returns it (for the engine)."""
        candle = self.candles[self._next]
        assert self.state.advance(1) == 1
        self._next += 1
        return candle

    def open_on_exchange(self) -> int:
        """Our orders open on the emulator right now."""
        venue = self.state.venue(self.market, SYMBOL)
        assert venue is not None
        return sum(1 for meta, _ in venue.open_orders() if meta.client_order_id.startswith(PREFIX))

    def streamed(self) -> list[ExecutionEvent]:
        """Take the execution events the user-data stream would have delivered so far."""
        events = []
        stream = self.stream
        while stream:
            events.append(stream.popleft())
        return events

    def sent(self, method: str, path: str) -> int:
        """How many requests of this method and path got a 2xx answer."""
        return sum(1 for m, p, s in self.requests if (m, p) == (method, path) and s < 300)


@contextmanager
def binance_rig(
    tmp_path: Path,
    candles: Sequence[Candle],
    market: MarketType = MarketType.USDM_FUTURES,
    balances: dict[str, Decimal] | None = None,
) -> Iterator[BinanceRig]:
    """Start the emulator on ``candles`` (the first one replayed) and connect to it.

    Args:
        tmp_path: Where the journal's data directory goes.
        candles: The market the emulator replays.
        market: USD-M futures (default) or spot.
        balances: The account's starting balances (default 10,000 USDT).
    """
    instrument = builtin_instrument(market, SYMBOL)
    funds = dict(balances) if balances is not None else {"USDT": D("10000")}
    state = EmulatorState([instrument], KEY, SECRET, candles, balances={market: dict(funds)})
    state.advance(1)
    fake = FakeTime()
    loop = LoopThread("rig-io")
    runner, url = loop.run(start_emulator(state))
    requests: list[tuple[str, str, int]] = []

    async def record(response: httpx.Response) -> None:
        requests.append((response.request.method, response.request.url.path, response.status_code))

    async def make_http() -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=10.0, event_hooks={"response": [record]})

    http = loop.run(make_http())
    client = BinanceRestClient(
        "futures" if market is MarketType.USDM_FUTURES else "spot",
        url,
        KEY,
        SECRET,
        5000,
        http,
        monotonic=fake.monotonic,
        sleep=fake.async_sleep,
    )
    adapter = BinanceExchange(client, backoff_initial=0.01, backoff_max=0.02)
    exchange = BlockingExchange(adapter, loop, sleep=fake.sleep, monotonic=fake.monotonic)
    rig = BinanceRig(
        state, loop, client, exchange, tmp_path / "data", fake, list(candles), market, funds
    )
    rig.requests = requests
    # deque appends are atomic: the emulator emits from the I/O thread and from advance().
    state.listeners.append(lambda _venue, events: rig.stream.extend(events))
    rig.data_dir.mkdir()
    try:
        exchange.call("sync_time", client.sync_time)
        yield rig
    finally:
        for journal in rig.journals:
            journal.engine.dispose()
        loop.run(adapter.aclose())
        loop.run(http.aclose())
        loop.run(runner.cleanup())
        loop.stop()
