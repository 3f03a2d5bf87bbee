"""The baseline strategies run through the real backtest wiring (generated market)."""

from __future__ import annotations

import dataclasses
import math
from decimal import Decimal
from typing import Any

import pytest

from bootstrap.config import parse_config
from bootstrap.strategy_runs import (
    StrategyRun,
    baseline_config,
    baseline_names,
    run_baselines,
    run_strategy,
)
from domain.baselines.buy_and_hold import BuyAndHold
from domain.grid.neutral_grid import NeutralGrid, NeutralGridParams
from domain.grid.volatility_grid import VolatilityGrid, VolatilityGridParams
from domain.metrics.comparison import COMPARED, best_by_metric

D = Decimal


def _config(name: str, market: str = "USDM_FUTURES", **strategy: Any) -> Any:
    balances = {"USDT": "10000"} if market == "USDM_FUTURES" else {"USDT": "10000", "BTC": "0"}
    return parse_config(
        {
            "market": {"type": market, "symbol": "BTCUSDT"},
            "account": {"initial_balances": balances},
            "strategy": {"name": name, **strategy},
            "signals": {"enabled": False},
            "backtest": {"generated": {"minutes": 3 * 1440, "seed": 5}},
        },
        "test",
    )


def test_buy_and_hold_futures_is_one_1x_long() -> None:
    run = run_strategy(_config("buy_and_hold"), None)
    record, report = run.record, run.report
    assert len(record.fills.samples) == 1 and not record.fills.maker[0]
    assert len(record.new_ms) == 1 and len(record.cancel_ms) == 0
    notional = report.position * report.last_price
    price_move = report.last_price / D(str(record.fills.prices[0]))
    assert D("0.99") * price_move <= notional / report.initial_equity <= price_move
    assert run.metrics.trades.count == 1 and run.metrics.trades.open_marked == 1


def test_buy_and_hold_spot_goes_all_in() -> None:
    run = run_strategy(_config("buy_and_hold", "SPOT"), None)
    assert run.report.final_cash < D("0.01") * run.report.initial_equity
    assert run.report.position > 0


def test_neutral_grid_keeps_its_lines_and_never_recentres() -> None:
    run = run_strategy(_config("neutral_grid", lines=10, range_fraction="0.02"), None)
    grid = run.container.strategy()
    assert isinstance(grid, NeutralGrid)
    assert len(grid.prices) == 11
    steps = {b - a for a, b in zip(grid.prices, grid.prices[1:], strict=False)}
    assert max(steps) - min(steps) <= D("0.2")  # arithmetic up to a tick of rounding
    assert len(run.record.cancel_ms) == 0
    fills = run.record.fills
    assert len(fills.samples) > 0
    lines = {float(p) for p in grid.prices}
    assert all(p in lines for p, m in zip(fills.prices, fills.maker, strict=True) if m)
    sizes = {abs(q) for q, m in zip(fills.position_changes, fills.maker, strict=True) if m}
    assert sizes == {float(grid.quantity)}


def test_neutral_grid_with_a_price_range() -> None:
    params = NeutralGridParams(lines=4, lower=D(100), upper=D(200))
    assert params.lower == D(100)
    with pytest.raises(ValueError):
        NeutralGridParams(lines=4, lower=D(100))
    with pytest.raises(ValueError):
        NeutralGridParams(lines=1)


def test_volatility_grid_waits_for_warmup_and_clears_fees() -> None:
    run = run_strategy(_config("volatility_grid", volatility_window=120), None)
    grid = run.container.strategy()
    assert isinstance(grid, VolatilityGrid)
    first_order = int(run.record.new_ms[0])
    assert first_order >= int(run.record.times_ms[grid.params.warmup - 2])
    assert grid.spacing >= grid.params.fee_floor
    assert grid.params.fee_floor == 2 * D("0.0002") + D("0.0002")


def test_volatility_grid_state_round_trips() -> None:
    params = VolatilityGridParams(levels=3, quote_per_level=D(100), warmup=2)
    grid = VolatilityGrid("BTCUSDT", params)
    grid._variance, grid._seen, grid._previous = 1e-6, 10, 100.0
    grid.spacing = D("0.0031")
    copy = VolatilityGrid("BTCUSDT", params)
    copy.restore(grid.snapshot())
    assert copy.snapshot() == grid.snapshot()
    assert copy.grid.params.spacing == D("0.0031")


def test_buy_and_hold_state() -> None:
    hold = BuyAndHold("BTCUSDT")
    hold.bought = True
    again = BuyAndHold("BTCUSDT")
    again.restore(hold.snapshot())
    assert again.bought


def test_baselines_share_data_and_fees_and_skip_the_configured_strategy() -> None:
    config = _config("static_grid")
    assert baseline_names(config) == ("buy_and_hold", "neutral_grid", "volatility_grid")
    assert not baseline_config(config, "neutral_grid").signals.enabled
    main = run_strategy(config, None)
    runs = run_baselines(config, None)
    assert [r.name for r in runs] == ["buy_and_hold", "neutral_grid", "volatility_grid"]
    for run in runs:
        assert run.report.candles == main.report.candles
        assert run.report.first_open_time == main.report.first_open_time
        assert run.report.initial_equity == main.report.initial_equity
    _check_best(main, runs)


def _check_best(main: StrategyRun, runs: list[StrategyRun]) -> None:
    compared = {"main": main.metrics, **{r.name: r.metrics for r in runs}}
    best = best_by_metric(compared)
    assert set(best) == {c.key for c in COMPARED}
    top = max(m.total_return for m in compared.values())
    assert best["total_return"] == tuple(n for n, m in compared.items() if m.total_return == top)
    low = min(m.max_drawdown for m in compared.values())
    assert all(compared[n].max_drawdown == low for n in best["max_drawdown"])


def test_best_by_metric_ties_and_undefined_values() -> None:
    run = run_strategy(_config("buy_and_hold"), None)
    a = dataclasses.replace(run.metrics, total_return=D("0.1"), sharpe=math.nan)
    b = dataclasses.replace(run.metrics, total_return=D("0.1"), sharpe=1.0)
    c = dataclasses.replace(run.metrics, total_return=D("-0.2"), sharpe=math.nan)
    best = best_by_metric({"a": a, "b": b, "c": c})
    assert best["total_return"] == ("a", "b")
    assert best["sharpe"] == ("b",)


def test_a_window_of_candles_in_memory_runs_like_a_data_source() -> None:
    from adapters.market_data.generated import GeneratedMarket
    from bootstrap.strategy_runs import CandleWindow

    config = _config("static_grid")
    market = list(GeneratedMarket("BTCUSDT", 1_704_067_200_000, 600, 5, D("42000"), D("0.1")))
    whole = run_strategy(config, None, candles=CandleWindow("BTCUSDT", market))
    assert whole.report.candles == 600
    window = market[100:400]
    runs = run_baselines(config, None, candles=lambda: CandleWindow("BTCUSDT", window))
    assert all(r.report.candles == 300 for r in runs)
    assert all(r.report.first_open_time == window[0].open_time for r in runs)


def test_volatility_grid_leaves_out_the_return_across_a_gap() -> None:
    from domain.candles import Candle

    grid = VolatilityGrid("BTCUSDT", VolatilityGridParams(warmup=1000))

    def candle(t: int, close: str) -> Candle:
        c = D(close)
        return Candle(t, c, c, c, c, D(1), t + 59_999)

    class NoContext:
        pass

    grid.on_candle(candle(0, "100"), NoContext())  # type: ignore[arg-type]
    grid.on_candle(candle(60_000, "101"), NoContext())  # type: ignore[arg-type]
    contiguous = grid._variance
    assert contiguous > 0
    grid.on_candle(candle(86_400_000, "300"), NoContext())  # type: ignore[arg-type]
    assert grid._variance == contiguous
