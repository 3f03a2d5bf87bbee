"""The signal research pipeline: do the signal model's outputs rank future returns?

The use case behind ``gridbot research signals`` (the command lives in
:mod:`bootstrap.research_command`, the files and the printed table in
:mod:`adapters.reporting.signal_report`). Steps, each chosen so that the out-of-sample
figures are honest:

1. Read the kline history (any candle source) into columns, in chunks so a year of
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
   dropped. Beside them each system is scored on its own job (:mod:`domain.signals.jobs`):
   UP and DOWN on forward returns in their direction, NEUTRAL on the forward efficiency
   ratio (what a grid earns from), with the same split rules.
5. The ensemble on money (:mod:`domain.signals.fill_attribution`): the command also runs
   the configured strategy's backtest over the same candles (the very run ``gridbot
   backtest`` makes, with the backtest's own signal deciding on every candle), and each
   closed FIFO trade of the net position is charged to the call in force when its lot was
   opened: the dominant regime and the sign of the net conviction
   (:func:`attribute_fills`). The backtest's signal fits its own weights as a live bot
   would (at its first decision, then weekly if learning is on); it does not use this
   run's in-sample fit, so those figures have no in/out split.
6. :func:`summary` puts the run in plain JSON values; the reporting adapter writes
   ``signals.csv``, ``ic.csv``, ``fills.csv``, ``summary.json`` and ``signals.png`` and
   prints a table.

Settings come from the config's ``signals`` section (window, clip, fit horizon, method,
minimum fit samples) when the config has one, else from the same defaults the section has.

One caveat: the weight fit targets the close ``horizon`` *rows* ahead, so in a history with
gaps the handful of in-sample rows just before a gap are fitted against a return across it
(at most ``horizon`` rows per gap). The ICs reported here do not have that flaw.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from application.ports.market_data import HistoricalCandles
from application.run_record import Decisions
from domain.candles import MINUTE_MS
from domain.features.contract import resolve_min_samples, warmup_candles
from domain.features.names import FEATURE_NAMES
from domain.metrics.trades import Trade
from domain.signals.decision import BatchDecisions
from domain.signals.evaluation import (
    IcResult,
    information_coefficients,
    parse_horizons,
    signal_series,
    split_point,
)
from domain.signals.fill_attribution import FillAttribution, LeaderPnl, attribute_trades
from domain.signals.history import CandleColumns, candle_columns, history_features
from domain.signals.jobs import NeutralJob, TrendJob, neutral_jobs, trend_jobs
from domain.signals.regime import SYSTEMS
from domain.signals.signal_model import SignalModel
from domain.signals.weights import SignalWeights, fit_weights

#: Candles converted to columns at a time while reading.
_CHUNK = 65_536

#: The files of one run, by their key in the summary's ``files``.
FILES = {
    "signals_csv": "signals.csv",
    "ic_csv": "ic.csv",
    "fills_csv": "fills.csv",
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


def horizons_flag(text: str) -> tuple[int, ...]:
    """The ``--horizons`` value: comma-separated whole minutes.

    Raises:
        UsageError: Not whole minutes >= 1.
    """
    try:
        return parse_horizons(int(part) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise UsageError(
            f"--horizons: expected comma-separated whole minutes >= 1, got {text!r} ({exc})"
        ) from None


def _concat(chunks: Sequence[CandleColumns]) -> CandleColumns:
    if len(chunks) == 1:
        return chunks[0]
    return CandleColumns(
        **{
            f.name: np.concatenate([getattr(c, f.name) for c in chunks])
            for f in fields(CandleColumns)
        }
    )


def read_history(
    reader: HistoricalCandles, name: str, progress: Callable[[int], None] | None = None
) -> tuple[CandleColumns, str, int]:
    """The history as columns, its symbol and its number of gaps.

    Args:
        reader: The candle source (its candles must ascend).
        name: How error messages name the source (e.g. the paths given).
        progress: Called with the candles read so far, once per chunk and at the end
            (reading months of compressed klines is most of a research run's wait).

    Raises:
        ValueError: Empty data; the reader's own errors on unreadable data.
    """
    chunks: list[CandleColumns] = []
    buffer = []
    read = 0
    for candle in reader:
        buffer.append(candle)
        if len(buffer) == _CHUNK:
            chunks.append(candle_columns(buffer))
            buffer = []
            read += _CHUNK
            if progress is not None:
                progress(read)
    if buffer:
        chunks.append(candle_columns(buffer))
    if progress is not None:
        progress(read + len(buffer))
    if not chunks:
        raise ValueError(f"{name}: no candles in the data")
    return _concat(chunks), reader.symbol, len(reader.gaps)


@dataclass(frozen=True)
class FillsRun:
    """The configured strategy's backtest over the same candles, its trades charged to calls.

    Attributes:
        strategy: ``strategy.name`` of the run.
        market: The market it traded (e.g. ``SPOT``).
        fills: Fills the run made.
        decisions: Candles the backtest's signal decided on.
        net_pnl: Net P&L of every FIFO trade, closed and marked (the backtest's own figure).
        attribution: Closed trades by leading regime and by conviction sign.
    """

    strategy: str
    market: str
    fills: int
    decisions: int
    net_pnl: Decimal
    attribution: FillAttribution


def attribute_fills(trades: Sequence[Trade], decisions: Decisions) -> FillAttribution:
    """Charge a backtest's FIFO trades to its signal's decisions (see the module docstring).

    A decision on a candle is made at the candle's close (its open time + one minute),
    after the fills matched inside it, so a lot opened inside candle ``t`` is charged to the
    decision on candle ``t - 1``, and one opened by an order sent on that decision is
    charged to it too.
    """
    longs = decisions.long_conviction
    shorts = decisions.short_conviction
    return attribute_trades(
        trades,
        [t + MINUTE_MS for t in decisions.open_time],
        decisions.regime,
        [longs[k] - shorts[k] for k in range(len(longs))],
        regime_order=[str(r) for r in SYSTEMS],
    )


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
    #: UP and DOWN on forward returns in their direction (:mod:`domain.signals.jobs`).
    trend_jobs: tuple[TrendJob, ...] = ()
    #: NEUTRAL on the forward efficiency ratio.
    neutral_jobs: tuple[NeutralJob, ...] = ()
    #: The ensemble on the realised P&L of the trades opened while each call led.
    fills: FillsRun | None = None


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
        trend_jobs=trend_jobs(decisions, closes, horizons, split_at),
        neutral_jobs=neutral_jobs(decisions, closes, horizons, split_at, settings.method),
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
        "jobs": {
            "trend": [
                {
                    "system": j.system,
                    "horizon": j.horizon,
                    "sample": j.sample,
                    "rows_led": j.rows,
                    "hit_rate": _finite(j.hit_rate),
                    "mean_bps": _finite(j.mean_bps),
                    "drift_bps": _finite(j.drift_bps),
                    "edge_bps": _finite(j.edge_bps),
                }
                for j in result.trend_jobs
            ],
            "neutral": [
                {
                    "horizon": j.horizon,
                    "sample": j.sample,
                    "ic_confidence_vs_1_minus_er": _finite(j.ic),
                    "n": j.n,
                    "er_when_leading": _finite(j.er_led),
                    "er_otherwise": _finite(j.er_other),
                    "rows_led": j.rows_led,
                }
                for j in result.neutral_jobs
            ],
        },
        "fills": _fills_summary(result.fills),
        "files": {key: str(out_dir / name) for key, name in FILES.items()},
    }


def leader_row(row: LeaderPnl) -> dict[str, Any]:
    """One leader's figures as JSON values (money as decimal strings)."""
    mean = row.mean_pnl
    hit = row.hit_rate
    return {
        "grouping": row.grouping,
        "leader": row.leader,
        "trades": row.trades,
        "wins": row.wins,
        "hit_rate": None if hit is None else float(hit),
        "pnl": str(row.pnl),
        "mean_pnl": None if mean is None else str(mean),
        "fees": str(row.fees),
    }


def _fills_summary(run: FillsRun | None) -> dict[str, Any] | None:
    if run is None:
        return None
    a = run.attribution
    return {
        "strategy": run.strategy,
        "market": run.market,
        "fills": run.fills,
        "decisions": run.decisions,
        "net_pnl_all_trades": str(run.net_pnl),
        "charged_at": "entry: the latest decision made at or before the fill opening the lot",
        "by_regime": [leader_row(r) for r in a.by_regime],
        "by_conviction": [leader_row(r) for r in a.by_conviction],
        "open_lots_left_out": a.open_lots,
        "open_lots_unrealised_pnl": str(a.open_pnl),
    }
