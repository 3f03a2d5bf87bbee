"""A one-way net position with Binance futures' average-cost PnL, fees and funding.

Spot holdings use the same model (the quantity simply never goes negative), which gives the
spot inventory an average entry and a realized PnL on the same definition.

Exactness: the entry *cost* (sum of quantity x price still held) is stored, never a rounded
average. Reducing by ``q`` of ``Q`` removes ``cost * q / Q`` from the cost; that quotient is
the only rounded step (to 1e-16), and the same amount is both taken out of the cost and
booked into realized PnL, so ``realized + unrealized`` always equals the exact sum of cash
flows. Every other operation is an exact Decimal sum or product well inside 28 digits.
"""

from __future__ import annotations

from decimal import Decimal

from domain.enums import Side

ZERO = Decimal(0)
#: Resolution of the cost released by a partial close (far below any venue's precision).
COST_QUANTUM = Decimal("1e-16")


class Position:
    """Net position in one symbol (positive long, negative short)."""

    __slots__ = ("cost", "fees", "funding", "quantity", "realized_pnl", "symbol")

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.quantity = ZERO
        self.cost = ZERO  # |quantity| x entry price, exact; always >= 0
        self.realized_pnl = ZERO  # gross of fees, like Binance's "realized profit"
        self.fees = ZERO  # in quote-asset value at the time of each trade
        self.funding = ZERO  # net funding received (negative when paid)

    def __repr__(self) -> str:
        return (
            f"Position({self.symbol} qty={self.quantity} entry={self.entry_price} "
            f"realized={self.realized_pnl} fees={self.fees} funding={self.funding})"
        )

    @property
    def entry_price(self) -> Decimal:
        """Average entry price of the open quantity (0 when flat)."""
        if not self.quantity:
            return ZERO
        return self.cost / abs(self.quantity)

    @property
    def is_flat(self) -> bool:
        """No open quantity."""
        return not self.quantity

    def notional(self, mark_price: Decimal) -> Decimal:
        """Absolute position value at ``mark_price``."""
        return abs(self.quantity) * mark_price

    def unrealized_pnl(self, mark_price: Decimal) -> Decimal:
        """PnL of the open quantity if closed at ``mark_price`` (fees excluded)."""
        if self.quantity > ZERO:
            return self.quantity * mark_price - self.cost
        if self.quantity < ZERO:
            return self.cost + self.quantity * mark_price
        return ZERO

    def apply_fill(
        self, side: Side, quantity: Decimal, price: Decimal, fee_quote: Decimal = ZERO
    ) -> Decimal:
        """Book an execution and return the realized PnL it produced (gross of fees).

        A fill in the position's direction adds to the cost; an opposite fill first closes
        at the average entry, and any excess opens a position the other way at ``price``.

        Args:
            side: Fill side.
            quantity: Executed quantity (> 0).
            price: Execution price.
            fee_quote: Commission in quote-asset value, accumulated in :attr:`fees`.
        """
        self.fees += fee_quote
        signed = quantity if side is Side.BUY else -quantity
        held = self.quantity
        if not held or (held > ZERO) == (signed > ZERO):
            self.quantity = held + signed
            self.cost += quantity * price
            return ZERO
        closing = min(quantity, abs(held))
        if closing == abs(held):
            released = self.cost
        else:
            # The one rounded step: quantized so every later sum stays exact in 28 digits.
            released = (self.cost * closing / abs(held)).quantize(COST_QUANTUM)
        direction = 1 if held > ZERO else -1
        realized = direction * (closing * price - released)
        self.realized_pnl += realized
        self.cost -= released
        self.quantity = held + signed
        opening = quantity - closing
        if opening:
            self.cost = opening * price
        elif not self.quantity:
            self.cost = ZERO
        return realized

    def consume(self, quantity: Decimal) -> None:
        """Remove units from a long holding without proceeds, keeping their cost.

        Spot commission charged in the base asset does this: the remaining units carry the
        whole cost, so the average entry rises by exactly the fee's value.

        Raises:
            ValueError: The holding is not long enough.
        """
        if quantity > self.quantity:
            raise ValueError(f"cannot consume {quantity} from a holding of {self.quantity}")
        self.quantity -= quantity
        if not self.quantity:
            # Nothing left to carry the cost: it is lost outright.
            self.realized_pnl -= self.cost
            self.cost = ZERO

    def apply_funding(self, rate: Decimal, mark_price: Decimal) -> Decimal:
        """Settle funding: ``Δwallet = -quantity x mark x rate`` (longs pay when rate > 0).

        Returns:
            The signed amount received (negative when paid).
        """
        amount = -(self.quantity * mark_price * rate)
        self.funding += amount
        return amount
