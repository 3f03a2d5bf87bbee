"""Config loading and validation: the example file, the embedded default, and every error path.

Every invalid value must give one ConfigError naming the file and the JSON path of the culprit.
"""

from __future__ import annotations

import dataclasses
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bootstrap.config import (
    DATA_DIR_ENV,
    AdaptiveGridConfig,
    AppConfig,
    BacktestConfig,
    BrakesConfig,
    CalendarConfig,
    ConfigError,
    ControlConfig,
    CredentialsConfig,
    ExchangeConfig,
    GeneratedMarketConfig,
    LoggingConfig,
    MarketFactsConfig,
    ReconciliationConfig,
    RiskConfig,
    ShutdownConfig,
    SignalLearningConfig,
    SignalsConfig,
    SimulationConfig,
    StorageConfig,
    StrategyConfig,
    database_url,
    load_config,
    parse_config,
)
from domain.enums import MarketType

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = REPO_ROOT / "config" / "config.example.json"
TEMPLATE = REPO_ROOT / "config" / "config.template.json"


@pytest.fixture(autouse=True)
def _no_data_dir_override(monkeypatch: pytest.MonkeyPatch) -> None:
    """Defaults must not depend on the environment the tests happen to run in."""
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)


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
        name="adaptive_grid",
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


def test_example_config_sets_every_key_of_its_sections() -> None:
    document = json.loads(EXAMPLE.read_text(encoding="utf-8"))

    def keys(section: dict[str, Any]) -> set[str]:
        return set(section) - {"_comment"}

    assert isinstance(document["_comment"], str) and document["_comment"]
    assert keys(document) == {
        "bot",
        "market",
        "account",
        "simulation",
        "brakes",
        "strategy",
        "backtest",
    }
    assert keys(document["brakes"]) == _fields(BrakesConfig)
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
    assert config.strategy.name == "adaptive_grid"  # issue 14: the static grid is a baseline
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
        {"account": {"initial_balances": {"_comment": "not an asset"}}},
        {"exchange": {"_comment": "x"}},
        {"storage": {"_comment": "x"}},
        {"credentials": {"_comment": "x"}},
        {"risk": {"_comment": ["a list", "of lines"]}},
        {"reconciliation": {"_comment": "x"}},
        {"logging": {"_comment": {"any": "value"}}},
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
    ({"exchange": {"testnet_url": "x"}}, "$.exchange.testnet_url"),
    ({"storage": {"db": "x"}}, "$.storage.db"),
    ({"credentials": {"file": "x"}}, "$.credentials.file"),
    ({"risk": {"max_orders": 5}}, "$.risk.max_orders"),
    ({"reconciliation": {"unknown": "cancel"}}, "$.reconciliation.unknown"),
    ({"logging": {"path": "x.log"}}, "$.logging.path"),
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
    ({"exchange": []}, "$.exchange", "must be an object"),
    ({"exchange": {"testnet": "false"}}, "$.exchange.testnet", "must be true or false"),
    ({"exchange": {"testnet": 0}}, "$.exchange.testnet", "must be true or false"),
    ({"exchange": {"kind": 1}}, "$.exchange.kind", "must be a non-empty string"),
    ({"exchange": {"base_url": 8080}}, "$.exchange.base_url", "non-empty string or null"),
    ({"exchange": {"base_url": ""}}, "$.exchange.base_url", "non-empty string or null"),
    ({"storage": {"data_dir": None}}, "$.storage.data_dir", "must be a non-empty string"),
    ({"storage": {"data_dir": ""}}, "$.storage.data_dir", "must be a non-empty string"),
    ({"storage": {"database_url": 5}}, "$.storage.database_url", "non-empty string or null"),
    ({"credentials": {"secrets_file": 1}}, "$.credentials.secrets_file", "string or null"),
    ({"risk": {"max_leverage": None}}, "$.risk.max_leverage", "must be a number"),
    ({"risk": {"max_leverage": "high"}}, "$.risk.max_leverage", "must be a number"),
    ({"risk": {"max_position_notional": "x"}}, "$.risk.max_position_notional", "number"),
    ({"risk": {"max_open_orders": 5.5}}, "$.risk.max_open_orders", "must be an integer or null"),
    ({"risk": {"max_open_orders": "5"}}, "$.risk.max_open_orders", "must be an integer or null"),
    ({"risk": {"max_open_orders": True}}, "$.risk.max_open_orders", "integer or null"),
    ({"exchange": {"audit_minutes": 2.5}}, "$.exchange.audit_minutes", "integer or null"),
    ({"exchange": {"audit_minutes": "10"}}, "$.exchange.audit_minutes", "integer or null"),
    ({"risk": {"price_band": []}}, "$.risk.price_band", "must be a number or null"),
    ({"risk": {"kill_switch": None}}, "$.risk.kill_switch", "must be true or false"),
    ({"reconciliation": {"unknown_orders": None}}, "$.reconciliation.unknown_orders", "string"),
    ({"logging": {"file": None}}, "$.logging.file", "must be a non-empty string"),
    ({"logging": {"level": 10}}, "$.logging.level", "must be a non-empty string"),
    ({"logging": {"max_bytes": "1MB"}}, "$.logging.max_bytes", "must be an integer"),
    ({"logging": {"backups": 1.0}}, "$.logging.backups", "must be an integer"),
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
    ({"risk": {"max_leverage": 0}}, "$.risk.max_leverage", "must be > 0, got 0"),
    ({"risk": {"max_leverage": 126}}, "$.risk.max_leverage", "must be <= 125, got 126"),
    ({"risk": {"max_position_notional": 0}}, "$.risk.max_position_notional", "must be > 0"),
    ({"risk": {"max_position_notional": -5}}, "$.risk.max_position_notional", "> 0, got -5"),
    ({"risk": {"max_open_orders": 0}}, "$.risk.max_open_orders", "between 1 and 200, got 0"),
    ({"risk": {"max_open_orders": 201}}, "$.risk.max_open_orders", "between 1 and 200, got 201"),
    ({"exchange": {"audit_minutes": -1}}, "$.exchange.audit_minutes", "between 0 and 1440"),
    ({"exchange": {"audit_minutes": 1441}}, "$.exchange.audit_minutes", "got 1441"),
    ({"risk": {"price_band": 0}}, "$.risk.price_band", "must be > 0, got 0"),
    ({"risk": {"price_band": 1.01}}, "$.risk.price_band", "must be <= 1, got 1.01"),
    ({"logging": {"max_bytes": 1023}}, "$.logging.max_bytes", "must be >= 1024, got 1023"),
    ({"logging": {"backups": -1}}, "$.logging.backups", "between 0 and 100, got -1"),
    ({"logging": {"backups": 101}}, "$.logging.backups", "between 0 and 100, got 101"),
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
    assert (
        message == f"{path}: $.strategy.name: must be one of static_grid, adaptive_grid, "
        "volatility_grid, neutral_grid, buy_and_hold, got 'martingale'"
    )


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


# --------------------------------------------------------------------------- operations
def test_defaults_of_the_operations_sections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(None)

    assert config.exchange == ExchangeConfig(kind="simulated", testnet=True, base_url=None)
    assert config.storage == StorageConfig(data_dir=tmp_path.resolve() / "data", database_url=None)
    assert config.storage.data_dir.is_absolute()
    assert config.credentials == CredentialsConfig(secrets_file=None)
    assert config.risk == RiskConfig(
        max_leverage=Decimal(3),
        max_position_notional=None,
        max_open_orders=50,
        price_band=Decimal("0.05"),
        kill_switch=False,
    )
    assert config.reconciliation == ReconciliationConfig(unknown_orders="cancel")
    assert config.logging == LoggingConfig(
        file="gridbot.log", level="INFO", max_bytes=10_485_760, backups=5
    )
    assert config.database_url_resolved == f"sqlite:///{tmp_path.resolve()}/data/gridbot.db"
    assert database_url(config) == config.database_url_resolved
    assert config.log_path == tmp_path.resolve() / "data" / "gridbot.log"
    assert not (tmp_path / "data").exists()  # loading a config creates nothing


def test_every_operations_option_can_be_set(tmp_path: Path) -> None:
    document = {
        "exchange": {
            "kind": "binance",
            "testnet": False,
            "base_url": "http://127.0.0.1:8080",
            "recv_window": 10_000,
        },
        "storage": {
            "data_dir": str(tmp_path / "var"),
            "database_url": "postgresql+psycopg://gridbot@localhost:5432/gridbot",
        },
        "credentials": {"secrets_file": "~/.gridbot/secrets.env"},
        "risk": {
            "max_leverage": "2.5",
            "max_position_notional": 25_000,
            "max_open_orders": None,
            "price_band": None,
            "kill_switch": True,
        },
        "reconciliation": {"unknown_orders": "adopt"},
        "logging": {
            "file": "/var/log/gridbot/events.jsonl",
            "level": "DEBUG",
            "max_bytes": 1024,
            "backups": 0,
        },
    }
    config = load_config(_write(tmp_path, document))

    assert config.exchange == ExchangeConfig("binance", False, "http://127.0.0.1:8080", 10_000)
    assert config.storage.data_dir == tmp_path / "var"
    assert config.database_url_resolved == "postgresql+psycopg://gridbot@localhost:5432/gridbot"
    assert config.credentials.secrets_file == "~/.gridbot/secrets.env"
    assert config.risk == RiskConfig(Decimal("2.5"), Decimal(25_000), None, None, True)
    assert config.reconciliation.unknown_orders == "adopt"
    assert config.logging == LoggingConfig("/var/log/gridbot/events.jsonl", "DEBUG", 1024, 0)
    assert config.log_path == Path("/var/log/gridbot/events.jsonl")  # absolute: kept


def test_inclusive_bounds_of_the_operations_sections(tmp_path: Path) -> None:
    document = {
        "risk": {"max_leverage": 125, "max_open_orders": 200, "price_band": 1},
        "logging": {"backups": 100},
    }
    config = load_config(_write(tmp_path, document))
    assert config.risk.max_leverage == Decimal(125)
    assert config.risk.max_open_orders == 200
    assert config.risk.price_band == Decimal(1)
    assert config.logging.backups == 100
    assert load_config(_write(tmp_path, {"risk": {"max_open_orders": 1}})).risk.max_open_orders == 1


def test_relative_log_file_is_inside_the_data_dir(tmp_path: Path) -> None:
    document = {"storage": {"data_dir": str(tmp_path)}, "logging": {"file": "logs/bot.jsonl"}}
    config = load_config(_write(tmp_path, document))
    assert config.log_path == tmp_path / "logs" / "bot.jsonl"


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("kind", "BINANCE", "must be one of simulated, binance, got 'BINANCE'"),
        ("kind", "paper", "must be one of simulated, binance, got 'paper'"),
        ("base_url", "ftp://example.com", "must start with http:// or https://"),
        ("base_url", "localhost:8080", "must start with http:// or https://"),
        ("recv_window", 0, "must be between 1 and 60000, got 0"),
        ("recv_window", 60_001, "must be between 1 and 60000, got 60001"),
        ("recv_window", 5000.5, "must be an integer"),
        ("recv_window", True, "must be an integer"),
    ],
)
def test_bad_exchange_values(tmp_path: Path, key: str, value: Any, problem: str) -> None:
    path, message = _error(tmp_path, {"exchange": {key: value}})
    assert message == f"{path}: $.exchange.{key}: {problem}"


def test_recv_window_bounds_are_inclusive_and_default_is_5000(tmp_path: Path) -> None:
    assert load_config(_write(tmp_path, {})).exchange.recv_window == 5000
    for value in (1, 60_000):
        config = load_config(_write(tmp_path, {"exchange": {"recv_window": value}}))
        assert config.exchange.recv_window == value


def test_https_base_url_is_accepted(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, {"exchange": {"base_url": "https://testnet.example"}}))
    assert config.exchange.base_url == "https://testnet.example"


def test_bad_choices(tmp_path: Path) -> None:
    path, message = _error(tmp_path, {"reconciliation": {"unknown_orders": "ignore"}})
    assert message == (
        f"{path}: $.reconciliation.unknown_orders: must be one of cancel, adopt, got 'ignore'"
    )
    path, message = _error(tmp_path, {"logging": {"level": "debug"}})
    assert message == (
        f"{path}: $.logging.level: must be one of DEBUG, INFO, WARNING, ERROR, got 'debug'"
    )


def test_database_url_must_be_a_url(tmp_path: Path) -> None:
    path, message = _error(tmp_path, {"storage": {"database_url": "gridbot.db"}})
    assert message.startswith(f"{path}: $.storage.database_url: must be a database URL")


def test_database_url_with_a_password_is_rejected(tmp_path: Path) -> None:
    url = "postgresql+psycopg://gridbot:hunter2@db.internal/gridbot"
    path, message = _error(tmp_path, {"storage": {"database_url": url}})
    assert message.startswith(f"{path}: $.storage.database_url: secrets never go in the config")
    assert "PGPASSWORD" in message
    assert "hunter2" not in message


# --------------------------------------------------------------------------- data directory
def test_data_dir_env_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "from-env"))
    config = load_config(_write(tmp_path, {"storage": {"data_dir": str(tmp_path / "file")}}))
    assert config.storage.data_dir == tmp_path / "from-env"
    assert config.log_path == tmp_path / "from-env" / "gridbot.log"
    assert config.database_url_resolved == f"sqlite:///{tmp_path}/from-env/gridbot.db"


def test_data_dir_env_applies_to_the_embedded_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, "/srv/gridbot")
    assert load_config(None).storage.data_dir == Path("/srv/gridbot")


def test_data_dir_env_can_be_passed_explicitly(tmp_path: Path) -> None:
    config = load_config(None, environ={DATA_DIR_ENV: str(tmp_path)})
    assert config.storage.data_dir == tmp_path
    assert parse_config({}, "<t>", environ={}).storage.data_dir == Path("data").resolve()


def test_empty_data_dir_env_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, "")
    config = load_config(_write(tmp_path, {"storage": {"data_dir": str(tmp_path / "file")}}))
    assert config.storage.data_dir == tmp_path / "file"


def test_relative_data_dir_is_resolved_against_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(DATA_DIR_ENV, "relative/env")
    assert load_config(None).storage.data_dir == tmp_path.resolve() / "relative" / "env"
    monkeypatch.delenv(DATA_DIR_ENV)
    config = parse_config({"storage": {"data_dir": "./state/../state"}}, "<t>")
    assert config.storage.data_dir == tmp_path.resolve() / "state"


def test_home_is_expanded_in_the_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    config = parse_config({"storage": {"data_dir": "~/gridbot"}}, "<t>")
    assert config.storage.data_dir == tmp_path.resolve() / "gridbot"


# --------------------------------------------------------------------------- secrets
SECRET_DOCUMENTS = [
    ({"api_key": "PLANTED-VALUE"}, "$.api_key"),
    ({"exchange": {"api_secret": "PLANTED-VALUE"}}, "$.exchange.api_secret"),
    ({"credentials": {"api_key": "PLANTED-VALUE"}}, "$.credentials.api_key"),
    ({"credentials": {"secret": "PLANTED-VALUE"}}, "$.credentials.secret"),
    ({"storage": {"password": "PLANTED-VALUE"}}, "$.storage.password"),
    ({"exchange": {"API_KEY": "PLANTED-VALUE"}}, "$.exchange.API_KEY"),
    ({"exchange": {"Api-Secret": "PLANTED-VALUE"}}, "$.exchange.Api-Secret"),
    ({"account": {"initial_balances": {"password": 1}}}, "$.account.initial_balances.password"),
    ({"_comment": [{"secret": "PLANTED-VALUE"}]}, "$._comment[0].secret"),
    ({"nonsense": {"deeper": {"api_key": "PLANTED-VALUE"}}}, "$.nonsense.deeper.api_key"),
]


@pytest.mark.parametrize(("document", "json_path"), SECRET_DOCUMENTS)
def test_secrets_in_the_config_are_rejected(tmp_path: Path, document: Any, json_path: str) -> None:
    path, message = _error(tmp_path, document)
    assert message.startswith(f"{path}: {json_path}: secrets never go in the config file; ")
    assert "BINANCE_API_KEY" in message and "BINANCE_API_SECRET" in message
    assert "$.credentials.secrets_file" in message
    assert "PLANTED-VALUE" not in message


def test_secret_is_reported_before_other_problems(tmp_path: Path) -> None:
    path, message = _error(tmp_path, {"strategy": {"levels": 0}, "exchange": {"api_key": "x"}})
    assert message.startswith(f"{path}: $.exchange.api_key: secrets never go in the config")


def test_secrets_file_key_is_not_mistaken_for_a_secret(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, {"credentials": {"secrets_file": "secrets.json"}}))
    assert config.credentials.secrets_file == "secrets.json"


def test_comment_inside_initial_balances_is_not_an_asset(tmp_path: Path) -> None:
    document = {"account": {"initial_balances": {"_comment": "cash", "USDT": 5}}}
    config = load_config(_write(tmp_path, document))
    assert config.initial_balances == {"USDT": Decimal(5)}


# --------------------------------------------------------------------------- the template
def _template() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(TEMPLATE.read_text(encoding="utf-8"))
    return document


def _sections() -> dict[str, tuple[dict[str, Any], set[str]]]:
    """Each template section (by JSON path) with the keys the config accepts there."""
    document = _template()
    sections = {
        "$": (document, {"bot", "market", "account"} | _fields(AppConfig) - _TOP_LEVEL_FIELDS),
        "$.bot": (document["bot"], {"client_order_id_prefix"}),
        "$.market": (document["market"], {"type", "symbol"}),
        "$.account": (document["account"], {"initial_balances"}),
        "$.backtest.generated": (
            document["backtest"]["generated"],
            _fields(GeneratedMarketConfig),
        ),
        "$.strategy.adaptive": (document["strategy"]["adaptive"], _fields(AdaptiveGridConfig)),
        "$.signals.learning": (document["signals"]["learning"], _fields(SignalLearningConfig)),
    }
    for name, cls in _SECTION_CLASSES.items():
        sections[f"$.{name}"] = (document[name], _fields(cls))
    return sections


#: AppConfig fields that are not a section of the same name in the file.
_TOP_LEVEL_FIELDS = {"source", "client_order_id_prefix", "market", "symbol", "initial_balances"}
_SECTION_CLASSES: dict[str, type] = {
    "calendar": CalendarConfig,
    "simulation": SimulationConfig,
    "strategy": StrategyConfig,
    "backtest": BacktestConfig,
    "exchange": ExchangeConfig,
    "storage": StorageConfig,
    "credentials": CredentialsConfig,
    "risk": RiskConfig,
    "brakes": BrakesConfig,
    "reconciliation": ReconciliationConfig,
    "shutdown": ShutdownConfig,
    "logging": LoggingConfig,
    "control": ControlConfig,
    "signals": SignalsConfig,
    "market_facts": MarketFactsConfig,
}


def test_every_app_config_field_is_a_known_section() -> None:
    sections = set(_SECTION_CLASSES) | _TOP_LEVEL_FIELDS
    assert _fields(AppConfig) == sections, "a new AppConfig field needs a template entry"
    for name, cls in _SECTION_CLASSES.items():
        field_type = {f.name: f.type for f in dataclasses.fields(AppConfig)}[name]
        assert field_type == cls.__name__, name


def test_template_loads_and_equals_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(TEMPLATE)
    assert dataclasses.replace(config, source="x") == AppConfig(source="x")


@pytest.mark.parametrize("json_path", sorted(_sections()))
def test_template_sets_every_key(json_path: str) -> None:
    section, accepted = _sections()[json_path]
    assert set(section) - {"_comment"} == accepted


@pytest.mark.parametrize("json_path", sorted(_sections()))
def test_template_documents_every_key(json_path: str) -> None:
    section, accepted = _sections()[json_path]
    comment = section.get("_comment")
    assert isinstance(comment, list) and all(isinstance(line, str) for line in comment)
    assert comment, f"{json_path} has no _comment"
    for key in accepted:
        lines = [line for line in comment if line.startswith(f"{key}: ")]
        assert len(lines) == 1, f"{json_path}.{key} is not documented in its _comment"
        if json_path != "$" and key != "generated":
            assert "Default" in lines[0], f"{json_path}.{key}: the comment names no default"


def test_template_has_no_secrets() -> None:
    text = TEMPLATE.read_text(encoding="utf-8")
    document = _template()
    assert document["credentials"]["secrets_file"] is None
    assert "BINANCE_API_KEY" in text  # says where the key goes instead


def test_shutdown_flatten_on_exit_defaults_true_and_must_be_a_boolean(tmp_path: Path) -> None:
    assert parse_config({}, "c.json").shutdown == ShutdownConfig(flatten_on_exit=True)
    config = parse_config({"shutdown": {"flatten_on_exit": False}}, "c.json")
    assert config.shutdown.flatten_on_exit is False
    with pytest.raises(ConfigError, match=r"\$\.shutdown\.flatten_on_exit: must be true or false"):
        parse_config({"shutdown": {"flatten_on_exit": "yes"}}, "c.json")


def test_shutdown_budget_defaults_past_a_two_minute_ban_and_is_validated() -> None:
    assert parse_config({}, "c.json").shutdown.budget_seconds >= 180
    config = parse_config({"shutdown": {"budget_seconds": 900}}, "c.json")
    assert config.shutdown.budget_seconds == 900
    for bad in (0, -5, "long", 1.5, 10**9):
        with pytest.raises(ConfigError, match=r"\$\.shutdown\.budget_seconds: "):
            parse_config({"shutdown": {"budget_seconds": bad}}, "c.json")


# --------------------------------------------------------------------------- control plane
def test_grpc_address_env_overrides_the_config() -> None:
    data = {"control": {"address": "127.0.0.1:6000"}}
    assert parse_config(data, "c.json", {}).control.address == "127.0.0.1:6000"
    env = {"GRIDBOT_GRPC_ADDRESS": "0.0.0.0:7000"}
    assert parse_config(data, "c.json", env).control.address == "0.0.0.0:7000"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"address": "nohostport"}, "$.control.address: must be host:port"),
        ({"address": "127.0.0.1:70000"}, "$.control.address: must be host:port"),
        ({"tls_cert_file": "c.pem"}, "tls_cert_file and tls_key_file go together"),
        ({"tls_client_ca_file": "ca.pem"}, "mutual TLS needs tls_cert_file"),
        ({"telemetry_buffer": 5}, "$.control.telemetry_buffer"),
    ],
)
def test_bad_control_section_is_refused(section: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_config({"control": section}, "c.json", {})


def test_exchange_ws_url_must_be_a_websocket_url() -> None:
    with pytest.raises(ConfigError, match=re.escape("$.exchange.ws_url: must start with ws://")):
        parse_config({"exchange": {"ws_url": "http://x"}}, "c.json", {})
    config = parse_config({"exchange": {"ws_url": "ws://127.0.0.1:9", "leverage": 5}}, "c", {})
    assert (config.exchange.ws_url, config.exchange.leverage) == ("ws://127.0.0.1:9", 5)


# --------------------------------------------------------------------------- absurd numbers
#: Every numeric setting, as (section path, key); each must have a bound that a typo breaks.
NUMERIC_SETTINGS = [
    (("account", "initial_balances"), "USDT"),
    (("simulation",), "maker_fee"),
    (("simulation",), "taker_fee"),
    (("simulation",), "max_volume_share"),
    (("simulation",), "leverage"),
    (("simulation",), "funding_rate"),
    (("simulation",), "latency_ms"),
    (("simulation",), "reject_probability"),
    (("simulation",), "seed"),
    (("strategy",), "levels"),
    (("strategy",), "spacing"),
    (("strategy",), "quote_per_level"),
    (("strategy",), "recenter_threshold"),
    (("backtest", "generated"), "minutes"),
    (("backtest", "generated"), "seed"),
    (("backtest", "generated"), "start_price"),
    (("backtest", "generated"), "start_open_time"),
    (("risk",), "max_leverage"),
    (("risk",), "max_position_notional"),
    (("risk",), "max_open_orders"),
    (("risk",), "price_band"),
    (("logging",), "max_bytes"),
    (("logging",), "backups"),
]


def _nested(sections: tuple[str, ...], key: str, raw: str) -> str:
    """The JSON text of a config setting one value to ``raw`` (a JSON number, verbatim)."""
    text = f'{{"{key}": {raw}}}'
    for name in reversed(sections):
        text = f'{{"{name}": {text}}}'
    return text


@pytest.mark.parametrize(("sections", "key"), NUMERIC_SETTINGS)
@pytest.mark.parametrize("raw", ["1e40", "1e104", "1e400", "1e999999", "1" + "0" * 400])
def test_absurdly_large_numbers_are_refused_naming_the_path(
    tmp_path: Path, sections: tuple[str, ...], key: str, raw: str
) -> None:
    """Issue 11: 1e40 quote per level or a 1e999999 balance passed and crashed mid-run."""
    path = tmp_path / "config.json"
    path.write_text(_nested(sections, key, raw), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: $.{'.'.join((*sections, key))}: "), message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("1e20", "must be <= 1000000000000000, got 1E+20"),
        ("1e-999999", "at most 18 decimal places"),
    ],
)
def test_quote_per_level_bounds(tmp_path: Path, raw: str, problem: str) -> None:
    path = tmp_path / "config.json"
    path.write_text(_nested(("strategy",), "quote_per_level", raw), encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(problem)):
        load_config(path)


def test_a_large_but_sane_balance_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(_nested(("account", "initial_balances"), "USDT", "1e15"), encoding="utf-8")
    assert load_config(path).initial_balances["USDT"] == Decimal(10**15)


def test_market_facts_windows_are_read_and_checked(tmp_path: Path) -> None:
    document = {
        "market_facts": {"atr_windows": [5], "volatility_windows": [30, 240]},
        "strategy": {"adaptive": {"atr_window": 5}},  # the default strategy reads one of them
    }
    config = load_config(_write(tmp_path, document))
    assert config.market_facts == MarketFactsConfig(atr_windows=(5,), volatility_windows=(30, 240))
    for value, message in (
        ([], "$.market_facts.atr_windows: must be a non-empty list of integers"),
        ([14, 0], "$.market_facts.atr_windows[1]: must be between 1 and 100000, got 0"),
        ([14, "60"], "$.market_facts.atr_windows[1]: must be an integer, got '60'"),
        ([14, 14], "$.market_facts.atr_windows: must not repeat a value"),
    ):
        with pytest.raises(ConfigError, match=re.escape(message)):
            load_config(_write(tmp_path, {"market_facts": {"atr_windows": value}}))


@pytest.mark.parametrize(
    ("brakes", "message"),
    [
        ({"reduced_at": 0}, "$.brakes.reduced_at: must be > 0"),
        ({"halted_at": 1.5}, "$.brakes.halted_at: must be <= 1"),
        ({"reduce_only_at": 0.2}, "$.brakes.halted_at: thresholds must satisfy"),
        ({"recover_by": 0.05}, "$.brakes.recover_by: must be below reduced_at"),
        ({"hold_minutes": -1}, "$.brakes.hold_minutes: must be between 0 and 525600"),
        ({"reduced_size": 0}, "$.brakes.reduced_size: must be > 0"),
    ],
)
def test_brakes_bounds(tmp_path: Path, brakes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(_write(tmp_path, {"brakes": brakes}))


def test_brakes_and_leverage_guard_defaults() -> None:
    config = load_config(None)
    assert config.brakes.enabled
    assert (config.brakes.reduced_at, config.brakes.reduce_only_at, config.brakes.halted_at) == (
        Decimal("0.05"),
        Decimal("0.10"),
        Decimal("0.15"),
    )
    assert config.risk.reduce_only_over_leverage and not config.risk.reduce_over_leverage


def test_audit_minutes_defaults_to_ten_and_zero_or_null_turns_it_off(tmp_path: Path) -> None:
    assert load_config(_write(tmp_path, {})).exchange.audit_minutes == 10
    for value in (0, None, 1, 1440):
        document = {"exchange": {"audit_minutes": value}}
        assert load_config(_write(tmp_path, document)).exchange.audit_minutes == value
