"""``gridctl`` against a real ``gridbot run``: every command, its exit code, and what it does.

One bot (the simulated exchange replaying the generated market at 10 candles a second)
serves the subprocess tests of this module, in file order; the last one stops it. The
watch-reconnect tests run the follower in-process: through a TCP proxy whose connections
the test cuts (a dropped connection, same bot), and against two bots started one after
the other on the same port (a restart: new run_id, seq numbering from 1 again).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from adapters.control_client.channel import auth_metadata, open_channel
from adapters.control_client.settings import ClientSettings
from adapters.control_client.watch import TelemetryFollower
from proto.gridbot.v1 import control_pb2 as pb
from proto.gridbot.v1 import control_pb2_grpc as pb_grpc

ROOT = Path(__file__).resolve().parent.parent.parent
TOKEN = "secret-token-3f9a0c7d51e2"
_SCRIPT = Path(sys.executable).parent / "gridctl"
GRIDCTL = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "bootstrap.gridctl"]


def _clean_env() -> dict[str, str]:
    """The test process's environment without any gridbot / gridctl setting."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("GRIDBOT_", "GRIDCTL_"))}


@dataclass
class Bot:
    process: subprocess.Popen[str]
    address: str
    data_dir: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)


def start_bot(tmp: Path, address: str = "127.0.0.1:0") -> Bot:
    """``gridbot run --speed 600`` with its own data directory; returns once it trades."""
    tmp.mkdir(parents=True, exist_ok=True)
    env = _clean_env()
    env.update(
        GRIDBOT_DATA_DIR=str(tmp / "data"),
        GRIDBOT_GRPC_ADDRESS=address,
        GRIDBOT_API_TOKEN=TOKEN,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bootstrap.cli", "run", "--speed", "600"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=(tmp / "stderr.txt").open("w"),
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("control plane: "):
        process.kill()
        process.wait(timeout=30)
        raise AssertionError(f"bot did not start: {line!r} {(tmp / 'stderr.txt').read_text()}")
    # Commands are answered UNAVAILABLE until the bot has reconciled: wait for that too.
    reconciled = process.stdout.readline()
    assert reconciled.startswith("reconciled: "), reconciled
    return Bot(process, line.split()[2], tmp / "data")


def gridctl(
    address: str, *args: str, token: str | None = TOKEN, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = _clean_env()
    env["GRIDBOT_GRPC_ADDRESS"] = address
    if token is not None:
        env["GRIDBOT_API_TOKEN"] = token
    return subprocess.run(
        [*GRIDCTL, *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def status(address: str) -> dict[str, Any]:
    result = gridctl(address, "--json", "status")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    """Poll (a real subprocess does real work) until ``predicate`` returns something true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def backlog(address: str, after_seq: int, *extra: str) -> list[dict[str, Any]]:
    """Telemetry events after ``after_seq`` buffered now (``watch --once --json``)."""
    result = gridctl(address, "--json", "watch", "--once", "--after-seq", str(after_seq), *extra)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bot]:
    running = start_bot(tmp_path_factory.mktemp("gridctl-bot"))
    try:
        yield running
    finally:
        running.stop()


def test_status_human_and_json(bot: Bot) -> None:
    wait_for(lambda: status(bot.address)["open_orders"], "the grid to be placed")
    human = gridctl(bot.address, "status")
    assert human.returncode == 0, human.stderr
    lines = human.stdout.splitlines()
    assert lines[0].split() == ["state", "RUNNING"]
    assert lines[1].split() == ["symbol", "BTCUSDT", "USDM_FUTURES", "on", "simulated"]
    for label in ("last price", "position", "realized PnL", "equity", "risk", "kill switch"):
        assert any(line.startswith(label + " ") for line in lines), label
    assert any(line.startswith("open orders (") for line in lines)
    header = next(line for line in lines if line.startswith("CLIENT ORDER ID"))
    assert header.split()[3:6] == ["SIDE", "TYPE", "STATUS"]
    assert "balances" in lines and any(line.startswith("USDT ") for line in lines)
    data = status(bot.address)
    assert data["state"] == "RUNNING" and data["symbol"] == "BTCUSDT"
    assert data["candles_processed"] > 0 and data["telemetry_seq"] > 0
    assert all(order["client_order_id"] for order in data["open_orders"])
    assert data["balances"][0]["asset"] == "USDT"
    assert TOKEN not in human.stdout + human.stderr


def test_pause_keeps_candles_coming_but_places_no_order_then_resume(bot: Bot) -> None:
    wait_for(lambda: status(bot.address)["state"] == "RUNNING", "RUNNING")
    paused = gridctl(bot.address, "pause")
    assert paused.returncode == 0, paused.stderr
    assert paused.stdout.startswith("PAUSED")
    before = status(bot.address)
    assert before["state"] == "PAUSED"
    wait_for(
        lambda: status(bot.address)["candles_processed"] >= before["candles_processed"] + 15,
        "candles while paused",
    )
    events = backlog(bot.address, before["telemetry_seq"])
    assert sum(e["kind"] == "candle" for e in events) >= 15  # the bot kept reading candles
    assert [e for e in events if e["event"] == "order.submit"] == []  # and placed nothing
    again = gridctl(bot.address, "pause")
    assert again.returncode == 0 and "(no change)" in again.stdout
    refused = gridctl(bot.address, "start")
    assert refused.returncode == 1
    assert refused.stderr == "gridctl: start refused in state PAUSED: paused: use resume\n"
    resumed = gridctl(bot.address, "resume")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.startswith("RUNNING")
    assert status(bot.address)["state"] == "RUNNING"


def test_flatten_then_start_rebuilds_the_grid(bot: Bot) -> None:
    wait_for(lambda: status(bot.address)["open_orders"], "open orders")
    unconfirmed = gridctl(bot.address, "flatten")  # stdin is not a terminal
    assert unconfirmed.returncode == 2
    assert "pass --yes" in unconfirmed.stderr
    assert status(bot.address)["state"] == "RUNNING"  # nothing was sent
    flattened = gridctl(bot.address, "--json", "flatten", "--yes")
    assert flattened.returncode == 0, flattened.stderr
    reply = json.loads(flattened.stdout)
    assert reply["flat"] is True and reply["state"] == "FLATTENED"
    assert reply["canceled"] > 0 and reply["still_open"] == []
    after = status(bot.address)
    assert after["state"] == "FLATTENED"
    assert after["open_orders"] == []
    assert all(float(p["quantity"]) == 0 for p in after["positions"])
    human = gridctl(bot.address, "status")
    assert "open orders: none" in human.stdout
    started = gridctl(bot.address, "start")
    assert started.returncode == 0, started.stderr
    assert started.stdout.startswith("RUNNING")
    rebuilt = wait_for(lambda: status(bot.address)["open_orders"], "a new grid")
    assert len(rebuilt) > 2
    submits = backlog(bot.address, after["telemetry_seq"], "--kinds", "order")
    assert {e["kind"] for e in submits} == {"order"}
    assert sum(e["event"] == "order.submit" for e in submits) >= len(rebuilt)


def test_config_json_parses(bot: Bot) -> None:
    result = gridctl(bot.address, "config", "--json")
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    assert config["control"]["address"] == "127.0.0.1:0"
    assert config["symbol"] == "BTCUSDT"
    assert TOKEN not in result.stdout
    human = gridctl(bot.address, "config")
    assert human.returncode == 0
    assert any(line.split()[:2] == ["symbol", "BTCUSDT"] for line in human.stdout.splitlines())


def test_watch_limit_json_returns_events_in_seq_order(bot: Bot) -> None:
    result = gridctl(bot.address, "--json", "watch", "--limit", "25")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(events) == 25
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs))
    assert len({e["run_id"] for e in events}) == 1
    assert all(isinstance(e["fields"], dict) for e in events)
    candles = gridctl(bot.address, "watch", "--kinds", "candle", "--limit", "3")
    assert candles.returncode == 0, candles.stderr
    lines = candles.stdout.splitlines()
    assert len(lines) == 3 and all(line.split()[3] == "candle" for line in lines)


def test_wrong_and_missing_token(bot: Bot) -> None:
    wrong = gridctl(bot.address, "status", token="not-the-token")
    assert wrong.returncode == 3
    assert wrong.stdout == ""
    assert wrong.stderr.startswith("gridctl: the bot at ") and "refused the token" in wrong.stderr
    missing = gridctl(bot.address, "status", token=None)
    assert missing.returncode == 2
    assert "GRIDBOT_API_TOKEN" in missing.stderr and "--token-file" in missing.stderr
    token_file = bot.data_dir.parent / "token.txt"
    token_file.write_text(TOKEN + "\n")
    by_file = gridctl(bot.address, "--token-file", str(token_file), "status", token=None)
    assert by_file.returncode == 0, by_file.stderr
    for result in (wrong, missing, by_file):
        assert "Traceback" not in result.stderr and TOKEN not in result.stdout + result.stderr


def test_health_needs_no_token(bot: Bot) -> None:
    result = gridctl(bot.address, "health", token=None)
    assert (result.returncode, result.stdout) == (0, "SERVING\n")


def test_gridctl_finds_the_token_the_bot_wrote_without_a_flag(tmp_path: Path) -> None:
    """A first start writes ``./data/api-token``; ``gridctl`` run from the same directory
    reads it as the bot does, with no token flag or variable (issue 11, item 10)."""
    env = _clean_env()
    env.update(PYTHONPATH=str(ROOT), GRIDBOT_GRPC_ADDRESS="127.0.0.1:0")
    process = subprocess.Popen(
        [sys.executable, "-m", "bootstrap.cli", "run", "--speed", "600"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=(tmp_path / "stderr.txt").open("w"),
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("control plane: "), (tmp_path / "stderr.txt").read_text()
        assert process.stdout.readline().startswith("reconciled: ")
        assert (tmp_path / "data" / "api-token").exists()
        env["GRIDBOT_GRPC_ADDRESS"] = line.split()[2]
        result = subprocess.run(
            [sys.executable, "-m", "bootstrap.gridctl", "--json", "status"],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["state"]
    finally:
        process.kill()
        process.wait(timeout=30)


def test_an_unreachable_bot_exits_4() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{probe.getsockname()[1]}"
    for command in ("status", "health"):
        result = gridctl(closed, "--timeout", "3", command)
        assert result.returncode == 4, result.stderr
        assert result.stderr.startswith(f"gridctl: the bot at {closed} is unavailable")


class Proxy:
    """A loopback TCP relay whose open connections the test can cut."""

    def __init__(self, target: str) -> None:
        host, _, port = target.rpartition(":")
        self._target = (host, int(port))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._target)
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass

    def cut(self) -> None:
        """Reset every open connection (the listener stays: the client can come back)."""
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self._listener.close()
        self.cut()


class Collector:
    """Runs a follower on a thread and records what it emits."""

    def __init__(self, address: str) -> None:
        self.events: list[pb.TelemetryEvent] = []
        self.notices: list[str] = []
        self.channel = open_channel(ClientSettings(address=address, token=TOKEN))
        self.follower = TelemetryFollower(
            pb_grpc.ControlServiceStub(self.channel),
            auth_metadata(TOKEN),
            timeout=5,
            emit=self.events.append,
            notice=self.notices.append,
        )
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.follower.follow()
        except BaseException as exc:
            self.error = exc

    def close(self) -> None:
        self.follower.stop()
        self.thread.join(10)
        self.channel.close()
        assert not self.thread.is_alive()
        assert self.error is None, self.error


def _contiguous(events: list[pb.TelemetryEvent]) -> bool:
    return [e.seq for e in events] == list(range(1, len(events) + 1))


def test_watch_resumes_after_a_dropped_connection_without_loss(bot: Bot) -> None:
    proxy = Proxy(bot.address)
    collector = Collector(proxy.address)
    try:
        wait_for(lambda: len(collector.events) >= 50, "events before the cut")
        proxy.cut()
        wait_for(lambda: any(n.startswith("reconnected") for n in collector.notices), "resume")
        at_resume = len(collector.events)
        wait_for(lambda: len(collector.events) >= at_resume + 30, "events after the cut")
    finally:
        collector.close()
        proxy.close()
    events = collector.events
    assert _contiguous(events)  # none lost, none twice
    assert len({e.run_id for e in events}) == 1
    lost, resumed = collector.notices[:2]
    assert lost.startswith("connection lost (UNAVAILABLE") and lost.endswith("; reconnecting")
    resumed_after = int(resumed.rsplit(" ", 1)[1])
    assert 50 <= resumed_after < len(events)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_watch_follows_a_restarted_bot(tmp_path: Path) -> None:
    """A new process on the same port: new run_id, so the follower starts again at seq 0."""
    address = f"127.0.0.1:{_free_port()}"
    first = start_bot(tmp_path / "first", address)
    second: Bot | None = None
    collector: Collector | None = None
    try:
        collector = Collector(address)
        wait_for(lambda: len(collector.events) >= 30, "events of the first run")
        first.process.terminate()
        assert first.process.wait(timeout=30) == 0
        second = start_bot(tmp_path / "second", address)
        follower = collector
        wait_for(lambda: len({e.run_id for e in follower.events}) == 2, "the second run")
        wait_for(lambda: collector.events[-1].seq >= 30, "more of the second run")
    finally:
        if collector is not None:
            collector.close()
        first.stop()
        if second is not None:
            second.stop()
    runs: dict[str, list[pb.TelemetryEvent]] = {}
    for event in collector.events:
        runs.setdefault(event.run_id, []).append(event)
    old, new = runs.values()  # in the order they arrived
    assert collector.events == old + new
    assert _contiguous(old) and _contiguous(new)
    # The first run was followed to its very end: the STOPPED state change is its last event.
    final = json.loads(old[-1].fields_json)
    assert (old[-1].event, final["state"]) == ("state", "STOPPED")
    assert "the bot ended the stream (shutting down?); reconnecting" in collector.notices
    restart = [n for n in collector.notices if n.startswith("the bot restarted")]
    assert restart == [
        f"the bot restarted (run {old[0].run_id} -> {new[0].run_id}): following the new run "
        "from its oldest buffered event"
    ]


def test_stop_ends_the_bot_flat(bot: Bot) -> None:
    """Last in this module: the shared bot is gone afterwards."""
    result = gridctl(bot.address, "stop")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("STOPPING")
    assert bot.process.wait(timeout=15) == 0
    assert bot.process.stdout is not None
    out = bot.process.stdout.read()
    assert "stopped after" in out
    flattened = [line for line in out.splitlines() if line.startswith("flattened: ")]
    assert len(flattened) == 1 and flattened[0].endswith("flat confirmed by the exchange")
    gone = gridctl(bot.address, "--timeout", "3", "health")
    assert gone.returncode == 4
