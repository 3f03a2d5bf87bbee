"""Binance ``exchangeInfo`` payloads: the symbols, filters and rate limits the emulator serves."""

from __future__ import annotations

from collections.abc import Sequence

from adapters.simulated.emulator.limits import RateLimits
from adapters.simulated.emulator.payload_numbers import Places
from adapters.simulated.emulator.wire import plain
from domain.enums import MarketType
from domain.instruments import Instrument

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
