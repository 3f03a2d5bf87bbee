"""The engine's thread: one queue of inputs, handled one at a time, in arrival order.

Candles, user-data events, resyncs and operator commands all become callables on one
queue; the main thread runs them against the :class:`~application.live_engine.LiveEngine`.
A single consumer means a single writer of the journal and no command racing a candle.
Producers on other threads (the replay pacer, the I/O loop, the gRPC servicer) either
post (fire and forget) or submit and wait for the result.

Signals: the first SIGINT / SIGTERM asks the engine to stop (flattening as configured);
a second one aborts at once — every step is already journaled.

Status: the loop publishes the engine's status after every command, on a stop, and after
other inputs at most every :data:`PUBLISH_EVERY` seconds. ``GetStatus`` is asked
of the engine itself, but when the engine is busy (waiting out an exchange ban can take
a minute) or stopping, the last published status answers instead: an operator must see
the bot precisely when the exchange is down.
"""

from __future__ import annotations

import asyncio
import queue
import signal
import time
from collections.abc import Callable
from concurrent.futures import Future
from types import FrameType
from typing import Any, TypeVar

from application.live_engine import LiveEngine
from application.ports.control import (
    BotState,
    CommandResult,
    ControlUnavailable,
    FlattenReport,
    StatusView,
    TelemetryFeed,
)

T = TypeVar("T")
_END = object()
#: Seconds ``GetStatus`` waits for the engine before answering with the published status.
STATUS_WAIT = 0.5
#: Seconds between two status publications after candles and events (a fast replay feeds
#: thousands a second: one status each would slow it for nobody).
PUBLISH_EVERY = 0.2


class Aborted(BaseException):
    """A second SIGINT / SIGTERM: leave at once (state is in the journal)."""


class StopRequested(ControlUnavailable):
    """The bot is stopping; the command was not run."""


class NotReady(ControlUnavailable):
    """The engine is still starting (rebuilding and reconciling): ask again shortly."""


class EngineLoop:
    """Runs inputs against the engine on the thread that calls :meth:`run`."""

    def __init__(self, engine: LiveEngine, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.engine = engine
        self._monotonic = monotonic
        self._published_at = float("-inf")
        self._inputs: queue.Queue[tuple[Any, Future[Any] | None]] = queue.Queue()
        self.signaled = 0
        self.ended = False
        #: True while :meth:`run` consumes inputs (commands are refused before and after).
        self.accepting = False
        #: The engine's status after the last input (None before :meth:`run`).
        self.published: StatusView | None = None

    # ------------------------------------------------------------------ producers
    def post(self, action: Callable[[], object]) -> None:
        """Queue ``action`` (any thread); its exceptions stop the engine."""
        self._inputs.put((action, None))

    def submit(self, action: Callable[[], T]) -> Future[T]:
        """Queue ``action`` (any thread) and get a future for its result."""
        future: Future[T] = Future()
        self._inputs.put((action, future))
        return future

    def end_of_data(self) -> None:
        """The candle source is exhausted (a finite replay)."""
        self._inputs.put((_END, None))

    # ------------------------------------------------------------------ signals
    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        """First signal: stop after the current input; second: abort."""
        self.signaled += 1
        if self.signaled > 1:
            raise Aborted
        self.post(lambda: None)  # wake the loop

    def install_signals(self) -> Callable[[], None]:
        """Handle SIGINT / SIGTERM; returns a function that restores the old handlers."""
        previous = {s: signal.signal(s, self.on_signal) for s in (signal.SIGINT, signal.SIGTERM)}

        def restore() -> None:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

        return restore

    # ------------------------------------------------------------------ the loop
    def run(self) -> None:
        """Handle inputs until a stop is requested or the data ends.

        Raises:
            Exception: Whatever a posted input raised (the caller ends the process; the
                journal holds every completed step).
        """
        engine = self.engine
        self._publish()
        self.accepting = True
        try:
            self._consume(engine)
        finally:
            self.accepting = False

    def _consume(self, engine: LiveEngine) -> None:
        while True:
            if self.signaled and not engine.stop_requested:
                engine.request_stop()
            if engine.stop_requested:
                self._publish()  # STOPPING: what status shows during the final flatten
                return
            try:
                action, future = self._inputs.get(timeout=0.2)
            except queue.Empty:
                continue
            if action is _END:
                self.ended = True
                return
            if future is None:
                action()
            elif future.set_running_or_notify_cancel():
                try:
                    future.set_result(action())
                except Exception as exc:  # the caller (an RPC) reports it
                    future.set_exception(exc)
            if future is not None or self._monotonic() - self._published_at >= PUBLISH_EVERY:
                self._publish()

    def _publish(self) -> None:
        """Publish the engine's status for other threads (a view that owns its data)."""
        self.published = self.engine.status()
        self._published_at = self._monotonic()

    def drain(self) -> None:
        """Refuse every command still queued (the bot is stopping)."""
        while True:
            try:
                _, future = self._inputs.get_nowait()
            except queue.Empty:
                return
            if future is not None and future.set_running_or_notify_cancel():
                future.set_exception(StopRequested("the bot is stopping"))


class EngineGateway:
    """The :class:`~application.ports.control.ControlPlane` of a running engine loop.

    Every command runs on the engine's thread, between two inputs; the RPC awaits it.
    """

    def __init__(self, loop: EngineLoop, hub: TelemetryFeed, config_json: str) -> None:
        self._loop = loop
        self._engine = loop.engine
        self._hub = hub
        self._config_json = config_json

    async def _call(self, action: Callable[[], T]) -> T:
        if not self._loop.accepting:
            if self._engine.stop_requested:
                raise StopRequested("the bot is stopping")
            raise NotReady("the bot is starting: reconciling with the exchange; ask again")
        return await asyncio.wrap_future(self._loop.submit(action))

    async def start(self) -> CommandResult:
        """Begin trading."""
        return await self._call(self._engine.start_trading)

    async def stop(self, flatten: bool | None) -> CommandResult:
        """Graceful stop (asking again while stopping is answered, not refused)."""
        if self._engine.stop_requested:
            return CommandResult(self._engine.state, False, "already stopping")
        return await self._call(lambda: self._engine.request_stop(flatten))

    async def pause(self) -> CommandResult:
        """No new decisions."""
        return await self._call(self._engine.pause)

    async def resume(self, acknowledge_halt: bool = False) -> CommandResult:
        """Lift a pause (and, acknowledged, the drawdown brake's HALTED)."""
        return await self._call(lambda: self._engine.resume(acknowledge_halt))

    async def flatten(self) -> tuple[BotState, FlattenReport]:
        """Cancel and close; the state afterwards."""

        def flatten() -> tuple[BotState, FlattenReport]:
            report = self._engine.flatten()
            return self._engine.state, report

        return await self._call(flatten)

    async def status(self) -> StatusView:
        """Status snapshot: the engine's own, or the last published one while it is busy."""
        published = self._loop.published
        if published is None:
            return await self._call(self._engine.status)
        if not self._loop.accepting:
            return published  # stopping (the final flatten may take minutes)
        try:
            return await asyncio.wait_for(self._call(self._engine.status), STATUS_WAIT)
        except TimeoutError:  # the engine is busy: the request is withdrawn
            return self._loop.published or published

    def config_json(self) -> str:
        """The effective configuration (no secrets)."""
        return self._config_json

    @property
    def telemetry(self) -> TelemetryFeed:
        """The telemetry history."""
        return self._hub
