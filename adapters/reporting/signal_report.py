"""The files and the printed table of ``gridbot research signals``.

The numbers come from :mod:`application.signal_research`; this module only writes them
(``signals.csv``, ``ic.csv``, ``fills.csv``, ``summary.json``, ``signals.png``) and lays
them out for a terminal.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from adapters.reporting.csv_tables import write_csv
from adapters.reporting.signal_plots import plot_signals
from application.signal_research import FILES, FillsRun, ResearchResult, leader_row
from domain.signals.evaluation import SAMPLES
from domain.signals.regime import SYSTEMS

#: Significant digits of the floats in signals.csv (z-scores, convictions: far beyond meaning).
CSV_DIGITS = 7


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def _signal_rows(result: ResearchResult) -> Iterator[tuple[Any, ...]]:
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


#: Columns of fills.csv (money as exact decimal strings).
FILLS_COLUMNS = ("grouping", "leader", "trades", "wins", "hit_rate", "pnl", "mean_pnl", "fees")


def _fills_rows(run: FillsRun | None) -> Iterator[tuple[Any, ...]]:
    if run is None:
        return
    for row in (*run.attribution.by_regime, *run.attribution.by_conviction):
        doc = leader_row(row)
        yield tuple(doc[c] for c in FILLS_COLUMNS)


def write_outputs(result: ResearchResult, doc: dict[str, Any], out_dir: Path) -> None:
    """signals.csv, ic.csv, fills.csv, summary.json and signals.png in ``out_dir``.

    fills.csv has one row per leader (by regime, then by conviction sign); without a
    backtest (``result.fills`` None) it has the header only.

    Raises:
        OSError: If the directory cannot be created or written.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(
        out_dir / FILES["signals_csv"],
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
        float_digits=CSV_DIGITS,
    )
    write_csv(
        out_dir / FILES["ic_csv"],
        ("series", "horizon", "sample", "ic", "n"),
        ((r.series, r.horizon, r.sample, r.ic, r.n) for r in result.ics),
    )
    write_csv(
        out_dir / FILES["fills_csv"],
        FILLS_COLUMNS,
        _fills_rows(result.fills),
    )
    summary_path = out_dir / FILES["summary_json"]
    tmp = summary_path.with_name(f".{summary_path.name}.tmp")
    tmp.write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    tmp.replace(summary_path)
    first, last = _iso(int(result.open_time[0])), _iso(int(result.open_time[-1]))
    plot_signals(
        out_dir / FILES["plot_png"],
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
    _render_jobs(result, horizons, out)
    if result.fills is not None:
        _render_fills(result.fills, out)
    files = doc["files"]
    out.write("wrote " + ", ".join(files[k] for k in FILES) + "\n")


def _num(value: float, spec: str) -> str:
    return format(value, spec) if math.isfinite(value) else "n/a"


def _render_jobs(result: ResearchResult, horizons: tuple[int, ...], out: TextIO) -> None:
    """Each system on its own job: trend systems in their direction, NEUTRAL on the ER."""
    if result.trend_jobs:
        out.write(
            "trend systems on forward returns in their direction (rows led: voting its "
            "way with confidence > 0;\nmean: confidence-weighted, bps; drift: every row; "
            "edge = mean - drift)\n"
        )
        out.write(
            f"{'system':<7}{'h':>5}{'sample':>7}{'rows led':>11}{'hit rate':>10}"
            f"{'mean':>9}{'drift':>9}{'edge':>9}\n"
        )
        for j in result.trend_jobs:
            out.write(
                f"{j.system:<7}{j.horizon:>5}{j.sample:>7}{j.rows:>11,}"
                f"{_num(j.hit_rate, '.3f'):>10}{_num(j.mean_bps, '+.2f'):>9}"
                f"{_num(j.drift_bps, '+.2f'):>9}{_num(j.edge_bps, '+.2f'):>9}\n"
            )
        out.write("\n")
    if result.neutral_jobs:
        out.write(
            "NEUTRAL on the forward efficiency ratio ER (0 = back and forth, what a grid "
            "earns from; 1 = a straight move);\nIC: NEUTRAL's confidence with 1 - ER "
            "(skill = positive); mean ER where NEUTRAL leads vs elsewhere\n"
        )
        out.write(
            f"{'h':>5}{'sample':>7}{'IC':>9}{'n':>10}{'ER led':>9}{'ER other':>10}"
            f"{'rows led':>11}\n"
        )
        for k in result.neutral_jobs:
            out.write(
                f"{k.horizon:>5}{k.sample:>7}{_num(k.ic, '+.4f'):>9}{k.n:>10,}"
                f"{_num(k.er_led, '.3f'):>9}{_num(k.er_other, '.3f'):>10}{k.rows_led:>11,}\n"
            )
        out.write("\n")


def _money(value: Decimal | None) -> str:
    return "n/a" if value is None else f"{value:+,.2f}"


def _render_fills(run: FillsRun, out: TextIO) -> None:
    """The ensemble on money: closed trades of the backtest by the call in force at entry."""
    a = run.attribution
    out.write(
        f"the ensemble on realised P&L: {run.strategy} backtest ({run.market}) over the same "
        f"candles, {run.fills:,} fills, {run.decisions:,} decisions;\nclosed FIFO trades of the "
        "net position, P&L after both fills' fees (quote), charged to the latest decision\n"
        "at the fill that opened the lot: its dominant regime, and the sign of long - short\n"
    )
    out.write(
        f"{'by':<11}{'leader':<9}{'trades':>8}{'hit rate':>10}{'total P&L':>13}"
        f"{'mean P&L':>11}{'fees':>11}\n"
    )
    for row in (*a.by_regime, *a.by_conviction):
        hit = row.hit_rate
        out.write(
            f"{row.grouping:<11}{row.leader:<9}{row.trades:>8,}"
            f"{'n/a' if hit is None else f'{hit:.3f}':>10}{_money(row.pnl):>13}"
            f"{_money(row.mean_pnl):>11}{row.fees:>11,.2f}\n"
        )
    out.write(
        f"open lots at the end (not realised, left out): {a.open_lots} "
        f"({_money(a.open_pnl)} marked); net P&L of every trade: {_money(run.net_pnl)}\n\n"
    )
