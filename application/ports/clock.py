"""Clock port: the only way application code learns the time."""

from __future__ import annotations

from typing import Protocol


class Clock(Protocol):
    """Milliseconds since the Unix epoch, UTC."""

    def now_ms(self) -> int:
        """Current time in ms. A backtest returns the simulated time; live the wall clock."""
        ...
