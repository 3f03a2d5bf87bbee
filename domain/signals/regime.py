"""Market regimes, one per trading system, and the fixed order systems are stored in.

Every per-system array (scores, confidences, gates, system weights, the rows of the weight
matrix) is ordered as :data:`SYSTEMS`, so code indexes systems by position instead of by
name on the per-candle path.
"""

from __future__ import annotations

from enum import StrEnum


class Regime(StrEnum):
    """A market regime and, equally, the system specialised for it.

    The value is the name used in serialised weights, decision records and telemetry.
    """

    UP = "UP"
    DOWN = "DOWN"
    NEUTRAL = "NEUTRAL"


#: Order of the systems in every per-system array.
SYSTEMS: tuple[Regime, Regime, Regime] = (Regime.UP, Regime.DOWN, Regime.NEUTRAL)

#: Position of each system in :data:`SYSTEMS`.
SYSTEM_INDEX: dict[Regime, int] = {regime: i for i, regime in enumerate(SYSTEMS)}
