"""Returns, ratios and drawdown: hand-worked cases and properties."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.metrics.drawdown import drawdown_summary
from domain.metrics.returns import (
    DAY_MS,
    annualised_return,
    calmar_ratio,
    daily_returns,
    sharpe_ratio,
    sortino_ratio,
    total_return,
)

D = Decimal


def test_total_return_is_exact() -> None:
    assert total_return(D("10000"), D("10100.01")) == D("0.010001")
    assert total_return(D(0), D(5)) == 0


def test_annualised_return() -> None:
    assert annualised_return(0.1, 365) == pytest.approx(0.1)
    assert annualised_return(0.21, 730) == pytest.approx(0.1)
    assert math.isnan(annualised_return(0.1, 0.5))
    assert annualised_return(-1.0, 10) == -1.0


def test_daily_returns_take_each_days_last_sample_and_skip_empty_days() -> None:
    times = np.array([DAY_MS - 1, DAY_MS + 5, 2 * DAY_MS - 1, 4 * DAY_MS + 1], dtype=np.int64)
    equity = np.array([110.0, 50.0, 121.0, 60.5])
    daily = daily_returns(times, equity, 100.0)
    np.testing.assert_allclose(daily, [0.1, 0.1, -0.5])


def test_sharpe_and_sortino_hand_worked() -> None:
    r = np.array([0.01, -0.01, 0.02, 0.0])
    mean = 0.005
    std = math.sqrt(((0.005) ** 2 + (0.015) ** 2 + (0.015) ** 2 + (0.005) ** 2) / 3)
    assert sharpe_ratio(r) == pytest.approx(mean / std * math.sqrt(365))
    downside = math.sqrt(0.0001 / 4)
    assert sortino_ratio(r) == pytest.approx(mean * math.sqrt(365) / downside)
    assert math.isnan(sharpe_ratio(np.array([0.01, 0.01])))
    assert sortino_ratio(np.array([0.01, 0.02])) == math.inf
    assert math.isnan(sharpe_ratio(np.array([0.01])))


def test_calmar() -> None:
    assert calmar_ratio(0.3, 0.15) == pytest.approx(2.0)
    assert math.isnan(calmar_ratio(0.3, 0.0))


def test_drawdown_hand_worked() -> None:
    times = np.arange(7, dtype=np.int64) * 60_000
    equity = np.array([100.0, 120.0, 90.0, 110.0, 125.0, 100.0, 110.0])
    dd = drawdown_summary(times, equity, 100.0)
    assert dd.max_fraction == pytest.approx(0.25)
    assert dd.max_amount == pytest.approx(30.0)
    assert dd.peak_time == 60_000 and dd.trough_time == 120_000
    # Under water from the peak at t=1 to t=4 (3 min), and from t=4 to the end (2 min).
    assert dd.max_duration_ms == 180_000 and dd.recovered


def test_drawdown_never_recovered_runs_to_the_end() -> None:
    times = np.arange(4, dtype=np.int64) * 1000
    dd = drawdown_summary(times, np.array([90.0, 95.0, 80.0, 99.0]), 100.0)
    assert dd.max_fraction == pytest.approx(0.2)
    assert dd.max_duration_ms == 3000 and not dd.recovered


def test_drawdown_of_a_rising_curve_is_zero() -> None:
    times = np.arange(3, dtype=np.int64)
    dd = drawdown_summary(times, np.array([101.0, 102.0, 103.0]), 100.0)
    assert dd.max_fraction == 0 and dd.max_duration_ms == 0 and dd.peak_time is None


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(min_value=1.0, max_value=1e6), min_size=1, max_size=200))
def test_drawdown_properties(values: list[float]) -> None:
    equity = np.array(values)
    times = np.arange(len(values), dtype=np.int64) * 60_000
    dd = drawdown_summary(times, equity, values[0])
    assert 0 <= dd.max_fraction < 1
    assert dd.max_amount <= max(values) - min(values) + 1e-9
    assert 0 <= dd.max_duration_ms <= times[-1]
    # A brute-force check of the deepest fall.
    worst = max((max(values[: i + 1]) - v) / max(values[: i + 1]) for i, v in enumerate(values))
    assert dd.max_fraction == pytest.approx(worst)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(min_value=-0.5, max_value=0.5), min_size=2, max_size=100))
def test_sharpe_scale_invariance_and_sign(returns: list[float]) -> None:
    r = np.array(returns)
    s = sharpe_ratio(r)
    if math.isnan(s):
        return
    assert np.sign(s) == np.sign(r.mean()) or abs(r.mean()) < 1e-15
    assert sharpe_ratio(r * 2) == pytest.approx(s, rel=1e-9, abs=1e-9)


def test_drawdown_duration_on_market_time_ignores_a_gap() -> None:
    times = np.array([0, 60_000, 10 * 86_400_000, 10 * 86_400_000 + 60_000], dtype=np.int64)
    equity = np.array([100.0, 90.0, 95.0, 101.0])
    elapsed = np.arange(1, 5, dtype=np.int64) * 60_000
    assert drawdown_summary(times, equity, 100.0).max_duration_ms == times[3]
    assert drawdown_summary(times, equity, 100.0, elapsed).max_duration_ms == 180_000
