"""JSON configuration: loading, validation and the embedded default.

Every value is checked on load. Unknown keys, wrong types and out-of-range values produce one
:class:`ConfigError` naming the file and the JSON path (``$.strategy.levels``); the CLI turns
it into a message and exit code 2. Numbers are parsed as Decimal straight from the JSON text,
so ``0.002`` in the file is exactly 0.002 (strings such as ``"0.002"`` are accepted too).

Keys named ``_comment`` are ignored at every level, so the file can document itself
(``config/config.template.json`` documents every option that way). Secrets never live here:
a key such as ``api_key`` or ``password`` anywhere in the document is rejected, because a
config file gets copied, committed and pasted into bug reports; the API key and secret come
from the environment or from ``credentials.secrets_file`` (see :mod:`bootstrap.secrets`).

Relative paths (``storage.data_dir``, ``backtest.data``, ...) are relative to the working
directory, like every path given on the command line; ``logging.file`` is relative to the
data directory.

Layout: this module is the entry point (:func:`load_config`, :func:`parse_config`,
:class:`AppConfig`) and re-exports everything callers need; the per-section dataclasses and
their readers are in :mod:`bootstrap.config_sections`, the type-checked JSON walking in
:mod:`bootstrap.config_reader`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from bootstrap.config_calendar import CalendarConfig, read_calendar
from bootstrap.config_reader import ConfigError, ConfigReader
from bootstrap.config_sections import (
    DATA_DIR_ENV,
    GRPC_ADDRESS_ENV,
    AdaptiveGridConfig,
    BacktestConfig,
    BrakesConfig,
    ControlConfig,
    CredentialsConfig,
    ExchangeConfig,
    ExchangeKind,
    GeneratedMarketConfig,
    LoggingConfig,
    LogLevel,
    MarketFactsConfig,
    ReconciliationConfig,
    RiskConfig,
    ShutdownConfig,
    SignalLearningConfig,
    SignalsConfig,
    SimulationConfig,
    StorageConfig,
    StrategyConfig,
    UnknownOrderPolicy,
    read_account,
    read_backtest,
    read_bot,
    read_brakes,
    read_control,
    read_credentials,
    read_exchange,
    read_logging,
    read_market,
    read_market_facts,
    read_reconciliation,
    read_risk,
    read_shutdown,
    read_signals,
    read_simulation,
    read_storage,
    read_strategy,
)
from domain.enums import MarketType

__all__ = [
    "DATA_DIR_ENV",
    "GRPC_ADDRESS_ENV",
    "SECRET_KEYS",
    "AdaptiveGridConfig",
    "AppConfig",
    "BacktestConfig",
    "BrakesConfig",
    "CalendarConfig",
    "ConfigError",
    "ControlConfig",
    "CredentialsConfig",
    "ExchangeConfig",
    "ExchangeKind",
    "GeneratedMarketConfig",
    "LogLevel",
    "LoggingConfig",
    "MarketFactsConfig",
    "ReconciliationConfig",
    "RiskConfig",
    "ShutdownConfig",
    "SignalLearningConfig",
    "SignalsConfig",
    "SimulationConfig",
    "StorageConfig",
    "StrategyConfig",
    "UnknownOrderPolicy",
    "database_url",
    "load_config",
    "parse_config",
]

#: Key names that would hold a secret (compared case-insensitively, ``-`` read as ``_``).
SECRET_KEYS = frozenset(
    {
        "api_key",
        "apikey",
        "api_secret",
        "apisecret",
        "secret",
        "secret_key",
        "password",
        "passwd",
        "binance_api_key",
        "binance_api_secret",
    }
)


@dataclass(frozen=True)
class AppConfig:
    """The whole configuration."""

    source: str
    client_order_id_prefix: str = "gridbot"
    market: MarketType = MarketType.USDM_FUTURES
    symbol: str = "BTCUSDT"
    initial_balances: dict[str, Decimal] = field(default_factory=lambda: {"USDT": Decimal("10000")})
    simulation: SimulationConfig = field(default_factory=SimulationConfig)
    strategy: StrategyConfig = field(default_factory=StrategyConfig)
    backtest: BacktestConfig = field(default_factory=BacktestConfig)
    exchange: ExchangeConfig = field(default_factory=ExchangeConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    credentials: CredentialsConfig = field(default_factory=CredentialsConfig)
    risk: RiskConfig = field(default_factory=RiskConfig)
    brakes: BrakesConfig = field(default_factory=BrakesConfig)
    reconciliation: ReconciliationConfig = field(default_factory=ReconciliationConfig)
    shutdown: ShutdownConfig = field(default_factory=ShutdownConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    control: ControlConfig = field(default_factory=ControlConfig)
    signals: SignalsConfig = field(default_factory=SignalsConfig)
    market_facts: MarketFactsConfig = field(default_factory=MarketFactsConfig)
    calendar: CalendarConfig = field(default_factory=CalendarConfig)

    @property
    def database_url_resolved(self) -> str:
        """``storage.database_url``, or the SQLite file ``gridbot.db`` in the data directory."""
        if self.storage.database_url is not None:
            return self.storage.database_url
        return f"sqlite:///{self.storage.data_dir / 'gridbot.db'}"

    @property
    def log_path(self) -> Path:
        """The event log file: ``logging.file``, relative paths inside the data directory."""
        return self.storage.data_dir / Path(self.logging.file).expanduser()


def database_url(config: AppConfig) -> str:
    """The database URL to open (see :attr:`AppConfig.database_url_resolved`)."""
    return config.database_url_resolved


# --------------------------------------------------------------------------- validation
def _reject_secrets(source: str, path: str, data: Any) -> None:
    """Fail on the first key anywhere in ``data`` that would hold a secret.

    Runs before any other check so that a secret gets this message (and not "unknown key",
    which would invite moving it to a key that is known). The value is never echoed.
    """
    if isinstance(data, dict):
        for key, value in data.items():
            child = f"{path}.{key}"
            if str(key).lower().replace("-", "_") in SECRET_KEYS:
                raise ConfigError(
                    f"{source}: {child}: secrets never go in the config file; set "
                    "BINANCE_API_KEY and BINANCE_API_SECRET in the environment or point "
                    "$.credentials.secrets_file at a file that holds them"
                )
            _reject_secrets(source, child, value)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            _reject_secrets(source, f"{path}[{index}]", value)


def parse_config(data: Any, source: str, environ: Mapping[str, str] | None = None) -> AppConfig:
    """Validate a parsed JSON document into an :class:`AppConfig`.

    Args:
        data: The parsed JSON document.
        source: Where it came from, for error messages (a file name).
        environ: Environment for overrides (``GRIDBOT_DATA_DIR``); default ``os.environ``.

    Raises:
        ConfigError: The first problem found, with its JSON path.
    """
    environ = os.environ if environ is None else environ
    _reject_secrets(source, "$", data)
    root = ConfigReader(source, "$", data)
    # File order; it decides which problem is reported when there are several.
    prefix = read_bot(root)
    market, symbol = read_market(root)
    balances = read_account(root)
    simulation = read_simulation(root)
    strategy = read_strategy(root)
    backtest = read_backtest(root)
    exchange = read_exchange(root)
    storage = read_storage(root, environ)
    credentials = read_credentials(root)
    risk = read_risk(root)
    brakes = read_brakes(root)
    reconciliation = read_reconciliation(root)
    shutdown = read_shutdown(root)
    logging = read_logging(root)
    control = read_control(root, environ)
    signals = read_signals(root)
    market_facts = read_market_facts(root)
    calendar = read_calendar(root)
    root.finish()
    _check_adaptive_windows(source, strategy, market_facts)
    return AppConfig(
        source=source,
        client_order_id_prefix=prefix,
        market=market,
        symbol=symbol,
        initial_balances=balances,
        simulation=simulation,
        strategy=strategy,
        backtest=backtest,
        exchange=exchange,
        storage=storage,
        credentials=credentials,
        risk=risk,
        brakes=brakes,
        reconciliation=reconciliation,
        shutdown=shutdown,
        logging=logging,
        control=control,
        signals=signals,
        market_facts=market_facts,
        calendar=calendar,
    )


def _check_adaptive_windows(
    source: str, strategy: StrategyConfig, facts: MarketFactsConfig
) -> None:
    """The adaptive grid reads its ATR / volatility windows from the market facts."""
    if strategy.name != "adaptive_grid":
        return
    ad = strategy.adaptive
    if ad.atr_window not in facts.atr_windows:
        raise ConfigError(
            f"{source}: $.strategy.adaptive.atr_window: {ad.atr_window} is not one of "
            f"$.market_facts.atr_windows {list(facts.atr_windows)}"
        )
    if ad.volatility_multiple and ad.volatility_window not in facts.volatility_windows:
        raise ConfigError(
            f"{source}: $.strategy.adaptive.volatility_window: {ad.volatility_window} is not "
            f"one of $.market_facts.volatility_windows {list(facts.volatility_windows)}"
        )


class _DuplicateKey(ValueError):
    pass


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def load_config(path: str | Path | None, environ: Mapping[str, str] | None = None) -> AppConfig:
    """Load and validate a JSON config file; ``None`` gives the embedded default.

    ``environ`` (default ``os.environ``) supplies ``GRIDBOT_DATA_DIR``.

    Raises:
        ConfigError: Unreadable file, invalid JSON (with line and column), or invalid values.
    """
    if path is None:
        return parse_config({}, "<embedded default>", environ)
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read config: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: config is not valid UTF-8 (byte offset {exc.start})") from exc
    try:
        data = json.loads(text, parse_float=Decimal, object_pairs_hook=_reject_duplicates)
    except _DuplicateKey as exc:
        raise ConfigError(f"{p}: key {exc} appears twice in one object") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{p}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc
    return parse_config(data, str(p), environ)
