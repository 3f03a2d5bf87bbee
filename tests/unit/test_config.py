"""Config loading and validation: the example file, the embedded default, and every error path.

Every invalid value must give one ConfigError naming the file and the JSON path of the culprit.
"""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bootstrap.config import (
    AppConfig,
    BacktestConfig,
    ConfigError,
    GeneratedMarketConfig,
    SimulationConfig,
    StrategyConfig,
    load_config,
    parse_config,
)
from domain.enums import MarketType

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = REPO_ROOT / "config" / "config.example.json"


def _write(tmp_path: Path, document: Any, name: str = "config.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _error(tmp_path: Path, document: Any) -> tuple[Path, str]:
    """Load ``document`` from a file, expecting a ConfigError; return the file and message."""
    path = _write(tmp_path, document)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return path, str(info.value)


def _fields(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


# --------------------------------------------------------------------------- valid configs
def test_example_config_loads_with_the_documented_values() -> None:
    config = load_config(EXAMPLE)

    assert config.source == str(EXAMPLE)
    assert config.client_order_id_prefix == "gridbot"
    assert config.market is MarketType.USDM_FUTURES
    assert config.symbol == "BTCUSDT"
    assert config.initial_balances == {"USDT": Decimal("10000")}
    assert config.simulation == SimulationConfig(
        maker_fee=Decimal("0.0002"),
        taker_fee=Decimal("0.0005"),
        touch_fills=False,
        max_volume_share=Decimal("0.25"),
        leverage=3,
        funding_rate=Decimal("0.0001"),
        funding_file=None,
        latency_ms=0,
        reject_probability=Decimal(0),
        seed=0,
    )
    assert config.strategy == StrategyConfig(
        name="static_grid",
        levels=10,
        spacing=Decimal("0.002"),
        quote_per_level=Decimal("200"),
        recenter_threshold=Decimal("0.01"),
        post_only=False,
    )
    assert config.backtest == BacktestConfig(
        data=None,
        generated=GeneratedMarketConfig(
            minutes=43_200,
            seed=7,
            start_price=Decimal("42000"),
            start_open_time=1_704_067_200_000,
        ),
    )


def test_example_config_exercises_every_accepted_key() -> None:
    document = json.loads(EXAMPLE.read_text(encoding="utf-8"))

    def keys(section: dict[str, Any]) -> set[str]:
        return set(section) - {"_comment"}

    assert isinstance(document["_comment"], str) and document["_comment"]
    assert keys(document) == {"bot", "market", "account", "simulation", "strategy", "backtest"}
    assert keys(document["bot"]) == {"client_order_id_prefix"}
    assert keys(document["market"]) == {"type", "symbol"}
    assert keys(document["account"]) == {"initial_balances"}
    assert keys(document["simulation"]) == _fields(SimulationConfig)
    assert keys(document["strategy"]) == _fields(StrategyConfig)
    assert keys(document["backtest"]) == _fields(BacktestConfig)
    assert keys(document["backtest"]["generated"]) == _fields(GeneratedMarketConfig)


def test_embedded_default() -> None:
    config = load_config(None)

    assert config == AppConfig(source="<embedded default>")
    assert config.market is MarketType.USDM_FUTURES
    assert config.symbol == "BTCUSDT"
    assert config.initial_balances == {"USDT": Decimal("10000")}
    assert config.strategy.levels == 10
    assert config.simulation.leverage == 1
    assert config.backtest.data is None
    assert config.backtest.generated.minutes == 43_200


def test_empty_document_equals_the_embedded_default(tmp_path: Path) -> None:
    path = _write(tmp_path, {})
    assert dataclasses.replace(load_config(path), source="x") == dataclasses.replace(
        load_config(None), source="x"
    )


def test_empty_initial_balances_fall_back_to_the_default(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, {"account": {"initial_balances": {}}}))
    assert config.initial_balances == {"USDT": Decimal("10000")}


def test_several_balances_are_kept(tmp_path: Path) -> None:
    document = {
        "market": {"type": "SPOT"},
        "account": {"initial_balances": {"USDT": 500, "BTC": "0.01"}},
    }
    config = load_config(_write(tmp_path, document))
    assert config.market is MarketType.SPOT
    assert config.initial_balances == {"USDT": Decimal(500), "BTC": Decimal("0.01")}


@pytest.mark.parametrize(
    "document",
    [
        {"_comment": "top"},
        {"bot": {"_comment": "x"}},
        {"market": {"_comment": "x"}},
        {"account": {"_comment": "x"}},
        {"simulation": {"_comment": "x"}},
        {"strategy": {"_comment": "x"}},
        {"backtest": {"_comment": "x", "generated": {"_comment": "y"}}},
    ],
)
def test_comment_keys_are_ignored_in_every_section(tmp_path: Path, document: Any) -> None:
    assert load_config(_write(tmp_path, document)).strategy == StrategyConfig()


def test_nullable_values_accept_null(tmp_path: Path) -> None:
    document = {
        "simulation": {"maker_fee": None, "taker_fee": None, "max_volume_share": None},
        "strategy": {"recenter_threshold": None},
        "backtest": {"data": None},
    }
    config = load_config(_write(tmp_path, document))
    assert config.simulation.maker_fee is None
    assert config.simulation.taker_fee is None
    assert config.simulation.max_volume_share is None
    assert config.strategy.recenter_threshold is None
    assert config.backtest.data is None


def test_bounds_are_inclusive_where_documented(tmp_path: Path) -> None:
    document = {
        "bot": {"client_order_id_prefix": "A_b9" + "x" * 12},
        "simulation": {"leverage": 125, "max_volume_share": 1, "reject_probability": 1},
        "strategy": {"levels": 100, "spacing": "0.5"},
    }
    config = load_config(_write(tmp_path, document))
    assert config.client_order_id_prefix == "A_b9xxxxxxxxxxxx"
    assert config.simulation.leverage == 125
    assert config.strategy.levels == 100
    assert config.strategy.spacing == Decimal("0.5")


# --------------------------------------------------------------------------- exact decimals
def test_json_numbers_become_exact_decimals(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(
        '{"strategy": {"spacing": 0.002, "quote_per_level": 100.10},'
        ' "simulation": {"maker_fee": 0.0002, "funding_rate": -0.0001},'
        ' "account": {"initial_balances": {"USDT": 0.1}}}',
        encoding="utf-8",
    )
    config = load_config(path)

    spacing = config.strategy.spacing
    assert isinstance(spacing, Decimal)
    assert spacing == Decimal("0.002")
    assert str(spacing) == "0.002"
    assert spacing != Decimal(float(spacing))  # what a float round-trip would have given
    assert str(config.strategy.quote_per_level) == "100.10"
    assert config.simulation.maker_fee == Decimal("0.0002")
    assert config.simulation.funding_rate == Decimal("-0.0001")
    assert config.initial_balances["USDT"] * 3 == Decimal("0.3")


def test_decimal_strings_are_accepted(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, {"strategy": {"spacing": "0.002"}}))
    assert config.strategy.spacing == Decimal("0.002")
    assert str(config.strategy.spacing) == "0.002"


def test_parse_config_accepts_an_in_memory_document() -> None:
    config = parse_config({"strategy": {"levels": 3}}, "<test>")
    assert config.source == "<test>"
    assert config.strategy.levels == 3


# --------------------------------------------------------------------------- errors
UNKNOWN_KEYS = [
    ({"strategies": {}}, "$.strategies"),
    ({"bot": {"prefix": "x"}}, "$.bot.prefix"),
    ({"market": {"exchange": "binance"}}, "$.market.exchange"),
    ({"account": {"balances": {}}}, "$.account.balances"),
    ({"simulation": {"fee": 0.001}}, "$.simulation.fee"),
    ({"strategy": {"levelz": 10}}, "$.strategy.levelz"),
    ({"backtest": {"file": "x.csv"}}, "$.backtest.file"),
    ({"backtest": {"generated": {"hours": 1}}}, "$.backtest.generated.hours"),
]


@pytest.mark.parametrize(("document", "json_path"), UNKNOWN_KEYS)
def test_unknown_key_at_every_level(tmp_path: Path, document: Any, json_path: str) -> None:
    path, message = _error(tmp_path, document)
    assert message == f"{path}: {json_path}: unknown key"


WRONG_TYPES = [
    ({"strategy": {"levels": "10"}}, "$.strategy.levels", "must be an integer"),
    ({"strategy": {"levels": True}}, "$.strategy.levels", "must be an integer"),
    ({"strategy": {"levels": 10.5}}, "$.strategy.levels", "must be an integer"),
    ({"simulation": {"leverage": False}}, "$.simulation.leverage", "must be an integer"),
    ({"backtest": {"generated": {"minutes": "3000"}}}, "$.backtest.generated.minutes", "integer"),
    ({"strategy": {"spacing": "0.00.2"}}, "$.strategy.spacing", "must be a number, got '0.00.2'"),
    ({"strategy": {"spacing": "abc"}}, "$.strategy.spacing", "must be a number"),
    ({"strategy": {"spacing": ""}}, "$.strategy.spacing", "must be a number"),
    ({"strategy": {"spacing": True}}, "$.strategy.spacing", "must be a number"),
    ({"strategy": {"spacing": None}}, "$.strategy.spacing", "must be a number"),
    ({"strategy": {"spacing": [0.002]}}, "$.strategy.spacing", "must be a number"),
    ({"strategy": {"spacing": "NaN"}}, "$.strategy.spacing", "must be a finite number"),
    ({"strategy": {"quote_per_level": "Infinity"}}, "$.strategy.quote_per_level", "finite"),
    ({"simulation": {"maker_fee": "cheap"}}, "$.simulation.maker_fee", "must be a number"),
    ({"simulation": {"touch_fills": "yes"}}, "$.simulation.touch_fills", "must be true or false"),
    ({"strategy": {"post_only": 1}}, "$.strategy.post_only", "must be true or false"),
    ({"market": {"symbol": 5}}, "$.market.symbol", "must be a non-empty string"),
    ({"market": {"symbol": ""}}, "$.market.symbol", "must be a non-empty string"),
    ({"simulation": {"funding_file": 7}}, "$.simulation.funding_file", "non-empty string or null"),
    ({"backtest": {"data": ["a.csv"]}}, "$.backtest.data", "must be a non-empty string or null"),
    ({"strategy": []}, "$.strategy", "must be an object"),
    ({"bot": None}, "$.bot", "must be an object"),
    ({"account": {"initial_balances": ["USDT", 1]}}, "$.account.initial_balances", "object"),
    ({"backtest": {"generated": "small"}}, "$.backtest.generated", "must be an object"),
    (
        {"account": {"initial_balances": {"USDT": "lots"}}},
        "$.account.initial_balances.USDT",
        "must be a number",
    ),
]


@pytest.mark.parametrize(("document", "json_path", "problem"), WRONG_TYPES)
def test_wrong_types(tmp_path: Path, document: Any, json_path: str, problem: str) -> None:
    path, message = _error(tmp_path, document)
    assert message.startswith(f"{path}: {json_path}: ")
    assert problem in message


@pytest.mark.parametrize("document", [[], [{"strategy": {}}], "config", 3, None])
def test_document_that_is_not_an_object(tmp_path: Path, document: Any) -> None:
    path, message = _error(tmp_path, document)
    assert message == f"{path}: $: must be an object"


OUT_OF_RANGE = [
    ({"strategy": {"levels": 0}}, "$.strategy.levels", "between 1 and 100, got 0"),
    ({"strategy": {"levels": 101}}, "$.strategy.levels", "between 1 and 100, got 101"),
    ({"strategy": {"levels": -3}}, "$.strategy.levels", "got -3"),
    ({"strategy": {"spacing": 0}}, "$.strategy.spacing", "must be > 0, got 0"),
    ({"strategy": {"spacing": 0.6}}, "$.strategy.spacing", "must be <= 0.5, got 0.6"),
    ({"strategy": {"spacing": "-0.001"}}, "$.strategy.spacing", "must be > 0"),
    ({"strategy": {"quote_per_level": 0}}, "$.strategy.quote_per_level", "must be > 0"),
    ({"strategy": {"recenter_threshold": 0}}, "$.strategy.recenter_threshold", "must be > 0"),
    ({"strategy": {"recenter_threshold": 2}}, "$.strategy.recenter_threshold", "<= 1"),
    ({"simulation": {"leverage": 0}}, "$.simulation.leverage", "between 1 and 125, got 0"),
    ({"simulation": {"leverage": 126}}, "$.simulation.leverage", "between 1 and 125, got 126"),
    ({"simulation": {"max_volume_share": 0}}, "$.simulation.max_volume_share", "must be > 0"),
    ({"simulation": {"max_volume_share": 1.5}}, "$.simulation.max_volume_share", "<= 1, got 1.5"),
    ({"simulation": {"maker_fee": -0.0001}}, "$.simulation.maker_fee", "must be >= 0"),
    ({"simulation": {"taker_fee": 0.2}}, "$.simulation.taker_fee", "must be <= 0.1"),
    ({"simulation": {"funding_rate": -0.2}}, "$.simulation.funding_rate", "must be >= -0.1"),
    ({"simulation": {"funding_rate": 0.2}}, "$.simulation.funding_rate", "must be <= 0.1"),
    ({"simulation": {"latency_ms": -1}}, "$.simulation.latency_ms", "between 0 and 600000"),
    ({"simulation": {"latency_ms": 600_001}}, "$.simulation.latency_ms", "between 0 and 600000"),
    ({"simulation": {"reject_probability": 2}}, "$.simulation.reject_probability", "<= 1, got 2"),
    ({"simulation": {"reject_probability": -0.5}}, "$.simulation.reject_probability", ">= 0"),
    ({"simulation": {"seed": -1}}, "$.simulation.seed", "must be >= 0, got -1"),
    (
        {"account": {"initial_balances": {"USDT": -1}}},
        "$.account.initial_balances.USDT",
        "must be >= 0, got -1",
    ),
    ({"backtest": {"generated": {"minutes": 0}}}, "$.backtest.generated.minutes", "between 1"),
    ({"backtest": {"generated": {"start_price": 0}}}, "$.backtest.generated.start_price", "> 0"),
    ({"backtest": {"generated": {"seed": -7}}}, "$.backtest.generated.seed", "must be >= 0"),
    (
        {"backtest": {"generated": {"start_open_time": -60_000}}},
        "$.backtest.generated.start_open_time",
        "must be >= 0",
    ),
]


@pytest.mark.parametrize(("document", "json_path", "problem"), OUT_OF_RANGE)
def test_out_of_range_values(tmp_path: Path, document: Any, json_path: str, problem: str) -> None:
    path, message = _error(tmp_path, document)
    assert message.startswith(f"{path}: {json_path}: ")
    assert problem in message


@pytest.mark.parametrize("market_type", ["COIN_FUTURES", "spot", "FUTURES", ""])
def test_invalid_market_type(tmp_path: Path, market_type: str) -> None:
    path, message = _error(tmp_path, {"market": {"type": market_type}})
    assert message.startswith(f"{path}: $.market.type: ")
    if market_type:
        assert "must be one of SPOT, USDM_FUTURES" in message
        assert repr(market_type) in message


def test_invalid_strategy_name(tmp_path: Path) -> None:
    path, message = _error(tmp_path, {"strategy": {"name": "martingale"}})
    assert message == f"{path}: $.strategy.name: must be one of static_grid, got 'martingale'"


@pytest.mark.parametrize("prefix", ["grid-bot", "a" * 17, "grid bot", "grïd", "bot.1"])
def test_bad_client_order_id_prefix(tmp_path: Path, prefix: str) -> None:
    path, message = _error(tmp_path, {"bot": {"client_order_id_prefix": prefix}})
    assert message == (
        f"{path}: $.bot.client_order_id_prefix: must be 1-16 characters of A-Z, a-z, 0-9 or _"
    )


def test_empty_client_order_id_prefix(tmp_path: Path) -> None:
    path, message = _error(tmp_path, {"bot": {"client_order_id_prefix": ""}})
    assert message == f"{path}: $.bot.client_order_id_prefix: must be a non-empty string"


def test_start_open_time_must_be_on_a_minute_boundary(tmp_path: Path) -> None:
    document = {"backtest": {"generated": {"start_open_time": 1_704_067_200_001}}}
    path, message = _error(tmp_path, document)
    assert message == (
        f"{path}: $.backtest.generated.start_open_time: must be on a minute boundary (ms)"
    )


def test_first_error_wins(tmp_path: Path) -> None:
    path, message = _error(tmp_path, {"strategy": {"levels": 0, "spacing": 0}})
    assert message.startswith(f"{path}: $.strategy.levels: ")


def test_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{\n  "strategy": {\n    "levels": 10,\n  }\n}\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: invalid JSON at line 4 column 3: ")
    assert "double quotes" in message


def test_empty_file_is_invalid_json(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text("", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"invalid JSON at line 1 column 1"):
        load_config(path)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}: cannot read config: No such file or directory"


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert str(info.value).startswith(f"{tmp_path}: cannot read config: ")


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes('{"market": {"symbol": "BTCUSDT"}, "_comment": "Größe"}'.encode("latin-1"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: ")
    assert "UTF-8" in str(info.value)


def test_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)
