"""Correlation-based weights: planted signals, no look-ahead, fallback, serialisation."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from domain.features.names import FEATURE_INDEX, FEATURE_NAMES
from domain.signals.regime import Regime
from domain.signals.systems import DOWN_SPEC, NEUTRAL_SPEC, SPECS, UP_SPEC
from domain.signals.weights import (
    FALLBACK_PARTS,
    MIN_IC,
    SYSTEM_WEIGHT_FLOOR,
    SignalWeights,
    fit_weights,
    forward_returns,
    heuristic_weights,
    ic_threshold,
)

F = len(FEATURE_NAMES)
TREND = FEATURE_INDEX["15m.ema_spread_12_26"]
BAND = FEATURE_INDEX["1m.bb_pctb_20"]


def planted(
    rows: int = 6000, seed: int = 11
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Random features; the next candle's return follows +TREND and -BAND."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((rows, F))
    steps = 0.002 * z[:, TREND] - 0.002 * z[:, BAND] + 0.002 * rng.standard_normal(rows)
    log_close = np.concatenate(([0.0], np.cumsum(steps[:-1])))  # close[t+1] / close[t] = step t
    closes = 100.0 * np.exp(log_close)
    return z, closes


def plain(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(plain(v) for v in value)
    return isinstance(value, str | int | float | bool)


def test_forward_returns_hand_computed() -> None:
    closes = [100.0, 110.0, 99.0, 0.0, 120.0]
    r = forward_returns(closes, 1)
    assert r[0] == pytest.approx(math.log(1.1))
    assert r[1] == pytest.approx(math.log(0.9))
    assert np.isnan(r[2]) and np.isnan(r[3]) and np.isnan(r[4])  # zero close, then no future
    r2 = forward_returns(closes, 2)
    assert r2[0] == pytest.approx(math.log(0.99))
    assert np.isnan(r2[3:]).all()
    with pytest.raises(ValueError):
        forward_returns(closes, 0)


def test_ic_threshold_is_two_standard_errors_of_independent_horizons() -> None:
    assert ic_threshold(10_000, 1) == pytest.approx(0.02)
    assert ic_threshold(10_000, 25) == pytest.approx(0.1)
    assert ic_threshold(100_000_000, 1) == MIN_IC
    assert ic_threshold(0, 5) == 1.0


@pytest.mark.parametrize("method", ["spearman", "pearson"])
def test_fit_recovers_planted_signal(method: str) -> None:
    z, closes = planted()
    w = fit_weights(z, closes, horizon=1, method=method)
    assert not w.fallback and w.fallback_parts == ()
    assert w.samples == len(z) - 1
    assert w.feature_ics[TREND] > 0.3 and w.feature_ics[BAND] < -0.3
    up = w.feature_weight_vector(Regime.UP)
    down = w.feature_weight_vector(Regime.DOWN)
    neutral = w.feature_weight_vector(Regime.NEUTRAL)
    # The predictive trend feature dominates both trend systems (its sign there is +).
    assert up[TREND] > 0.5 and int(np.argmax(up)) == TREND
    assert down[TREND] > 0.5
    # The band feature predicts reversal: NEUTRAL (sign -) keeps it; UP does not read it.
    assert neutral[BAND] > 0.5 and up[BAND] == 0.0
    for vector, spec in ((up, UP_SPEC), (down, DOWN_SPEC), (neutral, NEUTRAL_SPEC)):
        assert vector.sum() == pytest.approx(1.0)
        assert (vector >= 0).all() and (vector[~spec.used()] == 0).all()
        # Only features whose signed IC clears the threshold keep a weight.
        kept = vector > 0
        assert (spec.signs()[kept] * np.array(w.feature_ics)[kept] >= w.ic_threshold).all()
    assert all(ic > 0.2 for ic in w.system_ics)
    assert sum(w.system_weights) == pytest.approx(1.0)
    assert min(w.system_weights) >= SYSTEM_WEIGHT_FLOOR - 1e-12


def test_fit_with_longer_horizon_and_a_negative_signal() -> None:
    rng = np.random.default_rng(5)
    rows = 8000
    rsi = FEATURE_INDEX["1h.rsi_14"]
    z = rng.standard_normal((rows, F))
    # Returns follow -TREND and +RSI: the trend systems must drop TREND (their sign for it
    # is +), never flip it, and keep RSI; NEUTRAL (sign - on RSI) must drop RSI and keep
    # the band feature, which predicts reversal.
    noise = 0.002 * rng.standard_normal(rows)
    steps = -0.002 * z[:, TREND] + 0.002 * z[:, rsi] - 0.002 * z[:, BAND] + noise
    closes = 50.0 * np.exp(np.concatenate(([0.0], np.cumsum(steps[:-1]))))
    w = fit_weights(z, closes, horizon=5)
    assert w.samples == rows - 5
    assert w.ic_threshold == pytest.approx(2 / math.sqrt((rows - 5) / 5))
    assert w.feature_ics[TREND] < -0.2 and w.feature_ics[rsi] > 0.2
    assert "UP" not in w.fallback_parts and "DOWN" not in w.fallback_parts
    for regime in (Regime.UP, Regime.DOWN):
        vector = w.feature_weight_vector(regime)
        assert vector[TREND] == 0.0
        assert vector[rsi] > 0.5
    assert "NEUTRAL" not in w.fallback_parts
    assert w.feature_weight_vector(Regime.NEUTRAL)[rsi] == 0.0
    assert w.feature_weight_vector(Regime.NEUTRAL)[BAND] > 0.5


def test_no_look_ahead_inside_a_window() -> None:
    z, closes = planted(rows=4000)
    start, end, h = 500, 3000, 5
    base = fit_weights(z, closes, h, start=start, end=end, min_samples=500)
    assert base.samples == end - h - start
    rng = np.random.default_rng(99)

    later = closes.copy()
    later[end:] = rng.uniform(1.0, 1000.0, len(closes) - end)
    later_z = z.copy()
    later_z[end:] = rng.standard_normal((len(z) - end, F))
    # Feature rows t with t + h >= end have no forward return inside the window: unused.
    later_z[end - h : end] = 4.0
    # Nothing before the window either.
    later[:start] = 1.0
    later_z[:start] = -4.0
    assert fit_weights(later_z, later, h, start=start, end=end, min_samples=500) == base

    # The control: the last close inside the window is read (row end - 1 - h uses it).
    inside = closes.copy()
    inside[end - 1] *= 10.0
    changed = fit_weights(z, inside, h, start=start, end=end, min_samples=500)
    assert changed.feature_ics != base.feature_ics


def test_prefix_fit_equals_window_fit() -> None:
    z, closes = planted(rows=3000)
    a = fit_weights(z[:2000], closes[:2000], 3, min_samples=500)
    b = fit_weights(z, closes, 3, end=2000, min_samples=500)
    assert a == b


def test_too_little_data_falls_back_to_heuristics() -> None:
    z, closes = planted(rows=300)
    w = fit_weights(z, closes, horizon=1)  # 299 rows < MIN_SAMPLES
    assert w.fallback and w.fallback_parts == FALLBACK_PARTS
    assert w.samples == 299
    assert w.system_weights == (1 / 3, 1 / 3, 1 / 3)
    for vector, spec in zip(w.feature_weights, SPECS, strict=True):
        assert vector == tuple(spec.heuristic_weights().tolist())
    # The ICs are still measured and reported.
    assert w.feature_ics[TREND] > 0.2


def test_too_few_independent_horizons_fall_back() -> None:
    z, closes = planted(rows=1500)
    w = fit_weights(z, closes, horizon=60, min_samples=100)  # 1440 rows < 30 * 60
    assert w.fallback_parts == FALLBACK_PARTS
    assert not fit_weights(z, closes, horizon=1, min_samples=100).fallback


def test_window_without_forward_returns_falls_back() -> None:
    z, closes = planted(rows=50)
    w = fit_weights(z, closes, horizon=60)
    assert w.samples == 0 and w.fallback_parts == FALLBACK_PARTS
    assert w.feature_ics == (0.0,) * F


def test_all_ics_zero_falls_back() -> None:
    z, _ = planted(rows=3000)
    flat = np.full(3000, 42.0)  # no return ever: every IC is 0
    w = fit_weights(z, flat, horizon=1, min_samples=100)
    assert w.samples == 2999
    assert w.fallback_parts == FALLBACK_PARTS
    assert w.feature_ics == (0.0,) * F and w.system_ics == (0.0, 0.0, 0.0)


def test_missing_values_are_skipped() -> None:
    z, closes = planted(rows=3000)
    z[::7, TREND] = np.nan
    closes[100] = np.nan
    w = fit_weights(z, closes, horizon=1, min_samples=100)
    assert w.samples == 2999 - 2  # rows 99 and 100 lose their return
    assert all(math.isfinite(v) for v in w.feature_ics)
    assert w.feature_weight_vector(Regime.UP)[TREND] > 0.5


def test_fit_rejects_bad_arguments() -> None:
    z, closes = planted(rows=100)
    with pytest.raises(ValueError):
        fit_weights(z[:, :10], closes, 1)
    with pytest.raises(ValueError):
        fit_weights(z, closes[:-1], 1)
    with pytest.raises(ValueError):
        fit_weights(z, closes, 0)
    with pytest.raises(ValueError):
        fit_weights(z, closes, 1, method="kendall")
    with pytest.raises(ValueError):
        fit_weights(z, closes, 1, start=50, end=40)
    with pytest.raises(ValueError):
        fit_weights(z, closes, 1, end=101)


def test_heuristic_weights() -> None:
    w = heuristic_weights(15, "pearson")
    assert w.fallback and w.samples == 0 and w.horizon == 15 and w.method == "pearson"
    assert w.feature_weights[2] == tuple(NEUTRAL_SPEC.heuristic_weights().tolist())


def test_round_trip_through_json() -> None:
    z, closes = planted()
    for weights in (fit_weights(z, closes, 1), heuristic_weights(5)):
        data = weights.to_dict()
        assert plain(data)
        assert data["feature_names"] == list(FEATURE_NAMES)
        assert set(data["feature_weights"]) == {"UP", "DOWN", "NEUTRAL"}
        text = json.dumps(data, allow_nan=False)
        assert SignalWeights.from_dict(json.loads(text)) == weights


def test_from_dict_rejects_foreign_or_broken_data() -> None:
    data = heuristic_weights(5).to_dict()
    other_layout = dict(data, feature_names=list(reversed(FEATURE_NAMES)))
    with pytest.raises(ValueError, match="layout"):
        SignalWeights.from_dict(other_layout)
    missing = dict(data)
    del missing["system_weights"]
    with pytest.raises(ValueError):
        SignalWeights.from_dict(missing)
    bad = json.loads(json.dumps(data))
    bad["feature_weights"]["UP"][FEATURE_INDEX["1m.bb_pctb_20"]] = 0.5  # UP does not read it
    with pytest.raises(ValueError):
        SignalWeights.from_dict(bad)
    bad = json.loads(json.dumps(data))
    bad["fallback_parts"] = []  # inconsistent with fallback = True
    with pytest.raises(ValueError):
        SignalWeights.from_dict(bad)
    bad = json.loads(json.dumps(data))
    bad["system_weights"]["DOWN"] = -0.1
    with pytest.raises(ValueError):
        SignalWeights.from_dict(bad)
