"""Calibrated-confidence sizing: the side the conviction favours gets a size its record earns.

The weekly calibration (:mod:`domain.signals.calibration`) says how often a net conviction of
a given size was right over the forecast horizon: ``p`` (0.5 is a coin flip). With
``confidence_sizing = k`` the per-level size on the side the net conviction favours (buys when
long > short, sells when short > long) is multiplied by ``1 + k * (2p - 1)``: larger when the
conviction's direction has been right more often than not, smaller when it has been wrong
more often, unchanged at a coin flip, before the first calibration or without a favoured side.
The other side keeps its size.

The factor is quantised to :data:`FACTOR_STEP` (a per-candle jitter of ``p`` would otherwise
re-size, and so modify, resting orders on every candle) and bounded to
``[FACTOR_STEP, 1 + k]``. It only changes sizes: the plan's worst-case exposure cap still
counts every level at its scaled size, so the budget holds whatever the factor.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

ONE = Decimal(1)
TWO = Decimal(2)
#: Factors move in tenths (and never reach 0: a favoured side always keeps some size).
FACTOR_STEP = Decimal("0.1")


def side_size_factors(
    k: Decimal, net_conviction: float, calibrated_confidence: float | None
) -> tuple[Decimal, Decimal]:
    """The (buy, sell) per-level size factors (module docstring).

    Args:
        k: ``confidence_sizing`` in [0, 1]; 0 leaves both sides at 1.
        net_conviction: ``long - short`` of the latest decision (its sign picks the side).
        calibrated_confidence: The decision's calibrated probability that the sign is right
            (None before the first calibration).
    """
    if not k or calibrated_confidence is None or net_conviction == 0.0:
        return ONE, ONE
    p = Decimal(repr(min(1.0, max(0.0, calibrated_confidence))))
    raw = ONE + k * (TWO * p - ONE)
    factor = (raw / FACTOR_STEP).to_integral_value(ROUND_HALF_EVEN) * FACTOR_STEP
    factor = min(ONE + k, max(FACTOR_STEP, factor))
    return (factor, ONE) if net_conviction > 0 else (ONE, factor)
