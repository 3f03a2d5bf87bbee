"""Routes our ``logging`` records (reconnects, retries, rate limits) to the event sink.

So one JSON-lines file tells the whole story of a run, stream reconnects included.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

#: Loggers whose records are forwarded (our own packages; libraries stay quiet).
FORWARDED = ("adapters", "application", "bootstrap", "gridbot")


class _EventHandler(logging.Handler):
    def __init__(self, sink: Any, now_ms: Callable[[], int]) -> None:
        super().__init__(logging.INFO)
        self._sink = sink
        self._now_ms = now_ms

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields: dict[str, Any] = {"logger": record.name, "message": record.getMessage()}
            if record.exc_info and record.exc_info[1] is not None:
                fields["exception"] = record.exc_info[1]
            level = record.levelname.lower()
            event = "log.error" if level in ("error", "critical") else f"log.{level}"
            self._sink.emit(event, self._now_ms(), **fields)
        except Exception:
            self.handleError(record)


def forward_python_logging(sink: Any, now_ms: Callable[[], int]) -> Callable[[], None]:
    """Forward INFO and above from our loggers to ``sink``; returns the undo function."""
    handler = _EventHandler(sink, now_ms)
    loggers = [logging.getLogger(name) for name in FORWARDED]
    previous = [(lg, lg.level) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        if lg.level == logging.NOTSET or lg.level > logging.INFO:
            lg.setLevel(logging.INFO)

    def undo() -> None:
        for lg, level in previous:
            lg.removeHandler(handler)
            lg.setLevel(level)

    return undo
