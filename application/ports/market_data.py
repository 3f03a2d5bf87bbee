"""Market-data port: closed 1m candles, historical or live."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from domain.candles import Candle


@dataclass(frozen=True, slots=True)
class CandleGap:
    """A hole in a candle series: ``missing`` one-minute candles before ``resumes_at``.

    Gaps are reported, never filled with invented candles.
    """

    source: str
    after_open_time: int
    resumes_at: int

    @property
    def missing(self) -> int:
        """Number of one-minute candles absent from the series."""
        return (self.resumes_at - self.after_open_time) // 60_000 - 1


class HistoricalCandles(Protocol):
    """A finite, ordered series of closed 1m candles (a file, a database, a generator)."""

    @property
    def symbol(self) -> str:
        """Instrument symbol of the series."""
        ...

    @property
    def gaps(self) -> list[CandleGap]:
        """Gaps met so far while iterating (complete once iteration has finished)."""
        ...

    def __iter__(self) -> Iterator[Candle]:
        """Stream the candles in open-time order without loading them all."""
        ...


class LiveCandles(Protocol):
    """Closed 1m candles as they close on the venue (implemented by live adapters).

    Asynchronous: a live venue is reached over the network, from the live shell's loop.
    """

    async def backfill(self, symbol: str, start_open_time: int, end_open_time: int) -> list[Candle]:
        """Closed candles in ``[start, end]`` (used after reconnects to fill what was missed)."""
        ...
