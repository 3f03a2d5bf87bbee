"""Each system judged on its own job, beside the IC.

The IC asks one question of every series: does it rank the forward return? That is the
right question for the ensemble, but not for each system. A trend system is meant to be
right *when it speaks, in its own direction*; NEUTRAL is meant to say when the coming
minutes will go back and forth inside a band, which is what a grid earns from, whatever the
direction. So ``gridbot research signals`` also scores:

* **UP and DOWN on forward returns in their direction.** The rows where the system votes
  its way (UP: score > 0, DOWN: score < 0) and has some confidence are the rows it *leads*
  its side. On them: how often the forward return went its way (hit rate), the
  confidence-weighted mean forward return in its direction (``d * r`` with ``d`` = +1 for
  UP, -1 for DOWN, in basis points), the same mean over *every* row (the drift a system
  always voting that way would collect), and the **edge**: weighted mean minus drift. A
  trend system with skill has a positive edge; one whose hit rate only reflects the
  market's drift has an edge near zero.
* **NEUTRAL on the forward efficiency ratio.** ``ER = |c[t+h] - c[t]| / sum |c[i+1] - c[i]|``
  over the next ``h`` minutes: near 0 when the price wandered and came back (a grid's
  round trips), 1 when it went straight (a grid's inventory running against it). The job
  IC is the rank correlation of NEUTRAL's confidence with ``1 - ER`` (positive = NEUTRAL is
  confident before choppy stretches), and the mean ER is given on the rows NEUTRAL leads
  (the dominant regime) beside the rows it does not.

The split rules are those of the IC (:func:`~domain.signals.evaluation.sample_masks`): an
in-sample row counts only if its forward window ends in sample. A window that crosses a
gap in the candles has no return and no ER, and takes no part.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from domain.candles import MINUTE_MS
from domain.signals.correlation import correlation
from domain.signals.decision import BatchDecisions
from domain.signals.evaluation import SAMPLES, Sample, forward_log_returns, sample_masks
from domain.signals.regime import SYSTEM_INDEX, Regime

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: The trend systems and the direction each trades.
TREND_DIRECTIONS: tuple[tuple[Regime, int], ...] = ((Regime.UP, 1), (Regime.DOWN, -1))

#: Basis points per unit of log return.
BPS = 10_000.0


@dataclass(frozen=True, slots=True)
class TrendJob:
    """A trend system scored on forward returns in its direction.

    Attributes:
        system: ``UP`` or ``DOWN``.
        horizon: Forward horizon (minutes).
        sample: ``"in"`` or ``"out"``.
        rows: Rows it led its side (voted its way with confidence > 0).
        hit_rate: Share of those rows whose forward return went its way (NaN: no rows).
        mean_bps: Confidence-weighted mean forward return in its direction (bps).
        drift_bps: Mean forward return in its direction over every usable row (bps).
        edge_bps: ``mean_bps - drift_bps``.
    """

    system: str
    horizon: int
    sample: Sample
    rows: int
    hit_rate: float
    mean_bps: float
    drift_bps: float
    edge_bps: float


@dataclass(frozen=True, slots=True)
class NeutralJob:
    """NEUTRAL scored on the forward efficiency ratio (module docstring).

    Attributes:
        horizon: Forward horizon (minutes).
        sample: ``"in"`` or ``"out"``.
        ic: Rank IC of NEUTRAL's confidence with ``1 - ER`` (NaN: fewer than two rows).
        n: Rows in the IC.
        er_led: Mean forward ER on rows where NEUTRAL is the dominant regime.
        er_other: Mean forward ER on the other rows.
        rows_led: Rows where NEUTRAL is the dominant regime.
    """

    horizon: int
    sample: Sample
    ic: float
    n: int
    er_led: float
    er_other: float
    rows_led: int


def forward_efficiency_ratio(
    open_time: npt.ArrayLike, close: npt.ArrayLike, horizon: int, step_ms: int = MINUTE_MS
) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    """Kaufman's efficiency ratio of every row's next ``horizon`` steps, and where it ends.

    Returns:
        ``(er, end)``: ``er[t] = |c[end] - c[t]| / sum_{i=t}^{end-1} |c[i+1] - c[i]|`` in
        [0, 1] when the ``horizon`` steps after row t are all present (no gap), else NaN;
        ``end`` as :func:`~domain.signals.evaluation.forward_log_returns` gives it. A path
        that never moves has ER 0 (a flat market is all range).
    """
    times = np.asarray(open_time, dtype=np.int64)
    closes = np.asarray(close, dtype=np.float64)
    _, end = forward_log_returns(times, closes, horizon, step_ms)
    n = times.shape[0]
    er = np.full(n, np.nan, dtype=np.float64)
    rows = np.flatnonzero((end >= 0) & (end - np.arange(n) == horizon))
    if rows.size:
        path = np.concatenate(([0.0], np.cumsum(np.abs(np.diff(closes)))))
        travelled = path[end[rows]] - path[rows]
        net = np.abs(closes[end[rows]] - closes[rows])
        with np.errstate(divide="ignore", invalid="ignore"):
            er[rows] = np.where(travelled > 0, net / travelled, 0.0)
    return er, end


def trend_jobs(
    decisions: BatchDecisions,
    close: npt.ArrayLike,
    horizons: Iterable[int],
    split_at: int,
) -> tuple[TrendJob, ...]:
    """UP and DOWN on forward returns in their direction, per horizon and sample."""
    out: list[TrendJob] = []
    times = decisions.open_time
    for h in horizons:
        returns, end = forward_log_returns(times, close, h)
        for sample, mask in zip(SAMPLES, sample_masks(end, split_at), strict=True):
            for system, direction in TREND_DIRECTIONS:
                i = SYSTEM_INDEX[system]
                score = decisions.scores[mask, i]
                weight = decisions.confidences[mask, i]
                along = direction * returns[mask]
                led = (direction * score > 0) & (weight > 0)
                out.append(_trend_job(str(system), h, sample, along, weight, led))
    return tuple(out)


def _trend_job(
    system: str, h: int, sample: Sample, along: FloatArray, weight: FloatArray, led: BoolArray
) -> TrendJob:
    drift = float(along.mean()) * BPS if along.size else math.nan
    rows = int(led.sum())
    if rows == 0:
        return TrendJob(system, h, sample, 0, math.nan, math.nan, drift, math.nan)
    hit = float((along[led] > 0).mean())
    mean = float(np.average(along[led], weights=weight[led])) * BPS
    return TrendJob(system, h, sample, rows, hit, mean, drift, mean - drift)


def neutral_jobs(
    decisions: BatchDecisions,
    close: npt.ArrayLike,
    horizons: Iterable[int],
    split_at: int,
    method: str = "spearman",
) -> tuple[NeutralJob, ...]:
    """NEUTRAL on the forward efficiency ratio, per horizon and sample."""
    out: list[NeutralJob] = []
    i = SYSTEM_INDEX[Regime.NEUTRAL]
    for h in horizons:
        er, end = forward_efficiency_ratio(decisions.open_time, close, h)
        for sample, mask in zip(SAMPLES, sample_masks(end, split_at), strict=True):
            usable = mask & np.isfinite(er)
            confidence = decisions.confidences[usable, i]
            choppy = 1.0 - er[usable]
            led = decisions.regime_codes[usable] == i
            n = int(usable.sum())
            ic = correlation(confidence, choppy, method) if n >= 2 else math.nan
            er_led = float(er[usable][led].mean()) if led.any() else math.nan
            er_other = float(er[usable][~led].mean()) if (~led).any() else math.nan
            out.append(NeutralJob(h, sample, ic, n, er_led, er_other, int(led.sum())))
    return tuple(out)
