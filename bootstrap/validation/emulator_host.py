"""The emulator inside the validation process, on an event loop of its own thread.

In-process, so the run can read the emulator's books directly at the end and hook its
request pipeline (to SIGKILL the bot in the middle of an order submission) without any
emulator-only wire protocol; on its own thread, so the harness's blocking work (waiting for
processes, sampling memory) never stalls the exchange. The emulator's state is not
thread-safe: everything that touches it runs on the loop thread through :meth:`call`.

The replay is paced here rather than by the emulator's own task, so it starts only once the
bot has connected and reconciled, and every candle's equity is recorded for the report. The
runner steers it: a *gate* (the candle of the next step of the schedule: the replay stops
there until the step is carried out) and a *hold* (while the bot is down or restarting). So
market time never runs away while wall time goes to restarts or to waiting for a fault's
effect, and every step of the schedule lands at its candle, inside the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from adapters.simulated.emulator import EmulatorState, start_emulator
from domain.candles import Candle

T = TypeVar("T")


@dataclass(slots=True)
class ApiTally:
    """REST answers the emulator gave, by HTTP status and Binance error code."""

    requests: int = 0
    errors: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    by_code: dict[int, int] = field(default_factory=dict)
    #: Wall-clock times (s) of -1021 answers: evidence that a clock skew reached the bot.
    timestamp_rejections: list[float] = field(default_factory=list)

    def answered(self, method: str, path: str, status: int, code: int | None) -> None:
        """Count one answer (a response listener of the emulator)."""
        self.requests += 1
        self.by_status[status] = self.by_status.get(status, 0) + 1
        if status >= 400:
            self.errors += 1
            if code is not None:
                self.by_code[code] = self.by_code.get(code, 0) + 1
            if code == -1021:
                self.timestamp_rejections.append(time.time())


class EmulatorHost:
    """Runs ``state`` on a private event loop thread.

    Args:
        state: The emulator state, built with ``speed=0`` (the host paces the replay).
        speed: Candles per wall-clock second once :meth:`start_replay` is called.
    """

    def __init__(self, state: EmulatorState, speed: float) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self.state = state
        self.speed = speed
        self.url = ""
        self.api = ApiTally()
        #: (wall time s, candle close time ms, exchange equity) after every candle.
        self.equity: list[tuple[float, int, Decimal]] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="validation-emulator", daemon=True)
        self._runner: Any = None
        self._replay: asyncio.Task[None] | None = None
        self._replay_done = threading.Event()
        self.replay_started = 0.0
        self.replay_ended = 0.0
        #: The replay feeds no candle past this count (None: to the end); loop thread only.
        self._gate: int | None = None
        self._held = False
        self._wake: asyncio.Event | None = None
        #: Wall time since when the replay has been waiting at the gate or on a hold (0: not).
        self.waiting_since = 0.0
        #: Wall time the current hold began.
        self.held_since = 0.0

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> str:
        """Start the loop thread and the HTTP/WebSocket server; returns the base URL."""
        self._thread.start()
        self.state.response_listeners.append(self.api.answered)
        self.state.candle_listeners.append(self._candle)
        self._runner, self.url = self._submit(start_emulator(self.state)).result(30)
        return self.url

    def start_replay(self) -> None:
        """Begin feeding candles at :attr:`speed` per second until they run out."""

        async def begin() -> None:
            self.replay_started = time.time()
            self._replay = asyncio.get_running_loop().create_task(self._pace())

        self._submit(begin()).result(10)

    def stop(self) -> None:
        """Stop the replay and the server, then the loop thread."""

        async def end() -> None:
            if self._replay is not None:
                self._replay.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._replay
            if self._runner is not None:
                await self._runner.cleanup()

        if self._thread.is_alive():
            with contextlib.suppress(Exception):
                self._submit(end()).result(30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    # ------------------------------------------------------------------ access
    def call(self, fn: Callable[[], T], timeout: float = 30.0) -> T:
        """Run ``fn`` on the loop thread (where the state may be touched); its result."""
        future: Future[T] = Future()

        def run() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)

        self._loop.call_soon_threadsafe(run)
        return future.result(timeout)

    def set_gate(self, candle: int | None) -> None:
        """Replay no further than ``candle`` candles until the gate moves (None: no gate)."""
        self.call(lambda: self._set_gate(candle))

    def hold(self) -> None:
        """Stop the replay after the candle being fed (the bot is down); see :meth:`release`."""
        self.call(self.hold_now)

    def hold_now(self) -> None:
        """:meth:`hold` from the loop thread itself (a request listener)."""
        self._set_held(True)

    def release(self) -> None:
        """End a :meth:`hold`: the replay resumes at its pace (the gate still applies)."""
        self.call(lambda: self._set_held(False))

    @property
    def held(self) -> bool:
        """Whether a :meth:`hold` is in force."""
        return self._held

    def inject(self, fault: str, count: int = 1) -> None:
        """Queue a fault (see ``EmulatorState.inject``)."""
        self.call(lambda: self.state.inject(fault, count))

    def pending_faults(self) -> dict[str, object]:
        """Faults still queued."""
        return self.call(self.state.pending_faults)

    @property
    def candles_fed(self) -> int:
        """Candles replayed so far (a plain int read: safe from any thread)."""
        return self.state.candles_fed

    @property
    def replay_done(self) -> bool:
        """Every candle was replayed."""
        return self._replay_done.is_set()

    def wait_replay(self, timeout: float) -> bool:
        """Wait for the end of the replay; True when it ended."""
        return self._replay_done.wait(timeout)

    # ------------------------------------------------------------------ internals
    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def _submit(self, coro: Any) -> Future[Any]:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def _candle(self, candle: Candle) -> None:
        venues = list(self.state.venues.values())
        equity = sum((v.exchange.equity() for v in venues), Decimal(0))
        self.equity.append((time.time(), candle.close_time, equity))

    def _set_gate(self, candle: int | None) -> None:
        self._gate = candle
        self._wake_pacer()

    def _set_held(self, held: bool) -> None:
        if held and not self._held:
            self.held_since = time.time()
        self._held = held
        self._wake_pacer()

    def _wake_pacer(self) -> None:
        """Loop thread: let a pacing task waiting at the gate or on a hold look again."""
        if self._wake is not None:
            self._wake.set()

    def _room(self) -> int:
        """Candles the replay may feed now (0: waiting at the gate or on a hold)."""
        if self._held:
            return 0
        if self._gate is None:
            return 50
        return max(0, self._gate - self.state.candles_fed)

    async def _pace(self) -> None:
        loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        start = loop.time()
        done = 0  # candles fed since ``start`` (the pace restarts after every wait)
        try:
            while True:
                room = self._room()
                if room == 0:
                    self.waiting_since = self.waiting_since or time.time()
                    self._wake.clear()
                    await self._wake.wait()
                    start, done = loop.time(), 0
                    continue
                self.waiting_since = 0.0
                due = int((loop.time() - start) * self.speed) + 1 - done
                if due > 0:
                    fed = self.state.advance(min(due, room))
                    done += fed
                    if fed == 0:
                        return
                await asyncio.sleep(max(0.0, start + done / self.speed - loop.time()))
        finally:
            self.replay_ended = time.time()
            self._replay_done.set()
