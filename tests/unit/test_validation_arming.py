"""Armed kills of ``gridbot validate``: what they strike, and when they give up (fake clock)."""

from __future__ import annotations

import pytest

from bootstrap.validation.arming import (
    ARMED_AT_GATE_S,
    ArmedKill,
    RequestTally,
    pre_arm_gate,
)
from bootstrap.validation.schedule import KillMode, KillStep

PUT = ("PUT", "/fapi/v1/order")
POST = ("POST", "/fapi/v1/order")
REPLACE = ("POST", "/api/v3/order/cancelReplace")
SPOT_POST = ("POST", "/api/v3/order")
SPEED = 4.0


def armed(mode: KillMode, at: int = 100, window: int = 60, fed: int = 100, gate: int = 400):
    return ArmedKill.arm(KillStep(at, mode, 0.0, window), fed, gate, SPEED, now=1_000.0)


def test_the_window_keeps_its_length_and_the_room_before_the_next_step() -> None:
    assert armed(KillMode.MODIFY).window_end == 160
    # Armed late (the waits for a fault's evidence): the window keeps its length ...
    assert armed(KillMode.MODIFY, fed=115).window_end == 175
    # ... but ends the schedule's kill room (3) before the next step, at candle 170 here.
    assert armed(KillMode.MODIFY, fed=115, gate=170).window_end == 167
    # No window (a tight plan): at least the next candle, never past the next step.
    assert armed(KillMode.SUBMIT_PLACED, window=0).window_end == 101
    assert armed(KillMode.SUBMIT_PLACED, window=0, fed=140, gate=140).window_end == 140


def test_the_waits_before_arming_may_replay_a_quarter_of_the_window() -> None:
    step = KillStep(100, KillMode.MODIFY, 0.0, 60)
    assert pre_arm_gate(step, 400) == 115
    assert pre_arm_gate(step, 110) == 110
    assert pre_arm_gate(KillStep(100, KillMode.SUBMIT_PLACED, 0.0, 0), 400) == 101
    # Armed at that gate, the schedule's windows (arm + room before the next step) still
    # give it the whole window.
    kill = ArmedKill.arm(step, 115, 100 + 60 + 3, SPEED, now=0.0)
    assert kill.window_end - 115 >= 60 - 60 // 4


def test_a_random_kill_cannot_be_armed() -> None:
    with pytest.raises(ValueError, match="not armed"):
        armed(KillMode.RANDOM)


@pytest.mark.parametrize(
    ("mode", "strikes", "passes"),
    [
        (KillMode.MODIFY, [PUT, REPLACE], [POST, SPOT_POST]),
        (KillMode.SUBMIT_PLACED, [POST, SPOT_POST], [PUT, REPLACE]),
        (KillMode.SUBMIT_DROPPED, [POST, SPOT_POST], [PUT, REPLACE]),
    ],
)
def test_each_mode_strikes_its_own_request_once(
    mode: KillMode,
    strikes: list[tuple[str, str]],
    passes: list[tuple[str, str]],
) -> None:
    for request in passes:
        assert not armed(mode).strikes(*request, new_order=True)
    for request in strikes:
        kill = armed(mode)
        assert not kill.strikes(request[0], request[1], new_order=False)  # not an order
        assert kill.strikes(*request, new_order=True)
        assert kill.struck and not kill.strikes(*request, new_order=True)  # only once
    assert armed(KillMode.SUBMIT_DROPPED).drops and not armed(KillMode.SUBMIT_PLACED).drops


def test_it_stays_armed_across_candles_until_its_window_ends() -> None:
    """Candles without its request do not end it; only a replay stopped at the window's end."""
    kill = armed(KillMode.MODIFY)
    clock = 1_000.0
    for fed in range(100, 160):  # the replay moves on: waiting_since 0
        clock += 1 / SPEED
        assert not kill.gives_up(fed, 0.0, held=False, now=clock)
    # At the window's end: not yet, then once the replay stood there ARMED_AT_GATE_S.
    assert not kill.gives_up(160, clock, held=False, now=clock + ARMED_AT_GATE_S)
    assert kill.gives_up(160, clock, held=False, now=clock + ARMED_AT_GATE_S + 0.1)
    assert (
        kill.fallback(160) == "random (no modify request in 60 candles armed, window to candle 160)"
    )
    assert armed(KillMode.SUBMIT_PLACED).fallback(101).startswith("random (no order request")


def test_a_held_replay_is_not_a_wait_at_the_window_but_the_deadline_bounds_it() -> None:
    kill = armed(KillMode.SUBMIT_DROPPED)
    assert not kill.gives_up(160, 1_000.0, held=True, now=1_100.0)
    assert kill.gives_up(120, 0.0, held=True, now=kill.deadline)
    # The deadline is the window's own wall time plus slack: no give-up while it moves.
    assert kill.deadline > 1_000.0 + 60 / SPEED + ARMED_AT_GATE_S


def test_a_kill_that_struck_never_gives_up() -> None:
    kill = armed(KillMode.MODIFY)
    assert kill.strikes(*PUT, new_order=True)
    assert not kill.gives_up(500, 1.0, held=False, now=10**9)


def test_the_request_tally_counts_placements_and_modifies_and_drops_nothing() -> None:
    tally = RequestTally()
    for method, path, new_order in [(*POST, True), (*PUT, True), (*REPLACE, True)]:
        assert tally(method, path, new_order) is True
    assert tally("GET", "/fapi/v1/order", False) is True
    assert (tally.placements, tally.modifies) == (1, 2)
