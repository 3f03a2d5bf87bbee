"""Sliding-window statistics: against plain per-window computations, and incremental = batch."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.features.rolling import (
    RollingExtremes,
    RollingMoments,
    RollingSums,
    rolling_max,
    rolling_min,
    rolling_moments,
    rolling_sum,
)


def windows(values: list[float], n: int) -> list[list[float]]:
    """The window ending at each position (shorter at the start)."""
    return [values[max(0, t - n + 1) : t + 1] for t in range(len(values))]


def push_moments(values: list[float], n: int) -> tuple[np.ndarray, np.ndarray]:
    rm = RollingMoments(n)
    out = [rm.push(x) for x in values]
    return np.array([d for d, _ in out]), np.array([v for _, v in out])


finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(values=st.lists(finite, min_size=1, max_size=120), n=st.integers(1, 25))
def test_moments_match_plain_mean_and_variance(values: list[float], n: int) -> None:
    dev, var = push_moments(values, n)
    for t, w in enumerate(windows(values, n)):
        exact = [Fraction(x) for x in w]
        mean = sum(exact) / len(exact)
        exact_var = sum((x - mean) ** 2 for x in exact) / len(exact)
        scale = max(float(max(abs(x - mean) for x in exact)), 1e-300)
        assert abs(var[t] - float(exact_var)) <= 1e-9 * scale * scale + 1e-300
        assert abs(dev[t] - float(Fraction(values[t]) - mean)) <= 1e-9 * scale


@settings(max_examples=60, deadline=None)
@given(values=st.lists(finite, min_size=0, max_size=150), n=st.integers(1, 25))
def test_moments_batch_is_bit_identical(values: list[float], n: int) -> None:
    dev, var = push_moments(values, n)
    bdev, bvar = rolling_moments(np.array(values, dtype=np.float64), n)
    assert np.array_equal(dev, bdev) and np.array_equal(var, bvar)


def test_moments_batch_on_columns_matches_each_column() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(503, 4)) * np.array([1.0, 1e-4, 1e3, 0.0])
    dev, var = rolling_moments(x, 37)
    for col in range(4):
        d, v = push_moments(x[:, col].tolist(), 37)
        assert np.array_equal(dev[:, col], d) and np.array_equal(var[:, col], v)


def test_flat_window_after_a_violent_move_has_exactly_zero_variance() -> None:
    # Running sums would keep a residue of the crash in the sum of squares; the block
    # decomposition never holds a departed sample, so the flat window is exactly flat.
    values = [100.0 + 7.3 * i * (-1) ** i for i in range(37)] + [1e5 + 0.1] * 25 + [42.5] * 40
    dev, var = push_moments(values, 20)
    for t in range(len(values)):
        if len(set(values[max(0, t - 19) : t + 1])) == 1:
            assert var[t] == 0.0 and dev[t] == 0.0


def test_variance_near_large_level_keeps_its_digits() -> None:
    # Closes around 1e5 moving by one 0.1 tick: E[x²] - E[x]² would cancel to nothing.
    rng = np.random.default_rng(7)
    ticks = np.cumsum(rng.integers(-1, 2, size=400))
    values = (1_000_000 + ticks) / 10  # ~1e5 with 0.1 steps
    _, var = push_moments(values.tolist(), 20)
    for t in range(19, len(values)):
        w = values[t - 19 : t + 1]
        assert var[t] == pytest.approx(np.var(w), rel=1e-9, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(pairs=st.lists(st.tuples(finite, finite), min_size=0, max_size=150), n=st.integers(1, 25))
def test_extremes_match_plain_max_min_and_batch(pairs: list[tuple[float, float]], n: int) -> None:
    highs = [a for a, _ in pairs]
    lows = [b for _, b in pairs]
    rx = RollingExtremes(n)
    out = [rx.push(h, lo) for h, lo in pairs]
    for t, (wh, wl) in enumerate(zip(windows(highs, n), windows(lows, n), strict=True)):
        assert out[t] == (max(wh), min(wl))
    assert np.array_equal(rolling_max(np.array(highs, dtype=np.float64), n), [o[0] for o in out])
    assert np.array_equal(rolling_min(np.array(lows, dtype=np.float64), n), [o[1] for o in out])


@settings(max_examples=60, deadline=None)
@given(
    pairs=st.lists(st.tuples(st.floats(0, 1e6), st.floats(0, 1e6)), min_size=0, max_size=150),
    n=st.integers(1, 25),
)
def test_sums_match_plain_sums_and_batch(pairs: list[tuple[float, float]], n: int) -> None:
    a = [x for x, _ in pairs]
    b = [y for _, y in pairs]
    rs = RollingSums(n)
    out = [rs.push(x, y) for x, y in pairs]
    for t, (wa, wb) in enumerate(zip(windows(a, n), windows(b, n), strict=True)):
        assert out[t][0] == pytest.approx(float(sum(map(Fraction, wa))), rel=1e-12, abs=1e-300)
        assert out[t][1] == pytest.approx(float(sum(map(Fraction, wb))), rel=1e-12, abs=1e-300)
    assert np.array_equal(rolling_sum(np.array(a, dtype=np.float64), n), [o[0] for o in out])
    assert np.array_equal(rolling_sum(np.array(b, dtype=np.float64), n), [o[1] for o in out])


def test_batch_groups_do_not_change_results(monkeypatch: pytest.MonkeyPatch) -> None:
    import domain.features.rolling as rolling

    rng = np.random.default_rng(3)
    x = rng.normal(size=(1000, 3))
    reference = rolling_moments(x, 7)
    # Force many small groups (and a final partial block): same bits.
    monkeypatch.setattr(rolling, "_ROW_ELEMENTS", 2)
    monkeypatch.setattr(rolling, "_GROUP_ELEMENTS", 50)
    grouped = rolling_moments(x, 7)
    assert np.array_equal(reference[0], grouped[0]) and np.array_equal(reference[1], grouped[1])


@pytest.mark.parametrize("cls", [RollingMoments, RollingExtremes, RollingSums])
def test_window_length_must_be_positive(cls: type) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        cls(0)
