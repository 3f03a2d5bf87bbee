"""Execution events: what the exchange reports back (past tense, frozen).

Exchange adapters translate venue messages into these; the simulated exchange produces them
directly. Every exchange call and every simulated candle returns a list of them, so the
decision core sees the same stream in backtest, paper and live.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from domain.orders import Fill
from domain.records import typed_equality


class RejectReason(StrEnum):
    """Venue-neutral taxonomy of why the exchange refused a request."""

    INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"
    INSUFFICIENT_MARGIN = "INSUFFICIENT_MARGIN"
    FILTER = "FILTER"
    POST_ONLY_WOULD_TAKE = "POST_ONLY_WOULD_TAKE"
    FOK_UNFILLABLE = "FOK_UNFILLABLE"
    WOULD_TRIGGER_IMMEDIATELY = "WOULD_TRIGGER_IMMEDIATELY"
    REDUCE_ONLY = "REDUCE_ONLY"
    UNKNOWN_ORDER = "UNKNOWN_ORDER"
    DUPLICATE_CLIENT_ID = "DUPLICATE_CLIENT_ID"
    MAX_OPEN_ORDERS = "MAX_OPEN_ORDERS"
    INVALID_REQUEST = "INVALID_REQUEST"
    RANDOM_FAULT = "RANDOM_FAULT"
    #: Local: the journaled intent was not found on the exchange (after a restart, or after
    #: sending it failed while the exchange was unavailable).
    NEVER_SENT = "NEVER_SENT"
    #: Local: pre-trade risk stopped the request before it reached the exchange.
    RISK_BLOCKED = "RISK_BLOCKED"


@typed_equality
class OrderAccepted(NamedTuple):
    """The exchange acknowledged a new order (Binance NEW)."""

    client_order_id: str
    exchange_order_id: int
    timestamp: int


@typed_equality
class OrderRejected(NamedTuple):
    """The exchange refused a new order; Binance's code and message are kept verbatim."""

    client_order_id: str
    reason: RejectReason
    code: int
    message: str
    timestamp: int


@typed_equality
class OrderFilled(NamedTuple):
    """An execution (Binance TRADE)."""

    fill: Fill

    @property
    def client_order_id(self) -> str:
        """The order the fill belongs to."""
        return self.fill.client_order_id


@typed_equality
class OrderCanceled(NamedTuple):
    """The order was cancelled (by us or by the exchange)."""

    client_order_id: str
    timestamp: int


@typed_equality
class OrderExpired(NamedTuple):
    """The order expired: IOC/FOK/market remainder, or STP when ``in_match`` is set."""

    client_order_id: str
    timestamp: int
    in_match: bool = False


@typed_equality
class OrderModified(NamedTuple):
    """A resting order's price/quantity changed in place (futures modify, queue priority lost)."""

    client_order_id: str
    price: Decimal
    quantity: Decimal
    timestamp: int


@typed_equality
class CancelRejected(NamedTuple):
    """A cancel was refused, typically -2011 "Unknown order sent." (already closed)."""

    client_order_id: str
    reason: RejectReason
    code: int
    message: str
    timestamp: int


@typed_equality
class ModifyRejected(NamedTuple):
    """A modify was refused; the order keeps its previous price and quantity."""

    client_order_id: str
    reason: RejectReason
    code: int
    message: str
    timestamp: int


@typed_equality
class FundingPaid(NamedTuple):
    """A futures funding settlement.

    Attributes:
        symbol: Instrument.
        amount: Signed wallet change in the margin asset: positive means received.
        rate: Funding rate applied.
        mark_price: Mark price used.
        position_quantity: Signed position at the funding time.
        timestamp: Funding time, Unix ms.
    """

    symbol: str
    amount: Decimal
    rate: Decimal
    mark_price: Decimal
    position_quantity: Decimal
    timestamp: int


ExecutionEvent = (
    OrderAccepted
    | OrderRejected
    | OrderFilled
    | OrderCanceled
    | OrderExpired
    | OrderModified
    | CancelRejected
    | ModifyRejected
    | FundingPaid
)
