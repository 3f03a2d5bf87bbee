"""The bot under validation as a real OS process: spawn, SIGKILL, restart, SIGTERM, RSS.

A separate process, exactly as a user runs it (``gridbot run --config ...``), so a SIGKILL
loses everything not yet on disk and a restart has only the journal to go on. Each
process's lifetime is a :class:`Life`: when it started, when it printed its
``reconciled: ...`` line (time-to-reconciled), how it ended and with which exit code, and
whether its stderr held a traceback. Output goes to files beside the report's data and is
kept in memory for the checks; a sampler thread reads the resident set size from
``/proc/<pid>/status`` once a second.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

RECONCILED = "reconciled:"
FLAT_CONFIRMED = "flat confirmed by the exchange"
RSS_PERIOD_S = 1.0


@dataclass
class Life:
    """One process of the bot, from spawn to exit.

    Attributes:
        index: 0 for the first start, then one per restart.
        pid: Its process id.
        started: Wall-clock spawn time (s).
        reconciled_at: When it printed the ``reconciled:`` line, or None.
        reconciled_line: That line.
        ended: When it exited, or None while alive.
        exit_code: Its exit code (negative: killed by that signal).
        ended_by: What the harness did to end it (``SIGKILL:<mode>``, ``SIGTERM``), or None
            when it exited on its own.
        stdout: Every line it printed.
        stderr: Every line of its stderr.
    """

    index: int
    pid: int
    started: float
    reconciled_at: float | None = None
    reconciled_line: str = ""
    ended: float | None = None
    exit_code: int | None = None
    ended_by: str | None = None
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)

    @property
    def time_to_reconciled(self) -> float | None:
        """Seconds from spawn to reconciled."""
        return None if self.reconciled_at is None else self.reconciled_at - self.started

    @property
    def tracebacks(self) -> int:
        """Python tracebacks in its stderr."""
        return sum(1 for line in self.stderr if line.startswith("Traceback"))


class BotSupervisor:
    """Starts the bot, and starts it again after every kill.

    Args:
        argv: The command (``[python, -m, bootstrap.cli, run, --config, FILE]``).
        env: Its full environment.
        cwd: Its working directory.
        output_dir: Where each life's stdout / stderr are written (``bot-<n>.out/.err``).
    """

    def __init__(
        self, argv: Sequence[str], env: dict[str, str], cwd: Path, output_dir: Path
    ) -> None:
        self._argv = list(argv)
        self._env = env
        self._cwd = cwd
        self._output_dir = output_dir
        self.lives: list[Life] = []
        #: (wall time s, pid, RSS bytes), about once a second while a process lives.
        self.rss: list[tuple[float, int, int]] = []
        self._process: subprocess.Popen[str] | None = None
        self._reconciled = threading.Event()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, name="validation-rss", daemon=True)
        self._sampler.start()

    # ------------------------------------------------------------------ control
    @property
    def current(self) -> Life | None:
        """The latest life (alive or not)."""
        return self.lives[-1] if self.lives else None

    @property
    def pid(self) -> int | None:
        """The pid of the running process, None when none runs."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def alive(self) -> bool:
        """The current process is running."""
        return self.pid is not None

    def ready(self) -> bool:
        """The current process is running and has reconciled."""
        return self.alive() and self._reconciled.is_set()

    def spawn(self) -> Life:
        """Start a new process (the previous one must have exited)."""
        if self.alive():
            raise RuntimeError("the bot is still running")
        self._reconciled.clear()
        index = len(self.lives)
        process = subprocess.Popen(
            self._argv,
            cwd=self._cwd,
            env=self._env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        life = Life(index, process.pid, time.time())
        with self._lock:
            self._process = process
            self.lives.append(life)
        assert process.stdout is not None and process.stderr is not None
        for stream, lines, suffix, watch in (
            (process.stdout, life.stdout, "out", True),
            (process.stderr, life.stderr, "err", False),
        ):
            path = self._output_dir / f"bot-{index:03d}.{suffix}"
            threading.Thread(
                target=self._pump,
                args=(stream, lines, path, life if watch else None),
                name=f"validation-bot-{suffix}",
                daemon=True,
            ).start()
        return life

    def wait_reconciled(self, timeout: float) -> bool:
        """Wait until the current process has reconciled; False on timeout or exit."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._reconciled.wait(0.1):
                return True
            if not self.alive():
                return self._reconciled.is_set()
        return False

    def kill(self, reason: str) -> int | None:
        """SIGKILL the current process (if it runs) and reap it; its exit code."""
        pid = self.pid
        if pid is not None:
            self.mark_ended_by(reason)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return self.reap(30)

    def mark_ended_by(self, reason: str) -> None:
        """Record why the current process is about to end (set before the signal)."""
        life = self.current
        if life is not None and life.ended_by is None:
            life.ended_by = reason

    def terminate(self, timeout: float) -> int | None:
        """SIGTERM (graceful flatten) and wait up to ``timeout`` s; the exit code or None."""
        pid = self.pid
        if pid is None:
            return self.reap(1)
        self.mark_ended_by("SIGTERM")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        return self.reap(timeout)

    def reap(self, timeout: float) -> int | None:
        """Wait for the current process to exit and record it; its exit code or None."""
        process = self._process
        life = self.current
        if process is None or life is None:
            return None
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        if life.ended is None:
            life.ended = time.time()
            life.exit_code = code
        # Give the pump threads a moment to read what the pipes still hold.
        time.sleep(0.2)
        return code

    def close(self) -> None:
        """Stop the sampler; SIGKILL a process still running (never leave one behind)."""
        self._stop.set()
        if self.alive():
            self.kill("SIGKILL:cleanup")
        self._sampler.join(5)

    # ------------------------------------------------------------------ threads
    def _pump(self, stream: IO[str], lines: list[str], path: Path, life: Life | None) -> None:
        with path.open("w", encoding="utf-8") as copy:
            for line in stream:
                lines.append(line.rstrip("\n"))
                copy.write(line)
                copy.flush()
                if life is not None and line.startswith(RECONCILED) and life.reconciled_at is None:
                    life.reconciled_at = time.time()
                    life.reconciled_line = line.strip()
                    self._reconciled.set()

    def _sample(self) -> None:
        while not self._stop.wait(RSS_PERIOD_S):
            pid = self.pid
            if pid is None:
                continue
            rss = read_rss(pid)
            if rss is not None:
                self.rss.append((time.time(), pid, rss))


def read_rss(pid: int) -> int | None:
    """Resident set size of ``pid`` in bytes (Linux ``/proc``), None if it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None
