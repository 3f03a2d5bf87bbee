"""Binance ``exchangeInfo`` symbol entries -> domain :class:`~domain.instruments.Instrument`.

Only the filters the bot enforces are read; unknown filter types are ignored, as Binance adds
new ones over time. ``pricePrecision`` / ``quantityPrecision`` are display precisions and are
never used (the reference sheet, section 6).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from domain.enums import MarketType
from domain.instruments import (
    Instrument,
    LotSizeFilter,
    NotionalFilter,
    PercentPriceBySideFilter,
    PercentPriceFilter,
    PriceFilter,
)

ZERO = Decimal(0)


class ExchangeInfoError(ValueError):
    """A symbol entry lacks a required field or holds an unparsable number."""


def _dec(entry: dict[str, Any], key: str, where: str, default: Decimal | None = None) -> Decimal:
    if key not in entry:
        if default is not None:
            return default
        raise ExchangeInfoError(f"{where}: missing {key}")
    try:
        return Decimal(str(entry[key]))
    except InvalidOperation as exc:
        raise ExchangeInfoError(f"{where}: {key}={entry[key]!r} is not a number") from exc


def instrument_from_exchange_info(entry: dict[str, Any], market: MarketType) -> Instrument:
    """Build an Instrument from one element of ``exchangeInfo.symbols``.

    Raises:
        ExchangeInfoError: PRICE_FILTER or LOT_SIZE is missing, or a value is malformed.
    """
    symbol = entry.get("symbol")
    if not isinstance(symbol, str):
        raise ExchangeInfoError("exchangeInfo symbol entry without 'symbol'")
    filters = {f.get("filterType"): f for f in entry.get("filters", [])}
    where = f"{symbol} {market.value}"
    if "PRICE_FILTER" not in filters or "LOT_SIZE" not in filters:
        raise ExchangeInfoError(f"{where}: PRICE_FILTER and LOT_SIZE are required")
    pf = filters["PRICE_FILTER"]
    price_filter = PriceFilter(
        _dec(pf, "minPrice", where), _dec(pf, "maxPrice", where), _dec(pf, "tickSize", where)
    )

    def lot(name: str) -> LotSizeFilter:
        f = filters[name]
        return LotSizeFilter(
            _dec(f, "minQty", where), _dec(f, "maxQty", where), _dec(f, "stepSize", where)
        )

    notional = None
    if "NOTIONAL" in filters:
        f = filters["NOTIONAL"]
        notional = NotionalFilter(
            _dec(f, "minNotional", where, ZERO),
            _dec(f, "maxNotional", where, ZERO),
            bool(f.get("applyMinToMarket", True)),
            bool(f.get("applyMaxToMarket", False)),
        )
    elif "MIN_NOTIONAL" in filters:
        f = filters["MIN_NOTIONAL"]
        key = "notional" if market.is_futures else "minNotional"
        notional = NotionalFilter(
            _dec(f, key, where), apply_min_to_market=bool(f.get("applyToMarket", True))
        )
    percent = None
    if "PERCENT_PRICE" in filters:
        f = filters["PERCENT_PRICE"]
        percent = PercentPriceFilter(
            _dec(f, "multiplierUp", where), _dec(f, "multiplierDown", where)
        )
    by_side = None
    if "PERCENT_PRICE_BY_SIDE" in filters:
        f = filters["PERCENT_PRICE_BY_SIDE"]
        by_side = PercentPriceBySideFilter(
            _dec(f, "bidMultiplierUp", where),
            _dec(f, "bidMultiplierDown", where),
            _dec(f, "askMultiplierUp", where),
            _dec(f, "askMultiplierDown", where),
        )
    max_orders = 0
    if "MAX_NUM_ORDERS" in filters:
        f = filters["MAX_NUM_ORDERS"]
        max_orders = int(f.get("maxNumOrders", f.get("limit", 0)))
    return Instrument(
        symbol=symbol,
        market=market,
        base_asset=str(entry.get("baseAsset", "")),
        quote_asset=str(entry.get("quoteAsset", "")),
        price_filter=price_filter,
        lot_size=lot("LOT_SIZE"),
        market_lot_size=lot("MARKET_LOT_SIZE") if "MARKET_LOT_SIZE" in filters else None,
        notional=notional,
        percent_price=percent,
        percent_price_by_side=by_side,
        max_num_orders=max_orders,
    )
