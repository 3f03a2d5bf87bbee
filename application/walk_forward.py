"""Walk-forward windows over gapped candle series, and the honest choice of a parameter set.

A series is cut into its continuous segments (a gap is never bridged: the strategy would
trade across minutes nobody saw). Each segment is cut into consecutive windows of equal
length. Window 0 of a segment is training only (it warms the signal up and gives the sweep
its first past result); every later window is traded once with everything before it in the
segment as its past, and never sees its own future. A partial window at a segment's end is
not traded (its figures would not be comparable), and is counted as untested.

The sweep's choice for a test window uses only the results of windows of the same series
that ended at or before that window's start; the reported figure is the chosen parameter
set's result on the test window itself. Pure functions, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

MINUTE_MS = 60_000


@dataclass(frozen=True, slots=True)
class Segment:
    """A continuous run of 1m candles: ``first`` and ``last`` open times, inclusive."""

    first: int
    last: int

    @property
    def minutes(self) -> int:
        """Number of candles in the segment."""
        return (self.last - self.first) // MINUTE_MS + 1


@dataclass(frozen=True, slots=True)
class Window:
    """One walk-forward step inside a segment.

    Attributes:
        segment: Index of the segment in its series.
        index: Position of the window in its segment (0 is training only).
        past_start: First open time the window may learn from (the segment's start).
        start: First traded open time (inclusive).
        end: First open time after the window (exclusive).
    """

    segment: int
    index: int
    past_start: int
    start: int
    end: int

    @property
    def is_test(self) -> bool:
        """Whether the window is traded out of sample (window 0 has no past)."""
        return self.index > 0

    @property
    def minutes(self) -> int:
        """Candles in the traded part."""
        return (self.end - self.start) // MINUTE_MS


def segments(first: int, last: int, gaps: Iterable[tuple[int, int]]) -> list[Segment]:
    """The continuous segments of a series from its first and last open time and its gaps.

    Args:
        first: Open time of the series' first candle.
        last: Open time of its last candle.
        gaps: ``(after_open_time, resumes_at)`` of every hole, as the kline reader reports.

    Raises:
        ValueError: A gap lies outside the series or gaps overlap / are out of order.
    """
    result: list[Segment] = []
    start = first
    for after, resumes in sorted(gaps):
        if not (start <= after < resumes <= last):
            raise ValueError(f"gap {after}->{resumes} outside the series or overlapping")
        result.append(Segment(start, after))
        start = resumes
    result.append(Segment(start, last))
    return result


def windows(segment_list: Sequence[Segment], window_minutes: int) -> list[Window]:
    """Consecutive full windows of ``window_minutes`` in every segment (none crosses a gap).

    Raises:
        ValueError: ``window_minutes`` is not positive.
    """
    if window_minutes <= 0:
        raise ValueError("window length must be positive")
    span = window_minutes * MINUTE_MS
    result: list[Window] = []
    for number, seg in enumerate(segment_list):
        end_exclusive = seg.last + MINUTE_MS
        for index in range(seg.minutes // window_minutes):
            start = seg.first + index * span
            result.append(Window(number, index, seg.first, start, start + span))
        assert not result or result[-1].end <= end_exclusive
    return result


def untested_minutes(segment_list: Sequence[Segment], window_minutes: int) -> int:
    """Candles no test window trades: each segment's first window and its partial tail."""
    total = 0
    for seg in segment_list:
        full = seg.minutes // window_minutes
        total += seg.minutes - max(full - 1, 0) * window_minutes
    return total


def compounded(returns: Iterable[float]) -> float:
    """Total return of consecutive periods: ``prod(1 + r) - 1``."""
    growth = 1.0
    for r in returns:
        growth *= 1.0 + r
    return growth - 1.0


@dataclass(frozen=True, slots=True)
class Choice:
    """The sweep's pick for one test window.

    Attributes:
        window: The test window (its ``start``).
        chosen: Name of the chosen parameter set.
        training_windows: How many past windows the choice was made on.
        training_score: The chosen set's compounded return over them.
    """

    window: int
    chosen: str
    training_windows: int
    training_score: float


def choose(
    results: Mapping[str, Mapping[int, tuple[int, float]]],
    test_start: int,
    order: Sequence[str],
) -> Choice:
    """Pick the parameter set with the best compounded return over windows that ended in the past.

    Args:
        results: ``{variant: {window_start: (window_end, return)}}`` for one series. Windows
            that end after ``test_start`` (the test window itself and later ones) are ignored,
            so the choice cannot see the data it will be judged on.
        test_start: Start of the test window.
        order: Variant names in sweep order; ties go to the earlier one, and with no past
            at all the first one is chosen.
    """
    best_name = order[0]
    best_score = -math.inf
    best_count = 0
    for name in order:
        past = [r for start, (end, r) in sorted(results.get(name, {}).items()) if end <= test_start]
        if not past:
            continue
        score = compounded(past)
        if score > best_score:
            best_name, best_score, best_count = name, score, len(past)
    if best_score == -math.inf:
        return Choice(test_start, best_name, 0, math.nan)
    return Choice(test_start, best_name, best_count, best_score)
