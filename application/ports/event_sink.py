"""Event sink port: where the application reports what happened (logs, telemetry, storage)."""

from __future__ import annotations

from typing import Any, Protocol


class EventSink(Protocol):
    """Receives structured records such as ``order.placed`` or ``fill``.

    Implementations decide whether to print, store, count or stream them; the application
    never formats log lines itself.
    """

    def emit(self, event: str, timestamp: int, **fields: Any) -> None:
        """Record one event with its context fields."""
        ...
