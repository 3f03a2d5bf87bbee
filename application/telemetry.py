"""Telemetry: a numbered, bounded history of the bot's events that clients can follow.

Every event the application reports (candles, decisions, orders, fills, PnL, risk, state
changes) is published here with a sequence number. A client that loses its connection
asks again with the last number it saw and receives what it missed, as long as the
buffer still holds it; when it does not, it is told so (a ``gap`` record) instead of
silently receiving a partial history.

The hub is written to by the engine thread and read by the control plane's event loop, so
it guards its state with a lock and announces new records through listener callbacks
(the gRPC adapter turns a callback into an asyncio wake-up).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from application.ports.control import KINDS, TelemetryRecord, kind_of

__all__ = ["KINDS", "FanOutSink", "TelemetryHub", "TelemetryRecord", "kind_of"]


class TelemetryHub:
    """Keeps the last ``capacity`` events, numbered from 1, for live and resuming readers.

    Args:
        capacity: How many records stay available for a resuming client.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self._records: deque[TelemetryRecord] = deque(maxlen=capacity)
        self._seq = 0
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    @property
    def latest_seq(self) -> int:
        """Number of the newest record (0 before the first)."""
        return self._seq

    def publish(self, event: str, time_ms: int, fields: Mapping[str, Any]) -> TelemetryRecord:
        """Number and keep one event, then wake every listener."""
        with self._lock:
            self._seq += 1
            record = TelemetryRecord(self._seq, time_ms, kind_of(event), event, dict(fields))
            self._records.append(record)
            listeners = list(self._listeners)
        for listener in listeners:
            listener()
        return record

    def since(self, after_seq: int, limit: int = 1000) -> tuple[list[TelemetryRecord], int]:
        """Records numbered above ``after_seq`` (at most ``limit``), oldest first.

        Returns:
            The records and how many requested records are gone from the buffer (0 when
            the history is complete).
        """
        with self._lock:
            if not self._records:
                return [], 0
            first = self._records[0].seq
            missing = max(0, first - after_seq - 1)
            start = max(after_seq + 1, first) - first
            records = [
                self._records[i] for i in range(start, min(len(self._records), start + limit))
            ]
        return records, missing

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` (from the publishing thread) after every new record."""
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[], None]) -> None:
        """Stop calling ``listener`` (no error if it was not registered)."""
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)


class FanOutSink:
    """An event sink that hands every event to several sinks, in order (log, telemetry...)."""

    def __init__(self, *sinks: Any) -> None:
        self._sinks = sinks

    def emit(self, event: str, timestamp: int, **fields: Any) -> None:
        """Pass one event on to every sink."""
        for sink in self._sinks:
            sink.emit(event, timestamp, **fields)
