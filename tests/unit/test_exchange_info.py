"""Binance ``exchangeInfo`` symbol entries -> Instrument, against captured payloads.

The captured spot and USD-M futures responses are parsed symbol by symbol and BTCUSDT is
checked filter by filter against the JSON text. Synthetic entries cover the filters the
captures lack (spot NOTIONAL, PERCENT_PRICE_BY_SIDE) and every error path.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters.binance.exchange_info import ExchangeInfoError, instrument_from_exchange_info
from domain.enums import MarketType
from domain.instruments import (
    Instrument,
    LotSizeFilter,
    NotionalFilter,
    PercentPriceBySideFilter,
    PercentPriceFilter,
    PriceFilter,
)

SPOT_PY = "binance-fixtures/spot/rest/nautilus-py__http_spot_market_exchange_info.json"
FUTURES_PY = "binance-fixtures/futures/rest/nautilus-py__http_futures_market_exchange_info.json"
SPOT_RS = "binance-fixtures/spot/rest/nautilus-rs__exchange_info_response.json"

D = Decimal


def _symbols(shared_data: Path, relative: str) -> list[dict[str, Any]]:
    document = json.loads((shared_data / relative).read_text(encoding="utf-8"))
    symbols: list[dict[str, Any]] = document["symbols"]
    assert symbols, f"{relative} holds no symbols"
    return symbols


def _entry(symbols: list[dict[str, Any]], symbol: str) -> dict[str, Any]:
    return next(s for s in symbols if s["symbol"] == symbol)


def _filter(entry: dict[str, Any], filter_type: str) -> dict[str, Any]:
    return next(f for f in entry["filters"] if f["filterType"] == filter_type)


def _synthetic(*extra: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A minimal valid spot entry (PRICE_FILTER + LOT_SIZE) plus ``extra`` filters."""
    entry: dict[str, Any] = {
        "symbol": "TESTUSDT",
        "baseAsset": "TEST",
        "quoteAsset": "USDT",
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": "0.01",
                "maxPrice": "100000",
                "tickSize": "0.01",
            },
            {"filterType": "LOT_SIZE", "minQty": "0.001", "maxQty": "1000", "stepSize": "0.001"},
            *extra,
        ],
    }
    entry.update(fields)
    return entry


# --------------------------------------------------------------------------- captured payloads
@pytest.mark.parametrize(
    ("relative", "market"),
    [(SPOT_PY, MarketType.SPOT), (FUTURES_PY, MarketType.USDM_FUTURES)],
    ids=["spot", "futures"],
)
def test_every_captured_symbol_parses_with_its_json_values(
    shared_data: Path, relative: str, market: MarketType
) -> None:
    for entry in _symbols(shared_data, relative):
        inst = instrument_from_exchange_info(entry, market)

        assert inst.symbol == entry["symbol"]
        assert inst.market is market
        assert inst.is_futures is market.is_futures
        assert inst.base_asset == entry["baseAsset"]
        assert inst.quote_asset == entry["quoteAsset"]
        pf, lot = _filter(entry, "PRICE_FILTER"), _filter(entry, "LOT_SIZE")
        assert inst.price_filter == PriceFilter(
            D(pf["minPrice"]), D(pf["maxPrice"]), D(pf["tickSize"])
        )
        assert inst.lot_size == LotSizeFilter(
            D(lot["minQty"]), D(lot["maxQty"]), D(lot["stepSize"])
        )
        assert inst.notional is not None and inst.notional.min_notional > 0
        assert inst.percent_price is not None
        assert inst.percent_price_by_side is None
        assert inst.market_lot_size is not None
        assert inst.max_num_orders == 200


def test_spot_btcusdt_filters_match_the_capture(shared_data: Path) -> None:
    entry = _entry(_symbols(shared_data, SPOT_PY), "BTCUSDT")

    inst = instrument_from_exchange_info(entry, MarketType.SPOT)

    assert inst == Instrument(
        symbol="BTCUSDT",
        market=MarketType.SPOT,
        base_asset="BTC",
        quote_asset="USDT",
        price_filter=PriceFilter(D("0.01000000"), D("1000000.00000000"), D("0.01000000")),
        lot_size=LotSizeFilter(D("0.00001000"), D("9000.00000000"), D("0.00001000")),
        market_lot_size=LotSizeFilter(D("0"), D("112.21108820"), D("0")),
        # spot MIN_NOTIONAL carries minNotional and applyToMarket
        notional=NotionalFilter(D("10.00000000"), D(0), True, False),
        percent_price=PercentPriceFilter(D("5"), D("0.2")),
        percent_price_by_side=None,
        max_num_orders=200,  # spot: maxNumOrders
    )
    # Exact decimal text is kept (no float round trip), trailing zeros included.
    assert str(inst.price_filter.tick_size) == "0.01000000"
    assert str(inst.lot_size.step_size) == "0.00001000"
    # ICEBERG_PARTS and MAX_NUM_ALGO_ORDERS are in the capture but not read.
    assert {f["filterType"] for f in entry["filters"]} >= {"ICEBERG_PARTS", "MAX_NUM_ALGO_ORDERS"}


def test_futures_btcusdt_filters_match_the_capture(shared_data: Path) -> None:
    entry = _entry(_symbols(shared_data, FUTURES_PY), "BTCUSDT")

    inst = instrument_from_exchange_info(entry, MarketType.USDM_FUTURES)

    assert inst == Instrument(
        symbol="BTCUSDT",
        market=MarketType.USDM_FUTURES,
        base_asset="BTC",
        quote_asset="USDT",
        price_filter=PriceFilter(D("402"), D("1246396.60"), D("0.10")),
        lot_size=LotSizeFilter(D("0.001"), D("1000"), D("0.001")),
        market_lot_size=LotSizeFilter(D("0.001"), D("1000"), D("0.001")),
        # futures MIN_NOTIONAL carries `notional`, not minNotional
        notional=NotionalFilter(D("10"), D(0), True, False),
        percent_price=PercentPriceFilter(D("1.1000"), D("0.5454")),
        percent_price_by_side=None,
        max_num_orders=200,  # futures: limit
    )
    # pricePrecision / quantityPrecision are display values and are ignored.
    assert entry["pricePrecision"] == 2 and inst.price_filter.tick_size == D("0.1")


def test_futures_delivery_contract_parses(shared_data: Path) -> None:
    entry = _entry(_symbols(shared_data, FUTURES_PY), "BTCUSDT_220325")

    inst = instrument_from_exchange_info(entry, MarketType.USDM_FUTURES)

    assert inst.price_filter == PriceFilter(D("1093.3"), D("1822332.8"), D("0.1"))
    assert inst.lot_size.max_qty == D("500")
    assert inst.percent_price == PercentPriceFilter(D("1.0500"), D("0.9500"))


def test_futures_min_notional_read_as_spot_is_an_error(shared_data: Path) -> None:
    """The market decides which MIN_NOTIONAL key is read: futures text has no minNotional."""
    entry = _entry(_symbols(shared_data, FUTURES_PY), "BTCUSDT")

    with pytest.raises(ExchangeInfoError, match=r"BTCUSDT SPOT: missing minNotional"):
        instrument_from_exchange_info(entry, MarketType.SPOT)


def test_rust_capture_symbol_without_filters_is_rejected(shared_data: Path) -> None:
    """nautilus-rs's spot capture has ETHBTC with an empty ``filters`` list."""
    symbols = _symbols(shared_data, SPOT_RS)
    assert [s["symbol"] for s in symbols] == ["ETHBTC"]

    for entry in symbols:
        assert entry["filters"] == []
        with pytest.raises(ExchangeInfoError, match=r"ETHBTC SPOT: PRICE_FILTER and LOT_SIZE"):
            instrument_from_exchange_info(entry, MarketType.SPOT)


def test_rust_capture_symbol_parses_once_filters_are_supplied(shared_data: Path) -> None:
    entry = copy.deepcopy(_symbols(shared_data, SPOT_RS)[0])
    entry["filters"] = _synthetic()["filters"]

    inst = instrument_from_exchange_info(entry, MarketType.SPOT)

    assert (inst.symbol, inst.base_asset, inst.quote_asset) == ("ETHBTC", "ETH", "BTC")
    assert inst.notional is None
    assert inst.percent_price is None
    assert inst.market_lot_size is None
    assert inst.max_num_orders == 0


# --------------------------------------------------------------------------- synthetic filters
def test_spot_notional_filter_reads_all_four_fields() -> None:
    entry = _synthetic(
        {
            "filterType": "NOTIONAL",
            "minNotional": "5.00000000",
            "applyMinToMarket": False,
            "maxNotional": "9000000.00000000",
            "applyMaxToMarket": True,
            "avgPriceMins": 5,
        }
    )

    inst = instrument_from_exchange_info(entry, MarketType.SPOT)

    assert inst.notional == NotionalFilter(D("5"), D("9000000"), False, True)


def test_spot_notional_filter_defaults() -> None:
    entry = _synthetic({"filterType": "NOTIONAL"})

    inst = instrument_from_exchange_info(entry, MarketType.SPOT)

    assert inst.notional == NotionalFilter(D(0), D(0), True, False)


def test_notional_filter_wins_over_min_notional() -> None:
    entry = _synthetic(
        {"filterType": "MIN_NOTIONAL", "minNotional": "10", "applyToMarket": True},
        {"filterType": "NOTIONAL", "minNotional": "7", "maxNotional": "100"},
    )

    inst = instrument_from_exchange_info(entry, MarketType.SPOT)

    assert inst.notional is not None
    assert (inst.notional.min_notional, inst.notional.max_notional) == (D(7), D(100))


def test_spot_min_notional_apply_to_market_false() -> None:
    entry = _synthetic({"filterType": "MIN_NOTIONAL", "minNotional": "10", "applyToMarket": False})

    inst = instrument_from_exchange_info(entry, MarketType.SPOT)

    assert inst.notional == NotionalFilter(D(10), D(0), False, False)


def test_percent_price_by_side() -> None:
    entry = _synthetic(
        {
            "filterType": "PERCENT_PRICE_BY_SIDE",
            "bidMultiplierUp": "5",
            "bidMultiplierDown": "0.2",
            "askMultiplierUp": "4",
            "askMultiplierDown": "0.8",
            "avgPriceMins": 5,
        }
    )

    inst = instrument_from_exchange_info(entry, MarketType.SPOT)

    assert inst.percent_price_by_side == PercentPriceBySideFilter(
        D("5"), D("0.2"), D("4"), D("0.8")
    )
    assert inst.percent_price is None


def test_percent_price_by_side_missing_multiplier() -> None:
    entry = _synthetic({"filterType": "PERCENT_PRICE_BY_SIDE", "bidMultiplierUp": "5"})

    with pytest.raises(ExchangeInfoError, match=r"TESTUSDT SPOT: missing bidMultiplierDown"):
        instrument_from_exchange_info(entry, MarketType.SPOT)


def test_unknown_filter_types_are_ignored() -> None:
    plain = instrument_from_exchange_info(_synthetic(), MarketType.SPOT)
    entry = _synthetic(
        {"filterType": "TRAILING_DELTA", "minTrailingAboveDelta": 10},
        {"filterType": "MAX_POSITION", "maxPosition": "not even a number"},
        {"filterType": "SOMETHING_NEW_FROM_BINANCE"},
        {"noFilterType": True},
    )

    inst = instrument_from_exchange_info(entry, MarketType.SPOT)

    assert inst == plain


def test_numbers_given_as_json_numbers_are_accepted() -> None:
    entry = _synthetic()
    entry["filters"][0] = {
        "filterType": "PRICE_FILTER",
        "minPrice": 0,
        "maxPrice": 1000,
        "tickSize": "0.5",
    }

    inst = instrument_from_exchange_info(entry, MarketType.USDM_FUTURES)

    assert inst.price_filter == PriceFilter(D(0), D(1000), D("0.5"))
    assert inst.is_futures


def test_missing_base_and_quote_assets_default_to_empty() -> None:
    entry = _synthetic()
    del entry["baseAsset"], entry["quoteAsset"]

    inst = instrument_from_exchange_info(entry, MarketType.SPOT)

    assert (inst.base_asset, inst.quote_asset) == ("", "")


def test_max_num_orders_without_a_count_is_no_limit() -> None:
    entry = _synthetic({"filterType": "MAX_NUM_ORDERS"})

    assert instrument_from_exchange_info(entry, MarketType.SPOT).max_num_orders == 0


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize("missing", ["PRICE_FILTER", "LOT_SIZE"])
def test_missing_required_filter(missing: str) -> None:
    entry = _synthetic()
    entry["filters"] = [f for f in entry["filters"] if f["filterType"] != missing]

    with pytest.raises(ExchangeInfoError, match=r"TESTUSDT SPOT: PRICE_FILTER and LOT_SIZE"):
        instrument_from_exchange_info(entry, MarketType.SPOT)


def test_missing_filters_key_is_missing_required_filters() -> None:
    entry = _synthetic()
    del entry["filters"]

    with pytest.raises(ExchangeInfoError, match=r"are required"):
        instrument_from_exchange_info(entry, MarketType.USDM_FUTURES)


@pytest.mark.parametrize("symbol", [None, 42, "absent"])
def test_entry_without_symbol(symbol: Any) -> None:
    entry = _synthetic()
    if symbol == "absent":
        del entry["symbol"]
    else:
        entry["symbol"] = symbol

    with pytest.raises(ExchangeInfoError, match=r"without 'symbol'"):
        instrument_from_exchange_info(entry, MarketType.SPOT)


def test_error_is_a_value_error() -> None:
    assert issubclass(ExchangeInfoError, ValueError)


@pytest.mark.parametrize(
    ("filter_type", "key"),
    [
        ("PRICE_FILTER", "tickSize"),
        ("PRICE_FILTER", "minPrice"),
        ("LOT_SIZE", "stepSize"),
        ("LOT_SIZE", "maxQty"),
    ],
)
def test_non_numeric_value_names_symbol_and_key(filter_type: str, key: str) -> None:
    entry = _synthetic()
    next(f for f in entry["filters"] if f["filterType"] == filter_type)[key] = "abc"

    with pytest.raises(ExchangeInfoError) as info:
        instrument_from_exchange_info(entry, MarketType.USDM_FUTURES)

    assert str(info.value) == f"TESTUSDT USDM_FUTURES: {key}='abc' is not a number"
    assert info.value.__cause__ is not None


@pytest.mark.parametrize(
    "extra",
    [
        {"filterType": "MARKET_LOT_SIZE", "minQty": "0", "maxQty": "x", "stepSize": "0"},
        {"filterType": "NOTIONAL", "minNotional": "ten"},
        {"filterType": "MIN_NOTIONAL", "minNotional": ""},
        {"filterType": "PERCENT_PRICE", "multiplierUp": "5", "multiplierDown": "1/5"},
    ],
    ids=["market_lot_size", "notional", "min_notional", "percent_price"],
)
def test_non_numeric_value_in_optional_filter(extra: dict[str, Any]) -> None:
    with pytest.raises(ExchangeInfoError, match=r"^TESTUSDT SPOT: \w+=.* is not a number$"):
        instrument_from_exchange_info(_synthetic(extra), MarketType.SPOT)


def test_missing_key_in_required_filter() -> None:
    entry = _synthetic()
    del entry["filters"][1]["stepSize"]

    with pytest.raises(ExchangeInfoError, match=r"^TESTUSDT SPOT: missing stepSize$"):
        instrument_from_exchange_info(entry, MarketType.SPOT)


def test_futures_min_notional_missing_notional() -> None:
    entry = _synthetic({"filterType": "MIN_NOTIONAL", "minNotional": "10"})

    with pytest.raises(ExchangeInfoError, match=r"TESTUSDT USDM_FUTURES: missing notional"):
        instrument_from_exchange_info(entry, MarketType.USDM_FUTURES)
