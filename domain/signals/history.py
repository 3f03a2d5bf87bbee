"""Candles to the arrays the batch paths read, and weights fitted on a history.

The batch feature computation and the weight fit work on numpy columns; the live engine
and the backtest hold :class:`~domain.candles.Candle` tuples. This is the one conversion
between them (Decimal prices become floats here: features are statistics, never money).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from domain.candles import Candle
from domain.features.batch import compute_features
from domain.features.vector import BatchFeatures
from domain.signals.weights import SignalWeights, fit_weights, heuristic_weights

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class CandleColumns:
    """A history as columns (taker-buy volume NaN where the source does not carry it)."""

    open_time: npt.NDArray[np.int64]
    open: F64
    high: F64
    low: F64
    close: F64
    volume: F64
    taker_buy_base: F64


def candle_columns(candles: Sequence[Candle]) -> CandleColumns:
    """The columns of ``candles`` (oldest first)."""
    return CandleColumns(
        open_time=np.fromiter((c.open_time for c in candles), np.int64, len(candles)),
        open=np.fromiter((float(c.open) for c in candles), np.float64, len(candles)),
        high=np.fromiter((float(c.high) for c in candles), np.float64, len(candles)),
        low=np.fromiter((float(c.low) for c in candles), np.float64, len(candles)),
        close=np.fromiter((float(c.close) for c in candles), np.float64, len(candles)),
        volume=np.fromiter((float(c.volume) for c in candles), np.float64, len(candles)),
        taker_buy_base=np.fromiter(
            (math.nan if c.taker_buy_base is None else float(c.taker_buy_base) for c in candles),
            np.float64,
            len(candles),
        ),
    )


def history_features(
    columns: CandleColumns, window: int, clip: float, min_samples: int | None = None
) -> BatchFeatures:
    """Batch features over a history (the same numbers the incremental engine gives)."""
    return compute_features(
        columns.open_time,
        columns.open,
        columns.high,
        columns.low,
        columns.close,
        columns.volume,
        columns.taker_buy_base,
        window=window,
        clip=clip,
        min_samples=min_samples,
    )


def fit_on_history(
    candles: Sequence[Candle],
    *,
    horizon: int,
    method: str,
    window: int,
    clip: float,
    min_samples: int,
) -> SignalWeights:
    """Weights fitted on every ready row of ``candles``; apply them after the last candle.

    Only rows whose features were ready are used, and the fit itself never reads a forward
    return that ends after the history (see :func:`~domain.signals.weights.fit_weights`).
    With too little history the documented heuristic fallback comes back.
    """
    if not candles:
        return heuristic_weights(horizon, method)
    columns = candle_columns(candles)
    batch = history_features(columns, window, clip)
    ready = batch.ready
    if not ready.any():
        return heuristic_weights(horizon, method)
    return fit_weights(
        batch.normalised[ready],
        columns.close[ready],
        horizon,
        method,
        min_samples=min_samples,
    )
