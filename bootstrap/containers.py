"""The composition root: which adapter serves which port, for each way of running the bot.

Nothing outside ``bootstrap/`` chooses an implementation, and the configuration chooses
here: :class:`DecisionContainer` picks the strategy by ``strategy.name`` and builds the
pre-trade risk; both ways of running the bot use it.

* :class:`BacktestContainer` (``gridbot backtest``) wires the simulated exchange (which is
  also its clock), a candle source (a kline file or the built-in generated market), the
  in-memory repository and a counting event sink around the execution service.
* :class:`LiveContainer` (``gridbot run``, live and paper) picks the venue by
  ``exchange.kind`` (:mod:`bootstrap.venues`) and wires the journal, the event log,
  telemetry, the signal, the crash-safe session, the engine and its input loop.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from dependency_injector import containers, providers

from adapters.live_runtime.engine_inputs import QueuedInputs
from adapters.live_runtime.engine_loop import EngineGateway, EngineLoop
from adapters.live_runtime.loop_thread import LoopThread
from adapters.logging.console import HumanConsoleSink
from adapters.logging.jsonl_sink import JsonLinesSink
from adapters.logging.telemetry_sink import TelemetrySink
from adapters.memory.repository import InMemoryOrderRepository
from adapters.memory.sinks import CountingSink
from adapters.persistence.factory import open_journal
from adapters.persistence.repository import SqlJournal
from adapters.simulated.exchange import SimulatedExchange
from application.backtest import BacktestRunner
from application.brakes import BrakeGate
from application.calendar_events import CalendarEvents
from application.execution import ExecutionService
from application.live_engine import EngineIdentity, LiveEngine
from application.peeked_candles import PeekedCandles
from application.ports.event_sink import EventSink
from application.ports.venue import LiveVenue
from application.reconciliation import UnknownOrderPolicy
from application.run_record import RunRecorder
from application.session import TradingSession
from application.signals import SignalSettings, SignalTracker, signal_tracker
from application.telemetry import FanOutSink, TelemetryHub
from bootstrap.config import AppConfig
from bootstrap.control_plane import config_json
from bootstrap.instruments import builtin_instrument
from bootstrap.secrets import Credentials
from bootstrap.simulation import DataMismatch, candle_source, simulation_settings
from bootstrap.venues import binance_venue, paper_venue
from domain.account import AccountProjection
from domain.baselines.buy_and_hold import BuyAndHold
from domain.calendar import CmeGridOverlay, CmeSchedule
from domain.candles import Candle
from domain.client_ids import ClientOrderIdSequence
from domain.drawdown_brake import BrakeSettings
from domain.grid.adaptive_grid import AdaptiveGrid
from domain.grid.adaptive_params import AdaptiveGridParams
from domain.grid.neutral_grid import NeutralGrid, NeutralGridParams
from domain.grid.static_grid import StaticGrid, StaticGridParams
from domain.grid.volatility_grid import VolatilityGrid, VolatilityGridParams
from domain.instruments import Instrument
from domain.leverage_guard import LeverageGuard
from domain.market_facts import MarketFacts, MarketFactsSettings
from domain.risk import PreTradeRisk, RiskLimits
from domain.signals.learning import LearningSettings
from domain.strategy import Strategy

__all__ = [
    "BACKTEST_RETENTION",
    "STRATEGIES",
    "BacktestContainer",
    "DataMismatch",
    "DecisionContainer",
    "EmptyAccount",
    "LiveContainer",
    "PeekedCandles",
    "candle_source",
    "simulation_settings",
    "strategy_named",
]

ZERO = Decimal(0)
#: One equity point per hour of market time in the journal of a live or paper run.
EQUITY_EVERY_MS = 3_600_000
#: Closed orders and fills a backtest keeps in memory (the report needs none of them; tests
#: and short runs see everything, a year of high churn stays within a bounded footprint).
BACKTEST_RETENTION = 50_000


class EmptyAccount(ValueError):
    """The configured balances hold nothing the instrument can trade with."""


def account_projection(
    config: AppConfig, instrument: Instrument, candles: PeekedCandles
) -> AccountProjection:
    """The bot's starting account: quote cash plus any base holding priced at the first open."""
    balances = config.initial_balances
    cash = balances.get(instrument.quote_asset, ZERO)
    base = ZERO if instrument.market.is_futures else balances.get(instrument.base_asset, ZERO)
    price = candles.first.open if candles.first is not None else ZERO
    if not cash and not base:
        raise EmptyAccount(
            f"{config.source}: $.account.initial_balances: no {instrument.quote_asset}"
            + ("" if instrument.market.is_futures else f" or {instrument.base_asset}")
            + f" to trade {instrument.symbol} with"
        )
    return AccountProjection(instrument, cash, base, price)


def pre_trade_risk(config: AppConfig, instrument: Instrument) -> PreTradeRisk:
    """The configured pre-trade limits for ``instrument``."""
    risk = config.risk
    limits = RiskLimits(
        max_leverage=risk.max_leverage,
        max_position_notional=risk.max_position_notional,
        max_open_orders=risk.max_open_orders,
        price_band=risk.price_band,
        kill_switch=risk.kill_switch,
    )
    return PreTradeRisk(limits, instrument)


def brake_gate(config: AppConfig, instrument: Instrument, sink: EventSink) -> BrakeGate | None:
    """The drawdown brakes and the after-the-fact leverage guard (``brakes``, ``risk``)."""
    brakes = config.brakes
    risk = config.risk
    settings = None
    if brakes.enabled:
        settings = BrakeSettings(
            reduced_at=brakes.reduced_at,
            reduce_only_at=brakes.reduce_only_at,
            halted_at=brakes.halted_at,
            reduced_size=brakes.reduced_size,
            recover_by=brakes.recover_by,
            hold_ms=brakes.hold_minutes * 60_000,
        )
    guard = None
    if risk.reduce_only_over_leverage or risk.reduce_over_leverage:
        guard = LeverageGuard(risk.max_leverage, risk.reduce_over_leverage, risk.leverage_margin)
    if settings is None and guard is None:
        return None
    return BrakeGate(instrument, sink, settings, guard, risk.reduce_only_over_leverage)


def static_grid(config: AppConfig) -> StaticGrid:
    """The configured strategy."""
    st = config.strategy
    params = StaticGridParams(
        levels=st.levels,
        spacing=st.spacing,
        quote_per_level=st.quote_per_level,
        recenter_threshold=st.recenter_threshold,
        post_only=st.post_only,
    )
    return StaticGrid(config.symbol, params)


def adaptive_grid(config: AppConfig) -> AdaptiveGrid:
    """The adaptive grid from ``strategy.adaptive``.

    The round-trip fee defaults to twice the maker fee the simulation charges (Binance's
    VIP0 rate for the market unless ``simulation.maker_fee`` says otherwise).
    """
    ad = config.strategy.adaptive
    fee = ad.round_trip_fee
    if fee is None:
        fee = 2 * simulation_settings(config).fees_for(config.market)[0]
    params = AdaptiveGridParams(
        levels=ad.levels,
        round_trip_fee=fee,
        fee_multiple=ad.fee_multiple,
        atr_window=ad.atr_window,
        atr_multiple=ad.atr_multiple,
        volatility_window=ad.volatility_window,
        volatility_multiple=ad.volatility_multiple,
        min_step=ad.min_step,
        max_step=ad.max_step,
        recenter_steps=ad.recenter_steps,
        level_fraction=ad.level_fraction,
        max_exposure=ad.max_exposure,
        take_profit_steps=ad.take_profit_steps,
        stop_loss_steps=ad.stop_loss_steps,
        stop_loss_fraction=ad.stop_loss_fraction,
        asymmetry=ad.asymmetry,
        confidence_sizing=ad.confidence_sizing,
        entry_filter=ad.entry_filter,
        proximity_atr=ad.proximity_atr,
        proximity_pull=ad.proximity_pull,
        proximity_rearm=ad.proximity_rearm,
        post_only=ad.post_only,
        price_tolerance_steps=ad.price_tolerance_steps,
        quantity_tolerance=ad.quantity_tolerance,
        orders_per_10s=ad.orders_per_10s,
        orders_per_minute=ad.orders_per_minute,
        max_modifications=ad.max_modifications,
        price_band=config.risk.price_band,
    )
    calendar = config.calendar  # weekend mode and the CME-gap bias (off by default)
    overlay = None
    if calendar.active:
        overlay = CmeGridOverlay(
            CmeSchedule(calendar.schedule_settings()),
            calendar.weekend_settings(),
            calendar.gap_settings(),
        )
    return AdaptiveGrid(config.symbol, params, overlay)


def volatility_grid(config: AppConfig) -> VolatilityGrid:
    """The fee-clearing, volatility-spaced grid (a baseline)."""
    st = config.strategy
    maker_fee, _ = simulation_settings(config).fees_for(config.market)
    return VolatilityGrid(
        config.symbol,
        VolatilityGridParams(
            levels=st.levels,
            quote_per_level=st.quote_per_level,
            fee=maker_fee,
            margin=st.fee_margin,
            multiplier=st.volatility_multiplier,
            horizon=st.volatility_horizon,
            window=st.volatility_window,
            post_only=st.post_only,
        ),
    )


def neutral_grid(config: AppConfig) -> NeutralGrid:
    """Binance's neutral futures grid: a fixed range, N arithmetic lines (a baseline)."""
    st = config.strategy
    return NeutralGrid(
        config.symbol,
        NeutralGridParams(
            lines=st.lines, range_fraction=st.range_fraction, lower=st.lower, upper=st.upper
        ),
    )


def buy_and_hold(config: AppConfig) -> BuyAndHold:
    """All in at the first candle (futures: 1x long) and hold (a baseline)."""
    return BuyAndHold(config.symbol)


#: Every strategy ``strategy.name`` can select, by name (the parity test runs each one).
STRATEGIES: dict[str, Callable[[AppConfig], Strategy]] = {
    "static_grid": static_grid,
    "adaptive_grid": adaptive_grid,
    "volatility_grid": volatility_grid,
    "neutral_grid": neutral_grid,
    "buy_and_hold": buy_and_hold,
}


def strategy_named(config: AppConfig, name: str) -> Strategy:
    """The strategy ``name`` with the ``strategy`` section's parameters.

    Raises:
        ValueError: ``name`` is not a strategy this bot knows.
    """
    build = STRATEGIES.get(name)
    if build is None:
        raise ValueError(f"unknown strategy {name!r}")
    return build(config)


def run_recorder(
    instrument: Instrument,
    clock: SimulatedExchange,
    account: AccountProjection,
    candles: PeekedCandles,
    keep_trades: bool = False,
) -> RunRecorder:
    """A recorder of the run's candles, fills and requests, for its metrics.

    ``keep_trades`` keeps every FIFO trade (``gridbot research signals`` charges each one
    to the signal's call at its entry); metrics alone never need them.
    """
    opening = ZERO if instrument.market.is_futures else account.base_balance
    first = candles.first
    price = first.open if first is not None else ZERO
    start = first.open_time if first is not None else 0
    return RunRecorder(
        instrument, clock, account.initial_equity, opening, price, start, keep_trades=keep_trades
    )


def signal_settings(config: AppConfig) -> SignalSettings:
    """The ``signals`` section as the application's settings."""
    sig = config.signals
    le = sig.learning
    return SignalSettings(
        window=sig.window,
        clip=float(sig.clip),
        horizon=sig.horizon,
        method=sig.method,
        fit_min_samples=sig.fit_min_samples,
        learning=LearningSettings(
            enabled=le.enabled,
            weekday=le.weekday,
            hour=le.hour,
            trailing_weeks=le.trailing_weeks,
            max_step=float(le.max_step),
            purge_minutes=le.purge_minutes,
            horizon=sig.horizon,
            method=sig.method,
            fit_min_samples=sig.fit_min_samples,
        ),
    )


def market_facts(config: AppConfig) -> MarketFacts:
    """The market facts over the configured windows (``market_facts`` section)."""
    facts = config.market_facts
    return MarketFacts(MarketFactsSettings(facts.atr_windows, facts.volatility_windows))


def warmed_market_facts(config: AppConfig, history: Sequence[Candle]) -> MarketFacts:
    """The market facts of a live or paper run, warmed on the signal's look-back.

    The windows start full, so the first candle's decision sees the same ATR and volatility
    a backtest that had run through the history would.
    """
    facts = market_facts(config)
    facts.warm_up(history)
    return facts


def backtest_signals(config: AppConfig, sink: CountingSink) -> SignalTracker | None:
    """The signal of a backtest: heuristic weights (nothing before the data to fit on)."""
    if not config.signals.enabled:
        return None
    tracker, _ = signal_tracker(signal_settings(config), sink, None, full_records=False)
    return tracker


def live_signals(
    config: AppConfig,
    sink: EventSink,
    journal: SqlJournal,
    history: list[Candle],
    venue: LiveVenue,
) -> tuple[SignalTracker | None, str]:
    """The signal of a live or paper run and where its weights came from.

    Weights are fitted on the venue's history or the journal's; ``(None, "")`` when
    ``signals`` is off.
    """
    if not config.signals.enabled:
        return None, ""
    return signal_tracker(
        signal_settings(config),
        sink,
        journal,
        history,
        now_ms=venue.clock.now_ms(),
        weight_journal=journal,
    )


def warm_up_history(config: AppConfig, venue: LiveVenue) -> list[Candle]:
    """The venue's recent candles for the signal's warm-up (none when the signal is off)."""
    if not config.signals.enabled:
        return []
    return venue.history(config.signals.history_minutes)


def event_sink(
    config: AppConfig,
    log: JsonLinesSink,
    hub: TelemetryHub,
    secrets: tuple[str, ...],
    console: bool,
) -> FanOutSink:
    """Every event to the JSON-lines log and telemetry, and to stderr when asked."""
    sinks: list[Any] = [log, TelemetrySink(hub, secrets)]
    if config.logging.console or console:
        sinks.append(HumanConsoleSink(sys.stderr, level=config.logging.level, secrets=secrets))
    return FanOutSink(*sinks)


def secret_values(credentials: Credentials | None) -> tuple[str, ...]:
    """What the log sinks must never write."""
    return credentials.secret_values() if credentials is not None else ()


def engine_identity(run_id: str, config: AppConfig, venue: LiveVenue) -> EngineIdentity:
    """Who the engine is, for status and logs."""
    return EngineIdentity(run_id, venue.name, config.market.value, venue.instrument.symbol)


class EquityRecordingCandles:
    """The engine's candle input, plus an hourly point of the journal's equity curve."""

    def __init__(self, engine: LiveEngine, journal: SqlJournal) -> None:
        self._engine = engine
        self._journal = journal

    def __call__(self, candle: Candle) -> None:
        """Decide on ``candle``; on the hour, record the equity at its close."""
        self._engine.on_candle(candle)
        if candle.open_time % EQUITY_EVERY_MS == 0:
            account = self._engine.session.execution.account
            self._journal.record_equity(candle.close_time + 1, account.equity(candle.close))


def strategy_name(config: AppConfig) -> str:
    """``strategy.name``: which strategy decides."""
    return config.strategy.name


def exchange_kind(config: AppConfig) -> str:
    """``exchange.kind``: which venue ``gridbot run`` trades on."""
    return config.exchange.kind


def audit_minutes(config: AppConfig) -> int | None:
    """The periodic REST audit's period: only where events travel over a network.

    The in-process simulated exchange hands every event over synchronously, so there is
    nothing a stream could have lost, and it starts empty on every run: a restart that
    adopted its state (``--accept-exchange-state``) would find the journal's history
    "ahead" of it again at every audit.
    """
    return None if config.exchange.kind == "simulated" else config.exchange.audit_minutes


def strategy_providers(config: providers.Provider[AppConfig]) -> dict[str, providers.Provider[Any]]:
    """One provider per strategy in :data:`STRATEGIES`, the choices of the strategy selector."""
    return {name: providers.Singleton(build, config) for name, build in STRATEGIES.items()}


class DecisionContainer(containers.DeclarativeContainer):
    """What decides: the strategy ``strategy.name`` names, and the pre-trade risk."""

    config = providers.Dependency(instance_of=AppConfig)
    instrument = providers.Dependency(instance_of=Instrument)

    strategy = providers.Selector(
        providers.Callable(strategy_name, config),
        **strategy_providers(config),
    )
    risk = providers.Singleton(pre_trade_risk, config, instrument)


class BacktestContainer(containers.DeclarativeContainer):
    """Wiring for ``gridbot backtest``."""

    config = providers.Dependency(instance_of=AppConfig)
    data = providers.Object(None)
    progress = providers.Object(None)

    instrument = providers.Singleton(
        builtin_instrument, market=config.provided.market, symbol=config.provided.symbol
    )
    decision = providers.Container(DecisionContainer, config=config, instrument=instrument)
    settings = providers.Singleton(simulation_settings, config)
    candles = providers.Singleton(PeekedCandles, providers.Singleton(candle_source, config, data))
    exchange = providers.Singleton(
        SimulatedExchange,
        instrument=instrument,
        initial_balances=config.provided.initial_balances,
        settings=settings,
    )
    account = providers.Singleton(account_projection, config, instrument, candles)
    ids = providers.Singleton(ClientOrderIdSequence, config.provided.client_order_id_prefix)
    repository = providers.Singleton(
        InMemoryOrderRepository, retain_closed=BACKTEST_RETENTION, retain_fills=BACKTEST_RETENTION
    )
    sink = providers.Singleton(CountingSink)
    execution = providers.Singleton(
        ExecutionService,
        exchange=exchange,
        instrument=instrument,
        account=account,
        ids=ids,
        repository=repository,
        sink=sink,
        clock=exchange,
        risk=decision.risk,
    )
    strategy = decision.strategy
    signals = providers.Singleton(backtest_signals, config, sink)
    recorder = providers.Singleton(run_recorder, instrument, exchange, account, candles)
    brakes = providers.Singleton(brake_gate, config, instrument, sink)
    runner = providers.Singleton(
        BacktestRunner,
        venue=exchange,
        strategy=strategy,
        execution=execution,
        progress=progress,
        signals=signals,
        market=providers.Singleton(market_facts, config),
        recorder=recorder,
        brakes=brakes,
        calendar=providers.Singleton(CalendarEvents, sink),
    )


class LiveContainer(containers.DeclarativeContainer):
    """Wiring for ``gridbot run``: live on Binance (or the emulator), or paper.

    The command resolves the providers in the order a start needs (log first, then the
    venue, the signal, the engine, the control plane) and releases them in reverse.
    """

    config = providers.Dependency(instance_of=AppConfig)
    run_id = providers.Object("")
    credentials = providers.Object(None)
    #: ``gridbot run`` flags.
    data = providers.Object(None)
    speed = providers.Object(60.0)
    max_candles = providers.Object(0)
    standby = providers.Object(False)
    console = providers.Object(False)

    secrets = providers.Singleton(secret_values, credentials)
    log = providers.Singleton(
        JsonLinesSink,
        config.provided.log_path,
        run_id,
        secrets=secrets,
        max_bytes=config.provided.logging.max_bytes,
        backups=config.provided.logging.backups,
        level=config.provided.logging.level,
    )
    hub = providers.Singleton(TelemetryHub, config.provided.control.telemetry_buffer)
    sink = providers.Singleton(event_sink, config, log, hub, secrets, console)
    io = providers.Singleton(LoopThread)
    journal = providers.Singleton(open_journal, config.provided.database_url_resolved)

    venue = providers.Selector(
        providers.Callable(exchange_kind, config),
        simulated=providers.Singleton(paper_venue, config, data, journal, speed, max_candles),
        binance=providers.Singleton(binance_venue, config, credentials, io),
    )
    history = providers.Singleton(warm_up_history, config, venue)
    signal_setup = providers.Singleton(live_signals, config, sink, journal, history, venue)

    decision = providers.Container(
        DecisionContainer, config=config, instrument=venue.provided.instrument
    )
    session = providers.Singleton(
        TradingSession,
        venue.provided.exchange,
        venue.provided.instrument,
        journal,
        decision.strategy,
        config.provided.client_order_id_prefix,
        sink,
        venue.provided.clock,
        venue.provided.initial_balances,
        providers.Factory(UnknownOrderPolicy, config.provided.reconciliation.unknown_orders),
        decision.risk,
        market=providers.Singleton(warmed_market_facts, config, history),
        brakes=providers.Singleton(brake_gate, config, venue.provided.instrument, sink),
    )
    engine = providers.Singleton(
        LiveEngine,
        session,
        sink,
        venue.provided.clock,
        providers.Factory(engine_identity, run_id, config, venue),
        replay=venue.provided.replay,
        flatten_on_exit=config.provided.shutdown.flatten_on_exit,
        standby=standby,
        max_leverage=config.provided.risk.max_leverage,
        kill_switch=config.provided.risk.kill_switch,
        signals=signal_setup.provided[0],
        audit_minutes=providers.Callable(audit_minutes, config),
    )
    loop = providers.Singleton(EngineLoop, engine)
    inputs = providers.Singleton(
        QueuedInputs, loop, providers.Factory(EquityRecordingCandles, engine, journal)
    )
    gateway = providers.Singleton(EngineGateway, loop, hub, providers.Factory(config_json, config))
