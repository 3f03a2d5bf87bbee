"""EngineLoop: one consumer, commands answered, signals stop then abort."""

from __future__ import annotations

import signal
import threading
from typing import Any

import pytest

from adapters.live_runtime.engine_loop import Aborted, EngineLoop, StopRequested


class _Engine:
    """Just enough of a LiveEngine for the loop: the stop flag."""

    def __init__(self) -> None:
        self.stop_requested = False
        self.stops = 0

    def request_stop(self) -> None:
        self.stops += 1
        self.stop_requested = True

    def pause(self) -> str:
        return "paused"

    def status(self) -> str:
        self.statuses = getattr(self, "statuses", 0) + 1
        return f"status {self.statuses}"


def _loop() -> tuple[EngineLoop, _Engine]:
    engine = _Engine()
    return EngineLoop(engine), engine  # type: ignore[arg-type]


def test_inputs_run_in_order_on_the_consumer_thread_and_results_come_back() -> None:
    loop, _ = _loop()
    seen: list[tuple[str, int]] = []
    consumer = threading.get_ident()
    loop.post(lambda: seen.append(("a", threading.get_ident())))
    answer = loop.submit(lambda: 41 + 1)
    loop.post(lambda: seen.append(("b", threading.get_ident())))
    loop.end_of_data()
    loop.run()
    assert loop.ended
    assert [name for name, _ in seen] == ["a", "b"]
    assert all(ident == consumer for _, ident in seen)
    assert answer.result(0) == 42


def test_a_failing_command_is_reported_to_its_caller_not_the_loop() -> None:
    loop, _ = _loop()

    def boom() -> Any:
        raise ValueError("bad")

    answer = loop.submit(boom)
    loop.end_of_data()
    loop.run()
    with pytest.raises(ValueError, match="bad"):
        answer.result(0)


def test_a_failing_posted_input_stops_the_loop() -> None:
    loop, _ = _loop()

    def boom() -> None:
        raise RuntimeError("engine broke")

    loop.post(boom)
    with pytest.raises(RuntimeError, match="engine broke"):
        loop.run()


def test_a_stop_request_ends_the_loop_and_queued_commands_are_refused() -> None:
    loop, engine = _loop()
    loop.post(engine.request_stop)
    late = loop.submit(lambda: "never")
    loop.run()
    assert not loop.ended
    loop.drain()
    with pytest.raises(StopRequested):
        late.result(0)


def test_first_signal_requests_a_stop_second_aborts() -> None:
    loop, engine = _loop()
    loop.on_signal(signal.SIGTERM, None)
    loop.run()
    assert engine.stops == 1
    with pytest.raises(Aborted):
        loop.on_signal(signal.SIGINT, None)


def test_install_signals_restores_previous_handlers() -> None:
    loop, _ = _loop()
    before = signal.getsignal(signal.SIGTERM)
    restore = loop.install_signals()
    assert signal.getsignal(signal.SIGTERM) == loop.on_signal
    restore()
    assert signal.getsignal(signal.SIGTERM) == before


def test_gateway_refuses_commands_before_the_loop_runs_and_while_stopping() -> None:
    import asyncio

    from adapters.live_runtime.engine_loop import EngineGateway, NotReady
    from application.ports.control import ControlUnavailable
    from application.telemetry import TelemetryHub

    loop, engine = _loop()
    gateway = EngineGateway(loop, TelemetryHub(), "{}")
    with pytest.raises(NotReady):
        asyncio.run(gateway.pause())
    engine.stop_requested = True
    with pytest.raises(StopRequested) as stopping:
        asyncio.run(gateway.status())
    assert isinstance(stopping.value, ControlUnavailable)
    assert gateway.config_json() == "{}" and gateway.telemetry.latest_seq == 0


def test_status_answers_from_the_published_snapshot_while_the_engine_is_busy() -> None:
    """During a ban the engine may wait a minute for the exchange: status must still answer."""
    import asyncio
    import time

    from adapters.live_runtime.engine_loop import EngineGateway
    from application.telemetry import TelemetryHub

    loop, engine = _loop()
    gateway = EngineGateway(loop, TelemetryHub(), "{}")
    busy, release = threading.Event(), threading.Event()

    def wait_for_the_exchange() -> None:
        busy.set()
        release.wait(30)

    loop.post(wait_for_the_exchange)
    consumer = threading.Thread(target=loop.run)
    consumer.start()
    try:
        assert busy.wait(5)
        started = time.monotonic()
        answer = asyncio.run(asyncio.wait_for(gateway.status(), 5))
        assert answer == "status 1"  # published before the busy input began
        assert time.monotonic() - started < 2
    finally:
        release.set()
        loop.post(engine.request_stop)
        consumer.join(5)
    assert not consumer.is_alive()
    # Stopping (the final flatten may take minutes): the last published status answers.
    assert asyncio.run(gateway.status()).startswith("status ")
    assert engine.statuses >= 2


def test_status_is_published_after_commands_and_stops_but_throttled_after_candles() -> None:
    now = [0.0]
    engine = _Engine()
    loop = EngineLoop(engine, lambda: now[0])  # type: ignore[arg-type]
    for _ in range(100):  # a fast replay's candles, all within one instant
        loop.post(lambda: None)
    loop.submit(lambda: None)  # an operator command
    loop.post(lambda: now.__setitem__(0, 1.0))  # time moves on
    loop.post(engine.request_stop)
    loop.run()
    # At the start, after the command, after the input that saw time move, at the stop.
    assert engine.statuses == 4
    assert loop.published == "status 4"
