"""Closed 1m candles from Binance: REST backfill plus a gap-free live kline feed.

The decision core must see every closed minute exactly once, in order: a missed candle
shifts indicators and grid triggers, a duplicate double-counts one. WebSocket streams give
neither guarantee (they drop, stall, and what was pushed while disconnected is gone), so
:class:`BinanceCandleFeed` layers the guarantees on top of
:class:`~adapters.binance.streams.StreamConnection`:

* it remembers the open time of the last candle it delivered and drops anything at or
  before it (a reconnect or a backfill overlapping the stream can repeat candles);
* a stream candle that opens more than one minute after the last one reveals a gap: the
  missing minutes are fetched over REST (``/api/v3/klines`` or ``/fapi/v1/klines``) and
  delivered first;
* after every reconnect (the connection's ``on_reconnected`` hook, which runs on the new
  connection before any of its messages is read) the minutes missed while disconnected are
  backfilled the same way, then the injected ``resync`` reads open orders and the account
  and ``on_resynced`` receives them; only then are new stream candles delivered, so the
  live shell reconciles its book before it trades on fresh data;
* silence detection, exponential backoff with full jitter and rotation are the
  connection's (options passed through).

Binance's REST klines include the still-forming current minute; only candles whose minute
has ended on the server clock (``open_time + 60 s <= server time``) are returned.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from adapters.binance.errors import BinanceParseError
from adapters.binance.rest import BinanceRestClient
from adapters.binance.streams import Connect, StreamConnection, websockets_connect
from adapters.binance.ws_parsers import (
    ClosedCandle,
    MarketMessage,
    MarkPrice,
    ServerShutdown,
    parse_market_message,
)
from application.ports.exchange import AccountSnapshot, OrderSnapshot
from domain.candles import MINUTE_MS, Candle

log = logging.getLogger(__name__)

_KLINES_PATH = {"spot": "/api/v3/klines", "futures": "/fapi/v1/klines"}
#: Largest page Binance serves per market.
_PAGE = {"spot": 1000, "futures": 1500}


def _kline_weight(market: str, limit: int) -> int:
    """Request weight of one klines call (spot: 2; futures: by ``limit``)."""
    if market == "spot":
        return 2
    if limit < 100:
        return 1
    if limit < 500:
        return 2
    return 5 if limit <= 1000 else 10


def _dec(row: Sequence[Any], index: int) -> Decimal:
    raw = row[index]
    if isinstance(raw, float | bool) or raw is None:
        raise BinanceParseError(f"kline column {index}={raw!r} is not a decimal string")
    try:
        value = Decimal(str(raw))
    except InvalidOperation as exc:
        raise BinanceParseError(f"kline column {index}={raw!r} is not a number") from exc
    if not value.is_finite():
        raise BinanceParseError(f"kline column {index}={raw!r} is not finite")
    return value


def _int(row: Sequence[Any], index: int) -> int:
    raw = row[index]
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise BinanceParseError(f"kline column {index}={raw!r} is not an integer")
    try:
        return int(raw)
    except ValueError as exc:
        raise BinanceParseError(f"kline column {index}={raw!r} is not an integer") from exc


def parse_kline_row(row: object) -> Candle:
    """One REST kline array (12 columns, numbers as strings) -> a domain Candle.

    Raises:
        BinanceParseError: Not a 12-column array or a column that cannot be represented.
    """
    if not isinstance(row, list | tuple) or len(row) < 11:
        raise BinanceParseError(f"kline row is not a 12-column array: {str(row)[:200]}")
    return Candle(
        open_time=_int(row, 0),
        open=_dec(row, 1),
        high=_dec(row, 2),
        low=_dec(row, 3),
        close=_dec(row, 4),
        volume=_dec(row, 5),
        close_time=_int(row, 6),
        quote_volume=_dec(row, 7),
        trades=_int(row, 8),
        taker_buy_base=_dec(row, 9),
        taker_buy_quote=_dec(row, 10),
    )


# ---------------------------------------------------------------------- resync contract
@dataclass(frozen=True, slots=True)
class ExchangeState:
    """What the exchange says after a reconnect: our open orders and the account.

    ``account`` holds balances and, on futures, the non-flat positions.
    """

    open_orders: list[OrderSnapshot]
    account: AccountSnapshot


class _StateSource(Protocol):
    """The part of :class:`~adapters.binance.exchange.BinanceExchange` a resync reads."""

    async def open_orders(self, symbol: str) -> list[OrderSnapshot]: ...

    async def account(self) -> AccountSnapshot: ...


Resync = Callable[[], Awaitable[ExchangeState]]


def exchange_resync(exchange: _StateSource, symbol: str) -> Resync:
    """A ``resync`` reading ``symbol``'s open orders and the account from ``exchange``."""

    async def resync() -> ExchangeState:
        orders = await exchange.open_orders(symbol)
        account = await exchange.account()
        return ExchangeState(orders, account)

    return resync


@dataclass(slots=True)
class FeedStats:
    """Counters for tests and metrics."""

    streamed: int = 0
    backfilled: int = 0
    dropped: int = 0
    gaps: int = 0
    resyncs: int = 0


# ---------------------------------------------------------------------- the feed
class BinanceCandleFeed:
    """Closed 1m candles of one symbol: REST backfill and a gap-free live feed.

    Args:
        client: REST client of the market (spot or futures); its market picks the
            endpoints and stream routes.
        symbol: e.g. ``BTCUSDT``.
        ws_base_url: Stream host, e.g. ``wss://stream.binance.com:9443`` (spot) or
            ``wss://fstream.binance.com`` (futures; the ``/market`` route is appended).
        on_candle: Async callback per closed candle, strictly increasing open times.
        on_mark_price: Futures only: async callback per ``markPriceUpdate`` (shares the
            kline connection through a combined stream).
        resync: Reads the exchange state after each reconnect (see
            :func:`exchange_resync`); without it no resync is done.
        on_resynced: Receives that state. Contract: it runs after the missed candles
            were delivered and before any new stream candle; the feed awaits it, so the
            live shell reconciles orders, balances and positions there and trading
            resumes only once it returns. If ``resync`` or ``on_resynced`` raises, the
            connection is dropped and the whole reconnect (backfill, resync) retried
            with backoff.
        last_open_time: Open time of the last candle the caller already has (warm-up);
            the first stream candle after it triggers a backfill of the minutes between.
        connect, ping_interval, silence_timeout, backoff_base, backoff_max,
        connect_timeout: Passed to :class:`StreamConnection`.
    """

    def __init__(
        self,
        client: BinanceRestClient,
        symbol: str,
        ws_base_url: str,
        on_candle: Callable[[Candle], Awaitable[None]],
        *,
        on_mark_price: Callable[[MarkPrice], Awaitable[None]] | None = None,
        resync: Resync | None = None,
        on_resynced: Callable[[ExchangeState], Awaitable[None]] | None = None,
        last_open_time: int | None = None,
        connect: Connect = websockets_connect,
        ping_interval: float | None = 30.0,
        silence_timeout: float = 90.0,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        connect_timeout: float = 15.0,
    ) -> None:
        if on_mark_price is not None and client.market != "futures":
            raise ValueError("markPrice streams exist on futures only")
        self._client = client
        self.symbol = symbol.upper()
        self._ws_base = ws_base_url.rstrip("/")
        self._on_candle = on_candle
        self._on_mark_price = on_mark_price
        self._resync = resync
        self._on_resynced = on_resynced
        self._last = last_open_time
        self._stream_options: dict[str, Any] = {
            "connect": connect,
            "ping_interval": ping_interval,
            "silence_timeout": silence_timeout,
            "backoff_base": backoff_base,
            "backoff_max": backoff_max,
            "connect_timeout": connect_timeout,
        }
        self._conn: StreamConnection[MarketMessage] | None = None
        self._stopped = False
        self.stats = FeedStats()

    @property
    def last_open_time(self) -> int | None:
        """Open time of the last delivered candle (None before the first)."""
        return self._last

    @property
    def stream_url(self) -> str:
        """Futures: the ``/market`` route (combined when mark prices are wanted); spot ``/ws``."""
        name = f"{self.symbol.lower()}@kline_1m"
        if self._client.market == "spot":
            return f"{self._ws_base}/ws/{name}"
        if self._on_mark_price is None:
            return f"{self._ws_base}/market/ws/{name}"
        return f"{self._ws_base}/market/stream?streams={name}/{self.symbol.lower()}@markPrice@1s"

    @property
    def connections(self) -> int:
        """WebSocket connections opened so far."""
        return self._conn.connections if self._conn is not None else 0

    # ------------------------------------------------------------------ REST
    async def backfill(self, symbol: str, start_open_time: int, end_open_time: int) -> list[Candle]:
        """Closed 1m candles with open time in ``[start, end]``, ordered and de-duplicated.

        The server clock is read first (``GET /time``, weight 1) because the last REST
        kline is the minute still forming; only minutes that ended are returned.

        Note: async, unlike the synchronous ``LiveCandles`` port (the REST client is async).
        """
        now = await self._server_now()
        return await self._fetch(symbol, start_open_time, end_open_time, now)

    async def latest(self, symbol: str, count: int) -> list[Candle]:
        """The last ``count`` closed 1m candles the exchange has, oldest first.

        Pages backwards from the newest kline (no start time), so it does not depend on
        the local idea of "now" matching the exchange's market time.
        """
        if count <= 0:
            return []
        market = self._client.market
        page = _PAGE[market]
        now = await self._server_now()
        out: list[Candle] = []
        end: int | None = None
        while len(out) < count:
            limit = min(page, count - len(out) + 1)
            params: list[tuple[str, str | int]] = [
                ("symbol", symbol.upper()),
                ("interval", "1m"),
                ("limit", limit),
            ]
            if end is not None:
                params.append(("endTime", end))
            rows = await self._client.public(
                "GET", _KLINES_PATH[market], tuple(params), weight=_kline_weight(market, limit)
            )
            if not isinstance(rows, list):
                raise BinanceParseError(f"klines answer is not a list: {str(rows)[:200]}")
            closed = [c for c in map(parse_kline_row, rows) if c.close_time < now]
            older = [c for c in closed if not out or c.open_time < out[0].open_time]
            if not older:
                break
            out = older + out
            end = older[0].open_time - 1
            if len(rows) < limit:
                break
        return out[-count:]

    async def _server_now(self) -> int:
        await self._client.sync_time()
        return self._client.server_time_ms()

    async def _fetch(self, symbol: str, start: int, end: int, now: int) -> list[Candle]:
        market = self._client.market
        page = _PAGE[market]
        end = min(end, now - MINUTE_MS)  # the last minute that has ended
        out: list[Candle] = []
        cursor = start
        while cursor <= end:
            rows = await self._client.public(
                "GET",
                _KLINES_PATH[market],
                (
                    ("symbol", symbol.upper()),
                    ("interval", "1m"),
                    ("startTime", cursor),
                    ("endTime", end),
                    ("limit", page),
                ),
                weight=_kline_weight(market, page),
            )
            if not isinstance(rows, list):
                raise BinanceParseError(f"klines answer is not a list: {str(rows)[:200]}")
            candles = [parse_kline_row(row) for row in rows]
            for candle in candles:
                if cursor <= candle.open_time <= end and (
                    not out or candle.open_time > out[-1].open_time
                ):
                    out.append(candle)
            if len(rows) < page or not candles:
                break
            cursor = max(cursor, candles[-1].open_time) + MINUTE_MS
        return out

    # ------------------------------------------------------------------ live
    async def run(self) -> None:
        """Stream until :meth:`stop`; reconnects, backfills and resyncs on its own."""
        if self._stopped:
            return
        self._conn = StreamConnection(
            self.stream_url,
            parse_market_message,
            self._on_message,
            on_reconnected=self._on_reconnected,
            **self._stream_options,
        )
        await self._conn.run()

    async def stop(self) -> None:
        """End :meth:`run` (safe before it started and more than once)."""
        self._stopped = True
        if self._conn is not None:
            await self._conn.stop()

    async def _on_message(self, message: MarketMessage) -> None:
        if isinstance(message, ClosedCandle):
            if message.symbol.upper() == self.symbol and message.interval == "1m":
                await self._from_stream(message.candle)
        elif isinstance(message, MarkPrice):
            if self._on_mark_price is not None and message.symbol.upper() == self.symbol:
                await self._on_mark_price(message)
        elif isinstance(message, ServerShutdown) and self._conn is not None:
            await self._conn.reconnect_now()  # leave before the server cuts us

    async def _from_stream(self, candle: Candle) -> None:
        if self._last is not None and candle.open_time <= self._last:
            self.stats.dropped += 1
            return
        if self._last is not None and candle.open_time > self._last + MINUTE_MS:
            self.stats.gaps += 1
            log.info(
                "%s kline gap: %d minute(s) before %d; backfilling",
                self.symbol,
                (candle.open_time - self._last) // MINUTE_MS - 1,
                candle.open_time,
            )
            missed = await self.backfill(
                self.symbol, self._last + MINUTE_MS, candle.open_time - MINUTE_MS
            )
            await self._deliver_backfill(missed)
            if self._last is not None and candle.open_time > self._last + MINUTE_MS:
                # Binance itself has holes (outages); report, never invent candles.
                log.warning("%s: REST has no klines before %d", self.symbol, candle.open_time)
        self.stats.streamed += 1
        await self._deliver(candle)

    async def _on_reconnected(self) -> None:
        """Backfill what was missed while disconnected, then resync; raising retries it."""
        if self._last is not None:
            now = await self._server_now()
            missed = await self._fetch(self.symbol, self._last + MINUTE_MS, now, now)
            await self._deliver_backfill(missed)
        if self._resync is not None:
            state = await self._resync()
            self.stats.resyncs += 1
            if self._on_resynced is not None:
                await self._on_resynced(state)

    async def _deliver_backfill(self, candles: list[Candle]) -> None:
        for candle in candles:
            if self._last is None or candle.open_time > self._last:
                self.stats.backfilled += 1
                await self._deliver(candle)

    async def _deliver(self, candle: Candle) -> None:
        """Hand one candle over; it counts as delivered even if the callback fails.

        Re-delivering after a callback error would break the exactly-once promise, and
        a failing consumer must not stall the feed or abort a reconnect's backfill.
        """
        self._last = candle.open_time
        try:
            await self._on_candle(candle)
        except Exception:
            log.exception("%s: candle handler failed at %d", self.symbol, candle.open_time)
