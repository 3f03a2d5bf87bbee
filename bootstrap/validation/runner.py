"""The timeline of a validation run: emulator up, bot up, the schedule, SIGTERM, the books.

Steps are carried out in order once the replay has reached their candle and the bot is up
and reconciled (a fault sent to a process that is still starting would test start-up, not
the fault). The replay stops at each step's candle until the runner has started that step
(while the step runs, it may go on up to the next step's candle), and it is held from the
moment a bot process goes down until its successor has reconciled: the wall time restarts
and evidence waits take costs no market time, so every step lands at its candle. A kill is
preceded by a short wait for the counted faults to be consumed, so each is seen by the
process it was meant for. A bot process that exits on its own is
recorded (a critical error) and restarted like a killed one, so one failure does not end
the run: the report then shows everything that happened.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from adapters.simulated.emulator import EmulatorState, RateLimits
from bootstrap.config import AppConfig, load_config
from bootstrap.containers import candle_source, simulation_settings
from bootstrap.instruments import builtin_instrument
from bootstrap.validation.adaptive import BudgetWatch, OrderAudit, read_strategy_state
from bootstrap.validation.arming import ArmedKill, RequestTally, pre_arm_gate
from bootstrap.validation.books import ExchangeBooks, read_books
from bootstrap.validation.bot_process import BotSupervisor, Life
from bootstrap.validation.emulator_host import EmulatorHost
from bootstrap.validation.market_window import Shock, replay_window
from bootstrap.validation.schedule import (
    COUNTED_KINDS,
    FaultStep,
    KillMode,
    KillStep,
    Schedule,
)
from domain.enums import MarketType

#: Longest wait for a (re)started bot to print its ``reconciled:`` line.
RECONCILE_TIMEOUT_S = 120.0
#: Longest wait for counted faults to be consumed before a kill.
CONSUME_WAIT_S = 10.0
#: Wall time left after the replay for the bot to decide on the last candles.
SETTLE_S = 3.0
#: Longest wait for the final SIGTERM's flatten.
TERMINATE_TIMEOUT_S = 120.0
#: After a start that failed, the next waits 1, 2, 4 ... s, at most this long: a supervisor's
#: back-off (a bot that refuses to start may be allowed to later, once the account moved).
RESTART_BACKOFF_MAX_S = 30.0
#: After the replay, how long the run tries to get a bot up for the final SIGTERM.
FINAL_START_S = 60.0
#: Longest hold of the replay while no bot is up: then it goes on without one (noted).
DOWN_HOLD_MAX_S = 300.0
#: Binance's first IP ban lasts 2 minutes of real time.
BINANCE_BAN_S = 120
#: A stall is noticed after the bot's 90 s silence timeout: a kill waits for that (bounded).
STALL_WAIT_S = 150.0
#: Other faults get this long to show their effect before a kill.
EVIDENCE_WAIT_S = 20.0
#: A clock skew needs a signed request to show (orders come with fills and re-centres).
SKEW_WAIT_S = 60.0
#: Log messages that show the bot noticed (and healed) each stream fault.
STREAM_EVIDENCE = {
    "ws_drop": ("reconnected",),
    "ws_stall": ("silent for",),
    "listen_key_expired": ("listen key expired", "listen key renewed"),
}


@dataclass(frozen=True)
class RunPlan:
    """What to run.

    Attributes:
        market: SPOT or USDM_FUTURES.
        symbol: The traded symbol.
        data: Kline file or directory the emulator replays.
        candles: Candles to replay (market minutes).
        speed: Candles per wall-clock second.
        schedule: The faults and kills.
        work_dir: Config, the bot's data directory and its output go here.
        bot_config: The bot's config (without the exchange URL, added once it is known).
        start_ms: Open time of the first replayed candle (None: the data's first candle +
            ``history_minutes``).
        history_minutes: Minutes of the data before the start the emulator serves as the
            past (klines, funding, mark price): the bot's first start fits its weights on it.
        shock: A seeded crash laid over the replay (None: the real data as it is).
    """

    market: MarketType
    symbol: str
    data: Path
    candles: int
    speed: float
    schedule: Schedule
    work_dir: Path
    bot_config: dict[str, Any]
    start_ms: int | None = None
    history_minutes: int = 0
    shock: Shock | None = None


@dataclass
class FaultRecord:
    """One injection as carried out."""

    step: FaultStep
    wall: float
    candle: int
    life: int
    consumed: bool | None = None
    evidence: str = ""
    survived: bool = False


@dataclass
class KillRecord:
    """One SIGKILL as carried out."""

    step: KillStep
    wall: float
    candle: int
    life: int
    struck: str = ""  # what it actually hit: the planned mode, or random after a timeout


@dataclass
class RunResult:
    """Everything a finished run produced (the checks and the report read it)."""

    plan: RunPlan
    config: AppConfig
    url: str
    host: EmulatorHost
    supervisor: BotSupervisor
    faults: list[FaultRecord]
    kills: list[KillRecord]
    books: ExchangeBooks
    final_exit: int | None
    replay_started: float
    replay_ended: float
    finished: float
    notes: list[str] = field(default_factory=list)
    audit: OrderAudit | None = None
    budget: BudgetWatch | None = None
    #: (process, when, journaled strategy checkpoint) before each kill and the SIGTERM.
    strategy_states: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    #: Order requests the bot sent (placements, modifies), against which armed kills struck.
    requests: RequestTally = field(default_factory=RequestTally)

    @property
    def lives(self) -> list[Life]:
        """Every bot process, in order."""
        return self.supervisor.lives

    @property
    def final_output(self) -> str:
        """The last process's stdout."""
        life = self.supervisor.current
        return "\n".join(life.stdout) if life is not None else ""


class Runner:
    """Carries out a :class:`RunPlan`.

    Args:
        plan: What to run.
        progress: Called with one line per step (the CLI prints them).
    """

    def __init__(self, plan: RunPlan, progress: Callable[[str], None] = lambda line: None) -> None:
        self.plan = plan
        self._say = progress
        self.faults: list[FaultRecord] = []
        self.kills: list[KillRecord] = []
        self.notes: list[str] = []
        self._pending_counted: list[FaultRecord] = []
        self._awaiting: list[tuple[FaultRecord, tuple[str, ...], int]] = []
        self._failed_starts = 0
        self._next_start = 0.0
        self._handled: set[int] = set()
        self._skipped = 0
        self._skews: list[FaultRecord] = []
        self._late: list[str] = []
        self.strategy_states: list[tuple[int, str, dict[str, Any]]] = []

    # ------------------------------------------------------------------ the run
    def run(self) -> RunResult:
        """Run the whole timeline; the emulator and the bot are stopped on return."""
        plan = self.plan
        work = plan.work_dir
        (work / "data").mkdir(parents=True, exist_ok=True)
        key, secret = "val-" + secrets.token_hex(8), secrets.token_hex(16)
        config = self._emulator_config()
        state = self._state(config, key, secret)
        audit = OrderAudit(plan.market.is_futures)
        budget = BudgetWatch()
        state.listeners.append(audit)  # before the server starts: no other thread yet
        requests = RequestTally()
        state.request_listeners.append(requests)
        budget.wrap(state.limiters[plan.market])
        host = EmulatorHost(state, plan.speed)
        supervisor: BotSupervisor | None = None
        try:
            url = host.start()
            bot_config_path = work / "config.json"
            bot_config = json.loads(json.dumps(plan.bot_config))
            bot_config.setdefault("exchange", {})["base_url"] = url
            bot_config_path.write_text(json.dumps(bot_config, indent=2), encoding="utf-8")
            env = dict(os.environ)
            env.update(
                BINANCE_API_KEY=key,
                BINANCE_API_SECRET=secret,
                GRIDBOT_DATA_DIR=str(work / "data"),
                GRIDBOT_GRPC_ADDRESS="127.0.0.1:0",
                GRIDBOT_API_TOKEN=secrets.token_hex(16),
            )
            argv = [sys.executable, "-m", "bootstrap.cli", "run", "--config", str(bot_config_path)]
            supervisor = BotSupervisor(argv, env, work, work)
            self._host, self._bot = host, supervisor
            steps = plan.schedule.steps
            host.set_gate(steps[0].at_candle if steps else None)
            self._start_bot("first start")
            host.start_replay()
            self._say(f"replay started: {plan.candles} candles at {plan.speed:g}/s on {url}")
            for index, step in enumerate(steps):
                self._wait_candle(step.at_candle)
                if not self._ensure_ready():
                    self._skipped += 1
                    continue
                # Then the market may move up to the next step (the last step's short of the
                # final candle, which comes after every step): a fault is injected first, at
                # its candle; a kill's waits (consumption, an order request) and a skew's
                # removal (which waits for the skew to show on a signed request, and those
                # come with the market's fills) need the market to move.
                last = index + 1 == len(steps)
                gate = plan.candles - 1 if last else steps[index + 1].at_candle
                if isinstance(step, FaultStep) and not step.restores:
                    self._fault(step)
                    host.set_gate(gate)
                elif isinstance(step, FaultStep):
                    host.set_gate(gate)
                    self._fault(step)
                else:
                    host.set_gate(gate)
                    self._kill(step, gate)
            host.set_gate(None)
            while not host.wait_replay(0.2):
                self._watch()
            if self._late:
                self.notes.append(
                    f"{len(self._late)} step(s) did not land at their planned candle: "
                    + "; ".join(self._late[:5])
                )
            if self._skipped:
                self.notes.append(
                    f"{self._skipped} step(s) of the schedule were skipped: the replay ended "
                    "while no bot process was up"
                )
            self._await_evidence()
            self._settle()
            self._close_faults()
            self._say("replay done; SIGTERM (graceful flatten)")
            self._record_strategy("before SIGTERM")
            final = supervisor.terminate(TERMINATE_TIMEOUT_S)
            if final is None:
                self.notes.append(f"the bot did not exit within {TERMINATE_TIMEOUT_S:.0f} s")
                supervisor.kill("SIGKILL:terminate-timeout")
            initial = dict(config.initial_balances)
            books = host.call(lambda: read_books(host.state, plan.market, plan.symbol, initial))
            return RunResult(
                plan,
                config,
                url,
                host,
                supervisor,
                self.faults,
                self.kills,
                books,
                final,
                host.replay_started,
                host.replay_ended,
                time.time(),
                self.notes,
                audit,
                budget,
                self.strategy_states,
                requests,
            )
        finally:
            host.stop()
            if supervisor is not None:
                supervisor.close()

    # ------------------------------------------------------------------ set-up
    def _emulator_config(self) -> AppConfig:
        """The bot's config without the exchange section (the emulator reads it too)."""
        plan = self.plan
        emulator_view = {k: v for k, v in plan.bot_config.items() if k != "exchange"}
        path = plan.work_dir / "emulator-config.json"
        path.write_text(json.dumps(emulator_view, indent=2), encoding="utf-8")
        return load_config(path, environ={})

    def _state(self, config: AppConfig, key: str, secret: str) -> EmulatorState:
        plan = self.plan
        instrument = builtin_instrument(plan.market, plan.symbol)
        candles = replay_window(
            candle_source(config, str(plan.data)),
            plan.start_ms,
            plan.history_minutes,
            plan.candles,
            plan.shock,
            instrument.price_filter.tick_size,
        )
        # Binance's 2-minute ban, scaled to the replay's clock (at least a second).
        ban = max(1, round(BINANCE_BAN_S / (plan.speed * 60)))
        return EmulatorState(
            [instrument],
            key,
            secret,
            candles,
            balances={plan.market: dict(config.initial_balances)},
            settings=simulation_settings(config),
            speed=0,
            wall_clock_auth=True,
            spot_limits=replace(RateLimits.spot(), ban_seconds=ban),
            futures_limits=replace(RateLimits.futures(), ban_seconds=ban),
            history_minutes=plan.history_minutes,
            replay_start_ms=plan.start_ms,
        )

    # ------------------------------------------------------------------ bot lifecycle
    def _start_bot(self, why: str) -> Life:
        bot = self._bot
        life = bot.spawn()
        if not bot.wait_reconciled(RECONCILE_TIMEOUT_S):
            self._host.hold()
            code = bot.reap(1)
            self._handled.add(life.index)
            self._failed_starts += 1
            backoff = min(RESTART_BACKOFF_MAX_S, 2.0 ** (self._failed_starts - 1))
            self._next_start = time.time() + backoff
            last = life.stderr[-1] if life.stderr else ""
            self.notes.append(
                f"process {life.index} ({why}) did not reconcile (exit code {code}): {last}"
            )
            self._say(
                f"process {life.index} did not reconcile (exit code {code}); next start in "
                f"{backoff:g} s"
            )
        else:
            self._failed_starts = 0
            self._host.release()
            self._say(
                f"process {life.index} ({why}) reconciled in {life.time_to_reconciled:.2f} s: "
                f"{life.reconciled_line}"
            )
        return life

    def _watch(self) -> None:
        """Restart a bot process that ended without the harness asking (with back-off)."""
        bot, host = self._bot, self._host
        life = bot.current
        if host.held and time.time() - host.held_since > DOWN_HOLD_MAX_S:
            host.release()
            self.notes.append(
                f"no bot was up for {DOWN_HOLD_MAX_S:.0f} s: the replay went on without one "
                f"from candle {host.candles_fed}"
            )
        if life is None or bot.alive() or life.ended_by is not None:
            return
        if life.index not in self._handled:
            host.hold()
            code = bot.reap(5)
            self._handled.add(life.index)
            self.notes.append(f"process {life.index} exited on its own with code {code}")
            self._say(f"process {life.index} exited on its own ({code}); restarting")
        if time.time() >= self._next_start:
            self._start_bot("restart after an unexpected exit")

    def _ensure_ready(self) -> bool:
        """Wait (restarting as needed) until a bot is up and reconciled, or the replay ends."""
        bot, host = self._bot, self._host
        while True:
            self._watch()
            if bot.ready():
                return True
            if host.replay_done:
                return False
            if bot.alive():
                bot.wait_reconciled(1.0)
            else:
                time.sleep(0.2)

    def _wait_candle(self, candle: int) -> None:
        host = self._host
        while host.candles_fed < candle and not host.replay_done:
            self._watch()
            time.sleep(0.05)

    def _settle(self) -> None:
        """Let the bot decide on the last candles; get one up for the SIGTERM if none is."""
        deadline = time.monotonic() + SETTLE_S
        while time.monotonic() < deadline:
            self._watch()
            time.sleep(0.1)
        deadline = time.monotonic() + FINAL_START_S
        while not self._bot.ready() and time.monotonic() < deadline:
            self._watch()
            time.sleep(0.2)

    # ------------------------------------------------------------------ faults
    def _fault(self, step: FaultStep) -> None:
        bot = self._bot
        if step.restores or step.kind in STREAM_EVIDENCE:
            # A skew must reach the bot before it is removed; a stream fault must not heal
            # an earlier one (a ws_drop replaces stalled connections) before it is noticed.
            self._await_evidence()
        life = bot.current
        self._host.inject(step.fault, step.count)
        if self._host.candles_fed != step.at_candle and not step.restores:
            self._late.append(f"{_describe(step)} at candle {self._host.candles_fed}")
        record = FaultRecord(
            step, time.time(), self._host.candles_fed, life.index if life is not None else -1
        )
        self.faults.append(record)
        if step.kind in COUNTED_KINDS:
            self._pending_counted.append(record)
        if step.kind in STREAM_EVIDENCE and (
            self.plan.market.is_futures or step.kind != "listen_key_expired"
        ):
            patterns = STREAM_EVIDENCE[step.kind]
            self._awaiting.append((record, patterns, self._log_count(patterns)))
        if step.kind == "clock_skew_ms" and not step.restores:
            self._skews.append(record)
        self._say(f"candle {record.candle}: fault {step.fault} x{step.count}")

    def _log_count(self, patterns: tuple[str, ...]) -> int:
        """Occurrences of ``patterns`` in the bot's log so far (every rotated file)."""
        log = self.plan.work_dir / "data" / "gridbot.log"
        count = 0
        for file in [log, *log.parent.glob(log.name + ".*")]:
            with contextlib.suppress(OSError):
                text = file.read_bytes()
                count += sum(text.count(p.encode()) for p in patterns)
        return count

    def _await_evidence(self) -> None:
        """Before a kill or the SIGTERM: let the bot react to the faults it was just sent.

        Otherwise the kill would heal a stream fault (a new process opens new connections)
        or take a clock skew's first -1021 away from the process it was meant for. Bounded:
        a bot that never reacts is a finding of the report, not a reason to hang.
        """
        heard_from = 0.0
        for record, patterns, before in self._awaiting:
            wait = STALL_WAIT_S if record.step.kind == "ws_stall" else EVIDENCE_WAIT_S
            deadline = record.wall + wait
            while time.time() < deadline and self._log_count(patterns) <= before:
                self._watch()
                time.sleep(0.25)
            time.sleep(1.0)  # a reconnect line follows the silence or renewal line
            heard_from = time.time()
        self._awaiting.clear()
        for record in self._skews:
            # A bot whose streams were silent got no candles and sent nothing: its skew can
            # only show once it is back (the reconnect's resync is signed), so the wait for
            # it starts then, not at the injection.
            deadline = max(record.wall, heard_from) + SKEW_WAIT_S
            rejections = self._host.api.timestamp_rejections
            while time.time() < deadline and not any(t >= record.wall for t in rejections):
                self._watch()
                time.sleep(0.25)
        self._skews.clear()

    def _consumed(self) -> bool:
        """Whether every queued counted fault was consumed (records them when so)."""
        pending = self._host.pending_faults()
        queued = {k for k in pending if k not in ("clock_skew_ms",)}
        for record in list(self._pending_counted):
            if record.step.kind not in queued:
                record.consumed = True
                self._pending_counted.remove(record)
        return not queued

    def _close_faults(self) -> None:
        deadline = time.monotonic() + CONSUME_WAIT_S
        while not self._consumed() and time.monotonic() < deadline:
            time.sleep(0.1)
        for record in self._pending_counted:
            record.consumed = False

    # ------------------------------------------------------------------ kills
    def _record_strategy(self, when: str) -> None:
        """Keep the bot's journaled strategy checkpoint as it stands (read-only).

        The final SIGTERM's flatten starts the grid afresh, so the counters the report
        shows are the ones journaled before it; the ones before each kill show whether a
        restart carried them on.
        """
        life = self._bot.current
        state = read_strategy_state(self.plan.work_dir / "data" / "gridbot.db")
        if state is not None:
            self.strategy_states.append((life.index if life is not None else -1, when, state))

    def _kill(self, step: KillStep, gate: int) -> None:
        bot, host = self._bot, self._host
        if step.armed:
            # The waits below (evidence, consumption) must not replay the arming window away.
            host.set_gate(pre_arm_gate(step, gate))
        self._record_strategy("before SIGKILL")
        self._await_evidence()
        deadline = time.monotonic() + CONSUME_WAIT_S
        while not self._consumed() and time.monotonic() < deadline:
            self._watch()
            time.sleep(0.1)
        life = bot.current
        record = KillRecord(
            step, time.time(), host.candles_fed, life.index if life is not None else -1
        )
        self.kills.append(record)
        if step.mode is KillMode.RANDOM:
            time.sleep(step.jitter_s)
            record.wall = time.time()
            record.struck = KillMode.RANDOM.value
            host.hold()
            bot.kill("SIGKILL:random")
        else:
            record.struck = self._kill_on_submit(step, gate)
            host.set_gate(gate)  # held until the restart reconciles
        record.candle = host.candles_fed
        self._say(f"candle {record.candle}: SIGKILL ({record.struck}); restarting")
        bot.reap(30)
        self._start_bot(f"restart after SIGKILL {record.struck}")

    def _kill_on_submit(self, step: KillStep, gate: int) -> str:
        """Arm the emulator to SIGKILL the bot as its next order (or modify) request arrives.

        ``submit_*`` strike a new order, ``modify`` an order modification (the emulator
        executes it: the order was changed but the bot never saw the answer). The kill
        stays armed across candles to the end of its window (see
        :mod:`bootstrap.validation.arming`): the replay's gate stands there meanwhile.
        """
        bot, host = self._bot, self._host
        pid = bot.pid
        armed = ArmedKill.arm(step, host.candles_fed, gate, self.plan.speed, time.time())
        struck = threading.Event()
        reason = f"SIGKILL:{step.mode.value}"

        def listener(method: str, path: str, new_order: bool) -> bool:
            if pid is None or not armed.strikes(method, path, new_order):
                return True
            bot.mark_ended_by(reason)
            host.hold_now()  # this runs on the loop thread: no candle after the strike
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            struck.set()
            return not armed.drops

        state = host.state
        host.set_gate(armed.window_end)
        host.call(lambda: state.request_listeners.append(listener))
        self._say(
            f"candle {host.candles_fed}: {step.mode.value} kill armed to candle {armed.window_end}"
        )
        while not struck.wait(0.25):
            if armed.gives_up(host.candles_fed, host.waiting_since, host.held, time.time()):
                break
        host.call(lambda: state.request_listeners.remove(listener))
        if struck.is_set():
            return step.mode.value
        host.hold()
        bot.kill("SIGKILL:random")
        return armed.fallback(host.candles_fed)


def _describe(step: FaultStep | KillStep) -> str:
    """A step in a few words, for notes."""
    if isinstance(step, FaultStep):
        return f"fault {step.fault} planned at candle {step.at_candle}"
    return f"kill ({step.mode.value}) planned at candle {step.at_candle}"
