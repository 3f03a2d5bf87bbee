"""Exponential smoothing (EMA, Wilder) as used by the features, and its vectorised form.

Definitions (shared by the incremental calculator and the batch path):

* **EMA(n)** of closes: ``alpha = 2 / (n + 1)``; seeded at bar ``n - 1`` with the simple mean
  of the first ``n`` values (the common TA convention, so the first value is not dominated
  by one bar), then ``y_t = decay * y_{t-1} + alpha * x_t`` with ``decay = (n - 1) / (n + 1)``.
* **Wilder(n)** (ATR, RSI averages): the same recursion with ``alpha = 1 / n`` and
  ``decay = (n - 1) / n``, seeded with the mean of the first ``n`` inputs.

``decay`` is computed as its own ratio rather than ``1 - alpha`` so both paths use one
well-defined float.

The batch path cannot loop in Python over a year of bars cheaply, so :func:`linear_recursion`
evaluates the recursion in closed form over chunks: within a chunk of ``K`` bars,
``y_{s+j} = decay^(j+1) y_{s-1} + alpha decay^j sum_{i<=j} decay^(-i) x_{s+i}``. The chunk
length keeps ``decay^(-K)`` below 1e6, and every input smoothed here (prices, true ranges,
gains, losses) is non-negative, so the cumulative sums have no cancellation: the result
matches the step-by-step recursion to a relative 1e-14 or so (tests check 1e-12). Only the
carry from chunk to chunk is a Python loop, over ``T / K`` values.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "EMA_FAST",
    "EMA_MID",
    "EMA_SLOW",
    "WILDER_PERIOD",
    "ema_weights",
    "linear_recursion",
    "seeded_smoothing",
    "wilder_weights",
]

#: EMA periods used by the features (fast / slow for the spread, mid for the slope).
EMA_FAST = 12
EMA_MID = 20
EMA_SLOW = 26
#: Period of the Wilder averages (ATR and RSI).
WILDER_PERIOD = 14

# Upper bound on decay^(-K) within one closed-form chunk.
_MAX_GROWTH = 1e6
_MAX_CHUNK = 256


def ema_weights(period: int) -> tuple[float, float]:
    """``(alpha, decay)`` of an EMA of ``period`` bars."""
    return 2.0 / (period + 1), (period - 1) / (period + 1)


def wilder_weights(period: int) -> tuple[float, float]:
    """``(alpha, decay)`` of Wilder's smoothing of ``period`` bars."""
    return 1.0 / period, (period - 1) / period


def linear_recursion(
    x: NDArray[np.float64], alpha: float, decay: float, y0: float
) -> NDArray[np.float64]:
    """``y_t = decay * y_{t-1} + alpha * x_t`` for every t, with ``y_{-1} = y0``.

    Args:
        x: Inputs (non-negative for the accuracy stated in the module docstring).
        alpha: Weight of the new input.
        decay: Weight of the previous value, in (0, 1).
        y0: Value before the first input.

    Returns:
        The smoothed series, same length as ``x``.
    """
    x = np.asarray(x, dtype=np.float64)
    length = x.shape[0]
    if length == 0:
        return np.empty(0)
    chunk = int(min(_MAX_CHUNK, max(1, math.floor(math.log(_MAX_GROWTH) / -math.log(decay)))))
    chunks = -(-length // chunk)
    padded = np.zeros(chunks * chunk)
    padded[:length] = x
    xs = padded.reshape(chunks, chunk)
    steps = np.arange(chunk, dtype=np.float64)
    growth = decay ** (-steps)
    shrink = decay**steps
    carry_weight = decay ** (steps + 1.0)
    within = alpha * shrink * np.cumsum(xs * growth, axis=1)
    # Value at the end of each chunk from the start value: a short scalar recursion.
    ends = within[:, -1].tolist()
    decay_chunk = decay**chunk
    starts = [0.0] * chunks
    y = y0
    for i, end in enumerate(ends):
        starts[i] = y
        y = decay_chunk * y + end
    out: NDArray[np.float64] = within + carry_weight * np.array(starts)[:, None]
    return out.reshape(-1)[:length]


def seeded_smoothing(
    x: NDArray[np.float64], period: int, alpha: float, decay: float
) -> NDArray[np.float64]:
    """Smoothing seeded with the mean of the first ``period`` inputs, as the features use it.

    Args:
        x: Inputs, one per bar (non-negative).
        period: Seed length; the first defined output is at index ``period - 1``.
        alpha: Weight of the new input.
        decay: Weight of the previous value.

    Returns:
        Smoothed values; entries before index ``period - 1`` are 0.0 (undefined).
    """
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros(x.shape[0])
    if x.shape[0] < period:
        return out
    # Sequential sum (cumsum), the order the incremental calculator adds in.
    seed = float(np.cumsum(x[:period])[-1]) / period
    out[period - 1] = seed
    out[period:] = linear_recursion(x[period:], alpha, decay, seed)
    return out
