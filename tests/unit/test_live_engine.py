"""LiveEngine: the operator's commands change what the decision core does, candle by candle."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.market_data.generated import GeneratedMarket
from adapters.memory.repository import InMemoryOrderRepository
from adapters.memory.sinks import RecordingSink
from adapters.simulated.exchange import SimulatedExchange
from adapters.simulated.settings import SimulationSettings
from application.live_engine import BotState, EngineIdentity, LiveEngine
from application.reconciliation import ReconciliationFailed
from application.session import TradingSession
from bootstrap.instruments import builtin_instrument
from domain.candles import Candle
from domain.enums import MarketType
from domain.grid.static_grid import StaticGrid, StaticGridParams

D = Decimal


def _engine(
    standby: bool = False, market: MarketType = MarketType.USDM_FUTURES
) -> tuple[LiveEngine, SimulatedExchange, RecordingSink, list[Candle]]:
    instrument = builtin_instrument(market, "BTCUSDT")
    balances = {"USDT": D("10000")}
    exchange = SimulatedExchange(instrument, balances, SimulationSettings(leverage=5))
    sink = RecordingSink()
    grid = StaticGrid("BTCUSDT", StaticGridParams(5, D("0.002"), D("200"), D("0.01")))
    repo = InMemoryOrderRepository()
    session = TradingSession(exchange, instrument, repo, grid, "le", sink, exchange, balances)
    engine = LiveEngine(
        session,
        sink,
        exchange,
        EngineIdentity("run1", "simulated", market.value, "BTCUSDT"),
        replay=exchange,
        standby=standby,
        max_leverage=D("3"),
    )
    candles = list(GeneratedMarket(minutes=600, seed=11, start_price=D("42000")))
    engine.start(reference_price=candles[0].open)
    return engine, exchange, sink, candles


def _submits(sink: RecordingSink) -> int:
    return len(sink.named("order.submit"))


def test_running_engine_trades_and_reports_status() -> None:
    engine, exchange, sink, candles = _engine()
    assert engine.state is BotState.RUNNING
    for candle in candles[:200]:
        engine.on_candle(candle)
    status = engine.status()
    assert status.state is BotState.RUNNING
    assert status.candles_processed == 200
    assert status.last_candle_open_time == candles[199].open_time
    assert status.last_price == candles[199].close
    assert len(status.open_orders) == len(exchange.open_orders("BTCUSDT"))
    assert _submits(sink) >= 10
    assert status.pnl.equity == engine.session.execution.account.equity(candles[199].close)
    assert status.risk.max_leverage == D("3") and status.risk.level == "NORMAL"
    assert D(0) <= status.risk.leverage < D("3")
    assert status.conviction is None
    assert len(sink.named("candle")) == 200 and len(sink.named("pnl")) == 200


def test_standby_waits_for_start() -> None:
    engine, exchange, sink, candles = _engine(standby=True)
    assert engine.state is BotState.STANDBY
    for candle in candles[:50]:
        engine.on_candle(candle)
    assert _submits(sink) == 0 and exchange.open_orders("BTCUSDT") == []
    assert engine.candles == 50  # candles are still followed
    result = engine.start_trading()
    assert result.changed and result.state is BotState.RUNNING
    engine.on_candle(candles[50])
    assert _submits(sink) > 0
    again = engine.start_trading()
    assert not again.changed and again.message == "already running"


def test_pause_stops_new_decisions_and_resume_restores_them() -> None:
    engine, exchange, sink, candles = _engine()
    for candle in candles[:100]:
        engine.on_candle(candle)
    result = engine.pause()
    assert result.changed and result.state is BotState.PAUSED
    assert not engine.pause().changed
    open_before = len(exchange.open_orders("BTCUSDT"))
    submits = _submits(sink)
    for candle in candles[100:400]:
        engine.on_candle(candle)
    assert _submits(sink) == submits, "a paused bot placed an order"
    assert engine.candles == 400
    # Resting orders stayed and fills were still recorded (no take-profit answers them).
    assert len(exchange.open_orders("BTCUSDT")) <= open_before
    assert engine.start_trading().message == "paused: use resume"
    assert engine.resume().state is BotState.RUNNING
    assert not engine.resume().changed
    for candle in candles[400:]:
        engine.on_candle(candle)
    assert _submits(sink) > submits


def test_flatten_then_start_builds_a_new_book() -> None:
    engine, exchange, sink, candles = _engine()
    for candle in candles[:150]:
        engine.on_candle(candle)
    report = engine.flatten()
    assert report.flat and engine.state is BotState.FLATTENED
    assert exchange.open_orders("BTCUSDT") == []
    assert exchange.account().positions[0].quantity == 0
    submits = _submits(sink)
    for candle in candles[150:200]:
        engine.on_candle(candle)
    assert _submits(sink) == submits, "a flattened bot traded before Start"
    assert engine.pause().changed is False and engine.resume().changed is False
    assert engine.start_trading().state is BotState.RUNNING
    engine.on_candle(candles[200])
    assert len(exchange.open_orders("BTCUSDT")) >= 5, "the grid was not rebuilt"


@pytest.mark.parametrize(("flatten", "expect_flat"), [(True, True), (False, False)])
def test_stop_flattens_only_when_asked(flatten: bool, expect_flat: bool) -> None:
    engine, exchange, sink, candles = _engine()
    for candle in candles[:150]:
        engine.on_candle(candle)
    stopped: list[bool] = []
    engine.stop_listeners.append(lambda: stopped.append(True))
    result = engine.request_stop(flatten)
    assert result.state is BotState.STOPPING and engine.stop_requested and stopped == [True]
    assert not engine.request_stop().changed
    assert engine.start_trading().message == "stopping"
    report = engine.finish()
    assert engine.state is BotState.STOPPED
    if expect_flat:
        assert report is not None and report.flat
        assert exchange.open_orders("BTCUSDT") == []
    else:
        assert report is None
        assert exchange.open_orders("BTCUSDT")
    states = [f["state"] for f in sink.named("state")]
    assert states[-2:] == [BotState.STOPPING, BotState.STOPPED]


def test_stop_without_argument_uses_the_configured_default() -> None:
    engine, _, _, _ = _engine()
    engine.flatten_on_exit = False
    engine.request_stop()
    assert engine.stop_flatten is False


def test_resync_retries_a_transient_disagreement(monkeypatch: pytest.MonkeyPatch) -> None:
    engine, _, sink, candles = _engine()
    for candle in candles[:20]:
        engine.on_candle(candle)
    calls: list[int] = []
    original = engine.session.resync

    def flaky(accept_exchange_state: bool = False) -> object:
        calls.append(1)
        if len(calls) == 1:
            raise ReconciliationFailed(_report())
        return original(accept_exchange_state)

    monkeypatch.setattr(engine.session, "resync", flaky)
    engine.resync()
    assert len(calls) == 2 and len(sink.named("reconciliation.retry")) == 1

    def broken(accept_exchange_state: bool = False) -> object:
        raise ReconciliationFailed(_report())

    monkeypatch.setattr(engine.session, "resync", broken)
    with pytest.raises(ReconciliationFailed):
        engine.resync()


def _report() -> object:
    from application.reconciliation import ReconciliationReport

    report = ReconciliationReport(timestamp=0, accepted_exchange_state=False)
    report.differences.append("USDT wallet: exchange 1, journal 2")
    return report


def test_spot_status_lists_both_balances() -> None:
    engine, _, _, candles = _engine(market=MarketType.SPOT)
    engine.on_candle(candles[0])
    assets = [asset for asset, _ in engine.status().balances]
    assert assets == ["USDT", "BTC"]


class _Flaky:
    """The simulated exchange, unreachable for the next ``down`` place/cancel/read calls."""

    def __init__(self, exchange: SimulatedExchange) -> None:
        self._exchange = exchange
        self.down = 0

    def __getattr__(self, name: str) -> object:
        target = getattr(self._exchange, name)
        if name not in ("place_order", "cancel_all_orders", "open_orders", "account"):
            return target

        def call(*args: object) -> object:
            if self.down:
                self.down -= 1
                from application.ports.exchange import ExchangeUnavailable

                raise ExchangeUnavailable(f"{name}: 429 (test)")
            return target(*args)

        return call


def test_an_unavailable_exchange_delays_decisions_and_is_reconciled() -> None:
    instrument = builtin_instrument(MarketType.USDM_FUTURES, "BTCUSDT")
    balances = {"USDT": D("10000")}
    simulated = SimulatedExchange(instrument, balances, SimulationSettings(leverage=5))
    flaky = _Flaky(simulated)
    sink = RecordingSink()
    grid = StaticGrid("BTCUSDT", StaticGridParams(5, D("0.002"), D("200"), D("0.01")))
    session = TradingSession(
        flaky, instrument, InMemoryOrderRepository(), grid, "fx", sink, simulated, balances
    )
    engine = LiveEngine(
        session,
        sink,
        simulated,
        EngineIdentity("r", "simulated", "USDM_FUTURES", "BTCUSDT"),
        replay=simulated,
    )
    candles = list(GeneratedMarket(minutes=300, seed=11, start_price=D("42000")))
    engine.start(reference_price=candles[0].open)
    flaky.down = 3  # the first grid's orders fail to go out, then a resync fails too
    engine.on_candle(candles[0])
    assert engine.needs_resync
    assert sink.named("exchange.unavailable")[0]["step"] == "candle"
    pending = [o for o in engine.session.open_orders() if o.status.value == "PENDING_NEW"]
    assert pending, "the unsent intents stay journaled as pending"
    for candle in candles[1:]:
        engine.on_candle(candle)
    assert not engine.needs_resync
    # The resync settled every pending intent (never sent) and the book was rebuilt.
    assert all(o.status.value != "PENDING_NEW" for o in engine.session.open_orders())
    assert len(simulated.open_orders("BTCUSDT")) >= 5
    assert any(r["report"] for r in sink.named("reconciliation"))
