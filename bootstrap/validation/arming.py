"""An armed kill: which request it strikes, and when it gives up and strikes at random.

An armed kill (``submit_placed``, ``submit_dropped``, ``modify``) waits for its request
across candles, up to the end of its arming window (:attr:`KillStep.arm_candles` market
candles from when it is armed, always ending the schedule's kill room before the next
step's candle). The runner sets the replay's
gate to the window's end while the kill is armed, so the kill cannot strike inside the
room the schedule keeps before the next step; once the replay has stood at that gate for
:data:`ARMED_AT_GATE_S` without the request (no more candles can bring one), the kill falls
back to a random one, and the report says why. The decisions are kept apart from the
threads and the processes here, so they can be tested with a fake clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from bootstrap.validation.schedule import KILL_ROOM, KillMode, KillStep

#: The requests that modify a resting order (futures in place, spot cancel-replace).
MODIFY_REQUESTS = frozenset({("PUT", "/fapi/v1/order"), ("POST", "/api/v3/order/cancelReplace")})
#: An armed kill that has seen no request this long after the replay reached the end of its
#: window strikes at once (no more candles can bring one).
ARMED_AT_GATE_S = 5.0
#: Wall time allowed on top of the window's own (candles / speed) before an armed kill gives
#: up whatever the replay does (a replay that stopped for another reason must not hang it).
ARMED_SLACK_S = 120.0


def pre_arm_gate(step: KillStep, next_gate: int) -> int:
    """How far the replay may go while an armed kill waits to be armed (evidence, faults).

    A quarter of its window: those waits need some market (queued faults are consumed by
    the requests that come with it), but must not replay the window away.
    """
    return min(next_gate, step.at_candle + max(1, step.arm_candles // 4))


def is_modify(method: str, path: str) -> bool:
    """Whether a request modifies a resting order (futures PUT, spot cancel-replace)."""
    return (method, path) in MODIFY_REQUESTS


@dataclass
class ArmedKill:
    """One armed kill while it waits.

    Attributes:
        mode: ``submit_placed``, ``submit_dropped`` or ``modify``.
        armed_at: Candles replayed when it was armed.
        window_end: The candle the replay may reach while it waits (its gate).
        deadline: Wall-clock time (s) after which it gives up whatever the replay does.
        struck: Set once its request arrived.
    """

    mode: KillMode
    armed_at: int
    window_end: int
    deadline: float
    struck: bool = False

    @classmethod
    def arm(
        cls,
        step: KillStep,
        candles_fed: int,
        next_gate: int,
        speed: float,
        now: float,
        room: int = KILL_ROOM,
    ) -> ArmedKill:
        """Arm ``step`` now, for ``step.arm_candles`` candles from now (or from its candle).

        The waits before a kill (a fault's evidence, queued faults consumed) may have
        replayed part of the window already (see :func:`pre_arm_gate`): the window starts
        when the kill is armed, so it keeps its length, but it always ends ``room`` candles
        before the next step (the schedule keeps ``arm_candles + room`` free after a kill).

        Args:
            step: An armed kill step.
            candles_fed: Candles replayed when it is armed.
            next_gate: The next step's candle (or the replay's last).
            speed: Candles per wall-clock second.
            now: Wall-clock time.
            room: Candles kept between the window's end and the next step.
        """
        if not step.armed:
            raise ValueError(f"a {step.mode.value} kill is not armed")
        start = max(candles_fed, step.at_candle)
        end = min(next_gate - room, start + step.arm_candles)
        end = max(end, min(candles_fed + 1, next_gate))  # at least one candle, if any is left
        wall = (end - candles_fed) / speed + ARMED_AT_GATE_S + ARMED_SLACK_S
        return cls(step.mode, candles_fed, end, now + wall)

    def strikes(self, method: str, path: str, new_order: bool) -> bool:
        """Whether this request is the one to strike (at most once).

        A submission kill strikes a placement, a modify kill a modify; any other request
        passes. The caller kills the process when this returns True.
        """
        if self.struck or not new_order or is_modify(method, path) is not self.modify:
            return False
        self.struck = True
        return True

    @property
    def modify(self) -> bool:
        """Whether it waits for a modify rather than a placement."""
        return self.mode is KillMode.MODIFY

    @property
    def drops(self) -> bool:
        """Whether the struck request is dropped (never executed) rather than executed."""
        return self.mode is KillMode.SUBMIT_DROPPED

    def gives_up(self, candles_fed: int, waiting_since: float, held: bool, now: float) -> bool:
        """Whether to stop waiting and strike at random.

        Args:
            candles_fed: Candles replayed so far.
            waiting_since: Wall time since which the replay stands at its gate (0: moving).
            held: Whether the replay is held (the bot is down: not a wait at the gate).
            now: Wall-clock time.
        """
        if self.struck:
            return False
        if now >= self.deadline:
            return True
        at_end = candles_fed >= self.window_end and waiting_since > 0 and not held
        return at_end and now - waiting_since > ARMED_AT_GATE_S

    def fallback(self, candles_fed: int) -> str:
        """What the report says a kill that gave up struck."""
        what = "modify" if self.modify else "order"
        return (
            f"random (no {what} request in {candles_fed - self.armed_at} candles armed, "
            f"window to candle {self.window_end})"
        )


@dataclass
class RequestTally:
    """The order requests the bot sent over the run (a request listener of the emulator).

    The report sets the armed kills that struck against these: a modify kill that fell back
    in a run with few modifies says something about the market, not about the harness.

    Attributes:
        placements: New-order requests.
        modifies: Modify requests (futures PUT, spot cancel-replace).
    """

    placements: int = 0
    modifies: int = 0

    def __call__(self, method: str, path: str, new_order: bool) -> bool:
        """Count one request; never drops it."""
        if new_order:
            if is_modify(method, path):
                self.modifies += 1
            else:
                self.placements += 1
        return True
