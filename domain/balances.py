"""Spot asset balances with Binance's free / locked split."""

from __future__ import annotations

from decimal import Decimal

from domain.errors import DomainError

ZERO = Decimal(0)


class InsufficientBalance(DomainError):
    """A lock or debit needs more of an asset than is free."""

    def __init__(self, asset: str, needed: Decimal, available: Decimal) -> None:
        super().__init__(f"insufficient {asset}: need {needed}, have {available}")
        self.asset = asset
        self.needed = needed
        self.available = available


class Balances:
    """Free and locked amounts per asset. Amounts never go negative."""

    __slots__ = ("_free", "_locked")

    def __init__(self, initial: dict[str, Decimal] | None = None) -> None:
        self._free: dict[str, Decimal] = dict(initial or {})
        self._locked: dict[str, Decimal] = {}

    def free(self, asset: str) -> Decimal:
        """Amount available for new orders."""
        return self._free.get(asset, ZERO)

    def locked(self, asset: str) -> Decimal:
        """Amount reserved by open orders."""
        return self._locked.get(asset, ZERO)

    def total(self, asset: str) -> Decimal:
        """Free plus locked."""
        return self.free(asset) + self.locked(asset)

    def assets(self) -> list[str]:
        """Every asset that has ever held a balance, sorted."""
        return sorted(set(self._free) | set(self._locked))

    def snapshot(self) -> dict[str, tuple[Decimal, Decimal]]:
        """``{asset: (free, locked)}`` for reporting and reconciliation."""
        return {a: (self.free(a), self.locked(a)) for a in self.assets()}

    def lock(self, asset: str, amount: Decimal) -> None:
        """Move ``amount`` from free to locked.

        Raises:
            InsufficientBalance: Not enough free balance.
        """
        _check_amount(amount)
        free = self.free(asset)
        if amount > free:
            raise InsufficientBalance(asset, amount, free)
        self._free[asset] = free - amount
        self._locked[asset] = self.locked(asset) + amount

    def unlock(self, asset: str, amount: Decimal) -> None:
        """Release ``amount`` of a lock back to free."""
        _check_amount(amount)
        locked = self.locked(asset)
        if amount > locked:
            raise InsufficientBalance(asset, amount, locked)
        self._locked[asset] = locked - amount
        self._free[asset] = self.free(asset) + amount

    def credit(self, asset: str, amount: Decimal) -> None:
        """Add to the free balance."""
        _check_amount(amount)
        self._free[asset] = self.free(asset) + amount

    def debit(self, asset: str, amount: Decimal, from_locked: bool = False) -> None:
        """Take ``amount`` from the free (or locked) balance.

        Raises:
            InsufficientBalance: Not enough in the chosen bucket.
        """
        _check_amount(amount)
        bucket = self._locked if from_locked else self._free
        have = bucket.get(asset, ZERO)
        if amount > have:
            raise InsufficientBalance(asset, amount, have)
        bucket[asset] = have - amount


def _check_amount(amount: Decimal) -> None:
    """Amounts moved between buckets are never negative (that would hide a debit)."""
    if amount < 0:
        raise ValueError(f"amount must be >= 0, got {amount}")
