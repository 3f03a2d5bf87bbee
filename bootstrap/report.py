"""``gridbot report``: one self-contained HTML page (PNGs beside it) about a run.

Three sources, one page layout:

* ``--journal PATH_OR_URL``: a live or paper bot's journal (its data directory, its
  ``gridbot.db`` or a database URL), running or stopped. Read-only, in one snapshot that
  never blocks the bot (:mod:`adapters.persistence.journal_reader`). ``--data`` adds the
  market's closes for the period (and a buy-and-hold line).
* ``--backtest``: runs the configured backtest (``--config``, ``--data`` as for
  ``gridbot backtest``) with everything recorded, then reports on it.
* ``--evaluation DIR``: a ``gridbot evaluate`` output directory.

The page is written to ``--out`` (default ``report/``) as ``report.html`` with its charts.

Exit codes: 0 written; 1 data error (unreadable journal or data, one line); 2 usage or
configuration error.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from dependency_injector import providers

from adapters.market_data.kline_csv import KlineCsvReader, SymbolNotInferred
from adapters.persistence.journal_reader import (
    JournalUnreadable,
    display_url,
    journal_url,
    read_journal,
)
from adapters.reporting.evaluation_files import EvaluationUnreadable, read_evaluation
from adapters.reporting.html_report import HtmlReportRenderer
from adapters.simulated.exchange import SimulatedExchange
from application.ports.report import EquityPoint, ReportData
from application.report.backtest import ReportRecorder, gather_backtest
from application.report.evaluation import EvaluationUnusable, gather_evaluation
from application.report.journal import EmptyJournal, gather_journal
from application.signals import SignalTracker
from bootstrap.config import AppConfig, ConfigError, load_config
from bootstrap.containers import BacktestContainer, PeekedCandles
from bootstrap.instruments import UnknownInstrument, builtin_instrument
from bootstrap.progress_bars import CandleProgressBars
from bootstrap.strategy_runs import StrategyRun, run_baselines
from bootstrap.user_errors import (
    CONFIG_ERRORS,
    DATA_ERRORS,
    EXIT_CONFIG_ERROR,
    EXIT_DATA_ERROR,
    user_error,
)
from domain.account import AccountProjection
from domain.candles import Candle
from domain.enums import MarketType
from domain.instruments import Instrument

ZERO = Decimal(0)


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``gridbot report`` flags."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--journal",
        metavar="PATH_OR_URL",
        help="a bot's journal: its data directory, gridbot.db, or a database URL (read-only)",
    )
    source.add_argument(
        "--backtest",
        action="store_true",
        help="run the backtest (--config, --data) with a full recording and report on it",
    )
    source.add_argument("--evaluation", metavar="DIR", help="a gridbot evaluate output directory")
    parser.add_argument("--config", help="JSON config (backtest; default: the embedded one)")
    parser.add_argument(
        "--data", help="kline file or directory (backtest data; closes for a journal)"
    )
    parser.add_argument(
        "--baselines",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="backtest: also run backtest.baselines on the same data, fees and funding "
        "(default: on)",
    )
    parser.add_argument("--series", help="evaluation: the series key to draw (default: first)")
    parser.add_argument(
        "--fill-model", help="evaluation: the fill model to draw (default: the first evaluated)"
    )
    parser.add_argument("--out", default="report", help="output directory (default: report)")
    parser.add_argument("--no-progress", action="store_true", help="never draw a progress bar")


def _instrument(market: str, symbol: str) -> Instrument:
    return builtin_instrument(MarketType(market), symbol)


def _candles(path: str | None, symbol: str) -> list[Candle]:
    if not path:
        return []
    try:
        reader = KlineCsvReader(path)
    except SymbolNotInferred:
        reader = KlineCsvReader(path, symbol=symbol)
    return list(reader)


def _journal_report(args: argparse.Namespace) -> ReportData:
    url = journal_url(args.journal)
    history = read_journal(url)
    runs = history.runs()
    symbol = runs[-1].symbol if runs else ""
    return gather_journal(history, _instrument, display_url(url), _candles(args.data, symbol))


def _series_candles(files: Sequence[str], symbol: str) -> Iterator[Candle]:
    for file in files:
        yield from KlineCsvReader(file, symbol=symbol)


def _evaluation_report(args: argparse.Namespace) -> ReportData:
    document = read_evaluation(Path(args.evaluation))
    return gather_evaluation(
        document, args.evaluation, _series_candles, args.series, args.fill_model
    )


def report_recorder(
    instrument: Instrument,
    clock: SimulatedExchange,
    account: AccountProjection,
    candles: PeekedCandles,
) -> ReportRecorder:
    """The backtest's run recorder, extended with what the report draws."""
    opening = ZERO if instrument.market.is_futures else account.base_balance
    price = candles.first.open if candles.first is not None else ZERO
    return ReportRecorder(instrument, clock, account, opening, price)


def _baseline_curve(run: StrategyRun) -> list[EquityPoint]:
    """A baseline's equity per candle (float in the record: it is drawn, not accounted)."""
    times = run.record.times_ms.tolist()
    values = run.record.equity_curve().tolist()
    return [EquityPoint(t, Decimal(repr(v))) for t, v in zip(times, values, strict=True)]


def _backtest_report(args: argparse.Namespace, config: AppConfig, err: TextIO) -> ReportData:
    container = BacktestContainer(config=config)
    if args.data:
        container.data.override(args.data)
    container.recorder.override(
        providers.Singleton(
            report_recorder,
            container.instrument,
            container.exchange,
            container.account,
            container.candles,
        )
    )
    candles = container.candles()
    bars = CandleProgressBars(err, enabled=not args.no_progress)
    try:
        progress = bars(candles.source)
        if progress is not None:
            container.progress.override(progress)
        report = container.runner().run(candles, gaps=lambda: candles.source.gaps)
        bars.close()
        if report.candles == 0:
            raise ValueError(f"{args.data or config.backtest.data}: no candles in the data")
        baselines = run_baselines(config, args.data, bars) if args.baselines else []
    finally:
        bars.close()
    data = args.data or config.backtest.data or "the built-in generated market"
    source = f"gridbot backtest on {data} (config: {config.source})"
    return gather_backtest(
        container.recorder(),
        report,
        report.symbol,
        report.market,
        source,
        {run.name: (run.metrics, _baseline_curve(run)) for run in baselines},
        name=f"{config.strategy.name} (configured)",
        weight_updates=_weight_updates(container.signals()),
    )


def _weight_updates(tracker: SignalTracker | None) -> list[dict[str, Any]]:
    """The backtest's weekly weight updates (none when the signal or learning is off)."""
    if tracker is None or tracker.learner is None:
        return []
    return list(tracker.learner.summaries)


def run_report(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``gridbot report``."""
    config: AppConfig | None = None
    try:
        if args.journal:
            data = _journal_report(args)
        elif args.backtest:
            config = load_config(args.config)
            data = _backtest_report(args, config, err)
        else:
            data = _evaluation_report(args)
    except ConfigError as exc:
        err.write(f"gridbot: config error: {exc}\n")
        return EXIT_CONFIG_ERROR
    except (
        JournalUnreadable,
        EmptyJournal,
        UnknownInstrument,
        EvaluationUnreadable,
        EvaluationUnusable,
    ) as exc:
        err.write(f"gridbot: data error: {exc}\n")
        return EXIT_DATA_ERROR
    except (*CONFIG_ERRORS, *DATA_ERRORS, ValueError) as exc:
        return user_error(exc, config.source if config else "config", err)
    try:
        page = HtmlReportRenderer().render(data, Path(args.out))
    except OSError as exc:
        err.write(f"gridbot: cannot write the report to {args.out}: {exc.strerror or exc}\n")
        return EXIT_CONFIG_ERROR
    out.write(f"report written to {page}\n")
    return 0
