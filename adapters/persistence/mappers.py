"""Explicit mapping between domain objects and journal rows.

The domain stays ignorant of the database (no ORM instrumentation on ``Order``): these
functions are the only place that knows how an order, fill, funding payment or event is
laid out in a row. Orders come back through :meth:`~domain.orders.Order.restore`, which
rebuilds the recorded state as-is instead of replaying events.
"""

from __future__ import annotations

import json
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy.engine import Row

from domain.enums import Liquidity, OrderType, Side, TimeInForce
from domain.events import ExecutionEvent, FundingPaid, OrderFilled
from domain.orders import Fill, Order, OrderStatus

_COMPACT = (",", ":")


def order_values(order: Order, updated_at: int) -> dict[str, Any]:
    """Column values of an order row (everything but the creation ``seq``)."""
    return {
        "client_order_id": order.client_order_id,
        "symbol": order.symbol,
        "side": order.side.value,
        "order_type": order.order_type.value,
        "time_in_force": None if order.time_in_force is None else order.time_in_force.value,
        "quantity": order.quantity,
        "price": order.price,
        "stop_price": order.stop_price,
        "reduce_only": order.reduce_only,
        "tag": order.tag,
        "status": order.status.value,
        "exchange_order_id": order.exchange_order_id,
        "executed_quantity": order.executed_quantity,
        "executed_quote": order.executed_quote,
        "trade_ids": json.dumps(list(order.trade_ids), separators=_COMPACT),
        "fee_totals": json.dumps(
            [[asset, str(amount)] for asset, amount in order.fee_totals], separators=_COMPACT
        ),
        "updated_at": updated_at,
    }


def order_from_row(row: Row[Any]) -> Order:
    """Rebuild an order exactly as its row recorded it."""
    return Order.restore(
        client_order_id=row.client_order_id,
        symbol=row.symbol,
        side=Side(row.side),
        order_type=OrderType(row.order_type),
        quantity=row.quantity,
        price=row.price,
        time_in_force=None if row.time_in_force is None else TimeInForce(row.time_in_force),
        stop_price=row.stop_price,
        reduce_only=bool(row.reduce_only),
        tag=row.tag,
        status=OrderStatus(row.status),
        exchange_order_id=row.exchange_order_id,
        executed_quantity=row.executed_quantity,
        executed_quote=row.executed_quote,
        trade_ids=tuple(int(t) for t in json.loads(row.trade_ids)),
        fee_totals=tuple((asset, Decimal(amount)) for asset, amount in json.loads(row.fee_totals)),
    )


def fill_values(fill: Fill) -> dict[str, Any]:
    """Column values of a fill row."""
    return {
        "trade_id": fill.trade_id,
        "client_order_id": fill.client_order_id,
        "side": fill.side.value,
        "quantity": fill.quantity,
        "price": fill.price,
        "fee": fill.fee,
        "fee_asset": fill.fee_asset,
        "liquidity": fill.liquidity.value,
        "timestamp": fill.timestamp,
        "fee_quote": fill.fee_quote,
        "realized_pnl": fill.realized_pnl,
    }


def fill_from_row(row: Row[Any]) -> Fill:
    """The fill a row records."""
    return Fill(
        row.trade_id,
        row.client_order_id,
        Side(row.side),
        row.quantity,
        row.price,
        row.fee,
        row.fee_asset,
        Liquidity(row.liquidity),
        row.timestamp,
        row.fee_quote,
        row.realized_pnl,
    )


def funding_values(event: FundingPaid) -> dict[str, Any]:
    """Column values of a funding row (the event's timestamp is the funding time)."""
    return {
        "symbol": event.symbol,
        "funding_time": event.timestamp,
        "amount": event.amount,
        "rate": event.rate,
        "mark_price": event.mark_price,
        "position_quantity": event.position_quantity,
    }


def funding_from_row(row: Row[Any]) -> FundingPaid:
    """The funding settlement a row records."""
    return FundingPaid(
        row.symbol, row.amount, row.rate, row.mark_price, row.position_quantity, row.funding_time
    )


def event_payload(event: ExecutionEvent) -> str:
    """An event as a JSON object of text fields; a fill event records its fill's fields.

    Text rather than JSON numbers keeps Decimals exact and 64-bit ids intact for any reader
    (JavaScript tools parse JSON numbers as doubles). A fill without ``fee_quote`` is
    recorded without the key, exactly as before the field existed, so readers treat a
    missing ``fee_quote`` as ``None``.
    """
    fields: dict[str, Any]
    if isinstance(event, OrderFilled):
        fields = event.fill._asdict()
        for optional in ("fee_quote", "realized_pnl"):
            if fields[optional] is None:
                del fields[optional]
    else:
        fields = event._asdict()
    text = {name: _as_text(value) for name, value in fields.items()}
    return json.dumps(text, separators=_COMPACT)


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)
