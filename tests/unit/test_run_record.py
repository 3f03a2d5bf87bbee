"""The run recorder fed by the backtest loop: its record agrees with the exact report."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.market_data.generated import GeneratedMarket
from bootstrap.config import parse_config
from bootstrap.containers import BacktestContainer
from domain.metrics.summary import measure_run

D = Decimal


def _run(market: str, balances: dict[str, str], signals: bool = False):  # type: ignore[no-untyped-def]
    config = parse_config(
        {
            "market": {"type": market, "symbol": "BTCUSDT"},
            "account": {"initial_balances": balances},
            "strategy": {
                "name": "static_grid",
                "levels": 5,
                "spacing": "0.002",
                "quote_per_level": "200",
            },
            "signals": {"enabled": signals, "window": 120, "fit_min_samples": 100},
            "backtest": {"generated": {"minutes": 4 * 1440, "seed": 3}},
        },
        "test",
    )
    container = BacktestContainer(config=config)
    candles = container.candles()
    assert isinstance(candles.source, GeneratedMarket)
    report = container.runner().run(candles)
    return report, container.recorder()


@pytest.mark.parametrize(
    ("market", "balances"),
    [("USDM_FUTURES", {"USDT": "10000"}), ("SPOT", {"USDT": "10000", "BTC": "0.05"})],
)
def test_record_agrees_with_the_report(market: str, balances: dict[str, str]) -> None:
    report, recorder = _run(market, balances)
    record = recorder.record(report)
    assert len(record.times_ms) == report.candles
    assert len(record.fills.samples) == report.fills
    assert int(record.fills.maker.sum()) == report.maker_fills
    assert record.fill_activity.fills == report.fills
    equity = record.equity_curve()
    assert float(equity[-1]) == pytest.approx(float(report.final_equity), rel=1e-9)
    metrics = measure_run(record)
    assert metrics.fills.fees == report.fees
    assert metrics.funding == report.funding
    assert metrics.final_equity == report.final_equity
    assert metrics.max_drawdown == report.max_drawdown
    assert len(record.new_ms) >= report.orders
    assert metrics.fill_rate is not None and 0 < metrics.fill_rate <= 1
    # The float curve's drawdown is the exact one up to float rounding.
    from domain.metrics.drawdown import drawdown_summary

    dd = drawdown_summary(record.times_ms, equity, float(record.initial_equity))
    assert dd.max_fraction == pytest.approx(float(report.max_drawdown), rel=1e-6)
    # The FIFO trades' PnL plus funding is the run's whole PnL (open lots marked).
    pnl = metrics.trades.net_pnl + metrics.funding
    assert abs(pnl - (report.final_equity - report.initial_equity)) < D("1e-6")


def test_decisions_are_recorded_when_the_signal_runs() -> None:
    _, recorder = _run("USDM_FUTURES", {"USDT": "10000"}, signals=True)
    rows = recorder.decisions
    assert len(rows.open_time) > 0 and len(rows.regime) == len(rows.open_time)
    assert all(0 <= c <= 1 for c in rows.long_conviction)
    assert set(rows.regime) <= {"UP", "DOWN", "NEUTRAL"}


def test_streamed_trades_equal_the_batch_fifo_of_the_same_fills() -> None:
    from domain.metrics.trades import trade_stats

    config = parse_config(
        {
            "strategy": {
                "name": "static_grid",
                "levels": 5,
                "spacing": "0.002",
                "quote_per_level": "200",
            },
            "signals": {"enabled": False},
            "backtest": {"generated": {"minutes": 2 * 1440, "seed": 9}},
        },
        "test",
    )
    container = BacktestContainer(config=config)
    recorder = container.recorder()
    recorder.trades = []  # keep them
    candles = container.candles()
    report = container.runner().run(candles)
    record = recorder.record(report)
    assert record.trades is not None
    assert trade_stats(record.trades) == record.trade_stats
    assert record.trade_stats.count > 0
