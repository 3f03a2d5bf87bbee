"""Commands the decision core emits: imperative, frozen, venue-neutral."""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from domain.enums import OrderType, Side, TimeInForce
from domain.records import typed_equality


@typed_equality
class PlaceOrder(NamedTuple):
    """Ask for a new order. The execution layer assigns the client order id.

    Attributes:
        symbol: Instrument symbol.
        side: BUY or SELL.
        order_type: LIMIT, MARKET, STOP_MARKET or TAKE_PROFIT_MARKET.
        quantity: Base quantity, already on the instrument's step grid.
        price: Limit price (LIMIT only).
        time_in_force: For LIMIT orders; GTX means post-only.
        stop_price: Trigger price for conditional orders.
        reduce_only: Futures: may only reduce the position.
        tag: Free text the strategy uses to recognise its orders (e.g. ``grid:buy:3``).
    """

    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None = None
    time_in_force: TimeInForce | None = None
    stop_price: Decimal | None = None
    reduce_only: bool = False
    tag: str = ""


@typed_equality
class ModifyOrder(NamedTuple):
    """Change price and/or quantity of a resting LIMIT order (futures semantics)."""

    client_order_id: str
    price: Decimal
    quantity: Decimal


@typed_equality
class CancelOrder(NamedTuple):
    """Cancel one order by client order id."""

    client_order_id: str


@typed_equality
class CancelAllOrders(NamedTuple):
    """Cancel every open order of ours on ``symbol``."""

    symbol: str


Command = PlaceOrder | ModifyOrder | CancelOrder | CancelAllOrders
