"""The composition root: which adapter serves which port, for each way of running the bot.

Nothing outside ``bootstrap/`` chooses an implementation. A backtest wires the simulated
exchange (which is also its clock), a candle source (a kline file or the built-in generated
market), the in-memory repository and a counting event sink around the same strategy and
execution service that live trading uses.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from decimal import Decimal

from dependency_injector import containers, providers

from adapters.market_data.generated import GeneratedMarket
from adapters.market_data.kline_csv import KlineCsvReader, SymbolNotInferred
from adapters.memory.repository import InMemoryOrderRepository
from adapters.memory.sinks import CountingSink
from adapters.simulated.exchange import SimulatedExchange
from adapters.simulated.funding import FundingSchedule
from adapters.simulated.settings import SimulationSettings
from application.backtest import BacktestRunner
from application.execution import ExecutionService
from application.ports.market_data import HistoricalCandles
from application.signals import SignalSettings, SignalTracker, signal_tracker
from bootstrap.config import AppConfig
from bootstrap.instruments import builtin_instrument
from domain.account import AccountProjection
from domain.candles import Candle
from domain.client_ids import ClientOrderIdSequence
from domain.grid.adaptive_grid import AdaptiveGrid
from domain.grid.adaptive_params import AdaptiveGridParams
from domain.grid.static_grid import StaticGrid, StaticGridParams
from domain.instruments import Instrument
from domain.market_facts import MarketFacts, MarketFactsSettings
from domain.risk import PreTradeRisk, RiskLimits
from domain.strategy import Strategy

ZERO = Decimal(0)
#: Closed orders and fills a backtest keeps in memory (the report needs none of them; tests
#: and short runs see everything, a year of high churn stays within a bounded footprint).
BACKTEST_RETENTION = 50_000


class DataMismatch(ValueError):
    """The data file's symbol differs from the configured symbol."""


class EmptyAccount(ValueError):
    """The configured balances hold nothing the instrument can trade with."""


def simulation_settings(config: AppConfig) -> SimulationSettings:
    """Simulated-exchange settings from the ``simulation`` section."""
    sim = config.simulation
    funding = (
        FundingSchedule.from_csv(sim.funding_file)
        if sim.funding_file
        else FundingSchedule(sim.funding_rate)
    )
    return SimulationSettings(
        maker_fee=sim.maker_fee,
        taker_fee=sim.taker_fee,
        touch_fills=sim.touch_fills,
        max_volume_share=sim.max_volume_share,
        leverage=sim.leverage,
        funding=funding,
        latency_ms=sim.latency_ms,
        reject_probability=float(sim.reject_probability),
        seed=sim.seed,
    )


def candle_source(config: AppConfig, data: str | None) -> HistoricalCandles:
    """A kline file/directory when one is given, else the built-in generated market.

    Raises:
        DataMismatch: The file is for another symbol than the configured one.
    """
    path = data or config.backtest.data
    if path:
        try:
            reader = KlineCsvReader(path)
        except SymbolNotInferred:
            # Not a Binance-style name (e.g. a file mounted as /market): the config says.
            reader = KlineCsvReader(path, symbol=config.symbol)
        if reader.symbol != config.symbol:
            raise DataMismatch(
                f"{path}: data is for {reader.symbol} but the config trades {config.symbol} "
                "(set market.symbol)"
            )
        return reader
    gen = config.backtest.generated
    return GeneratedMarket(
        symbol=config.symbol,
        start_open_time=gen.start_open_time,
        minutes=gen.minutes,
        seed=gen.seed,
        start_price=gen.start_price,
        tick=builtin_instrument(config.market, config.symbol).price_filter.tick_size,
    )


class PeekedCandles:
    """A candle source whose first candle has been read already (to price initial holdings)."""

    def __init__(self, source: HistoricalCandles) -> None:
        self.source = source
        self._iterator: Iterator[Candle] = iter(source)
        self.first: Candle | None = next(self._iterator, None)

    def __iter__(self) -> Iterator[Candle]:
        head = [self.first] if self.first is not None else []
        return itertools.chain(head, self._iterator)


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
    return AdaptiveGrid(config.symbol, params)


#: Every strategy ``strategy.name`` can select, by name (the parity test runs each one).
STRATEGIES: dict[str, Callable[[AppConfig], Strategy]] = {
    "static_grid": static_grid,
    "adaptive_grid": adaptive_grid,
}


def configured_strategy(config: AppConfig) -> Strategy:
    """The strategy ``strategy.name`` selects."""
    return STRATEGIES[config.strategy.name](config)


def signal_settings(config: AppConfig) -> SignalSettings:
    """The ``signals`` section as the application's settings."""
    sig = config.signals
    return SignalSettings(
        window=sig.window,
        clip=float(sig.clip),
        horizon=sig.horizon,
        method=sig.method,
        fit_min_samples=sig.fit_min_samples,
    )


def market_facts(config: AppConfig) -> MarketFacts:
    """The market facts over the configured windows (``market_facts`` section)."""
    facts = config.market_facts
    return MarketFacts(MarketFactsSettings(facts.atr_windows, facts.volatility_windows))


def backtest_signals(config: AppConfig, sink: CountingSink) -> SignalTracker | None:
    """The signal of a backtest: heuristic weights (nothing before the data to fit on)."""
    if not config.signals.enabled:
        return None
    tracker, _ = signal_tracker(signal_settings(config), sink, None, full_records=False)
    return tracker


class BacktestContainer(containers.DeclarativeContainer):
    """Wiring for ``gridbot backtest``."""

    config = providers.Dependency(instance_of=AppConfig)
    data = providers.Object(None)
    progress = providers.Object(None)

    instrument = providers.Singleton(
        builtin_instrument, market=config.provided.market, symbol=config.provided.symbol
    )
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
        risk=providers.Singleton(pre_trade_risk, config, instrument),
    )
    strategy = providers.Singleton(configured_strategy, config)
    signals = providers.Singleton(backtest_signals, config, sink)
    runner = providers.Singleton(
        BacktestRunner,
        venue=exchange,
        strategy=strategy,
        execution=execution,
        progress=progress,
        signals=signals,
        market=providers.Singleton(market_facts, config),
    )
