"""One self-healing Binance WebSocket connection: read loop, liveness, reconnect, rotation.

Binance drops stream connections routinely (24 h lifetime, maintenance, network blips) and
a half-open TCP connection can look alive for minutes while no data arrives. A trading bot
that trusts a silent socket trades on stale data, so :class:`StreamConnection`:

* answers server pings: the ``websockets`` library replies to every ping frame with a pong
  echoing its payload automatically, as Binance requires (spot pings every 20 s, futures
  every 3 min); nothing here has to do it;
* sends its own pings every ``ping_interval`` and counts a pong as a sign of life, so a quiet
  but healthy stream (a user-data stream with no orders for hours) is not mistaken for a
  dead one; the library's own keepalive is disabled so there is a single liveness rule;
* declares the connection dead after ``silence_timeout`` seconds without any message or
  pong, closes it and reconnects;
* reconnects with exponential backoff and full jitter (``uniform(0, min(cap, base x 2^n))``)
  so a fleet of bots does not reconnect in lock-step after an outage; the counter resets
  once a connection delivers a message;
* calls ``on_reconnected`` after every reconnect, before any message of the new connection
  is delivered: the live shell backfills klines over REST and resyncs orders and balances
  there, because whatever happened while disconnected was never pushed;
* rotates proactively after ``max_lifetime`` (below Binance's 24 h) instead of being cut
  mid-message at an unknown moment.

Parsing errors never end the loop: a :class:`~adapters.binance.ws_parsers.StreamMessageError`
is logged with the URL and the frame's start, and reading carries on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random as _random
from collections.abc import Awaitable, Callable
from typing import Any, Generic, Protocol, TypeVar

from adapters.binance.ws_parsers import StreamMessageError

log = logging.getLogger(__name__)

T = TypeVar("T")


class WebSocketLike(Protocol):
    """The part of ``websockets.asyncio.client.ClientConnection`` this module uses."""

    async def recv(self) -> str | bytes:
        """Next message; raises ``ConnectionClosed`` when the connection ends."""
        ...

    async def send(self, message: str) -> None:
        """Send one text frame."""
        ...

    async def ping(self) -> Awaitable[float]:
        """Send a ping; the returned awaitable completes when the pong arrives."""
        ...

    async def close(self) -> None:
        """Close the connection (idempotent)."""
        ...


Connect = Callable[[str], Awaitable[WebSocketLike]]
UrlSource = str | Callable[[], Awaitable[str]]


async def websockets_connect(url: str) -> WebSocketLike:
    """Open ``url`` with the ``websockets`` library, its own keepalive pings disabled.

    Server pings are still answered automatically by the library.
    """
    from websockets.asyncio.client import connect

    ws: Any = await connect(url, ping_interval=None, ping_timeout=None, max_size=2**22)
    return ws  # type: ignore[no-any-return]


class StreamSilent(Exception):
    """Nothing (not even a pong) arrived within the silence timeout."""


class StreamConnection(Generic[T]):
    """Keeps one WebSocket URL connected and delivers its parsed messages.

    Args:
        url: The URL, or an async callable returning it before each (re)connect (the
            futures user-data stream's URL changes with the listen key).
        parse: Frame -> message; raise :class:`StreamMessageError` to have a frame logged
            and skipped.
        on_message: Async callback for each parsed message.
        on_connected: Async hook run on every new connection before reading (the spot user
            data stream subscribes there); an exception counts as a failed connect.
        on_reconnected: Async hook after each reconnect (not the first connect).
        connect: Opens a connection; defaults to ``websockets``.
        ping_interval: Seconds between our pings (None: no pings).
        silence_timeout: Seconds without message or pong before the connection is dead.
        max_lifetime: Seconds after which the connection is replaced proactively.
        backoff_base: First backoff cap, seconds.
        backoff_max: Largest backoff cap, seconds.
        random: Uniform [0, 1) source for the jitter (tests fix it).
        sleep: Async sleep used for backoff (tests record the delays).
        connect_timeout: Seconds allowed for the connect call and ``on_connected``.
    """

    def __init__(
        self,
        url: UrlSource,
        parse: Callable[[str | bytes], T],
        on_message: Callable[[T], Awaitable[None]],
        *,
        on_connected: Callable[[WebSocketLike], Awaitable[None]] | None = None,
        on_reconnected: Callable[[], Awaitable[None]] | None = None,
        connect: Connect = websockets_connect,
        ping_interval: float | None = 30.0,
        silence_timeout: float = 90.0,
        max_lifetime: float = 23.5 * 3600,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        random: Callable[[], float] = _random.random,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        connect_timeout: float = 15.0,
    ) -> None:
        if silence_timeout <= 0 or max_lifetime <= 0:
            raise ValueError("silence_timeout and max_lifetime must be positive")
        self._url = url
        self._parse = parse
        self._on_message = on_message
        self._on_connected = on_connected
        self._on_reconnected = on_reconnected
        self._connect = connect
        self.ping_interval = ping_interval
        self.silence_timeout = silence_timeout
        self.max_lifetime = max_lifetime
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._random = random
        self._sleep = sleep
        self.connect_timeout = connect_timeout
        self._ws: WebSocketLike | None = None
        self._stop = asyncio.Event()
        self._rotate = False
        self._last_alive = 0.0
        self._delivered = False
        self._task: asyncio.Task[None] | None = None
        #: Connections opened so far (tests and metrics).
        self.connections = 0
        #: Current URL (after the last resolution).
        self.current_url = ""

    # ------------------------------------------------------------------ control
    def start(self) -> asyncio.Task[None]:
        """Run :meth:`run` in a task and return it."""
        self._task = asyncio.ensure_future(self.run())
        return self._task

    async def stop(self) -> None:
        """Close the connection and end :meth:`run`; safe to call more than once."""
        self._stop.set()
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()
        if self._task is not None and self._task is not asyncio.current_task():
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def reconnect_now(self) -> None:
        """Replace the connection at once, without backoff (new listen key, rotation).

        Safe to call from ``on_message``: the current frame finishes, then the loop
        reconnects and runs ``on_reconnected``.
        """
        self._rotate = True
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()

    def backoff_delay(self, attempt: int) -> float:
        """Full-jitter delay for the ``attempt``-th consecutive failure (0-based)."""
        cap = min(self.backoff_max, self.backoff_base * (2.0**attempt))
        return cap * self._random()

    # ------------------------------------------------------------------ loop
    async def run(self) -> None:
        """Connect, read, and reconnect until :meth:`stop`."""
        failures = 0
        connected_before = False
        while not self._stop.is_set():
            self._rotate = False
            self._delivered = False
            try:
                url = self._url if isinstance(self._url, str) else await self._url()
                self.current_url = url
                ws = await asyncio.wait_for(self._connect(url), self.connect_timeout)
                self._ws = ws
                self.connections += 1
                if self._stop.is_set():
                    break
                if self._on_connected is not None:
                    await asyncio.wait_for(self._on_connected(ws), self.connect_timeout)
                if connected_before:
                    log.info("stream %s reconnected (connection %d)", url, self.connections)
                    if self._on_reconnected is not None:
                        await self._on_reconnected()
                connected_before = True
                await self._session(ws)
            except asyncio.CancelledError:
                raise
            except StreamSilent:
                log.warning(
                    "stream %s silent for %.1fs; reconnecting",
                    self.current_url,
                    self.silence_timeout,
                )
            except Exception as exc:
                if not self._stop.is_set() and not self._rotate:
                    log.warning(
                        "stream %s failed: %s: %s", self.current_url, type(exc).__name__, exc
                    )
            finally:
                await self._close_current()
            if self._stop.is_set():
                break
            if self._rotate:
                failures = 0
                continue
            failures = 0 if self._delivered else failures + 1
            delay = self.backoff_delay(max(failures - 1, 0))
            await self._wait_or_stop(self._sleep(delay))

    async def _close_current(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()

    async def _wait_or_stop(self, awaitable: Awaitable[None]) -> None:
        """Await ``awaitable`` unless :meth:`stop` is called first."""
        sleeper = asyncio.ensure_future(awaitable)
        stopper = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, stopper):
                task.cancel()

    async def _session(self, ws: WebSocketLike) -> None:
        """Read ``ws`` until it closes (raises), falls silent (raises) or must rotate."""
        loop = asyncio.get_running_loop()
        opened = loop.time()
        self._last_alive = opened
        pinger = asyncio.ensure_future(self._ping_loop(ws)) if self.ping_interval else None
        try:
            while not self._stop.is_set() and not self._rotate:
                now = loop.time()
                retire_at = opened + self.max_lifetime
                silent_at = self._last_alive + self.silence_timeout
                if now >= retire_at:
                    log.info("stream %s reached its max lifetime; rotating", self.current_url)
                    self._rotate = True
                    break
                if now >= silent_at:
                    raise StreamSilent
                try:
                    raw = await asyncio.wait_for(ws.recv(), min(retire_at, silent_at) - now)
                except TimeoutError:
                    continue
                self._last_alive = loop.time()
                if await self._deliver(raw):
                    self._delivered = True  # a working connection: backoff starts over
        finally:
            if pinger is not None:
                pinger.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await pinger

    async def _deliver(self, raw: str | bytes) -> bool:
        try:
            message = self._parse(raw)
        except StreamMessageError as exc:
            log.warning("stream %s: skipped message: %s", self.current_url, exc)
            return False
        try:
            await self._on_message(message)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("stream %s: message handler failed", self.current_url)
        return True

    async def _ping_loop(self, ws: WebSocketLike) -> None:
        """Ping periodically; each pong proves the connection alive."""
        assert self.ping_interval is not None
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.ping_interval)
            waiter = await ws.ping()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter, self.silence_timeout)
                self._last_alive = loop.time()
