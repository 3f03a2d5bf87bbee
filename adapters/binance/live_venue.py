"""The venues ``gridbot run`` trades on, each delivering candles and events to the engine.

* **simulated**: the in-process simulated exchange replaying the configured kline file or
  the built-in generated market, paced in real time or faster by a thread. It starts
  empty on every run (its ids continue after the journal's).
* **binance**: the Binance adapter (REST + WebSockets on the I/O loop) against Binance,
  its testnet, or any compatible server at ``exchange.base_url`` (the emulator). Closed
  candles come from the kline stream (backfilled after every reconnect), execution events
  from the user-data stream; every reconnect of either ends with a reconciliation on the
  engine's thread before newer candles are decided.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from adapters.binance.account_setup import configure_futures
from adapters.binance.blocking_exchange import BlockingExchange
from adapters.binance.exchange import BinanceExchange
from adapters.binance.market_data import BinanceCandleFeed, ExchangeState, exchange_resync
from adapters.binance.rest import BinanceRestClient
from adapters.binance.signing import HmacSha256Signer
from adapters.binance.urls import binance_urls
from adapters.binance.user_data import FuturesUserDataStream, RestListenKeyApi, SpotUserDataStream
from adapters.binance.ws_parsers import UserEvents
from adapters.live_runtime.engine_loop import EngineLoop
from adapters.live_runtime.loop_thread import LoopThread
from adapters.persistence.repository import SqlJournal
from adapters.simulated.exchange import SimulatedExchange
from application.account_state import account_from_start
from application.ports.exchange import AccountSnapshot, ExchangePort, ReplayVenue
from application.ports.market_data import CandleGap, HistoricalCandles
from application.session import ACCOUNT_KEY as _ACCOUNT_KEY
from application.session import STRATEGY_KEY as _STRATEGY_KEY
from bootstrap.config import AppConfig
from bootstrap.containers import PeekedCandles, candle_source, simulation_settings
from bootstrap.instruments import builtin_instrument
from bootstrap.secrets import Credentials
from domain.candles import Candle
from domain.events import FundingPaid
from domain.instruments import Instrument

ZERO = Decimal(0)


class NowMs:
    """A clock object around a ``now_ms`` function (the exchange's server time)."""

    def __init__(self, now_ms: Callable[[], int]) -> None:
        self.now_ms = now_ms


@dataclass
class LiveVenue:
    """What the shell needs from a venue, whatever it is."""

    name: str
    exchange: ExchangePort
    clock: Any
    instrument: Instrument
    initial_balances: dict[str, Decimal]
    reference_price: Decimal
    first_open_time: int
    source: str
    replay: ReplayVenue | None = None
    #: Begin delivering candles and events to the engine loop (after reconciliation).
    start: Callable[[EngineLoop, Callable[[Candle], None]], None] = lambda loop, handle: None
    #: Stop delivering (before the final flatten, which still uses ``exchange``).
    stop: Callable[[], None] = lambda: None
    #: Release connections (last).
    close: Callable[[], None] = lambda: None
    last_price: Callable[[], Decimal | None] = lambda: None
    #: The last ``n`` closed 1m candles before now (signal warm-up); empty if unknown.
    history: Callable[[int], list[Candle]] = lambda minutes: []
    threads: list[threading.Thread] = field(default_factory=list)


# ---------------------------------------------------------------------------- simulated
class ReplayPacer:
    """Feeds replayed candles to the engine loop at ``speed`` × real time.

    At most two candles wait in the queue, so operator commands are never stuck behind a
    long backlog and a fast replay cannot run ahead of the engine.
    """

    def __init__(
        self, candles: Iterable[Candle], speed: float, max_candles: int, loop: EngineLoop
    ) -> None:
        self._candles = candles
        self._interval = 60.0 / speed if speed > 0 else 0.0
        self._max = max_candles
        self._loop = loop
        self._slots = threading.Semaphore(2)
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, handle: Callable[[Candle], None]) -> None:
        """Begin pacing on a daemon thread."""
        self._thread = threading.Thread(
            target=self._run, args=(handle,), name="gridbot-replay", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop pacing (a candle already queued is still handled)."""
        self._stopped.set()
        self._slots.release()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self, handle: Callable[[Candle], None]) -> None:
        next_at = time.monotonic()
        for sent, candle in enumerate(self._candles):
            self._slots.acquire()
            if self._stopped.is_set() or (self._max and sent >= self._max):
                break
            self._loop.post(lambda c=candle: self._deliver(handle, c))
            if self._interval:
                next_at += self._interval
                if self._stopped.wait(max(0.0, next_at - time.monotonic())):
                    break
        if not self._stopped.is_set():
            self._loop.end_of_data()

    def _deliver(self, handle: Callable[[Candle], None], candle: Candle) -> None:
        try:
            handle(candle)
        finally:
            self._slots.release()


def _resume(journal: SqlJournal, instrument: Instrument) -> tuple[dict[str, Decimal], int] | None:
    """Balances and last candle to resume a paper account from, when the journal allows it.

    The in-process simulated exchange keeps nothing between runs. When the journal ends flat
    with no open order (a stop that flattened), the account is just balances: the new
    simulated account starts with them and the replay continues after the last candle.
    Otherwise (a kill, or a stop that kept the book) it cannot be recreated, and start-up
    reconciliation reports the difference.
    """
    stored = journal.load_state(_ACCOUNT_KEY)
    if stored is None or journal.open_orders():
        return None
    account = account_from_start(journal, instrument, json.loads(stored))
    if account.position.quantity and instrument.is_futures:
        return None
    balances = {instrument.quote_asset: account.cash}
    if not instrument.is_futures:
        balances[instrument.base_asset] = account.base_balance
    state = journal.load_state(_STRATEGY_KEY)
    last = json.loads(state).get("last_candle") if state is not None else None
    return balances, int(last) if last is not None else -1


def simulated_venue(
    config: AppConfig, data: str | None, journal: SqlJournal, speed: float, max_candles: int
) -> LiveVenue:
    """The in-process simulated exchange and its replay (resuming a flat paper account)."""
    instrument = builtin_instrument(config.market, config.symbol)
    balances = dict(config.initial_balances)
    source = candle_source(config, data)
    resume = _resume(journal, instrument)
    if resume is not None:
        balances, last = resume
        source = _after(source, last)
    candles = PeekedCandles(source)
    settings = replace(simulation_settings(config), first_id=journal.last_trade_id() + 1)
    exchange = SimulatedExchange(instrument, dict(balances), settings)
    first = candles.first
    venue = LiveVenue(
        name="simulated",
        exchange=exchange,
        # Market time; before the first candle, the replay's start (never 0).
        clock=NowMs(lambda: exchange.now_ms() or (first.open_time if first is not None else 0)),
        instrument=instrument,
        initial_balances=dict(config.initial_balances),
        reference_price=first.open if first is not None else ZERO,
        first_open_time=first.open_time if first is not None else 0,
        source=config.source,
        replay=exchange,
        last_price=lambda: exchange.last_price,
    )
    pacer: list[ReplayPacer] = []

    def start(loop: EngineLoop, handle: Callable[[Candle], None]) -> None:
        pacer.append(ReplayPacer(candles, speed, max_candles, loop))
        pacer[0].start(handle)

    def stop() -> None:
        for p in pacer:
            p.stop()

    venue.start = start
    venue.stop = stop
    return venue


class _After:
    """A candle source without the candles up to ``last_open_time`` (already traded)."""

    def __init__(self, source: HistoricalCandles, last_open_time: int) -> None:
        self._source = source
        self._last = last_open_time
        self.symbol = source.symbol

    def gaps(self) -> list[CandleGap]:
        return self._source.gaps()

    def __iter__(self) -> Iterator[Candle]:
        return (c for c in self._source if c.open_time > self._last)


def _after(source: HistoricalCandles, last_open_time: int) -> HistoricalCandles:
    return _After(source, last_open_time) if last_open_time >= 0 else source


# ---------------------------------------------------------------------------- binance
def _balances(snapshot: AccountSnapshot, instrument: Instrument) -> dict[str, Decimal]:
    assets = [instrument.quote_asset] + ([] if instrument.is_futures else [instrument.base_asset])
    out: dict[str, Decimal] = {}
    for asset in assets:
        free, locked = snapshot.balances.get(asset, (ZERO, ZERO))
        out[asset] = free + locked
    return out


def binance_venue(config: AppConfig, credentials: Credentials, io: LoopThread) -> LiveVenue:
    """The Binance adapter (or the emulator at ``exchange.base_url``), connected and set up.

    Raises:
        BinanceError: exchangeInfo, the account or the futures set-up failed.
    """
    market = "futures" if config.market.is_futures else "spot"
    ex = config.exchange
    urls = binance_urls(market, ex.testnet, ex.base_url, ex.ws_url)
    key, secret = credentials.api_key.reveal(), credentials.api_secret.reveal()
    client = BinanceRestClient(market, urls.rest, key, secret, recv_window=ex.recv_window)
    adapter = BinanceExchange(client)
    exchange = BlockingExchange(adapter, io, budget=float(ex.retry_budget))
    exchange.call("sync_time", client.sync_time)
    instrument = exchange.instrument(config.symbol)
    if instrument.is_futures:
        # Idempotent (an unchanged setting is answered as success): safe to repeat.
        exchange.call(
            "configure_futures",
            lambda: configure_futures(client, config.symbol, ex.leverage, ex.margin_type),
        )
    snapshot = exchange.account()
    mark: list[Decimal | None] = [None]
    tasks: list[asyncio.Future[Any]] = []
    streams: list[Any] = []
    assets = {instrument.symbol: (instrument.base_asset, instrument.quote_asset)}
    venue = LiveVenue(
        name="binance" + (" testnet" if ex.testnet and not ex.base_url else ""),
        exchange=exchange,
        clock=NowMs(client.server_time_ms),
        instrument=instrument,
        initial_balances=_balances(snapshot, instrument),
        reference_price=ZERO,
        first_open_time=client.server_time_ms(),
        source=urls.rest,
        last_price=lambda: mark[0],
    )

    def history(minutes: int) -> list[Candle]:
        if minutes <= 0:
            return []

        async def ignore(candle: Candle) -> None:
            return None

        feed = BinanceCandleFeed(client, instrument.symbol, urls.ws, ignore)
        return io.run(feed.latest(instrument.symbol, minutes), timeout=300)

    venue.history = history

    def start(loop: EngineLoop, handle: Callable[[Candle], None]) -> None:
        engine = loop.engine

        async def on_candle(candle: Candle) -> None:
            mark[0] = candle.close
            loop.post(lambda: handle(candle))

        async def resynced(state: ExchangeState) -> None:
            await asyncio.wrap_future(loop.submit(engine.resync))

        async def reconciled() -> None:
            await asyncio.wrap_future(loop.submit(engine.resync))

        async def on_user(message: object) -> None:
            if not isinstance(message, UserEvents) or not message.events:
                return
            # Cross-margin funding updates name no symbol (Binance sends the balance only):
            # the income history says which symbol paid what, and a resync reads it.
            unattributed = [
                e for e in message.events if isinstance(e, FundingPaid) and not e.symbol
            ]
            events = [e for e in message.events if not isinstance(e, FundingPaid) or e.symbol]
            if events:
                loop.post(lambda: engine.on_events(events))
            if unattributed:
                loop.post(engine.resync)

        feed = BinanceCandleFeed(
            client,
            instrument.symbol,
            urls.ws,
            on_candle,
            resync=exchange_resync(adapter, instrument.symbol),
            on_resynced=resynced,
        )
        user: FuturesUserDataStream | SpotUserDataStream
        if instrument.is_futures:
            user = FuturesUserDataStream(
                RestListenKeyApi(client),
                urls.ws,
                on_user,
                symbol_assets=assets,
                on_reconnected=reconciled,
            )
        else:
            user = SpotUserDataStream(
                urls.ws_api,
                key,
                HmacSha256Signer(secret),
                client.server_time_ms,
                on_user,
                recv_window=ex.recv_window,
                symbol_assets=assets,
                on_reconnected=reconciled,
            )
        streams.extend([feed, user])
        tasks.extend([io.spawn(feed.run()), io.spawn(user.run())])

    def stop() -> None:
        for stream in streams:
            # Best effort: the loop is stopped right after anyway.
            with contextlib.suppress(Exception):
                io.run(stream.stop(), timeout=10)

    def close() -> None:
        io.run(adapter.aclose(), timeout=10)

    venue.start = start
    venue.stop = stop
    venue.close = close
    return venue
