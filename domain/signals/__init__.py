"""Trading signals: three systems (UP, DOWN, NEUTRAL), correlation-fitted weights, ensemble.

Pure domain code (standard library and numpy). The input is the normalised feature
vector of :mod:`domain.features` (layout in :mod:`domain.features.names`); the output, on
every closed candle, is a :class:`DecisionRecord` with long / short conviction in [0, 1]
and the dominant :class:`Regime`.
"""

from domain.signals.correlation import pearson, rankdata, spearman
from domain.signals.decision import BatchDecisions, DecisionRecord
from domain.signals.regime import SYSTEMS, Regime
from domain.signals.signal_model import BATCH_TOLERANCE, SignalModel
from domain.signals.systems import DOWN_SPEC, NEUTRAL_SPEC, UP_SPEC, System, Systems, SystemSpec
from domain.signals.weights import SignalWeights, fit_weights, forward_returns, heuristic_weights

__all__ = [
    "BATCH_TOLERANCE",
    "DOWN_SPEC",
    "NEUTRAL_SPEC",
    "SYSTEMS",
    "UP_SPEC",
    "BatchDecisions",
    "DecisionRecord",
    "Regime",
    "SignalModel",
    "SignalWeights",
    "System",
    "SystemSpec",
    "Systems",
    "fit_weights",
    "forward_returns",
    "heuristic_weights",
    "pearson",
    "rankdata",
    "spearman",
]
