"""The signal in the loops: weights chosen and kept, decisions reported and stored, the
same records in a backtest and in the live engine."""

from __future__ import annotations

import json
from decimal import Decimal

from adapters.market_data.generated import GeneratedMarket
from adapters.memory.repository import InMemoryOrderRepository
from adapters.memory.sinks import RecordingSink
from adapters.simulated.exchange import SimulatedExchange
from adapters.simulated.settings import SimulationSettings
from application.backtest import BacktestRunner
from application.execution import ExecutionService
from application.live_engine import EngineIdentity, LiveEngine
from application.session import TradingSession
from application.signals import WEIGHTS_KEY, SignalSettings, choose_weights, signal_tracker
from bootstrap.instruments import builtin_instrument
from domain.account import AccountProjection
from domain.client_ids import ClientOrderIdSequence
from domain.enums import MarketType
from domain.features.names import FEATURE_NAMES
from domain.grid.static_grid import StaticGrid, StaticGridParams
from domain.signals.weights import SignalWeights

D = Decimal
#: Small windows so the features are ready after ~1,600 candles.
SETTINGS = SignalSettings(window=20, clip=4.0, horizon=5, method="spearman", fit_min_samples=50)
CANDLES = list(GeneratedMarket(minutes=2400, seed=3, start_price=D("42000")))


def test_weights_are_fitted_on_history_saved_and_reused() -> None:
    repo = InMemoryOrderRepository()
    weights, source = choose_weights(SETTINGS, repo, CANDLES[:2000])
    assert source.startswith("fitted on 2000 candles")
    stored = repo.load_state(WEIGHTS_KEY)
    assert stored is not None
    assert SignalWeights.from_dict(json.loads(stored)) == weights
    again, source = choose_weights(SETTINGS, repo, CANDLES[:100])
    assert (again, source) == (weights, "journal")


def test_without_history_the_heuristic_weights_are_used() -> None:
    weights, source = choose_weights(SETTINGS, None, ())
    assert source == "heuristic (no history)" and weights.fallback and weights.samples == 0


def test_tracker_reports_and_stores_every_decision_once_ready() -> None:
    repo = InMemoryOrderRepository()
    sink = RecordingSink()
    tracker, _ = signal_tracker(SETTINGS, sink, repo)
    records = [tracker.on_candle(c) for c in CANDLES]
    ready = [r for r in records if r is not None]
    assert ready and records[0] is None
    assert tracker.decisions == len(ready) == len(sink.named("decision"))
    assert tracker.last == ready[-1]
    emitted = sink.named("decision")[-1]
    assert len(emitted["features"]) == len(FEATURE_NAMES)
    assert set(emitted["systems"]) == {"UP", "DOWN", "NEUTRAL"}
    assert 0 <= emitted["long_conviction"] <= 1 and 0 <= emitted["short_conviction"] <= 1
    stored = [json.loads(p) for kind, _, p in repo.reports if kind == "decision"]
    assert stored == sink.named("decision")


def test_the_weights_record_is_dated_by_history_or_else_by_now() -> None:
    sink = RecordingSink()
    signal_tracker(SETTINGS, sink, None, now_ms=1_796_460_000_000)
    signal_tracker(SETTINGS, sink, None, CANDLES[:100], now_ms=1_796_460_000_000)
    stamps = [t for e, t, _ in sink.records if e == "signals.weights"]
    assert stamps == [1_796_460_000_000, CANDLES[99].close_time]


def test_compact_records_for_backtests() -> None:
    sink = RecordingSink()
    tracker, _ = signal_tracker(SETTINGS, sink, None, full_records=False)
    for candle in CANDLES:
        tracker.on_candle(candle)
    emitted = sink.named("decision")
    assert emitted and set(emitted[0]) == {
        "open_time",
        "regime",
        "long_conviction",
        "short_conviction",
    }


def _backtest_convictions() -> list[tuple[int, float, float, str]]:
    instrument = builtin_instrument(MarketType.USDM_FUTURES, "BTCUSDT")
    balances = {"USDT": D("10000")}
    exchange = SimulatedExchange(instrument, balances, SimulationSettings(leverage=5))
    sink = RecordingSink()
    account = AccountProjection(instrument, D("10000"))
    execution = ExecutionService(
        exchange,
        instrument,
        account,
        ClientOrderIdSequence("bt"),
        InMemoryOrderRepository(),
        sink,
        exchange,
    )
    tracker, _ = signal_tracker(SETTINGS, sink, None)
    grid = StaticGrid("BTCUSDT", StaticGridParams(5, D("0.002"), D("200"), D("0.01")))
    BacktestRunner(exchange, grid, execution, signals=tracker).run(CANDLES)
    return [
        (f["open_time"], f["long_conviction"], f["short_conviction"], f["regime"])
        for f in sink.named("decision")
    ]


def _live_convictions() -> list[tuple[int, float, float, str]]:
    instrument = builtin_instrument(MarketType.USDM_FUTURES, "BTCUSDT")
    balances = {"USDT": D("10000")}
    exchange = SimulatedExchange(instrument, balances, SimulationSettings(leverage=5))
    sink = RecordingSink()
    repo = InMemoryOrderRepository()
    grid = StaticGrid("BTCUSDT", StaticGridParams(5, D("0.002"), D("200"), D("0.01")))
    session = TradingSession(exchange, instrument, repo, grid, "lv", sink, exchange, balances)
    tracker, _ = signal_tracker(SETTINGS, sink, repo)
    engine = LiveEngine(
        session,
        sink,
        exchange,
        EngineIdentity("r", "simulated", "USDM_FUTURES", "BTCUSDT"),
        replay=exchange,
        signals=tracker,
    )
    engine.start(reference_price=CANDLES[0].open)
    for candle in CANDLES:
        engine.on_candle(candle)
    view = engine.status().conviction
    assert view is not None and tracker.last is not None
    assert (view.long, view.short, view.regime) == (
        tracker.last.long_conviction,
        tracker.last.short_conviction,
        str(tracker.last.regime),
    )
    return [
        (f["open_time"], f["long_conviction"], f["short_conviction"], f["regime"])
        for f in sink.named("decision")
    ]


def test_backtest_and_live_compute_the_same_decisions() -> None:
    backtest = _backtest_convictions()
    assert len(backtest) > 500
    assert backtest == _live_convictions()
