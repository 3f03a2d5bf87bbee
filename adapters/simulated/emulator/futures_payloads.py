"""Binance USD-M futures payloads built from the simulator's state.

Orders, trades, income, account, balances, position risk and the premium index. Field
names, their order and the way numbers are printed follow the official docs and the
captured responses in ``shared/data/binance-fixtures``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from adapters.simulated.emulator.payload_numbers import MONEY_PLACES, ZERO, Places, money
from adapters.simulated.emulator.state import IncomeRecord, OrderMeta, TradeRecord, Venue
from adapters.simulated.emulator.wire import fmt, fmt_exact
from application.ports.exchange import OrderSnapshot
from domain.enums import Side
from domain.orders import OrderStatus

#: Placeholder for the leverage-bracket cap (brackets are not modelled).
MAX_NOTIONAL = "1000000"


def _avg(snap: OrderSnapshot) -> Decimal:
    if not snap.executed_quantity:
        return ZERO
    return snap.executed_quote / snap.executed_quantity


def futures_order(
    venue: Venue, meta: OrderMeta, snap: OrderSnapshot, *, query: bool = False, ack: bool = False
) -> dict[str, object]:
    """A futures order as new/cancel/modify answer it, or as queries report it.

    ``query`` gives the ``GET /fapi/v1/order`` / ``openOrders`` fields (``time`` instead of
    ``cumQty``).

    ``ack`` reports the order as it was at acceptance (``newOrderRespType=ACK``).
    """
    p = Places(venue.instrument)
    executed, quote, status = snap.executed_quantity, snap.executed_quote, snap.status
    avg = _avg(snap)
    if ack:
        executed, quote, avg, status = ZERO, ZERO, ZERO, OrderStatus.NEW
    out: dict[str, object] = {
        "orderId": meta.order_id,
        "symbol": venue.symbol,
        "status": status.value,
        "clientOrderId": meta.client_order_id,
        "price": fmt(snap.price, p.price),
        "avgPrice": fmt(avg, p.quote),
        "origQty": fmt(snap.quantity, p.qty),
        "executedQty": fmt(executed, p.qty),
    }
    if not query:
        out["cumQty"] = fmt(executed, p.qty)
    out.update(
        {
            "cumQuote": fmt(quote, p.quote),
            "timeInForce": meta.time_in_force,
            "type": meta.wire_type,
            "reduceOnly": snap.reduce_only,
            "closePosition": False,
            "side": snap.side.value,
            "positionSide": "BOTH",
            "stopPrice": fmt(snap.stop_price, p.price),
            "workingType": "CONTRACT_PRICE",
            "priceProtect": False,
            "origType": meta.wire_type,
            "priceMatch": "NONE",
            "selfTradePreventionMode": meta.stp_mode,
            "goodTillDate": 0,
        }
    )
    if query:
        out["time"] = meta.created
    out["updateTime"] = meta.created if ack else snap.update_time
    return out


def futures_trade(venue: Venue, t: TradeRecord) -> dict[str, object]:
    """A ``GET /fapi/v1/userTrades`` row."""
    p = Places(venue.instrument)
    return {
        "buyer": t.side is Side.BUY,
        "commission": fmt(t.commission, MONEY_PLACES),
        "commissionAsset": t.commission_asset,
        "id": t.trade_id,
        "maker": t.maker,
        "marginAsset": venue.instrument.quote_asset,
        "orderId": t.order_id,
        "price": fmt(t.price, p.price),
        "qty": fmt(t.quantity, p.qty),
        "quoteQty": fmt(t.price * t.quantity, p.quote),
        # Exact (see ws_user "rp"): the wallet moves by exactly this figure.
        "realizedPnl": fmt_exact(t.realized_pnl, MONEY_PLACES),
        "side": t.side.value,
        "positionSide": "BOTH",
        "symbol": venue.symbol,
        "time": t.time,
    }


def income_row(venue: Venue, r: IncomeRecord) -> dict[str, object]:
    """A ``GET /fapi/v1/income`` row."""
    return {
        "symbol": venue.symbol,
        "incomeType": r.income_type,
        # Exact, like realizedPnl: the emulator's wallet moved by exactly this amount.
        "income": fmt_exact(r.income, MONEY_PLACES),
        "asset": r.asset,
        "info": r.income_type,
        "time": r.time,
        "tranId": r.tran_id,
        "tradeId": r.trade_id,
    }


class _Margin:
    """Cross-margin figures of one futures venue at its mark price."""

    def __init__(self, venue: Venue) -> None:
        mark = venue.mark_price
        account = venue.exchange.account()
        self.asset = venue.instrument.quote_asset
        self.wallet = account.balances.get(self.asset, (ZERO, ZERO))[0]
        pos = account.positions[0] if account.positions else None
        self.qty = pos.quantity if pos else ZERO
        self.entry = pos.entry_price if pos else ZERO
        self.upnl = pos.unrealized_pnl if pos else ZERO
        self.mark = mark
        lev = Decimal(max(venue.leverage, 1))
        self.leverage = venue.leverage
        self.position_im = abs(self.qty) * mark / lev
        bids = asks = ZERO
        for _, snap in venue.open_orders():
            value = (snap.quantity - snap.executed_quantity) * (
                snap.price or snap.stop_price or mark
            )
            if snap.side is Side.BUY:
                bids += value
            else:
                asks += value
        self.bid_notional, self.ask_notional = bids, asks
        self.order_im = max(bids, asks) / lev
        self.margin_balance = self.wallet + self.upnl
        self.available = self.margin_balance - self.position_im - self.order_im


def futures_account(venues: Sequence[Venue]) -> dict[str, object]:
    """``GET /fapi/v2/account`` (single-asset mode; maintenance margin is not modelled)."""
    margins = [(_Margin(v), v) for v in venues]
    by_asset: dict[str, list[Decimal]] = {}
    updated = 0
    for m, v in margins:
        updated = max(updated, v.updated)
        a = by_asset.setdefault(m.asset, [ZERO] * 6)
        for i, x in enumerate(
            (m.wallet, m.upnl, m.position_im + m.order_im, m.position_im, m.order_im, m.available)
        ):
            a[i] += x
    assets = [
        {
            "asset": asset,
            "walletBalance": money(w),
            "unrealizedProfit": money(u),
            "marginBalance": money(w + u),
            "maintMargin": money(ZERO),
            "initialMargin": money(im),
            "positionInitialMargin": money(pim),
            "openOrderInitialMargin": money(oim),
            "crossWalletBalance": money(w),
            "crossUnPnl": money(u),
            "availableBalance": money(av),
            "maxWithdrawAmount": money(max(av, ZERO)),
            "marginAvailable": True,
            "updateTime": updated,
        }
        for asset, (w, u, im, pim, oim, av) in sorted(by_asset.items())
    ]
    totals = [sum((a[i] for a in by_asset.values()), ZERO) for i in range(6)]
    w, u, im, pim, oim, av = totals
    positions = [
        {
            "symbol": v.symbol,
            "initialMargin": money(m.position_im + m.order_im),
            "maintMargin": money(ZERO),
            "unrealizedProfit": money(m.upnl),
            "positionInitialMargin": money(m.position_im),
            "openOrderInitialMargin": money(m.order_im),
            "leverage": str(m.leverage),
            "isolated": False,
            "entryPrice": fmt(m.entry, Places(v.instrument).price + 3),
            "maxNotional": MAX_NOTIONAL,
            "bidNotional": money(m.bid_notional),
            "askNotional": money(m.ask_notional),
            "positionSide": "BOTH",
            "positionAmt": fmt(m.qty, Places(v.instrument).qty),
            "updateTime": v.updated,
        }
        for m, v in margins
    ]
    return {
        "feeTier": 0,
        "canTrade": True,
        "canDeposit": True,
        "canWithdraw": True,
        "updateTime": 0,
        "multiAssetsMargin": False,
        "tradeGroupId": -1,
        "totalInitialMargin": money(im),
        "totalMaintMargin": money(ZERO),
        "totalWalletBalance": money(w),
        "totalUnrealizedProfit": money(u),
        "totalMarginBalance": money(w + u),
        "totalPositionInitialMargin": money(pim),
        "totalOpenOrderInitialMargin": money(oim),
        "totalCrossWalletBalance": money(w),
        "totalCrossUnPnl": money(u),
        "availableBalance": money(av),
        "maxWithdrawAmount": money(max(av, ZERO)),
        "assets": assets,
        "positions": positions,
    }


def futures_balance(venues: Sequence[Venue]) -> list[dict[str, object]]:
    """``GET /fapi/v2/balance``."""
    account = futures_account(venues)
    assets = account["assets"]
    assert isinstance(assets, list)
    return [
        {
            "accountAlias": "SgsR",
            "asset": a["asset"],
            "balance": a["walletBalance"],
            "crossWalletBalance": a["crossWalletBalance"],
            "crossUnPnl": a["crossUnPnl"],
            "availableBalance": a["availableBalance"],
            "maxWithdrawAmount": a["maxWithdrawAmount"],
            "marginAvailable": True,
            "updateTime": a["updateTime"],
        }
        for a in assets
    ]


def position_risk(venue: Venue) -> dict[str, object]:
    """A ``GET /fapi/v2/positionRisk`` row (cross margin, one-way mode; no liquidation model)."""
    m = _Margin(venue)
    p = Places(venue.instrument)
    return {
        "symbol": venue.symbol,
        "positionAmt": fmt(m.qty, p.qty),
        "entryPrice": fmt(m.entry, p.price + 3),
        "breakEvenPrice": fmt(m.entry, p.price + 3),
        "markPrice": fmt(m.mark, MONEY_PLACES),
        "unRealizedProfit": fmt(m.upnl, MONEY_PLACES),
        "liquidationPrice": "0",
        "leverage": str(m.leverage),
        "maxNotionalValue": MAX_NOTIONAL,
        "marginType": "cross",
        "isolatedMargin": fmt(ZERO, MONEY_PLACES),
        "isAutoAddMargin": "false",
        "positionSide": "BOTH",
        "notional": fmt(m.qty * m.mark, MONEY_PLACES),
        "isolatedWallet": "0",
        "updateTime": venue.updated,
    }


def premium_index(venue: Venue, rate: Decimal, next_funding: int, now: int) -> dict[str, object]:
    """A ``GET /fapi/v1/premiumIndex`` entry: mark = index = the last close."""
    mark = fmt(venue.mark_price, MONEY_PLACES)
    return {
        "symbol": venue.symbol,
        "markPrice": mark,
        "indexPrice": mark,
        "estimatedSettlePrice": mark,
        "lastFundingRate": fmt(rate, MONEY_PLACES),
        "interestRate": fmt(Decimal("0.0001"), MONEY_PLACES),
        "nextFundingTime": next_funding,
        "time": now,
    }


#: Algo status of the simulated stop order behind an algo order (its own status).
_ALGO_STATUS = {
    OrderStatus.NEW: "NEW",
    OrderStatus.PARTIALLY_FILLED: "TRIGGERED",
    OrderStatus.FILLED: "FINISHED",
    OrderStatus.CANCELED: "CANCELED",
    OrderStatus.EXPIRED: "EXPIRED",
    OrderStatus.REJECTED: "REJECTED",
}


def algo_order(
    venue: Venue, algo_id: int, meta: OrderMeta, snap: OrderSnapshot, *, ack: bool = False
) -> dict[str, object]:
    """A futures algo (conditional) order as ``/fapi/v1/algoOrder`` reports it.

    ``ack`` reports it as placed (``NEW``, nothing triggered). Once its stop triggered, the
    triggered order's id and average price are ``actualOrderId`` / ``actualPrice``.
    """
    p = Places(venue.instrument)
    status = "NEW" if ack else _ALGO_STATUS.get(snap.status, snap.status.value)
    triggered = status in ("TRIGGERED", "FINISHED")
    return {
        "algoId": algo_id,
        "clientAlgoId": meta.client_order_id,
        "algoType": "CONDITIONAL",
        "orderType": meta.wire_type,
        "symbol": venue.symbol,
        "side": snap.side.value,
        "positionSide": "BOTH",
        "timeInForce": "GTC",
        "quantity": fmt(snap.quantity, p.qty),
        "algoStatus": status,
        "actualOrderId": str(meta.order_id) if triggered else "",
        "actualPrice": fmt(_avg(snap), p.quote) if triggered else "0.00",
        "triggerPrice": fmt(snap.stop_price, p.price),
        "price": fmt(ZERO, p.price),
        "icebergQuantity": None,
        "tpTriggerPrice": "0.000",
        "tpPrice": "0.000",
        "slTriggerPrice": "0.000",
        "slPrice": "0.000",
        "tpOrderType": "",
        "selfTradePreventionMode": meta.stp_mode,
        "workingType": "CONTRACT_PRICE",
        "priceMatch": "NONE",
        "closePosition": False,
        "priceProtect": False,
        "reduceOnly": snap.reduce_only,
        "createTime": meta.created,
        "updateTime": meta.created if ack else max(meta.created, snap.update_time),
        "triggerTime": snap.update_time if triggered else 0,
        "goodTillDate": 0,
    }
