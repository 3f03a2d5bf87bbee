"""Decision records: everything the signal model decided on a candle, and why.

A :class:`DecisionRecord` is built on every closed candle, so construction is kept cheap
(plain tuples of floats, no conversion); :meth:`DecisionRecord.to_dict` does the work of
turning it into JSON-friendly values only when a consumer (event sink, journal, telemetry)
asks. :class:`BatchDecisions` holds the same quantities for a whole history as arrays.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from domain.features.names import FEATURE_NAMES
from domain.signals.regime import SYSTEMS, Regime

FloatArray = npt.NDArray[np.float64]

Triple = tuple[float, float, float]

#: Significant digits kept by :meth:`DecisionRecord.to_dict`.
SIGNIFICANT_DIGITS = 6


def round_significant(value: float, digits: int = SIGNIFICANT_DIGITS) -> float | None:
    """``value`` rounded to ``digits`` significant digits; None for NaN / ±inf (not JSON).

    Six digits keep every quantity here (z-scores within ±clip, scores, weights) far more
    precise than its meaning while making a stored record a third of the size.
    """
    if not math.isfinite(value):
        return None
    return float(f"{value:.{digits}g}") + 0.0  # + 0.0 turns -0.0 into 0.0


def _triple(values: Any, what: str) -> Triple:
    if len(values) != len(SYSTEMS):
        raise ValueError(f"{what}: expected {len(SYSTEMS)} values, got {len(values)}")
    a, b, c = (float(v) for v in values)
    return a, b, c


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """The signal model's output for one closed candle.

    Attributes:
        open_time: Open time of the candle (ms since the epoch), as in the kline.
        features: The normalised feature vector, in ``FEATURE_NAMES`` order.
        scores: System scores in [-1, 1], in ``SYSTEMS`` order (UP, DOWN, NEUTRAL).
        confidences: System confidences in [0, 1].
        gates: Regime gates in [0, 1] (how much each system's regime matches the market).
        system_weights: The ensemble's system weights (summing to 1).
        long_conviction: In [0, 1].
        short_conviction: In [0, 1].
        regime: The dominant regime.
        calibrated_confidence: The probability that the direction of ``long - short`` is
            right over the forecast horizon, from the weekly performance calibration of
            ``|long - short|`` (:mod:`domain.signals.calibration`); None before the first
            calibration. A strategy may scale its size with it (0.5 is a coin flip).
    """

    open_time: int
    features: tuple[float, ...]
    scores: Triple
    confidences: Triple
    gates: Triple
    system_weights: Triple
    long_conviction: float
    short_conviction: float
    regime: Regime
    calibrated_confidence: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values: floats to 6 significant digits, features as a list.

        Layout::

            {"open_time": int, "regime": "UP" | "DOWN" | "NEUTRAL",
             "long_conviction": float, "short_conviction": float,
             "calibrated_confidence": float | None,
             "systems": {"UP": {"score", "confidence", "gate", "weight"}, "DOWN": ..., ...},
             "features": [float | None, ...]}   # FEATURE_NAMES order, None if not finite
        """
        r = round_significant
        return {
            "open_time": int(self.open_time),
            "regime": str(self.regime),
            "long_conviction": r(self.long_conviction),
            "short_conviction": r(self.short_conviction),
            "calibrated_confidence": (
                None if self.calibrated_confidence is None else r(self.calibrated_confidence)
            ),
            "systems": {
                str(regime): {
                    "score": r(self.scores[i]),
                    "confidence": r(self.confidences[i]),
                    "gate": r(self.gates[i]),
                    "weight": r(self.system_weights[i]),
                }
                for i, regime in enumerate(SYSTEMS)
            },
            "features": [r(v) for v in self.features],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DecisionRecord:
        """Rebuild a record from :meth:`to_dict`'s output (values as rounded there).

        A feature stored as None (it was not finite) comes back as NaN.

        Raises:
            ValueError: If the layout does not match (e.g. a different feature count).
        """
        try:
            systems = data["systems"]
            features = tuple(math.nan if v is None else float(v) for v in data["features"])
            if len(features) != len(FEATURE_NAMES):
                raise ValueError(f"expected {len(FEATURE_NAMES)} features, got {len(features)}")
            per = [systems[str(regime)] for regime in SYSTEMS]
            return cls(
                open_time=int(data["open_time"]),
                features=features,
                scores=_triple([p["score"] for p in per], "scores"),
                confidences=_triple([p["confidence"] for p in per], "confidences"),
                gates=_triple([p["gate"] for p in per], "gates"),
                system_weights=_triple([p["weight"] for p in per], "system weights"),
                long_conviction=float(data["long_conviction"]),
                short_conviction=float(data["short_conviction"]),
                regime=Regime(data["regime"]),
                calibrated_confidence=(
                    None
                    if data.get("calibrated_confidence") is None
                    else float(data["calibrated_confidence"])
                ),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a decision record: {exc!r}") from exc


@dataclass(frozen=True, slots=True, eq=False)
class BatchDecisions:
    """The signal model's outputs over T candles, as arrays (row t = candle t).

    Attributes:
        open_time: Length-T int64 open times.
        features: T x F normalised features (the input, not copied).
        scores: T x 3 system scores, columns in ``SYSTEMS`` order.
        confidences: T x 3 system confidences.
        gates: T x 3 regime gates.
        system_weights: The system weights used for every row.
        long_conviction: Length-T.
        short_conviction: Length-T.
        regime_codes: Length-T int8, the dominant regime as a position in ``SYSTEMS``.
    """

    open_time: npt.NDArray[np.int64]
    features: FloatArray
    scores: FloatArray
    confidences: FloatArray
    gates: FloatArray
    system_weights: Triple
    long_conviction: FloatArray
    short_conviction: FloatArray
    regime_codes: npt.NDArray[np.int8]

    def __len__(self) -> int:
        return int(self.open_time.shape[0])

    def regime(self, t: int) -> Regime:
        """The dominant regime of row ``t``."""
        return SYSTEMS[int(self.regime_codes[t])]

    def record(self, t: int) -> DecisionRecord:
        """Row ``t`` as a :class:`DecisionRecord` (as :meth:`SignalModel.decide` builds it)."""
        return DecisionRecord(
            open_time=int(self.open_time[t]),
            features=tuple(self.features[t].tolist()),
            scores=_triple(self.scores[t].tolist(), "scores"),
            confidences=_triple(self.confidences[t].tolist(), "confidences"),
            gates=_triple(self.gates[t].tolist(), "gates"),
            system_weights=self.system_weights,
            long_conviction=float(self.long_conviction[t]),
            short_conviction=float(self.short_conviction[t]),
            regime=self.regime(t),
        )
