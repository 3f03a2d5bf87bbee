"""The seeded plan of a validation run: which fault or kill happens at which candle.

Positions are candle counts of the replay (market time), so the same seed gives the same
plan at any replay speed; the runner carries each step out once the replay has reached it
and the bot is up. Every fault the emulator supports appears at least once; longer runs
repeat them. Kills are spread over the run (one per stratum, so they never bunch up), and
some are armed to strike in the middle of an order submission:

* ``submit_placed``: SIGKILL as the order request reaches the emulator, which then executes
  it: the order exists but the bot never saw the answer (restart must adopt it).
* ``submit_dropped``: SIGKILL as the request arrives, and the emulator drops it: the intent
  is journaled but the order never existed (restart must report it never sent).
* ``random``: SIGKILL after a random wall-clock delay, wherever the bot happens to be.

No fault is planned right before a kill: a queued fault (5xx, 429, 418, -1007, delays) is
consumed by the bot's next requests and would go to the restarting process instead. A
WebSocket stall is only noticed after the bot's silence timeout (90 s of wall time), so
stalls are planned early enough for the run to see the reconnect, and kills stay out of
that window when the run is long enough, and so do the other stream faults (new
connections would heal the stall unnoticed).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

#: Every fault type the emulator supports (``EmulatorState.inject`` names, without values).
FAULT_KINDS = (
    "http_500",
    "unknown_after_place",
    "rate_limit_429",
    "ban_418",
    "delay_ms",
    "clock_skew_ms",
    "ws_drop",
    "ws_stall",
    "listen_key_expired",
)
#: Faults queued for the next requests (the rest act at once or change the clock).
COUNTED_KINDS = frozenset(
    {"http_500", "unknown_after_place", "rate_limit_429", "ban_418", "delay_ms"}
)
STREAM_KINDS = frozenset({"ws_drop", "ws_stall", "listen_key_expired"})
#: Market hours per repetition of each fault type (stalls cost wall time: rarer).
HOURS_PER_FAULT = 8.0
HOURS_PER_STALL = 24.0
#: recvWindow of the bot (5000 ms) is exceeded by every planned skew, either way.
SKEW_MS = (6_000, 20_000)
#: Slow responses stay below the adapter's 10 s request timeout.
DELAY_MS = (200, 4_000)


class KillMode(StrEnum):
    """Where a SIGKILL strikes."""

    RANDOM = "random"
    SUBMIT_PLACED = "submit_placed"
    SUBMIT_DROPPED = "submit_dropped"


@dataclass(frozen=True, slots=True)
class FaultStep:
    """Inject ``fault`` (the emulator's name, with its value) for ``count`` requests.

    Attributes:
        at_candle: Candles replayed before the step is due.
        kind: One of :data:`FAULT_KINDS`.
        fault: The injection, e.g. ``delay_ms:800`` or ``clock_skew_ms:-9000``.
        count: Requests it applies to (counted faults; 1 otherwise).
        restores: True for the ``clock_skew_ms:0`` that ends a skew (not a new fault).
    """

    at_candle: int
    kind: str
    fault: str
    count: int = 1
    restores: bool = False


@dataclass(frozen=True, slots=True)
class KillStep:
    """SIGKILL the bot, then restart it.

    Attributes:
        at_candle: Candles replayed before the step is due.
        mode: Where it strikes (:class:`KillMode`).
        jitter_s: Wall-clock delay after the step is due (``random``), or the longest wait
            for an order request before striking anyway (``submit_*``).
    """

    at_candle: int
    mode: KillMode
    jitter_s: float


Step = FaultStep | KillStep


@dataclass(frozen=True, slots=True)
class Schedule:
    """A whole plan, steps in the order they are carried out."""

    seed: int
    candles: int
    steps: tuple[Step, ...]

    @property
    def faults(self) -> list[FaultStep]:
        """The fault injections (skew restores included)."""
        return [s for s in self.steps if isinstance(s, FaultStep)]

    @property
    def kills(self) -> list[KillStep]:
        """The SIGKILLs."""
        return [s for s in self.steps if isinstance(s, KillStep)]

    def kinds(self) -> dict[str, int]:
        """Injections per fault type (skew restores not counted)."""
        out = dict.fromkeys(FAULT_KINDS, 0)
        for step in self.faults:
            if not step.restores:
                out[step.kind] += 1
        return out

    def to_json(self) -> list[dict[str, object]]:
        """The steps as plain objects, for the report."""
        out: list[dict[str, object]] = []
        for step in self.steps:
            if isinstance(step, FaultStep):
                out.append({"at_candle": step.at_candle, "fault": step.fault, "count": step.count})
            else:
                out.append(
                    {
                        "at_candle": step.at_candle,
                        "kill": step.mode.value,
                        "jitter_s": round(step.jitter_s, 3),
                    }
                )
        return out


def build_schedule(
    seed: int,
    candles: int,
    kills: int,
    *,
    head: int | None = None,
    tail: int | None = None,
    stall_lead: int = 0,
    kill_gap: int = 4,
) -> Schedule:
    """The plan for a run of ``candles`` candles with ``kills`` SIGKILLs.

    Args:
        seed: Same seed (and arguments), same plan.
        candles: Length of the replay.
        kills: SIGKILL + restart count (at least one of each :class:`KillMode` when >= 3).
        head: Candles before the first step (the bot settles in); default 5 % (>= 3).
        tail: Candles after the last step (the bot settles before SIGTERM); default 5 %.
        stall_lead: Candles a stall needs before the end to be noticed and healed.
        kill_gap: Faults are kept at least this many candles before a kill.

    Raises:
        ValueError: The run is too short for the requested steps.
    """
    rng = random.Random(seed)
    head = max(3, candles // 20) if head is None else head
    tail = max(3, candles // 20) if tail is None else tail
    last = candles - tail
    if kills < 0 or last - head < max(kills, 1) * 2:
        raise ValueError(f"{candles} candles are too few for {kills} kills and every fault type")
    hours = candles / 60
    stalls: list[Step] = []
    for _ in range(max(1, round(hours / HOURS_PER_STALL))):
        stalls.extend(_fault(rng, "ws_stall", (head, last, candles), stall_lead, [], kill_gap))
    # A kill inside a stall's detection window would heal it before the bot notices it.
    windows = [(s.at_candle, s.at_candle + stall_lead) for s in stalls]
    kill_steps = _kills(rng, kills, head, last, windows)
    kill_at = sorted(k.at_candle for k in kill_steps)
    steps: list[Step] = [*kill_steps, *stalls]
    for kind in FAULT_KINDS:
        if kind == "ws_stall":
            continue
        # Another stream fault inside a stall's window would heal it too (new connections).
        avoid = windows if kind in STREAM_KINDS else []
        for _ in range(max(1, round(hours / HOURS_PER_FAULT))):
            steps.extend(
                _fault(rng, kind, (head, last, candles), stall_lead, kill_at, kill_gap, avoid)
            )
    steps.sort(key=_order)
    return Schedule(seed, candles, tuple(steps))


def _order(step: Step) -> tuple[int, int]:
    # At the same candle, faults go before a kill (the kill then waits for them).
    return step.at_candle, 1 if isinstance(step, KillStep) else 0


def _kills(
    rng: random.Random, kills: int, head: int, last: int, windows: list[tuple[int, int]]
) -> list[KillStep]:
    """One kill per equal stratum of the span left outside the stall windows."""
    modes = [KillMode.SUBMIT_PLACED, KillMode.SUBMIT_DROPPED, KillMode.RANDOM]
    # About half strike during a submission; at least one of each mode when there are three.
    chosen = modes[:kills] + [
        rng.choice(modes[:2]) if rng.random() < 0.5 else KillMode.RANDOM
        for _ in range(kills - len(modes[:kills]))
    ]
    rng.shuffle(chosen)
    allowed = [c for c in range(head, last + 1) if not any(a <= c < b for a, b in windows)]
    if len(allowed) < max(kills, 1) * 2:
        allowed = list(range(head, last + 1))  # too short to keep clear of the stalls
    width = len(allowed) / max(kills, 1)
    out: list[KillStep] = []
    for i, mode in enumerate(chosen):
        low = math.ceil(i * width)
        high = max(low, math.floor((i + 1) * width) - 1)
        at = allowed[rng.randint(low, min(high, len(allowed) - 1))]
        jitter = rng.uniform(0.0, 1.5) if mode is KillMode.RANDOM else 40.0
        out.append(KillStep(at, mode, jitter))
    return out


def _fault(
    rng: random.Random,
    kind: str,
    span: tuple[int, int, int],
    stall_lead: int,
    kill_at: list[int],
    kill_gap: int,
    avoid: Sequence[tuple[int, int]] = (),
) -> Iterable[FaultStep]:
    head, last, end = span
    high = last
    if kind == "ws_stall":
        high = max(head, min(last, end - stall_lead))
    for _ in range(1000):
        at = rng.randint(head, high)
        near_kill = any(0 <= k - at < kill_gap for k in kill_at)
        if not near_kill and not any(a <= at < b for a, b in avoid):
            break
    if kind == "clock_skew_ms":
        skew = rng.randint(*SKEW_MS) * rng.choice((1, -1))
        end = min(last, at + rng.randint(10, 60))
        return [
            FaultStep(at, kind, f"clock_skew_ms:{skew}"),
            FaultStep(end, kind, "clock_skew_ms:0", restores=True),
        ]
    if kind == "delay_ms":
        return [FaultStep(at, kind, f"delay_ms:{rng.randint(*DELAY_MS)}", rng.randint(1, 5))]
    counts = {"http_500": 3, "unknown_after_place": 2, "rate_limit_429": 2, "ban_418": 1}
    if kind in counts:
        return [FaultStep(at, kind, kind, rng.randint(1, counts[kind]))]
    return [FaultStep(at, kind, kind)]
