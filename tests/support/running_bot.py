"""Start ``gridbot run`` as a real process and talk to its control plane (tests only)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from proto.gridbot.v1 import control_pb2 as pb
from proto.gridbot.v1 import control_pb2_grpc as pb_grpc

ROOT = Path(__file__).resolve().parent.parent.parent
TOKEN = "test-token-7c1f0e9b"
_ADDRESS = re.compile(r"control plane: (\S+:\d+)")


@dataclass
class RunningBot:
    """A ``gridbot run`` process, its control-plane address and everything it printed."""

    process: subprocess.Popen[str]
    address: str
    lines: list[str] = field(default_factory=list)

    def stub(self, channel: grpc.Channel | None = None) -> pb_grpc.ControlServiceStub:
        return pb_grpc.ControlServiceStub(channel or grpc.insecure_channel(self.address))

    def status(self) -> pb.Status:
        try:
            return self.stub().GetStatus(pb.GetStatusRequest(), metadata=auth(), timeout=10)
        except grpc.RpcError:
            time.sleep(0.5)
            if self.process.poll() is not None:
                raise AssertionError(
                    f"the bot exited with {self.process.returncode}:\n{self.output}"
                ) from None
            raise

    def wait_ready(self, timeout: float = 60.0) -> pb.Status:
        """The first status once start-up reconciliation is over (UNAVAILABLE before)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.status()
            except grpc.RpcError as exc:
                starting = exc.code() is grpc.StatusCode.UNAVAILABLE
                if not starting or time.monotonic() > deadline or self.process.poll() is not None:
                    raise
            time.sleep(0.05)

    def wait_for(self, predicate: Any, timeout: float = 30.0) -> pb.Status:
        deadline = time.monotonic() + timeout
        while True:
            status = self.status()
            if predicate(status):
                return status
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not reached; last status:\n{status}")
            time.sleep(0.1)

    def wait_line(self, text: str, timeout: float = 30.0) -> str:
        """The first output line containing ``text`` (waits for it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if text in line:
                    return line
            if self.process.poll() is not None and not any(text in x for x in self.lines):
                break
            time.sleep(0.05)
        raise AssertionError(f"no line with {text!r}:\n{self.output}")

    def wait_exit(self, timeout: float = 60.0) -> int:
        return self.process.wait(timeout)

    @property
    def output(self) -> str:
        return "".join(self.lines)


def auth(token: str = TOKEN) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token}")]


def _pump(process: subprocess.Popen[str], lines: list[str], ready: threading.Event) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        if _ADDRESS.search(line):
            ready.set()
    ready.set()


@contextmanager
def running_bot(
    tmp_path: Path,
    config: dict[str, Any] | None = None,
    args: tuple[str, ...] = ("--speed", "600"),
    env: dict[str, str] | None = None,
    wait_ready: bool = True,
) -> Iterator[RunningBot]:
    """Start the bot (simulated exchange by default) and yield once it serves its control plane."""
    cfg = {"backtest": {"generated": {"minutes": 20_000}}}
    cfg.update(config or {})
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    full_env = dict(os.environ)
    full_env.update(
        GRIDBOT_DATA_DIR=str(tmp_path / "data"),
        GRIDBOT_GRPC_ADDRESS=full_env.get("GRIDBOT_GRPC_ADDRESS", "127.0.0.1:0"),
        GRIDBOT_API_TOKEN=TOKEN,
    )
    full_env.update(env or {})
    process = subprocess.Popen(
        [sys.executable, "-m", "bootstrap.cli", "run", "--config", str(path), *args],
        cwd=ROOT,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    ready = threading.Event()
    threading.Thread(target=_pump, args=(process, lines, ready), daemon=True).start()
    try:
        if not ready.wait(60):
            raise AssertionError("the bot did not start its control plane")
        match = next((m for m in map(_ADDRESS.search, lines) if m), None)
        if match is None:
            process.wait(10)
            raise AssertionError("no control plane: " + "".join(lines))
        bot = RunningBot(process, match.group(1), lines)
        if wait_ready:
            bot.wait_ready()
        yield bot
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait(10)
