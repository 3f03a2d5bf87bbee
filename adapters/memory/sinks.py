"""Event sinks that stay in the process: counting (backtests) and recording (tests)."""

from __future__ import annotations

from collections import Counter
from typing import Any


class CountingSink:
    """Counts events by name and keeps nothing else: the backtest default."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def emit(self, event: str, timestamp: int, **fields: Any) -> None:
        """Count one event."""
        self.counts[event] += 1


class RecordingSink:
    """Keeps every event as ``(event, timestamp, fields)``, for tests and short runs."""

    def __init__(self) -> None:
        self.records: list[tuple[str, int, dict[str, Any]]] = []

    def emit(self, event: str, timestamp: int, **fields: Any) -> None:
        """Record one event."""
        self.records.append((event, timestamp, fields))

    def named(self, event: str) -> list[dict[str, Any]]:
        """Fields of every record called ``event``."""
        return [f for e, _, f in self.records if e == event]
