"""The adaptive grid does not re-send what the exchange refuses: requests per fill stay sane.

Two failures this guards against, each measured before its fix:

* spot: a take-profit sell for more base than the account held was refused on every candle
  (the 90.8-day spot BTCUSDT backtest: 414,748 orders, 414,146 refused, 311 fills);
* futures: a take-profit or entry refused for margin was re-sent on every candle (the
  generated market below, with an exposure cap above what leverage 1 margins: 12,431 orders,
  12,376 refused, 35 fills; the generated year with the default config and the brakes off:
  338,267 orders for 6,982 fills);
* spot: buys the quote could not pay for (the exposure cap counts base as equity, and may
  exceed 1) were sent and refused -2010 again after every fill (the generated market below,
  20,000 minutes at 3x exposure: 481 orders, 333 refused, 106 fills; after: 148, 0, 106).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adapters.market_data.kline_csv import KlineCsvReader
from application.backtest import BacktestReport
from bootstrap.config import parse_config
from bootstrap.containers import BacktestContainer, PeekedCandles
from domain.grid.adaptive_grid import AdaptiveGrid


def _run(document: dict[str, Any], data: list[Path] | None = None) -> tuple[BacktestReport, Any]:
    base: dict[str, Any] = {"signals": {"enabled": False}, "brakes": {"enabled": False}}
    container = BacktestContainer(config=parse_config({**base, **document}, "test"))
    gaps = None
    if data is not None:
        reader = KlineCsvReader(data)
        container.candles.override(PeekedCandles(reader))
        gaps = lambda: reader.gaps  # noqa: E731
    report = container.runner().run(container.candles(), gaps=gaps)
    grid = container.strategy()
    assert isinstance(grid, AdaptiveGrid)
    return report, grid


def test_futures_refusals_for_margin_are_not_resent_every_candle() -> None:
    report, grid = _run(
        {
            "strategy": {"adaptive": {"level_fraction": "0.2", "max_exposure": "5"}},
            "backtest": {"generated": {"minutes": 5000}},
        }
    )
    counters = grid.counters()
    assert report.fills >= 20
    assert counters["entry_refusals"] + counters["take_profit_refusals"] > 0  # it happened
    assert report.orders <= 15 * report.fills, (report.orders, report.fills)
    assert report.rejects <= 10 * report.fills, (report.rejects, report.fills)
    assert any(reason.endswith("INSUFFICIENT_MARGIN") for reason in grid.skipped_levels)


def test_spot_buys_beyond_the_quote_held_are_not_sent() -> None:
    report, grid = _run(
        {
            "market": {"type": "SPOT", "symbol": "BTCUSDT"},
            "strategy": {"adaptive": {"level_fraction": "0.2", "max_exposure": "3"}},
            "backtest": {"generated": {"minutes": 20_000}},
        }
    )
    counters = grid.counters()
    assert report.fills >= 50
    assert report.rejects == 0, (report.rejects, grid.skipped_levels)
    assert counters["entry_refusals"] == 0
    assert report.orders <= 2 * report.fills, (report.orders, report.fills)
    assert grid.skipped_levels.get("INSUFFICIENT_QUOTE", 0) > 0  # waited, and counted


@pytest.mark.slow
def test_spot_take_profits_beyond_the_base_held_are_not_sent(shared_data: Path) -> None:
    folder = shared_data / "klines" / "spot" / "BTCUSDT"
    files = [folder / f"BTCUSDT-1m-2025-0{month}.csv.gz" for month in (5, 6, 7, 8)]
    report, grid = _run({"market": {"type": "SPOT", "symbol": "BTCUSDT"}}, files)
    assert report.candles == 130_708
    assert report.fills > 100
    assert report.rejects <= report.fills // 10, (report.rejects, report.fills)
    assert report.orders <= 5 * report.fills, (report.orders, report.fills)
    assert grid.skipped_levels.get("TP_INSUFFICIENT_BASE", 0) > 0  # waited, and counted
