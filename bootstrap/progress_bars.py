"""Progress bars of work over candles (backtests, research): what measures a source's whole.

A generated market or an evaluation window knows its candle count (``minutes``); a kline
reader knows only the size of its files (``size_bytes``) and how much of them it has read
(``bytes_read``), so its bar follows the bytes while the text counts candles.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from adapters.terminal.progress import TerminalProgress


class CandleProgressBars:
    """Makes one bar per run on ``stream`` (none when disabled or not a terminal).

    Args:
        stream: Where to draw.
        enabled: False for ``--no-progress``.
    """

    def __init__(self, stream: TextIO, enabled: bool = True) -> None:
        self._stream = stream
        self._enabled = enabled and stream.isatty()
        self._bars: list[TerminalProgress] = []

    def __call__(self, source: object) -> Callable[[int], None] | None:
        """The progress callback for a run over ``source`` (a candle source), or None."""
        if not self._enabled:
            return None
        size = getattr(source, "size_bytes", None)
        reader = getattr(type(source), "bytes_read", None)
        bar = TerminalProgress(
            total=getattr(source, "minutes", None),
            stream=self._stream,
            total_bytes=size,
            bytes_read=(lambda: int(getattr(source, "bytes_read", 0))) if reader else None,
        )
        self._bars.append(bar)
        return bar

    def close(self) -> None:
        """End every bar drawn so far (safe to call more than once)."""
        while self._bars:
            self._bars.pop().close()
