"""WebSocket plumbing shared by the emulator's market streams, user-data streams and WS API.

Events are produced synchronously (a REST handler or ``EmulatorState.advance`` calls the
state's listeners), while sending is asynchronous. Each connection therefore owns a FIFO
queue drained by one sender task: listeners only enqueue, so events keep the order in which
the simulator produced them (NEW before TRADE, balances after fills) and a slow client never
blocks the replay.

Connection rules follow reference section 9: the server pings at a fixed interval and
disconnects a client whose pong (echoing the ping payload) has not arrived within the
timeout; client pings are answered with the same payload. Faults act on every open
connection: ``drop`` closes it at once (queued messages are lost, as on a real disconnect),
``stall`` silences it (no messages, no pings, no pongs) until the client replaces it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections.abc import Callable

from aiohttp import WSCloseCode, WSMsgType, web

log = logging.getLogger(__name__)

dumps = functools.partial(json.dumps, separators=(",", ":"))

_FINAL = (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR)
TextHandler = Callable[["StreamConnection", str], None]


class StreamConnection:
    """One accepted WebSocket: an ordered send queue, the ping loop and fault switches.

    Args:
        ws: The prepared aiohttp WebSocket (created with ``autoping=False`` so pongs reach
            the ping bookkeeping here).
        ping_ms: Server ping interval.
        pong_timeout_ms: Disconnect when no matching pong arrived for this long.
    """

    def __init__(self, ws: web.WebSocketResponse, ping_ms: int, pong_timeout_ms: int) -> None:
        self.ws = ws
        self.ping_s = max(ping_ms, 1) / 1000
        self.pong_timeout_s = max(pong_timeout_ms, 1) / 1000
        self.stalled = False
        self.closing = False
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._close_code = WSCloseCode.OK
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._last_pong = loop.time()
        self._ping_payload = b""
        self._ping_seq = 0

    # ------------------------------------------------------------ producers
    def send(self, payload: object) -> None:
        """Queue one JSON message (dropped once the connection is closing or stalled)."""
        if not self.closing and not self.stalled:
            self._queue.put_nowait(dumps(payload))

    def close_after_pending(self, code: int = WSCloseCode.OK) -> None:
        """Close once everything queued so far has been sent (e.g. after listenKeyExpired)."""
        if not self.closing:
            self.closing = True
            self._close_code = WSCloseCode(code)
            self._queue.put_nowait(None)

    def drop(self) -> None:
        """Close now, losing whatever is still queued (the ``ws_drop`` fault)."""
        while not self._queue.empty():
            self._queue.get_nowait()
        self.stalled = False  # a stalled connection must still close
        self.closing = False
        self.close_after_pending(WSCloseCode.GOING_AWAY)

    def stall(self) -> None:
        """Stop sending anything, pings and pongs included (the ``ws_stall`` fault)."""
        self.stalled = True
        while not self._queue.empty():
            self._queue.get_nowait()

    # --------------------------------------------------------------- running
    async def serve(self, on_text: TextHandler | None = None) -> None:
        """Run the connection until either side closes it."""
        sender = asyncio.create_task(self._send_loop())
        pinger = asyncio.create_task(self._ping_loop())
        try:
            while True:
                msg = await self.ws.receive()
                if msg.type is WSMsgType.TEXT:
                    if on_text is not None and not self.closing:
                        on_text(self, msg.data)
                elif msg.type is WSMsgType.PING:
                    if not self.stalled:
                        await self.ws.pong(msg.data)
                elif msg.type is WSMsgType.PONG:
                    # Unsolicited pongs are allowed but do not keep the connection alive.
                    if msg.data == self._ping_payload:
                        self._last_pong = self._loop.time()
                elif msg.type in _FINAL:
                    break
        finally:
            self.closing = True
            for task in (sender, pinger):
                task.cancel()
            for task in (sender, pinger):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if not self.ws.closed:
                with contextlib.suppress(Exception):
                    await self.ws.close(code=self._close_code)

    async def _send_loop(self) -> None:
        while True:
            item = await self._queue.get()
            if item is None:
                await self.ws.close(code=self._close_code)
                return
            if not self.stalled:
                await self.ws.send_str(item)

    async def _ping_loop(self) -> None:
        while not self.ws.closed:
            await asyncio.sleep(self.ping_s)
            if self.stalled or self.closing:
                continue
            if self._loop.time() - self._last_pong > self.pong_timeout_s:
                log.info(
                    "emulator WebSocket: no pong for %.3fs, disconnecting", self.pong_timeout_s
                )
                self.close_after_pending(WSCloseCode.POLICY_VIOLATION)
                return
            self._ping_seq += 1
            self._ping_payload = str(self._ping_seq).encode()
            await self.ws.ping(self._ping_payload)


class ConnectionSet:
    """Every open connection, so faults and shutdown can reach all of them."""

    def __init__(self) -> None:
        self._open: set[StreamConnection] = set()

    def __len__(self) -> int:
        return len(self._open)

    async def accept(
        self, request: web.Request, ping_ms: int, pong_timeout_ms: int
    ) -> StreamConnection:
        """Upgrade ``request`` and register the connection."""
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        conn = StreamConnection(ws, ping_ms, pong_timeout_ms)
        self._open.add(conn)
        return conn

    def forget(self, conn: StreamConnection) -> None:
        """Unregister a finished connection."""
        self._open.discard(conn)

    def drop_all(self) -> None:
        """``ws_drop``: close every open connection now."""
        for conn in list(self._open):
            conn.drop()

    def stall_all(self) -> None:
        """``ws_stall``: silence every existing connection (new ones are unaffected)."""
        for conn in list(self._open):
            conn.stall()

    async def close_all(self) -> None:
        """Server shutdown: close every connection so handlers return promptly."""
        conns = list(self._open)
        for conn in conns:
            conn.closing = True
        await asyncio.gather(
            *(c.ws.close(code=WSCloseCode.GOING_AWAY) for c in conns), return_exceptions=True
        )
