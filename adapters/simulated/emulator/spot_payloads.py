"""Binance spot payloads built from the simulator's state: orders, trades, account.

Field names, their order and the way numbers are printed follow the official docs and the
captured responses in ``shared/data/binance-fixtures``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from adapters.simulated.emulator.payload_numbers import MONEY_PLACES, ZERO, Places
from adapters.simulated.emulator.state import OrderMeta, TradeRecord, Venue
from adapters.simulated.emulator.wire import fmt
from application.ports.exchange import OrderSnapshot
from domain.enums import Side
from domain.orders import Fill


def _stop_types(wire_type: str) -> bool:
    return wire_type not in ("LIMIT", "LIMIT_MAKER", "MARKET")


def spot_ack(meta: OrderMeta, symbol: str) -> dict[str, object]:
    """``newOrderRespType=ACK``."""
    return {
        "symbol": symbol,
        "orderId": meta.order_id,
        "orderListId": -1,
        "clientOrderId": meta.client_order_id,
        "transactTime": meta.created,
    }


def spot_result(
    venue: Venue, meta: OrderMeta, snap: OrderSnapshot, fills: Sequence[Fill] | None
) -> dict[str, object]:
    """``RESULT`` (``fills`` None) or ``FULL`` response of a new spot order."""
    p = Places(venue.instrument)
    out: dict[str, object] = {
        "symbol": venue.symbol,
        "orderId": meta.order_id,
        "orderListId": -1,
        "clientOrderId": meta.client_order_id,
        "transactTime": meta.created,
        "price": fmt(snap.price, p.price),
        "origQty": fmt(snap.quantity, p.qty),
        "executedQty": fmt(snap.executed_quantity, p.qty),
        "origQuoteOrderQty": fmt(ZERO, p.quote),
        "cummulativeQuoteQty": fmt(snap.executed_quote, p.quote),
        "status": snap.status.value,
        "timeInForce": meta.time_in_force,
        "type": meta.wire_type,
        "side": snap.side.value,
    }
    if _stop_types(meta.wire_type):
        out["stopPrice"] = fmt(snap.stop_price, p.price)
    out["workingTime"] = meta.created
    out["selfTradePreventionMode"] = meta.stp_mode
    if fills is not None:
        out["fills"] = [
            {
                "price": fmt(f.price, p.price),
                "qty": fmt(f.quantity, p.qty),
                "commission": fmt(f.fee, MONEY_PLACES),
                "commissionAsset": f.fee_asset,
                "tradeId": f.trade_id,
            }
            for f in fills
        ]
    return out


def spot_order(venue: Venue, meta: OrderMeta, snap: OrderSnapshot) -> dict[str, object]:
    """An order as ``GET /api/v3/order`` and ``/openOrders`` report it."""
    p = Places(venue.instrument)
    return {
        "symbol": venue.symbol,
        "orderId": meta.order_id,
        "orderListId": -1,
        "clientOrderId": meta.client_order_id,
        "price": fmt(snap.price, p.price),
        "origQty": fmt(snap.quantity, p.qty),
        "executedQty": fmt(snap.executed_quantity, p.qty),
        "cummulativeQuoteQty": fmt(snap.executed_quote, p.quote),
        "status": snap.status.value,
        "timeInForce": meta.time_in_force,
        "type": meta.wire_type,
        "side": snap.side.value,
        "stopPrice": fmt(snap.stop_price, p.price),
        "icebergQty": fmt(ZERO, p.qty),
        "time": meta.created,
        "updateTime": snap.update_time,
        "isWorking": snap.status.is_open and not _stop_types(meta.wire_type),
        "workingTime": meta.created,
        "origQuoteOrderQty": fmt(ZERO, p.quote),
        "selfTradePreventionMode": meta.stp_mode,
    }


def spot_cancel(
    venue: Venue, meta: OrderMeta, snap: OrderSnapshot, cancel_id: str, when: int
) -> dict[str, object]:
    """``DELETE /api/v3/order`` answer (``clientOrderId`` is the cancel's own id)."""
    p = Places(venue.instrument)
    out: dict[str, object] = {
        "symbol": venue.symbol,
        "origClientOrderId": meta.client_order_id,
        "orderId": meta.order_id,
        "orderListId": -1,
        "clientOrderId": cancel_id,
        "transactTime": when,
        "price": fmt(snap.price, p.price),
        "origQty": fmt(snap.quantity, p.qty),
        "executedQty": fmt(snap.executed_quantity, p.qty),
        "origQuoteOrderQty": fmt(ZERO, p.quote),
        "cummulativeQuoteQty": fmt(snap.executed_quote, p.quote),
        "status": snap.status.value,
        "timeInForce": meta.time_in_force,
        "type": meta.wire_type,
        "side": snap.side.value,
    }
    if _stop_types(meta.wire_type):
        out["stopPrice"] = fmt(snap.stop_price, p.price)
    out["selfTradePreventionMode"] = meta.stp_mode
    return out


def spot_trade(venue: Venue, t: TradeRecord) -> dict[str, object]:
    """A ``GET /api/v3/myTrades`` row."""
    p = Places(venue.instrument)
    return {
        "symbol": venue.symbol,
        "id": t.trade_id,
        "orderId": t.order_id,
        "orderListId": -1,
        "price": fmt(t.price, p.price),
        "qty": fmt(t.quantity, p.qty),
        "quoteQty": fmt(t.price * t.quantity, p.quote),
        "commission": fmt(t.commission, MONEY_PLACES),
        "commissionAsset": t.commission_asset,
        "time": t.time,
        "isBuyer": t.side is Side.BUY,
        "isMaker": t.maker,
        "isBestMatch": True,
    }


def spot_account(
    venues: Sequence[Venue], maker: Decimal, taker: Decimal, omit_zero: bool
) -> dict[str, object]:
    """``GET /api/v3/account``; balances of every spot venue are summed per asset."""
    totals: dict[str, list[Decimal]] = {}
    updated = 0
    for venue in venues:
        updated = max(updated, venue.updated)
        for asset, (free, locked) in venue.exchange.account().balances.items():
            entry = totals.setdefault(asset, [ZERO, ZERO])
            entry[0] += free
            entry[1] += locked
    balances = [
        {"asset": a, "free": fmt(f, MONEY_PLACES), "locked": fmt(lk, MONEY_PLACES)}
        for a, (f, lk) in sorted(totals.items())
        if not omit_zero or f or lk
    ]
    return {
        "makerCommission": int(maker * 10_000),
        "takerCommission": int(taker * 10_000),
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {
            "maker": fmt(maker, MONEY_PLACES),
            "taker": fmt(taker, MONEY_PLACES),
            "buyer": fmt(ZERO, MONEY_PLACES),
            "seller": fmt(ZERO, MONEY_PLACES),
        },
        "canTrade": True,
        "canWithdraw": True,
        "canDeposit": True,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": updated,
        "accountType": "SPOT",
        "balances": balances,
        "permissions": ["SPOT"],
        "uid": 1,
    }
