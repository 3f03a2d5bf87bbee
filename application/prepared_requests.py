"""Requests the execution service has journaled and not yet sent, one type per kind.

Preparing (assign a client id, journal the intent) and sending are two phases so a caller
can commit the intents together with other records before anything leaves the process (the
trading session does). Each kind is its own small frozen type, so sending dispatches on the
type and a checker sees every field: no string tags, no loosely typed payload.
"""

from __future__ import annotations

from dataclasses import dataclass

from application.ports.exchange import OrderRequest
from domain.commands import ModifyOrder
from domain.events import OrderRejected
from domain.orders import Order


@dataclass(frozen=True, slots=True)
class PlaceRequest:
    """A new order to send: its journaled record and the exchange request."""

    order: Order
    request: OrderRequest


@dataclass(frozen=True, slots=True)
class LocalAnswer:
    """A new order pre-trade risk refused: journaled, answered here, never sent."""

    order: Order
    answer: OrderRejected


@dataclass(frozen=True, slots=True)
class CancelRequest:
    """Cancel one of our orders (already marked PENDING_CANCEL when it could be)."""

    order: Order


@dataclass(frozen=True, slots=True)
class CancelAllRequest:
    """Cancel every open order on ``symbol``."""

    symbol: str


@dataclass(frozen=True, slots=True)
class ModifyRequest:
    """Amend one of our orders (already marked PENDING_MODIFY)."""

    order: Order
    command: ModifyOrder


@dataclass(frozen=True, slots=True)
class ReplaceRequest:
    """Spot's modify: cancel ``order`` and place ``replacement`` in one cancel-replace request.

    Both are journaled before it is sent, ``order`` PENDING_CANCEL and ``replacement``
    PENDING_NEW under a client id of its own: a crash before the answer leaves two ordinary
    intents, which reconciliation resolves like any cancel and any new order.
    """

    order: Order
    replacement: Order
    command: ModifyOrder


#: A journaled request waiting to be sent.
PreparedRequest = (
    PlaceRequest | LocalAnswer | CancelRequest | CancelAllRequest | ModifyRequest | ReplaceRequest
)
