"""LiveEngine's periodic audit: every N market minutes, the reconnect's resync, on a candle.

The simulated exchange stands in for Binance; a lossy wrapper around its replay drops the
fill events of one candle, as a user-data stream that silently lost a message would.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.market_data.generated import GeneratedMarket
from adapters.memory.repository import InMemoryOrderRepository
from adapters.memory.sinks import RecordingSink
from adapters.simulated.exchange import SimulatedExchange
from adapters.simulated.settings import SimulationSettings
from application.live_engine import AUDIT_EVENT, EngineIdentity, LiveEngine
from application.session import TradingSession
from bootstrap.instruments import builtin_instrument
from domain.candles import Candle
from domain.enums import MarketType
from domain.events import ExecutionEvent, OrderFilled
from domain.grid.static_grid import StaticGrid, StaticGridParams

D = Decimal
SYMBOL = "BTCUSDT"


class LossyReplay:
    """The simulated exchange, whose fills of chosen candles never reach the engine.

    The exchange still executes them (balances, position, trade history): only the events
    are lost, like a user-data message that never arrived.
    """

    def __init__(self, exchange: SimulatedExchange) -> None:
        self._exchange = exchange
        #: Drop the fills of the first candle at or after this open time that has any.
        self.drop_from: int | None = None
        self.dropped: list[OrderFilled] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self._exchange, name)

    def on_candle(self, candle: Candle) -> list[ExecutionEvent]:
        events = self._exchange.on_candle(candle)
        if self.drop_from is None or candle.open_time < self.drop_from or self.dropped:
            return events
        self.dropped = [e for e in events if isinstance(e, OrderFilled)]
        return [e for e in events if not isinstance(e, OrderFilled)]


def _engine(
    audit_minutes: int | None,
) -> tuple[LiveEngine, SimulatedExchange, LossyReplay, RecordingSink, list[Candle]]:
    instrument = builtin_instrument(MarketType.USDM_FUTURES, SYMBOL)
    balances = {"USDT": D("10000")}
    exchange = SimulatedExchange(instrument, balances, SimulationSettings(leverage=5))
    lossy = LossyReplay(exchange)
    sink = RecordingSink()
    grid = StaticGrid(SYMBOL, StaticGridParams(5, D("0.0005"), D("200"), D("0.05")))
    session = TradingSession(
        exchange, instrument, InMemoryOrderRepository(), grid, "au", sink, exchange, balances
    )
    engine = LiveEngine(
        session,
        sink,
        exchange,
        EngineIdentity("run1", "simulated", "USDM_FUTURES", SYMBOL),
        replay=lossy,  # type: ignore[arg-type]
        audit_minutes=audit_minutes,
    )
    candles = list(GeneratedMarket(minutes=300, seed=11, start_price=D("42000")))
    engine.start(reference_price=candles[0].open)
    return engine, exchange, lossy, sink, candles


def _position(exchange: SimulatedExchange) -> Decimal:
    return sum((p.quantity for p in exchange.account().positions), D(0))


def test_the_audit_runs_on_every_nth_market_minute_and_finds_nothing_when_nothing_is_lost() -> None:
    engine, _, _, sink, candles = _engine(10)
    start = candles[0].open_time
    assert start % 600_000 == 0  # the generated market starts on a 10-minute boundary
    for candle in candles[:100]:
        engine.on_candle(candle)
    audits = sink.named(AUDIT_EVENT)
    # The candle that closes each 10-minute period (its open time +1 min is the boundary).
    assert [a["open_time"] for a in audits] == [start + (10 * k + 9) * 60_000 for k in range(10)]
    assert [a["number"] for a in audits] == list(range(1, 11))
    assert all(a["ok"] and a["found"] == 0 for a in audits), audits
    assert engine.audits == 10 and engine.audit_findings == 0
    # Each audit is a full reconciliation (start-up's plus one per audit).
    assert len(sink.named("reconciliation")) == 1 + 10


def test_a_gap_in_the_candles_still_audits_once_past_the_boundary() -> None:
    engine, _, _, sink, candles = _engine(10)
    kept = candles[:5] + candles[27:40]  # minutes 5..26 missing: two boundaries crossed
    for candle in kept:
        engine.on_candle(candle)
    audits = sink.named(AUDIT_EVENT)
    # Once for the boundaries at minutes 10 and 20 (on the first candle after the gap),
    # then on the candles closing minutes 30 and 40.
    expected = [candles[i].open_time for i in (27, 29, 39)]
    assert [a["open_time"] for a in audits] == expected


def test_the_audit_finds_and_applies_a_fill_the_stream_lost() -> None:
    engine, exchange, lossy, sink, candles = _engine(10)
    for candle in candles[:21]:
        engine.on_candle(candle)
    lossy.drop_from = candles[21].open_time
    index = 21
    while not lossy.dropped:
        engine.on_candle(candles[index])
        index += 1
    dropped = lossy.dropped
    dropped_ids = {e.fill.trade_id for e in dropped}
    assert index < 200, "no fill to drop"
    session = engine.session
    # The plant worked: the engine believes in orders the exchange has filled.
    known = {o.client_order_id for o in session.open_orders()}
    on_exchange = {o.client_order_id for o in exchange.open_orders(SYMBOL)}
    assert {e.client_order_id for e in dropped} <= known - on_exchange
    assert session.execution.account.position.quantity != _position(exchange)
    # Up to the next audit (the candle closing the 10-minute period) nothing notices.
    audits_before = len(sink.named(AUDIT_EVENT))
    next_audit = (index // 10) * 10 + 9
    for candle in candles[index:next_audit]:
        engine.on_candle(candle)
    assert len(sink.named(AUDIT_EVENT)) == audits_before
    engine.on_candle(candles[next_audit])
    audit = sink.named(AUDIT_EVENT)[-1]
    assert audit["open_time"] == candles[next_audit].open_time and audit["ok"]
    assert audit["missed_fills"] == len(dropped_ids) and audit["found"] >= len(dropped_ids)
    report = sink.named("reconciliation")[-1]["report"]
    assert all(str(t) in report for t in dropped_ids)
    assert engine.audit_findings >= len(dropped_ids)
    # Fixed: the journal's book and position are the exchange's again.
    known = {o.client_order_id for o in session.open_orders()}
    assert known == {o.client_order_id for o in exchange.open_orders(SYMBOL)}
    assert session.execution.account.position.quantity == _position(exchange)
    # The strategy answered the recovered fills inside the audit, before the candle's own
    # decision: a take-profit for each (the static grid answers every fill with one).
    names = [name for name, _, _ in sink.records]
    audit_at = len(names) - 1 - names[::-1].index(AUDIT_EVENT)
    previous_candle = audit_at - 1 - names[audit_at - 1 :: -1].index("candle")
    answers = names[previous_candle:audit_at].count("order.submit")
    assert answers >= len(dropped_ids), names[previous_candle:audit_at]
    # And the next audit finds nothing new.
    for candle in candles[next_audit + 1 : next_audit + 11]:
        engine.on_candle(candle)
    assert sink.named(AUDIT_EVENT)[-1]["found"] == 0


@pytest.mark.parametrize("off", [0, None])
def test_zero_or_none_turns_the_audit_off(off: int | None) -> None:
    engine, _, _, sink, candles = _engine(off)
    for candle in candles[:100]:
        engine.on_candle(candle)
    assert sink.named(AUDIT_EVENT) == [] and engine.audits == 0
    assert len(sink.named("reconciliation")) == 1  # start-up's only


def test_a_resync_for_an_outage_stands_in_for_the_audit_of_its_period() -> None:
    engine, _, _, sink, candles = _engine(10)
    for candle in candles[:9]:
        engine.on_candle(candle)
    engine.needs_resync = True  # as after a failed request: reconcile before deciding
    engine.on_candle(candles[9])  # closes the first period: the outage's resync runs
    assert sink.named(AUDIT_EVENT) == [] and len(sink.named("reconciliation")) == 2
    for candle in candles[10:20]:
        engine.on_candle(candle)
    assert [a["open_time"] for a in sink.named(AUDIT_EVENT)] == [candles[19].open_time]
