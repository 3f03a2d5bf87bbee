"""Evidence for issue 16: do weekly adaptive weights beat frozen or heuristic ones?

For every kline series under ``$GRIDBOT_TEST_DATA/klines`` (``<market>/<symbol>``), each
unbroken span of candles (split at gaps longer than a day) is run through three sets of
signal weights, week by week:

* **adaptive** — starts from the frozen initial weights and, at every weekly boundary
  (``signals.learning`` defaults: Monday 00:00 UTC), goes through
  :func:`domain.signals.learning.relearn`, the exact function the signal tracker calls in
  backtests, paper and live runs: refit on the trailing weeks, shrink, keep only if it beats
  the current and heuristic weights on the held-out week, else fall back;
* **frozen** — weights fitted once on the first week of ready candles (what a live start
  with the default ``history_minutes`` of one week fits) and never changed;
* **heuristic** — the documented heuristic weights, never changed.

Each 7-day window from the first boundary at which the adaptive weights had an actual
update (not skipped for lack of data) is scored for each weight set with a *signal
portfolio*: every ``horizon`` minutes the position is the ensemble's net conviction
``long - short`` (in [-1, 1] of equity), held for ``horizon`` minutes; it earns the simple
return over that interval (matched by time, none across gaps) and pays ``--fee`` per unit of
position changed (0.0002: the futures VIP0 maker fee). Funding is not charged (the
position's sign flips often; its funding nets to little and would hit all three alike).
Window return is the sum of the interval P&Ls, Sharpe the mean over the standard deviation of
the interval P&Ls, annualised.

The tables print each weight set's own mean return, Sharpe and count of winning windows,
then per comparison (adaptive - frozen, adaptive - heuristic) the mean and standard
deviation of the per-window difference in return and in Sharpe, and in how many windows
adaptive won, tied (a difference under ``TIE``: the two traded alike) or lost. The results
and their reading are in ``docs/evaluation/adaptive-learning.md``. This measures the
signal, not a grid: the trading strategies' conviction rules are off by default, so a
``gridbot evaluate`` run would not change with the weights at all.

Usage::

    GRIDBOT_TEST_DATA=/path/to/data .venv/bin/python benchmarks/adaptive_learning.py \\
        [--trailing-weeks 4] [--max-step 0.25] [--fee 0.0002]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from dataclasses import dataclass, replace
from itertools import pairwise
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adapters.market_data.kline_csv import KlineCsvReader  # noqa: E402
from application.signal_research import read_history  # noqa: E402
from domain.signals.evaluation import forward_log_returns  # noqa: E402
from domain.signals.history import CandleColumns, history_features  # noqa: E402
from domain.signals.learning import (  # noqa: E402
    WEEK_MS,
    LearningSettings,
    boundary_at_or_before,
    relearn,
)
from domain.signals.signal_model import SignalModel  # noqa: E402
from domain.signals.weights import SignalWeights, fit_weights, heuristic_weights  # noqa: E402

DAY_MS = 86_400_000
WINDOW = 1440
CLIP = 4.0
#: A per-window difference smaller than this is a tie (the two weight sets traded alike).
TIE = 1e-9


@dataclass
class WindowScore:
    """One 7-day window of one weight set."""

    ret: float
    sharpe: float


def segments(columns: CandleColumns) -> list[CandleColumns]:
    """Unbroken spans of ``columns`` (split where candles are more than a day apart)."""
    cuts = np.flatnonzero(np.diff(columns.open_time) > DAY_MS) + 1
    bounds = [0, *cuts.tolist(), columns.open_time.shape[0]]
    out = []
    for lo, hi in pairwise(bounds):
        fields = {k: v[lo:hi] for k, v in vars(columns).items()}
        out.append(CandleColumns(**fields))
    return out


def score(
    weights: SignalWeights,
    times: np.ndarray,
    closes: np.ndarray,
    z: np.ndarray,
    horizon: int,
    fee: float,
) -> WindowScore:
    """The signal portfolio's return and Sharpe over the given rows (module docstring)."""
    d = SignalModel(weights).decide_batch(times, z)
    net = d.long_conviction - d.short_conviction
    log_r, _ = forward_log_returns(times, closes, horizon)
    rows = np.arange(0, times.shape[0], horizon)
    pos = net[rows]
    ret = np.expm1(log_r[rows])
    ok = np.isfinite(ret)
    pos = np.where(ok, pos, 0.0)
    turnover = np.abs(np.diff(pos, prepend=0.0))
    pnl = pos * np.where(ok, ret, 0.0) - fee * turnover
    sd = float(pnl.std())
    sharpe = float(pnl.mean()) / sd * math.sqrt(525_600 / horizon) if sd > 0 else 0.0
    return WindowScore(float(pnl.sum()), sharpe)


def run_series(
    path: Path, settings: LearningSettings, fee: float
) -> list[tuple[str, int, dict[str, WindowScore], str]]:
    """Per evaluated window: series, window start, scores per weight set, adaptive source."""
    files = sorted(str(p) for p in path.glob("*.csv*"))
    columns, symbol, _ = read_history(KlineCsvReader(files), str(path))
    rows: list[tuple[str, int, dict[str, WindowScore], str]] = []
    heuristic = heuristic_weights(settings.horizon, settings.method)
    name = f"{path.parent.name}/{symbol}"
    for seg in segments(columns):
        batch = history_features(seg, WINDOW, CLIP)
        ready = batch.ready
        if not ready.any():
            continue
        times = seg.open_time[ready]
        closes = seg.close[ready]
        z = batch.normalised[ready]
        first = boundary_at_or_before(int(times[0]) + WEEK_MS, settings.weekday, settings.hour)
        first += WEEK_MS if first < int(times[0]) + WEEK_MS else 0
        init_end = int(np.searchsorted(times, first))
        frozen = fit_weights(
            z[:init_end],
            closes[:init_end],
            settings.horizon,
            settings.method,
            min_samples=settings.fit_min_samples,
        )
        adaptive = frozen
        started = False
        boundary = first
        while boundary + WEEK_MS <= int(times[-1]) + 60_000:
            before = int(np.searchsorted(times, boundary))
            update = relearn(
                boundary, times[:before], closes[:before], z[:before], adaptive, settings
            )
            adaptive = update.weights
            started = started or update.source != "skipped"
            if started:
                lo, hi = before, int(np.searchsorted(times, boundary + WEEK_MS))
                w = slice(lo, hi)
                scores = {
                    label: score(weights, times[w], closes[w], z[w], settings.horizon, fee)
                    for label, weights in (
                        ("adaptive", adaptive),
                        ("frozen", frozen),
                        ("heuristic", heuristic),
                    )
                }
                rows.append((name, boundary, scores, update.source))
            boundary += WEEK_MS
    return rows


def _win_tie_loss(diffs: np.ndarray) -> str:
    """``wins / ties / losses`` of adaptive; a tie is a difference below ``TIE`` (same weights)."""
    tie = np.abs(diffs) < TIE
    return f"{int((diffs >= TIE).sum())} / {int(tie.sum())} / {int((diffs <= -TIE).sum())}"


def main() -> None:
    """Run every series and print the per-window table and the summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trailing-weeks", type=int, default=4)
    parser.add_argument("--max-step", type=float, default=0.25)
    parser.add_argument("--fee", type=float, default=0.0002)
    parser.add_argument("--horizon", type=int, default=15)
    args = parser.parse_args()
    data = Path(os.environ.get("GRIDBOT_TEST_DATA", ROOT.parent / "shared" / "data"))
    settings = replace(
        LearningSettings(),
        trailing_weeks=args.trailing_weeks,
        max_step=args.max_step,
        horizon=args.horizon,
        purge_minutes=max(60, args.horizon),
    )
    series = sorted(p for p in (data / "klines").glob("*/*") if p.is_dir())
    rows = []
    for i, path in enumerate(series, 1):
        print(f"[{i}/{len(series)}] {path.parent.name}/{path.name}", file=sys.stderr, flush=True)
        rows.extend(run_series(path, settings, args.fee))
    print("| series | week from (UTC) | adaptive source | return adaptive / frozen / heuristic |")
    print("|---|---|---|---|")
    for name, start, sc, source in rows:
        day = np.datetime64(start, "ms").astype("datetime64[D]")
        a, f, h = sc["adaptive"].ret, sc["frozen"].ret, sc["heuristic"].ret
        print(f"| {name} | {day} | {source} | {a:+.4f} / {f:+.4f} / {h:+.4f} |")
    print()
    print(
        f"windows: {len(rows)}; trailing_weeks {args.trailing_weeks}, max_step "
        f"{args.max_step}, horizon {args.horizon}, fee {args.fee}"
    )
    print("| weight set | mean return / window | sd | mean Sharpe | windows with return > 0 |")
    print("|---|---|---|---|---|")
    for label in ("adaptive", "frozen", "heuristic"):
        r = np.array([sc[label].ret for _, _, sc, _ in rows])
        s = np.array([sc[label].sharpe for _, _, sc, _ in rows])
        print(
            f"| {label} | {r.mean():+.5f} | {r.std(ddof=1):.5f} | {s.mean():+.3f} "
            f"| {int((r > 0).sum())} / {len(rows)} |"
        )
    print()
    print(
        "| adaptive vs | mean Δ return | sd Δ return | median Δ return | t (mean / se) "
        "| mean Δ Sharpe | sd Δ Sharpe | win / tie / loss (return) | win / tie / loss (Sharpe) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for other in ("frozen", "heuristic"):
        dr = np.array([sc["adaptive"].ret - sc[other].ret for _, _, sc, _ in rows])
        ds = np.array([sc["adaptive"].sharpe - sc[other].sharpe for _, _, sc, _ in rows])
        se = dr.std(ddof=1) / math.sqrt(len(dr))
        print(
            f"| {other} | {dr.mean():+.5f} | {dr.std(ddof=1):.5f} | {np.median(dr):+.5f} | "
            f"{dr.mean() / se:+.2f} | {ds.mean():+.3f} | {ds.std(ddof=1):.3f} | "
            f"{_win_tie_loss(dr)} | {_win_tie_loss(ds)} |"
        )
    sources = [source for _, _, _, source in rows]
    print()
    print("adaptive sources: " + ", ".join(f"{s} {sources.count(s)}" for s in sorted(set(sources))))


if __name__ == "__main__":
    main()
