"""One walk-forward window, run in a worker process (local or on a Ray node).

The window is run by the same machinery as ``gridbot backtest``: the backtest container
wires the simulated exchange, the execution service, the strategy and the signal, and
:class:`~application.backtest.BacktestRunner` drives them. Only three things are given from
outside: the candles (the window's slice of the series), the signal (its weights fitted on
the window's past, never on the window) and, for a baseline, the strategy.

A worker keeps the last series it decoded, so the windows of one series (dispatched in
order) decode its files once per worker instead of once per window.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import numpy as np
from dependency_injector import providers

from adapters.market_data.kline_csv import KlineCsvReader
from adapters.simulated.funding import FundingSchedule
from application.evaluation import TradeTally, WindowResult
from application.ports.market_data import CandleGap
from application.signals import signal_tracker
from application.walk_forward import Window
from bootstrap.config import AppConfig
from bootstrap.containers import (
    BacktestContainer,
    PeekedCandles,
    signal_settings,
    simulation_settings,
)
from bootstrap.evaluation.series import SeriesSpec
from bootstrap.strategy_runs import baseline_config
from domain.candles import Candle
from domain.metrics.returns import daily_returns
from domain.metrics.summary import measure_run

HOUR_MS = 3_600_000

#: Fill models: the simulation settings each one overrides.
FILL_MODELS: dict[str, dict[str, Any]] = {
    # The configured simulation as it is (by default: trade-through by any amount, at most
    # 25 % of a candle's volume, take-profits placed after the candle that filled the entry).
    "normal": {},
    # A queue position at the back: a level fills only once price trades 3 bp through it,
    # and at most 10 % of a candle's volume. Take-profits already rest from the next candle
    # in both models (a candle's fills are answered after the candle).
    "pessimistic": {
        "touch_fills": False,
        "trade_through": Decimal("0.0003"),
        "max_volume_share": Decimal("0.10"),
    },
}


#: Strategies (``strategy.name``) whose decisions read the signal. For them ``--signals auto``
#: fits the weights on each window's past and runs the signal; for the others (the static
#: grid) the signal would be computed and thrown away, at three quarters of the run's cost.
SIGNAL_DRIVEN: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class WindowTask:
    """Everything a worker needs to run one window (picklable).

    Attributes:
        series: The series.
        window: The window (traded part and the start of its past).
        run: ``strategy`` for the configured strategy, else a baseline's name.
        variant: Parameter set name ("" without a sweep).
        config: The configuration of this variant; for a baseline, the configuration with
            only ``strategy.name`` changed and the signal off
            (:func:`bootstrap.strategy_runs.baseline_config`), so the container builds it.
        fill_model: A key of :data:`FILL_MODELS`.
        signals: Run the signal (weights fitted on the window's past) beside the strategy.
    """

    series: SeriesSpec
    window: Window
    run: str
    variant: str
    config: AppConfig
    fill_model: str
    signals: bool = True


class _SeriesCandles:
    """A decoded series with its open times, for slicing windows by time."""

    def __init__(self, files: tuple[str, ...], symbol: str) -> None:
        self.candles: list[Candle] = list(KlineCsvReader(files, symbol=symbol))
        self.times: list[int] = [c.open_time for c in self.candles]

    def between(self, start: int, end: int) -> list[Candle]:
        """Candles with ``start <= open_time < end``."""
        lo = bisect.bisect_left(self.times, start)
        hi = bisect.bisect_left(self.times, end)
        return self.candles[lo:hi]


_cache: dict[tuple[str, ...], _SeriesCandles] = {}


def _series_candles(spec: SeriesSpec) -> _SeriesCandles:
    found = _cache.get(spec.files)
    if found is None:
        _cache.clear()  # one series per worker at a time: memory stays bounded
        found = _cache[spec.files] = _SeriesCandles(spec.files, spec.symbol)
    return found


class _WindowCandles:
    """The window's candles as a historical source (no gaps: a window never spans one)."""

    def __init__(self, symbol: str, candles: list[Candle]) -> None:
        self.symbol = symbol
        self._candles = candles
        self.gaps: list[CandleGap] = []

    def __iter__(self) -> Iterator[Candle]:
        return iter(self._candles)


def _hourly(times: Any, equity: Any) -> tuple[list[int], list[float]]:
    """The curve's last point of every hour (and the very last), for plots and chaining."""
    if len(times) == 0:
        return [], []
    hours = (times + 1) // HOUR_MS
    last = np.flatnonzero(np.diff(hours, append=hours[-1] + 1))
    return [int(t) + 1 for t in times[last]], [float(e) for e in equity[last]]


_funding: dict[str, FundingSchedule] = {}


def _funding_schedule(path: str) -> FundingSchedule:
    """A funding history read once per worker (every window of the series shares it)."""
    found = _funding.get(path)
    if found is None:
        found = _funding[path] = FundingSchedule.from_csv(path)
    return found


def window_task(
    series: SeriesSpec,
    window: Window,
    run: str,
    variant: str,
    config: AppConfig,
    fill_model: str,
    signals: bool,
) -> WindowTask:
    """The task of a run: a baseline gets the config with only its name changed."""
    if run != "strategy":
        config = baseline_config(config, run)
        signals = False
    return WindowTask(series, window, run, variant, config, fill_model, signals)


def task_config(task: WindowTask) -> AppConfig:
    """The task's config with the series' market, symbol, funding and the fill model."""
    config = task.config
    sim = config.simulation
    if task.series.funding_file is not None:
        sim = replace(sim, funding_file=task.series.funding_file)
    sim = replace(sim, **FILL_MODELS[task.fill_model])
    return replace(config, market=task.series.market, symbol=task.series.symbol, simulation=sim)


def run_window(task: WindowTask) -> WindowResult:
    """Run the task's window and measure it."""
    started = time.perf_counter()
    series = _series_candles(task.series)
    window = task.window
    config = task_config(task)
    traded = series.between(window.start, window.end)
    container = BacktestContainer(config=config)
    if config.simulation.funding_file is not None:
        # The container would parse the history again for every window.
        bare = replace(config, simulation=replace(config.simulation, funding_file=None))
        settings = replace(
            simulation_settings(bare), funding=_funding_schedule(config.simulation.funding_file)
        )
        container.settings.override(providers.Object(settings))
    peeked = PeekedCandles(_WindowCandles(config.symbol, traded))
    container.candles.override(providers.Object(peeked))
    signal_source = ""
    if task.run == "strategy" and task.signals and config.signals.enabled:
        past_start = max(window.past_start, window.start - config.signals.history_minutes * 60_000)
        history = series.between(past_start, window.start)
        tracker, signal_source = signal_tracker(
            signal_settings(config), container.sink(), None, history, full_records=False
        )
        container.signals.override(providers.Object(tracker))
    else:
        container.signals.override(providers.Object(None))
    runner = container.runner()
    report = runner.run(peeked)
    record = container.recorder().record(report)
    metrics = measure_run(record)
    initial = float(report.initial_equity)
    curve = record.equity_curve()
    hour_times, hour_equity = _hourly(record.times_ms, curve)
    stats = metrics.trades
    average = stats.average_duration_ms
    return WindowResult(
        series=task.series.key,
        market=task.series.market.value,
        symbol=task.series.symbol,
        segment=window.segment,
        index=window.index,
        start=window.start,
        end=window.end,
        is_test=window.is_test,
        run=task.run,
        variant=task.variant,
        fill_model=task.fill_model,
        candles=report.candles,
        initial_equity=initial,
        final_equity=float(report.final_equity),
        max_drawdown=float(report.max_drawdown),
        max_drawdown_amount=float(report.max_drawdown_amount),
        daily_returns=tuple(float(x) for x in daily_returns(record.times_ms, curve, initial)),
        equity_times=tuple(hour_times),
        equity=tuple(hour_equity),
        orders=report.orders,
        fills=report.fills,
        maker_fills=report.maker_fills,
        taker_fills=report.taker_fills,
        cancels=report.cancels,
        filled_orders=record.filled_orders,
        ended_orders=record.ended_orders,
        fees=str(report.fees),
        funding=str(report.funding),
        trades=TradeTally(
            stats.count,
            stats.wins,
            float(stats.gross_profit),
            float(stats.gross_loss),
            round(average * stats.count) if average is not None else 0,
        ),
        turnover=float(metrics.fills.traded_notional),
        signal=signal_source,
        seconds=time.perf_counter() - started,
        metrics=metrics.to_dict(),
    )
