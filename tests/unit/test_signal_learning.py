"""Weekly re-weighting: boundaries, shrinkage bound, the choice and its fallback, no look-ahead."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.features.names import FEATURE_NAMES
from domain.signals import learning
from domain.signals.learning import (
    WEEK_MS,
    LearningSettings,
    boundary_at_or_before,
    choose_source,
    relearn,
    shrink,
)
from domain.signals.systems import SPECS
from domain.signals.weights import SignalWeights, fit_weights, heuristic_weights

F = len(FEATURE_NAMES)
MONDAY = 1_704_067_200_000  # 2024-01-01 00:00 UTC


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def test_boundary_is_the_configured_weekday_and_hour() -> None:
    assert boundary_at_or_before(_ms("2024-01-03T12:00"), 0, 0) == _ms("2024-01-01T00:00")
    assert boundary_at_or_before(_ms("2024-01-01T00:00"), 0, 0) == _ms("2024-01-01T00:00")
    assert boundary_at_or_before(_ms("2023-12-31T23:59"), 0, 0) == _ms("2023-12-25T00:00")
    assert boundary_at_or_before(_ms("2024-01-03T12:00"), 6, 22) == _ms("2023-12-31T22:00")


@given(st.integers(0, 4_000_000_000_000), st.integers(0, 6), st.integers(0, 23))
def test_boundary_property(t: int, weekday: int, hour: int) -> None:
    b = boundary_at_or_before(t, weekday, hour)
    assert b <= t < b + WEEK_MS
    when = datetime.fromtimestamp(b / 1000, tz=UTC)
    assert (when.weekday(), when.hour, when.minute) == (weekday, hour, 0)


def _random_weights(rng: np.random.Generator) -> SignalWeights:
    vectors = []
    for spec in SPECS:
        v = np.where(spec.used(), rng.random(F), 0.0)
        vectors.append(tuple((v / v.sum()).tolist()))
    s = rng.random(3)
    s[rng.integers(0, 3)] = 0.0  # a system may have weight zero
    s = s / s.sum()
    base = heuristic_weights(15)
    return SignalWeights(
        feature_weights=(vectors[0], vectors[1], vectors[2]),
        system_weights=(float(s[0]), float(s[1]), float(s[2])),
        method="spearman",
        horizon=15,
        samples=5000,
        fallback=False,
        fallback_parts=(),
        feature_ics=base.feature_ics,
        system_ics=base.system_ics,
        ic_threshold=0.05,
    )


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.01, 1.0))
def test_shrink_never_moves_a_weight_by_more_than_the_step(seed: int, step: float) -> None:
    rng = np.random.default_rng(seed)
    current, candidate = _random_weights(rng), _random_weights(rng)
    moved = shrink(current, candidate, step)
    assert max(
        abs(a - b) for a, b in zip(moved.system_weights, current.system_weights, strict=True)
    ) <= (step + 1e-12)
    assert math.isclose(sum(moved.system_weights), 1.0, rel_tol=1e-12)
    for new, old in zip(moved.feature_weights, current.feature_weights, strict=True):
        assert max(abs(a - b) for a, b in zip(new, old, strict=True)) <= step + 1e-12
        assert math.isclose(sum(new), 1.0, rel_tol=1e-9)


def test_shrink_with_a_full_step_is_the_candidate_and_can_reach_zero() -> None:
    rng = np.random.default_rng(1)
    current, candidate = _random_weights(rng), _random_weights(rng)
    moved = shrink(current, candidate, 1.0)
    assert np.allclose(moved.system_weights, candidate.system_weights)
    assert min(moved.system_weights) == 0.0


@pytest.mark.parametrize(
    ("candidate", "current", "heuristic", "source"),
    [
        (0.05, 0.02, 0.01, "refit"),
        (0.01, 0.02, 0.00, "current"),  # the refit is worse: keep the current weights
        (0.03, 0.02, 0.04, "heuristic"),  # neither beats the heuristic: fall back
        (0.01, 0.02, 0.03, "heuristic"),
        (0.02, 0.02, 0.00, "current"),  # a tie is not a win for the refit
        (math.nan, 0.02, 0.00, "current"),
        (0.05, math.nan, 0.01, "refit"),
        (math.nan, math.nan, math.nan, "heuristic"),
    ],
)
def test_choice_between_refit_current_and_heuristic(
    candidate: float, current: float, heuristic: float, source: str
) -> None:
    scores = {"candidate": candidate, "current": current, "heuristic": heuristic}
    assert choose_source(scores) == source


def _market(weeks: float, seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows where 1m.logret_5 (read by UP) predicts the 15-minute forward return, plus noise."""
    rng = np.random.default_rng(seed)
    n = int(weeks * 10_080)
    times = MONDAY + np.arange(n, dtype=np.int64) * 60_000
    steps = rng.normal(0.0, 1e-3, n)
    closes = 100.0 * np.exp(np.cumsum(steps))
    z = rng.normal(0.0, 1.0, (n, F))
    fwd = np.full(n, 0.0)
    fwd[:-15] = np.log(closes[15:] / closes[:-15])
    z[:, 1] = np.clip(fwd / fwd.std() + rng.normal(0.0, 2.0, n), -4, 4)
    return times, closes, z


SETTINGS = LearningSettings(trailing_weeks=2, max_step=0.5, purge_minutes=60, horizon=15)


def test_relearn_refuses_rows_at_or_after_the_boundary() -> None:
    times, closes, z = _market(3.2)
    boundary = MONDAY + 3 * WEEK_MS
    with pytest.raises(ValueError, match="look-ahead"):
        relearn(boundary, times, closes, z, heuristic_weights(15), SETTINGS)


def test_relearn_skips_with_too_little_data() -> None:
    times, closes, z = _market(0.5)
    update = relearn(MONDAY + WEEK_MS, times, closes, z, heuristic_weights(15), SETTINGS)
    assert update.source == "skipped" and update.weights == update.previous


def test_relearn_reads_only_the_trailing_weeks_and_the_held_out_week() -> None:
    times, closes, z = _market(6.0)
    boundary = MONDAY + 6 * WEEK_MS
    current = heuristic_weights(15)
    full = relearn(boundary, times, closes, z, current, SETTINGS)
    # Rows older than trailing_weeks + 1 weeks are not read: changing them changes nothing.
    old = times < boundary - SETTINGS.lookback_ms
    z2 = z.copy()
    z2[old] = -z2[old]
    closes2 = closes.copy()
    closes2[old] *= 1.5
    assert relearn(boundary, times, closes2, z2, current, SETTINGS) == full
    assert full.fit_rows == 2 * 10_080 - 60 and full.validation_rows == 10_080
    assert full.source in {"refit", "current", "heuristic"}


def test_a_worse_refit_is_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    times, closes, z = _market(4.0)
    boundary = MONDAY + 4 * WEEK_MS
    current = fit_weights(z[:10_000], closes[:10_000], 15, min_samples=1000)
    heuristic = heuristic_weights(15)

    def scored(weights: SignalWeights, *args: object) -> float:
        if weights == current:
            return 0.02
        if weights == heuristic:
            return 0.03
        return 0.01  # the refit

    monkeypatch.setattr(learning, "validation_score", scored)
    update = relearn(boundary, times, closes, z, current, SETTINGS)
    assert update.source == "heuristic" and update.weights == heuristic
    assert update.candidate is not None and update.candidate != current


def test_a_predictive_feature_is_learned_and_kept() -> None:
    times, closes, z = _market(4.0)
    boundary = MONDAY + 4 * WEEK_MS
    update = relearn(boundary, times, closes, z, heuristic_weights(15), SETTINGS)
    assert update.source == "refit"
    assert update.scores["candidate"] > update.scores["heuristic"]
