"""Each system on its own job: the arithmetic of domain.signals.jobs on made-up series."""

from __future__ import annotations

import math

import numpy as np
import pytest

from domain.signals.decision import BatchDecisions
from domain.signals.jobs import forward_efficiency_ratio, neutral_jobs, trend_jobs

T0 = 1_704_067_200_000
MIN = 60_000


def _decisions(times: np.ndarray, scores: np.ndarray, confidences: np.ndarray) -> BatchDecisions:
    n = times.shape[0]
    return BatchDecisions(
        open_time=times,
        features=np.zeros((n, 1)),
        scores=scores,
        confidences=confidences,
        gates=np.ones((n, 3)),
        system_weights=(1 / 3, 1 / 3, 1 / 3),
        long_conviction=np.zeros(n),
        short_conviction=np.zeros(n),
        regime_codes=np.argmax(confidences, axis=1).astype(np.int8),
    )


def test_efficiency_ratio_is_one_on_a_straight_line_zero_on_a_round_trip_nan_across_gaps() -> None:
    times = T0 + MIN * np.array([0, 1, 2, 3, 4, 5, 6, 20, 21, 22])
    closes = np.array([100.0, 101, 102, 103, 102, 101, 100, 50, 51, 52])
    er, end = forward_efficiency_ratio(times, closes, 3)
    assert er[0] == pytest.approx(1.0)  # 100 -> 103 straight
    assert er[3] == pytest.approx(1.0)  # 103 -> 100 straight down
    assert er[2] == pytest.approx(1 / 3)  # 102 -> 103 -> 102 -> 101: net 1 of 3 travelled
    assert math.isnan(er[4]) and math.isnan(er[5])  # their window crosses the gap
    assert er[7] == pytest.approx(np.nan, nan_ok=True) and end[7] == -1  # no row 3 min later
    flat, _ = forward_efficiency_ratio(T0 + MIN * np.arange(5), np.full(5, 7.0), 2)
    assert flat[:3].tolist() == [0.0, 0.0, 0.0]  # a flat market is all range


def _random_walk(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    times = T0 + MIN * np.arange(n, dtype=np.int64)
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 1e-3, n)))
    ahead = np.append(np.log(closes[5:] / closes[:-5]), np.zeros(5))
    return times, closes, ahead


def test_a_trend_system_that_foresees_its_direction_has_an_edge_and_one_that_fights_it_not() -> (
    None
):
    times, closes, ahead = _random_walk(4000, 1)
    scores = np.stack([np.sign(ahead), np.sign(ahead), np.zeros_like(ahead)], axis=1)
    scores[:, 1] *= -1  # DOWN votes down exactly when the price is about to rise: wrong
    confidences = np.full((4000, 3), 0.5)
    jobs = {
        (j.system, j.sample): j
        for j in trend_jobs(_decisions(times, scores, confidences), closes, [5], 2000)
    }
    up, down = jobs[("UP", "out")], jobs[("DOWN", "out")]
    assert up.hit_rate == 1.0 and up.edge_bps > 0 and up.mean_bps > 0
    # DOWN votes down (score < 0) only before rises: every such row loses in its direction.
    assert down.rows > 0 and down.hit_rate == 0.0 and down.mean_bps < 0 and down.edge_bps < 0
    assert up.drift_bps == pytest.approx(-down.drift_bps)
    assert up.edge_bps == pytest.approx(up.mean_bps - up.drift_bps)
    # UP leads the rows it votes up on; in-sample rows whose window ends after the split are
    # dropped, as for the IC.
    assert jobs[("UP", "in")].rows == int((ahead[: 2000 - 5] > 0).sum())


def test_neutral_confident_before_choppy_windows_scores_a_positive_ic() -> None:
    times, closes, _ = _random_walk(3000, 2)
    er, _ = forward_efficiency_ratio(times, closes, 15)
    choppy = np.nan_to_num(1.0 - er, nan=0.5)
    confidences = np.stack([np.full(3000, 0.5), np.full(3000, 0.5), choppy], axis=1)
    scores = np.zeros((3000, 3))
    [ins, out] = neutral_jobs(_decisions(times, scores, confidences), closes, [15], 1500)
    assert out.ic == pytest.approx(1.0) and ins.ic == pytest.approx(1.0)
    assert out.er_led < out.er_other  # NEUTRAL leads where the coming window is choppy
    inverted = np.stack([np.full(3000, 0.5), np.full(3000, 0.5), 1.0 - choppy], axis=1)
    [_, worse] = neutral_jobs(_decisions(times, scores, inverted), closes, [15], 1500)
    assert worse.ic == pytest.approx(-1.0)
