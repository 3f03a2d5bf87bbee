"""The seeded plan of ``gridbot validate``: deterministic, complete, well spaced."""

from __future__ import annotations

import pytest

from bootstrap.validation.schedule import (
    FAULT_KINDS,
    FaultStep,
    KillMode,
    KillStep,
    build_schedule,
)


def test_same_seed_same_plan_other_seed_other_plan() -> None:
    a = build_schedule(1, 2880, 20, stall_lead=480)
    assert a == build_schedule(1, 2880, 20, stall_lead=480)
    assert a.to_json() == build_schedule(1, 2880, 20, stall_lead=480).to_json()
    assert a.steps != build_schedule(2, 2880, 20, stall_lead=480).steps


@pytest.mark.parametrize(("candles", "kills"), [(120, 3), (600, 5), (2880, 20)])
@pytest.mark.parametrize("seed", [0, 1, 7, 42])
def test_every_fault_type_and_every_kill_mode_is_planned(
    candles: int, kills: int, seed: int
) -> None:
    plan = build_schedule(seed, candles, kills, stall_lead=candles // 2)
    kinds = plan.kinds()
    assert set(kinds) == set(FAULT_KINDS)
    assert all(n >= 1 for n in kinds.values()), kinds
    assert len(plan.kills) == kills
    assert {k.mode for k in plan.kills} == set(KillMode)
    # Steps are in order, inside the run, and leave a head and a tail for the bot to settle.
    positions = [s.at_candle for s in plan.steps]
    assert positions == sorted(positions)
    assert min(positions) >= 3 and max(positions) <= candles - 3


def test_a_long_run_repeats_the_faults_and_spreads_the_kills() -> None:
    plan = build_schedule(1, 2880, 20, stall_lead=480)
    kinds = plan.kinds()
    assert kinds["ws_drop"] == 6 and kinds["ws_stall"] == 2
    kills = sorted(k.at_candle for k in plan.kills)
    assert len(set(kills)) == 20
    assert sum(1 for k in plan.kills if k.mode is not KillMode.RANDOM) >= 3


def test_clock_skews_are_removed_and_exceed_the_receive_window() -> None:
    plan = build_schedule(3, 2880, 20, stall_lead=480)
    skews = [s for s in plan.faults if s.kind == "clock_skew_ms"]
    injected = [s for s in skews if not s.restores]
    restores = [s for s in skews if s.restores]
    assert len(injected) == len(restores) == 6
    assert all(s.fault == "clock_skew_ms:0" for s in restores)
    assert all(abs(int(s.fault.split(":")[1])) > 5000 for s in injected)


def test_no_fault_right_before_a_kill_and_stalls_leave_time_to_be_noticed() -> None:
    plan = build_schedule(5, 2880, 20, stall_lead=480, kill_gap=4)
    kills = [k.at_candle for k in plan.kills]
    for step in plan.faults:
        assert not any(0 <= k - step.at_candle < 4 for k in kills), step
    streams = [s.at_candle for s in plan.faults if s.kind in ("ws_drop", "listen_key_expired")]
    for stall in (s for s in plan.faults if s.kind == "ws_stall"):
        assert stall.at_candle <= 2880 - 480
        assert not any(stall.at_candle <= k < stall.at_candle + 480 for k in kills)
        # No other stream fault replaces the stalled connections before the bot notices.
        assert not any(stall.at_candle <= s < stall.at_candle + 480 for s in streams)


def test_steps_are_typed_and_serialised() -> None:
    plan = build_schedule(9, 120, 3, stall_lead=60)
    first_fault = next(s for s in plan.steps if isinstance(s, FaultStep))
    first_kill = next(s for s in plan.steps if isinstance(s, KillStep))
    rows = plan.to_json()
    assert {"at_candle", "fault", "count"} <= set(rows[plan.steps.index(first_fault)])
    assert rows[plan.steps.index(first_kill)]["kill"] == first_kill.mode.value


def test_too_short_a_run_is_refused() -> None:
    with pytest.raises(ValueError, match="too few"):
        build_schedule(1, 12, 20)
