"""Higher-timeframe bars from the 1m stream: alignment, closing rules, gaps, batch twin."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.candles import MINUTE_MS
from domain.features.timeframes import Bar, BarAggregator, aggregate_bars
from tests.unit.test_features_support import T0

M = MINUTE_MS


def candle(minute: int, close: float = 100.0, volume: float = 1.0) -> tuple:
    """(open_time, high, low, close, volume, taker) for the minute ``minute`` after T0."""
    return (T0 + minute * M, close + 1.0, close - 1.0, close, volume, volume / 2)


def feed(minutes_per_bar: int, stream: list[tuple]) -> list[tuple[int, Bar]]:
    """(index of the closing candle, bar) for every bar the aggregator closes."""
    agg = BarAggregator(minutes_per_bar)
    out = []
    for i, c in enumerate(stream):
        for bar in agg.add(*c):
            out.append((i, bar))
    return out


def test_five_minute_bars_close_on_their_last_minute_with_aggregated_fields() -> None:
    stream = [candle(m, close=100.0 + m, volume=float(m + 1)) for m in range(12)]
    closed = feed(5, stream)
    assert [i for i, _ in closed] == [4, 9]  # minutes :04 and :09; :10-:11 still open
    high, low, close, volume, taker = closed[0][1]
    assert (high, low, close) == (105.0, 99.0, 104.0)
    assert volume == 1 + 2 + 3 + 4 + 5 and taker == volume / 2


def test_bars_are_aligned_on_utc_boundaries_and_the_first_may_be_partial() -> None:
    # Stream starts at :03; the 5m bucket [:00, :05) gets two candles and closes at :04.
    stream = [candle(m) for m in range(3, 15)]
    closed = feed(5, stream)
    assert [stream[i][0] for i, _ in closed] == [T0 + 4 * M, T0 + 9 * M, T0 + 14 * M]
    assert closed[0][1][3] == 2.0  # two minutes of volume
    hourly = feed(60, [candle(m) for m in range(50, 130)])
    assert [i for i, _ in hourly] == [9, 69]  # :59 of the first and second hour


def test_bar_missing_its_last_minute_closes_on_the_next_buckets_first_candle() -> None:
    minutes = [0, 1, 2, 3, 6, 7, 8, 9]  # :04 and :05 missing
    stream = [candle(m, volume=1.0) for m in minutes]
    closed = feed(5, stream)
    # Bar [:00, :05) closes when :06 arrives (index 4), built from its four minutes only.
    assert closed[0][0] == 4 and closed[0][1][3] == 4.0
    assert closed[1][0] == 7 and closed[1][1][3] == 4.0  # [:05, :10) without :05


def test_bucket_without_candles_produces_no_bar() -> None:
    stream = [candle(m) for m in [0, 1, 2, 3, 4, 17, 18, 19]]  # [:05, :15) entirely missing
    closed = feed(5, stream)
    assert [i for i, _ in closed] == [4, 7]


def test_two_bars_can_close_on_one_candle() -> None:
    # [:00, :05) lacks :04; the next candle is :09, the last minute of [:05, :10).
    stream = [candle(m, close=100.0 + m) for m in [0, 1, 2, 9]]
    closed = feed(5, stream)
    assert [i for i, _ in closed] == [3, 3]
    assert closed[0][1][2] == 102.0 and closed[1][1][2] == 109.0  # in time order


def test_one_minute_bars_close_on_every_candle() -> None:
    stream = [candle(m, close=50.0 + m) for m in range(5)]
    closed = feed(1, stream)
    assert [i for i, _ in closed] == [0, 1, 2, 3, 4]
    assert [b[2] for _, b in closed] == [50.0, 51.0, 52.0, 53.0, 54.0]


def test_bar_length_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1 minute"):
        BarAggregator(0)


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(st.integers(1, 130), min_size=0, max_size=400),
    start=st.integers(0, 200),
    minutes=st.sampled_from([1, 5, 15, 60]),
    seed=st.integers(0, 1000),
)
def test_batch_aggregation_equals_incremental(
    steps: list[int], start: int, minutes: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    times = T0 + (start + np.cumsum([0, *steps])) * M
    n = len(times)
    close = rng.uniform(90, 110, n)
    high = close + rng.uniform(0, 2, n)
    low = close - rng.uniform(0, 2, n)
    volume = np.round(rng.lognormal(0, 1, n), 3)
    volume[rng.random(n) < 0.1] = 0.0
    taker = volume * rng.uniform(0, 1, n)
    agg = BarAggregator(minutes)
    expected: list[tuple[int, Bar]] = []
    for i in range(n):
        for bar in agg.add(int(times[i]), high[i], low[i], close[i], volume[i], taker[i]):
            expected.append((i, bar))
    got = aggregate_bars(times.astype(np.int64), high, low, close, volume, taker, minutes)
    assert got.close_index.tolist() == [i for i, _ in expected]
    rows = list(zip(got.high, got.low, got.close, got.volume, got.taker_buy, strict=True))
    # Bit-identical: sums are added in the same order as the incremental `+=`.
    assert [tuple(map(float, r)) for r in rows] == [b for _, b in expected]
