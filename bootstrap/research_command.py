"""``gridbot research signals``: flags and config in, the research pipeline, files out.

The pipeline is :mod:`application.signal_research`; the files and the table are written by
:mod:`adapters.reporting.signal_report`. This module only composes them around the kline
reader and turns failures into one line each. It also runs the configured strategy's
backtest over the same data (:func:`bootstrap.strategy_runs.run_strategy`, the run
``gridbot backtest`` makes, ``--market`` as there) and charges its closed trades to the
signal's calls (:func:`~application.signal_research.attribute_fills`).

Exit codes: 0 done; 1 data error (unreadable or too short history, one line); 2 usage or
configuration error (bad flag value, bad config file, unwritable output directory).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import TextIO

from adapters.market_data.kline_csv import KlineCsvReader, SymbolNotInferred
from adapters.reporting.signal_report import render, write_outputs
from application.signal_research import (
    FillsRun,
    HistoryTooShort,
    ResearchResult,
    UsageError,
    attribute_fills,
    compute,
    horizons_flag,
    read_history,
    signal_settings,
    summary,
)
from bootstrap.config import AppConfig, ConfigError, load_config
from bootstrap.market_choice import data_market_warning, with_market
from bootstrap.progress_bars import CandleProgressBars
from bootstrap.strategy_runs import run_strategy
from bootstrap.user_errors import (
    CONFIG_ERRORS,
    DATA_ERRORS,
    EXIT_CONFIG_ERROR,
    EXIT_DATA_ERROR,
    user_error,
)

#: Errors reported as one "data error" line (a ValueError: an empty file list, unreadable
#: names, a candle outside the feature engine's input contract).
_READ_ERRORS: tuple[type[Exception], ...] = (*CONFIG_ERRORS, *DATA_ERRORS, ValueError)


def kline_reader(paths: Sequence[str], symbol: str) -> KlineCsvReader:
    """A reader for ``paths``; files without a Binance-style name are read as ``symbol``."""
    try:
        return KlineCsvReader(paths)
    except SymbolNotInferred:
        return KlineCsvReader(paths, symbol=symbol)


def _with_fills(
    result: ResearchResult, config: AppConfig, data: list[str], bars: CandleProgressBars
) -> ResearchResult:
    """``result`` with the configured strategy's backtest over ``data``, trades charged."""
    run = run_strategy(config, data[0] if len(data) == 1 else data, bars, keep_trades=True)
    bars.close()
    record = run.record
    decisions = run.container.recorder().decisions
    trades = record.trades or []
    fills = FillsRun(
        strategy=run.name,
        market=str(run.report.market),
        fills=int(record.fills.times_ms.shape[0]),
        decisions=len(decisions.open_time),
        net_pnl=sum((t.pnl for t in trades), start=Decimal(0)),
        attribution=attribute_fills(trades, decisions),
    )
    return dataclasses.replace(result, fills=fills)


def run_research(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``gridbot research <command>`` (only ``signals`` exists)."""
    if getattr(args, "research_command", None) != "signals":
        err.write(f"gridbot: usage error: unknown research command {args.research_command!r}\n")
        return EXIT_CONFIG_ERROR
    try:
        horizons = horizons_flag(args.horizons)
        if not 0.0 < args.split < 1.0:
            raise UsageError(
                f"--split: expected a fraction strictly between 0 and 1, got {args.split}"
            )
    except UsageError as exc:
        err.write(f"gridbot: usage error: {exc}\n")
        return EXIT_CONFIG_ERROR
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        err.write(f"gridbot: config error: {exc}\n")
        return EXIT_CONFIG_ERROR
    market_flag = getattr(args, "market", None)
    config = with_market(config, market_flag)
    settings = signal_settings(config)
    data = [args.data] if isinstance(args.data, str) else [str(p) for p in args.data]
    warning = data_market_warning(config, data, market_flag)
    if warning:
        err.write(warning + "\n")
        err.flush()
    bars = CandleProgressBars(err, enabled=not getattr(args, "no_progress", False))
    try:
        reader = kline_reader(data, config.symbol)
        columns, symbol, gaps = read_history(reader, " ".join(data), bars(reader))
        bars.close()
        result = compute(columns, symbol, gaps, settings, horizons, args.split)
        result = _with_fills(result, config, data, bars)
    except HistoryTooShort as exc:
        err.write(f"gridbot: data error: {' '.join(data)}: {exc}\n")
        return EXIT_DATA_ERROR
    except _READ_ERRORS as exc:
        return user_error(exc, config.source, err)
    finally:
        bars.close()
    out_dir = Path(args.out)
    doc = summary(
        result,
        data=data,
        settings=settings,
        horizons=horizons,
        split=args.split,
        out_dir=out_dir,
    )
    try:
        write_outputs(result, doc, out_dir)
    except OSError as exc:
        err.write(f"gridbot: usage error: cannot write to --out {out_dir}: {exc}\n")
        return EXIT_CONFIG_ERROR
    unmeasured = sorted({(r.horizon, r.sample) for r in result.ics if r.n < 2})
    if unmeasured:
        which = ", ".join(f"h={h} {s}" for h, s in unmeasured)
        err.write(
            f"gridbot: warning: too few rows to measure an IC at {which}; "
            "use a longer history or shorter horizons\n"
        )
    if args.json:
        out.write(json.dumps(doc, indent=2, allow_nan=False) + "\n")
    else:
        render(result, doc, horizons, out)
    return 0
