"""``gridbot research signals``: flags and config in, the research pipeline, files out.

The pipeline is :mod:`application.signal_research`; the files and the table are written by
:mod:`adapters.reporting.signal_report`. This module only composes them around the kline
reader and turns failures into one line each.

Exit codes: 0 done; 1 data error (unreadable or too short history, one line); 2 usage or
configuration error (bad flag value, bad config file, unwritable output directory).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from adapters.market_data.kline_csv import KlineCsvReader, SymbolNotInferred
from adapters.reporting.signal_report import render, write_outputs
from application.signal_research import (
    HistoryTooShort,
    UsageError,
    compute,
    horizons_flag,
    read_history,
    signal_settings,
    summary,
)
from bootstrap.config import ConfigError, load_config
from bootstrap.progress_bars import CandleProgressBars
from bootstrap.user_errors import DATA_ERRORS, EXIT_CONFIG_ERROR, EXIT_DATA_ERROR, user_error

#: Errors reported as one "data error" line (a ValueError: an empty file list, unreadable
#: names, a candle outside the feature engine's input contract).
_READ_ERRORS: tuple[type[Exception], ...] = (*DATA_ERRORS, ValueError)


def kline_reader(paths: Sequence[str], symbol: str) -> KlineCsvReader:
    """A reader for ``paths``; files without a Binance-style name are read as ``symbol``."""
    try:
        return KlineCsvReader(paths)
    except SymbolNotInferred:
        return KlineCsvReader(paths, symbol=symbol)


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
    settings = signal_settings(config)
    data = [args.data] if isinstance(args.data, str) else [str(p) for p in args.data]
    bars = CandleProgressBars(err, enabled=not getattr(args, "no_progress", False))
    try:
        reader = kline_reader(data, config.symbol)
        columns, symbol, gaps = read_history(reader, " ".join(data), bars(reader))
        bars.close()
        result = compute(columns, symbol, gaps, settings, horizons, args.split)
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
