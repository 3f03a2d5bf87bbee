"""The leverage cap after the fact: losses can push effective leverage past the cap.

Pre-trade checks keep every *new* order under the cap, but a position opened at 2x becomes
3.5x when equity falls by enough: nothing was sent, yet the account is over its limit (a
backtest of spot BTCUSDT with the futures default reached 3.5074 against a cap of 3). The
guard watches ``|position| x price / equity`` at every observation; above the cap the bot
turns reduce-only and, when configured, closes just enough of the position to come back
under ``cap x (1 - margin)``. It reports its changes like a brake does.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class LeverageVerdict:
    """Where the account stands against the cap.

    Attributes:
        leverage: Effective leverage now (infinite equity loss reads as None upstream).
        over_cap: Whether it exceeds the cap (the bot must not open anything new).
        reduce_quantity: Base quantity to close to get back under the target (0 when
            under the cap or when reducing is not configured).
    """

    leverage: Decimal
    over_cap: bool
    reduce_quantity: Decimal


class LeverageGuard:
    """Tracks whether effective leverage is above the cap; changes are reported once.

    Args:
        cap: The configured maximum leverage.
        reduce: Close the excess (True) or only stop opening (False).
        margin: Target below the cap when reducing (0.1: back to 90 % of the cap), so one
            tick does not bring it straight back over.
    """

    def __init__(
        self, cap: Decimal, reduce: bool = False, margin: Decimal = Decimal("0.1")
    ) -> None:
        if cap <= ZERO:
            raise ValueError(f"leverage cap must be > 0, got {cap}")
        if not ZERO <= margin < ONE:
            raise ValueError(f"margin must be in [0, 1), got {margin}")
        self.cap = cap
        self.reduce = reduce
        self.margin = margin
        self.over_cap = False

    def check(self, position: Decimal, price: Decimal, equity: Decimal) -> LeverageVerdict:
        """Evaluate one observation (position in base units, signed)."""
        notional = abs(position) * price
        if equity <= ZERO:
            leverage = Decimal("Infinity") if notional else ZERO
        else:
            leverage = notional / equity
        over = leverage > self.cap
        self.over_cap = over
        quantity = ZERO
        if over and self.reduce and price > ZERO:
            target = max(equity, ZERO) * self.cap * (ONE - self.margin) / price
            quantity = abs(position) - target
        return LeverageVerdict(leverage, over, max(quantity, ZERO))
