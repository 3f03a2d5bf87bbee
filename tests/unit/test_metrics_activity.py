"""Fills, fill rate, exposure and request rates: hand-worked cases."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from domain.enums import Side
from domain.metrics.activity import (
    FUTURES_LIMITS,
    SPOT_LIMITS,
    FillRecord,
    exposure,
    fill_activity,
    fill_rate,
    position_path,
    request_rates,
)

D = Decimal


def fill(t: int, qty: str, price: str, fee: str, maker: bool) -> FillRecord:
    q = D(qty)
    side = Side.BUY if q > 0 else Side.SELL
    return FillRecord(t, side, D(price), abs(q), D(fee), maker, q, -q * D(price) - D(fee))


def test_fill_activity() -> None:
    fills = [
        fill(0, "1", "100", "0.02", True),
        fill(1, "-1", "110", "0.022", True),
        fill(2, "2", "105", "0.105", False),
    ]
    act = fill_activity(fills, D(1000))
    assert act.fills == 3 and act.maker_fills == 2 and act.taker_fills == 1
    assert act.maker_taker_ratio == 2
    assert act.traded_notional == D(420)
    assert act.maker_volume_share == D(210) / D(420)
    assert act.fees == D("0.147")
    assert act.turnover == D("0.42")


def test_fill_rate() -> None:
    assert fill_rate(95, 100) == D("0.95")
    assert fill_rate(0, 0) is None


def test_position_path_counts_fills_at_or_before_each_sample() -> None:
    samples = np.array([59_999, 119_999, 179_999], dtype=np.int64)
    fills = np.array([10, 59_999, 150_000], dtype=np.int64)
    path = position_path(samples, fills, np.array([1.0, 1.0, -3.0]), 0.5)
    np.testing.assert_allclose(path, [2.5, 2.5, -0.5])


def test_exposure() -> None:
    exp = exposure(
        np.array([100.0, 100.0, 200.0]), np.array([1000.0, 500.0, 1000.0]), np.array([0, 5, -5.0])
    )
    assert exp.average_notional == pytest.approx(500.0)
    assert exp.max_notional == pytest.approx(1000.0)
    assert exp.average_leverage == pytest.approx(2 / 3)
    assert exp.max_leverage == pytest.approx(1.0)
    assert exp.time_in_market == pytest.approx(2 / 3)


def test_request_rates_against_limits() -> None:
    hour = 3_600_000
    new = np.array([0] * 120 + [hour + 5] * 10, dtype=np.int64)
    cancel = np.array([0, hour], dtype=np.int64)
    rates = request_rates(new, np.zeros(0, dtype=np.int64), cancel, 2 * hour, SPOT_LIMITS)
    assert rates.new == 130 and rates.cancel == 2 and rates.modify == 0
    assert rates.new_per_hour == 65 and rates.cancel_per_hour == 1
    assert rates.peak_orders_per_10s == 120 and rates.peak_requests_per_hour == 121
    assert rates.peak_weight_per_minute == 121
    assert not rates.within_limits  # 120 orders in 10 s > spot's 100
    futures = request_rates(new, np.zeros(0, dtype=np.int64), cancel, 2 * hour, FUTURES_LIMITS)
    assert futures.within_limits
