"""A progress bar of windows done, drawn with rich when it is installed (else a plain line)."""

from __future__ import annotations

from typing import Any, TextIO

from adapters.terminal.progress import TerminalProgress


class WindowProgress:
    """``progress(done)`` after each finished window; ``close()`` at the end.

    Args:
        total: Number of window runs.
        stream: Where to draw (a terminal).
        label: Text before the bar.
    """

    def __init__(self, total: int, stream: TextIO, label: str = "windows") -> None:
        self._plain: TerminalProgress | None = None
        self._rich: Any = None
        try:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
        except ImportError:
            self._plain = TerminalProgress(total=total, stream=stream)
            return
        self._rich = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(file=stream),
            transient=False,
        )
        self._task = self._rich.add_task(label, total=total)
        self._rich.start()

    def __call__(self, done: int) -> None:
        """Windows finished so far."""
        if self._rich is not None:
            self._rich.update(self._task, completed=done)
        elif self._plain is not None:
            self._plain(done)

    def close(self) -> None:
        """Finish the bar."""
        if self._rich is not None:
            self._rich.stop()
        elif self._plain is not None:
            self._plain.close()
