"""Order operations on one venue shared by the spot and futures handlers.

Placing, looking up and cancelling orders, the common parameters (side, STP mode, limit,
time window) and trade selection, each answering Binance's errors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from adapters.simulated.emulator import payloads as pl
from adapters.simulated.emulator.endpoint import Call
from adapters.simulated.emulator.state import OrderMeta, TradeRecord, Venue
from adapters.simulated.emulator.wire import ApiError, invalid_value, opt_int, req_str
from application.ports.exchange import OrderRequest, OrderSnapshot
from domain.enums import Side
from domain.events import (
    CancelRejected,
    ExecutionEvent,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
)
from domain.orders import Fill

_DAY_MS = 86_400_000
_UNKNOWN_STATUS = (
    "Timeout waiting for response from backend server. Send status unknown; "
    "execution status unknown."
)


def _unknown_order_sent() -> ApiError:
    return ApiError(-2011, "Unknown order sent.")


def _no_such_order() -> ApiError:
    return ApiError(-2013, "Order does not exist.")


def _events_for(events: Iterable[ExecutionEvent], cid: str) -> list[ExecutionEvent]:
    return [e for e in events if getattr(e, "client_order_id", None) == cid]


def _place(
    call: Call,
    venue: Venue,
    request: OrderRequest,
    wire_type: str,
    tif: str,
    stp: str,
    *,
    algo: bool = False,
) -> tuple[OrderMeta, list[Fill]]:
    """Place an order; the order's own rejection becomes the Binance error answer.

    The ``unknown_after_place`` fault places the order and then answers 503 -1007, as a
    Binance backend timeout does: the client must find out by querying.
    """
    unknown = call.state.take_fault("unknown_after_place")
    events = venue.place(request, wire_type, tif, stp, algo=algo)
    call.state.notify(venue, events)
    if unknown:
        raise ApiError(-1007, _UNKNOWN_STATUS, status=503)
    mine = _events_for(events, request.client_order_id)
    for event in mine:
        if isinstance(event, OrderRejected):
            raise ApiError(event.code, event.message)
    accepted = next((e for e in mine if isinstance(e, OrderAccepted)), None)
    if accepted is None:
        # Simulated acknowledgement latency: the order is accepted with a later candle.
        raise ApiError(-1007, _UNKNOWN_STATUS, status=503)
    meta = venue.meta(accepted.exchange_order_id)
    assert meta is not None
    fills = [e.fill for e in mine if isinstance(e, OrderFilled)]
    return meta, fills


def _snapshot(venue: Venue, meta: OrderMeta) -> OrderSnapshot:
    snap = venue.snapshot(meta)
    if snap is None:
        raise _no_such_order()
    return snap


def _open_order(venue: Venue, call: Call, error: Callable[[], ApiError]) -> OrderMeta:
    """Resolve orderId / origClientOrderId to an order that is still open."""
    return _open_meta(venue, *call.order_ref(), error)


def _open_meta(
    venue: Venue, order_id: int | None, client_id: str | None, error: Callable[[], ApiError]
) -> OrderMeta:
    """The open order with this id and/or client id (both must agree), else ``error()``."""
    meta = venue.lookup(order_id, client_id)
    if meta is None:
        raise error()
    snap = venue.snapshot(meta)
    if snap is None or not snap.status.is_open:
        raise error()
    return meta


def _side(params: Mapping[str, str]) -> Side:
    raw = req_str(params, "side")
    if raw not in ("BUY", "SELL"):
        raise ApiError(-1117, "Invalid side.")
    return Side(raw)


def _stp(params: Mapping[str, str]) -> str:
    mode = params.get("selfTradePreventionMode", "NONE")
    if mode not in pl.STP_MODES:
        raise invalid_value("selfTradePreventionMode")
    return mode


def _limit(params: Mapping[str, str], default: int, maximum: int) -> int:
    value = opt_int(params, "limit")
    if value is None:
        return default
    if value <= 0:
        raise invalid_value("limit")
    return min(value, maximum)


def _window(
    params: Mapping[str, str], max_span_ms: int, hours: int
) -> tuple[int | None, int | None]:
    start = opt_int(params, "startTime")
    end = opt_int(params, "endTime")
    if start is not None and end is not None:
        if start > end:
            raise ApiError(-1023, "Start time is greater than end time.")
        if end - start > max_span_ms:
            raise ApiError(-1127, f"More than {hours} hours between startTime and endTime.")
    return start, end


def _select_trades(call: Call, venue: Venue, max_span_ms: int, hours: int) -> list[TradeRecord]:
    """Select trades for myTrades / userTrades: by order, from an id, in a window, or latest."""
    params = call.params
    order_id = opt_int(params, "orderId")
    from_id = opt_int(params, "fromId")
    start, end = _window(params, max_span_ms, hours)
    limit = _limit(params, 500, 1000)
    if from_id is not None and (start is not None or end is not None):
        raise ApiError(-1128, "Combination of optional parameters invalid.")
    trades = [t for t in venue.trades if order_id is None or t.order_id == order_id]
    if from_id is not None:
        return [t for t in trades if t.trade_id >= from_id][:limit]
    if start is not None or end is not None:
        return [
            t
            for t in trades
            if (start is None or t.time >= start) and (end is None or t.time <= end)
        ][:limit]
    return trades[-limit:]


def _cancel_one(call: Call, venue: Venue, meta: OrderMeta) -> int:
    """Cancel an open order; returns the cancel time."""
    events = venue.cancel(meta.client_order_id)
    call.state.notify(venue, events)
    for event in events:
        if isinstance(event, CancelRejected):
            raise ApiError(event.code, event.message)
    return next((e.timestamp for e in events if isinstance(e, OrderCanceled)), venue.updated)
