"""Binance user-data streams: futures listen-key lifecycle and spot WS API subscription.

Futures (reference section 8): a listen key from ``POST /fapi/v1/listenKey`` opens
``<base>/private/ws/<listenKey>``; it must be kept alive with ``PUT`` (< 60 min, every
30 min here). When the key expires Binance sends ``listenKeyExpired`` and then *silence*,
so the stream would look healthy while missing every fill: on that event, or a -1125
answer to the keepalive, a new key is created and the connection replaced.

Spot: listen keys were withdrawn in 2026; the WS API ``userDataStream.subscribe.signature``
request (HMAC over the alphabetically sorted params) subscribes one connection. A
subscription does not survive a reconnect, so it is re-sent on every new connection (the
``on_connected`` hook) before any event is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from adapters.binance.errors import BinanceError
from adapters.binance.rest import BinanceRestClient
from adapters.binance.signing import Signer, encode_params
from adapters.binance.streams import StreamConnection, WebSocketLike
from adapters.binance.ws_parsers import (
    ApiResponse,
    EventStreamTerminated,
    ListenKeyExpired,
    SymbolAssets,
    UserDataMessage,
    decode,
    parse_user_data,
)

log = logging.getLogger(__name__)

LISTEN_KEY_PATH = "/fapi/v1/listenKey"
#: Binance: "This listenKey does not exist."
LISTEN_KEY_UNKNOWN = -1125

OnUserData = Callable[[UserDataMessage], Awaitable[None]]


class ListenKeyApi(Protocol):
    """The three futures listen-key REST calls."""

    async def create(self) -> str:
        """``POST /fapi/v1/listenKey`` -> the key (an existing valid key is returned)."""
        ...

    async def keepalive(self, listen_key: str) -> None:
        """``PUT /fapi/v1/listenKey``: extend validity by 60 min."""
        ...

    async def close(self, listen_key: str) -> None:
        """``DELETE /fapi/v1/listenKey``."""
        ...


class RestListenKeyApi:
    """:class:`ListenKeyApi` over :class:`BinanceRestClient`.

    Listen-key endpoints are USER_STREAM: API key header, no signature.
    """

    def __init__(self, rest: BinanceRestClient) -> None:
        self._rest = rest

    async def _call(self, method: Any, params: dict[str, str] | None = None) -> Any:
        return await self._rest.keyed(method, LISTEN_KEY_PATH, params or {})

    async def create(self) -> str:
        """Create (or fetch the current) listen key."""
        body = await self._call("POST")
        return str(body["listenKey"])

    async def keepalive(self, listen_key: str) -> None:
        """Extend the key's validity."""
        await self._call("PUT", {"listenKey": listen_key})

    async def close(self, listen_key: str) -> None:
        """Invalidate the key."""
        await self._call("DELETE", {"listenKey": listen_key})


class FuturesUserDataStream:
    """Futures user data over ``<base>/private/ws/<listenKey>``, keys renewed as needed.

    Args:
        api: Listen-key REST calls.
        ws_base_url: e.g. ``wss://fstream.binance.com``.
        on_message: Receives every parsed message (control signals included).
        keepalive_interval: Seconds between keepalive PUTs (Binance: < 60 min).
        keepalive_sleep: Sleep for the keepalive loop (tests shorten it).
        symbol_assets: symbol -> (base, quote) for commission valuation.
        **connection: Passed to :class:`StreamConnection` (connect, backoff, timeouts,
            ``on_reconnected``...).
    """

    def __init__(
        self,
        api: ListenKeyApi,
        ws_base_url: str,
        on_message: OnUserData,
        *,
        keepalive_interval: float = 1800.0,
        keepalive_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        symbol_assets: SymbolAssets | None = None,
        **connection: Any,
    ) -> None:
        self._api = api
        self._base = ws_base_url.rstrip("/")
        self._on_message = on_message
        self.keepalive_interval = keepalive_interval
        self._keepalive_sleep = keepalive_sleep
        self._assets = symbol_assets
        self.listen_key: str | None = None
        self._renew_lock = asyncio.Lock()
        self.connection: StreamConnection[UserDataMessage] = StreamConnection(
            self._url, self._parse, self._handle, **connection
        )
        self._keepalive_task: asyncio.Task[None] | None = None

    def _parse(self, raw: str | bytes) -> UserDataMessage:
        return parse_user_data(raw, self._assets)

    async def _url(self) -> str:
        """Key for the next connection: create once, then verify with a keepalive."""
        if self.listen_key is None:
            self.listen_key = await self._api.create()
        else:
            try:
                await self._api.keepalive(self.listen_key)
            except BinanceError as exc:
                if exc.code != LISTEN_KEY_UNKNOWN:
                    raise
                self.listen_key = await self._api.create()
        return f"{self._base}/private/ws/{self.listen_key}"

    async def renew(self) -> None:
        """Drop the dead listen key and reconnect: the next connection creates a new one.

        Creating the key inside the connection loop (not here, in a message handler) means
        a refusal — a rate limit, a ban — is retried with the loop's backoff instead of
        leaving the stream without a key.
        """
        async with self._renew_lock:
            self.listen_key = None
            log.info("futures listen key expired; reconnecting with a new one")
        await self.connection.reconnect_now()

    async def _handle(self, message: UserDataMessage) -> None:
        if isinstance(message, ListenKeyExpired):
            await self.renew()
        await self._on_message(message)

    async def _keepalive_loop(self) -> None:
        while True:
            await self._keepalive_sleep(self.keepalive_interval)
            key = self.listen_key
            if key is None:
                continue
            try:
                await self._api.keepalive(key)
            except BinanceError as exc:
                if exc.code == LISTEN_KEY_UNKNOWN:
                    await self.renew()
                else:
                    log.warning("listen key keepalive failed: %s", exc)

    async def run(self) -> None:
        """Connect and keep the key alive until :meth:`stop`."""
        self._keepalive_task = asyncio.ensure_future(self._keepalive_loop())
        try:
            await self.connection.run()
        finally:
            self._keepalive_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keepalive_task

    async def stop(self) -> None:
        """Stop the connection (the key is left to expire; Binance reuses it on create)."""
        await self.connection.stop()


class SubscribeFailed(BinanceError):
    """The WS API refused ``userDataStream.subscribe.signature``."""


class SpotUserDataStream:
    """Spot user data via the WS API ``userDataStream.subscribe.signature``.

    Args:
        ws_api_url: e.g. ``wss://ws-api.binance.com:443/ws-api/v3``.
        api_key: The API key (sent as a signed parameter).
        signer: Signs the sorted parameter string (HMAC-SHA256).
        now_ms: Server-aligned clock in ms (e.g. ``BinanceRestClient.server_time_ms``).
        on_message: Receives every parsed message.
        recv_window: Optional recvWindow parameter, ms.
        **connection: Passed to :class:`StreamConnection`.
    """

    def __init__(
        self,
        ws_api_url: str,
        api_key: str,
        signer: Signer,
        now_ms: Callable[[], int],
        on_message: OnUserData,
        *,
        recv_window: int | None = None,
        symbol_assets: SymbolAssets | None = None,
        **connection: Any,
    ) -> None:
        self._api_key = api_key
        self._signer = signer
        self._now_ms = now_ms
        self._recv_window = recv_window
        self._assets = symbol_assets
        self._on_message = on_message
        self._ids = itertools.count(1)
        self.subscription_id: int | None = None
        self.connection: StreamConnection[UserDataMessage] = StreamConnection(
            ws_api_url,
            self._parse,
            self._handle,
            on_connected=self._subscribe,
            **connection,
        )

    def _parse(self, raw: str | bytes) -> UserDataMessage:
        return parse_user_data(raw, self._assets)

    def subscribe_request(self) -> dict[str, Any]:
        """The signed subscribe request: params sorted by name, signature over them."""
        params: dict[str, Any] = {"apiKey": self._api_key, "timestamp": self._now_ms()}
        if self._recv_window is not None:
            params["recvWindow"] = self._recv_window
        ordered = sorted(params.items())
        signature = self._signer.sign(encode_params(ordered))
        return {
            "id": f"uds-{next(self._ids)}",
            "method": "userDataStream.subscribe.signature",
            "params": {**dict(ordered), "signature": signature},
        }

    async def _subscribe(self, ws: WebSocketLike) -> None:
        request = self.subscribe_request()
        await ws.send(json.dumps(request))
        while True:
            raw = await ws.recv()
            message = decode(raw)
            if message.get("id") != request["id"]:
                continue  # nothing else is expected before the answer; skip defensively
            if message.get("status") != 200:
                error = message.get("error") or {}
                raise SubscribeFailed(
                    int(error.get("code", 0)), str(error.get("msg", "subscribe refused"))
                )
            result = message.get("result") or {}
            self.subscription_id = int(result.get("subscriptionId", 0))
            return

    async def _handle(self, message: UserDataMessage) -> None:
        if isinstance(message, EventStreamTerminated):
            await self.connection.reconnect_now()  # re-subscribes on the new connection
        if isinstance(message, ApiResponse):
            return
        await self._on_message(message)

    async def run(self) -> None:
        """Connect, subscribe and read until :meth:`stop`."""
        await self.connection.run()

    async def stop(self) -> None:
        """Stop the connection."""
        await self.connection.stop()
