"""Information coefficients (ICs) of signal series against forward returns, in and out of sample.

The research question behind ``gridbot research signals`` is whether the signal model's
outputs rank future price moves: for a series ``x`` (a system score, a conviction) and a
horizon ``h`` the IC is the correlation (Spearman by default) of ``x[t]`` with the forward
log return ``log(close(t + h minutes) / close(t))``. This module is the pure arithmetic of
that question; reading files, fitting and drawing belong to the callers.

**Forward returns by time, not by position.** A history may have gaps (missing minutes,
or months between two data sources). Row t's forward return at horizon h uses the close of
the row whose open time is exactly ``open_time[t] + h`` minutes; if that minute is missing
the return is undefined (NaN) and the row takes no part. Shifting by position instead would
silently measure a return across a gap of days.

**Split without look-ahead.** The rows are split at a position ``split_at``: rows before it
are in sample (the weights were fitted on them), the rest out of sample. An in-sample row
counts only if the close its forward return ends on is also in sample (``end < split_at``);
on gap-free data that drops exactly the last ``h`` in-sample rows for horizon ``h``. So no
in-sample IC reads a price from after the split (tested: changing every price after the
split leaves the in-sample ICs unchanged). Out-of-sample rows start at ``split_at``; their
forward returns only read later closes.

**Reading an IC.** Forward returns over h minutes taken every minute overlap, so ``n`` rows
hold only about ``n / h`` independent observations; :func:`noise_band` is two standard
errors of a zero-skill IC on that many, the size an IC must exceed before it means more than
noise. An undefined IC (fewer than two usable pairs) is NaN, not 0, so "not measured" is
never mistaken for "no skill".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from domain.candles import MINUTE_MS
from domain.signals.correlation import METHODS, correlation
from domain.signals.decision import BatchDecisions
from domain.signals.regime import SYSTEMS

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

Sample = Literal["in", "out"]

#: The two samples, in report order.
SAMPLES: tuple[Sample, Sample] = ("in", "out")

#: Series derived from the model's outputs by :func:`signal_series`, in report order: the
#: three system scores, the ensemble's net conviction, and its two sides.
SERIES: tuple[str, ...] = (*(str(s) for s in SYSTEMS), "ensemble", "long", "short")

#: Standard errors of a zero-skill IC that :func:`noise_band` spans.
NOISE_SIGMAS = 2.0


@dataclass(frozen=True, slots=True)
class IcResult:
    """The IC of one series at one horizon in one sample.

    Attributes:
        series: Series name (e.g. ``"UP"``, ``"ensemble"``).
        horizon: Forward-return horizon in minutes.
        sample: ``"in"`` (rows the weights were fitted on) or ``"out"``.
        ic: Correlation in [-1, 1]; NaN when fewer than two pairs were usable.
        n: Rows that entered the correlation (finite series value and forward return).
    """

    series: str
    horizon: int
    sample: Sample
    ic: float
    n: int

    @property
    def noise(self) -> float:
        """:func:`noise_band` for this result's ``n`` and horizon."""
        return noise_band(self.n, self.horizon)


def noise_band(n: int, horizon: int) -> float:
    """``NOISE_SIGMAS / sqrt(n / horizon)``: the IC a skill-free series exceeds ~5% of the time.

    Overlapping h-minute returns sampled every minute carry about ``n / h`` independent
    observations, and a zero-skill IC on m of them has a standard error of about
    ``1 / sqrt(m)``. Returns NaN when nothing was measured, and is capped at 1.
    """
    if n <= 0 or horizon < 1:
        return math.nan
    return min(1.0, NOISE_SIGMAS / math.sqrt(n / horizon))


def split_point(rows: int, split: float) -> int:
    """The first out-of-sample row: ``floor(rows * split)``.

    Args:
        rows: Number of rows (ready candles).
        split: In-sample fraction, strictly between 0 and 1.

    Raises:
        ValueError: If ``rows`` is negative or ``split`` is not in (0, 1).
    """
    if rows < 0:
        raise ValueError(f"rows must be >= 0, got {rows}")
    if not 0.0 < split < 1.0:
        raise ValueError(f"split must be strictly between 0 and 1, got {split}")
    return math.floor(rows * split)


def parse_horizons(values: Iterable[int]) -> tuple[int, ...]:
    """Horizons as a sorted tuple of distinct positive ints.

    Raises:
        ValueError: If there are none or one is below 1.
    """
    horizons = sorted({int(v) for v in values})
    if not horizons:
        raise ValueError("at least one horizon is needed")
    if horizons[0] < 1:
        raise ValueError(f"horizons must be >= 1 minute, got {horizons[0]}")
    return tuple(horizons)


def forward_log_returns(
    open_time: npt.ArrayLike,
    close: npt.ArrayLike,
    horizon: int,
    step_ms: int = MINUTE_MS,
) -> tuple[FloatArray, IntArray]:
    """Forward log return of every row over ``horizon`` steps of time, and where it ends.

    Args:
        open_time: Strictly increasing open times (ms).
        close: Closes aligned with ``open_time``.
        horizon: Steps ahead (>= 1).
        step_ms: Length of one step (a 1m candle by default).

    Returns:
        ``(returns, end)``: ``returns[t] = log(close[end[t]] / close[t])`` where ``end[t]`` is
        the row opening exactly ``horizon * step_ms`` after row t; where there is no such row
        (the end of the history or a gap) or a close is not positive and finite, ``returns``
        is NaN and ``end`` is -1.

    Raises:
        ValueError: On shape mismatches, unsorted times or a bad horizon.
    """
    times = np.asarray(open_time, dtype=np.int64)
    closes = np.asarray(close, dtype=np.float64)
    if times.ndim != 1 or closes.shape != times.shape:
        raise ValueError(f"expected equal 1-D arrays, got {times.shape}, {closes.shape}")
    if horizon < 1 or step_ms < 1:
        raise ValueError(f"horizon and step must be >= 1, got {horizon}, {step_ms}")
    if times.size > 1 and not bool(np.all(times[1:] > times[:-1])):
        raise ValueError("open times must be strictly increasing")
    n = times.shape[0]
    target = times + np.int64(horizon) * np.int64(step_ms)
    found = np.searchsorted(times, target)
    end = np.full(n, -1, dtype=np.int64)
    inside = found < n
    exact = np.zeros(n, dtype=bool)
    exact[inside] = times[found[inside]] == target[inside]
    end[exact] = found[exact]
    returns = np.full(n, np.nan, dtype=np.float64)
    rows = np.flatnonzero(exact)
    if rows.size:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            r = np.log(closes[end[rows]] / closes[rows])
        good = np.isfinite(r)
        returns[rows[good]] = r[good]
        end[rows[~good]] = -1
    return returns, end


def sample_masks(end: npt.ArrayLike, split_at: int) -> tuple[BoolArray, BoolArray]:
    """Rows usable in sample and out of sample, given where each forward return ends.

    Args:
        end: Per row, the index of the close its forward return ends on (-1: none), as
            returned by :func:`forward_log_returns`.
        split_at: The first out-of-sample row.

    Returns:
        ``(in_sample, out_of_sample)``: in-sample rows lie before ``split_at`` *and* end
        before it (no return crosses the split); out-of-sample rows lie at or after it.

    Raises:
        ValueError: If ``split_at`` is outside ``0..len(end)``.
    """
    ends = np.asarray(end, dtype=np.int64)
    n = ends.shape[0]
    if not 0 <= split_at <= n:
        raise ValueError(f"split_at {split_at} is outside 0..{n}")
    rows = np.arange(n)
    defined = ends >= 0
    in_sample = defined & (rows < split_at) & (ends < split_at)
    out_of_sample = defined & (rows >= split_at)
    return in_sample, out_of_sample


def _ic(x: FloatArray, y: FloatArray, method: str) -> tuple[float, int]:
    usable = np.isfinite(x) & np.isfinite(y)
    n = int(usable.sum())
    if n < 2:
        return math.nan, n
    return correlation(x[usable], y[usable], method), n


def information_coefficients(
    series: Mapping[str, npt.ArrayLike],
    open_time: npt.ArrayLike,
    close: npt.ArrayLike,
    horizons: Iterable[int],
    split_at: int,
    method: str = "spearman",
    step_ms: int = MINUTE_MS,
) -> tuple[IcResult, ...]:
    """IC of every series at every horizon, in and out of sample (module docstring).

    Args:
        series: Name to values, each aligned with ``open_time``.
        open_time: Strictly increasing open times (ms) of the rows.
        close: Closes of the rows.
        horizons: Forward horizons in steps (minutes by default).
        split_at: First out-of-sample row (see :func:`split_point`).
        method: ``"spearman"`` or ``"pearson"``.
        step_ms: Length of one horizon step.

    Returns:
        One result per series, horizon and sample, ordered by series (mapping order), then
        horizon (ascending), then sample (in, out).

    Raises:
        ValueError: On a bad method, horizon, split or mismatched lengths.
    """
    if method not in METHODS:
        raise ValueError(f"unknown correlation method {method!r}; expected one of {METHODS}")
    hs = parse_horizons(horizons)
    times = np.asarray(open_time, dtype=np.int64)
    values = {name: np.asarray(v, dtype=np.float64) for name, v in series.items()}
    for name, v in values.items():
        if v.shape != times.shape:
            raise ValueError(f"series {name!r} has shape {v.shape}, expected {times.shape}")
    masks: dict[int, tuple[FloatArray, tuple[BoolArray, BoolArray]]] = {}
    for h in hs:
        returns, end = forward_log_returns(times, close, h, step_ms)
        masks[h] = (returns, sample_masks(end, split_at))
    out: list[IcResult] = []
    for name, v in values.items():
        for h in hs:
            returns, (in_mask, out_mask) = masks[h]
            for sample, mask in zip(SAMPLES, (in_mask, out_mask), strict=True):
                ic, n = _ic(v[mask], returns[mask], method)
                out.append(IcResult(name, h, sample, ic, n))
    return tuple(out)


def signal_series(decisions: BatchDecisions) -> dict[str, FloatArray]:
    """The series whose ICs are reported, from the model's batch outputs (:data:`SERIES`).

    The system scores are signed (positive = long) and the ensemble is ``long - short``,
    so skill shows as a positive IC; ``long`` alone should be positive and ``short`` alone
    negative if they rank returns.
    """
    series: dict[str, FloatArray] = {
        str(regime): np.ascontiguousarray(decisions.scores[:, i])
        for i, regime in enumerate(SYSTEMS)
    }
    series["ensemble"] = decisions.long_conviction - decisions.short_conviction
    series["long"] = decisions.long_conviction
    series["short"] = decisions.short_conviction
    return series
