"""The ensemble: long / short conviction and the dominant regime from the three systems.

**Convictions.** With system weights ``w_s`` (non-negative), confidences ``c_s`` and scores
``x_s``::

    long  = sum_s w_s * c_s * max(x_s, 0) / sum_s w_s
    short = sum_s w_s * c_s * max(-x_s, 0) / sum_s w_s

Each term is at most ``w_s`` (confidence and |score| are at most 1), so both convictions
lie in [0, 1]; they are 1 only when every weighted system is fully confident and
saturated on that side. Long and short are kept apart instead of netted: when the trend
systems say long and the range system says short, the strategy should see the conflict
(both moderate) rather than a reassuring zero.

**Dominant regime.** The regime whose system carries the most of the decision, i.e. the
largest ``w_s * c_s``. When every product is zero (no system has anything to say) the
largest regime gate decides instead, so the regime still describes the market. Exact ties
go to NEUTRAL, then UP, then DOWN: without evidence the bot should behave as in a range.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from domain.signals.regime import SYSTEMS, Regime

FloatArray = npt.NDArray[np.float64]
CodeArray = npt.NDArray[np.int8]

_UP, _DOWN, _NEUTRAL = 0, 1, 2


def normalise_system_weights(weights: Sequence[float]) -> tuple[float, float, float]:
    """System weights as a triple summing to 1.

    Raises:
        ValueError: Unless there are three finite, non-negative weights with a positive sum.
    """
    if len(weights) != len(SYSTEMS):
        raise ValueError(f"expected {len(SYSTEMS)} system weights, got {len(weights)}")
    values = [float(w) for w in weights]
    if any(not np.isfinite(w) or w < 0.0 for w in values):
        raise ValueError(f"system weights must be finite and >= 0, got {values}")
    total = sum(values)
    if not total > 0.0:
        raise ValueError("system weights sum to zero")
    return values[0] / total, values[1] / total, values[2] / total


def convictions(
    scores: Sequence[float], confidences: Sequence[float], weights: Sequence[float]
) -> tuple[float, float]:
    """Long and short conviction, each in [0, 1], for one candle (rule in the module doc).

    Args:
        scores: The three systems' scores in :data:`SYSTEMS` order.
        confidences: Their confidences.
        weights: Their system weights (non-negative, positive sum).
    """
    x0, x1, x2 = scores
    c0, c1, c2 = confidences
    w0, w1, w2 = weights
    total = w0 + w1 + w2
    # Conditionals instead of max(): this runs on every candle, and a system's term goes to
    # exactly one side. Summing from 0.0 in system order matches the batch form bit for bit.
    a0, a1, a2 = w0 * c0, w1 * c1, w2 * c2
    long = (a0 * x0 if x0 > 0.0 else 0.0) + (a1 * x1 if x1 > 0.0 else 0.0)
    long = (long + (a2 * x2 if x2 > 0.0 else 0.0)) / total
    short = (a0 * -x0 if x0 < 0.0 else 0.0) + (a1 * -x1 if x1 < 0.0 else 0.0)
    short = (short + (a2 * -x2 if x2 < 0.0 else 0.0)) / total
    return (long if long < 1.0 else 1.0), (short if short < 1.0 else 1.0)


def convictions_batch(
    scores: FloatArray, confidences: FloatArray, weights: Sequence[float]
) -> tuple[FloatArray, FloatArray]:
    """Vectorised :func:`convictions`: T x 3 scores and confidences -> two length-T arrays."""
    w = np.asarray(weights, dtype=np.float64)
    a = confidences * w
    total = float(w.sum())
    long = (a * np.maximum(scores, 0.0)).sum(axis=1) / total
    short = (a * np.maximum(-scores, 0.0)).sum(axis=1) / total
    return np.minimum(long, 1.0), np.minimum(short, 1.0)


def dominant_regime(
    confidences: Sequence[float], weights: Sequence[float], gates: Sequence[float]
) -> Regime:
    """The regime whose system dominates (largest ``w * c``; gates when all are zero)."""
    c0, c1, c2 = confidences
    w0, w1, w2 = weights
    d0, d1, d2 = w0 * c0, w1 * c1, w2 * c2
    if d0 == 0.0 and d1 == 0.0 and d2 == 0.0:
        d0, d1, d2 = gates
    best, value = _NEUTRAL, d2
    if d0 > value:
        best, value = _UP, d0
    if d1 > value:
        best = _DOWN
    return SYSTEMS[best]


def dominant_regime_batch(
    confidences: FloatArray, weights: Sequence[float], gates: FloatArray
) -> CodeArray:
    """Vectorised :func:`dominant_regime`, as codes: positions in :data:`SYSTEMS`."""
    d = confidences * np.asarray(weights, dtype=np.float64)
    silent = (d == 0.0).all(axis=1)
    d = np.where(silent[:, None], gates, d)
    codes = np.full(d.shape[0], _NEUTRAL, dtype=np.int8)
    value = d[:, _NEUTRAL]
    up = d[:, _UP] > value
    codes[up] = _UP
    value = np.where(up, d[:, _UP], value)
    codes[d[:, _DOWN] > value] = _DOWN
    return codes
