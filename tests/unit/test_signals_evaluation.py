"""ICs of signal series against forward returns: arithmetic, gaps, split without look-ahead."""

from __future__ import annotations

import math

import numpy as np
import pytest

from domain.candles import MINUTE_MS
from domain.features.names import FEATURE_NAMES
from domain.signals import SignalModel, heuristic_weights, spearman
from domain.signals.evaluation import (
    SERIES,
    IcResult,
    forward_log_returns,
    information_coefficients,
    noise_band,
    parse_horizons,
    sample_masks,
    signal_series,
    split_point,
)

T0 = 1_750_000_020_000 - 1_750_000_020_000 % MINUTE_MS


def _walk(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Gap-free minute times and a random-walk close."""
    rng = np.random.default_rng(seed)
    times = T0 + MINUTE_MS * np.arange(n, dtype=np.int64)
    closes = 100.0 * np.exp(np.cumsum(0.001 * rng.standard_normal(n)))
    return times, closes


def _by_key(results: tuple[IcResult, ...]) -> dict[tuple[str, int, str], IcResult]:
    return {(r.series, r.horizon, r.sample): r for r in results}


# --- forward returns ------------------------------------------------------------------


def test_forward_returns_are_log_ratios_h_minutes_ahead() -> None:
    times, closes = _walk(50, seed=1)
    returns, end = forward_log_returns(times, closes, 3)
    np.testing.assert_allclose(returns[:-3], np.log(closes[3:] / closes[:-3]), rtol=1e-15)
    assert np.isnan(returns[-3:]).all()
    assert end[:-3].tolist() == list(range(3, 50))
    assert end[-3:].tolist() == [-1, -1, -1]


def test_forward_returns_match_by_time_not_position_across_a_gap() -> None:
    # Minutes 0..9, then 20..29: row 9's 1-minute-ahead close does not exist.
    times = T0 + MINUTE_MS * np.r_[np.arange(10), np.arange(20, 30)].astype(np.int64)
    closes = np.arange(1.0, 21.0)
    returns, end = forward_log_returns(times, closes, 1)
    assert math.isnan(returns[9]) and end[9] == -1
    assert returns[8] == pytest.approx(math.log(10.0 / 9.0))
    assert returns[10] == pytest.approx(math.log(12.0 / 11.0))
    # 10 minutes ahead of minutes 0..9 is the hole (10..19); of minutes 20..29 it is past
    # the end. By position, every row but the last ten would have had a "return".
    r10, e10 = forward_log_returns(times, closes, 10)
    assert np.isnan(r10).all() and (e10 == -1).all()
    r20, e20 = forward_log_returns(times, closes, 20)
    assert e20[:10].tolist() == list(range(10, 20))
    assert r20[0] == pytest.approx(math.log(11.0 / 1.0))


def test_forward_returns_skip_non_positive_closes() -> None:
    times = T0 + MINUTE_MS * np.arange(4, dtype=np.int64)
    returns, end = forward_log_returns(times, [1.0, 0.0, 2.0, 4.0], 1)
    assert math.isnan(returns[0]) and math.isnan(returns[1])
    assert end[0] == -1 and end[1] == -1
    assert returns[2] == pytest.approx(math.log(2.0))


@pytest.mark.parametrize(
    ("times", "closes", "horizon"),
    [
        ([2, 1], [1.0, 1.0], 1),
        ([1, 2], [1.0], 1),
        ([1, 2], [1.0, 1.0], 0),
    ],
)
def test_forward_returns_reject_bad_input(
    times: list[int], closes: list[float], horizon: int
) -> None:
    with pytest.raises(ValueError):
        forward_log_returns(times, closes, horizon)


# --- split and masks --------------------------------------------------------------------


def test_split_point_floors_and_validates() -> None:
    assert split_point(101, 0.5) == 50
    assert split_point(0, 0.3) == 0
    for bad in (0.0, 1.0, -0.1, 1.5, math.nan):
        with pytest.raises(ValueError):
            split_point(10, bad)
    with pytest.raises(ValueError):
        split_point(-1, 0.5)


def test_in_sample_mask_drops_the_last_h_rows_before_the_split() -> None:
    times, closes = _walk(100, seed=2)
    for h in (1, 5, 15):
        _, end = forward_log_returns(times, closes, h)
        in_mask, out_mask = sample_masks(end, 60)
        assert np.flatnonzero(in_mask).tolist() == list(range(0, 60 - h))
        assert np.flatnonzero(out_mask).tolist() == list(range(60, 100 - h))


def test_sample_masks_reject_a_split_outside_the_rows() -> None:
    with pytest.raises(ValueError):
        sample_masks(np.array([-1, -1]), 3)


def test_parse_horizons_sorts_dedupes_and_validates() -> None:
    assert parse_horizons([60, 5, 15, 5]) == (5, 15, 60)
    with pytest.raises(ValueError):
        parse_horizons([])
    with pytest.raises(ValueError):
        parse_horizons([5, 0])


# --- information coefficients -----------------------------------------------------------


def test_a_perfect_predictor_has_ic_one_and_the_counts_are_exact() -> None:
    times, closes = _walk(400, seed=3)
    returns, _ = forward_log_returns(times, closes, 15)
    results = information_coefficients(
        {"oracle": returns, "anti": -returns}, times, closes, [15], split_at=200
    )
    got = _by_key(results)
    assert got[("oracle", 15, "in")].ic == pytest.approx(1.0)
    assert got[("oracle", 15, "out")].ic == pytest.approx(1.0)
    assert got[("anti", 15, "out")].ic == pytest.approx(-1.0)
    assert got[("oracle", 15, "in")].n == 200 - 15
    assert got[("oracle", 15, "out")].n == 400 - 200 - 15


def test_results_are_ordered_by_series_horizon_then_sample() -> None:
    times, closes = _walk(300, seed=4)
    rng = np.random.default_rng(4)
    series = {"b": rng.standard_normal(300), "a": rng.standard_normal(300)}
    results = information_coefficients(series, times, closes, [60, 5, 15], split_at=150)
    keys = [(r.series, r.horizon, r.sample) for r in results]
    expected = [(s, h, p) for s in ("b", "a") for h in (5, 15, 60) for p in ("in", "out")]
    assert keys == expected


def test_ics_equal_spearman_on_the_masked_rows() -> None:
    times, closes = _walk(1000, seed=5)
    x = np.random.default_rng(5).standard_normal(1000)
    results = _by_key(information_coefficients({"x": x}, times, closes, [5], split_at=400))
    returns, _ = forward_log_returns(times, closes, 5)
    assert results[("x", 5, "in")].ic == pytest.approx(spearman(x[:395], returns[:395]))
    assert results[("x", 5, "out")].ic == pytest.approx(spearman(x[400:995], returns[400:995]))


def test_pearson_and_spearman_differ_on_a_monotone_nonlinear_predictor() -> None:
    times, closes = _walk(500, seed=6)
    returns, _ = forward_log_returns(times, closes, 1)
    cubed = np.sign(returns) * np.abs(returns) ** 5
    sp = _by_key(information_coefficients({"c": cubed}, times, closes, [1], 250, "spearman"))
    pe = _by_key(information_coefficients({"c": cubed}, times, closes, [1], 250, "pearson"))
    assert sp[("c", 1, "out")].ic == pytest.approx(1.0)
    assert pe[("c", 1, "out")].ic < 0.95


def test_skill_only_in_sample_shows_up_only_in_sample() -> None:
    times, closes = _walk(4000, seed=7)
    returns, _ = forward_log_returns(times, closes, 5)
    noise = np.random.default_rng(70).standard_normal(4000)
    x = np.where(np.arange(4000) < 2000, np.nan_to_num(returns), noise)
    got = _by_key(information_coefficients({"x": x}, times, closes, [5], split_at=2000))
    assert got[("x", 5, "in")].ic == pytest.approx(1.0)
    assert abs(got[("x", 5, "out")].ic) < got[("x", 5, "out")].noise


def test_in_sample_ics_do_not_read_anything_after_the_split() -> None:
    times, closes = _walk(3000, seed=8)
    rng = np.random.default_rng(8)
    x = rng.standard_normal(3000) + 50.0 * np.nan_to_num(forward_log_returns(times, closes, 15)[0])
    split_at = 1500
    horizons = [5, 15, 60]
    before = _by_key(information_coefficients({"x": x}, times, closes, horizons, split_at))

    changed_closes = closes.copy()
    changed_closes[split_at:] *= np.exp(0.05 * rng.standard_normal(3000 - split_at))
    changed_x = x.copy()
    changed_x[split_at:] = rng.standard_normal(3000 - split_at)
    after = _by_key(
        information_coefficients({"x": changed_x}, times, changed_closes, horizons, split_at)
    )
    for h in horizons:
        assert after[("x", h, "in")] == before[("x", h, "in")]
        assert after[("x", h, "out")].ic != before[("x", h, "out")].ic


def test_changing_the_close_just_after_the_split_would_matter_without_the_drop() -> None:
    # The rows the drop removes are exactly those whose return ends after the split: a
    # mask that kept them would read the changed close.
    times, closes = _walk(200, seed=9)
    _, end = forward_log_returns(times, closes, 10)
    in_mask, _ = sample_masks(end, 100)
    kept_ends = end[in_mask]
    assert kept_ends.max() == 99
    assert (end[90:100] >= 100).all() and not in_mask[90:100].any()


def test_too_few_rows_give_nan_not_zero() -> None:
    times, closes = _walk(30, seed=10)
    x = np.arange(30, dtype=np.float64)
    got = _by_key(information_coefficients({"x": x}, times, closes, [5, 60], split_at=0))
    assert got[("x", 5, "in")].n == 0 and math.isnan(got[("x", 5, "in")].ic)
    assert got[("x", 5, "out")].n == 25 and math.isfinite(got[("x", 5, "out")].ic)
    assert got[("x", 60, "out")].n == 0 and math.isnan(got[("x", 60, "out")].ic)


def test_non_finite_series_values_are_left_out_of_the_count() -> None:
    times, closes = _walk(100, seed=11)
    x = np.random.default_rng(11).standard_normal(100)
    x[60:70] = np.nan
    got = _by_key(information_coefficients({"x": x}, times, closes, [1], split_at=50))
    assert got[("x", 1, "out")].n == 100 - 50 - 1 - 10


def test_information_coefficients_validate_their_input() -> None:
    times, closes = _walk(20, seed=12)
    with pytest.raises(ValueError):
        information_coefficients({"x": np.zeros(19)}, times, closes, [1], 10)
    with pytest.raises(ValueError):
        information_coefficients({"x": np.zeros(20)}, times, closes, [1], 10, "kendall")
    with pytest.raises(ValueError):
        information_coefficients({"x": np.zeros(20)}, times, closes, [1], 21)


def test_noise_band_is_two_standard_errors_on_independent_returns() -> None:
    assert noise_band(10_000, 1) == pytest.approx(0.02)
    assert noise_band(10_000, 100) == pytest.approx(0.2)
    assert noise_band(4, 4) == 1.0
    assert math.isnan(noise_band(0, 5))


# --- series from the model ---------------------------------------------------------------


def test_signal_series_are_scores_net_and_sides_of_the_batch() -> None:
    rng = np.random.default_rng(13)
    z = np.clip(rng.standard_normal((64, len(FEATURE_NAMES))), -4.0, 4.0)
    decisions = SignalModel(heuristic_weights(15)).decide_batch(np.arange(64), z)
    series = signal_series(decisions)
    assert tuple(series) == SERIES
    np.testing.assert_array_equal(series["UP"], decisions.scores[:, 0])
    np.testing.assert_array_equal(series["DOWN"], decisions.scores[:, 1])
    np.testing.assert_array_equal(series["NEUTRAL"], decisions.scores[:, 2])
    np.testing.assert_array_equal(
        series["ensemble"], decisions.long_conviction - decisions.short_conviction
    )
    np.testing.assert_array_equal(series["short"], decisions.short_conviction)
    assert np.abs(series["ensemble"]).max() > 0.0
