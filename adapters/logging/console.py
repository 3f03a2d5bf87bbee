"""A readable one-line-per-event console output, with the same levels and redaction as the file.

For an operator watching a live run: ``2024-01-01T00:00:00.000Z INFO    fill price=42000.1
side=BUY``. The JSON-lines file stays the record; this is a view of it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

from adapters.logging.records import Redactor, check_level, iso_time, level_for

#: A string value that needs quoting to stay one token (empty, blanks, quotes, ``=``).
_NEEDS_QUOTES = re.compile(r'^$|[\s"=\\]')


class HumanConsoleSink:
    """An event sink printing ``time LEVEL event key=value ...`` lines to a text stream.

    Args:
        stream: Where lines go (``sys.stderr`` for example); flushed after each line.
        level: Records below this level are dropped.
        secrets: Values that must never be printed (replaced by ``***``).
        levels: Exact event names mapped to a level, overriding the name-based rule.
    """

    def __init__(
        self,
        stream: TextIO,
        level: str = "INFO",
        secrets: Iterable[str] = (),
        levels: Mapping[str, str] | None = None,
    ) -> None:
        self._stream = stream
        self._threshold = check_level(level)
        self._levels = dict(levels or {})
        for name in self._levels.values():
            check_level(name)
        self._redactor = Redactor(secrets)

    def emit(self, event: str, timestamp: int, **fields: Any) -> None:
        """Print one record (unless its level is below the sink's)."""
        level = level_for(event, self._levels)
        if self._threshold > check_level(level):
            return
        self._stream.write(self.format(event, timestamp, level, fields) + "\n")
        flush = getattr(self._stream, "flush", None)
        if flush is not None:
            flush()

    def format(self, event: str, timestamp: int, level: str, fields: Mapping[str, Any]) -> str:
        """One record as a readable line (without the newline), redacted."""
        redact = self._redactor
        parts = [iso_time(timestamp), f"{level:<7}", redact.text(event)]
        for key, value in fields.items():
            parts.append(f"{redact.text(key)}={_token(redact.field(key, value))}")
        line = " ".join(parts)
        if redact.leaks(line):
            line = " ".join([*parts[:3], "(fields withheld: they contained a secret)"])
        return line


def _token(value: Any) -> str:
    """A converted field value as one space-free token (JSON for anything but plain text)."""
    if isinstance(value, str) and not _NEEDS_QUOTES.search(value):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
