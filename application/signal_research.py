"""``gridbot research signals``: do the signal model's outputs rank future returns?

Steps, each chosen so that the out-of-sample figures are honest:

1. Read the kline history (a file or a directory) into columns, in chunks so a year of
   candles never exists as a list of ``Candle`` objects at once.
2. Batch features over the whole history (:func:`~domain.signals.history.history_features`,
   the same numbers as the live engine) and keep the *ready* rows (the engine's warm-up
   rows carry no decisions live either).
3. Split the ready rows: the first ``--split`` fraction is in sample. Weights are fitted on
   the in-sample rows only (:func:`~domain.signals.weights.fit_weights` never reads a close
   past the rows it is given), then :meth:`SignalModel.decide_batch` runs over every ready
   row with those weights, so out-of-sample decisions use nothing from their own period.
4. ICs per series, horizon and sample (:mod:`domain.signals.evaluation`): forward returns
   are matched by time, in-sample rows whose forward return would end after the split are
   dropped.
5. Write ``signals.csv``, ``ic.csv``, ``summary.json`` and ``signals.png`` to ``--out``
   and print a table (or the summary as JSON with ``--json``).

Settings come from the config's ``signals`` section (window, clip, fit horizon, method,
minimum fit samples) when the config has one, else from the same defaults the section has.

One caveat: the weight fit targets the close ``horizon`` *rows* ahead, so in a history with
gaps the handful of in-sample rows just before a gap are fitted against a return across it
(at most ``horizon`` rows per gap). The ICs reported here do not have that flaw.

Exit codes: 0 done; 1 data error (unreadable or too short history, one line); 2 usage or
configuration error (bad flag value, bad config file, unwritable output directory).
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from adapters.market_data.kline_csv import KlineCsvReader, SymbolNotInferred
from adapters.reporting.csv_tables import write_csv
from adapters.reporting.signal_plots import plot_signals
from bootstrap.cli import _DATA_ERRORS, EXIT_CONFIG_ERROR, EXIT_DATA_ERROR, _user_error
from bootstrap.config import ConfigError, load_config
from domain.features.contract import resolve_min_samples, warmup_candles
from domain.features.names import FEATURE_NAMES
from domain.signals.decision import BatchDecisions
from domain.signals.evaluation import (
    SAMPLES,
    IcResult,
    information_coefficients,
    parse_horizons,
    signal_series,
    split_point,
)
from domain.signals.history import CandleColumns, candle_columns, history_features
from domain.signals.regime import SYSTEMS
from domain.signals.signal_model import SignalModel
from domain.signals.weights import SignalWeights, fit_weights

#: Candles converted to columns at a time while reading.
_CHUNK = 65_536

#: Significant digits of the floats in signals.csv (z-scores, convictions: far beyond meaning).
_CSV_DIGITS = 7

#: Errors reported as one "data error" line (a ValueError: an empty file list, unreadable
#: names, a candle outside the feature engine's input contract).
_READ_ERRORS: tuple[type[Exception], ...] = (*_DATA_ERRORS, ValueError)

_FILES = {
    "signals_csv": "signals.csv",
    "ic_csv": "ic.csv",
    "summary_json": "summary.json",
    "plot_png": "signals.png",
}


class UsageError(ValueError):
    """A flag value the command cannot use (exit 2)."""


class HistoryTooShort(ValueError):
    """The history has no row with ready features (exit 1)."""


@dataclass(frozen=True)
class SignalSettings:
    """What the research run takes from the ``signals`` config section.

    Attributes:
        window: Normalisation window in 1m candles.
        clip: z-score clip.
        horizon: Forward-return horizon of the weight fit, in minutes.
        method: ``"spearman"`` or ``"pearson"`` (fit and ICs).
        min_samples: Minimum usable rows for a fit (else the heuristic fallback).
        source: ``"config"`` or ``"defaults"``.
    """

    window: int = 1440
    clip: float = 4.0
    horizon: int = 15
    method: str = "spearman"
    min_samples: int = 1000
    source: str = "defaults"


def signal_settings(config: object) -> SignalSettings:
    """The settings from ``config.signals`` if present, else the section's defaults.

    The fit's minimum is read from ``fit_min_samples`` (the section's name for it) or, if a
    config only has it, ``min_samples``.
    """
    section = getattr(config, "signals", None)
    if section is None:
        return SignalSettings()
    defaults = SignalSettings()
    min_samples: Any = getattr(section, "fit_min_samples", None)
    if min_samples is None:
        min_samples = getattr(section, "min_samples", defaults.min_samples)
    return SignalSettings(
        window=int(getattr(section, "window", defaults.window)),
        clip=float(getattr(section, "clip", defaults.clip)),
        horizon=int(getattr(section, "horizon", defaults.horizon)),
        method=str(getattr(section, "method", defaults.method)),
        min_samples=int(min_samples),
        source="config",
    )


def _parse_horizons(text: str) -> tuple[int, ...]:
    try:
        return parse_horizons(int(part) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise UsageError(
            f"--horizons: expected comma-separated whole minutes >= 1, got {text!r} ({exc})"
        ) from None


def _reader(paths: Sequence[str], symbol: str) -> KlineCsvReader:
    """A reader for ``paths``; files without a Binance-style name are read as ``symbol``."""
    try:
        return KlineCsvReader(paths)
    except SymbolNotInferred:
        return KlineCsvReader(paths, symbol=symbol)


def _concat(chunks: Sequence[CandleColumns]) -> CandleColumns:
    if len(chunks) == 1:
        return chunks[0]
    return CandleColumns(
        **{
            f.name: np.concatenate([getattr(c, f.name) for c in chunks])
            for f in fields(CandleColumns)
        }
    )


def read_history(paths: Sequence[str], symbol: str) -> tuple[CandleColumns, str, int]:
    """The history as columns, its symbol and its number of gaps.

    Args:
        paths: Kline files or directories, read in order (their candles must ascend).
        symbol: Symbol to assume when a file name does not carry one.

    Raises:
        FileNotFoundError, KlineFormatError, ValueError: Unreadable or empty data.
    """
    reader = _reader(paths, symbol)
    chunks: list[CandleColumns] = []
    buffer = []
    for candle in reader:
        buffer.append(candle)
        if len(buffer) == _CHUNK:
            chunks.append(candle_columns(buffer))
            buffer = []
    if buffer:
        chunks.append(candle_columns(buffer))
    if not chunks:
        raise ValueError(f"{' '.join(paths)}: no candles in the data")
    return _concat(chunks), reader.symbol, len(reader.gaps)


@dataclass(frozen=True)
class ResearchResult:
    """Everything one run computed (ready rows only)."""

    symbol: str
    candles: int
    gaps: int
    open_time: np.ndarray
    close: np.ndarray
    split_at: int
    weights: SignalWeights
    decisions: BatchDecisions
    ics: tuple[IcResult, ...]


def compute(
    columns: CandleColumns,
    symbol: str,
    gaps: int,
    settings: SignalSettings,
    horizons: tuple[int, ...],
    split: float,
) -> ResearchResult:
    """Features, an in-sample fit, decisions over every ready row, and the ICs.

    Raises:
        HistoryTooShort: If no row has ready features.
        ValueError: If a candle breaks the feature engine's input contract.
    """
    batch = history_features(columns, settings.window, settings.clip)
    ready = batch.ready
    if not ready.any():
        needed = warmup_candles(resolve_min_samples(settings.window, None))
        raise HistoryTooShort(
            f"{columns.open_time.shape[0]:,} candles, none with ready features: the features "
            f"need about {needed:,} gap-free 1m candles of warm-up "
            f"(signals.window {settings.window})"
        )
    # Once ready, always ready: the ready rows are a suffix, taken as views (no copy of
    # the T x F matrix), and the raw features are released with ``batch``.
    first = int(np.argmax(ready))
    rows = slice(first, None) if bool(ready[first:].all()) else ready
    times = columns.open_time[rows]
    closes = columns.close[rows]
    z = batch.normalised[rows]
    del batch
    split_at = split_point(times.shape[0], split)
    weights = fit_weights(
        z[:split_at],
        closes[:split_at],
        settings.horizon,
        settings.method,
        min_samples=settings.min_samples,
    )
    decisions = SignalModel(weights).decide_batch(times, z)
    ics = information_coefficients(
        signal_series(decisions), times, closes, horizons, split_at, settings.method
    )
    return ResearchResult(
        symbol=symbol,
        candles=int(columns.open_time.shape[0]),
        gaps=gaps,
        open_time=times,
        close=closes,
        split_at=split_at,
        weights=weights,
        decisions=decisions,
        ics=ics,
    )


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _weights_summary(weights: SignalWeights) -> dict[str, Any]:
    """The weights in a few readable lines: fallbacks, system weights, leading features."""
    top: dict[str, list[list[Any]]] = {}
    used: dict[str, int] = {}
    for i, regime in enumerate(SYSTEMS):
        vector = weights.feature_weights[i]
        order = sorted(range(len(vector)), key=lambda k: -vector[k])
        used[str(regime)] = sum(1 for v in vector if v > 0.0)
        top[str(regime)] = [[FEATURE_NAMES[k], vector[k]] for k in order[:5] if vector[k] > 0.0]
    return {
        "fitted_on_rows": weights.samples,
        "horizon": weights.horizon,
        "method": weights.method,
        "ic_threshold": weights.ic_threshold,
        "fallback": weights.fallback,
        "fallback_parts": list(weights.fallback_parts),
        "system_weights": {str(r): weights.system_weights[i] for i, r in enumerate(SYSTEMS)},
        "system_ics_in_sample": {str(r): weights.system_ics[i] for i, r in enumerate(SYSTEMS)},
        "features_used": used,
        "top_features": top,
    }


def _sample_stats(result: ResearchResult, rows: slice) -> dict[str, Any]:
    d = result.decisions
    times = result.open_time[rows]
    if times.shape[0] == 0:
        return {"rows": 0}
    codes = d.regime_codes[rows]
    return {
        "rows": int(times.shape[0]),
        "first_open_time": _iso(int(times[0])),
        "last_open_time": _iso(int(times[-1])),
        "long_conviction_mean": float(d.long_conviction[rows].mean()),
        "short_conviction_mean": float(d.short_conviction[rows].mean()),
        "regime_share": {str(r): float(np.mean(codes == i)) for i, r in enumerate(SYSTEMS)},
    }


def summary(
    result: ResearchResult,
    *,
    data: Sequence[str],
    settings: SignalSettings,
    horizons: tuple[int, ...],
    split: float,
    out_dir: Path,
) -> dict[str, Any]:
    """The run as plain JSON values (NaN as null)."""
    n = int(result.open_time.shape[0])
    return {
        "command": "gridbot research signals",
        "data": list(data),
        "symbol": result.symbol,
        "candles": result.candles,
        "gaps": result.gaps,
        "ready_rows": n,
        "warmup_rows": result.candles - n,
        "first_ready_open_time": _iso(int(result.open_time[0])),
        "last_open_time": _iso(int(result.open_time[-1])),
        "split": split,
        "split_at": result.split_at,
        "in_sample": _sample_stats(result, slice(0, result.split_at)),
        "out_of_sample": _sample_stats(result, slice(result.split_at, n)),
        "horizons": list(horizons),
        "settings": {
            "window": settings.window,
            "clip": settings.clip,
            "fit_horizon": settings.horizon,
            "method": settings.method,
            "fit_min_samples": settings.min_samples,
            "source": settings.source,
        },
        "weights_summary": _weights_summary(result.weights),
        "weights": result.weights.to_dict(),
        "ics": [
            {
                "series": r.series,
                "horizon": r.horizon,
                "sample": r.sample,
                "ic": _finite(r.ic),
                "n": r.n,
                "noise_band": _finite(r.noise),
            }
            for r in result.ics
        ],
        "files": {key: str(out_dir / name) for key, name in _FILES.items()},
    }


def _signal_rows(result: ResearchResult) -> Any:
    d = result.decisions
    scores = d.scores.tolist()
    confidences = d.confidences.tolist()
    longs = d.long_conviction.tolist()
    shorts = d.short_conviction.tolist()
    closes = result.close.tolist()
    regimes = [str(r) for r in SYSTEMS]
    for t, open_time in enumerate(result.open_time.tolist()):
        yield (
            open_time,
            closes[t],
            *scores[t],
            *confidences[t],
            longs[t],
            shorts[t],
            regimes[d.regime_codes[t]],
            t < result.split_at,
        )


def write_outputs(result: ResearchResult, doc: dict[str, Any], out_dir: Path) -> None:
    """signals.csv, ic.csv, summary.json and signals.png in ``out_dir``.

    Raises:
        OSError: If the directory cannot be created or written.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(
        out_dir / _FILES["signals_csv"],
        (
            "open_time",
            "close",
            "up_score",
            "down_score",
            "neutral_score",
            "up_confidence",
            "down_confidence",
            "neutral_confidence",
            "long",
            "short",
            "regime",
            "in_sample",
        ),
        _signal_rows(result),
        float_digits=_CSV_DIGITS,
    )
    write_csv(
        out_dir / _FILES["ic_csv"],
        ("series", "horizon", "sample", "ic", "n"),
        ((r.series, r.horizon, r.sample, r.ic, r.n) for r in result.ics),
    )
    summary_path = out_dir / _FILES["summary_json"]
    tmp = summary_path.with_name(f".{summary_path.name}.tmp")
    tmp.write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    tmp.replace(summary_path)
    first, last = _iso(int(result.open_time[0])), _iso(int(result.open_time[-1]))
    plot_signals(
        out_dir / _FILES["plot_png"],
        title=(
            f"{result.symbol} {first} .. {last} UTC: signals ({result.weights.method} IC, "
            f"weights fitted in sample)"
        ),
        open_time=result.open_time,
        close=result.close,
        long=result.decisions.long_conviction,
        short=result.decisions.short_conviction,
        split_at=result.split_at,
        ics=result.ics,
    )


def _fmt_ic(value: float) -> str:
    return f"{value:+.4f}" if math.isfinite(value) else "n/a"


def render(
    result: ResearchResult, doc: dict[str, Any], horizons: tuple[int, ...], out: TextIO
) -> None:
    """The human report: data, split, weights, then the IC table."""
    w = result.weights
    ins, oos = doc["in_sample"], doc["out_of_sample"]
    out.write(
        f"research signals: {result.symbol}, {result.candles:,} candles "
        f"({result.gaps} gap{'s' if result.gaps != 1 else ''}), {doc['ready_rows']:,} with ready "
        f"features from {doc['first_ready_open_time']} to {doc['last_open_time']} UTC\n"
    )
    out.write(
        f"in sample:     {ins['rows']:>9,} rows"
        + (f" {ins['first_open_time']} .. {ins['last_open_time']}" if ins["rows"] else "")
        + " (weights fitted here)\n"
    )
    out.write(
        f"out of sample: {oos['rows']:>9,} rows"
        + (f" {oos['first_open_time']} .. {oos['last_open_time']}" if oos["rows"] else "")
        + "\n"
    )
    fallback = ", ".join(w.fallback_parts) if w.fallback else "none"
    sw = "  ".join(f"{r} {w.system_weights[i]:.3f}" for i, r in enumerate(SYSTEMS))
    out.write(
        f"weights: {w.method}, horizon {w.horizon}, fitted on {w.samples:,} rows, "
        f"IC threshold {w.ic_threshold:.4f}, fallback: {fallback}\n"
        f"system weights: {sw}\n\n"
    )

    by_key = {(r.series, r.horizon, r.sample): r for r in result.ics}
    series: list[str] = []
    for r in result.ics:
        if r.series not in series:
            series.append(r.series)
    columns = [(h, s) for h in horizons for s in SAMPLES]
    heads = [f"h={h} {s}" for h, s in columns]
    width = max(10, *(len(x) for x in heads))
    name_width = max(9, *(len(s) for s in series))
    out.write(
        f"IC ({w.method}) with the forward log return; in = fit rows, out = after the split\n"
    )
    out.write(f"{'series':<{name_width}}" + "".join(f"{x:>{width}}" for x in heads) + "\n")
    for name in series:
        cells = [_fmt_ic(by_key[(name, h, s)].ic) for h, s in columns]
        out.write(f"{name:<{name_width}}" + "".join(f"{c:>{width}}" for c in cells) + "\n")
    counts = []
    noise = []
    for h, s in columns:
        ns = sorted({by_key[(name, h, s)].n for name in series})
        counts.append(f"{ns[0]:,}" if len(ns) == 1 else f"{ns[0]:,}-{ns[-1]:,}")
        band = by_key[(series[0], h, s)].noise
        noise.append(f"±{band:.4f}" if math.isfinite(band) else "n/a")
    out.write(f"{'n':<{name_width}}" + "".join(f"{c:>{width}}" for c in counts) + "\n")
    out.write(f"{'noise':<{name_width}}" + "".join(f"{c:>{width}}" for c in noise) + "\n")
    out.write(
        "noise: 2 standard errors of a skill-free IC on n/h independent (non-overlapping)\n"
        "returns; a smaller |IC| is indistinguishable from zero. Every series is signed so\n"
        "that skill shows as a positive IC, except 'short' (skill = a negative IC).\n\n"
    )
    files = doc["files"]
    out.write("wrote " + ", ".join(files[k] for k in _FILES) + "\n")


def run_research(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``gridbot research <command>`` (only ``signals`` exists)."""
    if getattr(args, "research_command", None) != "signals":
        err.write(f"gridbot: usage error: unknown research command {args.research_command!r}\n")
        return EXIT_CONFIG_ERROR
    try:
        horizons = _parse_horizons(args.horizons)
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
    try:
        columns, symbol, gaps = read_history(data, config.symbol)
        result = compute(columns, symbol, gaps, settings, horizons, args.split)
    except HistoryTooShort as exc:
        err.write(f"gridbot: data error: {' '.join(data)}: {exc}\n")
        return EXIT_DATA_ERROR
    except _READ_ERRORS as exc:
        return _user_error(exc, config.source, err)
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
