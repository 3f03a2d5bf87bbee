"""A dependency-free progress line for long backtests, drawn only on a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class TerminalProgress:
    """Redraws one line on ``stream`` (stderr by default): a bar when the total is known.

    Args:
        total: Expected number of candles, or None when unknown (a counter is shown).
        stream: Where to draw.
        min_interval: Seconds between redraws, so drawing never slows the backtest.
    """

    def __init__(
        self, total: int | None = None, stream: TextIO | None = None, min_interval: float = 0.2
    ) -> None:
        self._total = total
        self._stream = stream or sys.stderr
        self._min_interval = min_interval
        self._start = time.perf_counter()
        self._last_draw = float("-inf")  # the first call always draws
        self._drawn = False

    def __call__(self, done: int) -> None:
        """Report progress; redraws at most every ``min_interval`` seconds."""
        now = time.perf_counter()
        if now - self._last_draw < self._min_interval and done != self._total:
            return
        self._last_draw = now
        elapsed = max(now - self._start, 1e-9)
        rate = done / elapsed
        if self._total:
            share = min(done / self._total, 1.0)
            filled = int(share * 30)
            bar = "#" * filled + "." * (30 - filled)
            text = f"\r[{bar}] {share:6.1%} {done:,}/{self._total:,} candles {rate:,.0f}/s"
        else:
            text = f"\r{done:,} candles {rate:,.0f}/s"
        self._stream.write(text)
        self._stream.flush()
        self._drawn = True

    def close(self) -> None:
        """End the progress line so later output starts on a fresh line."""
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()
