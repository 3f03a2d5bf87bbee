"""Rolling clipped z-scores: against a per-window reference, flat features, batch twin."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.features.normaliser import SD_FLOOR, RollingZScore, rolling_zscore


def reference(x: np.ndarray, window: int, clip: float) -> np.ndarray:
    out = np.empty_like(x)
    for t in range(x.shape[0]):
        w = x[max(0, t - window + 1) : t + 1]
        sd = np.maximum(w.std(axis=0), SD_FLOOR)
        out[t] = np.clip((x[t] - w.mean(axis=0)) / sd, -clip, clip)
    return out


def incremental(x: np.ndarray, window: int, clip: float) -> np.ndarray:
    z = RollingZScore(x.shape[1], window, clip)
    return np.array([z.update(row) for row in x]).reshape(x.shape)


def test_matches_the_per_window_definition() -> None:
    rng = np.random.default_rng(0)
    scales = np.array([1e-4, 1.0, 50.0, 1e3])
    x = rng.standard_t(3, size=(700, 4)) * scales + np.array([0.0, 0.5, 1e5, -3.0])
    for window in (1, 2, 5, 64, 1000):
        expected = reference(x, window, 3.0)
        np.testing.assert_allclose(incremental(x, window, 3.0), expected, rtol=1e-7, atol=1e-7)
        np.testing.assert_allclose(rolling_zscore(x, window, 3.0), expected, rtol=1e-7, atol=1e-7)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    rows=st.integers(0, 400),
    width=st.integers(1, 6),
    window=st.integers(1, 90),
    clip=st.floats(0.5, 10.0),
)
def test_incremental_and_batch_are_bit_identical(
    seed: int, rows: int, width: int, window: int, clip: float
) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, width)) * rng.uniform(1e-6, 1e3, size=width)
    x[rng.random((rows, width)) < 0.3] = 0.5  # stretches of a constant value
    assert np.array_equal(incremental(x, window, clip), rolling_zscore(x, window, clip))


def test_constant_feature_scores_exactly_zero_and_others_are_clipped() -> None:
    x = np.zeros((300, 3))
    x[:, 0] = 0.25  # constant
    x[:, 1] = np.arange(300.0)  # trending: newest value always the window maximum
    x[250, 2] = 1e6  # one huge outlier
    z = incremental(x, 50, 2.0)
    assert np.all(z[:, 0] == 0.0)
    assert np.all(np.abs(z) <= 2.0)
    assert z[250, 2] == 2.0
    assert z[100, 1] == pytest.approx(np.sqrt(3.0) * 49 / 50 / np.sqrt(1 - 1 / 2500), rel=1e-9)


def test_noise_around_a_constant_is_not_blown_up() -> None:
    # A feature frozen up to last-bit rounding (Wilder RSI in a frozen market) has an sd of
    # ~1e-17; the floor keeps its z-score negligible instead of +-clip.
    base = 0.3
    x = np.array([[base + k * 5.55e-17] for k in np.tile([0, 1, -1, 2], 100)])
    z = incremental(x, 60, 4.0)
    assert np.abs(z).max() < 1e-6


def test_window_forgets_old_samples() -> None:
    x = np.concatenate([np.full((100, 1), 1000.0), np.random.default_rng(1).normal(size=(200, 1))])
    z = incremental(x, 50, 4.0)
    np.testing.assert_allclose(z[150:], reference(x, 50, 4.0)[150:], rtol=1e-9, atol=1e-12)
    assert np.abs(z[150:]).max() < 4.0  # the 1000s have left the window


def test_returned_arrays_are_fresh() -> None:
    z = RollingZScore(2, 10, 4.0)
    first = z.update(np.array([1.0, 2.0]))
    kept = first.copy()
    z.update(np.array([3.0, 5.0]))
    assert np.array_equal(first, kept)


@pytest.mark.parametrize(("window", "clip"), [(0, 4.0), (10, 0.0), (10, -1.0), (10, np.inf)])
def test_parameters_are_validated(window: int, clip: float) -> None:
    with pytest.raises(ValueError):
        RollingZScore(3, window, clip)
    with pytest.raises(ValueError):
        rolling_zscore(np.zeros((4, 3)), window, clip)
