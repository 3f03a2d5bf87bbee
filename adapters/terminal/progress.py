"""The progress bar of long work (backtests, baselines, evaluation windows), drawn with rich.

A bar needs a measure of the whole. A generated market or an evaluation knows how many
candles or windows it has; a kline file does not (counting its lines would read it twice),
but its size on disk is known, so the bar then follows the bytes read of the (compressed)
input while the text still counts candles. Either way the line shows the share done, the
count, the rate and an ETA (rich's, from the recent rate).

Nothing is drawn on a stream that is not a terminal: logs and pipes stay free of bars.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)

_MB = 1_000_000


class TerminalProgress:
    """``progress(done)`` as work advances; ``close()`` at the end.

    Args:
        total: Expected number of units (candles, windows), or None / 0 when unknown.
        stream: Where to draw (stderr by default); nothing is drawn unless it is a terminal.
        min_interval: Seconds between redraws, so drawing never slows the work.
        unit: What ``done`` counts, for the text ("candles", "window runs").
        label: Text before the bar.
        total_bytes: Size of the input when ``total`` is unknown: the bar follows
            ``bytes_read`` against it instead.
        bytes_read: Bytes of the input consumed so far (read when redrawing only).
        clock: Seconds, monotonic; injectable so tests control rates and the ETA.
    """

    def __init__(
        self,
        total: int | None = None,
        stream: TextIO | None = None,
        min_interval: float = 0.2,
        *,
        unit: str = "candles",
        label: str = "",
        total_bytes: int | None = None,
        bytes_read: Callable[[], int] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._total = total or None
        self._stream = stream or sys.stderr
        self._min_interval = min_interval
        self._unit = unit
        self._clock = clock
        self._bytes_total = total_bytes if (self._total is None and bytes_read) else None
        self._bytes_read = bytes_read if self._bytes_total else None
        self._start = clock()
        self._last_draw = float("-inf")  # the first call always draws
        isatty = getattr(self._stream, "isatty", None)
        self._enabled = bool(isatty and isatty())
        self._started = False
        self._progress = Progress(
            *([TextColumn("{task.description}")] if label else []),
            BarColumn(bar_width=20),
            TaskProgressColumn(),
            TextColumn("{task.fields[count]}"),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(file=self._stream, highlight=False),
            auto_refresh=False,  # no drawing thread: redraws happen in __call__, throttled
            get_time=clock,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        whole = self._total if self._total is not None else self._bytes_total
        self._task = self._progress.add_task(label, total=whole, count="", start=False)

    def __call__(self, done: int) -> None:
        """Report progress; redraws at most every ``min_interval`` seconds (and at the end)."""
        if not self._enabled:
            return
        now = self._clock()
        read = self._bytes_read() if self._bytes_read is not None else None
        finished = done == self._total or (read is not None and read == self._bytes_total)
        if now - self._last_draw < self._min_interval and not finished:
            return
        self._last_draw = now
        if not self._started:
            self._progress.start_task(self._task)
        self._progress.update(
            self._task,
            completed=done if read is None else read,
            count=self._count_text(done, read, now),
        )
        if self._started:
            self._progress.refresh()
        else:  # starting draws the first frame
            self._progress.start()
            self._started = True

    def _count_text(self, done: int, read: int | None, now: float) -> str:
        elapsed = now - self._start
        count = f"{done:,}/{self._total:,}" if self._total is not None else f"{done:,}"
        text = f"{count} {self._unit}"
        if elapsed > 0:
            text += f" {done / elapsed:,.0f}/s"
        if read is not None and self._bytes_total is not None:
            text += f" ({read / _MB:,.1f}/{self._bytes_total / _MB:,.1f} MB)"
        return text

    def close(self) -> None:
        """End the bar so later output starts on a fresh line (nothing if it never drew)."""
        if self._started:
            self._progress.stop()
            self._started = False
