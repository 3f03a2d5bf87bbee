"""USD-M futures ``/fapi`` order and trade handlers, premium index, and their routes.

Algo orders are in :mod:`.futures_algo_routes`; account setup and figures in
:mod:`.futures_account_routes`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal

from adapters.simulated.emulator import payloads as pl
from adapters.simulated.emulator.endpoint import (
    FUTURES,
    ORDER_REF_PARAMS,
    TRADE_QUERY_PARAMS,
    Call,
    Endpoint,
    _signed,
)
from adapters.simulated.emulator.funding_history import settlements
from adapters.simulated.emulator.market_data_routes import (
    _exchange_info,
    _futures_klines_weight,
    _klines,
    _ping,
    _time,
)
from adapters.simulated.emulator.venue_orders import (
    _DAY_MS,
    _cancel_one,
    _limit,
    _no_such_order,
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
    invalid_value,
    not_required,
    opt_bool,
    opt_int,
    req_decimal,
    req_str,
)
from adapters.simulated.funding import FundingSchedule
from application.ports.exchange import OrderRequest
from domain.enums import OrderType, TimeInForce
from domain.events import ModifyRejected

_FUTURES_CLIENT_ID_RE = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
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


def _premium_index(call: Call) -> object:
    state = call.state
    now = state.now_ms()
    schedule: FundingSchedule = state.settings.funding
    next_funding = FundingSchedule.next_settlement(now)
    rate = schedule.rate_at(now)
    entries = [pl.premium_index(v, rate, next_funding, now) for v in call.venues()]
    return entries[0] if "symbol" in call.params else entries


def _funding_rate(call: Call) -> object:
    """``GET /fapi/v1/fundingRate``: every settlement of the symbol so far, as on Binance.

    Settlements of the served history (the past before the replay start and the replayed
    candles) at the schedule's rate, plus those the account took part in; the income rows
    the adapter matches refer to the latter. Nothing after the current time is listed.
    """
    params = call.params
    start = opt_int(params, "startTime")
    end = opt_int(params, "endTime")
    if start is not None and end is not None and start > end:
        raise ApiError(-1023, "Start time is greater than end time.")
    limit = _limit(params, 100, 1000)
    state = call.state
    rows: list[dict[str, object]] = []
    for venue in call.venues():
        for time, rate, mark in settlements(
            state.history, state.settings.funding, start, end, venue.funding_rates
        ):
            rows.append(
                {
                    "symbol": venue.symbol,
                    "fundingTime": time,
                    "fundingRate": format(rate, "f"),
                    "markPrice": format(mark, "f"),
                }
            )
    rows.sort(key=lambda r: int(str(r["fundingTime"])))
    return rows[:limit] if start is not None else rows[-limit:]


def _mark_price_klines(call: Call) -> object:
    """``GET /fapi/v1/markPriceKlines``: the emulator's mark price is the last close.

    So mark-price klines are the klines' prices, with Binance's zero volume fields.
    """
    rows = _klines(call)
    assert isinstance(rows, list)
    return [[*row[:5], "0", row[6], "0", row[8], "0", "0", "0"] for row in rows]


def futures_endpoints() -> list[Endpoint]:
    """The futures market-data, order and trade routes, with their weights (reference 4.2)."""
    order_ref = ORDER_REF_PARAMS
    trades = TRADE_QUERY_PARAMS
    return [
        Endpoint("GET", "/fapi/v1/ping", FUTURES, _ping),
        Endpoint("GET", "/fapi/v1/time", FUTURES, _time),
        Endpoint("GET", "/fapi/v1/exchangeInfo", FUTURES, _exchange_info),
        Endpoint("GET", "/fapi/v1/klines", FUTURES, _klines, _futures_klines_weight),
        Endpoint("GET", "/fapi/v1/fundingRate", FUTURES, _funding_rate),
        Endpoint(
            "GET", "/fapi/v1/markPriceKlines", FUTURES, _mark_price_klines, _futures_klines_weight
        ),
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
    ]
