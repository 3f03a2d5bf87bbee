"""The venue-facing side of the engine loop: what a venue delivers becomes one queued input."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

from adapters.live_runtime.engine_loop import EngineLoop
from domain.candles import Candle
from domain.events import ExecutionEvent


class QueuedInputs:
    """:class:`~application.ports.venue.EngineInputs` over an :class:`EngineLoop`.

    Args:
        loop: The engine's loop (its engine handles events and resyncs).
        on_candle: What a closed candle does on the engine's thread (the engine's candle
            input, plus whatever the composition adds, e.g. an equity point).
    """

    def __init__(self, loop: EngineLoop, on_candle: Callable[[Candle], None]) -> None:
        self._loop = loop
        self._on_candle = on_candle

    def candle(self, candle: Candle, handled: Callable[[], None] | None = None) -> None:
        """See :meth:`EngineInputs.candle`."""

        def deliver() -> None:
            try:
                self._on_candle(candle)
            finally:
                if handled is not None:
                    handled()

        self._loop.post(deliver)

    def events(self, events: Sequence[ExecutionEvent]) -> None:
        """See :meth:`EngineInputs.events`."""
        engine = self._loop.engine
        self._loop.post(lambda: engine.on_events(events))

    def request_resync(self) -> None:
        """See :meth:`EngineInputs.request_resync`."""
        self._loop.post(self._loop.engine.resync)

    def resync(self) -> Future[Any]:
        """See :meth:`EngineInputs.resync`."""
        return self._loop.submit(self._loop.engine.resync)

    def end_of_data(self) -> None:
        """See :meth:`EngineInputs.end_of_data`."""
        self._loop.end_of_data()

    def fail(self, error: Exception) -> None:
        """See :meth:`EngineInputs.fail`."""
        self._loop.post(functools.partial(_raise, error))


def _raise(error: Exception) -> None:
    raise error
