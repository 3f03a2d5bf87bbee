"""What a venue delivers reaches the engine as queued inputs, in order, on the engine's thread."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from decimal import Decimal
from typing import Any

import pytest

from adapters.live_runtime.engine_inputs import QueuedInputs
from adapters.live_runtime.engine_loop import EngineLoop
from adapters.simulated.replay_pacer import ReplayPacer
from application.paper_resume import candles_after
from application.ports.market_data import CandleGap
from application.ports.venue import ReplayFailed
from domain.candles import Candle
from domain.events import ExecutionEvent


def _candle(minute: int) -> Candle:
    price = Decimal(100 + minute)
    return Candle(minute * 60_000, price, price, price, price, Decimal(1), minute * 60_000 + 59_999)


class _Engine:
    """Just enough of a LiveEngine for the loop and the inputs."""

    def __init__(self) -> None:
        self.stop_requested = False
        self.seen: list[tuple[str, object, int]] = []

    def request_stop(self) -> None:
        self.stop_requested = True

    def on_events(self, events: Sequence[ExecutionEvent]) -> None:
        self.seen.append(("events", list(events), threading.get_ident()))

    def resync(self) -> str:
        self.seen.append(("resync", None, threading.get_ident()))
        return "reconciled"

    def status(self) -> str:
        return "status"


def _inputs() -> tuple[QueuedInputs, EngineLoop, _Engine, list[Candle]]:
    engine = _Engine()
    loop = EngineLoop(engine)  # type: ignore[arg-type]
    candles: list[Candle] = []

    def on_candle(candle: Candle) -> None:
        candles.append(candle)
        engine.seen.append(("candle", candle.open_time, threading.get_ident()))

    return QueuedInputs(loop, on_candle), loop, engine, candles


def test_every_input_runs_on_the_engine_thread_in_arrival_order() -> None:
    inputs, loop, engine, _ = _inputs()
    handled: list[int] = []
    producer = threading.Thread(
        target=lambda: (
            inputs.candle(_candle(1), lambda: handled.append(1)),
            inputs.events([]),
            inputs.request_resync(),
            inputs.end_of_data(),
        )
    )
    producer.start()
    producer.join()
    loop.run()
    consumer = threading.get_ident()
    assert [kind for kind, _, _ in engine.seen] == ["candle", "events", "resync"]
    assert all(ident == consumer for _, _, ident in engine.seen)
    assert handled == [1]
    assert loop.ended


def test_a_waited_resync_returns_its_result_through_the_future() -> None:
    inputs, loop, _, _ = _inputs()
    answer: Future[Any] = inputs.resync()
    inputs.end_of_data()
    loop.run()
    assert answer.result(0) == "reconciled"


def test_handled_runs_even_when_the_candle_fails() -> None:
    engine = _Engine()
    loop = EngineLoop(engine)  # type: ignore[arg-type]

    def fail(candle: Candle) -> None:
        raise RuntimeError("engine failed")

    inputs = QueuedInputs(loop, fail)
    released: list[bool] = []
    inputs.candle(_candle(1), lambda: released.append(True))
    with pytest.raises(RuntimeError, match="engine failed"):
        loop.run()
    assert released == [True]


class _RecordingInputs:
    """EngineInputs that hand each candle back at once (a fast engine)."""

    def __init__(self) -> None:
        self.candles: list[int] = []
        self.ended = threading.Event()
        self.failed: Exception | None = None

    def candle(self, candle: Candle, handled: Callable[[], None] | None = None) -> None:
        self.candles.append(candle.open_time)
        if handled is not None:
            handled()

    def end_of_data(self) -> None:
        self.ended.set()

    def fail(self, error: Exception) -> None:
        self.failed = error
        self.ended.set()


def test_the_pacer_replays_in_order_stops_at_max_candles_and_says_the_data_ended() -> None:
    inputs = _RecordingInputs()
    pacer = ReplayPacer([_candle(m) for m in range(10)], 0.0, 4, inputs)  # type: ignore[arg-type]
    pacer.start()
    assert inputs.ended.wait(10)
    pacer.stop()
    assert inputs.candles == [m * 60_000 for m in range(4)]


def _failing_source() -> Any:
    yield _candle(0)
    raise ValueError("line 2: bad row")


def test_a_source_that_fails_mid_replay_stops_the_engine_with_the_cause() -> None:
    inputs = _RecordingInputs()
    pacer = ReplayPacer(_failing_source(), 0.0, 0, inputs)  # type: ignore[arg-type]
    pacer.start()
    assert inputs.ended.wait(10)
    pacer.stop()
    assert inputs.candles == [0]
    assert isinstance(inputs.failed, ReplayFailed)
    assert isinstance(inputs.failed.cause, ValueError)
    assert "line 2: bad row" in str(inputs.failed)


class _Source:
    symbol = "BTCUSDT"

    def __init__(self, candles: list[Candle]) -> None:
        self._candles = candles
        self.gaps = [CandleGap("file", 0, 120_000)]

    def __iter__(self) -> Any:
        return iter(self._candles)


def test_a_resumed_replay_starts_after_the_last_traded_candle() -> None:
    source = _Source([_candle(m) for m in range(5)])
    after = candles_after(source, 2 * 60_000)
    assert [c.open_time for c in after] == [3 * 60_000, 4 * 60_000]
    assert after.symbol == "BTCUSDT" and after.gaps == source.gaps
    assert candles_after(source, -1) is source
