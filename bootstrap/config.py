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
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal, cast, get_args

from domain.client_ids import validate_prefix
from domain.enums import MarketType
from domain.errors import InvalidClientOrderId

_ASSET = re.compile(r"^[A-Z0-9]{1,20}$")
#: Environment variable that overrides ``storage.data_dir`` (a deployment, a container or a
#: test points the bot at another directory without editing the file).
DATA_DIR_ENV = "GRIDBOT_DATA_DIR"
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
#: ``scheme://user:password@host``: a database URL that carries a password.
_URL_PASSWORD = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/@]*:[^/@]*@")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")

ExchangeKind = Literal["simulated", "binance"]
UnknownOrderPolicy = Literal["cancel", "adopt"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class ConfigError(ValueError):
    """The configuration is invalid; the message names the file and the JSON path."""


@dataclass(frozen=True)
class SimulationConfig:
    """``simulation`` section: the simulated exchange."""

    maker_fee: Decimal | None = None
    taker_fee: Decimal | None = None
    touch_fills: bool = False
    max_volume_share: Decimal | None = Decimal("0.25")
    leverage: int = 1
    funding_rate: Decimal = Decimal("0.0001")
    funding_file: str | None = None
    latency_ms: int = 0
    reject_probability: Decimal = Decimal(0)
    seed: int = 0


@dataclass(frozen=True)
class StrategyConfig:
    """``strategy`` section."""

    name: str = "static_grid"
    levels: int = 10
    spacing: Decimal = Decimal("0.002")
    quote_per_level: Decimal = Decimal("200")
    recenter_threshold: Decimal | None = Decimal("0.01")
    post_only: bool = False


@dataclass(frozen=True)
class GeneratedMarketConfig:
    """``backtest.generated``: the built-in market used when no data file is given."""

    minutes: int = 43_200
    seed: int = 7
    start_price: Decimal = Decimal("42000")
    start_open_time: int = 1_704_067_200_000


@dataclass(frozen=True)
class BacktestConfig:
    """``backtest`` section."""

    data: str | None = None
    generated: GeneratedMarketConfig = field(default_factory=GeneratedMarketConfig)


def _absolute(path: str) -> Path:
    """``path`` as an absolute path (``~`` expanded, relative to the working directory)."""
    return Path(path).expanduser().resolve()


@dataclass(frozen=True)
class ExchangeConfig:
    """``exchange`` section: which venue the bot trades on."""

    kind: ExchangeKind = "simulated"
    testnet: bool = True
    base_url: str | None = None


@dataclass(frozen=True)
class StorageConfig:
    """``storage`` section: where the database and the logs live.

    ``data_dir`` is already absolute (and already has ``GRIDBOT_DATA_DIR`` applied), so
    nothing downstream depends on the working directory at the time it opens a file.
    """

    data_dir: Path = field(default_factory=lambda: _absolute("data"))
    database_url: str | None = None


@dataclass(frozen=True)
class CredentialsConfig:
    """``credentials`` section: where the API key and secret come from (never the values)."""

    secrets_file: str | None = None


@dataclass(frozen=True)
class RiskConfig:
    """``risk`` section: limits every order is checked against before it leaves."""

    max_leverage: Decimal = Decimal("3")
    max_position_notional: Decimal | None = None
    max_open_orders: int | None = 50
    price_band: Decimal | None = Decimal("0.05")
    kill_switch: bool = False


@dataclass(frozen=True)
class ReconciliationConfig:
    """``reconciliation`` section: what start-up reconciliation does with strangers."""

    unknown_orders: UnknownOrderPolicy = "cancel"


@dataclass(frozen=True)
class LoggingConfig:
    """``logging`` section: the JSON-lines event log (see :meth:`AppConfig.log_path`)."""

    file: str = "gridbot.log"
    level: LogLevel = "INFO"
    max_bytes: int = 10_485_760
    backups: int = 5


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
    reconciliation: ReconciliationConfig = field(default_factory=ReconciliationConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)

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
class _Reader:
    """Walks one JSON object, type-checking values and remembering which keys were read."""

    def __init__(self, source: str, path: str, data: Any) -> None:
        self.source = source
        self.path = path
        if not isinstance(data, dict):
            self.fail(path, "must be an object")
        self.data: dict[str, Any] = data
        self.seen: set[str] = set()

    def fail(self, path: str, message: str) -> None:
        raise ConfigError(f"{self.source}: {path}: {message}")

    def _get(self, key: str) -> tuple[bool, Any, str]:
        self.seen.add(key)
        return key in self.data, self.data.get(key), f"{self.path}.{key}"

    def section(self, key: str) -> _Reader:
        present, value, path = self._get(key)
        return _Reader(self.source, path, value if present else {})

    def string(self, key: str, default: str, choices: tuple[str, ...] = ()) -> str:
        present, value, path = self._get(key)
        if not present:
            return default
        if not isinstance(value, str) or not value:
            self.fail(path, "must be a non-empty string")
        if choices and value not in choices:
            self.fail(path, f"must be one of {', '.join(choices)}, got {value!r}")
        return str(value)

    def optional_string(self, key: str) -> str | None:
        present, value, path = self._get(key)
        if not present or value is None:
            return None
        if not isinstance(value, str) or not value:
            self.fail(path, "must be a non-empty string or null")
        return str(value)

    def boolean(self, key: str, default: bool) -> bool:
        present, value, path = self._get(key)
        if not present:
            return default
        if not isinstance(value, bool):
            self.fail(path, "must be true or false")
        return bool(value)

    def integer(
        self,
        key: str,
        default: int,
        minimum: int,
        maximum: int | None = None,
        nullable: bool = False,
    ) -> int:
        present, value, path = self._get(key)
        if not present:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, "must be an integer" + (" or null" if nullable else ""))
        if value < minimum or (maximum is not None and value > maximum):
            bound = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}"
            self.fail(path, f"must be {bound}, got {value}")
        return int(value)

    def optional_integer(
        self, key: str, default: int | None, minimum: int, maximum: int | None = None
    ) -> int | None:
        if key not in self.data:
            self.seen.add(key)
            return default
        if self.data[key] is None:
            self.seen.add(key)
            return None
        return self.integer(key, minimum, minimum, maximum, nullable=True)

    def url(self, key: str) -> str | None:
        """An optional ``http://`` or ``https://`` URL."""
        value = self.optional_string(key)
        if value is not None and not value.startswith(("http://", "https://")):
            self.fail(f"{self.path}.{key}", "must start with http:// or https://")
        return value

    def decimal(
        self,
        key: str,
        default: Decimal | None,
        minimum: Decimal | None = None,
        maximum: Decimal | None = None,
        exclusive_min: bool = False,
        nullable: bool = False,
    ) -> Decimal | None:
        present, value, path = self._get(key)
        if not present:
            return default
        if value is None and nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, str, Decimal)):
            self.fail(path, "must be a number" + (" or null" if nullable else ""))
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            self.fail(path, f"must be a number, got {value!r}")
        if not number.is_finite():
            self.fail(path, f"must be a finite number, got {value!r}")
        if minimum is not None and (number <= minimum if exclusive_min else number < minimum):
            self.fail(path, f"must be {'>' if exclusive_min else '>='} {minimum}, got {number}")
        if maximum is not None and number > maximum:
            self.fail(path, f"must be <= {maximum}, got {number}")
        return number

    def required_decimal(self, key: str, default: Decimal, **bounds: Any) -> Decimal:
        value = self.decimal(key, default, **bounds)
        assert value is not None
        return value

    def choice(self, key: str, default: str, choices: Any) -> Any:
        """A string restricted to the members of a ``Literal`` type (returned as that type)."""
        return self.string(key, default, get_args(choices))

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.seen - {"_comment"})
        if unknown:
            self.fail(f"{self.path}.{unknown[0]}", "unknown key")


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


def _storage(root: _Reader, environ: Mapping[str, str]) -> StorageConfig:
    section = root.section("storage")
    data_dir = section.string("data_dir", "data")
    override = environ.get(DATA_DIR_ENV, "")
    database = section.optional_string("database_url")
    if database is not None:
        if not _URL.match(database):
            section.fail(
                "$.storage.database_url",
                "must be a database URL such as sqlite:///path/gridbot.db or "
                "postgresql+psycopg://user@host/db",
            )
        if _URL_PASSWORD.match(database):
            # Same rule as the API secret: the URL would end up in logs and bug reports.
            section.fail(
                "$.storage.database_url",
                "secrets never go in the config file; leave the password out of the URL and "
                "set PGPASSWORD (or use ~/.pgpass)",
            )
    section.finish()
    return StorageConfig(data_dir=_absolute(override or data_dir), database_url=database)


def _risk(root: _Reader) -> RiskConfig:
    section = root.section("risk")
    risk = RiskConfig(
        max_leverage=section.required_decimal(
            "max_leverage",
            Decimal("3"),
            minimum=Decimal(0),
            maximum=Decimal(125),
            exclusive_min=True,
        ),
        max_position_notional=section.decimal(
            "max_position_notional", None, Decimal(0), exclusive_min=True, nullable=True
        ),
        max_open_orders=section.optional_integer("max_open_orders", 50, 1, 200),
        price_band=section.decimal(
            "price_band",
            Decimal("0.05"),
            Decimal(0),
            Decimal(1),
            exclusive_min=True,
            nullable=True,
        ),
        kill_switch=section.boolean("kill_switch", False),
    )
    section.finish()
    return risk


def _exchange(root: _Reader) -> ExchangeConfig:
    section = root.section("exchange")
    exchange = ExchangeConfig(
        kind=cast(ExchangeKind, section.choice("kind", "simulated", ExchangeKind)),
        testnet=section.boolean("testnet", True),
        base_url=section.url("base_url"),
    )
    section.finish()
    return exchange


def _credentials(root: _Reader) -> CredentialsConfig:
    section = root.section("credentials")
    credentials = CredentialsConfig(secrets_file=section.optional_string("secrets_file"))
    section.finish()
    return credentials


def _reconciliation(root: _Reader) -> ReconciliationConfig:
    section = root.section("reconciliation")
    policy = section.choice("unknown_orders", "cancel", UnknownOrderPolicy)
    section.finish()
    return ReconciliationConfig(unknown_orders=cast(UnknownOrderPolicy, policy))


def _logging(root: _Reader) -> LoggingConfig:
    section = root.section("logging")
    logging = LoggingConfig(
        file=section.string("file", "gridbot.log"),
        level=cast(LogLevel, section.choice("level", "INFO", LogLevel)),
        max_bytes=section.integer("max_bytes", 10_485_760, 1024),
        backups=section.integer("backups", 5, 0, 100),
    )
    section.finish()
    return logging


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
    root = _Reader(source, "$", data)
    bot = root.section("bot")
    prefix = bot.string("client_order_id_prefix", "gridbot")
    try:
        validate_prefix(prefix)
    except InvalidClientOrderId:
        bot.fail("$.bot.client_order_id_prefix", "must be 1-16 characters of A-Z, a-z, 0-9 or _")
    bot.finish()

    market_section = root.section("market")
    market = MarketType(
        market_section.string("type", "USDM_FUTURES", tuple(m.value for m in MarketType))
    )
    symbol = market_section.string("symbol", "BTCUSDT")
    market_section.finish()

    account = root.section("account")
    balances_section = account.section("initial_balances")
    balances: dict[str, Decimal] = {}
    for asset in list(balances_section.data):
        if asset == "_comment":
            continue
        if not _ASSET.match(asset):
            balances_section.fail(
                f"$.account.initial_balances.{asset}", "asset must be 1-20 characters of A-Z, 0-9"
            )
        value = balances_section.decimal(asset, None, minimum=Decimal(0))
        assert value is not None
        balances[asset] = value
    balances_section.finish()
    if not balances:
        balances = {"USDT": Decimal("10000")}
    account.finish()

    sim = root.section("simulation")
    simulation = SimulationConfig(
        maker_fee=sim.decimal("maker_fee", None, Decimal(0), Decimal("0.1"), nullable=True),
        taker_fee=sim.decimal("taker_fee", None, Decimal(0), Decimal("0.1"), nullable=True),
        touch_fills=sim.boolean("touch_fills", False),
        max_volume_share=sim.decimal(
            "max_volume_share",
            Decimal("0.25"),
            Decimal(0),
            Decimal(1),
            exclusive_min=True,
            nullable=True,
        ),
        leverage=sim.integer("leverage", 1, 1, 125),
        funding_rate=sim.required_decimal(
            "funding_rate", Decimal("0.0001"), minimum=Decimal("-0.1"), maximum=Decimal("0.1")
        ),
        funding_file=sim.optional_string("funding_file"),
        latency_ms=sim.integer("latency_ms", 0, 0, 600_000),
        reject_probability=sim.required_decimal(
            "reject_probability", Decimal(0), minimum=Decimal(0), maximum=Decimal(1)
        ),
        seed=sim.integer("seed", 0, 0),
    )
    sim.finish()

    st = root.section("strategy")
    strategy = StrategyConfig(
        name=st.string("name", "static_grid", ("static_grid",)),
        levels=st.integer("levels", 10, 1, 100),
        spacing=st.required_decimal(
            "spacing",
            Decimal("0.002"),
            minimum=Decimal(0),
            maximum=Decimal("0.5"),
            exclusive_min=True,
        ),
        quote_per_level=st.required_decimal(
            "quote_per_level", Decimal("200"), minimum=Decimal(0), exclusive_min=True
        ),
        recenter_threshold=st.decimal(
            "recenter_threshold",
            Decimal("0.01"),
            Decimal(0),
            Decimal(1),
            exclusive_min=True,
            nullable=True,
        ),
        post_only=st.boolean("post_only", False),
    )
    st.finish()

    bt = root.section("backtest")
    gen = bt.section("generated")
    generated = GeneratedMarketConfig(
        minutes=gen.integer("minutes", 43_200, 1, 5_000_000),
        seed=gen.integer("seed", 7, 0),
        start_price=gen.required_decimal(
            "start_price", Decimal("42000"), minimum=Decimal(0), exclusive_min=True
        ),
        start_open_time=gen.integer("start_open_time", 1_704_067_200_000, 0),
    )
    if generated.start_open_time % 60_000:
        gen.fail("$.backtest.generated.start_open_time", "must be on a minute boundary (ms)")
    gen.finish()
    backtest = BacktestConfig(data=bt.optional_string("data"), generated=generated)
    bt.finish()

    exchange = _exchange(root)
    storage = _storage(root, environ)
    credentials = _credentials(root)
    risk = _risk(root)
    reconciliation = _reconciliation(root)
    logging = _logging(root)
    root.finish()
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
        reconciliation=reconciliation,
        logging=logging,
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
