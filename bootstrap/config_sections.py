"""The sections of the config file: what each one holds and how it is read.

Each section has a frozen dataclass (its defaults are the embedded default configuration)
and a ``read_*`` function that validates the JSON object of that section with a
:class:`~bootstrap.config_reader.ConfigReader`. :func:`bootstrap.config.parse_config` calls
them in file order and assembles the :class:`~bootstrap.config.AppConfig`; import the
dataclasses from :mod:`bootstrap.config`, which re-exports them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Literal, cast

from bootstrap.config_reader import ConfigReader
from domain.client_ids import validate_prefix
from domain.enums import MarketType
from domain.errors import InvalidClientOrderId

_ASSET = re.compile(r"^[A-Z0-9]{1,20}$")
#: Environment variable that overrides ``storage.data_dir`` (a deployment, a container or a
#: test points the bot at another directory without editing the file).
DATA_DIR_ENV = "GRIDBOT_DATA_DIR"
#: ``scheme://user:password@host``: a database URL that carries a password.
_URL_PASSWORD = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/@]*:[^/@]*@")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")

ExchangeKind = Literal["simulated", "binance"]
#: What ``strategy.name`` can select.
UnknownOrderPolicy = Literal["cancel", "adopt"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


@dataclass(frozen=True)
class SimulationConfig:
    """``simulation`` section: the simulated exchange."""

    maker_fee: Decimal | None = None
    taker_fee: Decimal | None = None
    touch_fills: bool = False
    trade_through: Decimal = Decimal(0)
    max_volume_share: Decimal | None = Decimal("0.25")
    leverage: int = 1
    funding_rate: Decimal = Decimal("0.0001")
    funding_file: str | None = None
    latency_ms: int = 0
    reject_probability: Decimal = Decimal(0)
    seed: int = 0


#: Every strategy ``strategy.name`` (and ``backtest.baselines``) can name.
STRATEGY_NAMES = (
    "static_grid",
    "adaptive_grid",
    "volatility_grid",
    "neutral_grid",
    "buy_and_hold",
)
DEFAULT_BASELINES = ("buy_and_hold", "neutral_grid", "volatility_grid", "static_grid")


@dataclass(frozen=True)
class AdaptiveGridConfig:
    """``strategy.adaptive``: the adaptive grid's parameters (used when name is adaptive_grid).

    ``round_trip_fee`` None means twice the market's maker fee (``simulation.maker_fee`` or
    Binance's VIP0 default). Decimal fields that may be null are off when null.
    """

    levels: int = 10
    round_trip_fee: Decimal | None = None
    fee_multiple: Decimal = Decimal(3)
    atr_window: int = 60
    atr_multiple: Decimal = Decimal(4)
    volatility_window: int = 60
    volatility_multiple: Decimal = Decimal(0)
    min_step: Decimal = Decimal(0)
    max_step: Decimal = Decimal("0.05")
    recenter_steps: Decimal = Decimal(5)
    level_fraction: Decimal = Decimal("0.05")
    max_exposure: Decimal = Decimal(1)
    take_profit_steps: Decimal = Decimal(1)
    stop_loss_steps: Decimal | None = None
    stop_loss_fraction: Decimal | None = None
    asymmetry: Decimal = Decimal(0)
    confidence_sizing: Decimal = Decimal(0)
    entry_filter: Decimal | None = None
    proximity_atr: Decimal | None = None
    proximity_pull: Decimal = Decimal("0.5")
    proximity_rearm: Decimal = Decimal("0.3")
    post_only: bool = True
    price_tolerance_steps: Decimal = Decimal("0.1")
    quantity_tolerance: Decimal = Decimal("0.1")
    orders_per_10s: int = 300
    orders_per_minute: int = 1200
    max_modifications: int = 9000


@dataclass(frozen=True)
class StrategyConfig:
    """``strategy`` section: the strategy and the parameters of each kind."""

    name: str = "adaptive_grid"
    levels: int = 10
    spacing: Decimal = Decimal("0.002")
    quote_per_level: Decimal = Decimal("200")
    recenter_threshold: Decimal | None = Decimal("0.01")
    post_only: bool = False
    lines: int = 20
    range_fraction: Decimal = Decimal("0.1")
    lower: Decimal | None = None
    upper: Decimal | None = None
    volatility_multiplier: Decimal = Decimal("1")
    volatility_horizon: int = 60
    volatility_window: int = 1440
    fee_margin: Decimal = Decimal("0.0002")
    adaptive: AdaptiveGridConfig = field(default_factory=AdaptiveGridConfig)


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
    baselines: tuple[str, ...] = DEFAULT_BASELINES


def _absolute(path: str) -> Path:
    """``path`` as an absolute path (``~`` expanded, relative to the working directory)."""
    return Path(path).expanduser().resolve()


@dataclass(frozen=True)
class ExchangeConfig:
    """``exchange`` section: which venue the bot trades on."""

    kind: ExchangeKind = "simulated"
    testnet: bool = True
    base_url: str | None = None
    #: ms a signed request stays valid after its timestamp (Binance's recvWindow, max 60000).
    recv_window: int = 5000
    #: WebSocket base (market streams, futures user data); None = derived from base_url or
    #: Binance's host for the market and testnet setting.
    ws_url: str | None = None
    #: Futures: leverage set on the symbol at start-up, and the margin type.
    leverage: int = 1
    margin_type: Literal["CROSSED", "ISOLATED"] = "CROSSED"
    #: Seconds one exchange call may spend waiting out refusals (429, 418, overload,
    #: lost connections) before the engine carries on without it.
    retry_budget: int = 60
    #: Market minutes between periodic REST audits of the live session (the resync a
    #: reconnect runs); 0 or None: no periodic audit.
    audit_minutes: int | None = 10


@dataclass(frozen=True)
class SignalLearningConfig:
    """``signals.learning``: the weekly walk-forward re-weighting and confidence calibration."""

    enabled: bool = True
    weekday: int = 0
    hour: int = 0
    trailing_weeks: int = 4
    max_step: Decimal = Decimal("0.25")
    purge_minutes: int = 60


@dataclass(frozen=True)
class SignalsConfig:
    """``signals`` section: features, the three systems and the ensemble conviction."""

    enabled: bool = True
    window: int = 1440
    clip: Decimal = Decimal("4")
    horizon: int = 15
    method: Literal["spearman", "pearson"] = "spearman"
    fit_min_samples: int = 1000
    #: Default: ``(learning.trailing_weeks + 1)`` weeks (:func:`default_history_minutes`).
    history_minutes: int = 50_400
    learning: SignalLearningConfig = field(default_factory=SignalLearningConfig)


WEEK_MINUTES = 10_080


def default_history_minutes(trailing_weeks: int) -> int:
    """``signals.history_minutes`` when the config leaves it null: ``trailing_weeks + 1`` weeks.

    The weekly update refits on the ``trailing_weeks`` weeks before the held-out week, and
    its rows are rebuilt at every start from this history: with less, a bot started (or
    restarted) shortly before a boundary has no fit rows and the update is skipped.
    """
    return (trailing_weeks + 1) * WEEK_MINUTES


@dataclass(frozen=True)
class MarketFactsConfig:
    """``market_facts`` section: the price-unit facts a strategy sizes a grid with."""

    atr_windows: tuple[int, ...] = (14, 60)
    volatility_windows: tuple[int, ...] = (60, 1440)


@dataclass(frozen=True)
class ControlConfig:
    """``control`` section: the gRPC control plane served by ``gridbot run``."""

    enabled: bool = True
    #: host:port; ``GRIDBOT_GRPC_ADDRESS`` overrides it.
    address: str = "127.0.0.1:50051"
    #: Serving on a non-loopback address without TLS needs this explicit consent.
    allow_insecure_remote: bool = False
    tls_cert_file: str | None = None
    tls_key_file: str | None = None
    #: Client CA bundle: set it to require client certificates (mutual TLS).
    tls_client_ca_file: str | None = None
    #: File holding the bearer token when ``GRIDBOT_API_TOKEN`` is not set; None = a
    #: random token written to ``<data_dir>/api-token`` (mode 0600) on first start.
    token_file: str | None = None
    #: Telemetry events kept for clients that reconnect.
    telemetry_buffer: int = 10_000


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
    #: Above ``max_leverage`` after the fact (losses), no new entries until back under it.
    reduce_only_over_leverage: bool = True
    #: Also close the excess at market, back to ``max_leverage x (1 - leverage_margin)``.
    reduce_over_leverage: bool = False
    leverage_margin: Decimal = Decimal("0.1")


@dataclass(frozen=True)
class BrakesConfig:
    """``brakes`` section: the drawdown brakes (see :mod:`domain.drawdown_brake`).

    Drawdown is on equity including unrealized PnL, from a journaled peak: ``reduced_at``
    halves (``reduced_size``) new entries, ``reduce_only_at`` stops them, ``halted_at``
    cancels everything, flattens and halts until an operator resumes.
    """

    enabled: bool = True
    reduced_at: Decimal = Decimal("0.05")
    reduce_only_at: Decimal = Decimal("0.10")
    halted_at: Decimal = Decimal("0.15")
    reduced_size: Decimal = Decimal("0.5")
    recover_by: Decimal = Decimal("0.02")
    hold_minutes: int = 240


@dataclass(frozen=True)
class ReconciliationConfig:
    """``reconciliation`` section: what start-up reconciliation does with strangers."""

    unknown_orders: UnknownOrderPolicy = "cancel"


@dataclass(frozen=True)
class ShutdownConfig:
    """``shutdown`` section: what a stop (SIGINT / SIGTERM) does before the process exits."""

    flatten_on_exit: bool = True
    #: Seconds the shutdown's flatten may spend waiting out a down or banning exchange
    #: (5xx, unknown outcomes, 429, a 418 ban) before it exits 4, not flat.
    budget_seconds: int = 300


@dataclass(frozen=True)
class LoggingConfig:
    """``logging`` section: the JSON-lines event log (see ``AppConfig.log_path``)."""

    file: str = "gridbot.log"
    level: LogLevel = "INFO"
    max_bytes: int = 10_485_760
    backups: int = 5
    #: Also print each event as one readable line on stderr (``gridbot run --console``).
    console: bool = False


# ------------------------------------------------------------------------------ readers
def read_bot(root: ConfigReader) -> str:
    """``bot`` section: the client order id prefix."""
    bot = root.section("bot")
    prefix = bot.string("client_order_id_prefix", "gridbot")
    try:
        validate_prefix(prefix)
    except InvalidClientOrderId:
        bot.fail("$.bot.client_order_id_prefix", "must be 1-16 characters of A-Z, a-z, 0-9 or _")
    bot.finish()
    return prefix


def read_market(root: ConfigReader) -> tuple[MarketType, str]:
    """``market`` section: the market type and the symbol."""
    market_section = root.section("market")
    market = MarketType(
        market_section.string("type", "USDM_FUTURES", tuple(m.value for m in MarketType))
    )
    symbol = market_section.string("symbol", "BTCUSDT")
    market_section.finish()
    return market, symbol


def read_account(root: ConfigReader) -> dict[str, Decimal]:
    """``account`` section: the initial balances (10,000 USDT when none is given)."""
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
    return balances


def read_simulation(root: ConfigReader) -> SimulationConfig:
    """``simulation`` section."""
    sim = root.section("simulation")
    simulation = SimulationConfig(
        maker_fee=sim.decimal("maker_fee", None, Decimal(0), Decimal("0.1"), nullable=True),
        taker_fee=sim.decimal("taker_fee", None, Decimal(0), Decimal("0.1"), nullable=True),
        touch_fills=sim.boolean("touch_fills", False),
        trade_through=sim.required_decimal(
            "trade_through", Decimal(0), minimum=Decimal(0), maximum=Decimal("0.01")
        ),
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
    return simulation


def read_strategy(root: ConfigReader) -> StrategyConfig:
    """``strategy`` section."""
    st = root.section("strategy")
    strategy = StrategyConfig(
        name=st.string("name", "adaptive_grid", STRATEGY_NAMES),
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
        lines=st.integer("lines", 20, 2, 500),
        range_fraction=st.required_decimal(
            "range_fraction",
            Decimal("0.1"),
            minimum=Decimal(0),
            maximum=Decimal("0.9"),
            exclusive_min=True,
        ),
        lower=st.decimal("lower", None, Decimal(0), None, exclusive_min=True, nullable=True),
        upper=st.decimal("upper", None, Decimal(0), None, exclusive_min=True, nullable=True),
        volatility_multiplier=st.required_decimal(
            "volatility_multiplier",
            Decimal("1"),
            minimum=Decimal(0),
            maximum=Decimal(100),
            exclusive_min=True,
        ),
        volatility_horizon=st.integer("volatility_horizon", 60, 1, 10_080),
        volatility_window=st.integer("volatility_window", 1440, 2, 100_000),
        fee_margin=st.required_decimal(
            "fee_margin", Decimal("0.0002"), minimum=Decimal(0), maximum=Decimal("0.1")
        ),
        adaptive=read_adaptive_grid(st),
    )
    if (strategy.lower is None) != (strategy.upper is None):
        st.fail("$.strategy.lower", "give both lower and upper (a price range), or neither")
    if (
        strategy.lower is not None
        and strategy.upper is not None
        and strategy.lower >= strategy.upper
    ):
        st.fail("$.strategy.upper", "must be above lower")
    st.finish()
    return strategy


def read_adaptive_grid(st: ConfigReader) -> AdaptiveGridConfig:
    """``strategy.adaptive`` (read whichever strategy is selected, so typos always fail)."""
    ad = st.section("adaptive")
    d = AdaptiveGridConfig()
    zero, one = Decimal(0), Decimal(1)

    def positive(key: str, default: Decimal, maximum: Decimal | None = None) -> Decimal:
        return ad.required_decimal(key, default, minimum=zero, maximum=maximum, exclusive_min=True)

    def optional(key: str, maximum: Decimal | None = None) -> Decimal | None:
        return ad.decimal(key, None, zero, maximum, exclusive_min=True, nullable=True)

    config = AdaptiveGridConfig(
        levels=ad.integer("levels", d.levels, 1, 100),
        round_trip_fee=ad.decimal("round_trip_fee", None, zero, Decimal("0.1"), nullable=True),
        fee_multiple=ad.required_decimal("fee_multiple", d.fee_multiple, minimum=zero),
        atr_window=ad.integer("atr_window", d.atr_window, 1, 100_000),
        atr_multiple=ad.required_decimal("atr_multiple", d.atr_multiple, minimum=zero),
        volatility_window=ad.integer("volatility_window", d.volatility_window, 1, 100_000),
        volatility_multiple=ad.required_decimal(
            "volatility_multiple", d.volatility_multiple, minimum=zero
        ),
        min_step=ad.required_decimal("min_step", d.min_step, minimum=zero, maximum=Decimal("0.5")),
        max_step=positive("max_step", d.max_step, Decimal("0.5")),
        recenter_steps=positive("recenter_steps", d.recenter_steps),
        level_fraction=positive("level_fraction", d.level_fraction, one),
        max_exposure=positive("max_exposure", d.max_exposure, Decimal(125)),
        take_profit_steps=positive("take_profit_steps", d.take_profit_steps),
        stop_loss_steps=optional("stop_loss_steps"),
        stop_loss_fraction=optional("stop_loss_fraction", one),
        asymmetry=ad.required_decimal("asymmetry", d.asymmetry, minimum=zero, maximum=one),
        confidence_sizing=ad.required_decimal(
            "confidence_sizing", d.confidence_sizing, minimum=zero, maximum=one
        ),
        entry_filter=optional("entry_filter", one),
        proximity_atr=optional("proximity_atr"),
        proximity_pull=positive("proximity_pull", d.proximity_pull, one),
        proximity_rearm=ad.required_decimal(
            "proximity_rearm", d.proximity_rearm, minimum=zero, maximum=one
        ),
        post_only=ad.boolean("post_only", d.post_only),
        price_tolerance_steps=ad.required_decimal(
            "price_tolerance_steps", d.price_tolerance_steps, minimum=zero
        ),
        quantity_tolerance=ad.required_decimal(
            "quantity_tolerance", d.quantity_tolerance, minimum=zero, maximum=Decimal("0.99")
        ),
        orders_per_10s=ad.integer("orders_per_10s", d.orders_per_10s, 1),
        orders_per_minute=ad.integer("orders_per_minute", d.orders_per_minute, 1),
        max_modifications=ad.integer("max_modifications", d.max_modifications, 1, 10_000),
    )
    if config.min_step > config.max_step:
        ad.fail(f"{ad.path}.min_step", f"must be <= max_step ({config.max_step})")
    if config.proximity_rearm >= config.proximity_pull:
        ad.fail(
            f"{ad.path}.proximity_rearm",
            f"must be below proximity_pull ({config.proximity_pull}): the hysteresis band",
        )
    ad.finish()
    return config


def read_backtest(root: ConfigReader) -> BacktestConfig:
    """``backtest`` section, with its ``generated`` market."""
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
    backtest = BacktestConfig(
        data=bt.optional_string("data"),
        generated=generated,
        baselines=bt.string_list("baselines", DEFAULT_BASELINES, STRATEGY_NAMES),
    )
    bt.finish()
    return backtest


def read_exchange(root: ConfigReader) -> ExchangeConfig:
    """``exchange`` section."""
    section = root.section("exchange")
    exchange = ExchangeConfig(
        kind=cast(ExchangeKind, section.choice("kind", "simulated", ExchangeKind)),
        testnet=section.boolean("testnet", True),
        base_url=section.url("base_url"),
        recv_window=section.integer("recv_window", 5000, 1, 60_000),
        ws_url=_ws_url(section, "ws_url"),
        leverage=section.integer("leverage", 1, 1, 125),
        margin_type=cast(
            Literal["CROSSED", "ISOLATED"],
            section.string("margin_type", "CROSSED", ("CROSSED", "ISOLATED")),
        ),
        retry_budget=section.integer("retry_budget", 60, 1, 3600),
        audit_minutes=section.optional_integer("audit_minutes", 10, 0, 1440),
    )
    section.finish()
    return exchange


def _ws_url(section: ConfigReader, key: str) -> str | None:
    value = section.optional_string(key)
    if value is not None and not value.startswith(("ws://", "wss://")):
        section.fail(f"{section.path}.{key}", "must start with ws:// or wss://")
    return value


_ADDRESS = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+):(\d{1,5})$")
#: Environment variable that overrides ``control.address``.
GRPC_ADDRESS_ENV = "GRIDBOT_GRPC_ADDRESS"


def read_control(root: ConfigReader, environ: Mapping[str, str]) -> ControlConfig:
    """``control`` section; ``GRIDBOT_GRPC_ADDRESS`` in ``environ`` overrides the address."""
    section = root.section("control")
    address = section.string("address", "127.0.0.1:50051")
    address = environ.get(GRPC_ADDRESS_ENV) or address
    match = _ADDRESS.match(address)
    if match is None or not 0 <= int(match.group(2)) < 65536:
        section.fail(f"{section.path}.address", f"must be host:port, got {address!r}")
    control = ControlConfig(
        enabled=section.boolean("enabled", True),
        address=address,
        allow_insecure_remote=section.boolean("allow_insecure_remote", False),
        tls_cert_file=section.optional_string("tls_cert_file"),
        tls_key_file=section.optional_string("tls_key_file"),
        tls_client_ca_file=section.optional_string("tls_client_ca_file"),
        token_file=section.optional_string("token_file"),
        telemetry_buffer=section.integer("telemetry_buffer", 10_000, 100, 10_000_000),
    )
    if (control.tls_cert_file is None) != (control.tls_key_file is None):
        section.fail(f"{section.path}", "tls_cert_file and tls_key_file go together")
    if control.tls_client_ca_file is not None and control.tls_cert_file is None:
        section.fail(f"{section.path}.tls_client_ca_file", "mutual TLS needs tls_cert_file too")
    section.finish()
    return control


def read_storage(root: ConfigReader, environ: Mapping[str, str]) -> StorageConfig:
    """``storage`` section; ``GRIDBOT_DATA_DIR`` in ``environ`` overrides ``data_dir``."""
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


def read_credentials(root: ConfigReader) -> CredentialsConfig:
    """``credentials`` section."""
    section = root.section("credentials")
    credentials = CredentialsConfig(secrets_file=section.optional_string("secrets_file"))
    section.finish()
    return credentials


def read_risk(root: ConfigReader) -> RiskConfig:
    """``risk`` section."""
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
        reduce_only_over_leverage=section.boolean("reduce_only_over_leverage", True),
        reduce_over_leverage=section.boolean("reduce_over_leverage", False),
        leverage_margin=section.required_decimal(
            "leverage_margin", Decimal("0.1"), minimum=Decimal(0), maximum=Decimal("0.9")
        ),
    )
    section.finish()
    return risk


def read_brakes(root: ConfigReader) -> BrakesConfig:
    """``brakes`` section; the thresholds must rise strictly and stay below 1."""
    section = root.section("brakes")
    fraction: dict[str, object] = {
        "minimum": Decimal(0),
        "maximum": Decimal(1),
        "exclusive_min": True,
    }
    brakes = BrakesConfig(
        enabled=section.boolean("enabled", True),
        reduced_at=section.required_decimal("reduced_at", Decimal("0.05"), **fraction),
        reduce_only_at=section.required_decimal("reduce_only_at", Decimal("0.10"), **fraction),
        halted_at=section.required_decimal("halted_at", Decimal("0.15"), **fraction),
        reduced_size=section.required_decimal("reduced_size", Decimal("0.5"), **fraction),
        recover_by=section.required_decimal(
            "recover_by", Decimal("0.02"), minimum=Decimal(0), maximum=Decimal(1)
        ),
        hold_minutes=section.integer("hold_minutes", 240, 0, 525_600),
    )
    if not brakes.reduced_at < brakes.reduce_only_at < brakes.halted_at < 1:
        section.fail(
            f"{section.path}.halted_at",
            "thresholds must satisfy reduced_at < reduce_only_at < halted_at < 1",
        )
    if brakes.recover_by >= brakes.reduced_at:
        section.fail(f"{section.path}.recover_by", "must be below reduced_at")
    section.finish()
    return brakes


def read_reconciliation(root: ConfigReader) -> ReconciliationConfig:
    """``reconciliation`` section."""
    section = root.section("reconciliation")
    policy = section.choice("unknown_orders", "cancel", UnknownOrderPolicy)
    section.finish()
    return ReconciliationConfig(unknown_orders=cast(UnknownOrderPolicy, policy))


def read_shutdown(root: ConfigReader) -> ShutdownConfig:
    """``shutdown`` section."""
    section = root.section("shutdown")
    shutdown = ShutdownConfig(
        flatten_on_exit=section.boolean("flatten_on_exit", True),
        budget_seconds=section.integer("budget_seconds", 300, 1, 86_400),
    )
    section.finish()
    return shutdown


def read_logging(root: ConfigReader) -> LoggingConfig:
    """``logging`` section."""
    section = root.section("logging")
    logging = LoggingConfig(
        file=section.string("file", "gridbot.log"),
        level=cast(LogLevel, section.choice("level", "INFO", LogLevel)),
        max_bytes=section.integer("max_bytes", 10_485_760, 1024),
        backups=section.integer("backups", 5, 0, 100),
        console=section.boolean("console", False),
    )
    section.finish()
    return logging


def read_signals(root: ConfigReader) -> SignalsConfig:
    """``signals`` section."""
    section = root.section("signals")
    signals = SignalsConfig(
        enabled=section.boolean("enabled", True),
        window=section.integer("window", 1440, 20, 100_000),
        clip=section.required_decimal(
            "clip", Decimal("4"), minimum=Decimal("0.5"), maximum=Decimal("100")
        ),
        horizon=section.integer("horizon", 15, 1, 1440),
        method=cast(
            Literal["spearman", "pearson"],
            section.string("method", "spearman", ("spearman", "pearson")),
        ),
        fit_min_samples=section.integer("fit_min_samples", 1000, 10, 10_000_000),
        history_minutes=0,
        learning=read_signal_learning(section),
    )
    history = section.optional_integer("history_minutes", None, 0, 525_600)
    if history is None:
        history = default_history_minutes(signals.learning.trailing_weeks)
    signals = replace(signals, history_minutes=history)
    if signals.learning.purge_minutes < signals.horizon:
        section.fail(
            f"{section.path}.learning.purge_minutes",
            f"must be at least the horizon ({signals.horizon} minutes)",
        )
    section.finish()
    return signals


def read_signal_learning(section: ConfigReader) -> SignalLearningConfig:
    """``signals.learning`` (read even when learning is off, so typos always fail)."""
    le = section.section("learning")
    d = SignalLearningConfig()
    config = SignalLearningConfig(
        enabled=le.boolean("enabled", d.enabled),
        weekday=le.integer("weekday", d.weekday, 0, 6),
        hour=le.integer("hour", d.hour, 0, 23),
        trailing_weeks=le.integer("trailing_weeks", d.trailing_weeks, 1, 12),
        max_step=le.required_decimal(
            "max_step", d.max_step, minimum=Decimal(0), maximum=Decimal(1), exclusive_min=True
        ),
        purge_minutes=le.integer("purge_minutes", d.purge_minutes, 1, 10_080),
    )
    le.finish()
    return config


def read_market_facts(root: ConfigReader) -> MarketFactsConfig:
    """``market_facts`` section."""
    section = root.section("market_facts")
    facts = MarketFactsConfig(
        atr_windows=section.integer_list("atr_windows", (14, 60), 1, 100_000),
        volatility_windows=section.integer_list("volatility_windows", (60, 1440), 1, 100_000),
    )
    section.finish()
    return facts
