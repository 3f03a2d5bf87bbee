"""Equity-curve statistics computed incrementally, one observation per candle."""

from __future__ import annotations

from decimal import Decimal

ZERO = Decimal(0)


class DrawdownTracker:
    """Running peak equity and the deepest fall from a peak.

    ``max_drawdown`` is the largest ``(peak - equity) / peak`` seen; ``max_drawdown_amount``
    the largest absolute fall (they can come from different peaks).
    """

    __slots__ = ("max_drawdown", "max_drawdown_amount", "peak")

    def __init__(self, initial_equity: Decimal) -> None:
        self.peak = initial_equity
        self.max_drawdown = ZERO
        self.max_drawdown_amount = ZERO

    def observe(self, equity: Decimal) -> None:
        """Record one equity value (called every candle, so kept to a few comparisons)."""
        peak = self.peak
        if equity >= peak:
            self.peak = equity
            return
        fall = peak - equity
        if fall > self.max_drawdown_amount:
            self.max_drawdown_amount = fall
        # Compare fall / peak > max_drawdown without dividing on every candle.
        if peak > 0 and fall > self.max_drawdown * peak:
            self.max_drawdown = fall / peak
