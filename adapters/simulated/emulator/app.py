"""The Binance REST surface of the emulator: spot ``/api/v3`` and USD-M ``/fapi``.

Every route goes through one pipeline, in Binance's order: IP ban (418), queued faults,
request weight (429, then 418 for clients that keep going), parameter parsing, API key
(-2014/-2015, HTTP 401), HMAC signature over the raw query string + body (-1022), timing
window (-1021), the order-rate limit for new orders (-1015; cancel-replace with
``orderRateLimitExceededMode=CANCEL_ONLY`` answers it itself), then the endpoint. Every
answer carries ``X-MBX-USED-WEIGHT-1M``; order endpoints add ``X-MBX-ORDER-COUNT-*``.

``/_emulator/*`` routes are emulator-only controls (advance the replay, queue faults, reset,
status) so separate processes can drive a running emulator. They have no Binance
equivalent, need no key, and are neither rate-limited nor subject to faults.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import random
import re
import string
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from aiohttp import web

from adapters.simulated import rejections as rj
from adapters.simulated.emulator import payloads as pl
from adapters.simulated.emulator.futures_payloads import algo_order
from adapters.simulated.emulator.state import EmulatorState, OrderMeta, TradeRecord, Venue
from adapters.simulated.emulator.wire import (
    ApiError,
    check_known,
    check_timestamp,
    illegal_chars,
    invalid_symbol,
    invalid_value,
    mandatory,
    not_required,
    one_of_ids,
    opt_bool,
    opt_int,
    parse_params,
    req_decimal,
    req_str,
    signature_matches,
    signed_payload,
)
from adapters.simulated.emulator.ws_routes import install_streams
from adapters.simulated.funding import FundingSchedule
from application.ports.exchange import OrderRequest, OrderSnapshot
from domain.enums import MarketType, OrderType, Side, TimeInForce
from domain.errors import FilterViolation
from domain.events import (
    CancelRejected,
    ExecutionEvent,
    ModifyRejected,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
)
from domain.orders import Fill

log = logging.getLogger(__name__)

STATE_KEY = web.AppKey("emulator_state", EmulatorState)
SPOT = MarketType.SPOT
FUTURES = MarketType.USDM_FUTURES
SIGNED_PARAMS = ("timestamp", "recvWindow", "signature")
_DAY_MS = 86_400_000
_dumps = functools.partial(json.dumps, separators=(",", ":"))
_UNKNOWN_STATUS = (
    "Timeout waiting for response from backend server. Send status unknown; "
    "execution status unknown."
)
_SPOT_CLIENT_ID = r"^[a-zA-Z0-9-_]{1,36}$"
_SPOT_CLIENT_ID_RE = re.compile(_SPOT_CLIENT_ID)
_FUTURES_CLIENT_ID_RE = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
_ID_ALPHABET = string.ascii_letters + string.digits


def _unknown_order_sent() -> ApiError:
    return ApiError(-2011, "Unknown order sent.")


def _no_such_order() -> ApiError:
    return ApiError(-2013, "Order does not exist.")


@dataclass(slots=True)
class Call:
    """One authenticated, parsed request as a handler sees it."""

    state: EmulatorState
    market: MarketType
    params: dict[str, str]
    ids: random.Random
    #: The order-rate limit (-1015) the request broke, when its endpoint handles that itself
    #: (cancel-replace with ``orderRateLimitExceededMode=CANCEL_ONLY``).
    order_limit: ApiError | None = None

    def venue(self) -> Venue:
        """The venue named by the mandatory ``symbol`` parameter.

        Raises:
            ApiError: -1102 no symbol, -1121 not listed on this market.
        """
        symbol = req_str(self.params, "symbol")
        venue = self.state.venue(self.market, symbol)
        if venue is None:
            raise invalid_symbol()
        return venue

    def venues(self) -> list[Venue]:
        """The venue of the optional ``symbol``, or every venue of the market."""
        if "symbol" in self.params:
            return [self.venue()]
        return self.state.venues_of(self.market)

    def new_id(self) -> str:
        """A client order id in Binance's auto-generated style (22 alphanumerics)."""
        return "".join(self.ids.choice(_ID_ALPHABET) for _ in range(22))

    def order_ref(self) -> tuple[int | None, str | None]:
        """``orderId`` / ``origClientOrderId``; at least one is mandatory.

        Raises:
            ApiError: -1102 when neither is sent, -1100 when orderId is malformed.
        """
        order_id = opt_int(self.params, "orderId")
        client_id = self.params.get("origClientOrderId") or None
        if order_id is None and client_id is None:
            raise one_of_ids()
        return order_id, client_id


Weight = int | Callable[[Mapping[str, str]], int]
Handler = Callable[[Call], object]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One Binance route: where it is, what it costs and who may call it."""

    method: str
    path: str
    market: MarketType
    handler: Handler
    weight: Weight = 1
    signed: bool = False
    new_order: bool = False
    params: tuple[str, ...] | None = None
    #: For these parameters the handler answers a broken order-rate limit (``Call.order_limit``)
    #: instead of the pipeline.
    handles_order_limit: Callable[[Mapping[str, str]], bool] | None = None
    #: ``USER_STREAM`` security: ``X-MBX-APIKEY`` required, no signature (listenKey routes).
    key_required: bool = False

    def weight_of(self, params: Mapping[str, str]) -> int:
        """Request weight for these parameters."""
        return self.weight if isinstance(self.weight, int) else self.weight(params)


# =================================================================================== helpers
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


# ====================================================================== shared endpoints
def _ping(call: Call) -> object:
    return {}


def _time(call: Call) -> object:
    return {"serverTime": call.state.server_time_ms()}


def _exchange_info(call: Call) -> object:
    state = call.state
    venues = state.venues_of(call.market)
    params = call.params
    wanted: list[str] | None = None
    if "symbol" in params:
        wanted = [params["symbol"]]
    elif "symbols" in params:
        try:
            parsed = json.loads(params["symbols"])
        except ValueError as exc:
            raise invalid_value("symbols") from exc
        if not isinstance(parsed, list) or not all(isinstance(s, str) for s in parsed):
            raise invalid_value("symbols")
        wanted = parsed
    if wanted is not None:
        known = {v.symbol: v for v in venues}
        if any(s not in known for s in wanted):
            raise invalid_symbol()
        venues = [known[s] for s in wanted]
    limits = state.limiters[call.market].limits
    return pl.exchange_info(
        call.market, [v.instrument for v in venues], limits, state.server_time_ms()
    )


def _klines(call: Call) -> object:
    params = call.params
    call.venue()
    interval = params.get("interval", "")
    if not interval:
        raise mandatory("interval")
    tz = params.get("timeZone")
    if tz is not None and tz not in ("0", "+0", "-0", "00:00", "+00:00", "-00:00"):
        raise invalid_value("timeZone")
    start = opt_int(params, "startTime")
    end = opt_int(params, "endTime")
    if start is not None and end is not None and start > end:
        raise ApiError(-1023, "Start time is greater than end time.")
    maximum = 1500 if call.market.is_futures else 1000
    return pl.klines(call.state.history, interval, start, end, _limit(params, 500, maximum))


def _futures_klines_weight(params: Mapping[str, str]) -> int:
    try:
        limit = int(params.get("limit", "500"))
    except ValueError:
        return 1
    if limit < 100:
        return 1
    if limit < 500:
        return 2
    return 5 if limit <= 1000 else 10


# ================================================================================== spot
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


def _cancel_one(call: Call, venue: Venue, meta: OrderMeta) -> int:
    """Cancel an open order; returns the cancel time."""
    events = venue.cancel(meta.client_order_id)
    call.state.notify(venue, events)
    for event in events:
        if isinstance(event, CancelRejected):
            raise ApiError(event.code, event.message)
    return next((e.timestamp for e in events if isinstance(e, OrderCanceled)), venue.updated)


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


# =============================================================================== futures
_FUTURES_ALGO_TYPES = frozenset(
    {"STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"}
)
_FUTURES_ORDER_PARAMS = (
    "symbol",
    "side",
    "positionSide",
    "type",
    "timeInForce",
    "quantity",
    "reduceOnly",
    "price",
    "newClientOrderId",
    "stopPrice",
    "closePosition",
    "activationPrice",
    "callbackRate",
    "workingType",
    "priceProtect",
    "newOrderRespType",
    "priceMatch",
    "selfTradePreventionMode",
    "goodTillDate",
)


def _position_side(params: Mapping[str, str], hedge_mode: bool = False) -> None:
    side = params.get("positionSide", "BOTH")
    if side not in ("BOTH", "LONG", "SHORT"):
        raise ApiError(-4060, "Invalid position side.")
    if side != "BOTH" or hedge_mode:  # hedge mode is recorded but not modelled
        raise ApiError(-4061, "Order's position side does not match user's setting.")


def _futures_new_order(call: Call) -> object:
    p = call.params
    venue = call.venue()
    side = _side(p)
    wire_type = req_str(p, "type")
    if wire_type in _FUTURES_ALGO_TYPES:
        raise ApiError(
            -4120,
            "Order type not supported for this endpoint. Please use the Algo Order API "
            "endpoints instead.",
        )
    if wire_type not in ("LIMIT", "MARKET"):
        raise ApiError(-1116, "Invalid orderType.")
    _position_side(p, call.state.dual_side_position)
    if opt_bool(p, "closePosition"):
        raise not_required("closePosition")
    if p.get("priceMatch", "NONE") != "NONE":
        raise ApiError(-1014, "Unsupported order combination.")
    quantity = req_decimal(p, "quantity")
    reduce_only = opt_bool(p, "reduceOnly") or False
    tif: TimeInForce | None = None
    price: Decimal | None = None
    if wire_type == "LIMIT":
        raw_tif = req_str(p, "timeInForce")
        if raw_tif in ("GTD", "RPI"):
            raise ApiError(-1014, "Unsupported order combination.")
        if raw_tif not in ("GTC", "IOC", "FOK", "GTX"):
            raise ApiError(-1115, "Invalid timeInForce.")
        tif = TimeInForce(raw_tif)
        price = req_decimal(p, "price")
    elif "price" in p:
        raise not_required("price")
    if "goodTillDate" in p:
        raise not_required("goodTillDate")
    cid = p.get("newClientOrderId") or call.new_id()
    if not _FUTURES_CLIENT_ID_RE.match(cid):
        raise ApiError(-4015, "Client order id is not valid.")
    resp_type = p.get("newOrderRespType", "ACK")
    if resp_type not in ("ACK", "RESULT"):
        raise ApiError(-1136, "Invalid newOrderRespType")
    stp = _stp(p)
    request = OrderRequest(
        cid, venue.symbol, side, OrderType(wire_type), quantity, price, tif, None, reduce_only
    )
    wire_tif = tif.value if tif is not None else "GTC"
    meta, _ = _place(call, venue, request, wire_type, wire_tif, stp)
    return pl.futures_order(venue, meta, _snapshot(venue, meta), ack=resp_type == "ACK")


def _futures_query_order(call: Call) -> object:
    venue = call.venue()
    meta = venue.lookup(*call.order_ref())
    if meta is None or venue.untriggered_algo(meta):
        raise _no_such_order()
    return pl.futures_order(venue, meta, _snapshot(venue, meta), query=True)


def _futures_cancel_order(call: Call) -> object:
    venue = call.venue()
    meta = _open_order(venue, call, _unknown_order_sent)
    if venue.untriggered_algo(meta):
        raise _unknown_order_sent()
    _cancel_one(call, venue, meta)
    return pl.futures_order(venue, meta, _snapshot(venue, meta))


def _futures_modify_order(call: Call) -> object:
    p = call.params
    venue = call.venue()
    side = _side(p)
    quantity = req_decimal(p, "quantity")
    price = req_decimal(p, "price")
    if p.get("priceMatch", "NONE") != "NONE":
        raise ApiError(-1014, "Unsupported order combination.")
    meta = _open_order(venue, call, _no_such_order)
    if _snapshot(venue, meta).side is not side:
        raise invalid_value("side")
    events = venue.modify(meta.client_order_id, price, quantity)
    call.state.notify(venue, events)
    for event in events:
        if isinstance(event, ModifyRejected):
            raise ApiError(event.code, event.message)
    return pl.futures_order(venue, meta, _snapshot(venue, meta))


def _futures_open_orders(call: Call) -> object:
    return [
        pl.futures_order(venue, meta, snap, query=True)
        for venue in call.venues()
        for meta, snap in venue.open_orders()
        if not venue.untriggered_algo(meta)
    ]


def _futures_cancel_all(call: Call) -> object:
    venue = call.venue()
    call.state.notify(venue, venue.cancel_all())
    return {"code": 200, "msg": "The operation of cancel all open order is done."}


def _futures_user_trades(call: Call) -> object:
    venue = call.venue()
    params = call.params
    if not any(k in params for k in ("orderId", "fromId", "startTime", "endTime")):
        # Binance's default window: the last 7 days.
        since = call.state.now_ms() - 7 * _DAY_MS
        trades = [t for t in venue.trades if t.time >= since][-_limit(params, 500, 1000) :]
    else:
        trades = _select_trades(call, venue, 7 * _DAY_MS, 168)
    return [pl.futures_trade(venue, t) for t in trades]


# ----------------------------------------------------------------- futures algo orders
_ALGO_PARAMS = (
    "algoType",
    "symbol",
    "side",
    "positionSide",
    "type",
    "timeInForce",
    "quantity",
    "price",
    "triggerPrice",
    "workingType",
    "priceMatch",
    "closePosition",
    "priceProtect",
    "reduceOnly",
    "activatePrice",
    "callbackRate",
    "clientAlgoId",
    "newOrderRespType",
    "selfTradePreventionMode",
    "goodTillDate",
)
#: Conditional types the simulator triggers itself (on the candle path).
_ALGO_SIMULATED = ("STOP_MARKET", "TAKE_PROFIT_MARKET")


def _unsupported() -> ApiError:
    return ApiError(-1014, "Unsupported order combination.")


def _futures_new_algo(call: Call) -> object:
    """``POST /fapi/v1/algoOrder``: a CONDITIONAL STOP_MARKET / TAKE_PROFIT_MARKET.

    The simulator holds it as its own stop order (same client id), which triggers and fills
    on the candle path; a trigger on the wrong side of the last price is -2021.
    """
    p = call.params
    venue = call.venue()
    if req_str(p, "algoType") != "CONDITIONAL":
        raise invalid_value("algoType")
    side = _side(p)
    wire_type = req_str(p, "type")
    if wire_type not in _FUTURES_ALGO_TYPES:
        raise ApiError(-1116, "Invalid orderType.")
    if wire_type not in _ALGO_SIMULATED:
        raise _unsupported()
    _position_side(p)
    if opt_bool(p, "closePosition") or opt_bool(p, "priceProtect"):
        raise _unsupported()
    if p.get("workingType", "CONTRACT_PRICE") != "CONTRACT_PRICE":
        raise _unsupported()
    if p.get("priceMatch", "NONE") != "NONE":
        raise _unsupported()
    for name in ("price", "activatePrice", "callbackRate", "goodTillDate"):
        if name in p:
            raise not_required(name)
    quantity = req_decimal(p, "quantity")
    trigger = req_decimal(p, "triggerPrice")
    reduce_only = opt_bool(p, "reduceOnly") or False
    cid = p.get("clientAlgoId") or call.new_id()
    if not _FUTURES_CLIENT_ID_RE.match(cid):
        raise ApiError(-4015, "Client order id is not valid.")
    stp = _stp(p)
    request = OrderRequest(
        cid, venue.symbol, side, OrderType(wire_type), quantity, None, None, trigger, reduce_only
    )
    meta, _ = _place(call, venue, request, wire_type, "GTC", stp, algo=True)
    algo_id = venue.algo_of(meta.order_id)
    assert algo_id is not None
    return algo_order(venue, algo_id, meta, _snapshot(venue, meta), ack=True)


def _find_algo(call: Call) -> tuple[Venue, int, OrderMeta] | None:
    """The algo order named by ``algoId`` / ``clientAlgoId`` (newest first)."""
    algo_id = opt_int(call.params, "algoId")
    client_id = call.params.get("clientAlgoId") or None
    if algo_id is None and client_id is None:
        raise ApiError(
            -1102, "Param 'algoId' or 'clientAlgoId' must be sent, but both were empty/null!"
        )
    for venue in call.venues():
        for aid, order_id in reversed(venue.algo_orders.items()):
            meta = venue.meta(order_id)
            if meta is None or (algo_id is not None and aid != algo_id):
                continue
            if client_id is None or meta.client_order_id == client_id:
                return venue, aid, meta
    return None


def _futures_query_algo(call: Call) -> object:
    found = _find_algo(call)
    if found is None:
        raise _no_such_order()
    venue, algo_id, meta = found
    return algo_order(venue, algo_id, meta, _snapshot(venue, meta))


def _futures_cancel_algo(call: Call) -> object:
    found = _find_algo(call)
    if found is None:
        raise _unknown_order_sent()
    venue, algo_id, meta = found
    snap = venue.snapshot(meta)
    if snap is None or not snap.status.is_open or snap.executed_quantity:
        raise _unknown_order_sent()
    _cancel_one(call, venue, meta)
    return algo_order(venue, algo_id, meta, _snapshot(venue, meta))


def _futures_open_algos(call: Call) -> object:
    out: list[object] = []
    for venue in call.venues():
        for algo_id, order_id in venue.algo_orders.items():
            meta = venue.meta(order_id)
            snap = None if meta is None else venue.snapshot(meta)
            if meta is None or snap is None:
                continue
            if snap.status.is_open and not snap.executed_quantity:
                out.append(algo_order(venue, algo_id, meta, snap))
    return out


def _futures_cancel_all_algos(call: Call) -> object:
    """``DELETE /fapi/v1/algoOpenOrders``: cancel the symbol's untriggered algo orders."""
    venue = call.venue()
    call.state.notify(venue, venue.cancel_algos())
    return {"code": 200, "msg": "The operation of cancel all open order is done."}


def _futures_all_algos(call: Call) -> object:
    """``GET /fapi/v1/allAlgoOrders``: the symbol's algo orders, any status, oldest first.

    ``algoId`` starts the list at that id; ``startTime`` / ``endTime`` bound the creation
    time; ``limit`` (default 500, max 1000) keeps the first ones.
    """
    p = call.params
    venue = call.venue()
    from_id = opt_int(p, "algoId")
    start, end = opt_int(p, "startTime"), opt_int(p, "endTime")
    out: list[object] = []
    for algo_id, order_id in venue.algo_orders.items():
        meta = venue.meta(order_id)
        snap = None if meta is None else venue.snapshot(meta)
        if meta is None or snap is None:
            continue
        if from_id is not None and algo_id < from_id:
            continue
        if (start is not None and meta.created < start) or (end is not None and meta.created > end):
            continue
        out.append(algo_order(venue, algo_id, meta, snap))
    return out[: _limit(p, 500, 1000)]


_INCOME_TYPES = frozenset(
    {
        "TRANSFER",
        "WELCOME_BONUS",
        "REALIZED_PNL",
        "FUNDING_FEE",
        "COMMISSION",
        "INSURANCE_CLEAR",
        "REFERRAL_KICKBACK",
        "COMMISSION_REBATE",
        "API_REBATE",
        "CONTEST_REWARD",
        "CROSS_COLLATERAL_TRANSFER",
        "OPTIONS_PREMIUM_FEE",
        "OPTIONS_SETTLE_PROFIT",
        "INTERNAL_TRANSFER",
        "AUTO_EXCHANGE",
        "DELIVERED_SETTELMENT",
        "COIN_SWAP_DEPOSIT",
        "COIN_SWAP_WITHDRAW",
        "POSITION_LIMIT_INCREASE_FEE",
        "STRATEGY_UMFUTURES_TRANSFER",
        "FEE_RETURN",
        "BFUSD_REWARD",
    }
)


def _futures_income(call: Call) -> object:
    p = call.params
    kind = p.get("incomeType")
    if kind is not None and kind not in _INCOME_TYPES:
        raise invalid_value("incomeType")
    start, end = _window(p, 10**15, 10**12)
    if start is None and end is None:
        start = call.state.now_ms() - 7 * _DAY_MS
    limit = _limit(p, 100, 1000)
    page = opt_int(p, "page") or 1
    rows = [
        (venue, r)
        for venue in call.venues()
        for r in venue.income
        if (kind is None or r.income_type == kind)
        and (start is None or r.time >= start)
        and (end is None or r.time <= end)
    ]
    rows.sort(key=lambda vr: (vr[1].time, vr[1].tran_id))
    chunk = rows[(page - 1) * limit : page * limit]
    return [pl.income_row(venue, r) for venue, r in chunk]


def _futures_account(call: Call) -> object:
    return pl.futures_account(call.state.venues_of(FUTURES))


def _futures_balance(call: Call) -> object:
    return pl.futures_balance(call.state.venues_of(FUTURES))


def _futures_position_risk(call: Call) -> object:
    return [pl.position_risk(venue) for venue in call.venues()]


def _futures_leverage(call: Call) -> object:
    venue = call.venue()
    raw = req_str(call.params, "leverage")
    leverage = int(raw) if raw.isdigit() else 0
    if not 1 <= leverage <= 125:
        raise ApiError(-4028, f"Leverage {raw} is not valid")
    venue.set_leverage(leverage)
    return {"leverage": leverage, "maxNotionalValue": pl.MAX_NOTIONAL, "symbol": venue.symbol}


def _has_position(venue: Venue) -> bool:
    return any(pos.quantity != 0 for pos in venue.exchange.account().positions)


def _position_mode(call: Call) -> object:
    return {"dualSidePosition": call.state.dual_side_position}


def _set_position_mode(call: Call) -> object:
    """One-way <-> hedge, account-wide; only with no open orders and no positions."""
    dual = opt_bool(call.params, "dualSidePosition")
    if dual is None:
        raise mandatory("dualSidePosition")
    if dual == call.state.dual_side_position:
        raise ApiError(-4059, "No need to change position side.")
    venues = call.state.venues_of(FUTURES)
    if any(venue.open_orders() for venue in venues):
        raise ApiError(-4067, "Position side cannot be changed if there exists open orders.")
    if any(_has_position(venue) for venue in venues):
        raise ApiError(-4068, "Position side cannot be changed if there exists position.")
    call.state.dual_side_position = dual
    return {"code": 200, "msg": "success"}


def _set_margin_type(call: Call) -> object:
    """CROSSED / ISOLATED per symbol (recorded only; margin figures stay cross-margin)."""
    venue = call.venue()
    margin_type = req_str(call.params, "marginType")
    if margin_type not in ("CROSSED", "ISOLATED"):
        raise invalid_value("marginType")
    if margin_type == venue.margin_type:
        raise ApiError(-4046, "No need to change margin type.")
    if venue.open_orders():
        raise ApiError(-4047, "Margin type cannot be changed if there exists open orders.")
    if _has_position(venue):
        raise ApiError(-4048, "Margin type cannot be changed if there exists position.")
    venue.margin_type = margin_type
    return {"code": 200, "msg": "success"}


def _premium_index(call: Call) -> object:
    state = call.state
    now = state.now_ms()
    schedule: FundingSchedule = state.settings.funding
    next_funding = FundingSchedule.next_settlement(now)
    rate = schedule.rate_at(now)
    entries = [pl.premium_index(v, rate, next_funding, now) for v in call.venues()]
    return entries[0] if "symbol" in call.params else entries


# ============================================================================= route table
def _signed(*names: str) -> tuple[str, ...]:
    return (*names, *SIGNED_PARAMS)


def endpoints() -> list[Endpoint]:
    """Every Binance route the emulator serves, with its weight (reference 4.1 / 4.2)."""
    order_ref = ("symbol", "orderId", "origClientOrderId")
    trades = ("symbol", "orderId", "startTime", "endTime", "fromId", "limit")
    return [
        # ---------------------------------------------------------------- spot
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
        # ------------------------------------------------------------- futures
        Endpoint("GET", "/fapi/v1/ping", FUTURES, _ping),
        Endpoint("GET", "/fapi/v1/time", FUTURES, _time),
        Endpoint("GET", "/fapi/v1/exchangeInfo", FUTURES, _exchange_info),
        Endpoint("GET", "/fapi/v1/klines", FUTURES, _klines, _futures_klines_weight),
        Endpoint(
            "GET",
            "/fapi/v1/premiumIndex",
            FUTURES,
            _premium_index,
            lambda p: 1 if "symbol" in p else 10,
        ),
        Endpoint(
            "POST",
            "/fapi/v1/order",
            FUTURES,
            _futures_new_order,
            0,
            signed=True,
            new_order=True,
            params=_signed(*_FUTURES_ORDER_PARAMS),
        ),
        Endpoint(
            "GET",
            "/fapi/v1/order",
            FUTURES,
            _futures_query_order,
            1,
            signed=True,
            params=_signed(*order_ref),
        ),
        Endpoint(
            "DELETE",
            "/fapi/v1/order",
            FUTURES,
            _futures_cancel_order,
            1,
            signed=True,
            params=_signed(*order_ref),
        ),
        Endpoint(
            "PUT",
            "/fapi/v1/order",
            FUTURES,
            _futures_modify_order,
            1,
            signed=True,
            new_order=True,
            params=_signed(*order_ref, "side", "quantity", "price", "priceMatch"),
        ),
        Endpoint(
            "GET",
            "/fapi/v1/openOrders",
            FUTURES,
            _futures_open_orders,
            lambda p: 1 if "symbol" in p else 40,
            signed=True,
            params=_signed("symbol"),
        ),
        Endpoint(
            "DELETE",
            "/fapi/v1/allOpenOrders",
            FUTURES,
            _futures_cancel_all,
            1,
            signed=True,
            params=_signed("symbol"),
        ),
        Endpoint(
            "GET",
            "/fapi/v1/userTrades",
            FUTURES,
            _futures_user_trades,
            5,
            signed=True,
            params=_signed(*trades),
        ),
        Endpoint(
            "POST",
            "/fapi/v1/algoOrder",
            FUTURES,
            _futures_new_algo,
            0,
            signed=True,
            new_order=True,
            params=_signed(*_ALGO_PARAMS),
        ),
        Endpoint(
            "GET",
            "/fapi/v1/algoOrder",
            FUTURES,
            _futures_query_algo,
            1,
            signed=True,
            params=_signed("symbol", "algoId", "clientAlgoId"),
        ),
        Endpoint(
            "DELETE",
            "/fapi/v1/algoOrder",
            FUTURES,
            _futures_cancel_algo,
            1,
            signed=True,
            params=_signed("symbol", "algoId", "clientAlgoId"),
        ),
        Endpoint(
            "GET",
            "/fapi/v1/openAlgoOrders",
            FUTURES,
            _futures_open_algos,
            lambda p: 1 if "symbol" in p else 40,
            signed=True,
            params=_signed("symbol", "algoType"),
        ),
        Endpoint(
            "DELETE",
            "/fapi/v1/algoOpenOrders",
            FUTURES,
            _futures_cancel_all_algos,
            1,
            signed=True,
            params=_signed("symbol"),
        ),
        Endpoint(
            "GET",
            "/fapi/v1/allAlgoOrders",
            FUTURES,
            _futures_all_algos,
            5,
            signed=True,
            params=_signed("symbol", "algoId", "startTime", "endTime", "page", "limit"),
        ),
        Endpoint(
            "GET",
            "/fapi/v1/income",
            FUTURES,
            _futures_income,
            30,
            signed=True,
            params=_signed("symbol", "incomeType", "startTime", "endTime", "page", "limit"),
        ),
        Endpoint(
            "GET",
            "/fapi/v2/account",
            FUTURES,
            _futures_account,
            5,
            signed=True,
            params=_signed(),
        ),
        Endpoint(
            "GET",
            "/fapi/v2/balance",
            FUTURES,
            _futures_balance,
            5,
            signed=True,
            params=_signed(),
        ),
        Endpoint(
            "GET",
            "/fapi/v2/positionRisk",
            FUTURES,
            _futures_position_risk,
            5,
            signed=True,
            params=_signed("symbol"),
        ),
        Endpoint(
            "POST",
            "/fapi/v1/leverage",
            FUTURES,
            _futures_leverage,
            1,
            signed=True,
            params=_signed("symbol", "leverage"),
        ),
        Endpoint(
            "GET",
            "/fapi/v1/positionSide/dual",
            FUTURES,
            _position_mode,
            30,
            signed=True,
            params=_signed(),
        ),
        Endpoint(
            "POST",
            "/fapi/v1/positionSide/dual",
            FUTURES,
            _set_position_mode,
            1,
            signed=True,
            params=_signed("dualSidePosition"),
        ),
        Endpoint(
            "POST",
            "/fapi/v1/marginType",
            FUTURES,
            _set_margin_type,
            1,
            signed=True,
            params=_signed("symbol", "marginType"),
        ),
    ]


# ================================================================================ pipeline
async def _form_body(request: web.Request) -> bytes:
    """The body when it carries form parameters (Binance reads no other kind of body)."""
    if not request.can_read_body:
        return b""
    content_type = request.headers.get("Content-Type", "")
    if content_type and not content_type.startswith("application/x-www-form-urlencoded"):
        return b""
    return await request.read()


def _json(
    payload: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.json_response(payload, status=status, headers=dict(headers or {}), dumps=_dumps)


def _check_key(state: EmulatorState, request: web.Request) -> None:
    key = request.headers.get("X-MBX-APIKEY")
    if not key:
        raise ApiError(-2014, "API-key format invalid.", status=401)
    if key != state.api_key:
        raise ApiError(-2015, "Invalid API-key, IP, or permissions for action.", status=401)


def _authenticate(
    state: EmulatorState,
    ep: Endpoint,
    request: web.Request,
    raw_query: str,
    raw_body: bytes,
    params: dict[str, str],
) -> None:
    _check_key(state, request)
    if ep.params is not None:
        check_known(params, ep.params)
    signature = params.get("signature", "")
    if not signature:
        raise mandatory("signature")
    if not signature_matches(state.api_secret, signed_payload(raw_query, raw_body), signature):
        raise ApiError(-1022, "Signature for this request is not valid.")
    check_timestamp(params, state.server_time_ms(), microseconds=not ep.market.is_futures)


def _wrap(
    state: EmulatorState, ep: Endpoint, ids: random.Random
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The Binance request pipeline (see the module docstring) around ``ep``'s handler."""
    limiter = state.limiters[ep.market]

    async def handle(request: web.Request) -> web.StreamResponse:
        ip = request.remote or "unknown"
        headers: dict[str, str] = {}
        try:
            limiter.check_ban(ip)
            delay = state.take_delay_ms()
            if delay:
                await asyncio.sleep(delay / 1000)
            if state.take_fault("ban_418"):
                raise limiter.ban_answer()
            if state.take_fault("rate_limit_429"):
                raise limiter.too_many_requests(1)
            if state.take_fault("http_500"):
                raise ApiError(
                    -1000, "An unknown error occured while processing the request.", status=500
                )
            raw_query = request.raw_path.partition("?")[2]
            raw_body = await _form_body(request)
            parse_error: ApiError | None = None
            try:
                params = parse_params(raw_query, raw_body)
            except ApiError as exc:
                params, parse_error = {}, exc
            limiter.add_weight(ip, ep.weight_of(params))
            if parse_error is not None:
                raise parse_error
            if ep.signed:
                _authenticate(state, ep, request, raw_query, raw_body, params)
            elif ep.key_required:
                _check_key(state, request)
                if ep.params is not None:
                    check_known(params, ep.params)
            order_limit: ApiError | None = None
            if ep.new_order:
                try:
                    limiter.add_order()
                except ApiError as exc:
                    if ep.handles_order_limit is None or not ep.handles_order_limit(params):
                        raise
                    order_limit = exc
            payload = ep.handler(Call(state, ep.market, params, ids, order_limit))
            status = 200
        except ApiError as exc:
            payload, status = exc.payload(), exc.status
            headers.update(exc.headers)
        except Exception:  # a bug in the emulator must still look like a Binance 5xx
            log.exception("emulator error on %s %s", ep.method, ep.path)
            payload = {
                "code": -1000,
                "msg": "An unknown error occured while processing the request.",
            }
            status = 500
        headers["X-MBX-USED-WEIGHT-1M"] = str(limiter.used_weight(ip))
        if ep.new_order:
            headers.update(limiter.order_headers())
        return _json(payload, status, headers)

    return handle


# ================================================================================ controls
async def _control_params(request: web.Request) -> dict[str, str]:
    raw_body = await _form_body(request)
    try:
        return parse_params(request.raw_path.partition("?")[2], raw_body)
    except ApiError as exc:
        raise web.HTTPBadRequest(text=exc.msg) from exc


def _status(state: EmulatorState) -> dict[str, object]:
    return {
        "serverTime": state.server_time_ms(),
        "simTime": state.now_ms(),
        "candlesFed": state.candles_fed,
        "exhausted": state.exhausted,
        "speed": state.speed,
        "faults": state.pending_faults(),
        "venues": [
            {
                "market": v.market.value,
                "symbol": v.symbol,
                "lastPrice": pl.money(v.mark_price),
                "openOrders": len(v.open_orders()),
                "trades": len(v.trades),
            }
            for v in state.venues.values()
        ],
    }


def _control_routes(state: EmulatorState) -> list[web.RouteDef]:
    async def advance(request: web.Request) -> web.Response:
        params = await _control_params(request)
        try:
            n = int(params.get("n", "1"))
        except ValueError:
            return _json({"error": "n must be an integer"}, 400)
        fed = state.advance(max(n, 0))
        return _json({"advanced": fed, **_status(state)})

    async def fault(request: web.Request) -> web.Response:
        params = await _control_params(request)
        try:
            state.inject(params.get("name", ""), int(params.get("count", "1")))
        except ValueError as exc:
            return _json({"error": str(exc)}, 400)
        return _json({"faults": state.pending_faults()})

    async def reset(request: web.Request) -> web.Response:
        state.reset_faults()
        return _json({"faults": state.pending_faults()})

    async def status(request: web.Request) -> web.Response:
        return _json(_status(state))

    return [
        web.post("/_emulator/advance", advance),
        web.post("/_emulator/fault", fault),
        web.post("/_emulator/reset", reset),
        web.get("/_emulator/status", status),
    ]


async def _replay(app: web.Application) -> AsyncIterator[None]:
    """Run the background replay for the application's lifetime (speed > 0 only)."""
    state = app[STATE_KEY]
    task = asyncio.create_task(state.run_replay()) if state.speed > 0 else None
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _params_only(handler: Callable[[Mapping[str, str]], object], call: Call) -> object:
    """Adapts a handler that needs only the parameters (listenKey routes) to a ``Call``."""
    return handler(call.params)


def create_app(state: EmulatorState, seed: int = 0) -> web.Application:
    """The aiohttp application serving ``state`` through Binance's REST paths.

    Args:
        state: The emulated account.
        seed: Seed of auto-generated client order ids (reproducible runs).
    """
    app = web.Application()
    app[STATE_KEY] = state
    ids = random.Random(seed)
    for ep in endpoints():
        app.router.add_route(ep.method, ep.path, _wrap(state, ep, ids))
    for route in install_streams(app, state):  # WebSocket streams + listenKey REST routes
        key_ep = Endpoint(
            route.method,
            route.path,
            FUTURES,
            functools.partial(_params_only, route.handler),
            route.weight,
            key_required=True,
            params=("listenKey",),
        )
        app.router.add_route(key_ep.method, key_ep.path, _wrap(state, key_ep, ids))
    app.add_routes(_control_routes(state))
    app.cleanup_ctx.append(_replay)
    return app
