"""gridctl commands end to end in-process, against a scripted ControlService on loopback.

The fake bot here is deliberately not the real servicer: these tests pin down what the
client does with each kind of answer (exit codes, output, the token), whatever the
server's implementation. The real bot is exercised in tests/integration/test_gridctl.py.
"""

from __future__ import annotations

import _thread
import io
import json
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from adapters.control_client import cli
from adapters.control_client.cli import run
from adapters.control_client.prompt import FLATTEN_QUESTION
from proto.gridbot.v1 import control_pb2 as pb
from proto.gridbot.v1 import control_pb2_grpc as pb_grpc

TOKEN = "planted-token-7c1e9f03b2a4"


class FakeBot(pb_grpc.ControlServiceServicer):
    """A bot with the engine's state rules and switchable failures."""

    def __init__(self) -> None:
        self.state = "RUNNING"
        self.calls: list[str] = []
        self.tokens: list[str | None] = []
        self.fail: dict[str, tuple[grpc.StatusCode, str]] = {}
        self.delay = 0.0
        self.flat = True
        self.stop_requests: list[pb.StopRequest] = []
        self.config_json = json.dumps({"control": {"address": "x"}, "grid": {"levels": 10}})
        self.events = [
            pb.TelemetryEvent(seq=i, time_ms=1000 * i, kind="candle", event="candle", run_id="r1")
            for i in range(1, 6)
        ]

    def _enter(self, name: str, context: grpc.ServicerContext) -> None:
        self.calls.append(name)
        auth = dict(context.invocation_metadata()).get("authorization")
        self.tokens.append(auth)
        if auth != f"Bearer {TOKEN}":
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "invalid bearer token")
        if name in self.fail:
            code, details = self.fail[name]
            context.abort(code, details)
        if self.delay:
            time.sleep(self.delay)

    def _reply(self, state: str, message: str) -> pb.CommandReply:
        changed = state != self.state
        self.state = state
        return pb.CommandReply(state=state, changed=changed, message=message)

    def Start(self, request: pb.StartRequest, context: grpc.ServicerContext) -> pb.CommandReply:
        self._enter("Start", context)
        if self.state == "PAUSED":
            return pb.CommandReply(state=self.state, message="paused: use resume")
        return self._reply("RUNNING", "start")

    def Pause(self, request: pb.PauseRequest, context: grpc.ServicerContext) -> pb.CommandReply:
        self._enter("Pause", context)
        if self.state not in ("RUNNING", "PAUSED"):
            return pb.CommandReply(state=self.state, message=f"not running ({self.state})")
        return self._reply("PAUSED", "pause")

    def Resume(self, request: pb.ResumeRequest, context: grpc.ServicerContext) -> pb.CommandReply:
        self._enter("Resume", context)
        if self.state not in ("RUNNING", "PAUSED"):
            return pb.CommandReply(state=self.state, message=f"not paused ({self.state})")
        return self._reply("RUNNING", "resume")

    def Stop(self, request: pb.StopRequest, context: grpc.ServicerContext) -> pb.CommandReply:
        self._enter("Stop", context)
        self.stop_requests.append(request)
        return self._reply("STOPPING", "stop")

    def Flatten(self, request: pb.FlattenRequest, context: grpc.ServicerContext) -> pb.FlattenReply:
        self._enter("Flatten", context)
        self.state = "FLATTENED"
        if self.flat:
            return pb.FlattenReply(
                state="FLATTENED",
                canceled=3,
                closed_quantity="0.004",
                exchange_position="0",
                flat=True,
            )
        return pb.FlattenReply(
            state="FLATTENED", exchange_position="0.004", flat=False, still_open=["gridbot-7"]
        )

    def GetStatus(self, request: pb.GetStatusRequest, context: grpc.ServicerContext) -> pb.Status:
        self._enter("GetStatus", context)
        status = pb.Status(state=self.state, run_id="r1", symbol="BTCUSDT", telemetry_seq=5)
        status.balances.append(pb.Balance(asset="USDT", amount="10000"))
        return status

    def GetConfig(
        self, request: pb.GetConfigRequest, context: grpc.ServicerContext
    ) -> pb.ConfigReply:
        self._enter("GetConfig", context)
        return pb.ConfigReply(config_json=self.config_json)

    def StreamTelemetry(
        self, request: pb.StreamTelemetryRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.TelemetryEvent]:
        self._enter("StreamTelemetry", context)
        for event in self.events:
            if event.seq > request.after_seq and (not request.kinds or event.kind in request.kinds):
                yield event
        while context.is_active():  # live: nothing more for now
            time.sleep(0.01)


@pytest.fixture
def bot() -> Iterator[tuple[FakeBot, str, health.HealthServicer]]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    fake = FakeBot()
    pb_grpc.add_ControlServiceServicer_to_server(fake, server)
    checks = health.HealthServicer()
    checks.set("", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(checks, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield fake, f"127.0.0.1:{port}", checks
    finally:
        server.stop(None)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def gridctl(
    address: str, *argv: str, token: str | None = TOKEN, stdin: io.StringIO | None = None
) -> tuple[int, str, str]:
    env = {"GRIDBOT_GRPC_ADDRESS": address, "GRIDBOT_GRPC_TIMEOUT": "5"}
    if token is not None:
        env["GRIDBOT_API_TOKEN"] = token
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), env, stdin or io.StringIO(), out, err)
    return code, out.getvalue(), err.getvalue()


def test_status_human_and_json(bot: Any) -> None:
    fake, address, _ = bot
    code, out, err = gridctl(address, "status")
    assert (code, err) == (0, "")
    assert out.splitlines()[0].split() == ["state", "RUNNING"]
    assert "USDT" in out
    assert fake.tokens == [f"Bearer {TOKEN}"]
    code, out, err = gridctl(address, "status", "--json")
    assert code == 0
    data = json.loads(out)
    assert (data["state"], data["telemetry_seq"], data["open_orders"]) == ("RUNNING", 5, [])


def test_state_commands_succeed_when_the_bot_reaches_the_state(bot: Any) -> None:
    fake, address, _ = bot
    assert gridctl(address, "pause") == (0, "PAUSED: pause\n", "")
    assert gridctl(address, "pause") == (0, "PAUSED (no change): pause\n", "")
    code, out, err = gridctl(address, "start")
    assert (code, out) == (1, "PAUSED (no change): paused: use resume\n")
    assert err == "gridctl: start refused in state PAUSED: paused: use resume\n"
    assert gridctl(address, "resume")[0] == 0
    assert gridctl(address, "start") == (0, "RUNNING (no change): start\n", "")
    code, out, _ = gridctl(address, "--json", "resume")
    assert (code, json.loads(out)) == (
        0,
        {"state": "RUNNING", "changed": False, "message": "resume"},
    )
    fake.state = "FLATTENED"
    code, _, err = gridctl(address, "pause")
    assert code == 1 and "pause refused in state FLATTENED: not running (FLATTENED)" in err
    assert fake.calls == ["Pause", "Pause", "Start", "Resume", "Start", "Resume", "Pause"]


def test_stop_passes_the_flatten_choice(bot: Any) -> None:
    fake, address, _ = bot
    assert gridctl(address, "stop")[0] == 0
    assert gridctl(address, "stop", "--flatten")[0] == 0  # already STOPPING: still ok
    assert gridctl(address, "stop", "--no-flatten")[0] == 0
    first, second, third = fake.stop_requests
    assert not first.HasField("flatten")
    assert second.HasField("flatten") and second.flatten is True
    assert third.HasField("flatten") and third.flatten is False


def test_flatten_with_yes(bot: Any) -> None:
    fake, address, _ = bot
    fake.state = "PAUSED"
    code, out, err = gridctl(address, "flatten", "--yes")
    assert (code, err) == (0, "")
    assert "flat               yes, confirmed by the exchange" in out
    code, out, _ = gridctl(address, "--json", "flatten", "-y")
    assert code == 0 and json.loads(out)["flat"] is True
    assert fake.calls == ["Flatten", "Flatten"] and fake.state == "FLATTENED"


def test_flatten_that_is_not_flat_exits_1(bot: Any) -> None:
    fake, address, _ = bot
    fake.flat = False
    code, out, err = gridctl(address, "flatten", "--yes")
    assert code == 1
    assert "still open         gridbot-7" in out
    assert err == "gridctl: NOT FLAT: exchange position 0.004, still open: gridbot-7\n"


def test_flatten_prompt_yes_no_and_no_terminal(bot: Any) -> None:
    fake, address, _ = bot
    code, out, err = gridctl(address, "--json", "flatten", stdin=Terminal("y\n"))
    assert code == 0 and err == FLATTEN_QUESTION
    assert json.loads(out)["state"] == "FLATTENED"  # the question stays out of stdout
    assert fake.calls == ["Flatten"]
    code, out, err = gridctl(address, "flatten", stdin=Terminal("n\n"))
    assert (code, out) == (1, "")
    assert err == FLATTEN_QUESTION + "gridctl: flatten cancelled: nothing was sent\n"
    code, out, err = gridctl(address, "flatten", stdin=io.StringIO("y\n"))
    assert (code, out) == (2, "")
    assert err == (
        "gridctl: flatten needs confirmation but stdin is not a terminal: pass --yes to flatten\n"
    )
    assert fake.calls == ["Flatten"]  # neither the "no" nor the refusal sent anything


def test_config_human_and_json(bot: Any) -> None:
    fake, address, _ = bot
    code, out, _ = gridctl(address, "config")
    assert (code, out) == (0, "control.address  x\ngrid.levels      10\n")
    code, out, _ = gridctl(address, "config", "--json")
    assert code == 0 and json.loads(out) == {"control": {"address": "x"}, "grid": {"levels": 10}}
    fake.config_json = "{broken"
    code, out, err = gridctl(address, "config")
    assert (code, out) == (5, "")
    assert err.startswith("gridctl: the bot sent a configuration that is not JSON")
    fake.config_json = "[1]"
    assert gridctl(address, "config")[0] == 5


def test_wrong_and_missing_token(bot: Any) -> None:
    fake, address, _ = bot
    code, out, err = gridctl(address, "status", token="wrong-token-value")
    assert (code, out) == (3, "")
    assert err == f"gridctl: the bot at {address} refused the token (invalid bearer token)\n"
    assert "wrong-token-value" not in err
    code, out, err = gridctl(address, "status", token=None)
    assert (code, out) == (2, "")
    assert "GRIDBOT_API_TOKEN" in err and "--token-file" in err
    assert fake.calls == ["GetStatus"]  # the missing token never reached the wire


@pytest.mark.parametrize(
    ("code", "exit_code"),
    [
        (grpc.StatusCode.UNAVAILABLE, 4),
        (grpc.StatusCode.DEADLINE_EXCEEDED, 4),
        (grpc.StatusCode.PERMISSION_DENIED, 3),
        (grpc.StatusCode.INVALID_ARGUMENT, 2),
        (grpc.StatusCode.FAILED_PRECONDITION, 1),
        (grpc.StatusCode.INTERNAL, 5),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, 5),
    ],
)
def test_server_errors_map_to_exit_codes(bot: Any, code: grpc.StatusCode, exit_code: int) -> None:
    fake, address, _ = bot
    fake.fail["GetStatus"] = (code, "first line\nsecond line")
    result, out, err = gridctl(address, "status")
    assert (result, out) == (exit_code, "")
    assert err.startswith("gridctl: ") and err.count("\n") == 1
    assert "Traceback" not in err


def test_a_slow_bot_is_a_deadline_exit_4(bot: Any) -> None:
    fake, address, _ = bot
    fake.delay = 1.0
    code, _, err = gridctl(address, "--timeout", "0.2", "status")
    assert code == 4
    assert err == f"gridctl: the bot at {address} did not answer in time (DEADLINE_EXCEEDED)\n"


def test_an_unreachable_bot_is_exit_4(bot: Any) -> None:
    closed = "127.0.0.1:1"
    code, out, err = gridctl(closed, "--timeout", "2", "status")
    assert (code, out) == (4, "")
    assert err.startswith(f"gridctl: the bot at {closed} is unavailable (UNAVAILABLE:")
    assert gridctl(closed, "--timeout", "2", "health", token=None)[0] == 4


def test_the_token_is_never_printed(bot: Any) -> None:
    fake, address, _ = bot
    fake.fail["GetConfig"] = (grpc.StatusCode.INTERNAL, f"echoing {TOKEN} back")
    runs = [
        gridctl(address, "status"),
        gridctl(address, "--json", "status"),
        gridctl(address, "config"),
        gridctl(address, "pause"),
        gridctl(address, "flatten", "--yes"),
        gridctl(address, "watch", "--limit", "2"),
        gridctl(address, "health"),
        gridctl("127.0.0.1:1", "--timeout", "1", "status"),
        gridctl(address, "--token", TOKEN, "bogus-command"),
        gridctl(address, f"--token={TOKEN}", "--timeout", "x", "status"),
    ]
    code, _, err = runs[2]
    assert code == 5 and err == "gridctl: INTERNAL: echoing *** back\n"
    for _, out, err in runs:
        assert TOKEN not in out and TOKEN not in err


def test_health_needs_no_token_and_reports_the_serving_status(bot: Any) -> None:
    fake, address, checks = bot
    assert gridctl(address, "health", token=None) == (0, "SERVING\n", "")
    code, out, _ = gridctl(address, "health", "--json", token=None)
    assert (code, json.loads(out)) == (0, {"service": "", "status": "SERVING"})
    checks.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
    assert gridctl(address, "health", token=None) == (1, "NOT_SERVING\n", "")
    code, _, err = gridctl(address, "health", "--service", "nope", token=None)
    assert code == 5 and err.startswith("gridctl: NOT_FOUND")
    assert fake.calls == []  # health never touches the control service


def test_watch_limit_json_and_once(bot: Any) -> None:
    fake, address, _ = bot
    code, out, err = gridctl(address, "watch", "--json", "--limit", "3")
    assert (code, err) == (0, "")
    assert [json.loads(line)["seq"] for line in out.splitlines()] == [1, 2, 3]
    code, out, _ = gridctl(address, "watch", "--after-seq", "3", "--once")
    assert code == 0
    assert [line.split()[2] for line in out.splitlines()] == ["#4", "#5"]
    code, out, _ = gridctl(address, "watch", "--after-seq", "5", "--once")
    assert (code, out) == (0, "")
    assert fake.calls.count("StreamTelemetry") == 2  # nothing buffered after 5: no stream


def test_watch_reports_a_bad_token_like_any_command(bot: Any) -> None:
    _, address, _ = bot
    assert gridctl(address, "watch", "--limit", "1", token="nope")[0] == 3


def test_ctrl_c_exits_quietly(bot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _, address, _ = bot

    def interrupted(*args: Any) -> int:
        raise KeyboardInterrupt

    monkeypatch.setitem(cli.COMMANDS, "watch", interrupted)
    monkeypatch.setitem(cli.COMMANDS, "status", interrupted)
    assert gridctl(address, "watch") == (0, "", "")
    assert gridctl(address, "status") == (130, "", "")


def test_ctrl_c_during_a_live_watch_ends_it(bot: Any) -> None:
    """The real stream is open and waiting when the interrupt arrives."""
    _, address, _ = bot
    out = io.StringIO()
    timer = threading.Timer(0.5, _thread.interrupt_main)
    timer.start()
    try:
        code = run(
            ["watch"],
            {"GRIDBOT_GRPC_ADDRESS": address, "GRIDBOT_API_TOKEN": TOKEN},
            io.StringIO(),
            out,
            io.StringIO(),
        )
    finally:
        timer.cancel()
    assert code == 0
    assert len(out.getvalue().splitlines()) == 5


class ClosedPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError


def test_a_closed_stdout_is_not_an_error(bot: Any) -> None:
    _, address, _ = bot
    env = {"GRIDBOT_GRPC_ADDRESS": address, "GRIDBOT_API_TOKEN": TOKEN}
    err = io.StringIO()
    assert run(["watch"], env, io.StringIO(), ClosedPipe(), err) == 0
    assert err.getvalue() == ""


def test_main_uses_the_process_environment(
    bot: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, address, _ = bot
    monkeypatch.setenv("GRIDBOT_GRPC_ADDRESS", address)
    monkeypatch.setenv("GRIDBOT_API_TOKEN", TOKEN)
    assert cli.main(["status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["state"] == "RUNNING"
