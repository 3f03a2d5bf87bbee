"""Typed domain errors. Each names the rule that was broken so callers can react precisely."""

from __future__ import annotations

from decimal import Decimal


class DomainError(Exception):
    """Base class for every error raised by the pure domain."""


class InvalidTransition(DomainError):
    """An order event is not allowed in the order's current status."""

    def __init__(self, client_order_id: str, status: str, trigger: str) -> None:
        super().__init__(f"order {client_order_id}: {trigger} is not allowed in status {status}")
        self.client_order_id = client_order_id
        self.from_status = status
        self.trigger = trigger


class OverfillError(DomainError):
    """A fill would take an order's executed quantity above its original quantity."""


class FilterViolation(DomainError):
    """An order price or quantity breaks one of the instrument's exchange filters.

    Attributes:
        filter_name: Binance's filter type, e.g. ``PRICE_FILTER`` or ``LOT_SIZE``.
        rule: Which bound or step was broken (``min``, ``max``, ``step``, ``band``...).
        value: The offending value.
        limit: The bound it was checked against, when there is one.
    """

    def __init__(
        self, filter_name: str, rule: str, value: Decimal | int, limit: Decimal | int | None
    ) -> None:
        detail = f" (limit {limit})" if limit is not None else ""
        super().__init__(f"{filter_name}: {rule} violated by {value}{detail}")
        self.filter_name = filter_name
        self.rule = rule
        self.value = value
        self.limit = limit


class InvalidClientOrderId(DomainError):
    """A client order id or prefix does not fit Binance's charset or length."""
