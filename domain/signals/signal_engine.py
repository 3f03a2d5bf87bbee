"""Features, systems and ensemble on every closed candle: one decision record per candle.

The per-candle path of the adaptive strategy's signal: the incremental feature engine
(O(1) per candle) feeds the signal model (a few matrix-vector products). Pure and
synchronous, so the backtest, paper and live runs compute exactly the same records.
"""

from __future__ import annotations

from collections.abc import Iterable

from domain.candles import Candle
from domain.features.engine import FeatureEngine
from domain.signals.calibration import ConfidenceCalibration
from domain.signals.decision import DecisionRecord
from domain.signals.signal_model import SignalModel
from domain.signals.weights import SignalWeights


class SignalEngine:
    """Closed candle in, decision record out (None until the features are ready).

    Args:
        weights: Feature and system weights (fitted on a warm-up window, or heuristic).
        window: Normalisation window in 1m candles.
        clip: z-score clip.
        min_samples: Samples the normaliser needs before the features count as ready
            (default ``window``).
        calibration: The confidence calibration (None: records carry none).
    """

    __slots__ = ("_features", "_model", "last")

    def __init__(
        self,
        weights: SignalWeights,
        window: int = 1440,
        clip: float = 4.0,
        min_samples: int | None = None,
        calibration: ConfidenceCalibration | None = None,
    ) -> None:
        self._features = FeatureEngine(window, clip, min_samples)
        self._model = SignalModel(weights, calibration)
        #: The latest decision record (None before the features are ready).
        self.last: DecisionRecord | None = None

    @property
    def weights(self) -> SignalWeights:
        """The weights in use."""
        return self._model.weights

    @property
    def warmup_candles(self) -> int:
        """Gap-free 1m candles needed before the first record."""
        return self._features.warmup_candles

    @property
    def calibration(self) -> ConfidenceCalibration | None:
        """The confidence calibration in use (None: none yet)."""
        return self._model.calibration

    def reweight(
        self, weights: SignalWeights, calibration: ConfidenceCalibration | None = None
    ) -> None:
        """Use new weights (and calibration) from the next candle on; features keep state."""
        self._model = SignalModel(weights, calibration)

    def update(self, candle: Candle) -> DecisionRecord | None:
        """Advance the features by one closed candle and decide, once they are ready."""
        vector = self._features.update(candle)
        if not vector.ready:
            return None
        record = self._model.decide(vector.open_time, vector.normalised)
        self.last = record
        return record

    def warm_up(self, candles: Iterable[Candle]) -> int:
        """Feed history without keeping its records (a restart's or a start's look-back).

        Returns:
            How many candles were fed.
        """
        fed = 0
        for candle in candles:
            self.update(candle)
            fed += 1
        return fed
