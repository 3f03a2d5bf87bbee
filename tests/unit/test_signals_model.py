"""SignalModel: per-candle decisions, bounded outputs, batch = per candle, fitted weights."""

from __future__ import annotations

import json
import math

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from domain.features.names import FEATURE_INDEX, FEATURE_NAMES
from domain.signals import (
    BATCH_TOLERANCE,
    SYSTEMS,
    DecisionRecord,
    Regime,
    SignalModel,
    fit_weights,
    heuristic_weights,
)
from domain.signals.ensemble import convictions

F = len(FEATURE_NAMES)
MODEL = SignalModel(heuristic_weights(15))

any_finite = st.floats(allow_nan=False, allow_infinity=False)
moderate = st.floats(-6.0, 6.0, allow_nan=False)


def fitted_model() -> SignalModel:
    rng = np.random.default_rng(21)
    z = rng.standard_normal((5000, F))
    trend = FEATURE_INDEX["1h.ema_spread_12_26"]
    band = FEATURE_INDEX["5m.bb_pctb_20"]
    steps = 0.002 * z[:, trend] - 0.002 * z[:, band] + 0.002 * rng.standard_normal(5000)
    closes = 100 * np.exp(np.concatenate(([0.0], np.cumsum(steps[:-1]))))
    weights = fit_weights(z, closes, horizon=1)
    assert not weights.fallback
    return SignalModel(weights)


FITTED = fitted_model()


def check_ranges(r: DecisionRecord) -> None:
    for s in r.scores:
        assert math.isfinite(s) and -1.0 <= s <= 1.0
    for v in (*r.confidences, *r.gates, r.long_conviction, r.short_conviction):
        assert math.isfinite(v) and 0.0 <= v <= 1.0
    assert r.regime in SYSTEMS


@pytest.mark.filterwarnings("ignore:.*encountered:RuntimeWarning")
@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        arrays(np.float64, F, elements=moderate),
        arrays(np.float64, F, elements=any_finite),
    ),
    st.booleans(),
)
def test_decide_respects_every_range(z: npt.NDArray[np.float64], fitted: bool) -> None:
    model = FITTED if fitted else MODEL
    r = model.decide(7, z)
    check_ranges(r)
    assert r.open_time == 7
    assert r.features == tuple(z.tolist())
    assert r.system_weights == model.system_weights
    assert (r.long_conviction, r.short_conviction) == convictions(
        r.scores, r.confidences, r.system_weights
    )
    json.dumps(r.to_dict(), allow_nan=False)


def regime_margin(
    confidences: npt.NDArray[np.float64], weights: tuple[float, ...], gates: npt.NDArray[np.float64]
) -> float:
    """How far the deciding quantity's winner is ahead of the runner-up."""
    d = confidences * np.asarray(weights)
    if (d == 0).all():
        d = gates
    top = np.sort(d)
    return float(top[-1] - top[-2])


@pytest.mark.filterwarnings("ignore:.*encountered:RuntimeWarning")
@settings(max_examples=150, deadline=None)
@given(
    st.integers(0, 10).flatmap(
        lambda t: st.one_of(
            arrays(np.float64, (t, F), elements=moderate),
            arrays(np.float64, (t, F), elements=any_finite),
        )
    ),
    st.booleans(),
)
def test_decide_batch_equals_decide(matrix: npt.NDArray[np.float64], fitted: bool) -> None:
    model = FITTED if fitted else MODEL
    times = np.arange(len(matrix), dtype=np.int64) * 60_000
    batch = model.decide_batch(times, matrix)
    assert len(batch) == len(matrix)
    tol = BATCH_TOLERANCE
    for t in range(len(matrix)):
        one = model.decide(int(times[t]), matrix[t])
        assert batch.scores[t].tolist() == pytest.approx(one.scores, abs=tol)
        assert batch.confidences[t].tolist() == pytest.approx(one.confidences, abs=tol)
        assert batch.gates[t].tolist() == pytest.approx(one.gates, abs=tol)
        assert batch.long_conviction[t] == pytest.approx(one.long_conviction, abs=tol)
        assert batch.short_conviction[t] == pytest.approx(one.short_conviction, abs=tol)
        margin = regime_margin(batch.confidences[t], model.system_weights, batch.gates[t])
        if margin > tol:
            assert batch.regime(t) is one.regime
        rebuilt = batch.record(t)
        assert rebuilt.open_time == one.open_time and rebuilt.features == one.features
        check_ranges(rebuilt)


def test_batch_over_many_rows_matches_sampled_rows() -> None:
    rng = np.random.default_rng(8)
    matrix = np.clip(rng.standard_normal((50_000, F)) * 1.3, -4, 4)
    times = 1_600_000_000_000 + 60_000 * np.arange(50_000, dtype=np.int64)
    batch = FITTED.decide_batch(times, matrix)
    assert batch.long_conviction.min() >= 0 and batch.long_conviction.max() <= 1
    assert batch.short_conviction.min() >= 0 and batch.short_conviction.max() <= 1
    assert set(np.unique(batch.regime_codes).tolist()) <= {0, 1, 2}
    for t in rng.integers(0, 50_000, 200):
        one = FITTED.decide(int(times[t]), matrix[t])
        other = batch.record(int(t))
        for a, b in (
            (other.scores, one.scores),
            (other.confidences, one.confidences),
            (
                (other.long_conviction, other.short_conviction),
                (one.long_conviction, one.short_conviction),
            ),
        ):
            assert max(abs(x - y) for x, y in zip(a, b, strict=True)) <= BATCH_TOLERANCE


def test_neutral_market_gives_no_conviction() -> None:
    r = MODEL.decide(0, np.zeros(F))
    assert r.scores == (0.0, 0.0, 0.0)
    assert r.long_conviction == 0.0 and r.short_conviction == 0.0
    assert r.regime is Regime.NEUTRAL


def test_strong_up_trend_is_long_and_up() -> None:
    z = np.zeros(F)
    for label in ("1m", "5m", "15m", "1h"):
        for base in ("logret_20", "ema_slope_20", "ema_spread_12_26", "taker_buy_ratio_20"):
            z[FEATURE_INDEX[f"{label}.{base}"]] = 2.5
    r = MODEL.decide(0, z)
    assert r.long_conviction > 0.2 and r.long_conviction > 10 * r.short_conviction
    assert r.regime is Regime.UP
    mirrored = MODEL.decide(0, -z)
    assert mirrored.short_conviction > 0.2 and mirrored.regime is Regime.DOWN


def test_fitted_model_follows_the_planted_feature() -> None:
    trend = FEATURE_INDEX["1h.ema_spread_12_26"]
    up = np.zeros(F)
    up[trend] = 3.0
    assert FITTED.decide(0, up).scores[0] > 0.5
    assert FITTED.decide(0, -up).scores[0] < 0


def test_record_owns_its_features() -> None:
    z = np.linspace(-2, 2, F)
    r = MODEL.decide(1, z)
    z[:] = 0.0
    assert r.features[0] == -2.0


def test_wrong_shapes_are_rejected() -> None:
    with pytest.raises(ValueError):
        MODEL.decide(0, np.zeros(F + 1))
    with pytest.raises(ValueError):
        MODEL.decide_batch(np.arange(3), np.zeros((2, F)))
    with pytest.raises(ValueError):
        MODEL.decide_batch(np.arange(3), np.zeros((3, F - 1)))


def test_weights_survive_persistence_into_an_identical_model() -> None:
    from domain.signals import SignalWeights

    restored = SignalModel(
        SignalWeights.from_dict(json.loads(json.dumps(FITTED.weights.to_dict())))
    )
    z = np.random.default_rng(2).standard_normal(F)
    assert restored.decide(5, z) == FITTED.decide(5, z)
