"""Spot ``/api/v3`` handlers (orders, cancel-replace, trades, account) and their routes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from adapters.simulated import rejections as rj
from adapters.simulated.emulator import payloads as pl
from adapters.simulated.emulator.endpoint import (
    ORDER_REF_PARAMS,
    SPOT,
    TRADE_QUERY_PARAMS,
    Call,
    Endpoint,
    _signed,
)
from adapters.simulated.emulator.market_data_routes import _exchange_info, _klines, _ping, _time
from adapters.simulated.emulator.state import OrderMeta, Venue
from adapters.simulated.emulator.venue_orders import (
    _DAY_MS,
    _cancel_one,
    _no_such_order,
    _open_meta,
    _open_order,
    _place,
    _select_trades,
    _side,
    _snapshot,
    _stp,
    _unknown_order_sent,
)
from adapters.simulated.emulator.wire import (
    ApiError,
    illegal_chars,
    invalid_value,
    not_required,
    opt_bool,
    opt_int,
    req_decimal,
    req_str,
)
from application.ports.exchange import OrderRequest
from domain.enums import OrderType, TimeInForce
from domain.errors import FilterViolation
from domain.events import OrderCanceled

_SPOT_CLIENT_ID = r"^[a-zA-Z0-9-_]{1,36}$"
_SPOT_CLIENT_ID_RE = re.compile(_SPOT_CLIENT_ID)


_SPOT_TYPES = {
    "LIMIT": OrderType.LIMIT,
    "LIMIT_MAKER": OrderType.LIMIT,
    "MARKET": OrderType.MARKET,
    "STOP_LOSS": OrderType.STOP_MARKET,
    "TAKE_PROFIT": OrderType.TAKE_PROFIT_MARKET,
}
_SPOT_UNSUPPORTED_TYPES = {
    "STOP_LOSS_LIMIT": "Stop loss limit orders are not supported for this symbol.",
    "TAKE_PROFIT_LIMIT": "Take profit limit orders are not supported for this symbol.",
}
_SPOT_UNSUPPORTED_PARAMS = {
    "quoteOrderQty": "Quote order qty market orders are not support for this symbol.",
    "icebergQty": "Iceberg orders are not supported for this symbol.",
    "trailingDelta": "Trailing stop orders are not supported for this symbol.",
    "pegPriceType": "Pegged orders are not supported for this symbol.",
    "pegOffsetType": "Pegged orders are not supported for this symbol.",
    "pegOffsetValue": "Pegged orders are not supported for this symbol.",
}
_SPOT_ORDER_PARAMS = (
    "symbol",
    "side",
    "type",
    "timeInForce",
    "quantity",
    "quoteOrderQty",
    "price",
    "newClientOrderId",
    "strategyId",
    "strategyType",
    "stopPrice",
    "trailingDelta",
    "icebergQty",
    "newOrderRespType",
    "selfTradePreventionMode",
    "pegPriceType",
    "pegOffsetValue",
    "pegOffsetType",
)


@dataclass(frozen=True, slots=True)
class _SpotOrder:
    """A parsed spot new order: the simulator's request plus what Binance echoes back."""

    request: OrderRequest
    wire_type: str
    wire_tif: str
    stp: str
    resp_type: str


def _parse_spot_order(call: Call, venue: Venue) -> _SpotOrder:
    """The new-order parameters of ``POST /api/v3/order`` (and of cancel-replace).

    Raises:
        ApiError: The first malformed, missing or unsupported parameter.
    """
    p = call.params
    side = _side(p)
    wire_type = req_str(p, "type")
    if wire_type in _SPOT_UNSUPPORTED_TYPES:
        raise ApiError(-2010, _SPOT_UNSUPPORTED_TYPES[wire_type])
    if wire_type not in _SPOT_TYPES:
        raise ApiError(-1116, "Invalid orderType.")
    for name, message in _SPOT_UNSUPPORTED_PARAMS.items():
        if name in p:
            raise ApiError(-2010, message)
    quantity = req_decimal(p, "quantity")
    limit_like = wire_type in ("LIMIT", "LIMIT_MAKER")
    tif: TimeInForce | None = None
    if wire_type == "LIMIT":
        raw_tif = req_str(p, "timeInForce")
        if raw_tif not in ("GTC", "IOC", "FOK"):
            raise ApiError(-1115, "Invalid timeInForce.")
        tif = TimeInForce(raw_tif)
    elif "timeInForce" in p:
        raise not_required("timeInForce")
    if wire_type == "LIMIT_MAKER":
        tif = TimeInForce.GTX  # the simulator's post-only
    price = req_decimal(p, "price") if limit_like else None
    if not limit_like and "price" in p:
        raise not_required("price")
    stop: Decimal | None = None
    if wire_type in ("STOP_LOSS", "TAKE_PROFIT"):
        stop = req_decimal(p, "stopPrice")
    elif "stopPrice" in p:
        raise not_required("stopPrice")
    cid = p.get("newClientOrderId") or call.new_id()
    if not _SPOT_CLIENT_ID_RE.match(cid):
        raise illegal_chars("newClientOrderId", _SPOT_CLIENT_ID)
    default_resp = "FULL" if wire_type in ("LIMIT", "MARKET") else "ACK"
    resp_type = p.get("newOrderRespType", default_resp)
    if resp_type not in ("ACK", "RESULT", "FULL"):
        raise invalid_value("newOrderRespType")
    stp = _stp(p)
    request = OrderRequest(
        cid, venue.symbol, side, _SPOT_TYPES[wire_type], quantity, price, tif, stop
    )
    wire_tif = tif.value if tif is not None and tif is not TimeInForce.GTX else "GTC"
    return _SpotOrder(request, wire_type, wire_tif, stp, resp_type)


def _place_spot(call: Call, venue: Venue, order: _SpotOrder) -> dict[str, object]:
    """Place a parsed spot order; the answer per ``newOrderRespType``."""
    meta, fills = _place(call, venue, order.request, order.wire_type, order.wire_tif, order.stp)
    if order.resp_type == "ACK":
        return pl.spot_ack(meta, venue.symbol)
    snap = _snapshot(venue, meta)
    return pl.spot_result(venue, meta, snap, fills if order.resp_type == "FULL" else None)


def _spot_new_order(call: Call) -> object:
    venue = call.venue()
    return _place_spot(call, venue, _parse_spot_order(call, venue))


def _spot_query_order(call: Call) -> object:
    venue = call.venue()
    meta = venue.lookup(*call.order_ref())
    if meta is None:
        raise _no_such_order()
    return pl.spot_order(venue, meta, _snapshot(venue, meta))


def _cancel_restriction(params: Mapping[str, str]) -> str | None:
    """``cancelRestrictions`` (None when not sent).

    Raises:
        ApiError: -1145 for a value other than ONLY_NEW / ONLY_PARTIALLY_FILLED.
    """
    restriction = params.get("cancelRestrictions")
    if restriction is not None and restriction not in ("ONLY_NEW", "ONLY_PARTIALLY_FILLED"):
        raise ApiError(-1145, "Invalid cancelRestrictions")
    return restriction


def _check_restriction(venue: Venue, meta: OrderMeta, restriction: str | None) -> None:
    """Refuse to cancel an order whose status is not the one ``cancelRestrictions`` allows.

    Raises:
        ApiError: -2011 "Order was not canceled due to cancel restrictions."
    """
    if restriction is None:
        return
    wanted = "NEW" if restriction == "ONLY_NEW" else "PARTIALLY_FILLED"
    if _snapshot(venue, meta).status.value != wanted:
        raise ApiError(-2011, "Order was not canceled due to cancel restrictions.")


def _spot_cancel_order(call: Call) -> object:
    venue = call.venue()
    restriction = _cancel_restriction(call.params)
    meta = _open_order(venue, call, _unknown_order_sent)
    _check_restriction(venue, meta, restriction)
    cancel_id = call.params.get("newClientOrderId") or call.new_id()
    when = _cancel_one(call, venue, meta)
    return pl.spot_cancel(venue, meta, _snapshot(venue, meta), cancel_id, when)


# ------------------------------------------------------------------- spot cancel-replace
_CANCEL_REPLACE_MODES = ("STOP_ON_FAILURE", "ALLOW_FAILURE")
_ORDER_LIMIT_MODES = ("DO_NOTHING", "CANCEL_ONLY")
_CANCEL_REPLACE_PARAMS = (
    *_SPOT_ORDER_PARAMS,
    "cancelReplaceMode",
    "cancelNewClientOrderId",
    "cancelOrigClientOrderId",
    "cancelOrderId",
    "cancelRestrictions",
    "orderRateLimitExceededMode",
)


def _cancel_only(params: Mapping[str, str]) -> bool:
    return params.get("orderRateLimitExceededMode") == "CANCEL_ONLY"


def _check_filters(venue: Venue, request: OrderRequest) -> None:
    """Cancel-replace evaluates the new order's filters before cancelling anything.

    MAX_NUM_ORDERS counts the order about to be cancelled: at the limit, nothing happens.

    Raises:
        ApiError: -1013 "Filter failure: <FILTER>".
    """
    instrument = venue.instrument
    try:
        instrument.check_open_order_count(len(venue.open_orders()))
        instrument.check_order(
            request.side,
            request.order_type,
            request.quantity,
            request.price,
            venue.exchange.last_price,
            request.reduce_only,
            request.stop_price,
        )
    except FilterViolation as exc:
        rejection = rj.filter_rejection(venue.market, exc)
        raise ApiError(rejection.code, rejection.message) from exc


def _try_cancel(
    call: Call,
    venue: Venue,
    ref: tuple[int | None, str | None],
    restriction: str | None,
    cancel_id: str,
) -> tuple[bool, dict[str, object]]:
    """The cancel leg: (True, cancel answer) or (False, its ``{code, msg}`` error)."""
    try:
        meta = _open_meta(venue, *ref, _unknown_order_sent)
        _check_restriction(venue, meta, restriction)
        when = _cancel_one(call, venue, meta)
    except ApiError as exc:
        return False, exc.payload()
    return True, pl.spot_cancel(venue, meta, _snapshot(venue, meta), cancel_id, when)


def _spot_cancel_replace(call: Call) -> object:
    """``POST /api/v3/order/cancelReplace``: cancel an order, then place a new one.

    Malformed parameters and the new order's filters are answered as plain errors before
    anything is cancelled. ``STOP_ON_FAILURE`` places nothing when the cancel fails;
    ``ALLOW_FAILURE`` places the new order anyway. The new order may reuse the cancelled
    order's client id: once cancelled it is no longer open. HTTP status and error code
    follow Binance's table: 200 both legs succeeded; -2022 (400) the cancel and the new
    order both failed or the new order was not attempted; -2021 (409) exactly one leg
    failed. With ``orderRateLimitExceededMode=CANCEL_ONLY`` a request over the order-rate
    limit still cancels and reports the new leg as failed with -1015 (429 for
    STOP_ON_FAILURE, as documented).
    """
    p = call.params
    venue = call.venue()
    mode = req_str(p, "cancelReplaceMode")
    if mode not in _CANCEL_REPLACE_MODES:
        raise invalid_value("cancelReplaceMode")
    if p.get("orderRateLimitExceededMode", "DO_NOTHING") not in _ORDER_LIMIT_MODES:
        raise invalid_value("orderRateLimitExceededMode")
    restriction = _cancel_restriction(p)
    ref = (opt_int(p, "cancelOrderId"), p.get("cancelOrigClientOrderId") or None)
    if ref == (None, None):
        raise ApiError(
            -1102,
            "Param 'cancelOrigClientOrderId' or 'cancelOrderId' must be sent, "
            "but both were empty/null!",
        )
    cancel_id = p.get("cancelNewClientOrderId") or call.new_id()
    if not _SPOT_CLIENT_ID_RE.match(cancel_id):
        raise illegal_chars("cancelNewClientOrderId", _SPOT_CLIENT_ID)
    order = _parse_spot_order(call, venue)
    _check_filters(venue, order.request)

    canceled, cancel_response = _try_cancel(call, venue, ref, restriction, cancel_id)
    new_response: dict[str, object] | None = None
    new_result = "NOT_ATTEMPTED"
    if call.order_limit is not None:
        if canceled or mode == "ALLOW_FAILURE":
            new_result, new_response = "FAILURE", call.order_limit.payload()
    elif canceled or mode == "ALLOW_FAILURE":
        try:
            new_response = _place_spot(call, venue, order)
            new_result = "SUCCESS"
        except ApiError as exc:
            if exc.status >= 500:  # placed or not is unknown: the client must query
                raise
            new_result, new_response = "FAILURE", exc.payload()
    data: dict[str, object] = {
        "cancelResult": "SUCCESS" if canceled else "FAILURE",
        "newOrderResult": new_result,
        "cancelResponse": cancel_response,
        "newOrderResponse": new_response,
    }
    if canceled and new_result == "SUCCESS":
        return data
    headers: Mapping[str, str] | None = None
    if not canceled and new_result != "SUCCESS":
        code, msg, status = -2022, "Order cancel-replace failed.", 400
    else:
        code, msg, status = -2021, "Order cancel-replace partially failed.", 409
    if call.order_limit is not None and mode == "STOP_ON_FAILURE":
        status, headers = 429, call.order_limit.headers
    raise ApiError(code, msg, status, headers, data=data)


def _spot_open_orders(call: Call) -> object:
    return [
        pl.spot_order(venue, meta, snap)
        for venue in call.venues()
        for meta, snap in venue.open_orders()
    ]


def _spot_cancel_open_orders(call: Call) -> object:
    venue = call.venue()
    orders = venue.open_orders()
    if not orders:
        raise _unknown_order_sent()
    events = venue.cancel_all()
    call.state.notify(venue, events)
    when = {e.client_order_id: e.timestamp for e in events if isinstance(e, OrderCanceled)}
    out = []
    for meta, _ in orders:
        snap = _snapshot(venue, meta)
        at = when.get(meta.client_order_id, venue.updated)
        out.append(pl.spot_cancel(venue, meta, snap, call.new_id(), at))
    return out


def _spot_my_trades(call: Call) -> object:
    venue = call.venue()
    trades = _select_trades(call, venue, _DAY_MS, 24)
    return [pl.spot_trade(venue, t) for t in trades]


def _spot_account(call: Call) -> object:
    omit = opt_bool(call.params, "omitZeroBalances") or False
    maker, taker = call.state.settings.fees_for(SPOT)
    return pl.spot_account(call.state.venues_of(SPOT), maker, taker, omit)


def spot_endpoints() -> list[Endpoint]:
    """The spot routes, with their weights (reference 4.1)."""
    order_ref = ORDER_REF_PARAMS
    trades = TRADE_QUERY_PARAMS
    return [
        Endpoint("GET", "/api/v3/ping", SPOT, _ping),
        Endpoint("GET", "/api/v3/time", SPOT, _time),
        Endpoint("GET", "/api/v3/exchangeInfo", SPOT, _exchange_info, 20),
        Endpoint("GET", "/api/v3/klines", SPOT, _klines, 2),
        Endpoint(
            "GET",
            "/api/v3/account",
            SPOT,
            _spot_account,
            20,
            signed=True,
            params=_signed("omitZeroBalances"),
        ),
        Endpoint(
            "POST",
            "/api/v3/order",
            SPOT,
            _spot_new_order,
            1,
            signed=True,
            new_order=True,
            params=_signed(*_SPOT_ORDER_PARAMS),
        ),
        Endpoint(
            "GET",
            "/api/v3/order",
            SPOT,
            _spot_query_order,
            4,
            signed=True,
            params=_signed(*order_ref),
        ),
        Endpoint(
            "DELETE",
            "/api/v3/order",
            SPOT,
            _spot_cancel_order,
            1,
            signed=True,
            params=_signed(*order_ref, "newClientOrderId", "cancelRestrictions"),
        ),
        Endpoint(
            "POST",
            "/api/v3/order/cancelReplace",
            SPOT,
            _spot_cancel_replace,
            1,
            signed=True,
            new_order=True,
            params=_signed(*_CANCEL_REPLACE_PARAMS),
            handles_order_limit=_cancel_only,
        ),
        Endpoint(
            "GET",
            "/api/v3/openOrders",
            SPOT,
            _spot_open_orders,
            lambda p: 6 if "symbol" in p else 80,
            signed=True,
            params=_signed("symbol"),
        ),
        Endpoint(
            "DELETE",
            "/api/v3/openOrders",
            SPOT,
            _spot_cancel_open_orders,
            1,
            signed=True,
            params=_signed("symbol"),
        ),
        Endpoint(
            "GET",
            "/api/v3/myTrades",
            SPOT,
            _spot_my_trades,
            lambda p: 5 if "orderId" in p else 20,
            signed=True,
            params=_signed(*trades),
        ),
    ]
