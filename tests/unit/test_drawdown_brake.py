"""The drawdown brake: its transition table, hysteresis, transfers and restarts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.drawdown_brake import (
    TRANSITIONS,
    BrakeLevel,
    BrakeSettings,
    BrakeTrigger,
    DrawdownBrake,
    InvalidBrakeTransition,
)

D = Decimal
H = 3_600_000


def brake(**kw: object) -> DrawdownBrake:
    return DrawdownBrake(BrakeSettings(**kw), D(10_000))  # type: ignore[arg-type]


def test_defaults_are_the_roadmap_levels() -> None:
    b = brake()
    assert b.observe(D(9_501), 1) is None
    t = b.observe(D(9_500), 2)
    assert t is not None and t.level is BrakeLevel.REDUCED and t.trigger is BrakeTrigger.DRAWDOWN
    assert b.actions().size_multiplier == D("0.5") and b.actions().allow_entries
    t = b.observe(D(9_000), 3)
    assert t is not None and t.previous is BrakeLevel.REDUCED and t.level is BrakeLevel.REDUCE_ONLY
    assert not b.actions().allow_entries and not b.actions().flatten
    t = b.observe(D(8_500), 4)
    assert t is not None and t.level is BrakeLevel.HALTED and b.actions().flatten
    assert t.drawdown == D("0.15") and t.peak == D(10_000) and t.equity == D(8_500)


def test_escalation_jumps_straight_to_the_deepest_level() -> None:
    b = brake()
    t = b.observe(D(8_000), 1)
    assert t is not None and (t.previous, t.level) == (BrakeLevel.NORMAL, BrakeLevel.HALTED)


def test_unrealized_losses_count() -> None:
    # Equity is whatever the caller marks, open position included: a fall with nothing
    # closed brakes just the same.
    b = brake()
    b.observe(D(11_000), 1)  # a new peak from unrealized gains
    assert b.peak == D(11_000)
    t = b.observe(D(10_400), 2)
    assert t is not None and t.level is BrakeLevel.REDUCED


def test_recovery_needs_hysteresis_by_amount() -> None:
    b = brake(recover_by=D("0.02"), hold_ms=10 * H)
    b.observe(D(9_400), 0)  # 6 %: REDUCED
    assert b.observe(D(9_600), H) is None  # 4 %: below 5 % but not by 2 points
    t = b.observe(D(9_700), 2 * H)  # 3 %: recovered by 2 points
    assert t is not None and t.level is BrakeLevel.NORMAL and t.trigger is BrakeTrigger.RECOVERY


def test_recovery_by_holding_below_the_threshold() -> None:
    b = brake(recover_by=D("0.02"), hold_ms=4 * H)
    b.observe(D(8_900), 0)  # 11 %: REDUCE_ONLY
    assert b.observe(D(9_050), H) is None  # 9.5 %: below 10 %, the hold starts
    assert b.observe(D(9_050), 4 * H) is None  # 3 h held
    t = b.observe(D(9_050), 5 * H)
    assert t is not None and (t.previous, t.level) == (BrakeLevel.REDUCE_ONLY, BrakeLevel.REDUCED)


def test_the_hold_restarts_when_the_drawdown_returns() -> None:
    b = brake(recover_by=D("0.02"), hold_ms=4 * H)
    b.observe(D(8_900), 0)
    b.observe(D(9_050), H)  # below: hold from 1 h
    b.observe(D(8_950), 3 * H)  # back above 10 %: the hold is void
    b.observe(D(9_050), 4 * H)  # below again: hold from 4 h
    assert b.observe(D(9_050), 6 * H) is None
    assert b.level is BrakeLevel.REDUCE_ONLY


def test_halted_only_lifts_by_the_operator_with_a_peak_reset() -> None:
    b = brake()
    b.observe(D(8_000), 0)
    assert b.observe(D(10_500), H) is None and b.level is BrakeLevel.HALTED
    assert b.peak == D(10_000)  # a halted brake does not chase new peaks
    t = b.resume(D(8_000), 2 * H)
    assert t.trigger is BrakeTrigger.OPERATOR and t.level is BrakeLevel.NORMAL
    assert b.peak == D(8_000) and t.peak == D(8_000) and b.drawdown == 0
    with pytest.raises(InvalidBrakeTransition):
        b.resume(D(8_000), 3 * H)


def test_every_table_edge_and_nothing_else() -> None:
    for (source, target), trigger in TRANSITIONS.items():
        b = brake()
        b.level = source
        if trigger is BrakeTrigger.OPERATOR:
            assert b.resume(D(9_000), 1).level is target
        else:
            assert b._move(target, trigger, 1).level is target
    for source in BrakeLevel:
        for target in BrakeLevel:
            for trigger in BrakeTrigger:
                if TRANSITIONS.get((source, target)) is trigger:
                    continue
                b = brake()
                b.level = source
                with pytest.raises(InvalidBrakeTransition):
                    b._move(target, trigger, 1)


def test_transfers_are_not_gains_or_losses() -> None:
    b = brake()
    b.observe(D(9_600), 1)  # 4 %
    b.transfer(D(-4_800))  # withdraw half
    assert b.observe(D(4_800), 2) is None
    assert b.drawdown == D("0.04") and b.peak == D(5_000)
    b.transfer(D(5_200))  # deposit
    assert b.observe(D(10_000), 3) is None
    assert abs(b.drawdown - D("0.04")) < D("1e-25")  # 28-digit decimal division


@pytest.mark.parametrize("level_equity", [D(10_000), D(9_400), D(8_900), D(8_400)])
def test_restart_continues_in_the_same_level(level_equity: Decimal) -> None:
    b = brake()
    b.observe(D(10_200), 0)
    b.observe(level_equity, H)
    b.observe(level_equity + 10, 2 * H)  # a hold in progress
    again = brake()
    again.restore(b.snapshot())
    assert (again.level, again.peak, again.equity) == (b.level, b.peak, b.equity)
    for equity, at in ((level_equity + 20, 3 * H), (level_equity + 300, 9 * H)):
        assert again.observe(equity, at) == b.observe(equity, at)


def test_distance_to_the_next_level() -> None:
    b = brake()
    assert b.next_level_equity() == D(9_500)
    b.observe(D(9_400), 1)
    assert b.next_level_equity() == D(9_000)


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="thresholds"):
        BrakeSettings(reduced_at=D("0.2"))
    with pytest.raises(ValueError, match="recover_by"):
        BrakeSettings(recover_by=D("0.05"))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["mark", "fill", "transfer"]),
            st.decimals(min_value=D("-0.04"), max_value=D("0.04"), places=4),
        ),
        min_size=1,
        max_size=120,
    )
)
def test_random_paths_obey_the_table_and_thresholds(steps: list[tuple[str, Decimal]]) -> None:
    """Prices and fills move equity, transfers move it without moving the drawdown."""
    b = brake()
    equity = D(10_000)
    at = 0
    for kind, move in steps:
        at += 60_000
        if kind == "transfer":
            before = b.drawdown
            b.transfer(equity * move)
            equity += equity * move
            assert b.drawdown == before or abs(b.drawdown - before) < D("1e-20")
            continue
        equity += equity * move
        previous = b.level
        t = b.observe(equity, at)
        if t is not None:
            assert TRANSITIONS[(t.previous, t.level)] is t.trigger
            assert t.previous is previous
        # The level is never milder than the drawdown demands.
        assert b.level.rank >= b.settings.level_for(b.drawdown).rank or b.level is (
            BrakeLevel.HALTED
        )
        if b.level is BrakeLevel.HALTED:
            assert b.actions().flatten and not b.actions().allow_entries
