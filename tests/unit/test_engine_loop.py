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
        return "status"


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
