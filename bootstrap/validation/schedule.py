"""The seeded plan of a validation run: which fault or kill happens at which candle.

Positions are candle counts of the replay (market time), so the same seed gives the same
plan at any replay speed. The runner holds the replay at each step's candle until it has
carried the step out, and while the bot is down, so every step lands at its candle however
long restarts and evidence take in wall time. Every fault the emulator supports appears at
least once; longer runs repeat them. Some kills are armed to strike in the middle of an
order submission:

* ``submit_placed``: SIGKILL as the order request reaches the emulator, which then executes
  it: the order exists but the bot never saw the answer (restart must adopt it).
* ``submit_dropped``: SIGKILL as the request arrives, and the emulator drops it: the intent
  is journaled but the order never existed (restart must report it never sent).
* ``modify``: SIGKILL as a modify request (futures ``PUT /fapi/v1/order``, spot
  cancel-replace) reaches the emulator, which executes it: restart must find the order as
  the exchange changed it.
* ``random``: SIGKILL after a random wall-clock delay, wherever the bot happens to be.

An adaptive grid sends few orders and modifies them in bursts (a re-centre moves every
order at once, hours apart), so an armed kill stays armed across candles: it gets an
*arming window* of ``arm_candles`` market candles in which no other step is planned, and it
strikes as soon as its request arrives in that window. Only a kill whose window passes
without one falls back to a random kill (the report says so). The windows are taken from
the run's spare candles (at most :data:`ARM_SHARE` of them, a ``modify`` weighing
:data:`ARM_WEIGHT` times a submission, each capped at :data:`ARM_CANDLES`), so they never
make a plan infeasible: a short run gets short windows.

The steps are laid out as a seeded sequence with minimum gaps, and the run's spare candles
are spread at random between them:

* a kill is followed by ``kill_room`` candles without any other step, so the restarted bot
  trades again (and an armed kill sees order requests) before the next step;
* a fault is at least ``kill_gap`` candles before the next kill: a queued fault (5xx, 429,
  418, -1007, delays) is consumed by the bot's next requests, and right before a kill it
  would go to the restarting process instead;
* a clock skew is removed by the very next step, ``skew_span`` candles later, and the
  removal is followed by ``kill_gap`` candles whatever comes next: the skew shows on a
  signed request, which comes with the market's fills (the runner may hold the removal
  back that far for it), and a kill in between would hand the skew to a new process,
  which syncs its clock at start;
* a WebSocket stall is followed by ``stall_lead`` candles before any other step: the market
  the bot misses while its streams are silent, backfilled once it notices.

A plan that cannot give every step its gaps is refused up front (:class:`ValueError`, one
line naming the most kills that fit), whatever the seed, so no step is ever squeezed past
the end of the replay.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, replace
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
#: Candles after a kill before any other step (the default of :func:`build_schedule`).
KILL_ROOM = 3
#: Share of the spare candles given to the armed kills' arming windows (the rest is spread
#: at random between the steps).
ARM_SHARE = 0.75


class KillMode(StrEnum):
    """Where a SIGKILL strikes."""

    RANDOM = "random"
    SUBMIT_PLACED = "submit_placed"
    SUBMIT_DROPPED = "submit_dropped"
    MODIFY = "modify"


#: The longest arming window per armed mode, in market candles: modifies come in bursts
#: hours apart (the 72 h futures run saw 27 re-centres), placements more often.
ARM_CANDLES = {KillMode.SUBMIT_PLACED: 120, KillMode.SUBMIT_DROPPED: 120, KillMode.MODIFY: 240}
#: How much more of the spare candles a modify's window gets than a submission's.
ARM_WEIGHT = {KillMode.SUBMIT_PLACED: 1, KillMode.SUBMIT_DROPPED: 1, KillMode.MODIFY: 3}


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
        jitter_s: Wall-clock delay after the step is due (``random``; 0 for armed kills).
        arm_candles: Armed kills: market candles after ``at_candle`` during which the kill
            waits for its request before falling back to a random kill (0 for ``random``).
    """

    at_candle: int
    mode: KillMode
    jitter_s: float
    arm_candles: int = 0

    @property
    def armed(self) -> bool:
        """Whether the kill waits for a request (``submit_*``, ``modify``)."""
        return self.mode is not KillMode.RANDOM


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
                        "arm_candles": step.arm_candles,
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
    kill_room: int = KILL_ROOM,
    skew_span: int = 8,
) -> Schedule:
    """The plan for a run of ``candles`` candles with ``kills`` SIGKILLs.

    Args:
        seed: Same seed (and arguments), same plan.
        candles: Length of the replay.
        kills: SIGKILL + restart count (at least one of each :class:`KillMode` when >= 3).
        head: Candles before the first step (the bot settles in); default 5 % (>= 3).
        tail: Candles after the last step (the bot settles before SIGTERM); default 5 %.
        stall_lead: Candles replayed during a stall before the next step (or the end).
        kill_gap: Faults are kept at least this many candles before a kill.
        kill_room: Candles after a kill before any other step.
        skew_span: Candles from a clock skew to its removal (at least ``kill_gap``).

    Raises:
        ValueError: The run is too short to give every step its gaps (for any seed).
    """
    head = max(3, candles // 20) if head is None else head
    tail = max(3, candles // 20) if tail is None else tail
    if kills < 0 or kill_gap < 1 or kill_room < 1 or stall_lead < 0 or skew_span < kill_gap:
        raise ValueError(
            "kills, stall_lead >= 0, kill_gap, kill_room >= 1, skew_span >= kill_gap required"
        )
    rng = random.Random(seed)
    gaps = _Gaps(kill_gap, kill_room, stall_lead, skew_span)
    events: list[Step] = [*_kill_steps(rng, kills), *_fault_steps(rng, candles / 60)]
    need = head + tail + sum(gaps.most_after(e) for e in events)
    if need > candles:
        faults_need = sum(gaps.most_after(e) for e in events if isinstance(e, FaultStep))
        fit = max(0, (candles - head - tail - faults_need) // kill_room)
        raise ValueError(
            f"{candles} candles ({candles / 60:g} market hours) are too few for {kills} kills "
            f"and every fault type: at most {fit} kills fit (each kill needs {kill_room} "
            f"candles after it, the {len(events) - kills} fault steps {faults_need}, the ends "
            f"{head + tail}); use fewer --kills or more --hours"
        )
    rng.shuffle(events)
    events = _pair_skews(events)
    # The least position of each step given the gaps, the armed kills' windows out of the
    # spare candles, then the rest of the spare candles spread at random.
    least = [0]
    for before, after in itertools.pairwise(events):
        least.append(least[-1] + gaps.between(before, after))
    end_gap = max(tail, gaps.between(events[-1], None)) if events else tail
    spare = candles - head - end_gap - (least[-1] if events else 0)
    events = arming_windows(events, int(spare * ARM_SHARE))
    least = [0]
    for before, after in itertools.pairwise(events):
        least.append(least[-1] + gaps.between(before, after))
    end_gap = max(tail, gaps.between(events[-1], None)) if events else tail
    spare = candles - head - end_gap - (least[-1] if events else 0)
    cuts = sorted(rng.randint(0, spare) for _ in events)
    steps = [
        replace(e, at_candle=head + lo + cut)
        for e, lo, cut in zip(events, least, cuts, strict=True)
    ]
    return Schedule(seed, candles, tuple(steps))


@dataclass(frozen=True, slots=True)
class _Gaps:
    """The minimum candles between two consecutive steps (see the module docstring)."""

    kill_gap: int
    kill_room: int
    stall_lead: int
    skew_span: int

    def between(self, before: Step, after: Step | None) -> int:
        """Candles from ``before`` to ``after`` (``None``: the end of the replay)."""
        if isinstance(before, KillStep):
            # An armed kill may strike at the end of its window: the room follows that.
            return before.arm_candles + (self.kill_room if after is not None else 0)
        to_kill = self.kill_gap if isinstance(after, KillStep) else 0
        if before.kind == "ws_stall":
            return max(self.stall_lead, to_kill)
        if before.kind == "clock_skew_ms" and after is not None:
            # The removal may wait for the skew's evidence while the market moves on.
            return self.kill_gap if before.restores else self.skew_span
        return to_kill

    def most_after(self, step: Step) -> int:
        """The largest gap ``step`` can need before whatever follows it."""
        if isinstance(step, KillStep):
            return self.kill_room
        if step.kind == "ws_stall":
            return max(self.stall_lead, self.kill_gap)
        if step.kind == "clock_skew_ms" and not step.restores:
            return self.skew_span
        return self.kill_gap


def arming_windows(events: list[Step], budget: int) -> list[Step]:
    """``events`` with each armed kill's ``arm_candles`` set, ``budget`` candles in all.

    Each armed kill gets a share of ``budget`` by its mode's :data:`ARM_WEIGHT`, capped at
    :data:`ARM_CANDLES`; what a capped kill leaves goes to the others, so the budget is
    used as far as the caps allow (no randomness: the seed's shuffle already placed them).
    """
    armed = {i: e.mode for i, e in enumerate(events) if isinstance(e, KillStep) and e.armed}
    window = dict.fromkeys(armed, 0)
    open_ = list(armed)
    left = max(0, budget)
    while open_ and left > 0:
        total = sum(ARM_WEIGHT[armed[i]] for i in open_)
        given = 0
        for i in open_:
            share = min(ARM_CANDLES[armed[i]] - window[i], left * ARM_WEIGHT[armed[i]] // total)
            window[i] += share
            given += share
        left -= given
        open_ = [i for i in open_ if window[i] < ARM_CANDLES[armed[i]]]
        if given == 0:
            break  # fewer candles left than kills to share them
    return [
        replace(e, arm_candles=window[i]) if isinstance(e, KillStep) and i in window else e
        for i, e in enumerate(events)
    ]


def _kill_steps(rng: random.Random, kills: int) -> list[KillStep]:
    """The kills (candle not yet set): about half strike during a submission or a modify."""
    modes = [KillMode.SUBMIT_PLACED, KillMode.SUBMIT_DROPPED, KillMode.MODIFY, KillMode.RANDOM]
    # At least one of each mode when there are four.
    chosen = modes[:kills] + [
        rng.choice(modes[:3]) if rng.random() < 0.5 else KillMode.RANDOM
        for _ in range(kills - len(modes[:kills]))
    ]
    return [
        KillStep(0, mode, rng.uniform(0.0, 1.5) if mode is KillMode.RANDOM else 0.0)
        for mode in chosen
    ]


def _fault_steps(rng: random.Random, hours: float) -> list[FaultStep]:
    """Every fault type, repeated for long runs (candle not yet set; skews with a restore)."""
    out: list[FaultStep] = []
    for kind in FAULT_KINDS:
        per_hours = HOURS_PER_STALL if kind == "ws_stall" else HOURS_PER_FAULT
        for _ in range(max(1, round(hours / per_hours))):
            out.extend(_fault(rng, kind))
    return out


def _pair_skews(events: list[Step]) -> list[Step]:
    """Put each skew's removal right after it (the shuffle placed the skews, not these)."""
    out: list[Step] = []
    restores = [e for e in events if isinstance(e, FaultStep) and e.restores]
    for event in events:
        if isinstance(event, FaultStep) and event.restores:
            continue
        out.append(event)
        if isinstance(event, FaultStep) and event.kind == "clock_skew_ms":
            out.append(restores.pop())
    return out


def _fault(rng: random.Random, kind: str) -> list[FaultStep]:
    if kind == "clock_skew_ms":
        skew = rng.randint(*SKEW_MS) * rng.choice((1, -1))
        return [
            FaultStep(0, kind, f"clock_skew_ms:{skew}"),
            FaultStep(0, kind, "clock_skew_ms:0", restores=True),
        ]
    if kind == "delay_ms":
        return [FaultStep(0, kind, f"delay_ms:{rng.randint(*DELAY_MS)}", rng.randint(1, 5))]
    counts = {"http_500": 3, "unknown_after_place": 2, "rate_limit_429": 2, "ban_418": 1}
    if kind in counts:
        return [FaultStep(0, kind, kind, rng.randint(1, counts[kind]))]
    return [FaultStep(0, kind, kind)]
