"""Drawdown of an equity curve: how deep, how much money, and how long under water."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class DrawdownSummary:
    """The worst fall of an equity curve.

    Attributes:
        max_fraction: Largest ``(peak - equity) / peak``.
        max_amount: Largest ``peak - equity`` (may come from another peak than the fraction).
        max_duration_ms: Longest time spent below a previous peak: from the peak's sample to
            the first sample back at or above it, or to the last sample if it never recovers.
        peak_time: Time of the peak before the deepest fall (fraction), or None.
        trough_time: Time of the deepest point, or None.
        recovered: Whether the curve regained the peak of its longest spell under water.
    """

    max_fraction: float
    max_amount: float
    max_duration_ms: int
    peak_time: int | None
    trough_time: int | None
    recovered: bool


def drawdown_summary(
    times_ms: IntArray,
    equity: FloatArray,
    initial_equity: float,
    elapsed_ms: IntArray | None = None,
) -> DrawdownSummary:
    """Drawdown statistics of ``equity`` sampled at ``times_ms``, starting from ``initial_equity``.

    The initial equity counts as the first peak (a run that loses from its first candle is
    under water from its start).

    Args:
        times_ms: Sample times (peak and trough times are reported in them).
        equity: Equity at each sample.
        initial_equity: Equity before the first sample.
        elapsed_ms: The clock durations are measured on, if not ``times_ms``: market time
            covered by the data (a gap of missing candles then adds nothing).
    """
    if len(equity) == 0:
        return DrawdownSummary(0.0, 0.0, 0, None, None, True)
    peaks = np.maximum.accumulate(np.maximum(equity, initial_equity))
    falls = peaks - equity
    with np.errstate(divide="ignore", invalid="ignore"):
        fractions = np.where(peaks > 0, falls / peaks, 0.0)
    deepest = int(np.argmax(fractions))
    max_fraction = float(fractions[deepest])
    peak_time: int | None = None
    trough_time: int | None = None
    if max_fraction > 0:
        trough_time = int(times_ms[deepest])
        at_peak = np.flatnonzero(equity[: deepest + 1] >= peaks[deepest])
        peak_time = int(times_ms[at_peak[-1]]) if len(at_peak) else int(times_ms[0])
    clock = times_ms if elapsed_ms is None else elapsed_ms
    duration, recovered = _longest_underwater(clock, falls > 0)
    return DrawdownSummary(
        max_fraction=max_fraction,
        max_amount=float(falls.max()),
        max_duration_ms=duration,
        peak_time=peak_time,
        trough_time=trough_time,
        recovered=recovered,
    )


def _longest_underwater(times_ms: IntArray, under: npt.NDArray[np.bool_]) -> tuple[int, bool]:
    """Longest spell of consecutive ``under`` samples, timed from the sample before it."""
    if not under.any():
        return 0, True
    flags = np.concatenate(([False], under, [False])).astype(np.int8)
    edges = np.diff(flags)
    starts = np.flatnonzero(edges == 1)  # first sample under water
    ends = np.flatnonzero(edges == -1)  # first sample back above (may be len: never)
    n = len(times_ms)
    begins = times_ms[np.maximum(starts - 1, 0)]
    stops = times_ms[np.minimum(ends, n - 1)]
    spells = stops - begins
    longest = int(np.argmax(spells))
    return int(spells[longest]), bool(ends[longest] < n)
