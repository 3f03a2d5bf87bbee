"""The adaptive grid end to end on real futures BTCUSDT klines (one month): it trades as a
maker, keeps a take-profit on every open leg, stays within its exposure cap, and its state
survives a snapshot / restore round trip exactly."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters.market_data.kline_csv import KlineCsvReader
from application.backtest import BacktestReport
from bootstrap.config import parse_config
from bootstrap.containers import BacktestContainer, PeekedCandles
from domain.grid.adaptive_grid import AdaptiveGrid


@pytest.fixture(scope="module")
def adaptive_run(shared_data: Path) -> tuple[BacktestReport, BacktestContainer]:
    data = shared_data / "klines" / "futures-um" / "BTCUSDT" / "BTCUSDT-1m-2023-07.csv.gz"
    config: dict[str, Any] = {
        "market": {"type": "USDM_FUTURES", "symbol": "BTCUSDT"},
        "account": {"initial_balances": {"USDT": "10000"}},
        "simulation": {"leverage": 3},
        "strategy": {"name": "adaptive_grid"},
    }
    container = BacktestContainer(config=parse_config(config, "test"))
    reader = KlineCsvReader([data])
    container.candles.override(PeekedCandles(reader))
    candles = container.candles()
    report = container.runner().run(candles, gaps=lambda: reader.gaps)
    return report, container


def test_trades_as_a_maker_with_take_profits(adaptive_run: Any) -> None:
    report, container = adaptive_run
    grid = container.strategy()
    assert isinstance(grid, AdaptiveGrid)
    counters = grid.counters()
    assert report.fills > 100 and report.taker_fills == 0
    assert counters["entry_fills"] > 50 and counters["take_profit_fills"] > 50
    assert counters["recenters"] > 0 and counters["modifies"] > 0
    # Every open leg has its take-profit resting (the last fills were answered).
    open_tags = {o.tag for o in container.execution().open_orders.values()}
    for key in grid.legs:
        assert f"tp:{key}" in open_tags
    # The step never went below the fee floor (3 x 2 x 0.02 %).
    assert grid.geometry is not None and grid.geometry.step >= Decimal("0.0012")
    assert container.exchange().max_leverage_seen <= Decimal("1.5")


def test_snapshot_restore_round_trip(adaptive_run: Any) -> None:
    _, container = adaptive_run
    grid = container.strategy()
    state = grid.snapshot()
    assert any(key.startswith("leg:") for key in state)
    fresh = AdaptiveGrid(grid.symbol, grid.params)
    fresh.restore(state)
    assert fresh.snapshot() == state
    # The calendar overlay's counters (weekend candles, CME gaps), when weekend mode is on,
    # are the overlay's own: rebuilt from the clock on a restart, not from the snapshot.
    calendar_keys = set(grid.overlay.counters()) if grid.overlay is not None else set()
    grid_only = {k: v for k, v in grid.counters().items() if k not in calendar_keys}
    assert fresh.counters() == grid_only
    with pytest.raises(ValueError, match="adaptive grid state"):
        fresh.restore({"geometry": "1|2"})
