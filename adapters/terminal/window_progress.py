"""The progress bar of an evaluation's window runs: the terminal bar counting windows."""

from __future__ import annotations

from typing import TextIO

from adapters.terminal.progress import TerminalProgress


class WindowProgress(TerminalProgress):
    """``progress(done)`` after each finished window; ``close()`` at the end.

    Args:
        total: Number of window runs.
        stream: Where to draw (a terminal).
        label: Text before the bar, and what is counted.
    """

    def __init__(self, total: int, stream: TextIO, label: str = "windows") -> None:
        # Windows finish seconds apart: every one is worth a redraw.
        super().__init__(total, stream, min_interval=0, unit=label, label="evaluate")
