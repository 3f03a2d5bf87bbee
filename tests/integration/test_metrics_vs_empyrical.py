"""The metrics checked against empyrical (an independent, well-kept implementation).

A real backtest (futures BTCUSDT, a month of 1m klines with real funding) gives an equity
curve; empyrical computes Sharpe, Sortino, annual return, max drawdown and Calmar from the
same daily returns, and the max drawdown from the minute returns.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from bootstrap.config import parse_config
from bootstrap.containers import BacktestContainer
from domain.metrics.drawdown import drawdown_summary
from domain.metrics.returns import (
    annualised_return,
    calmar_ratio,
    daily_returns,
    sharpe_ratio,
    sortino_ratio,
)
from domain.metrics.summary import measure_run

empyrical = pytest.importorskip("empyrical", reason="empyrical-reloaded (the dev extra)")


@pytest.fixture(scope="module")
def run(shared_data: Path):  # type: ignore[no-untyped-def]
    config = parse_config(
        {
            "market": {"type": "USDM_FUTURES", "symbol": "BTCUSDT"},
            "account": {"initial_balances": {"USDT": "10000"}},
            "simulation": {
                "leverage": 3,
                "funding_file": str(shared_data / "funding" / "BTCUSDT.csv"),
            },
            "strategy": {
                "name": "static_grid",
                "levels": 10,
                "spacing": "0.002",
                "quote_per_level": "300",
            },
            "signals": {"enabled": False},
        },
        "test",
    )
    container = BacktestContainer(config=config)
    container.data.override(
        str(shared_data / "klines" / "futures-um" / "BTCUSDT" / "BTCUSDT-1m-2025-06.csv.gz")
    )
    candles = container.candles()
    report = container.runner().run(candles)
    return report, container.recorder().record(report)


def test_daily_ratios_match_empyrical(run) -> None:  # type: ignore[no-untyped-def]
    _, record = run
    equity = record.equity_curve()
    daily = daily_returns(record.times_ms, equity, float(record.initial_equity))
    assert len(daily) >= 20  # the file has gaps: 23 days of candles
    assert sharpe_ratio(daily) == pytest.approx(
        empyrical.sharpe_ratio(daily, annualization=365), rel=1e-9
    )
    assert sortino_ratio(daily) == pytest.approx(
        empyrical.sortino_ratio(daily, annualization=365), rel=1e-9
    )
    total = float(np.prod(1 + daily) - 1)
    annual = annualised_return(total, len(daily))
    assert annual == pytest.approx(empyrical.annual_return(daily, annualization=365), rel=1e-9)
    day_close = np.cumprod(1 + daily) * float(record.initial_equity)
    days = np.arange(len(daily), dtype=np.int64)
    daily_dd = drawdown_summary(days, day_close, float(record.initial_equity)).max_fraction
    assert -daily_dd == pytest.approx(empyrical.max_drawdown(daily), rel=1e-9)
    assert calmar_ratio(annual, daily_dd) == pytest.approx(
        empyrical.calmar_ratio(daily, annualization=365), rel=1e-9
    )


def test_minute_drawdown_matches_empyrical_and_the_exact_figure(run) -> None:  # type: ignore[no-untyped-def]
    report, record = run
    equity = record.equity_curve()
    curve = np.concatenate(([float(record.initial_equity)], equity))
    minute_returns = curve[1:] / curve[:-1] - 1
    ours = drawdown_summary(record.times_ms, equity, float(record.initial_equity))
    assert -ours.max_fraction == pytest.approx(empyrical.max_drawdown(minute_returns), rel=1e-9)
    assert ours.max_fraction == pytest.approx(float(report.max_drawdown), rel=1e-6)
    metrics = measure_run(record)
    assert math.isfinite(metrics.sharpe)
    assert metrics.final_equity == report.final_equity
