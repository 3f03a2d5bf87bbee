"""Performance-calibrated confidence: how often a conviction of this size was right.

The ensemble's convictions are scores, not probabilities: a net conviction of 0.4 says
"more long than short", not "right 40 % of the time". The weekly update maps the size of the
net conviction ``|long - short|`` to the hit rate it actually achieved on the most recent
held-out week, where a *hit* is a forward return over the signal's horizon in the direction
the conviction pointed (the trade the signal led to went the right way).

This module is the pure part: the samples (one per non-overlapping horizon, so they are
roughly independent), the Brier score, the reliability table and the fitted map itself
as a monotone piecewise-linear table of knots (cheap on every candle, plain JSON in the
journal). Fitting the map (Platt scaling or isotonic regression) needs scikit-learn and
lives in :mod:`application.confidence_calibration`.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from domain.signals.evaluation import forward_log_returns

FloatArray = npt.NDArray[np.float64]

#: Bins of the reliability table (equal width over the predicted probability).
RELIABILITY_BINS = 10


@dataclass(frozen=True, slots=True)
class ReliabilityBin:
    """One row of a reliability table.

    Attributes:
        low: Lower edge of the predicted probability.
        high: Upper edge.
        count: Samples whose prediction fell in the bin.
        predicted: Their mean predicted probability (NaN when empty).
        observed: Their observed hit rate (NaN when empty).
    """

    low: float
    high: float
    count: int
    predicted: float
    observed: float


def brier_score(predicted: npt.ArrayLike, hits: npt.ArrayLike) -> float:
    """Mean squared difference between predicted probability and outcome (0 or 1).

    Lower is better; always predicting the base rate ``p`` scores ``p (1 - p)``. NaN when
    there are no samples.
    """
    p = np.asarray(predicted, dtype=np.float64)
    y = np.asarray(hits, dtype=np.float64)
    if p.shape != y.shape:
        raise ValueError(f"expected equal shapes, got {p.shape}, {y.shape}")
    if p.size == 0:
        return math.nan
    return float(np.mean((p - y) ** 2))


def reliability_table(
    predicted: npt.ArrayLike, hits: npt.ArrayLike, bins: int = RELIABILITY_BINS
) -> tuple[ReliabilityBin, ...]:
    """Predicted against observed hit rate in ``bins`` equal-width bins over [0, 1]."""
    p = np.asarray(predicted, dtype=np.float64)
    y = np.asarray(hits, dtype=np.float64)
    if p.shape != y.shape:
        raise ValueError(f"expected equal shapes, got {p.shape}, {y.shape}")
    index = np.minimum((p * bins).astype(np.int64), bins - 1)
    out = []
    for b in range(bins):
        mask = index == b
        n = int(mask.sum())
        out.append(
            ReliabilityBin(
                low=b / bins,
                high=(b + 1) / bins,
                count=n,
                predicted=float(p[mask].mean()) if n else math.nan,
                observed=float(y[mask].mean()) if n else math.nan,
            )
        )
    return tuple(out)


def hit_samples(
    open_time: npt.ArrayLike,
    close: npt.ArrayLike,
    net_conviction: npt.ArrayLike,
    horizon: int,
) -> tuple[FloatArray, FloatArray]:
    """Conviction sizes and hits, one per non-overlapping horizon.

    Rows are taken every ``horizon`` positions from the first; a row counts when its
    forward return over ``horizon`` minutes exists (matched by time, so never across a gap
    or past the last row) and neither it nor the net conviction is exactly zero (no
    direction, nothing to be right about).

    Returns:
        ``(size, hit)``: ``|net|`` in [0, 1] and 1.0 where the return had the net's sign,
        else 0.0.
    """
    times = np.asarray(open_time, dtype=np.int64)
    closes = np.asarray(close, dtype=np.float64)
    net = np.asarray(net_conviction, dtype=np.float64)
    if net.shape != times.shape:
        raise ValueError(f"expected equal shapes, got {times.shape}, {net.shape}")
    returns, _ = forward_log_returns(times, closes, horizon)
    rows = np.arange(0, times.shape[0], horizon)
    r = returns[rows]
    x = net[rows]
    usable = np.isfinite(r) & np.isfinite(x) & (r != 0.0) & (x != 0.0)
    size = np.minimum(np.abs(x[usable]), 1.0)
    hit = (np.sign(r[usable]) == np.sign(x[usable])).astype(np.float64)
    return size, hit


@dataclass(frozen=True, slots=True)
class ConfidenceCalibration:
    """A monotone map from net-conviction size to the hit rate it achieved.

    Attributes:
        knots_x: Increasing conviction sizes in [0, 1].
        knots_y: Non-decreasing hit rates in [0, 1] at those sizes; between knots the map
            is linear, outside them it is flat.
        method: ``"platt"``, ``"isotonic"`` or ``"constant"`` (too few samples or no
            relation: the base rate).
        samples: Samples it was fitted on.
        base_rate: Their hit rate.
        brier: Brier score of the map on its own samples.
        brier_base_rate: Brier score of always predicting the base rate (the bar to beat).
        reliability: Predicted against observed, on its own samples.
        fitted_at: The weekly boundary (ms) it was fitted at.
    """

    knots_x: tuple[float, ...]
    knots_y: tuple[float, ...]
    method: str
    samples: int
    base_rate: float
    brier: float
    brier_base_rate: float
    reliability: tuple[ReliabilityBin, ...]
    fitted_at: int

    def __post_init__(self) -> None:
        if not self.knots_x or len(self.knots_x) != len(self.knots_y):
            raise ValueError("calibration needs equally many x and y knots, at least one")
        if any(b <= a for a, b in zip(self.knots_x, self.knots_x[1:], strict=False)):
            raise ValueError("calibration x knots must increase")
        if any(b < a for a, b in zip(self.knots_y, self.knots_y[1:], strict=False)):
            raise ValueError("calibration y knots must not decrease")
        if any(not 0.0 <= v <= 1.0 for v in (*self.knots_x, *self.knots_y)):
            raise ValueError("calibration knots must lie in [0, 1]")

    def apply(self, size: float) -> float:
        """The calibrated probability that a net conviction of this size is right."""
        xs, ys = self.knots_x, self.knots_y
        if size <= xs[0]:
            return ys[0]
        if size >= xs[-1]:
            return ys[-1]
        i = bisect_right(xs, size)
        x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
        return y0 + (y1 - y0) * (size - x0) / (x1 - x0)

    def apply_batch(self, sizes: npt.ArrayLike) -> FloatArray:
        """:meth:`apply` over an array."""
        return np.interp(np.asarray(sizes, dtype=np.float64), self.knots_x, self.knots_y)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values (NaN as None)."""

        def f(v: float) -> float | None:
            return v if math.isfinite(v) else None

        return {
            "method": self.method,
            "samples": self.samples,
            "base_rate": f(self.base_rate),
            "brier": f(self.brier),
            "brier_base_rate": f(self.brier_base_rate),
            "fitted_at": self.fitted_at,
            "knots_x": list(self.knots_x),
            "knots_y": list(self.knots_y),
            "reliability": [
                {
                    "low": b.low,
                    "high": b.high,
                    "count": b.count,
                    "predicted": f(b.predicted),
                    "observed": f(b.observed),
                }
                for b in self.reliability
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConfidenceCalibration:
        """Rebuild a calibration written by :meth:`to_dict`.

        Raises:
            ValueError: If a key is missing or a value is invalid.
        """

        def f(v: Any) -> float:
            return math.nan if v is None else float(v)

        try:
            return cls(
                knots_x=tuple(float(v) for v in data["knots_x"]),
                knots_y=tuple(float(v) for v in data["knots_y"]),
                method=str(data["method"]),
                samples=int(data["samples"]),
                base_rate=f(data["base_rate"]),
                brier=f(data["brier"]),
                brier_base_rate=f(data["brier_base_rate"]),
                reliability=tuple(
                    ReliabilityBin(
                        float(b["low"]),
                        float(b["high"]),
                        int(b["count"]),
                        f(b["predicted"]),
                        f(b["observed"]),
                    )
                    for b in data["reliability"]
                ),
                fitted_at=int(data["fitted_at"]),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a serialised calibration: {exc!r}") from exc


def calibration_from_knots(
    knots_x: npt.ArrayLike,
    knots_y: npt.ArrayLike,
    method: str,
    size: npt.ArrayLike,
    hit: npt.ArrayLike,
    fitted_at: int,
) -> ConfidenceCalibration:
    """A calibration with its scores measured on the samples it was fitted on.

    Knots are cleaned into the invariant's shape: clipped to [0, 1], duplicate x values
    merged (keeping the last y), y made non-decreasing by a running maximum (a fitted map
    is monotone already; this only removes floating-point wobble).
    """
    xs = np.clip(np.asarray(knots_x, dtype=np.float64), 0.0, 1.0)
    ys = np.clip(np.asarray(knots_y, dtype=np.float64), 0.0, 1.0)
    order = np.argsort(xs, kind="stable")
    xs, ys = xs[order], ys[order]
    keep = np.append(xs[1:] > xs[:-1], True)
    xs, ys = xs[keep], np.maximum.accumulate(ys[keep])
    s = np.asarray(size, dtype=np.float64)
    y = np.asarray(hit, dtype=np.float64)
    base = float(y.mean()) if y.size else math.nan
    calibration = ConfidenceCalibration(
        knots_x=tuple(float(v) for v in xs),
        knots_y=tuple(float(v) for v in ys),
        method=method,
        samples=int(y.size),
        base_rate=base,
        brier=math.nan,
        brier_base_rate=math.nan,
        reliability=(),
        fitted_at=fitted_at,
    )
    predicted = calibration.apply_batch(s)
    return ConfidenceCalibration(
        knots_x=calibration.knots_x,
        knots_y=calibration.knots_y,
        method=method,
        samples=int(y.size),
        base_rate=base,
        brier=brier_score(predicted, y),
        brier_base_rate=brier_score(np.full(y.shape, base), y) if y.size else math.nan,
        reliability=reliability_table(predicted, y),
        fitted_at=fitted_at,
    )
