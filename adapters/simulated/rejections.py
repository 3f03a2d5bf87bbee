"""Binance's own error codes and messages for everything the simulated exchange refuses.

Spot reports filter failures as ``-1013 Filter failure: <FILTER>``; USD-M futures use one
code per rule (API reference, sections 6 and 10). Keeping this table here lets the emulator
serve the same codes over HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.enums import MarketType
from domain.errors import FilterViolation
from domain.events import RejectReason


@dataclass(frozen=True, slots=True)
class Rejection:
    """A venue error: Binance code, message, and our reject taxonomy."""

    code: int
    message: str
    reason: RejectReason


_FUTURES_FILTER_CODES: dict[tuple[str, str], tuple[int, str]] = {
    ("PRICE_FILTER", "positive"): (-4013, "Price less than min price."),
    ("PRICE_FILTER", "min"): (-4013, "Price less than min price."),
    ("PRICE_FILTER", "max"): (-4002, "Price greater than max price."),
    ("PRICE_FILTER", "step"): (-4014, "Price not increased by tick size."),
    ("LOT_SIZE", "positive"): (-4003, "Quantity less than zero."),
    ("LOT_SIZE", "min"): (-4004, "Quantity less than min quantity."),
    ("LOT_SIZE", "max"): (-4005, "Quantity greater than max quantity."),
    ("LOT_SIZE", "step"): (-4023, "Qty not increased by step size."),
    ("MARKET_LOT_SIZE", "positive"): (-4003, "Quantity less than zero."),
    ("MARKET_LOT_SIZE", "min"): (-4004, "Quantity less than min quantity."),
    ("MARKET_LOT_SIZE", "max"): (-4005, "Quantity greater than max quantity."),
    ("MARKET_LOT_SIZE", "step"): (-4023, "Qty not increased by step size."),
    ("PERCENT_PRICE", "up"): (-4016, "Price is higher than mark price multiplier cap."),
    ("PERCENT_PRICE", "down"): (-4024, "Price is lower than mark price multiplier floor."),
    ("MAX_NUM_ORDERS", "max"): (-2025, "Reach max open order limit."),
}


def filter_rejection(market: MarketType, violation: FilterViolation) -> Rejection:
    """The exact error Binance returns for a filter violation on ``market``."""
    reason = (
        RejectReason.MAX_OPEN_ORDERS
        if violation.filter_name == "MAX_NUM_ORDERS"
        else (RejectReason.FILTER)
    )
    if not market.is_futures:
        return Rejection(-1013, f"Filter failure: {violation.filter_name}", reason)
    if violation.filter_name in ("MIN_NOTIONAL", "NOTIONAL"):
        return Rejection(
            -4164,
            f"Order's notional must be no smaller than {violation.limit} "
            "(unless you choose reduce only)",
            reason,
        )
    code, message = _FUTURES_FILTER_CODES.get(
        (violation.filter_name, violation.rule), (-1013, "INVALID_MESSAGE.")
    )
    return Rejection(code, message, reason)


def insufficient_funds(market: MarketType) -> Rejection:
    """Spot: not enough free balance; futures: not enough available margin."""
    if market.is_futures:
        return Rejection(-2019, "Margin is insufficient.", RejectReason.INSUFFICIENT_MARGIN)
    return Rejection(
        -2010,
        "Account has insufficient balance for requested action.",
        RejectReason.INSUFFICIENT_BALANCE,
    )


def post_only_would_take(market: MarketType) -> Rejection:
    """A post-only order (futures GTX, spot LIMIT_MAKER) that would cross the book."""
    if market.is_futures:
        return Rejection(
            -5022,
            "Due to the order could not be executed as maker, the Post Only order will be "
            "rejected. The order will not be recorded in the order history",
            RejectReason.POST_ONLY_WOULD_TAKE,
        )
    return Rejection(
        -2010, "Order would immediately match and take.", RejectReason.POST_ONLY_WOULD_TAKE
    )


def fok_unfillable() -> Rejection:
    """Futures FOK that cannot fill completely (spot expires it instead)."""
    return Rejection(
        -5021,
        "Due to the order could not be filled immediately, the FOK order has been rejected. "
        "The order will not be recorded in the order history",
        RejectReason.FOK_UNFILLABLE,
    )


def would_trigger_immediately(market: MarketType) -> Rejection:
    """A stop / take-profit whose trigger is already on the wrong side of the market."""
    if market.is_futures:
        return Rejection(
            -2021, "Order would immediately trigger.", RejectReason.WOULD_TRIGGER_IMMEDIATELY
        )
    return Rejection(
        -2010, "Order would trigger immediately.", RejectReason.WOULD_TRIGGER_IMMEDIATELY
    )


def unknown_order_cancel() -> Rejection:
    """Cancel of an order that is unknown, filled or already cancelled."""
    return Rejection(-2011, "Unknown order sent.", RejectReason.UNKNOWN_ORDER)


def cancel_restricted() -> Rejection:
    """Spot cancel (or cancel-replace) with ``cancelRestrictions`` the order's status fails."""
    return Rejection(
        -2011, "Order was not canceled due to cancel restrictions.", RejectReason.INVALID_REQUEST
    )


def unknown_order_query() -> Rejection:
    """Query or modify of an order the exchange does not know."""
    return Rejection(-2013, "Order does not exist.", RejectReason.UNKNOWN_ORDER)


def duplicate_client_id(market: MarketType) -> Rejection:
    """A new order reusing the client id of an order that is still open."""
    if market.is_futures:
        return Rejection(-4116, "clientOrderId is duplicated", RejectReason.DUPLICATE_CLIENT_ID)
    return Rejection(-2010, "Duplicate order sent.", RejectReason.DUPLICATE_CLIENT_ID)


def reduce_only_rejected() -> Rejection:
    """A futures reduce-only order that would increase or flip the position."""
    return Rejection(-2022, "ReduceOnly Order is rejected.", RejectReason.REDUCE_ONLY)


def server_busy() -> Rejection:
    """The seeded random fault: Binance's overload answer."""
    return Rejection(
        -1008,
        "Server is currently overloaded with other requests. Please try again in a few minutes.",
        RejectReason.RANDOM_FAULT,
    )


def no_market_price() -> Rejection:
    """A market order before the first candle: nothing to price it against."""
    return Rejection(-2010, "Market is closed.", RejectReason.INVALID_REQUEST)


def invalid_request(message: str) -> Rejection:
    """Malformed parameters (-1102 / -1106 family)."""
    return Rejection(-1102, message, RejectReason.INVALID_REQUEST)


def no_need_to_modify() -> Rejection:
    """Futures modify with the same price and quantity."""
    return Rejection(-5027, "No need to modify the order.", RejectReason.INVALID_REQUEST)
