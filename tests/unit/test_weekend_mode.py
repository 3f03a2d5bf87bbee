"""Weekend mode's decisions and the CME-gap feature and bias, across DST and holidays."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from freezegun import freeze_time
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.calendar import (
    CmeGapTracker,
    CmeGridOverlay,
    CmeSchedule,
    CmeScheduleSettings,
    GapBiasSettings,
    SessionState,
    WeekendAction,
    WeekendMode,
    WeekendModeSettings,
)
from domain.candles import Candle

OLD = CmeSchedule(CmeScheduleSettings(continuous_from_ms=None))
NEW = CmeSchedule()


def ms(text: str) -> int:
    """Epoch ms of a UTC 'YYYY-MM-DD HH:MM'."""
    return int(datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC).timestamp() * 1000)


def now_ms() -> int:
    """What a live wall clock would hand the calendar."""
    return int(datetime.now(UTC).timestamp() * 1000)


def mode(action: WeekendAction, schedule: CmeSchedule = OLD, **kw: object) -> WeekendMode:
    return WeekendMode(schedule, WeekendModeSettings(action, **kw))  # type: ignore[arg-type]


def candle(open_time: int, o: str, h: str | None = None, lo: str | None = None) -> Candle:
    price = Decimal(o)
    high = Decimal(h) if h is not None else price
    low = Decimal(lo) if lo is not None else price
    return Candle(open_time, price, high, low, price, Decimal(1), open_time + 59_999)


# ----------------------------------------------------------------------------- weekend mode
@pytest.mark.parametrize(
    ("when", "active"),
    [
        # Winter: CME closes Friday 16:00 CST = 22:00 UTC, reopens Sunday 17:00 CST = 23:00.
        ("2025-03-07 21:59", False),
        ("2025-03-07 22:00", True),
        ("2025-03-08 12:00", True),
        # The DST change that weekend moves the reopen an hour earlier in UTC.
        ("2025-03-09 21:59", True),
        ("2025-03-09 22:00", False),
        # Summer: the Friday close is 21:00 UTC.
        ("2025-03-14 20:59", False),
        ("2025-03-14 21:00", True),
        # The daily break is not a weekend.
        ("2025-03-11 21:30", False),
        # Holidays: Good Friday 2025 (closed from Thursday's close), MLK early halt.
        ("2025-04-17 21:30", True),
        ("2025-01-20 18:30", True),
        ("2025-01-20 23:00", False),
    ],
)
def test_weekend_mode_follows_the_cme_closures(when: str, active: bool) -> None:
    decision = mode(WeekendAction.WIDER).decide(ms(when))
    assert decision.active is active
    assert decision.step_factor == (Decimal(2) if active else Decimal(1))
    assert decision.size_factor == 1 and not decision.block_entries


def test_each_action_changes_one_thing() -> None:
    saturday = ms("2025-03-08 12:00")
    wider = mode(WeekendAction.WIDER, spacing_factor=Decimal(3)).decide(saturday)
    smaller = mode(WeekendAction.SMALLER, size_factor=Decimal("0.25")).decide(saturday)
    blocked = mode(WeekendAction.NO_ENTRIES).decide(saturday)
    off = mode(WeekendAction.OFF).decide(saturday)
    assert (wider.step_factor, wider.size_factor, wider.block_entries) == (3, 1, False)
    assert (smaller.step_factor, smaller.size_factor, smaller.block_entries) == (1, 0.25, False)
    assert (blocked.step_factor, blocked.size_factor, blocked.block_entries) == (1, 1, True)
    assert not off.active and not mode(WeekendAction.OFF).enabled
    assert wider.closure is not None and wider.closure.state is SessionState.WEEKEND


def test_holidays_can_be_left_out() -> None:
    only_weekends = mode(WeekendAction.NO_ENTRIES, states=frozenset({SessionState.WEEKEND}))
    assert not only_weekends.decide(ms("2025-01-20 18:30")).active  # MLK halt
    assert only_weekends.decide(ms("2025-03-08 12:00")).active


def test_after_the_switch_there_is_no_weekend() -> None:
    weekend = mode(WeekendAction.NO_ENTRIES, NEW)
    assert not weekend.decide(ms("2026-06-06 12:00")).active  # a Saturday, CME open
    assert not weekend.decide(ms("2026-06-06 07:30")).active  # the maintenance window
    assert weekend.decide(ms("2026-05-23 12:00")).active  # the last old-style weekend
    with_maintenance = mode(
        WeekendAction.NO_ENTRIES,
        NEW,
        states=frozenset({SessionState.WEEKEND, SessionState.MAINTENANCE}),
    )
    assert with_maintenance.decide(ms("2026-06-06 07:30")).active


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="spacing_factor"):
        WeekendModeSettings(WeekendAction.WIDER, spacing_factor=Decimal("0.5"))
    with pytest.raises(ValueError, match="size_factor"):
        WeekendModeSettings(WeekendAction.SMALLER, size_factor=Decimal(0))
    with pytest.raises(ValueError, match="OPEN"):
        WeekendModeSettings(states=frozenset({SessionState.OPEN}))
    with pytest.raises(ValueError, match="gap bias"):
        GapBiasSettings(bias=Decimal(2))


@freeze_time("2024-11-01 21:30:00", tz_offset=0)
def test_frozen_clock_friday_before_the_fall_change() -> None:
    # Friday 16:30 CDT: the weekend has begun (the close was 21:00 UTC).
    assert mode(WeekendAction.SMALLER).decide(now_ms()).active


@freeze_time("2024-11-03 22:30:00", tz_offset=0)
def test_frozen_clock_sunday_after_the_fall_change() -> None:
    # Sunday 16:30 CST: still closed; a summer-time rule would have reopened at 22:00 UTC.
    assert mode(WeekendAction.SMALLER).decide(now_ms()).active


@freeze_time("2024-12-25 18:00:00", tz_offset=0)
def test_frozen_clock_christmas_day() -> None:
    assert mode(WeekendAction.NO_ENTRIES).decide(now_ms()).block_entries


@settings(max_examples=200, deadline=None)
@given(
    at=st.integers(min_value=ms("2023-01-01 00:00"), max_value=ms("2027-01-01 00:00")),
    action=st.sampled_from(list(WeekendAction)),
)
def test_active_exactly_in_the_configured_closures(at: int, action: WeekendAction) -> None:
    decision = mode(action, NEW).decide(at)
    state = NEW.state_at(at)
    expected = action is not WeekendAction.OFF and state in (
        SessionState.WEEKEND,
        SessionState.HOLIDAY,
    )
    assert decision.active is expected
    changed = (decision.step_factor != 1, decision.size_factor != 1, decision.block_entries)
    assert sum(changed) == (1 if expected else 0)


# ----------------------------------------------------------------------------- gap feature
def _weekend_gap(overlay: CmeGridOverlay, close: str, reopen: str) -> int:
    """Friday's last candle at ``close``, a Saturday candle, the Sunday reopen at ``reopen``."""
    overlay.on_candle(candle(ms("2025-03-07 21:59"), close))
    overlay.on_candle(candle(ms("2025-03-08 12:00"), reopen))
    at = ms("2025-03-09 22:00")  # the reopen, an hour earlier in UTC after the DST change
    overlay.on_candle(candle(at, reopen))
    return at


def test_gap_feature_is_the_distance_back_to_the_cme_close() -> None:
    overlay = CmeGridOverlay(OLD)
    assert overlay.gap_feature(Decimal(100)) == 0
    reopen = _weekend_gap(overlay, "100", "104")
    assert overlay.gaps.open_gap is not None
    assert overlay.gaps.open_gap.reopen_ms == reopen
    assert overlay.gap_feature(Decimal(104)) == Decimal("0.04")
    assert overlay.gap_feature(Decimal(98)) == Decimal("-0.02")
    overlay.on_candle(candle(reopen + 60_000, "101", "101", "99.5"))  # trades through 100
    assert overlay.gap_feature(Decimal(101)) == 0
    assert overlay.counters()["cme_gaps_filled"] == 1


def test_gap_bias_tilts_towards_the_fill_and_only_when_on() -> None:
    off = CmeGridOverlay(OLD)
    _weekend_gap(off, "100", "104")
    assert off.on_candle(candle(ms("2025-03-09 22:01"), "104")).gap_tilt == 0
    up = CmeGridOverlay(OLD, gap=GapBiasSettings(bias=Decimal("0.5")))
    _weekend_gap(up, "100", "104")
    assert up.on_candle(candle(ms("2025-03-09 22:01"), "104")).gap_tilt == -0.5  # sell-side
    down = CmeGridOverlay(OLD, gap=GapBiasSettings(bias=Decimal("0.5")))
    _weekend_gap(down, "100", "96")
    assert down.on_candle(candle(ms("2025-03-09 22:01"), "96")).gap_tilt == 0.5  # buy-side
    far = CmeGridOverlay(OLD, gap=GapBiasSettings(Decimal("0.5"), min_distance=Decimal("0.05")))
    _weekend_gap(far, "100", "104")
    assert far.on_candle(candle(ms("2025-03-09 22:01"), "104")).gap_tilt == 0  # too close


def test_weekend_adjustment_carries_its_closure_as_the_regime() -> None:
    overlay = CmeGridOverlay(OLD, WeekendModeSettings(WeekendAction.WIDER))
    inside = overlay.on_candle(candle(ms("2025-03-08 12:00"), "100"))
    assert inside.regime == ms("2025-03-07 22:00") and inside.step_factor == 2
    outside = overlay.on_candle(candle(ms("2025-03-10 12:00"), "100"))
    assert outside.regime is None and outside.step_factor == 1
    blocked = CmeGridOverlay(OLD, WeekendModeSettings(WeekendAction.NO_ENTRIES))
    adj = blocked.on_candle(candle(ms("2025-03-08 12:00"), "100"))
    assert adj.block_entries and adj.regime is None  # nothing to re-centre for


def test_a_holiday_gap_does_not_drop_the_weekend_gap() -> None:
    # MLK Day 2025: the weekend gap (reopen Sunday 23:00 UTC) is still open when the
    # Monday 12:00 CST halt records a second gap; both are followed until they fill (a
    # 48 h window: the halt's reopen is exactly 24 h after Sunday's).
    tracker = CmeGapTracker(OLD, fill_window_ms=48 * 3_600_000)
    d = Decimal
    tracker.on_candle(ms("2025-01-17 21:59"), d(100), d(100), d(100), d(100))
    tracker.on_candle(ms("2025-01-19 23:00"), d(105), d(105), d(105), d(105))
    tracker.on_candle(ms("2025-01-20 17:59"), d(106), d(106), d(106), d(106))
    tracker.on_candle(ms("2025-01-20 23:00"), d(108), d(108), d(108), d(108))
    assert len(tracker.gaps) == 2 and tracker.open_gap == tracker.gaps[1]
    tracker.on_candle(ms("2025-01-20 23:01"), d(108), d(108), d(99), d(100))  # fills both
    assert all(g.filled_ms == ms("2025-01-20 23:01") for g in tracker.gaps)
    assert tracker.fill_rate() == (2, 2)
