"""Rolling z-scores of the feature vector, clipped: incremental (one vector op per step) and batch.

Each feature is standardised against its own last ``window`` samples (the current one
included, so nothing from the future is used): ``z = (x - mean) / sd``, clipped to
``[-clip, clip]``. Before ``window`` samples exist the window is every sample so far.

The moments use the block decomposition of :mod:`domain.features.rolling` (shifted sums,
suffix sums of the previous block rebuilt when a block starts), here vectorised across all
features so one step is about a dozen numpy operations on F-vectors whatever F is. Batch and
incremental results are bit-identical for identical raw input.

**Flat features.** The standard deviation is floored at :data:`SD_FLOOR` (1e-8). A feature
that is constant over the window has a deviation of exactly 0.0 (see the shift argument in
:mod:`domain.features.rolling`), so its z-score is exactly 0. The floor is for features that
are constant up to rounding: in a frozen market the Wilder averages behind RSI decay step by
step and the ratio wobbles in its last bits (1e-16 .. 1e-14); without a floor that wobble
would be standardised into full-size z-scores, and the batch path (whose smoothing rounds
differently) would disagree wholesale. Every feature is a dimensionless ratio or log return,
and the smallest genuine move, one price tick, is at least 1e-7 of the price even for BTC at
1e5 with a 0.01 tick; the floor sits between the two, so it only ever removes noise.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from domain.features.rolling import moment_groups, store_group

__all__ = ["SD_FLOOR", "RollingZScore", "rolling_zscore"]

#: Smallest standard deviation the z-score divides by.
SD_FLOOR = 1e-8
_VAR_FLOOR = SD_FLOOR * SD_FLOOR


def _check(window: int, clip: float) -> None:
    if window < 1:
        raise ValueError(f"normalisation window must be at least 1, got {window}")
    if not (clip > 0.0 and math.isfinite(clip)):
        raise ValueError(f"clip must be a positive finite number, got {clip}")


# Bound ufuncs; positional ``out`` arguments where numpy allows them (a keyword costs a
# dict parse per call, a noticeable share of an operation on a 48-vector; maximum and
# minimum deprecate the positional form, so they keep the keyword).
_add = np.add
_sub = np.subtract
_mul = np.multiply
_div = np.divide
_max = np.maximum
_min = np.minimum
_sqrt = np.sqrt


class RollingZScore:
    """Incremental clipped rolling z-score of a fixed-length float vector.

    One :meth:`update` is thirteen numpy operations on vectors of ``width`` floats and no
    Python loop over features; the O(window * width) fold of a finished block happens once
    per ``window`` samples.
    """

    __slots__ = (
        "_block",
        "_clip_hi",
        "_clip_lo",
        "_count",
        "_inv",
        "_inv_full",
        "_kb",
        "_pos",
        "_prev",
        "_sa",
        "_shifted",
        "_square",
        "_sums",
        "_v",
        "_var_floor",
        "_window",
    )

    def __init__(self, width: int, window: int, clip: float) -> None:
        """Create an empty normaliser.

        Args:
            width: Number of features in each vector.
            window: Samples per rolling window.
            clip: Bound on the absolute z-score.
        """
        _check(window, clip)
        self._window = window
        self._pos = 0
        self._count = 0
        self._kb = np.zeros(width)
        # This sample's shifted value and its square, stacked so one add updates both sums.
        self._v = np.zeros((2, width))
        self._shifted = self._v[0]
        self._square = self._v[1]
        self._sums = np.zeros((2, width))  # prefix sums of the current block
        self._block = np.zeros((window, width))
        self._prev = np.zeros((window, width))
        # Suffix sums of the previous block around this block's shift, by start position p;
        # row `window` stays zero (the window that is the whole current block).
        self._sa = np.zeros((window + 1, 2, width))
        # Divisor per block position: 1 / (j + 1) while the first block fills, then 1 / window
        # (as an array: multiplying by a Python float costs a conversion on every call).
        self._inv: list[float] | list[NDArray[np.float64]] = [1.0 / (j + 1) for j in range(window)]
        self._inv_full = [np.full((2, width), 1.0 / window)] * window
        self._clip_lo = np.full(width, -clip)
        self._clip_hi = np.full(width, clip)
        self._var_floor = np.full(width, _VAR_FLOOR)

    @property
    def count(self) -> int:
        """Samples seen so far."""
        return self._count

    def update(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """Add a sample vector; return its clipped z-scores as a new array.

        Args:
            x: Feature vector (finite), length ``width``; not modified, not retained.
        """
        j = self._pos
        if j == 0:
            self._start_block(x)
        shifted = self._shifted
        sums = self._sums
        _sub(x, self._kb, shifted)
        _mul(shifted, shifted, self._square)
        _add(sums, self._v, sums)
        self._block[j] = x
        moments = self._sa[j + 1] + sums
        _mul(moments, self._inv[j], moments)
        mean = moments[0]
        var: NDArray[np.float64] = moments[1] - mean * mean
        z: NDArray[np.float64] = shifted - mean
        _max(var, self._var_floor, out=var)
        _sqrt(var, var)
        _div(z, var, z)
        _max(z, self._clip_lo, out=z)
        _min(z, self._clip_hi, out=z)
        self._count += 1
        j += 1
        self._pos = 0 if j == self._window else j
        return z

    def _start_block(self, x: NDArray[np.float64]) -> None:
        """Open a block at ``x``: fold the finished block into suffix sums around ``x``."""
        self._kb = x.copy()
        self._sums.fill(0.0)
        if self._count == 0:
            return
        prev = self._block
        self._block, self._prev = self._prev, prev
        u = prev - self._kb
        n = self._window
        self._sa[1:n, 0] = np.cumsum(u[::-1], axis=0)[::-1][1:]
        self._sa[1:n, 1] = np.cumsum((u * u)[::-1], axis=0)[::-1][1:]
        self._inv = self._inv_full


def rolling_zscore(
    x: NDArray[np.float64],
    window: int,
    clip: float,
    out: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """Batch twin of :class:`RollingZScore`.

    Args:
        x: Samples, shape (T, F), time on axis 0.
        window: Samples per rolling window.
        clip: Bound on the absolute z-score.
        out: Optional (T, F) array to write into (saves a full-size temporary).

    Returns:
        Clipped z-scores, shape (T, F); row t equals the incremental output for sample t.
    """
    _check(window, clip)
    x = np.asarray(x, dtype=np.float64)
    result = np.empty_like(x) if out is None else out
    for b0, dev, var in moment_groups(x, window):
        np.maximum(var, _VAR_FLOOR, out=var)
        np.sqrt(var, out=var)
        np.divide(dev, var, out=dev)
        np.maximum(dev, -clip, out=dev)
        np.minimum(dev, clip, out=dev)
        store_group(result, b0, dev)
    return result
