"""The signal model: normalised features in, a decision record out, on every closed candle.

It wires the three systems (:mod:`domain.signals.systems`) with a set of
:class:`~domain.signals.weights.SignalWeights` to the ensemble
(:mod:`domain.signals.ensemble`). :meth:`SignalModel.decide` is the per-candle path: two
matrix-vector products over the feature vector, then plain float arithmetic, so it costs
a few microseconds. :meth:`SignalModel.decide_batch` computes the same quantities for a
whole history with matrix products (warm-up, research, backtests that precompute).

Batch and per-candle agree to :data:`BATCH_TOLERANCE` on every float (the only
differences are summation order inside the matrix products and last-bit differences
between ``math`` and numpy's ``tanh``); the regime agrees wherever its deciding margin
exceeds that tolerance.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from domain.signals.calibration import ConfidenceCalibration
from domain.signals.decision import BatchDecisions, DecisionRecord
from domain.signals.ensemble import (
    convictions,
    convictions_batch,
    dominant_regime,
    dominant_regime_batch,
    normalise_system_weights,
)
from domain.signals.systems import Systems
from domain.signals.weights import SignalWeights

#: Maximum absolute difference between :meth:`SignalModel.decide_batch` and
#: :meth:`SignalModel.decide` on any score, confidence, gate or conviction.
BATCH_TOLERANCE = 1e-9

_BATCH_CHUNK = 16384


class SignalModel:
    """Three systems plus the ensemble under one set of weights.

    Args:
        weights: Feature and system weights (fitted or heuristic); system weights are
            normalised to sum 1.
        calibration: The performance calibration of ``|long - short|`` (None: records
            carry no calibrated confidence).
    """

    __slots__ = ("_system_weights", "_systems", "calibration", "weights")

    def __init__(
        self, weights: SignalWeights, calibration: ConfidenceCalibration | None = None
    ) -> None:
        self.weights = weights
        self.calibration = calibration
        self._systems = Systems(weights.feature_weight_vectors())
        self._system_weights = normalise_system_weights(weights.system_weights)

    @property
    def systems(self) -> Systems:
        """The three systems with this model's feature weights."""
        return self._systems

    @property
    def system_weights(self) -> tuple[float, float, float]:
        """System weights as used (summing to 1), ``SYSTEMS`` order."""
        return self._system_weights

    def decide(self, open_time: int, normalised: npt.NDArray[np.generic]) -> DecisionRecord:
        """The decision for one closed candle.

        Args:
            open_time: The candle's open time (ms).
            normalised: Its normalised feature vector, shape (F,), ``FEATURE_NAMES`` order.

        Returns:
            Scores, confidences, gates, convictions and the dominant regime; the record
            holds a copy of the features.
        """
        scores, confidences, gates = self._systems.evaluate_triples(normalised)
        w = self._system_weights
        long, short = convictions(scores, confidences, w)
        calibration = self.calibration
        net = long - short
        return DecisionRecord(
            open_time,
            tuple(normalised.tolist()),
            scores,
            confidences,
            gates,
            w,
            long,
            short,
            dominant_regime(confidences, w, gates),
            None if calibration is None else calibration.apply(net if net >= 0.0 else -net),
        )

    def decide_batch(self, open_time: npt.ArrayLike, normalised: npt.ArrayLike) -> BatchDecisions:
        """Decisions for T candles at once; row t equals ``decide(open_time[t], z[t])``.

        Args:
            open_time: Length-T open times.
            normalised: T x F normalised features.

        Returns:
            Arrays per quantity (see :class:`~domain.signals.decision.BatchDecisions`).
        """
        times = np.asarray(open_time, dtype=np.int64)
        z = np.asarray(normalised, dtype=np.float64)
        if times.ndim != 1 or z.ndim != 2 or z.shape[0] != times.shape[0]:
            raise ValueError(
                f"expected length-T open times and a T x F matrix, got {times.shape}, {z.shape}"
            )
        n = z.shape[0]
        w = self._system_weights
        scores = np.empty((n, 3), dtype=np.float64)
        confidences = np.empty((n, 3), dtype=np.float64)
        gates = np.empty((n, 3), dtype=np.float64)
        long = np.empty(n, dtype=np.float64)
        short = np.empty(n, dtype=np.float64)
        codes = np.empty(n, dtype=np.int8)
        # Chunks keep every temporary in cache; rows are independent, so results are the
        # same as in one pass.
        for lo in range(0, n, _BATCH_CHUNK):
            rows = slice(lo, min(n, lo + _BATCH_CHUNK))
            out = self._systems.evaluate_batch(z[rows])
            scores[rows], confidences[rows], gates[rows] = out
            long[rows], short[rows] = convictions_batch(out.scores, out.confidences, w)
            codes[rows] = dominant_regime_batch(out.confidences, w, out.gates)
        return BatchDecisions(
            open_time=times,
            features=z,
            scores=scores,
            confidences=confidences,
            gates=gates,
            system_weights=w,
            long_conviction=long,
            short_conviction=short,
            regime_codes=codes,
        )
