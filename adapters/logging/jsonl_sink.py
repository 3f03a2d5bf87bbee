"""The event log: one JSON object per line in a size-rotated file inside the data directory.

JSON lines because both people (``grep``, ``jq``) and programs read the log, and a crash
midway leaves at most one torn last line instead of an unparseable document. Each line is
written and flushed before :meth:`JsonLinesSink.emit` returns, so a crashed process loses
nothing it had logged (an OS crash can still lose what the kernel had not written out).
The record's time is the event's own timestamp (exchange or simulated time), never a
clock read, so a backtest's log says when things happened in the market.

Line layout::

    {"time": "2024-01-01T00:00:00.000Z", "level": "INFO", "event": "fill",
     "run_id": "...", "client_order_id": "...", "price": "42000.10", ...}

A field named like one of the four header keys is written as ``field.<name>`` so that it
cannot overwrite them. See :mod:`adapters.logging.records` for levels and redaction.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

from adapters.logging.records import Redactor, check_level, iso_time, level_for

DEFAULT_MAX_BYTES = 10_485_760
DEFAULT_BACKUPS = 5
_HEADER = ("time", "level", "event", "run_id")


class JsonLinesSink:
    """An :class:`~application.ports.event_sink.EventSink` writing JSON lines to a file.

    Args:
        path: The log file; its directory is created if missing.
        run_id: Written on every line, to tell one run's records from the next one's.
        secrets: Values that must never appear in the log (the API key and secret); every
            occurrence in any string is written as ``***``.
        max_bytes: Rotate before a line would take the file past this size.
        backups: Rotated files kept (``path.1`` newest ... ``path.N`` oldest); 0 keeps none,
            the file is truncated instead, so the log stays bounded either way.
        level: Records below this level (``DEBUG``, ``INFO``, ``WARNING``, ``ERROR``) are
            dropped.
        levels: Exact event names mapped to a level, overriding the name-based rule.

    Single writer: one sink per file and process (a lock makes it safe across threads).
    """

    def __init__(
        self,
        path: Path,
        run_id: str,
        secrets: Iterable[str] = (),
        max_bytes: int = DEFAULT_MAX_BYTES,
        backups: int = DEFAULT_BACKUPS,
        level: str = "INFO",
        levels: Mapping[str, str] | None = None,
    ) -> None:
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be >= 1, got {max_bytes}")
        if backups < 0:
            raise ValueError(f"backups must be >= 0, got {backups}")
        self._threshold = check_level(level)
        self._levels = dict(levels or {})
        for name in self._levels.values():
            check_level(name)
        self.path = Path(path)
        self.run_id = run_id
        self._redactor = Redactor(secrets)
        self._max_bytes = max_bytes
        self._backups = backups
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: BinaryIO | None = self.path.open("ab")
        self._size = self.path.stat().st_size

    # EventSink --------------------------------------------------------------------
    def emit(self, event: str, timestamp: int, **fields: Any) -> None:
        """Append one record (unless its level is below the sink's).

        Raises:
            ValueError: The sink is closed.
            OSError: The file cannot be written (disk full, permissions): not hidden.
        """
        level = level_for(event, self._levels)
        if self._threshold > check_level(level):
            return
        data = (self.format(event, timestamp, level, fields) + "\n").encode("utf-8")
        with self._lock:
            if self._file is None:
                raise ValueError(f"{self.path}: event log is closed")
            if self._size and self._size + len(data) > self._max_bytes:
                self._rotate()
            assert self._file is not None
            self._file.write(data)
            self._file.flush()
            self._size += len(data)

    def format(self, event: str, timestamp: int, level: str, fields: Mapping[str, Any]) -> str:
        """One record as a JSON line (without the newline), redacted."""
        redact = self._redactor
        record: dict[str, Any] = {
            "time": iso_time(timestamp),
            "level": level,
            "event": redact.text(event),
            "run_id": redact.text(self.run_id),
        }
        for key, value in fields.items():
            name = f"field.{key}" if key in _HEADER else key
            record[redact.text(name)] = redact.field(key, value)
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        if redact.leaks(line):
            # A secret survived conversion (inside a number, say): keep the fact, not the data.
            line = json.dumps(
                {**{k: record[k] for k in _HEADER}, "withheld": "record contained a secret"},
                ensure_ascii=False,
                separators=(",", ":"),
            )
        return line

    # Lifecycle --------------------------------------------------------------------
    def close(self) -> None:
        """Flush and close the file; further :meth:`emit` calls raise. Idempotent."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._file is None

    def __enter__(self) -> JsonLinesSink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # Rotation ---------------------------------------------------------------------
    def rotated(self, index: int) -> Path:
        """The ``index``-th backup: ``gridbot.log.1`` is the newest."""
        return self.path.with_name(f"{self.path.name}.{index}")

    def _rotate(self) -> None:
        """Shift ``path.i`` to ``path.i+1`` (dropping the oldest) and start a new file."""
        assert self._file is not None
        self._file.close()
        self._file = None
        if self._backups:
            for index in range(self._backups - 1, 0, -1):
                older = self.rotated(index)
                if older.exists():
                    older.replace(self.rotated(index + 1))
            self.path.replace(self.rotated(1))
            self._file = self.path.open("ab")
        else:
            self._file = self.path.open("wb")
        self._size = 0
