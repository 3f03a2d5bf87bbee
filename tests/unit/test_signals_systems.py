"""The three systems: documented features and signs, bounded outputs, batch = per candle."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from domain.features.names import FEATURE_INDEX, FEATURE_NAMES
from domain.signals.regime import SYSTEMS, Regime
from domain.signals.systems import (
    COUNTER_BIAS,
    DOWN_SPEC,
    INPUT_BOUND,
    NEUTRAL_SPEC,
    SCORE_SCALE,
    SPECS,
    TREND_FEATURES,
    TREND_SCALE,
    UP_SPEC,
    VOLATILITY_FEATURES,
    VOLATILITY_SCALE,
    System,
    Systems,
)

F = len(FEATURE_NAMES)
TOL = 1e-9

any_finite = st.floats(allow_nan=False, allow_infinity=False)
any_value = st.floats(allow_nan=True, allow_infinity=True)
moderate = st.floats(-6.0, 6.0, allow_nan=False)
vectors = st.one_of(
    arrays(np.float64, F, elements=moderate),
    arrays(np.float64, F, elements=any_finite),
)


def reference(
    spec_index: int, z: npt.NDArray[np.float64], magnitudes: npt.NDArray[np.float64]
) -> tuple[float, float]:
    """The documented rules, written out feature by feature (independent of the matrices)."""
    spec = SPECS[spec_index]
    z = np.nan_to_num(z, nan=0.0, posinf=INPUT_BOUND, neginf=-INPUT_BOUND)
    z = np.clip(z, -INPUT_BOUND, INPUT_BOUND)
    signs = spec.signs()
    contributions = [float(signs[i] * magnitudes[i] * z[i]) for i in range(F)]
    u = math.fsum(contributions)
    spread = math.fsum(abs(c) for c in contributions)
    x = math.tanh(u / SCORE_SCALE)
    score = x * (spec.long_factor if x > 0 else spec.short_factor)
    agreement = min(1.0, abs(u) / spread) if spread > 0 else 0.0
    trend = math.fsum(float(z[FEATURE_INDEX[n]]) for n in TREND_FEATURES) / len(TREND_FEATURES)
    vol = math.fsum(float(z[FEATURE_INDEX[n]]) for n in VOLATILITY_FEATURES) / len(
        VOLATILITY_FEATURES
    )
    h = math.tanh(trend / TREND_SCALE)
    gate = {
        Regime.UP: (1 + h) / 2,
        Regime.DOWN: (1 - h) / 2,
        Regime.NEUTRAL: (1 - abs(h)) * (1 - math.tanh(vol / VOLATILITY_SCALE)) / 2,
    }[spec.regime]
    return score, gate * math.sqrt(abs(score) * agreement)


def vector(**values: float) -> npt.NDArray[np.float64]:
    """A feature vector of zeros with the named features (dots as double underscores) set."""
    z = np.zeros(F)
    for name, value in values.items():
        z[FEATURE_INDEX[name.replace("__", ".")]] = value
    return z


def all_timeframes(z: npt.NDArray[np.float64], base: str, value: float) -> None:
    for label in ("1m", "5m", "15m", "1h"):
        z[FEATURE_INDEX[f"{label}.{base}"]] = value


# ----------------------------------------------------------------------- the specs


def test_specs_are_in_systems_order() -> None:
    assert (
        tuple(spec.regime for spec in SPECS) == SYSTEMS == (Regime.UP, Regime.DOWN, Regime.NEUTRAL)
    )


def test_documented_feature_signs() -> None:
    up, down, neutral = UP_SPEC.signs(), DOWN_SPEC.signs(), NEUTRAL_SPEC.signs()
    for label in ("1m", "5m", "15m", "1h"):
        for base in (
            "logret_5",
            "logret_20",
            "ema_slope_20",
            "ema_spread_12_26",
            "rsi_14",
            "range_pos_20",
            "taker_buy_ratio_20",
            "volume_z_20",
        ):
            assert up[FEATURE_INDEX[f"{label}.{base}"]] == 1.0
        for base in ("volume_z_20", "rvol_20", "atr_14"):
            assert down[FEATURE_INDEX[f"{label}.{base}"]] == -1.0
        for base in ("logret_5", "ema_spread_12_26", "taker_buy_ratio_20"):
            assert down[FEATURE_INDEX[f"{label}.{base}"]] == 1.0
        for base in ("bb_pctb_20", "range_pos_20", "rsi_14", "logret_1", "logret_5"):
            assert neutral[FEATURE_INDEX[f"{label}.{base}"]] == -1.0
    assert (neutral <= 0).all()
    assert up[FEATURE_INDEX["1h.bb_pctb_20"]] == 0.0  # UP does not read %b


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: str(s.regime))
def test_heuristic_weights_are_normalised_and_only_on_used_features(spec: object) -> None:
    from domain.signals.systems import SystemSpec

    assert isinstance(spec, SystemSpec)
    w = spec.heuristic_weights()
    assert w.shape == (F,)
    assert w.sum() == pytest.approx(1.0, abs=1e-15)
    assert (w >= 0).all()
    assert ((w > 0) == spec.used()).all()
    assert len(spec.feature_names()) == int(spec.used().sum())


def test_trend_systems_weigh_slow_timeframes_more_and_neutral_fast_ones() -> None:
    up, neutral = UP_SPEC.heuristic_weights(), NEUTRAL_SPEC.heuristic_weights()
    assert up[FEATURE_INDEX["1h.ema_spread_12_26"]] > up[FEATURE_INDEX["1m.ema_spread_12_26"]]
    assert neutral[FEATURE_INDEX["1m.bb_pctb_20"]] > neutral[FEATURE_INDEX["1h.bb_pctb_20"]]


def test_weights_on_unused_features_are_rejected() -> None:
    m = UP_SPEC.heuristic_weights()
    m[FEATURE_INDEX["1m.bb_pctb_20"]] = 0.1
    with pytest.raises(ValueError, match="does not use"):
        System(UP_SPEC, m)
    with pytest.raises(ValueError):
        System(UP_SPEC, np.zeros(F))
    with pytest.raises(ValueError):
        System(UP_SPEC, -UP_SPEC.heuristic_weights())
    with pytest.raises(ValueError):
        Systems([UP_SPEC.heuristic_weights()])


# ------------------------------------------------------------------- behaviour


def test_up_trend_vector_is_long_and_opens_the_up_gate() -> None:
    z = np.zeros(F)
    for base in ("logret_5", "logret_20", "ema_slope_20", "ema_spread_12_26", "rsi_14"):
        all_timeframes(z, base, 2.0)
    out = Systems().evaluate(z)
    up, down, neutral = out.scores
    assert up > 0.9
    assert 0 < down < up  # DOWN agrees, but halved against its short bias
    assert out.gates[0] > 0.99 and out.gates[1] < 0.01 and out.gates[2] < 0.01
    assert out.confidences[0] > 0.9
    assert out.confidences[0] > out.confidences[1] and out.confidences[0] > out.confidences[2]
    assert neutral < 0  # the range system fades the strength, but its gate is shut


def test_neutral_fades_the_top_of_a_calm_range() -> None:
    z = np.zeros(F)
    for base in ("bb_pctb_20", "range_pos_20", "rsi_14"):
        all_timeframes(z, base, 2.0)
    all_timeframes(z, "rvol_20", -1.5)
    all_timeframes(z, "atr_14", -1.5)
    out = Systems().evaluate(z)
    assert out.scores[2] < -0.9
    assert out.gates[2] > 0.9  # no trend, low volatility
    assert out.confidences[2] > 0.9


def test_down_reads_volatility_expansion_as_short() -> None:
    z = np.zeros(F)
    all_timeframes(z, "rvol_20", 3.0)
    all_timeframes(z, "atr_14", 3.0)
    all_timeframes(z, "volume_z_20", 3.0)
    down = System(DOWN_SPEC)
    score, _ = down.evaluate(z)
    assert score < -0.5
    # Volume is bullish for UP (participation confirms an advance).
    assert System(UP_SPEC).evaluate(z)[0] > 0


def test_trend_bias_halves_counter_trend_scores() -> None:
    z = np.zeros(F)
    all_timeframes(z, "ema_spread_12_26", 0.3)
    all_timeframes(z, "logret_20", 0.2)
    up, down = System(UP_SPEC), System(DOWN_SPEC)
    assert up.evaluate(-z)[0] == pytest.approx(-COUNTER_BIAS * up.evaluate(z)[0], rel=1e-12)
    assert down.evaluate(z)[0] == pytest.approx(-COUNTER_BIAS * down.evaluate(-z)[0], rel=1e-12)
    assert up.evaluate(z)[0] > 0 and down.evaluate(-z)[0] < 0


def test_conflicting_features_lower_confidence() -> None:
    agreeing = np.zeros(F)
    all_timeframes(agreeing, "ema_spread_12_26", 1.0)
    split = agreeing.copy()
    all_timeframes(split, "logret_20", -1.0)
    all_timeframes(split, "ema_slope_20", 1.5)  # same neighbourhood of score, but split
    up = System(UP_SPEC)
    _, c_agree = up.evaluate(agreeing)
    _, c_split = up.evaluate(split)
    assert c_split < c_agree


def test_zero_vector_says_nothing() -> None:
    out = Systems().evaluate(np.zeros(F))
    assert out.scores == (0.0, 0.0, 0.0)
    assert out.confidences == (0.0, 0.0, 0.0)
    assert out.gates == (0.5, 0.5, 0.5)


@pytest.mark.filterwarnings("ignore:.*encountered:RuntimeWarning")
def test_missing_and_huge_values_are_sanitised() -> None:
    z = np.zeros(F)
    all_timeframes(z, "ema_spread_12_26", 1.0)
    systems = Systems()
    with_nan = z.copy()
    with_nan[FEATURE_INDEX["1h.logret_20"]] = np.nan
    assert systems.evaluate(with_nan) == systems.evaluate(z)
    huge = z.copy()
    huge[FEATURE_INDEX["1h.logret_20"]] = 1e300
    bounded = z.copy()
    bounded[FEATURE_INDEX["1h.logret_20"]] = INPUT_BOUND
    assert systems.evaluate(huge) == systems.evaluate(bounded)
    inf = z.copy()
    inf[FEATURE_INDEX["1h.logret_20"]] = -np.inf
    bounded[FEATURE_INDEX["1h.logret_20"]] = -INPUT_BOUND
    assert systems.evaluate(inf) == systems.evaluate(bounded)


def test_wrong_shapes_are_rejected() -> None:
    systems = Systems()
    with pytest.raises(ValueError):
        systems.evaluate(np.zeros(F - 1))
    with pytest.raises(ValueError):
        systems.evaluate(np.zeros((1, F)))
    with pytest.raises(ValueError):
        systems.evaluate_batch(np.zeros(F))
    with pytest.raises(ValueError):
        System(UP_SPEC).evaluate_batch(np.zeros((3, F + 1)))


# ------------------------------------------------------------------ properties


def random_magnitudes(seed: int) -> list[npt.NDArray[np.float64]]:
    rng = np.random.default_rng(seed)
    return [spec.used() * rng.uniform(0.0, 1.0, F) + spec.used() * 1e-3 for spec in SPECS]


@pytest.mark.filterwarnings("ignore:.*encountered:RuntimeWarning")
@settings(max_examples=300, deadline=None)
@given(vectors, st.integers(0, 3))
def test_outputs_follow_the_documented_rules_and_are_bounded(
    z: npt.NDArray[np.float64], seed: int
) -> None:
    magnitudes = random_magnitudes(seed)
    systems = Systems(magnitudes)
    out = systems.evaluate(z)
    for i in range(3):
        score, confidence, gate = out.scores[i], out.confidences[i], out.gates[i]
        assert -1.0 <= score <= 1.0 and 0.0 <= confidence <= 1.0 and 0.0 <= gate <= 1.0
        m = magnitudes[i] / magnitudes[i].sum()
        want_score, want_conf = reference(i, z, m)
        assert score == pytest.approx(want_score, abs=TOL)
        assert confidence == pytest.approx(want_conf, abs=TOL)
        single = systems.systems[i].evaluate(z)
        assert single[0] == pytest.approx(score, abs=1e-12)
        assert single[1] == pytest.approx(confidence, abs=1e-12)


@pytest.mark.filterwarnings("ignore:.*encountered:RuntimeWarning")
@settings(max_examples=200, deadline=None)
@given(arrays(np.float64, F, elements=any_value))
def test_non_finite_inputs_still_give_bounded_outputs(z: npt.NDArray[np.float64]) -> None:
    out = Systems().evaluate(z)
    for values, lo in ((out.scores, -1.0), (out.confidences, 0.0), (out.gates, 0.0)):
        for v in values:
            assert math.isfinite(v) and lo <= v <= 1.0


@pytest.mark.filterwarnings("ignore:.*encountered:RuntimeWarning")
@settings(max_examples=100, deadline=None)
@given(
    st.integers(0, 12).flatmap(
        lambda t: st.one_of(
            arrays(np.float64, (t, F), elements=moderate),
            arrays(np.float64, (t, F), elements=any_value),
        )
    ),
    st.integers(0, 3),
)
def test_batch_equals_per_candle(matrix: npt.NDArray[np.float64], seed: int) -> None:
    systems = Systems(random_magnitudes(seed))
    batch = systems.evaluate_batch(matrix)
    assert batch.scores.shape == batch.confidences.shape == batch.gates.shape == (len(matrix), 3)
    for t, row in enumerate(matrix):
        out = systems.evaluate(row)
        assert batch.scores[t].tolist() == pytest.approx(out.scores, abs=TOL)
        assert batch.confidences[t].tolist() == pytest.approx(out.confidences, abs=TOL)
        assert batch.gates[t].tolist() == pytest.approx(out.gates, abs=TOL)
    for i, system in enumerate(systems.systems):
        scores, confidences = system.evaluate_batch(matrix)
        assert scores.tolist() == pytest.approx(batch.scores[:, i].tolist(), abs=TOL)
        assert confidences.tolist() == pytest.approx(batch.confidences[:, i].tolist(), abs=TOL)


@pytest.mark.filterwarnings("ignore:.*encountered:RuntimeWarning")
def test_batch_equals_per_candle_across_chunks() -> None:
    rng = np.random.default_rng(3)
    matrix = np.clip(rng.standard_normal((40_000, F)) * 1.5, -4, 4)
    matrix[123] = np.nan
    matrix[35_000, 4] = 1e308
    systems = Systems()
    batch = systems.evaluate_batch(matrix)
    for t in (0, 123, 16_383, 16_384, 35_000, 39_999):
        out = systems.evaluate(matrix[t])
        assert batch.scores[t].tolist() == pytest.approx(out.scores, abs=TOL)
        assert batch.confidences[t].tolist() == pytest.approx(out.confidences, abs=TOL)
    assert np.isfinite(batch.scores).all() and np.isfinite(batch.confidences).all()
