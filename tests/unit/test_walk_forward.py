"""Walk-forward windows never cross a gap nor see their future; the sweep chooses on the past."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.walk_forward import (
    MINUTE_MS,
    Segment,
    choose,
    compounded,
    segments,
    untested_minutes,
    windows,
)

T0 = 1_700_000_000_000 - 1_700_000_000_000 % MINUTE_MS


def test_segments_split_at_every_gap() -> None:
    last = T0 + 99 * MINUTE_MS
    gaps = [(T0 + 9 * MINUTE_MS, T0 + 20 * MINUTE_MS), (T0 + 49 * MINUTE_MS, T0 + 60 * MINUTE_MS)]
    assert segments(T0, last, gaps) == [
        Segment(T0, T0 + 9 * MINUTE_MS),
        Segment(T0 + 20 * MINUTE_MS, T0 + 49 * MINUTE_MS),
        Segment(T0 + 60 * MINUTE_MS, last),
    ]


def test_a_gap_outside_the_series_is_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        segments(T0, T0 + 10 * MINUTE_MS, [(T0 + 20 * MINUTE_MS, T0 + 30 * MINUTE_MS)])


def test_windows_of_one_segment() -> None:
    seg = Segment(T0, T0 + 34 * MINUTE_MS)  # 35 minutes
    ws = windows([seg], 10)
    assert [(w.index, w.start, w.end) for w in ws] == [
        (i, T0 + i * 10 * MINUTE_MS, T0 + (i + 1) * 10 * MINUTE_MS) for i in range(3)
    ]
    assert [w.is_test for w in ws] == [False, True, True]
    # Window 0 and the 5-minute tail are not traded out of sample.
    assert untested_minutes([seg], 10) == 15


@st.composite
def gapped_series(draw: st.DrawFn) -> tuple[int, int, list[tuple[int, int]]]:
    lengths = draw(st.lists(st.integers(1, 400), min_size=1, max_size=6))
    holes = draw(st.lists(st.integers(1, 50), min_size=len(lengths) - 1, max_size=len(lengths) - 1))
    gaps = []
    t = T0
    for i, n in enumerate(lengths):
        end = t + (n - 1) * MINUTE_MS
        if i < len(lengths) - 1:
            resumes = end + (holes[i] + 1) * MINUTE_MS
            gaps.append((end, resumes))
            t = resumes
        else:
            last = end
    return T0, last, gaps


@given(gapped_series(), st.integers(1, 120))
def test_no_window_crosses_a_gap_and_training_precedes_the_test(
    series: tuple[int, int, list[tuple[int, int]]], length: int
) -> None:
    first, last, gaps = series
    segs = segments(first, last, gaps)
    assert sum(s.minutes for s in segs) == (last - first) // MINUTE_MS + 1 - sum(
        (r - a) // MINUTE_MS - 1 for a, r in gaps
    )
    covered = 0
    for w in windows(segs, length):
        seg = segs[w.segment]
        assert w.minutes == length
        assert seg.first <= w.start and w.end <= seg.last + MINUTE_MS
        for after, resumes in gaps:
            # No missing minute lies inside the traded window or its past.
            assert not (w.past_start <= after < w.end - MINUTE_MS and resumes > after + MINUTE_MS)
        # The past the window learns from ends where its trading starts.
        assert w.past_start == seg.first <= w.start
        covered += w.minutes if w.is_test else 0
    assert covered + untested_minutes(segs, length) == sum(s.minutes for s in segs)


def test_compounded() -> None:
    assert compounded([0.1, -0.1]) == pytest.approx(-0.01)
    assert compounded([]) == 0.0


def test_choice_uses_only_windows_that_ended_before_the_test_window() -> None:
    day = 1440 * MINUTE_MS
    # "wide" wins in training (windows 0 and 1), "tight" wins by far in the test window 2.
    results = {
        "tight": {0: (day, -0.02), day: (2 * day, -0.01), 2 * day: (3 * day, 0.50)},
        "wide": {0: (day, 0.01), day: (2 * day, 0.01), 2 * day: (3 * day, -0.05)},
    }
    choice = choose(results, 2 * day, ["tight", "wide"])
    assert choice.chosen == "wide"
    assert choice.training_windows == 2
    assert choice.training_score == pytest.approx(compounded([0.01, 0.01]))
    # For the first window nothing is past: the first variant, no score.
    first = choose(results, 0, ["tight", "wide"])
    assert first.chosen == "tight" and first.training_windows == 0
    assert math.isnan(first.training_score)


def test_choice_ties_go_to_the_earlier_variant() -> None:
    results = {"a": {0: (10, 0.01)}, "b": {0: (10, 0.01)}}
    assert choose(results, 10, ["b", "a"]).chosen == "b"
