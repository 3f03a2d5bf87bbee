"""Replayed candles delivered to the engine at a chosen multiple of real time."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from application.ports.venue import EngineInputs, ReplayFailed
from domain.candles import Candle


class ReplayPacer:
    """Feeds replayed candles to the engine's inputs at ``speed`` × real time.

    At most two candles wait in the queue, so operator commands are never stuck behind a
    long backlog and a fast replay cannot run ahead of the engine.
    """

    def __init__(
        self, candles: Iterable[Candle], speed: float, max_candles: int, inputs: EngineInputs
    ) -> None:
        self._candles = candles
        self._interval = 60.0 / speed if speed > 0 else 0.0
        self._max = max_candles
        self._inputs = inputs
        self._slots = threading.Semaphore(2)
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Begin pacing on a daemon thread."""
        self._thread = threading.Thread(target=self._run, name="gridbot-replay", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop pacing (a candle already queued is still handled)."""
        self._stopped.set()
        self._slots.release()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        next_at = time.monotonic()
        try:
            for sent, candle in enumerate(self._candles):
                self._slots.acquire()
                if self._stopped.is_set() or (self._max and sent >= self._max):
                    break
                self._inputs.candle(candle, self._slots.release)
                if self._interval:
                    next_at += self._interval
                    if self._stopped.wait(max(0.0, next_at - time.monotonic())):
                        break
        except Exception as exc:  # the source failed mid-stream: the engine must know
            self._inputs.fail(ReplayFailed(exc))
            return
        if not self._stopped.is_set():
            self._inputs.end_of_data()
