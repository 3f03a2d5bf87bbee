"""Binance market streams over the replay: ``<symbol>@kline_1m`` and futures ``@markPrice``.

Routes (reference sections 1 and 9), all on the emulator's own loopback server:

* spot raw ``/ws/<name>[/<name>...]`` and combined ``/stream?streams=a/b``;
* futures routed ``/market/ws/...`` and ``/market/stream?streams=...``; the legacy futures
  ``/ws`` / ``/stream`` paths are the spot ones (same payload shapes).

Messages follow the captured payloads: combined connections wrap each one as
``{"stream": name, "data": {...}}``. Klines are sent only when the replay advances, as one
closed candle with ``k.x = true`` per candle (the replay never knows a candle before it has
closed, so there are no intermediate updates). Mark price updates are sent on every candle
too: mark = last close (the simulator's convention, as ``/fapi/v1/premiumIndex``), ``r`` =
the funding rate in force and ``T`` = the next funding time.

Only the ``1m`` interval is served (the replay holds 1m candles); an unsupported or
malformed stream name is refused with HTTP 400 before the upgrade, like Binance's
"Invalid request". Subscriptions can also be changed with the ``SUBSCRIBE`` /
``UNSUBSCRIBE`` / ``LIST_SUBSCRIPTIONS`` / ``SET_PROPERTY`` / ``GET_PROPERTY`` control
messages.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal

from aiohttp import web

from adapters.simulated.emulator.state import EmulatorState, Venue
from adapters.simulated.emulator.wire import fmt, plain
from adapters.simulated.emulator.ws_conn import ConnectionSet, StreamConnection
from adapters.simulated.funding import FundingSchedule
from domain.candles import Candle
from domain.enums import MarketType

_NAME_RE = re.compile(r"^([a-z0-9]+)@(kline_1m|markPrice(?:@1s)?)$")
_MONEY = 8

#: Fallback for ``/ws/<name>`` names that are not market streams (legacy futures
#: ``/ws/<listenKey>``); returns None when the name is no listenKey either.
Fallback = Callable[[web.Request, str], Awaitable[web.StreamResponse | None]]


class BadStream(ValueError):
    """A stream name the emulator does not serve."""


@dataclass(frozen=True, slots=True)
class StreamName:
    """A parsed stream name: the symbol (upper case) and ``kline`` or ``markPrice``."""

    name: str
    symbol: str
    kind: str


@dataclass(slots=True)
class _Subscription:
    market: MarketType
    combined: bool
    names: dict[str, StreamName] = field(default_factory=dict)


class MarketStreams:
    """Serves kline / markPrice subscribers from the state's candle hook.

    Args:
        state: The emulated exchange (its ``candle_listeners`` drive the streams).
        conns: Shared registry of open connections (faults, shutdown).
    """

    def __init__(self, state: EmulatorState, conns: ConnectionSet) -> None:
        self._state = state
        self._conns = conns
        self._subs: dict[StreamConnection, _Subscription] = {}
        self._trade_ids = 0  # synthetic first/last trade ids of replayed candles

    # ----------------------------------------------------------------- names
    def parse(self, name: str, market: MarketType) -> StreamName:
        """Validate one stream name for a connection on ``market``.

        Raises:
            BadStream: Malformed, unsupported interval/stream or unknown symbol.
        """
        match = _NAME_RE.match(name)
        if match is None:
            raise BadStream(f"Invalid stream name {name!r}")
        symbol, stream = match.group(1).upper(), match.group(2)
        kind = "markPrice" if stream.startswith("markPrice") else "kline"
        if kind == "markPrice":
            if self._state.venue(MarketType.USDM_FUTURES, symbol) is None:
                raise BadStream(f"Invalid symbol in {name!r}")
        elif self._venue(symbol, market) is None:
            raise BadStream(f"Invalid symbol in {name!r}")
        return StreamName(name, symbol, kind)

    def _venue(self, symbol: str, market: MarketType) -> Venue | None:
        """The venue whose number formatting a kline uses: the route's market first."""
        venue = self._state.venue(market, symbol)
        if venue is None:
            for other in MarketType:
                venue = venue or self._state.venue(other, symbol)
        return venue

    # ------------------------------------------------------------- handlers
    def routes(self, fallback: Fallback | None = None) -> list[web.RouteDef]:
        """The routes of the market streams (``fallback`` serves ``/ws/<listenKey>``)."""
        spot, futures = MarketType.SPOT, MarketType.USDM_FUTURES

        async def raw_spot(request: web.Request) -> web.StreamResponse:
            path = request.match_info["names"]
            if fallback is not None and "@" not in path:
                answer = await fallback(request, path)
                if answer is not None:
                    return answer
            return await self._serve(request, spot, path.split("/"), combined=False)

        async def raw_futures(request: web.Request) -> web.StreamResponse:
            names = request.match_info["names"].split("/")
            return await self._serve(request, futures, names, combined=False)

        def combined(market: MarketType) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
            async def handle(request: web.Request) -> web.StreamResponse:
                raw = request.query.get("streams", "")
                names = [n for n in raw.split("/") if n]
                return await self._serve(request, market, names, combined=True)

            return handle

        return [
            web.get("/ws/{names:.+}", raw_spot),
            web.get("/stream", combined(spot)),
            web.get("/market/ws/{names:.+}", raw_futures),
            web.get("/market/stream", combined(futures)),
        ]

    async def _serve(
        self, request: web.Request, market: MarketType, names: list[str], *, combined: bool
    ) -> web.StreamResponse:
        try:
            parsed = [self.parse(n, market) for n in names]
        except BadStream as exc:
            raise web.HTTPBadRequest(text=str(exc)) from exc
        timings = self._state.stream_timings
        if market.is_futures:
            ping, timeout = timings.futures_ping_ms, timings.futures_pong_timeout_ms
        else:
            ping, timeout = timings.spot_ping_ms, timings.spot_pong_timeout_ms
        conn = await self._conns.accept(request, ping, timeout)
        sub = _Subscription(market, combined, {p.name: p for p in parsed})
        self._subs[conn] = sub
        try:
            await conn.serve(self._on_text)
        finally:
            self._subs.pop(conn, None)
            self._conns.forget(conn)
        return conn.ws

    def _on_text(self, conn: StreamConnection, text: str) -> None:
        """Binance's control messages: ``{"method", "params", "id"}``."""
        sub = self._subs.get(conn)
        if sub is None:
            return
        try:
            request = json.loads(text)
        except ValueError:
            conn.send({"error": {"code": 3, "msg": "Invalid JSON"}, "id": None})
            return
        if not isinstance(request, dict):
            conn.send({"error": {"code": 2, "msg": "Invalid request"}, "id": None})
            return
        rid = request.get("id")
        method = request.get("method")
        params = request.get("params") or []
        if not isinstance(params, list):
            conn.send({"error": {"code": 2, "msg": "Invalid request"}, "id": rid})
            return
        result: object = None
        try:
            if method == "SUBSCRIBE":
                for name in params:
                    parsed = self.parse(str(name), sub.market)
                    sub.names[parsed.name] = parsed
            elif method == "UNSUBSCRIBE":
                for name in params:
                    sub.names.pop(str(name), None)
            elif method == "LIST_SUBSCRIPTIONS":
                result = list(sub.names)
            elif method == "SET_PROPERTY" and len(params) == 2 and params[0] == "combined":
                if not isinstance(params[1], bool):
                    conn.send({"error": {"code": 1, "msg": "Invalid value type"}, "id": rid})
                    return
                sub.combined = params[1]
            elif method == "GET_PROPERTY" and params == ["combined"]:
                result = sub.combined
            else:
                conn.send({"error": {"code": 2, "msg": "Invalid request"}, "id": rid})
                return
        except BadStream as exc:
            conn.send({"error": {"code": 2, "msg": f"Invalid request: {exc}"}, "id": rid})
            return
        conn.send({"result": result, "id": rid})

    # ------------------------------------------------------------- payloads
    def on_candle(self, candle: Candle) -> None:
        """Candle hook: one closed kline (and mark price) per subscribed stream."""
        trades = candle.trades or 0
        first, last = (self._trade_ids + 1, self._trade_ids + trades) if trades else (-1, -1)
        self._trade_ids += trades
        if not self._subs:
            return
        now = self._state.now_ms()
        for conn, sub in list(self._subs.items()):
            for stream in list(sub.names.values()):
                data: dict[str, object] | None
                if stream.kind == "kline":
                    data = self.kline(candle, stream.symbol, now, first, last)
                else:
                    data = self.mark_price(stream.symbol, now)
                if data is None:
                    continue
                conn.send({"stream": stream.name, "data": data} if sub.combined else data)

    @staticmethod
    def kline(candle: Candle, symbol: str, now: int, first: int, last: int) -> dict[str, object]:
        """A closed ``kline`` event (fields as the captured ``kline_stream_closed``)."""
        return {
            "e": "kline",
            "E": now,
            "s": symbol,
            "k": {
                "t": candle.open_time,
                "T": candle.close_time,
                "s": symbol,
                "i": "1m",
                "f": first,
                "L": last,
                "o": plain(candle.open),
                "c": plain(candle.close),
                "h": plain(candle.high),
                "l": plain(candle.low),
                "v": plain(candle.volume),
                "n": candle.trades or 0,
                "x": True,
                "q": plain(candle.quote_volume),
                "V": plain(candle.taker_buy_base),
                "Q": plain(candle.taker_buy_quote),
                "B": "0",
            },
        }

    def mark_price(self, symbol: str, now: int) -> dict[str, object] | None:
        """A ``markPriceUpdate``: mark = index = settle estimate = last close."""
        venue = self._state.venue(MarketType.USDM_FUTURES, symbol)
        if venue is None or not venue.mark_price:
            return None
        mark = fmt(venue.mark_price, _MONEY)
        rate: Decimal = self._state.settings.funding.rate_at(now)
        return {
            "e": "markPriceUpdate",
            "E": now,
            "s": symbol,
            "p": mark,
            "ap": mark,
            "i": mark,
            "P": mark,
            "r": fmt(rate, _MONEY),
            "T": FundingSchedule.next_settlement(now),
        }
