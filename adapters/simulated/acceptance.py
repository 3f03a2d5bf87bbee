"""Whether the simulated exchange accepts a new order, before its margin or balance is checked.

The checks run in a fixed order and the first failure is the answer: a client id still in
use, a missing or superfluous parameter, the exchange filters (MAX_NUM_ORDERS included), then
the rules that depend on the market price (no price yet, post-only that would take, futures
FOK that cannot fill, a stop that would trigger at once). The balance or margin check comes
after these and needs the order record, so it stays with the ledger (see
:class:`~adapters.simulated.exchange.SimulatedExchange`).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from adapters.simulated import rejections as rj
from adapters.simulated.book import SimOrder
from application.ports.exchange import OrderRequest
from domain.enums import OrderType, Side, TimeInForce
from domain.errors import FilterViolation
from domain.instruments import Instrument

ZERO = Decimal(0)


def is_marketable(side: Side, price: Decimal, last: Decimal | None) -> bool:
    """A limit at or through the last close (a bid >= last, an ask <= last) would take."""
    if last is None:
        return False
    return price >= last if side is Side.BUY else price <= last


def placement_rejection(
    req: OrderRequest,
    instrument: Instrument,
    last: Decimal | None,
    open_orders: Mapping[str, SimOrder],
) -> rj.Rejection | None:
    """The error Binance answers the new order ``req`` with, or None if it passes.

    Args:
        req: The new order.
        instrument: The simulated instrument (its market and filters).
        last: The last close, None before the first candle.
        open_orders: Open orders by client order id.
    """
    market = instrument.market
    if req.client_order_id in open_orders:
        return rj.duplicate_client_id(market)
    problem = _malformed(req, market.is_futures)
    if problem:
        return rj.invalid_request(problem)
    try:
        instrument.check_open_order_count(len(open_orders))
        instrument.check_order(
            req.side,
            req.order_type,
            req.quantity,
            req.price,
            last,
            req.reduce_only,
            req.stop_price,
        )
    except FilterViolation as exc:
        return rj.filter_rejection(market, exc)
    otype = req.order_type
    tif = req.time_in_force
    if otype is OrderType.MARKET:
        if last is None:
            return rj.no_market_price()
    elif otype is OrderType.LIMIT:
        takes = is_marketable(req.side, req.price, last)  # type: ignore[arg-type]
        if takes and tif is TimeInForce.GTX:
            return rj.post_only_would_take(market)
        if not takes and tif is TimeInForce.FOK and market.is_futures:
            return rj.fok_unfillable()
    elif last is not None:
        stop = req.stop_price
        rises = (otype is OrderType.STOP_MARKET) == (req.side is Side.BUY)
        if (rises and stop <= last) or (not rises and stop >= last):  # type: ignore[operator]
            return rj.would_trigger_immediately(market)
    return None


def _malformed(req: OrderRequest, futures: bool) -> str:
    """Binance's message for a missing or superfluous parameter, or ``""``."""
    otype = req.order_type
    if req.quantity <= ZERO:
        return "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed."
    if otype is OrderType.LIMIT:
        if req.price is None:
            return "Mandatory parameter 'price' was not sent, was empty/null, or malformed."
        if req.time_in_force is None:
            return "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed."
    elif otype is OrderType.MARKET:
        if req.price is not None:
            return "Parameter 'price' sent when not required."
    elif req.stop_price is None:
        return "Mandatory parameter 'stopPrice' was not sent, was empty/null, or malformed."
    if req.reduce_only and not futures:
        return "Parameter 'reduceOnly' sent when not required."
    return ""
