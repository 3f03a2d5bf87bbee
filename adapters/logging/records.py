"""What every log sink shares: event levels, timestamps and the redaction of secrets.

Kept apart from the sinks so that the JSON-lines file and the console apply exactly the same
rules: a secret that one of them would hide, the other hides too.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

#: What a redacted value is written as.
MASK = "***"
#: Numeric rank of each level; a sink drops records ranked below its configured level.
LEVELS: dict[str, int] = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40}

#: An event whose name contains one of these is an ERROR.
ERROR_MARKERS = ("error", "fatal", "crash", "exception")
#: An event whose name contains one of these (and no error marker) is a WARNING: the bot
#: carried on, but an operator should know (a rejected order, a risk limit that blocked an
#: order, the kill switch, a reconciliation mismatch or an unknown order, a retried request).
WARNING_MARKERS = (
    "reject",
    "risk.block",
    "warn",
    "kill_switch",
    "mismatch",
    "unknown_order",
    "retry",
    "brake.",
    "leverage_cap",
)
#: High-volume events, DEBUG so that the default INFO log stays readable: market data
#: (``candle``, ``tick``, ``book``), the per-candle ``pnl`` mark (telemetry carries it; the
#: journal keeps an hourly equity curve), keep-alives (``heartbeat``) and anything under
#: ``debug``.
#: Matched on the first dotted segment: ``candle.closed`` and ``tick`` are DEBUG.
DEBUG_SEGMENTS = frozenset({"candle", "pnl", "decision", "tick", "book", "heartbeat", "debug"})

#: Field names whose value is never written, whatever it holds.
SENSITIVE_KEY = re.compile(
    r"secret|api[_-]?key|listen[_-]?key|signature|passw(or)?d|passphrase|token|authorization"
    r"|private[_-]?key",
    re.IGNORECASE,
)
#: How deep nested fields are converted; deeper values (or a structure containing itself)
#: are written with ``str()`` and redacted as text.
MAX_DEPTH = 12

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def check_level(level: str) -> int:
    """The rank of ``level``; raises ``ValueError`` for a name that is not a level."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
    return LEVELS[level]


def level_for(event: str, overrides: Mapping[str, str] | None = None) -> str:
    """The level of an event, from its name (an exact-name entry in ``overrides`` wins)."""
    if overrides and event in overrides:
        return overrides[event]
    name = event.lower()
    if any(marker in name for marker in ERROR_MARKERS):
        return "ERROR"
    if any(marker in name for marker in WARNING_MARKERS):
        return "WARNING"
    if name.split(".", 1)[0] in DEBUG_SEGMENTS:
        return "DEBUG"
    return "INFO"


def iso_time(timestamp_ms: int) -> str:
    """Epoch milliseconds as ISO-8601 UTC with milliseconds: ``2024-01-01T00:00:00.000Z``.

    Integer arithmetic (no float seconds), so the milliseconds are exact. A value that is not
    a representable time is written as it is rather than failing the caller.
    """
    try:
        moment = _EPOCH + timedelta(milliseconds=timestamp_ms)
    except (OverflowError, TypeError, ValueError):
        return str(timestamp_ms)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Redactor:
    """Turns event fields into JSON-ready values with every secret replaced by ``***``.

    Two independent nets: a field whose *name* looks sensitive (:data:`SENSITIVE_KEY`) is
    masked whatever it holds, and every string produced (values, dict keys, ``str()`` of
    objects, exception messages) has each known secret value replaced. :meth:`leaks` is the
    last check on the finished line, for a secret that hid in a number or an escape.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is masked whole. Empty strings
        # are dropped: they would "match" everywhere.
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        escaped = {json.dumps(s, ensure_ascii=False)[1:-1] for s in self._secrets}
        self._needles = sorted(escaped | set(self._secrets), key=len, reverse=True)

    def text(self, value: str) -> str:
        """``value`` with every known secret replaced by ``***``."""
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value

    def leaks(self, line: str) -> bool:
        """Whether a finished line still contains a secret (raw or JSON-escaped)."""
        return any(needle in line for needle in self._needles)

    def field(self, key: str, value: Any, depth: int = 0) -> Any:
        """One field's value: masked when the key is sensitive, else converted."""
        if SENSITIVE_KEY.search(key):
            return MASK
        return self.value(value, depth)

    def value(self, value: Any, depth: int = 0) -> Any:
        """``value`` as a JSON-native structure, redacted.

        Decimals become their exact fixed-point string (``0.00000001``, not ``1E-8``), enums
        their value, dates ISO-8601, mappings and sequences are converted element by element,
        anything else goes through ``str()``.
        """
        if isinstance(value, Enum):
            value = value.value
        if value is None or isinstance(value, bool | int):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else str(value)
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Decimal):
            return self.text(format(value, "f"))
        if isinstance(value, datetime | date):
            return value.isoformat()
        if isinstance(value, BaseException):
            return self.text(f"{type(value).__name__}: {value}")
        if depth >= MAX_DEPTH:
            return self.text(_safe_str(value))
        if isinstance(value, Mapping):
            return {
                self.text(str(key)): self.field(str(key), item, depth + 1)
                for key, item in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.value(item, depth + 1) for item in value]
        if isinstance(value, set | frozenset):
            return sorted((self.value(item, depth + 1) for item in value), key=str)
        return self.text(_safe_str(value))


def _safe_str(value: Any) -> str:
    """``str(value)``, or a placeholder when ``__str__`` fails: logging must not raise."""
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"
