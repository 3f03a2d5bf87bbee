"""The recent ready rows (open time, close, normalised features) a weekly update reads.

The signal engine computes the normalised features of every candle anyway; keeping the
last few weeks of them lets the weekly refit read exactly the numbers the live decisions
used, without recomputing features from candles. Rows older than the look-back are
dropped in bulk when the buffer fills, so appending is O(1) amortised and memory stays at
about two look-backs of rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from domain.features.names import FEATURE_NAMES


class FeatureHistory:
    """Appendable rows in time order, trimmed to a look-back.

    Args:
        lookback_ms: Rows older than this before the newest row may be dropped.
        capacity: Rows kept before a trim (at least the look-back in minutes is sensible).
    """

    __slots__ = ("_close", "_features", "_lookback", "_n", "_time")

    def __init__(self, lookback_ms: int, capacity: int) -> None:
        if lookback_ms <= 0 or capacity < 2:
            raise ValueError("lookback and capacity must be positive (capacity >= 2)")
        self._lookback = lookback_ms
        self._time = np.zeros(capacity, dtype=np.int64)
        self._close = np.zeros(capacity, dtype=np.float64)
        self._features = np.zeros((capacity, len(FEATURE_NAMES)), dtype=np.float64)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def append(self, open_time: int, close: float, features: Sequence[float]) -> None:
        """Add the newest row (open times must increase)."""
        n = self._n
        if n and open_time <= int(self._time[n - 1]):
            raise ValueError("rows must be appended in increasing open-time order")
        if n == self._time.shape[0]:
            n = self._trim(open_time)
        self._time[n] = open_time
        self._close[n] = close
        self._features[n] = features
        self._n = n + 1

    def _trim(self, newest: int) -> int:
        keep_from = int(np.searchsorted(self._time[: self._n], newest - self._lookback))
        keep_from = max(keep_from, self._n // 2)  # always free room, even without a gap
        kept = self._n - keep_from
        self._time[:kept] = self._time[keep_from : self._n]
        self._close[:kept] = self._close[keep_from : self._n]
        self._features[:kept] = self._features[keep_from : self._n]
        self._n = kept
        return kept

    def arrays(
        self,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Views of the rows: open times, closes, features (valid until the next append)."""
        n = self._n
        return self._time[:n], self._close[:n], self._features[:n]
