"""Higher-timeframe bars (5m, 15m, 1h) built from the 1m stream, incrementally and in batch.

Rules (the same in both paths):

* **Buckets.** A bar of ``m`` minutes covers the UTC-aligned bucket
  ``[b * m * 60000, (b + 1) * m * 60000)`` of candle open times, i.e. 5m bars start at
  :00, :05, ..., 1h bars on the hour.
* **Closing.** A bar closes when the candle of its last minute arrives (its features update
  on that candle). If that minute is missing (a gap in the stream), the bar closes when the
  first candle of a later bucket arrives, made of the minutes it got: a bar is never
  invented for a bucket with no candle, and never waits for data that will not come.
  When that later candle is itself the last minute of its bucket, two bars close on the same
  candle, in time order.
* **Partial first bar.** The bucket holding the very first candle becomes a bar like any
  other even if the stream starts mid-bucket. It is shorter, but only the first windows of
  its series see it, and the calculator's lookback is longer than those windows, so no
  reported feature depends on it; in exchange the warm-up length does not depend on where
  in the hour the stream starts (it can only be shorter).
* **Fields.** high = max, low = min, close = last close, volume and taker-buy volume = sums
  added in time order (the batch path adds in the same order, so sums agree to the bit).
  Open is not aggregated: no feature uses it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from domain.candles import MINUTE_MS

__all__ = ["AggregatedBars", "Bar", "BarAggregator", "aggregate_bars"]

#: A closed bar: (high, low, close, volume, taker-buy volume).
Bar = tuple[float, float, float, float, float]

_NOTHING: tuple[Bar, ...] = ()


class BarAggregator:
    """Builds the bars of one higher timeframe from 1m candles, in O(1) per candle."""

    __slots__ = (
        "_close",
        "_end",
        "_has_bar",
        "_high",
        "_last",
        "_low",
        "_span",
        "_taker",
        "_volume",
    )

    def __init__(self, minutes: int) -> None:
        """Create an aggregator with no open bar.

        Args:
            minutes: Bar length in minutes (a divisor of a day keeps buckets UTC-aligned).
        """
        if minutes < 1:
            raise ValueError(f"bar length must be at least 1 minute, got {minutes}")
        self._span = minutes * MINUTE_MS
        self._has_bar = False
        self._end = 0
        self._last = 0
        self._high = 0.0
        self._low = 0.0
        self._close = 0.0
        self._volume = 0.0
        self._taker = 0.0

    def add(
        self,
        open_time: int,
        high: float,
        low: float,
        close: float,
        volume: float,
        taker_buy: float,
    ) -> tuple[Bar, ...]:
        """Add a 1m candle (open times strictly increasing); return the bars it closes.

        Returns:
            An empty tuple on most candles; one bar when this candle is its bucket's last
            minute or the first of a later bucket; two bars when it is both.
        """
        if self._has_bar and open_time < self._end:
            if high > self._high:
                self._high = high
            if low < self._low:
                self._low = low
            self._close = close
            self._volume += volume
            self._taker += taker_buy
            if open_time == self._last:
                self._has_bar = False
                return ((self._high, self._low, close, self._volume, self._taker),)
            return _NOTHING
        closed = _NOTHING
        if self._has_bar:
            # The open bar's last minute never came: close it with what it has.
            closed = ((self._high, self._low, self._close, self._volume, self._taker),)
        span = self._span
        end = open_time - open_time % span + span
        self._end = end
        self._last = end - MINUTE_MS
        self._high = high
        self._low = low
        self._close = close
        self._volume = volume
        self._taker = taker_buy
        if open_time == self._last:
            self._has_bar = False
            return (*closed, (high, low, close, volume, taker_buy))
        self._has_bar = True
        return closed


class AggregatedBars(NamedTuple):
    """Closed bars of one timeframe over a candle history (batch form).

    Attributes:
        high: Bar highs, shape (N,).
        low: Bar lows.
        close: Bar closes.
        volume: Bar volumes.
        taker_buy: Bar taker-buy volumes (unknown minutes already imputed).
        close_index: Index of the candle on which each bar closes, non-decreasing (equal
            for two bars closing on one candle). A trailing bar that has not closed by the
            end of the history is left out, as the incremental path has not reported it.
    """

    high: NDArray[np.float64]
    low: NDArray[np.float64]
    close: NDArray[np.float64]
    volume: NDArray[np.float64]
    taker_buy: NDArray[np.float64]
    close_index: NDArray[np.int64]


def aggregate_bars(
    open_time: NDArray[np.int64],
    high: NDArray[np.float64],
    low: NDArray[np.float64],
    close: NDArray[np.float64],
    volume: NDArray[np.float64],
    taker_buy: NDArray[np.float64],
    minutes: int,
) -> AggregatedBars:
    """Batch twin of :class:`BarAggregator` over a whole candle history.

    Args:
        open_time: Candle open times (ms), strictly increasing.
        high: Candle highs.
        low: Candle lows.
        close: Candle closes.
        volume: Candle volumes.
        taker_buy: Candle taker-buy volumes, imputed where unknown.
        minutes: Bar length in minutes.

    Returns:
        The closed bars and the candle index each closes on.
    """
    span = minutes * MINUTE_MS
    count = open_time.shape[0]
    if count == 0:
        empty = np.empty(0)
        return AggregatedBars(empty, empty, empty, empty, empty, np.empty(0, dtype=np.int64))
    bucket = open_time // span
    starts = np.flatnonzero(np.concatenate(([True], bucket[1:] != bucket[:-1])))
    ends = np.concatenate((starts[1:], [count])) - 1
    complete = open_time[ends] % span == span - MINUTE_MS
    close_index = np.where(complete, ends, ends + 1)
    keep = close_index < count
    lengths = ends - starts + 1
    # Sums in time order within each bar, like the incremental `+=` (np.add.reduceat would
    # sum pairwise and differ in the last bits).
    vol = volume[starts].copy()
    taker = taker_buy[starts].copy()
    for offset in range(1, int(lengths.max())):
        more = lengths > offset
        idx = starts[more] + offset
        vol[more] += volume[idx]
        taker[more] += taker_buy[idx]
    return AggregatedBars(
        high=np.maximum.reduceat(high, starts)[keep],
        low=np.minimum.reduceat(low, starts)[keep],
        close=close[ends][keep],
        volume=vol[keep],
        taker_buy=taker[keep],
        close_index=close_index[keep].astype(np.int64),
    )
