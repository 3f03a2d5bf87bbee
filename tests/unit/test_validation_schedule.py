"""The seeded plan of ``gridbot validate``: deterministic, complete, well spaced, feasible."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bootstrap.cli import main
from bootstrap.validation.schedule import (
    ARM_CANDLES,
    FAULT_KINDS,
    FaultStep,
    KillMode,
    KillStep,
    Schedule,
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
    plan = build_schedule(seed, candles, kills, stall_lead=candles // 8)
    kinds = plan.kinds()
    assert set(kinds) == set(FAULT_KINDS)
    assert all(n >= 1 for n in kinds.values()), kinds
    assert len(plan.kills) == kills
    # Every mode when there are four kills; three are the armed ones (random comes last).
    armed = {KillMode.SUBMIT_PLACED, KillMode.SUBMIT_DROPPED, KillMode.MODIFY}
    assert {k.mode for k in plan.kills} == (set(KillMode) if kills >= len(KillMode) else armed)
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
    plan = build_schedule(9, 120, 3, stall_lead=30)
    first_fault = next(s for s in plan.steps if isinstance(s, FaultStep))
    first_kill = next(s for s in plan.steps if isinstance(s, KillStep))
    rows = plan.to_json()
    assert {"at_candle", "fault", "count"} <= set(rows[plan.steps.index(first_fault)])
    assert rows[plan.steps.index(first_kill)]["kill"] == first_kill.mode.value


def test_too_short_a_run_is_refused() -> None:
    with pytest.raises(ValueError, match="too few"):
        build_schedule(1, 12, 20)


def _assert_every_step_has_room(
    plan: Schedule,
    *,
    head: int,
    tail: int,
    kill_gap: int,
    kill_room: int,
    stall_lead: int,
    skew_span: int = 8,
) -> None:
    """Inside the run, in order, each gap of the module docstring kept."""
    steps = plan.steps
    positions = [s.at_candle for s in steps]
    assert positions == sorted(positions)
    assert min(positions) >= head and max(positions) <= plan.candles - tail
    for i, step in enumerate(steps):
        later = steps[i + 1 :]
        if isinstance(step, KillStep):
            # Room after a kill (after its arming window): no other step for kill_room.
            room = step.arm_candles + kill_room
            assert all(s.at_candle - step.at_candle >= room for s in later), (i, step)
            assert step.at_candle + step.arm_candles <= plan.candles, step
            assert step.mode is not KillMode.RANDOM or step.arm_candles == 0, step
            continue
        next_kill = next((s for s in later if isinstance(s, KillStep)), None)
        if next_kill is not None:
            assert next_kill.at_candle - step.at_candle >= kill_gap, (step, next_kill)
        if step.kind == "ws_stall":
            assert all(s.at_candle - step.at_candle >= stall_lead for s in later), step
            assert plan.candles - step.at_candle >= stall_lead
    # A skew is removed by the very next step (no kill in between), skew_span candles later.
    for i, step in enumerate(steps):
        if isinstance(step, FaultStep) and step.kind == "clock_skew_ms" and not step.restores:
            restore = steps[i + 1]
            assert isinstance(restore, FaultStep) and restore.restores, steps[i : i + 2]
            assert restore.at_candle - step.at_candle >= skew_span
            # The removal may wait for the skew's evidence: kill_gap candles follow it.
            assert all(s.at_candle - restore.at_candle >= kill_gap for s in steps[i + 2 :])


@pytest.mark.parametrize("seed", [0, 1, 11, 42, 1234])
def test_twenty_kills_in_two_hours_each_get_room(seed: int) -> None:
    """The acceptance run: 20 kills and every fault in 120 candles, none squeezed together.

    The plan used to put faults right before kills (the restarting process took them) and
    kills on adjacent candles; the runner then carried most of them out after the replay.
    """
    plan = build_schedule(seed, 120, 20, stall_lead=3)
    assert len(plan.kills) == 20 and all(n >= 1 for n in plan.kinds().values())
    _assert_every_step_has_room(plan, head=6, tail=6, kill_gap=4, kill_room=3, stall_lead=3)


def test_an_infeasible_plan_is_refused_for_every_seed_with_the_most_that_fit() -> None:
    # 120 candles less 6 + 6 at the ends, less 9 fault steps x 4 and a skew's 8: 21 kills x 3.
    for seed in range(30):
        assert len(build_schedule(seed, 120, 21).kills) == 21
        with pytest.raises(ValueError, match=r"too few for 22 kills.*at most 21 kills fit"):
            build_schedule(seed, 120, 22)


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    candles=st.integers(30, 3_000),
    kills=st.integers(0, 40),
    kill_gap=st.integers(1, 6),
    kill_room=st.integers(1, 6),
    stall_lead=st.integers(0, 200),
)
def test_every_plan_either_fits_or_is_refused(
    seed: int, candles: int, kills: int, kill_gap: int, kill_room: int, stall_lead: int
) -> None:
    """Whatever the arguments: every step inside the run with its gaps, or a ValueError."""
    try:
        plan = build_schedule(
            seed, candles, kills, kill_gap=kill_gap, kill_room=kill_room, stall_lead=stall_lead
        )
    except ValueError as exc:
        assert "too few" in str(exc)
        # Refused for one seed means refused for every seed (it does not depend on luck).
        with pytest.raises(ValueError):
            build_schedule(
                seed + 1,
                candles,
                kills,
                kill_gap=kill_gap,
                kill_room=kill_room,
                stall_lead=stall_lead,
            )
        return
    edge = max(3, candles // 20)
    assert len(plan.kills) == kills
    _assert_every_step_has_room(
        plan,
        head=edge,
        tail=edge,
        kill_gap=kill_gap,
        kill_room=kill_room,
        stall_lead=stall_lead,
    )


def test_the_cli_refuses_an_infeasible_plan_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "klines.csv"
    data.write_text("", encoding="utf-8")  # never read: the plan is refused first
    argv = ["validate", "--hours", "2", "--kills", "40", "--data", str(data)]
    code = main([*argv, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "too few for 40 kills" in err and "at most 21 kills fit" in err


def test_armed_kills_get_arming_windows_from_the_spare_candles() -> None:
    """Each armed kill waits across candles for its request; a modify the longest.

    The 72 h futures run struck 0 of 3 modify kills when a kill waited only until the next
    step's candle: modifies come in bursts hours apart (re-centres).
    """
    plan = build_schedule(1, 4320, 30, stall_lead=108)
    armed = [k for k in plan.kills if k.mode is not KillMode.RANDOM]
    assert armed and all(k.arm_candles > 0 for k in armed)
    assert all(k.arm_candles == 0 for k in plan.kills if k.mode is KillMode.RANDOM)
    assert all(k.arm_candles <= ARM_CANDLES[k.mode] for k in armed)
    modify = [k.arm_candles for k in armed if k.mode is KillMode.MODIFY]
    submit = [k.arm_candles for k in armed if k.mode is not KillMode.MODIFY]
    assert min(modify) > max(submit)
    # Six market hours of 8 kills still give a modify kill most of an hour.
    short = build_schedule(1, 360, 8, stall_lead=9)
    assert all(k.arm_candles >= 45 for k in short.kills if k.mode is KillMode.MODIFY)
    _assert_every_step_has_room(short, head=18, tail=18, kill_gap=4, kill_room=3, stall_lead=9)


def test_arming_windows_never_make_a_plan_infeasible() -> None:
    """The windows come out of the spare candles: the tightest plan gets none."""
    tight = build_schedule(3, 120, 21)
    assert len(tight.kills) == 21
    assert sum(k.arm_candles for k in tight.kills) <= 120
    _assert_every_step_has_room(tight, head=6, tail=6, kill_gap=4, kill_room=3, stall_lead=0)
