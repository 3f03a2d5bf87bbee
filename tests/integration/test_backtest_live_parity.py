"""Backtest and live session are one decision core: same inputs, same commands and records.

Both runs go through :class:`~application.decision_cycle.DecisionCycle`: the backtest as a
plain loop (:class:`~application.backtest.BacktestRunner`), the live path as the
crash-safe :class:`~application.session.TradingSession` driven by
:class:`~application.live_engine.LiveEngine`, journaling into the in-memory repository.
Each is fed the same candles, and the same simulated venue (a fresh one each) produces the
exchange events. Every strategy the configuration can select (``STRATEGIES``) must emit the
same commands on the same inputs, see the same decision records and market facts, and send
the same requests, so a new strategy joins this test by being registered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import pytest

from adapters.market_data.generated import GeneratedMarket
from adapters.memory.repository import InMemoryOrderRepository
from adapters.memory.sinks import RecordingSink
from adapters.simulated.exchange import SimulatedExchange
from adapters.simulated.settings import SimulationSettings
from application.backtest import BacktestRunner
from application.execution import ExecutionService
from application.live_engine import EngineIdentity, LiveEngine
from application.session import TradingSession
from application.signals import SignalSettings, signal_tracker
from bootstrap.config import AppConfig
from bootstrap.config_sections import StrategyConfig
from bootstrap.containers import STRATEGIES, pre_trade_risk
from bootstrap.instruments import builtin_instrument
from domain.account import AccountProjection
from domain.candles import Candle
from domain.client_ids import ClientOrderIdSequence
from domain.commands import CancelAllOrders, Command, PlaceOrder
from domain.enums import MarketType, OrderType, Side, TimeInForce
from domain.events import ExecutionEvent
from domain.instruments import Rounding
from domain.orders import Order
from domain.strategy import Strategy, StrategyDefaults, TradingContext

D = Decimal
PREFIX = "parity"
#: Enough candles for the signal to warm up (window 30 needs ~1600) and then decide a while.
MINUTES = 2_300
SIGNALS = SignalSettings(window=30, clip=4.0, horizon=15)


@dataclass
class Recorder(StrategyDefaults):
    """Wraps a strategy; keeps what it was shown and what it answered, in order."""

    inner: Strategy
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)

    def on_candle(self, candle: Candle, context: TradingContext) -> Sequence[Command]:
        record = context.decision
        # The signal ran before the strategy: the record is about this very candle.
        assert record is None or record.open_time == candle.open_time
        if record is not None:
            self.decisions.append(record.to_dict())
        market = context.market
        assert market.last_close == candle.close
        facts = (market.atr(14), market.volatility(60))
        commands = tuple(self.inner.on_candle(candle, context))
        self.calls.append(("candle", candle.open_time, facts, commands))
        return commands

    def on_execution(
        self, event: ExecutionEvent, order: Order | None, context: TradingContext
    ) -> Sequence[Command]:
        commands = tuple(self.inner.on_execution(event, order, context))
        self.calls.append(("event", event, commands))
        return commands

    def snapshot(self) -> dict[str, str]:
        return self.inner.snapshot()

    def restore(self, state: Mapping[str, str]) -> None:
        self.inner.restore(state)


class ConvictionProbe(StrategyDefaults):
    """A test strategy that trades on what the context carries (record and ATR)."""

    def __init__(self, config: AppConfig) -> None:
        self.symbol = config.symbol

    def on_candle(self, candle: Candle, context: TradingContext) -> Sequence[Command]:
        record, atr = context.decision, context.market.atr(14)
        if record is None or atr is None:
            return ()
        if record.short_conviction > record.long_conviction and context.open_orders:
            return (CancelAllOrders(self.symbol),)
        if record.long_conviction > record.short_conviction and not context.open_orders:
            inst = context.instrument
            price = inst.round_price(candle.close - atr, Rounding.DOWN)
            qty = inst.quantity_for_notional(D("150"), price)
            return (
                PlaceOrder(self.symbol, Side.BUY, OrderType.LIMIT, qty, price, TimeInForce.GTC),
            )
        return ()

    def on_execution(
        self, event: ExecutionEvent, order: Order | None, context: TradingContext
    ) -> Sequence[Command]:
        return ()

    def snapshot(self) -> dict[str, str]:
        return {}

    def restore(self, state: Mapping[str, str]) -> None:
        pass


#: The configurable strategies, plus one that trades on the decision record and the ATR.
STRATEGY_FACTORIES: dict[str, Callable[[AppConfig], Strategy]] = {
    **STRATEGIES,
    "test:conviction_probe": ConvictionProbe,
}


def _config(market: MarketType) -> AppConfig:
    balances = {"USDT": D("10000")}
    if not market.is_futures:
        balances["BTC"] = D("0.1")
    return AppConfig(
        source="parity",
        client_order_id_prefix=PREFIX,
        market=market,
        initial_balances=balances,
        strategy=replace(
            StrategyConfig(), levels=5, quote_per_level=D("150"), range_fraction=D("0.01")
        ),
    )


def _candles() -> list[Candle]:
    return list(GeneratedMarket(minutes=MINUTES, seed=23, start_price=D("42000")))


def _venue(config: AppConfig) -> SimulatedExchange:
    instrument = builtin_instrument(config.market, config.symbol)
    settings = SimulationSettings(leverage=5, max_volume_share=None)
    return SimulatedExchange(instrument, dict(config.initial_balances), settings)


def _requests(sink: RecordingSink) -> list[tuple[str, ...]]:
    names = ("order.submit", "order.cancel", "order.cancel_all", "order.modify", "risk.block")
    return [
        (name, *(str(v) for v in sorted(fields.items())))
        for name, _, fields in sink.records
        if name in names
    ]


def _backtest(name: str, config: AppConfig, candles: list[Candle]) -> tuple[Recorder, Any]:
    instrument = builtin_instrument(config.market, config.symbol)
    venue = _venue(config)
    sink = RecordingSink()
    base = config.initial_balances.get(instrument.base_asset, D(0))
    account = AccountProjection(instrument, config.initial_balances["USDT"], base, candles[0].open)
    execution = ExecutionService(
        venue,
        instrument,
        account,
        ClientOrderIdSequence(PREFIX),
        InMemoryOrderRepository(),
        sink,
        venue,
        pre_trade_risk(config, instrument),
    )
    recorder = Recorder(STRATEGY_FACTORIES[name](config))
    signals, _ = signal_tracker(SIGNALS, sink, None)
    BacktestRunner(venue, recorder, execution, signals=signals).run(candles)
    return recorder, (sink, execution.account)


def _live(name: str, config: AppConfig, candles: list[Candle]) -> tuple[Recorder, Any]:
    instrument = builtin_instrument(config.market, config.symbol)
    venue = _venue(config)
    sink = RecordingSink()
    repo = InMemoryOrderRepository()
    recorder = Recorder(STRATEGY_FACTORIES[name](config))
    session = TradingSession(
        venue,
        instrument,
        repo,
        recorder,
        PREFIX,
        sink,
        venue,
        dict(config.initial_balances),
        risk=pre_trade_risk(config, instrument),
    )
    signals, _ = signal_tracker(SIGNALS, sink, repo)
    engine = LiveEngine(
        session,
        sink,
        venue,
        EngineIdentity("parity", "simulated", config.market.value, config.symbol),
        replay=venue,
        signals=signals,
    )
    engine.start(reference_price=candles[0].open)
    for candle in candles:
        engine.on_candle(candle)
    assert engine.conviction is not None  # the status shows the latest record
    assert session.last_decided_candle == candles[-1].open_time
    return recorder, (sink, session.execution.account)


@pytest.mark.parametrize("market", [MarketType.USDM_FUTURES, MarketType.SPOT])
@pytest.mark.parametrize("name", sorted(STRATEGY_FACTORIES))
def test_backtest_and_live_session_decide_alike(name: str, market: MarketType) -> None:
    config = _config(market)
    candles = _candles()
    back, (back_sink, back_account) = _backtest(name, config, candles)
    live, (live_sink, live_account) = _live(name, config, candles)

    assert len(back.decisions) > 100  # the signal warmed up and decided for a while
    assert live.decisions == back.decisions
    assert live.calls == back.calls  # same inputs, same facts, same commands, same order
    issued = [c for c in back.calls if c[-1]]
    # Buy-and-hold buys once by design; every grid trades all along.
    assert len(issued) >= (1 if name == "buy_and_hold" else 11), "the strategy should have traded"
    assert _requests(live_sink) == _requests(back_sink)
    fills = [f for e, _, f in back_sink.records if e == "fill"]
    assert fills, "some orders should have filled"
    assert [f for e, _, f in live_sink.records if e == "fill"] == fills
    assert not back_sink.named("order.rejected")
    assert live_account.position.quantity == back_account.position.quantity
    assert live_account.cash == back_account.cash
