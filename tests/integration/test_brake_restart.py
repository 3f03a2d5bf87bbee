"""A trading session with a SQLite journal restarts in the brake level it died in.

Each restart drops all process state (a fresh database engine, strategy, gate, execution
service and session); only the journal's file and the exchange (another system) survive,
as after a kill -9. The brake's level and peak come back from the journal, every
transition is a ``brake`` journal record, and an operator's acknowledged resume (the live
engine's) lifts HALTED with the peak reset.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.memory.sinks import RecordingSink
from adapters.persistence.factory import open_journal
from adapters.persistence.repository import SqlJournal
from adapters.simulated.exchange import SimulatedExchange
from adapters.simulated.ledgers import FuturesLedger
from adapters.simulated.settings import SimulationSettings
from application.brakes import BRAKE_RECORD, BrakeGate
from application.live_engine import EngineIdentity, LiveEngine
from application.session import TradingSession
from bootstrap.instruments import builtin_instrument
from domain.drawdown_brake import BrakeLevel, BrakeSettings
from domain.enums import MarketType
from tests.support.brake_rig import Accumulator, audit, candles_from_returns

D = Decimal
INSTRUMENT = builtin_instrument(MarketType.USDM_FUTURES, "BTCUSDT")
CASH = {"USDT": D("10000")}
SETTINGS = BrakeSettings(hold_ms=10**12)
CANDLES = candles_from_returns([-40] * 150)


class Bot:
    """One process: journal, gate, strategy, session and engine; :meth:`kill` drops it."""

    def __init__(self, url: str, exchange: SimulatedExchange, sink: RecordingSink) -> None:
        self.journal: SqlJournal = open_journal(url)
        self.gate = BrakeGate(INSTRUMENT, sink, SETTINGS)
        self.strategy = Accumulator()
        session = TradingSession(
            exchange,
            INSTRUMENT,
            self.journal,
            self.strategy,
            "br",
            sink,
            exchange,
            CASH,
            replay=exchange,
            brakes=self.gate,
        )
        self.engine = LiveEngine(
            session,
            sink,
            exchange,
            EngineIdentity("run", "simulated", "USDM_FUTURES", "BTCUSDT"),
            replay=exchange,
        )

    def kill(self) -> None:
        self.journal.engine.dispose()  # nothing in memory survives


@pytest.mark.parametrize("level", [BrakeLevel.REDUCED, BrakeLevel.REDUCE_ONLY, BrakeLevel.HALTED])
def test_a_restart_continues_in_the_level_it_died_in(tmp_path: Path, level: BrakeLevel) -> None:
    exchange = SimulatedExchange(INSTRUMENT, CASH, SimulationSettings(leverage=20))
    url = f"sqlite:///{tmp_path / 'journal.db'}"
    sink = RecordingSink()
    bot = Bot(url, exchange, sink)
    bot.engine.start(reference_price=CANDLES[0].open)
    index = 0
    while bot.gate.level is not level:
        bot.engine.on_candle(CANDLES[index])
        index += 1
    peak, died_at = bot.gate.brake.peak, bot.gate.level  # type: ignore[union-attr]
    bot.kill()

    sink_after = RecordingSink()
    again = Bot(url, exchange, sink_after)
    again.engine.start(reference_price=CANDLES[index - 1].close)
    assert again.gate.level is died_at
    assert again.gate.brake.peak == peak  # type: ignore[union-attr]
    status = again.engine.status()
    assert status.brake is not None and status.brake.level == str(level)
    assert status.risk.level == str(level)
    # The journal holds one record per transition, in order.
    records = [json.loads(p)["level"] for _, _, p in again.journal.reports(BRAKE_RECORD)]
    assert records == ["REDUCED", "REDUCE_ONLY", "HALTED"][: level.rank]
    # The restarted process keeps braking: no entry while reduce-only or halted.
    for candle in CANDLES[index : index + 20]:
        again.engine.on_candle(candle)
    assert not audit(sink.records).violations
    found = audit(sink_after.records, start=str(level))
    assert not found.violations
    if level is BrakeLevel.HALTED:
        assert found.entries_by_level == {}
        assert all(p.quantity == 0 for p in exchange.account().positions)
    again.kill()


def test_halted_lifts_only_with_an_acknowledged_resume(tmp_path: Path) -> None:
    exchange = SimulatedExchange(INSTRUMENT, CASH, SimulationSettings(leverage=20))
    url = f"sqlite:///{tmp_path / 'journal.db'}"
    sink = RecordingSink()
    bot = Bot(url, exchange, sink)
    bot.engine.start(reference_price=CANDLES[0].open)
    index = 0
    while not bot.gate.halted:
        bot.engine.on_candle(CANDLES[index])
        index += 1
    refused = bot.engine.resume()
    assert not refused.changed and refused.message.startswith("HALTED")
    assert bot.gate.halted
    lifted = bot.engine.resume(acknowledge_halt=True)
    assert lifted.changed and "peak reset" in lifted.message
    assert bot.gate.level is BrakeLevel.NORMAL
    equity = bot.engine.session.execution.account.equity(CANDLES[index - 1].close)
    assert bot.gate.brake.peak == equity  # type: ignore[union-attr]
    (resumed,) = [f for f in sink.named("brake.transition") if f["trigger"] == "OPERATOR"]
    assert resumed["peak_reset"] and resumed["peak"] == str(equity)
    # Durable too: a restart after the resume is NORMAL from the reset peak.
    bot.kill()
    again = Bot(url, exchange, RecordingSink())
    again.engine.start(reference_price=CANDLES[index - 1].close)
    assert again.gate.level is BrakeLevel.NORMAL and again.gate.brake.peak == equity  # type: ignore[union-attr]
    kinds = [json.loads(p)["trigger"] for _, _, p in again.journal.reports(BRAKE_RECORD)]
    assert kinds[-1] == "OPERATOR"
    again.kill()


def test_a_deposit_found_by_reconciliation_is_not_a_gain(tmp_path: Path) -> None:
    exchange = SimulatedExchange(INSTRUMENT, CASH, SimulationSettings(leverage=20))
    url = f"sqlite:///{tmp_path / 'journal.db'}"
    sink = RecordingSink()
    bot = Bot(url, exchange, sink)
    bot.engine.start(reference_price=CANDLES[0].open)
    index = 0
    while bot.gate.level is not BrakeLevel.REDUCED:
        bot.engine.on_candle(CANDLES[index])
        index += 1
    brake = bot.gate.brake
    assert brake is not None
    drawdown, peak = brake.drawdown, brake.peak
    bot.kill()
    assert isinstance(exchange.ledger, FuturesLedger)
    exchange.ledger.wallet += D("5000")  # the user deposits while the bot is down

    sink_after = RecordingSink()
    again = Bot(url, exchange, sink_after)
    again.engine.start(accept_exchange_state=True, reference_price=CANDLES[index - 1].close)
    moved = again.gate.brake
    assert moved is not None
    (transfer,) = sink_after.named("brake.transfer")
    assert D(transfer["amount"]) == D("5000")
    assert moved.peak > peak  # the peak moved with the deposit ...
    assert abs(moved.drawdown - drawdown) < D("0.001")  # ... so the drawdown did not
    assert again.gate.level is BrakeLevel.REDUCED  # not lifted by the deposit
    again.kill()
