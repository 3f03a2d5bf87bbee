"""Performance-calibrated confidence: monotone maps, Platt below 1,000 samples, isotonic above."""

from __future__ import annotations

import json
import math
from itertools import pairwise

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from application.confidence_calibration import ISOTONIC_MIN_SAMPLES, fit_calibration
from domain.signals.calibration import (
    ConfidenceCalibration,
    brier_score,
    hit_samples,
    reliability_table,
)


def _samples(n: int, seed: int, slope: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    size = rng.random(n)
    p = np.clip(0.5 + slope * (size - 0.5), 0.0, 1.0)
    return size, (rng.random(n) < p).astype(np.float64)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(30, 3000),
    st.integers(0, 2**32 - 1),
    st.floats(-0.8, 0.8),
)
def test_calibration_is_monotone_and_a_probability(n: int, seed: int, slope: float) -> None:
    size, hit = _samples(n, seed, slope)
    calibration = fit_calibration(size, hit, 0)
    grid = np.linspace(-0.1, 1.1, 121)
    values = [calibration.apply(float(x)) for x in grid]
    assert all(b >= a for a, b in pairwise(values))
    assert all(0.0 <= v <= 1.0 for v in values)
    assert np.allclose(values, calibration.apply_batch(grid))
    expected = "isotonic" if n >= ISOTONIC_MIN_SAMPLES else ("platt", "constant")
    assert calibration.method in expected


def test_platt_below_the_threshold_isotonic_above() -> None:
    size, hit = _samples(600, 1, 0.8)
    platt = fit_calibration(size, hit, 0)
    assert platt.method == "platt"
    assert platt.apply(0.9) > platt.apply(0.1) + 0.3
    size, hit = _samples(5000, 2, 0.8)
    iso = fit_calibration(size, hit, 0)
    assert iso.method == "isotonic"
    assert iso.apply(0.9) > iso.apply(0.1) + 0.3
    assert iso.brier < iso.brier_base_rate  # it knows more than the base rate


def test_an_anti_predictive_conviction_gets_the_base_rate() -> None:
    size, hit = _samples(600, 3, -0.8)
    calibration = fit_calibration(size, hit, 0)
    assert calibration.method == "constant"
    assert calibration.apply(0.0) == calibration.apply(1.0) == calibration.base_rate


def test_reliability_table_and_brier() -> None:
    predicted = np.array([0.05, 0.15, 0.15, 0.95])
    hits = np.array([0.0, 0.0, 1.0, 1.0])
    table = reliability_table(predicted, hits)
    assert len(table) == 10
    assert table[1].count == 2 and table[1].observed == 0.5
    assert math.isnan(table[5].observed) and table[5].count == 0
    assert math.isclose(brier_score(predicted, hits), (0.05**2 + 0.15**2 + 0.85**2 + 0.05**2) / 4)


def test_hit_samples_take_one_per_horizon_and_never_cross_the_end() -> None:
    times = np.arange(10, dtype=np.int64) * 60_000
    closes = np.array([1, 2, 3, 2, 1, 2, 3, 4, 5, 6], dtype=np.float64)
    net = np.array([0.5, -0.5, 0.2, 0.0, -0.3, 0.1, 0.1, 0.1, -0.1, 0.4])
    size, hit = hit_samples(times, closes, net, 2)
    # rows 0, 2, 4, 6 have a 2-minute forward return inside the data; row 8 does not.
    assert size.tolist() == [0.5, 0.2, 0.3, 0.1]
    assert hit.tolist() == [1.0, 0.0, 0.0, 1.0]


def test_round_trip_through_json() -> None:
    size, hit = _samples(600, 4, 0.6)
    calibration = fit_calibration(size, hit, 123)
    back = ConfidenceCalibration.from_dict(json.loads(json.dumps(calibration.to_dict())))
    assert back.knots_x == calibration.knots_x and back.knots_y == calibration.knots_y
    assert back.fitted_at == 123 and back.method == calibration.method
