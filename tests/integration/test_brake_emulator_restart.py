"""The brakes through the Binance path: the adapter over the emulator, a journal, restarts.

A strategy that keeps buying a falling market (tests/support/brake_rig.py) trades on the
emulator; between levels the engine is dropped and a new one built on the same journal, as
after a kill -9 (nothing in memory survives; the emulator is another system and keeps its
state). Each restart comes back in the level it died in, with the same peak; no entry
reaches the exchange while reduce-only or halted, and HALTED leaves the account flat.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from adapters.memory.sinks import RecordingSink
from application.brakes import BrakeGate
from application.live_engine import LiveEngine
from domain.drawdown_brake import BrakeLevel, BrakeSettings
from domain.instruments import Instrument
from tests.support.binance_rig import BinanceRig, binance_rig
from tests.support.brake_rig import Accumulator, audit, candles_from_returns

D = Decimal


def _brakes(instrument: Instrument, sink: RecordingSink) -> BrakeGate:
    return BrakeGate(instrument, sink, BrakeSettings(hold_ms=10**12))


def _step(rig: BinanceRig, engine: LiveEngine) -> None:
    """One minute: the emulator replays the candle; fills arrive by a resync (no stream).

    The resync (what a stream reconnect does) runs every fifth minute only: the emulator
    holds the adapter to Binance's request weight in real time.
    """
    candle = rig.candle()
    if candle.open_time // 60_000 % 5 == 0:
        engine.resync()
    engine.on_candle(candle)


def test_restarts_between_levels_come_back_in_the_same_level(tmp_path: Path) -> None:
    candles = candles_from_returns([-40] * 200)
    with binance_rig(tmp_path, candles) as rig:
        engine = rig.engine(Accumulator(), _brakes)
        seen: list[BrakeLevel] = []
        for level in (BrakeLevel.REDUCED, BrakeLevel.REDUCE_ONLY, BrakeLevel.HALTED):
            gate = engine.session.brakes
            assert gate is not None
            while gate.level is not level:
                _step(rig, engine)
            peak = gate.brake.peak  # type: ignore[union-attr]
            # The process died; a new one starts from the journal at the last known price.
            engine = rig.engine(Accumulator(), _brakes, engine.last_candle.close)  # type: ignore[union-attr]
            again = engine.session.brakes
            assert again is not None and again.level is level
            assert again.brake.peak == peak  # type: ignore[union-attr]
            seen.append(again.level)
            _step(rig, engine)
        assert seen == [BrakeLevel.REDUCED, BrakeLevel.REDUCE_ONLY, BrakeLevel.HALTED]
        for _ in range(10):
            _step(rig, engine)
        found = audit(rig.sink.records)
        assert found.levels == ["REDUCED", "REDUCE_ONLY", "HALTED"]
        assert not found.violations
        assert found.entries_by_level.get("NORMAL", 0) > 0
        assert rig.open_on_exchange() == 0
        position = engine.session.execution.account.position.quantity
        assert position == 0
        assert engine.status().brake is not None
        assert engine.status().brake.level == "HALTED"  # type: ignore[union-attr]
