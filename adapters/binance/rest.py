"""Low-level Binance REST client: signing, server-time sync, rate limiting, typed errors.

One client serves one market (spot ``/api/v3`` or USD-M futures ``/fapi``) over one
``httpx.AsyncClient``. It knows nothing about orders; :mod:`adapters.binance.exchange`
builds the port on top of it.

* Parameters are encoded once, signed, and sent as that exact query string (POST/PUT/DELETE
  too; Binance accepts parameters in the query for every method), so the signature always
  covers what Binance receives.
* Timestamps use the server's clock: the offset is measured with ``GET /time`` before the
  first signed request, and a -1021 answer triggers a resync and exactly one retry (a
  -1021 refusal is definite, nothing was executed, so the retry cannot double an order).
* Every request first passes the :class:`RateLimiter`, which also reads the usage headers
  of every answer and honours 429 ``Retry-After`` and 418 bans.
* Failures surface as the typed errors of :mod:`adapters.binance.errors`; transport
  failures (timeouts, dropped connections) are :class:`UnknownOutcome`, because a request
  that left the process may have been executed.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

import httpx

from adapters.binance.errors import TimestampRejected, UnknownOutcome, error_from_response
from adapters.binance.parsers import server_time
from adapters.binance.rate_limits import RateLimiter
from adapters.binance.signing import HmacSha256Signer, Params, Signer, encode_params, signed_query
from domain.enums import MarketType

Market = Literal["spot", "futures"]
Method = Literal["GET", "POST", "PUT", "DELETE"]

SPOT_LIVE_URL = "https://api.binance.com"
FUTURES_LIVE_URL = "https://fapi.binance.com"
SPOT_TESTNET_URL = "https://testnet.binance.vision"

_TIME_PATH = {"spot": "/api/v3/time", "futures": "/fapi/v1/time"}
_BANNED_UNTIL = re.compile(r"banned until (\d{12,})")


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class BinanceRestClient:
    """Signed and public requests to one Binance market.

    Args:
        market: ``"spot"`` or ``"futures"`` (USD-M).
        base_url: e.g. ``https://api.binance.com``, a testnet, or the local emulator.
        api_key: Sent as ``X-MBX-APIKEY`` on signed requests.
        api_secret: HMAC-SHA256 key (ignored when ``signer`` is given).
        recv_window: ms a signed request stays valid after its timestamp (max 60000).
        http: An ``httpx.AsyncClient`` to use (tests pass one with a MockTransport); the
            caller then owns it. By default the client creates and closes its own.
        monotonic: Monotonic seconds, for the rate limiter.
        sleep: Async sleep, for throttling and back-off.
        wall_ms: Local wall clock, Unix ms (the server offset is added to it).
        limiter: Rate limiter; defaults to the market's documented limits.
        timeout: Seconds before a request counts as timed out (Binance's own backend
            timeout is 10 s).
        signer: Request signer; defaults to HMAC-SHA256 over ``api_secret``.
    """

    def __init__(
        self,
        market: Market,
        base_url: str,
        api_key: str,
        api_secret: str,
        recv_window: int = 5000,
        http: httpx.AsyncClient | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        wall_ms: Callable[[], int] = _wall_ms,
        limiter: RateLimiter | None = None,
        timeout: float = 10.0,
        signer: Signer | None = None,
    ) -> None:
        if market not in ("spot", "futures"):
            raise ValueError(f"market must be 'spot' or 'futures', not {market!r}")
        if not 0 < recv_window <= 60_000:
            raise ValueError("recv_window must be in (0, 60000] ms")
        self.market: Market = market
        self.market_type = MarketType.USDM_FUTURES if market == "futures" else MarketType.SPOT
        self.base_url = base_url.rstrip("/")
        self.recv_window = recv_window
        self.monotonic = monotonic
        self.sleep = sleep
        self._wall_ms = wall_ms
        self._api_key = api_key
        self._signer: Signer = signer or HmacSha256Signer(api_secret)
        self._owns_http = http is None
        self._http = http if http is not None else httpx.AsyncClient(timeout=timeout)
        self.limiter = limiter or RateLimiter.for_market(market == "futures", monotonic, sleep)
        self._offset_ms: int | None = None

    def __repr__(self) -> str:
        return f"BinanceRestClient({self.market}, {self.base_url})"

    async def __aenter__(self) -> BinanceRestClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client if this object created it."""
        if self._owns_http:
            await self._http.aclose()

    # ------------------------------------------------------------------ time
    @property
    def time_offset_ms(self) -> int | None:
        """Server minus local clock, ms (None before the first sync)."""
        return self._offset_ms

    def server_time_ms(self) -> int:
        """Our best estimate of Binance's clock now, Unix ms."""
        return self._wall_ms() + (self._offset_ms or 0)

    async def sync_time(self) -> int:
        """Measure the server clock offset with ``GET /time``; returns it in ms.

        The server's answer is compared with the midpoint of the round trip, which halves
        the error a slow network adds.
        """
        before = self._wall_ms()
        payload = await self.public("GET", _TIME_PATH[self.market], weight=1)
        after = self._wall_ms()
        self._offset_ms = server_time(payload) - (before + after) // 2
        return self._offset_ms

    # ------------------------------------------------------------------ requests
    async def public(self, method: Method, path: str, params: Params = (), weight: int = 1) -> Any:
        """An unsigned request (market data, server time, exchangeInfo)."""
        return await self._send(method, path, encode_params(params), False, weight, 0)

    async def keyed(self, method: Method, path: str, params: Params = (), weight: int = 1) -> Any:
        """A USER_STREAM request: the API key header, no signature (listenKey endpoints)."""
        return await self._send(method, path, encode_params(params), True, weight, 0)

    async def signed(
        self,
        method: Method,
        path: str,
        params: Params = (),
        weight: int = 1,
        orders: int = 0,
    ) -> Any:
        """A SIGNED request (TRADE / USER_DATA): timestamp, recvWindow and signature added.

        Args:
            method: HTTP method.
            path: e.g. ``/api/v3/order``.
            params: Parameters in sending order (None values are left out).
            weight: The endpoint's request weight.
            orders: New orders it places (order-count limits).

        Raises:
            BinanceError: A typed error (see :func:`~adapters.binance.errors.error_from_response`).
        """
        items = list(params.items()) if isinstance(params, Mapping) else list(params)
        if self._offset_ms is None:
            await self.sync_time()
        for attempt in range(2):
            query = signed_query(
                [*items, ("recvWindow", self.recv_window), ("timestamp", self.server_time_ms())],
                self._signer,
            )
            try:
                return await self._send(method, path, query, True, weight, orders)
            except TimestampRejected:
                if attempt:
                    raise
                await self.sync_time()
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(
        self, method: Method, path: str, query: str, keyed: bool, weight: int, orders: int
    ) -> Any:
        await self.limiter.acquire(weight, orders)
        url = f"{self.base_url}{path}" + (f"?{query}" if query else "")
        headers = {"X-MBX-APIKEY": self._api_key} if keyed else {}
        try:
            response = await self._http.request(method, url, headers=headers)
        except httpx.TimeoutException as exc:
            raise UnknownOutcome(0, f"{method} {path}: timed out ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise UnknownOutcome(0, f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        status = response.status_code
        body = _decode(response)
        retry_after = self._retry_after(response, body)
        self.limiter.observe(status, response.headers, retry_after)
        if 200 <= status < 300:
            if body is None or isinstance(body, str):
                # Accepted but unreadable: it may have been executed.
                raise UnknownOutcome(0, f"{method} {path}: unreadable {status} answer", status)
            return body
        raise error_from_response(status, body, self.market_type, retry_after)

    def _retry_after(self, response: httpx.Response, body: Any) -> float | None:
        raw = response.headers.get("Retry-After")
        if raw is not None:
            try:
                return max(0.0, float(raw))
            except ValueError:
                pass
        if response.status_code == 418 and isinstance(body, dict):
            # "Way too much request weight used; IP banned until 1700000000000."
            match = _BANNED_UNTIL.search(str(body.get("msg", "")))
            if match:
                return max(0.0, (int(match.group(1)) - self.server_time_ms()) / 1000)
        return None


def _decode(response: httpx.Response) -> Any:
    """JSON body, or the text when it is not JSON (HTML error pages, empty answers)."""
    try:
        return response.json()
    except ValueError:
        return response.text or None
