"""Binance JSON payloads built from the simulator's state, field for field.

Field names, their order and the way numbers are printed follow the official docs and the
captured responses in ``shared/data/binance-fixtures``: spot prints prices and quantities with
the places of its filters (8 for BTCUSDT), futures with the tick/step places (``"50000.00"``,
``"0.001"``) and quote sums with both combined. A client parser that works here works on the
real venue.
"""

from __future__ import annotations

import calendar
import itertools
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from adapters.simulated.emulator.limits import RateLimits
from adapters.simulated.emulator.state import IncomeRecord, OrderMeta, TradeRecord, Venue
from adapters.simulated.emulator.wire import ApiError, fmt, places_of, plain
from application.ports.exchange import OrderSnapshot
from domain.candles import Candle
from domain.enums import MarketType, Side
from domain.instruments import Instrument
from domain.orders import Fill, OrderStatus

ZERO = Decimal(0)
MONEY_PLACES = 8  # balances, commissions, PnL, mark prices
_SPOT_ORDER_TYPES = ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "TAKE_PROFIT"]
_FUTURES_ORDER_TYPES = [
    "LIMIT",
    "MARKET",
    "STOP",
    "STOP_MARKET",
    "TAKE_PROFIT",
    "TAKE_PROFIT_MARKET",
    "TRAILING_STOP_MARKET",
]
STP_MODES = ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"]
#: Placeholder for the leverage-bracket cap (brackets are not modelled).
MAX_NOTIONAL = "1000000"


class Places:
    """How many decimals an instrument's numbers are printed with."""

    __slots__ = ("price", "qty", "quote")

    def __init__(self, instrument: Instrument) -> None:
        self.price = places_of(instrument.price_filter.tick_size)
        self.qty = places_of(instrument.lot_size.step_size)
        # Spot prints quote amounts with the quote precision (the price places for USDT
        # pairs); futures with price + quantity places, enough for any exact product.
        self.quote = self.price + self.qty if instrument.market.is_futures else self.price


def _avg(snap: OrderSnapshot) -> Decimal:
    if not snap.executed_quantity:
        return ZERO
    return snap.executed_quote / snap.executed_quantity


def _stop_types(wire_type: str) -> bool:
    return wire_type not in ("LIMIT", "LIMIT_MAKER", "MARKET")


# --------------------------------------------------------------------------- spot orders
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


# ------------------------------------------------------------------------ futures orders
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
        "realizedPnl": fmt(t.realized_pnl, MONEY_PLACES),
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
        "income": fmt(r.income, MONEY_PLACES),
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


def money(value: Decimal) -> str:
    """Balances, margins and PnL: 8 decimals."""
    return fmt(value, MONEY_PLACES)


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


# --------------------------------------------------------------------------- exchangeInfo
def _filters(inst: Instrument) -> list[dict[str, object]]:
    futures = inst.market.is_futures
    pf = inst.price_filter
    out: list[dict[str, object]] = [
        {
            "filterType": "PRICE_FILTER",
            "minPrice": plain(pf.min_price),
            "maxPrice": plain(pf.max_price),
            "tickSize": plain(pf.tick_size),
        }
    ]
    for name, lot in (("LOT_SIZE", inst.lot_size), ("MARKET_LOT_SIZE", inst.market_lot_size)):
        if lot is not None:
            out.append(
                {
                    "filterType": name,
                    "minQty": plain(lot.min_qty),
                    "maxQty": plain(lot.max_qty),
                    "stepSize": plain(lot.step_size),
                }
            )
    nf = inst.notional
    if nf is not None:
        if futures:
            out.append({"filterType": "MIN_NOTIONAL", "notional": plain(nf.min_notional)})
        elif nf.max_notional:
            out.append(
                {
                    "filterType": "NOTIONAL",
                    "minNotional": plain(nf.min_notional),
                    "applyMinToMarket": nf.apply_min_to_market,
                    "maxNotional": plain(nf.max_notional),
                    "applyMaxToMarket": nf.apply_max_to_market,
                    "avgPriceMins": 5,
                }
            )
        else:
            out.append(
                {
                    "filterType": "MIN_NOTIONAL",
                    "minNotional": plain(nf.min_notional),
                    "applyToMarket": nf.apply_min_to_market,
                    "avgPriceMins": 5,
                }
            )
    pp = inst.percent_price
    if pp is not None:
        entry: dict[str, object] = {
            "filterType": "PERCENT_PRICE",
            "multiplierUp": plain(pp.multiplier_up),
            "multiplierDown": plain(pp.multiplier_down),
        }
        if futures:
            entry["multiplierDecimal"] = "4"
        else:
            entry["avgPriceMins"] = 5
        out.append(entry)
    ps = inst.percent_price_by_side
    if ps is not None:
        out.append(
            {
                "filterType": "PERCENT_PRICE_BY_SIDE",
                "bidMultiplierUp": plain(ps.bid_multiplier_up),
                "bidMultiplierDown": plain(ps.bid_multiplier_down),
                "askMultiplierUp": plain(ps.ask_multiplier_up),
                "askMultiplierDown": plain(ps.ask_multiplier_down),
                "avgPriceMins": 5,
            }
        )
    if inst.max_num_orders:
        key = "limit" if futures else "maxNumOrders"
        out.append({"filterType": "MAX_NUM_ORDERS", key: inst.max_num_orders})
    return out


def spot_symbol(inst: Instrument) -> dict[str, object]:
    """One ``symbols`` entry of spot exchangeInfo (only what the emulator supports is on)."""
    return {
        "symbol": inst.symbol,
        "status": "TRADING",
        "baseAsset": inst.base_asset,
        "baseAssetPrecision": 8,
        "quoteAsset": inst.quote_asset,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": list(_SPOT_ORDER_TYPES),
        "icebergAllowed": False,
        "ocoAllowed": False,
        "otoAllowed": False,
        "opoAllowed": False,
        "quoteOrderQtyMarketAllowed": False,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": True,
        "amendAllowed": False,
        "pegInstructionsAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": _filters(inst),
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "NONE",
        "allowedSelfTradePreventionModes": list(STP_MODES),
    }


def futures_symbol(inst: Instrument, onboard_ms: int) -> dict[str, object]:
    """One ``symbols`` entry of USD-M exchangeInfo."""
    p = Places(inst)
    return {
        "symbol": inst.symbol,
        "pair": inst.symbol,
        "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000,
        "onboardDate": onboard_ms,
        "status": "TRADING",
        "maintMarginPercent": "2.5000",
        "requiredMarginPercent": "5.0000",
        "baseAsset": inst.base_asset,
        "quoteAsset": inst.quote_asset,
        "marginAsset": inst.quote_asset,
        "pricePrecision": p.price,
        "quantityPrecision": p.qty,
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": [],
        "settlePlan": 0,
        "triggerProtect": "0.0500",
        "liquidationFee": "0.012500",
        "marketTakeBound": "0.05",
        "filters": _filters(inst),
        "orderTypes": list(_FUTURES_ORDER_TYPES),
        "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
    }


def exchange_info(
    market: MarketType, instruments: Sequence[Instrument], limits: RateLimits, now: int
) -> dict[str, object]:
    """``GET /api/v3/exchangeInfo`` or ``GET /fapi/v1/exchangeInfo``."""
    if market.is_futures:
        assets = sorted({i.quote_asset for i in instruments})
        return {
            "timezone": "UTC",
            "serverTime": now,
            "futuresType": "U_MARGINED",
            "rateLimits": limits.exchange_info(),
            "exchangeFilters": [],
            "assets": [
                {"asset": a, "marginAvailable": True, "autoAssetExchange": "-10000"} for a in assets
            ],
            "symbols": [futures_symbol(i, 1569398400000) for i in instruments],
        }
    return {
        "timezone": "UTC",
        "serverTime": now,
        "rateLimits": limits.exchange_info(),
        "exchangeFilters": [],
        "symbols": [spot_symbol(i) for i in instruments],
    }


# -------------------------------------------------------------------------------- klines
_INTERVAL_MS = {
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "6h": 21_600_000,
    "8h": 28_800_000,
    "12h": 43_200_000,
    "1d": 86_400_000,
    "3d": 259_200_000,
    "1w": 604_800_000,
}
_WEEK_OFFSET_MS = 4 * 86_400_000  # Binance weeks open on Monday; 1970-01-01 was a Thursday


def _bucket(open_time: int, interval: str) -> tuple[int, int]:
    """``(bucket open, bucket close)`` of the ``interval`` kline containing ``open_time``."""
    if interval == "1M":
        dt = datetime.fromtimestamp(open_time / 1000, tz=UTC)
        start = datetime(dt.year, dt.month, 1, tzinfo=UTC)
        days = calendar.monthrange(dt.year, dt.month)[1]
        begin = int(start.timestamp() * 1000)
        return begin, begin + days * 86_400_000 - 1
    length = _INTERVAL_MS[interval]
    offset = _WEEK_OFFSET_MS if interval == "1w" else 0
    begin = (open_time - offset) // length * length + offset
    return begin, begin + length - 1


def _row(c: Candle) -> list[object]:
    return [
        c.open_time,
        plain(c.open),
        plain(c.high),
        plain(c.low),
        plain(c.close),
        plain(c.volume),
        c.close_time,
        plain(c.quote_volume),
        c.trades or 0,
        plain(c.taker_buy_base),
        plain(c.taker_buy_quote),
        "0",
    ]


def _merge(a: Candle, b: Candle, close_time: int) -> Candle:
    def add(x: Decimal | None, y: Decimal | None) -> Decimal | None:
        return None if x is None and y is None else (x or ZERO) + (y or ZERO)

    return Candle(
        a.open_time,
        a.open,
        max(a.high, b.high),
        min(a.low, b.low),
        b.close,
        a.volume + b.volume,
        close_time,
        add(a.quote_volume, b.quote_volume),
        (a.trades or 0) + (b.trades or 0),
        add(a.taker_buy_base, b.taker_buy_base),
        add(a.taker_buy_quote, b.taker_buy_quote),
    )


def klines(
    history: Sequence[Candle],
    interval: str,
    start: int | None,
    end: int | None,
    limit: int,
) -> list[list[object]]:
    """Klines from the replayed 1m candles, aggregated to ``interval``.

    Only closed (replayed) candles exist, so nothing from the future leaks. Without
    ``startTime`` the most recent ``limit`` klines are returned, as on Binance.

    Raises:
        ApiError: -1120 for an interval that cannot be built from 1m candles.
    """
    if interval != "1M" and interval not in _INTERVAL_MS:
        raise ApiError(-1120, "Invalid interval.")
    minutes = 31 * 1440 if interval == "1M" else _INTERVAL_MS[interval] // 60_000
    hi = len(history) if end is None else bisect_right(history, end, key=_open_time)
    if start is not None:
        lo = bisect_left(history, _bucket(start, interval)[0], key=_open_time)
    else:
        lo = max(0, hi - (limit + 1) * minutes)
    bars: list[Candle] = []
    for c in itertools.islice(history, lo, hi):
        begin, close = _bucket(c.open_time, interval)
        if start is not None and begin < start:
            continue
        if bars and bars[-1].open_time == begin:
            bars[-1] = _merge(bars[-1], c, close)
        elif interval == "1m":
            bars.append(c)
        else:
            bars.append(c._replace(open_time=begin, close_time=close))
    selected = bars[:limit] if start is not None else bars[-limit:]
    return [_row(b) for b in selected]


def _open_time(c: Candle) -> int:
    return c.open_time
