"""One backtest with its metrics, and the baselines run beside it on the same data.

``gridbot backtest`` and the evaluation both need "run strategy X over this data with
these fees and funding, and measure it". A baseline run is the configured run with only
``strategy.name`` changed (and the signal off: no baseline reads it), so data, fees,
funding, balances and risk limits are the same by construction.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from dependency_injector import providers

from application.backtest import BacktestReport
from application.ports.market_data import CandleGap, HistoricalCandles
from bootstrap.config import AppConfig
from bootstrap.containers import BacktestContainer, PeekedCandles, run_recorder
from domain.candles import Candle
from domain.metrics.summary import RunMetrics, RunRecord, measure_run


@dataclass(frozen=True)
class CandleWindow:
    """Candles already in memory as a candle source (one window of a longer series).

    Attributes:
        symbol: The instrument the candles are of.
        candles: Closed 1m candles in time order, without gaps (split at gaps instead).
        gaps: Gaps inside the window (none for a continuous segment).
    """

    symbol: str
    candles: Sequence[Candle]
    gaps: list[CandleGap] = field(default_factory=list)

    @property
    def minutes(self) -> int:
        """How many candles (the progress bar's total)."""
        return len(self.candles)

    def __iter__(self) -> Iterator[Candle]:
        return iter(self.candles)


@dataclass(frozen=True)
class StrategyRun:
    """A finished backtest of one strategy.

    Attributes:
        name: The strategy's name (``strategy.name``).
        report: The exact report of the run.
        record: What the run recorded (candles, fills, requests, decisions' source).
        metrics: Every metric of the run.
        seconds: Wall-clock time of the candle loop.
        container: The run's wiring (strategy, exchange, recorder) for further questions.
    """

    name: str
    report: BacktestReport
    record: RunRecord
    metrics: RunMetrics
    seconds: float
    container: BacktestContainer


def run_strategy(
    config: AppConfig,
    data: str | Sequence[str] | None,
    progress_for: Callable[[object], Callable[[int], None] | None] | None = None,
    candles: HistoricalCandles | None = None,
    keep_trades: bool = False,
) -> StrategyRun:
    """Backtest the configured strategy over ``data`` and measure it.

    Args:
        config: The configuration (its ``strategy.name`` is what runs).
        data: Kline files or directories; None = ``backtest.data`` or the generated market.
        progress_for: Given the candle source (its ``minutes``, or ``size_bytes`` and
            ``bytes_read``, measure the whole), returns the progress callback for this run,
            or None for no progress.
        candles: A candle source to run on instead of ``data`` (e.g. one window of a
            walk-forward evaluation); its symbol must be the configured one.
        keep_trades: Keep every FIFO trade in the record (``record.trades``).

    Raises:
        DataMismatch, EmptyAccount, UnknownInstrument, KlineFormatError, FundingFileError,
        FileNotFoundError, ValueError: As :class:`BacktestContainer` raises them.
    """
    container = BacktestContainer(config=config)
    if candles is not None:
        container.candles.override(PeekedCandles(candles))
    elif data:
        container.data.override(data)
    if keep_trades:
        container.recorder.override(
            providers.Singleton(
                run_recorder,
                container.instrument,
                container.exchange,
                container.account,
                container.candles,
                keep_trades=True,
            )
        )
    source = container.candles()
    if progress_for is not None:
        progress = progress_for(source.source)
        if progress is not None:
            container.progress.override(progress)
    runner = container.runner()
    started = time.perf_counter()
    report = runner.run(source, gaps=lambda: source.source.gaps)
    seconds = time.perf_counter() - started
    record = container.recorder().record(report)
    return StrategyRun(
        config.strategy.name, report, record, measure_run(record), seconds, container
    )


def baseline_config(config: AppConfig, name: str) -> AppConfig:
    """``config`` with strategy ``name`` and the signal off."""
    return replace(
        config,
        strategy=replace(config.strategy, name=name),
        signals=replace(config.signals, enabled=False),
    )


def baseline_names(config: AppConfig) -> tuple[str, ...]:
    """``backtest.baselines`` less the configured strategy (it is the main run)."""
    return tuple(n for n in config.backtest.baselines if n != config.strategy.name)


def run_baselines(
    config: AppConfig,
    data: str | Sequence[str] | None,
    progress_for: Callable[[object], Callable[[int], None] | None] | None = None,
    candles: Callable[[], HistoricalCandles] | None = None,
) -> list[StrategyRun]:
    """Run every baseline of ``config`` over the same data, one after the other.

    Args:
        config: The configuration; ``backtest.baselines`` names the baselines.
        data: As :func:`run_strategy`.
        progress_for: As :func:`run_strategy`.
        candles: Makes a fresh candle source for each baseline (instead of ``data``).
    """
    return [
        run_strategy(
            baseline_config(config, name),
            data,
            progress_for,
            candles() if candles is not None else None,
        )
        for name in baseline_names(config)
    ]
