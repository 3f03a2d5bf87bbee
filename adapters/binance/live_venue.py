"""Binance as the venue of ``gridbot run``: Binance, its testnet, or the emulator.

REST and WebSockets run on the I/O loop (another thread). Closed candles come from the
kline stream (backfilled after every reconnect), execution events from the user-data
stream; every reconnect of either ends with a reconciliation on the engine's thread
before newer candles are decided. Port calls go through
:class:`~adapters.binance.blocking_exchange.BlockingExchange`, which waits out transient
refusals within a budget.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from concurrent.futures import Future
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from adapters.binance.account_setup import configure_futures
from adapters.binance.blocking_exchange import BlockingExchange
from adapters.binance.exchange import BinanceExchange
from adapters.binance.market_data import BinanceCandleFeed, ExchangeState, exchange_resync
from adapters.binance.rest import BinanceRestClient
from adapters.binance.signing import HmacSha256Signer
from adapters.binance.urls import BinanceUrls, binance_urls
from adapters.binance.user_data import FuturesUserDataStream, RestListenKeyApi, SpotUserDataStream
from adapters.binance.ws_parsers import UserEvents
from application.ports.exchange import AccountSnapshot
from application.ports.venue import EngineInputs
from domain.candles import Candle
from domain.enums import MarketType
from domain.events import FundingPaid
from domain.instruments import Instrument

ZERO = Decimal(0)
T = TypeVar("T")


class IoLoop(Protocol):
    """The I/O loop thread: runs coroutines for callers on other threads."""

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = ...) -> T:
        """Run ``coroutine`` and wait for its result."""
        ...

    def spawn(self, coroutine: Coroutine[Any, Any, T]) -> Future[T]:
        """Schedule ``coroutine``; a future for its result."""
        ...


@dataclass(frozen=True)
class BinanceVenueSettings:
    """What the venue needs from the configuration (``market`` and ``exchange`` sections).

    Attributes:
        market: Spot or USD-M futures.
        symbol: The traded symbol.
        api_key: API key (revealed only here).
        api_secret: API secret (revealed only here).
        testnet: Binance's testnet instead of production.
        base_url: A compatible REST server instead (the emulator), if set.
        ws_url: Its WebSocket base URL, if set.
        recv_window: ``recvWindow`` of signed requests (ms).
        retry_budget: Seconds one port call may spend waiting out transient refusals.
        leverage: Futures leverage to set.
        margin_type: Futures margin type to set.
    """

    market: MarketType
    symbol: str
    api_key: str
    api_secret: str
    testnet: bool
    base_url: str | None
    ws_url: str | None
    recv_window: int
    retry_budget: float
    leverage: int
    margin_type: str


class ServerClock:
    """The exchange's server time (as estimated by the REST client's time sync)."""

    def __init__(self, client: BinanceRestClient) -> None:
        self._client = client

    def now_ms(self) -> int:
        """Milliseconds of server time."""
        return self._client.server_time_ms()


def _balances(snapshot: AccountSnapshot, instrument: Instrument) -> dict[str, Decimal]:
    assets = [instrument.quote_asset] + ([] if instrument.is_futures else [instrument.base_asset])
    out: dict[str, Decimal] = {}
    for asset in assets:
        free, locked = snapshot.balances.get(asset, (ZERO, ZERO))
        out[asset] = free + locked
    return out


class BinanceVenue:
    """:class:`~application.ports.venue.LiveVenue` over the Binance adapter.

    Build it with :meth:`connect` (time sync, exchangeInfo, futures set-up, account).
    """

    replay = None
    reference_price = ZERO

    def __init__(
        self,
        settings: BinanceVenueSettings,
        urls: BinanceUrls,
        client: BinanceRestClient,
        adapter: BinanceExchange,
        exchange: BlockingExchange,
        instrument: Instrument,
        io: IoLoop,
    ) -> None:
        self._settings = settings
        self._urls = urls
        self._client = client
        self._adapter = adapter
        self._io = io
        self.exchange = exchange
        self.instrument = instrument
        self.name = "binance" + (" testnet" if settings.testnet and not settings.base_url else "")
        self.clock = ServerClock(client)
        self.source = urls.rest
        self.initial_balances: dict[str, Decimal] = {}
        self.first_open_time = 0
        self._mark: Decimal | None = None
        self._streams: list[BinanceCandleFeed | FuturesUserDataStream | SpotUserDataStream] = []
        self._tasks: list[Future[None]] = []

    @classmethod
    def connect(cls, settings: BinanceVenueSettings, io: IoLoop) -> BinanceVenue:
        """The venue, connected and set up.

        Raises:
            BinanceError: exchangeInfo, the account or the futures set-up failed.
            ExchangeUnavailable: The retry budget ran out.
        """
        market = "futures" if settings.market.is_futures else "spot"
        urls = binance_urls(market, settings.testnet, settings.base_url, settings.ws_url)
        client = BinanceRestClient(
            market,
            urls.rest,
            settings.api_key,
            settings.api_secret,
            recv_window=settings.recv_window,
        )
        adapter = BinanceExchange(client)
        exchange = BlockingExchange(adapter, io, budget=settings.retry_budget)
        exchange.call("sync_time", client.sync_time)
        instrument = exchange.instrument(settings.symbol)
        if instrument.is_futures:
            # Idempotent (an unchanged setting is answered as success): safe to repeat.
            exchange.call(
                "configure_futures",
                lambda: configure_futures(
                    client, settings.symbol, settings.leverage, settings.margin_type
                ),
            )
        venue = cls(settings, urls, client, adapter, exchange, instrument, io)
        venue.initial_balances = _balances(exchange.account(), instrument)
        venue.first_open_time = client.server_time_ms()
        return venue

    def last_price(self) -> Decimal | None:
        """The last closed candle's close seen on the stream."""
        return self._mark

    def history(self, minutes: int) -> list[Candle]:
        """The last ``minutes`` closed candles, from REST."""
        if minutes <= 0:
            return []

        async def ignore(candle: Candle) -> None:
            return None

        symbol = self.instrument.symbol
        feed = BinanceCandleFeed(self._client, symbol, self._urls.ws, ignore)
        return self._io.run(feed.latest(symbol, minutes), timeout=300)

    def start(self, inputs: EngineInputs) -> None:
        """Open the kline and user-data streams on the I/O loop."""
        settings, client, symbol = self._settings, self._client, self.instrument.symbol
        assets = {symbol: (self.instrument.base_asset, self.instrument.quote_asset)}

        async def on_candle(candle: Candle) -> None:
            self._mark = candle.close
            inputs.candle(candle)

        async def resynced(state: ExchangeState) -> None:
            await asyncio.wrap_future(inputs.resync())

        async def reconciled() -> None:
            await asyncio.wrap_future(inputs.resync())

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
                inputs.events(events)
            if unattributed:
                inputs.request_resync()

        feed = BinanceCandleFeed(
            client,
            symbol,
            self._urls.ws,
            on_candle,
            resync=exchange_resync(self._adapter, symbol),
            on_resynced=resynced,
        )
        user: FuturesUserDataStream | SpotUserDataStream
        if self.instrument.is_futures:
            user = FuturesUserDataStream(
                RestListenKeyApi(client),
                self._urls.ws,
                on_user,
                symbol_assets=assets,
                on_reconnected=reconciled,
            )
        else:
            user = SpotUserDataStream(
                self._urls.ws_api,
                settings.api_key,
                HmacSha256Signer(settings.api_secret),
                client.server_time_ms,
                on_user,
                recv_window=settings.recv_window,
                symbol_assets=assets,
                on_reconnected=reconciled,
            )
        self._streams.extend([feed, user])
        self._tasks.extend([self._io.spawn(feed.run()), self._io.spawn(user.run())])

    def stop(self) -> None:
        """Stop the streams (best effort: the loop is stopped right after anyway)."""
        for stream in self._streams:
            with contextlib.suppress(Exception):
                self._io.run(stream.stop(), timeout=10)

    def shutdown(self, budget: float) -> None:
        """From now on every exchange call shares one deadline, ``budget`` seconds away."""
        self.exchange.begin_shutdown(budget)

    def close(self) -> None:
        """Close the HTTP client."""
        self._io.run(self._adapter.aclose(), timeout=10)
