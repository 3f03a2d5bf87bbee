"""USD-M futures algo (conditional) order handlers ``/fapi/v1/*Algo*`` and their routes."""

from __future__ import annotations

from adapters.simulated.emulator.endpoint import FUTURES, Call, Endpoint, _signed
from adapters.simulated.emulator.futures_payloads import algo_order
from adapters.simulated.emulator.futures_routes import (
    _FUTURES_ALGO_TYPES,
    _FUTURES_CLIENT_ID_RE,
    _position_side,
)
from adapters.simulated.emulator.state import OrderMeta, Venue
from adapters.simulated.emulator.venue_orders import (
    _cancel_one,
    _limit,
    _no_such_order,
    _place,
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
from application.ports.exchange import OrderRequest
from domain.enums import OrderType

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


def futures_algo_endpoints() -> list[Endpoint]:
    """The futures algo-order routes, with their weights (reference 4.2)."""
    return [
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
    ]
