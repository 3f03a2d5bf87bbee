"""The records the feature engine hands out: one vector per candle, or matrices per history.

Both are NamedTuples of numpy arrays because their consumers (the systems, the ensemble and
the research tools) index features by column number (see :mod:`domain.features.names`) and
do arithmetic on whole vectors; a tuple is the cheapest immutable container to build once
per candle.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

__all__ = ["BatchFeatures", "FeatureVector"]


class FeatureVector(NamedTuple):
    """Every feature after one closed 1m candle.

    Arrays are in :data:`~domain.features.names.FEATURE_NAMES` order.
    The arrays belong to the caller: the engine never writes to an array it has returned, so
    a consumer may keep them (for a decision record) without copying.

    Attributes:
        open_time: Open time of the 1m candle that produced the vector (epoch ms UTC).
        raw: Raw feature values, float64, one per feature name. Always finite; a feature whose
            lookback is not complete yet holds its neutral value.
        normalised: Rolling z-score of each raw feature, clipped to ``±clip``, float64. All
            zeros until every feature has completed its lookback.
        ready: True once every feature (1h ones included) has its full lookback and the
            normaliser has at least its minimum number of samples; before that the vector is
            informative only, decisions should not be based on it.
    """

    open_time: int
    raw: NDArray[np.float64]
    normalised: NDArray[np.float64]
    ready: bool


class BatchFeatures(NamedTuple):
    """Features over a whole history.

    Row ``t`` of each array is what the incremental engine returns for the ``t``-th candle.

    Attributes:
        open_time: Open times of the candles (epoch ms UTC), int64, shape (T,).
        raw: Raw features, float64, shape (T, F).
        normalised: Clipped rolling z-scores, float64, shape (T, F).
        ready: The engine's ready flag per candle, bool, shape (T,).
    """

    open_time: NDArray[np.int64]
    raw: NDArray[np.float64]
    normalised: NDArray[np.float64]
    ready: NDArray[np.bool_]
