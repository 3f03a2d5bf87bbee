"""Binance order requests: endpoint paths and weights, order parameters, local refusals.

Pure functions from domain requests to the parameter lists the REST client signs. Spot and
USD-M futures name order types and options differently; each has its own builder here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from application.ports.exchange import OrderRequest
from domain.enums import OrderType, Side, TimeInForce


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Paths and request weights of one market (reference section 4)."""

    order: str
    open_orders: str
    trades: str
    exchange_info: str
    w_place: int
    w_query: int
    w_cancel: int
    w_open_orders: int
    w_trades: int
    w_trades_by_order: int
    w_exchange_info: int


SPOT = Endpoints(
    order="/api/v3/order",
    open_orders="/api/v3/openOrders",
    trades="/api/v3/myTrades",
    exchange_info="/api/v3/exchangeInfo",
    w_place=1,
    w_query=4,
    w_cancel=1,
    w_open_orders=6,
    w_trades=20,
    w_trades_by_order=5,
    w_exchange_info=20,
)
FUTURES = Endpoints(
    order="/fapi/v1/order",
    open_orders="/fapi/v1/openOrders",
    trades="/fapi/v1/userTrades",
    exchange_info="/fapi/v1/exchangeInfo",
    w_place=1,  # 0 IP weight per the docs; 1 keeps a margin
    w_query=1,
    w_cancel=1,
    w_open_orders=1,
    w_trades=5,
    w_trades_by_order=5,
    w_exchange_info=1,
)

#: USD-M conditional orders live in the Algo service (``/fapi/v1/order`` answers -4120).
FUTURES_ALGO_ORDER = "/fapi/v1/algoOrder"
#: Untriggered conditional orders of a symbol: list (GET) / cancel all (DELETE).
FUTURES_OPEN_ALGO_ORDERS = "/fapi/v1/openAlgoOrders"
FUTURES_CANCEL_ALGO_ORDERS = "/fapi/v1/algoOpenOrders"


def is_futures_algo(request: OrderRequest, futures: bool) -> bool:
    """True when the order must go through ``POST /fapi/v1/algoOrder``."""
    return futures and request.order_type.is_conditional


def local_problem(request: OrderRequest, futures: bool) -> tuple[int, str] | None:
    """Requests Binance would refuse that are cheaper to refuse here (code, message)."""
    if not futures and request.reduce_only:
        return -1106, "local check, nothing sent: parameter 'reduceOnly' is futures-only"
    return None


def spot_order_params(request: OrderRequest) -> list[tuple[str, Any]]:
    """``POST /api/v3/order`` parameters of a new spot order (FULL answer)."""
    otype = request.order_type
    tif = request.time_in_force
    if otype is OrderType.LIMIT:
        wire_type = "LIMIT_MAKER" if tif is TimeInForce.GTX else "LIMIT"
        tif = None if tif is TimeInForce.GTX else tif
    else:
        wire_type = {
            OrderType.MARKET: "MARKET",
            OrderType.STOP_MARKET: "STOP_LOSS",
            OrderType.TAKE_PROFIT_MARKET: "TAKE_PROFIT",
        }[otype]
        tif = None
    return [
        ("symbol", request.symbol),
        ("side", request.side),
        ("type", wire_type),
        ("timeInForce", tif),
        ("quantity", request.quantity),
        ("price", request.price),
        ("stopPrice", request.stop_price),
        ("newClientOrderId", request.client_order_id),
        ("newOrderRespType", "FULL"),
    ]


def futures_order_params(request: OrderRequest) -> list[tuple[str, Any]]:
    """``POST /fapi/v1/order`` parameters of a new futures order (RESULT answer)."""
    limit = request.order_type is OrderType.LIMIT
    return [
        ("symbol", request.symbol),
        ("side", request.side),
        ("type", request.order_type),
        ("timeInForce", request.time_in_force if limit else None),
        ("quantity", request.quantity),
        ("price", request.price),
        ("reduceOnly", True if request.reduce_only else None),
        ("newClientOrderId", request.client_order_id),
        ("newOrderRespType", "RESULT"),
    ]


def futures_algo_params(request: OrderRequest) -> list[tuple[str, Any]]:
    """``POST /fapi/v1/algoOrder`` parameters of a futures STOP_MARKET / TAKE_PROFIT_MARKET.

    A CONDITIONAL algo order triggered by the last (contract) price; its ``clientAlgoId``
    is the client order id, which the triggered order's trades are traced back to.
    """
    return [
        ("algoType", "CONDITIONAL"),
        ("symbol", request.symbol),
        ("side", request.side),
        ("type", request.order_type),
        ("quantity", request.quantity),
        ("triggerPrice", request.stop_price),
        ("workingType", "CONTRACT_PRICE"),
        ("reduceOnly", True if request.reduce_only else None),
        ("clientAlgoId", request.client_order_id),
    ]


def futures_modify_params(
    symbol: str, client_order_id: str, side: Side, price: Decimal, quantity: Decimal
) -> tuple[tuple[str, Any], ...]:
    """``PUT /fapi/v1/order`` parameters: change a resting futures LIMIT order in place."""
    return (
        ("symbol", symbol),
        ("origClientOrderId", client_order_id),
        ("side", side),
        ("quantity", quantity),
        ("price", price),
    )


def cancel_replace_params(
    symbol: str,
    client_order_id: str,
    new_client_order_id: str,
    side: Side,
    time_in_force: TimeInForce | None,
    price: Decimal,
    quantity: Decimal,
) -> tuple[tuple[str, Any], ...]:
    """``POST /api/v3/order/cancelReplace`` parameters of a spot modify.

    STOP_ON_FAILURE with ``cancelRestrictions=ONLY_NEW``; the new order goes under its own
    client id and keeps the time in force (post-only GTX becomes LIMIT_MAKER).
    """
    post_only = time_in_force is TimeInForce.GTX
    return (
        ("symbol", symbol),
        ("side", side),
        ("type", "LIMIT_MAKER" if post_only else "LIMIT"),
        ("timeInForce", None if post_only else (time_in_force or TimeInForce.GTC)),
        ("quantity", quantity),
        ("price", price),
        ("cancelReplaceMode", "STOP_ON_FAILURE"),
        ("cancelOrigClientOrderId", client_order_id),
        ("cancelRestrictions", "ONLY_NEW"),
        ("newClientOrderId", new_client_order_id),
        ("newOrderRespType", "FULL"),
    )
