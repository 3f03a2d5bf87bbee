"""CME Bitcoin futures sessions in UTC across DST changes, holidays and the 24/7 switch."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
from freezegun import freeze_time
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.calendar import (
    CmeGapTracker,
    CmeSchedule,
    CmeScheduleSettings,
    HolidayKind,
    SessionState,
    easter_sunday,
    us_exchange_holidays,
)

OLD = CmeSchedule(CmeScheduleSettings(continuous_from_ms=None))
NEW = CmeSchedule()


def ms(text: str) -> int:
    """Epoch ms of a UTC 'YYYY-MM-DD HH:MM'."""
    return int(datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC).timestamp() * 1000)


def now_ms() -> int:
    """What a live wall clock would hand the calendar."""
    return int(datetime.now(UTC).timestamp() * 1000)


@pytest.mark.parametrize(
    ("when", "state"),
    [
        # Winter (CST = UTC-6): Sunday open 23:00 UTC, Friday close 22:00 UTC.
        ("2025-03-02 22:59", SessionState.WEEKEND),
        ("2025-03-02 23:00", SessionState.OPEN),
        ("2025-03-04 21:59", SessionState.OPEN),
        ("2025-03-04 22:00", SessionState.DAILY_BREAK),
        ("2025-03-04 22:59", SessionState.DAILY_BREAK),
        ("2025-03-04 23:00", SessionState.OPEN),
        ("2025-03-07 21:59", SessionState.OPEN),
        ("2025-03-07 22:00", SessionState.WEEKEND),
        # DST starts Sunday 2025-03-09: the open is 17:00 CDT = 22:00 UTC, an hour earlier.
        ("2025-03-09 21:59", SessionState.WEEKEND),
        ("2025-03-09 22:00", SessionState.OPEN),
        ("2025-03-11 21:00", SessionState.DAILY_BREAK),
        ("2025-03-11 22:00", SessionState.OPEN),
        ("2025-03-14 20:59", SessionState.OPEN),
        ("2025-03-14 21:00", SessionState.WEEKEND),
        # DST ends Sunday 2025-11-02: back to 23:00 UTC.
        ("2025-11-02 22:30", SessionState.WEEKEND),
        ("2025-11-02 23:00", SessionState.OPEN),
        ("2025-11-04 22:30", SessionState.DAILY_BREAK),
        # Saturday is always shut before the switch.
        ("2024-08-03 12:00", SessionState.WEEKEND),
    ],
)
def test_weekday_sessions_in_utc_across_dst(when: str, state: SessionState) -> None:
    assert OLD.state_at(ms(when)) is state


@pytest.mark.parametrize(
    ("when", "state"),
    [
        # Martin Luther King Jr. Day 2025-01-20: halt 12:00 CST (18:00 UTC), reopen 17:00 CST.
        ("2025-01-20 17:59", SessionState.OPEN),
        ("2025-01-20 18:00", SessionState.HOLIDAY),
        ("2025-01-20 22:59", SessionState.HOLIDAY),
        ("2025-01-20 23:00", SessionState.OPEN),
        # Good Friday 2025-04-18: Thursday's session is the last until Sunday (CDT).
        ("2025-04-17 20:59", SessionState.OPEN),
        ("2025-04-17 21:00", SessionState.WEEKEND),
        ("2025-04-18 15:00", SessionState.WEEKEND),
        ("2025-04-20 22:00", SessionState.OPEN),
        # Christmas Day 2025 (Thursday): no session from Wednesday 16:00 CST to Thursday 17:00.
        ("2025-12-24 21:59", SessionState.OPEN),
        ("2025-12-24 22:00", SessionState.HOLIDAY),
        ("2025-12-25 22:59", SessionState.HOLIDAY),
        ("2025-12-25 23:00", SessionState.OPEN),
        # New Year's Day 2022 fell on a Saturday: observed Friday 2021-12-31, closed.
        ("2021-12-30 21:59", SessionState.OPEN),
        ("2021-12-31 12:00", SessionState.WEEKEND),
        # Thanksgiving 2025-11-27: halt at 12:00 CST.
        ("2025-11-27 18:30", SessionState.HOLIDAY),
        # Juneteenth 2025 (Thursday): early halt, 12:00 CDT = 17:00 UTC.
        ("2025-06-19 16:59", SessionState.OPEN),
        ("2025-06-19 17:00", SessionState.HOLIDAY),
    ],
)
def test_holidays(when: str, state: SessionState) -> None:
    assert OLD.state_at(ms(when)) is state


def test_holiday_rules() -> None:
    assert easter_sunday(2024) == date(2024, 3, 31)
    assert easter_sunday(2025) == date(2025, 4, 20)
    assert easter_sunday(2026) == date(2026, 4, 5)
    rules = us_exchange_holidays(2026)
    assert rules[date(2026, 4, 3)] is HolidayKind.CLOSED  # Good Friday
    assert rules[date(2026, 7, 3)] is HolidayKind.EARLY_HALT  # July 4th on a Saturday
    assert rules[date(2026, 1, 19)] is HolidayKind.EARLY_HALT  # MLK, third Monday
    assert rules[date(2026, 5, 25)] is HolidayKind.EARLY_HALT  # Memorial Day, last Monday
    assert date(2021, 6, 18) not in us_exchange_holidays(2021)  # Juneteenth from 2022 only


@pytest.mark.parametrize(
    ("when", "state"),
    [
        ("2026-05-29 20:59", SessionState.OPEN),  # the last weekday session
        ("2026-05-29 21:00", SessionState.OPEN),  # 16:00 CDT: continuous from here on
        ("2026-05-30 06:59", SessionState.OPEN),  # a Saturday, now open
        ("2026-05-30 07:00", SessionState.MAINTENANCE),  # Saturday 02:00 CDT, two hours
        ("2026-05-30 08:59", SessionState.MAINTENANCE),
        ("2026-05-30 09:00", SessionState.OPEN),
        ("2026-05-30 21:00", SessionState.OPEN),
        ("2026-06-02 21:30", SessionState.OPEN),  # no daily break any more
        ("2026-07-03 18:00", SessionState.OPEN),  # nor holiday halts
        ("2026-12-05 07:59", SessionState.OPEN),
        ("2026-12-05 08:00", SessionState.MAINTENANCE),  # CST: 02:00 CST = 08:00 UTC
        ("2026-12-05 09:59", SessionState.MAINTENANCE),
        ("2026-12-05 10:00", SessionState.OPEN),
        ("2026-05-22 22:00", SessionState.WEEKEND),  # before the switch: the old week
    ],
)
def test_continuous_trading_from_the_switch(when: str, state: SessionState) -> None:
    assert NEW.state_at(ms(when)) is state


def test_switch_and_window_are_configuration() -> None:
    later = CmeSchedule(
        CmeScheduleSettings(
            continuous_from_ms=ms("2026-07-10 21:00"),
            maintenance_weekday=6,
            maintenance_start=time(12, 0),
            maintenance_minutes=180,
        )
    )
    assert later.state_at(ms("2026-06-06 12:00")) is SessionState.WEEKEND
    assert later.state_at(ms("2026-07-11 12:00")) is SessionState.OPEN
    assert later.state_at(ms("2026-07-12 17:00")) is SessionState.MAINTENANCE
    assert later.state_at(ms("2026-07-12 20:00")) is SessionState.OPEN
    with pytest.raises(ValueError, match="maintenance_minutes"):
        CmeScheduleSettings(maintenance_minutes=0)


def test_early_halts_can_be_switched_off() -> None:
    regular = CmeSchedule(CmeScheduleSettings(continuous_from_ms=None, early_halts=False))
    assert OLD.state_at(ms("2025-01-20 19:00")) is SessionState.HOLIDAY  # MLK, 13:00 CST
    assert regular.state_at(ms("2025-01-20 19:00")) is SessionState.OPEN
    assert regular.state_at(ms("2025-12-25 12:00")) is SessionState.HOLIDAY  # still closed


def test_extra_closures_and_exceptions() -> None:
    schedule = CmeSchedule(
        CmeScheduleSettings(
            continuous_from_ms=None,
            extra_closed=frozenset({date(2025, 1, 9)}),  # a national day of mourning
            not_holidays=frozenset({date(2025, 1, 20)}),
        )
    )
    assert schedule.state_at(ms("2025-01-09 15:00")) is SessionState.HOLIDAY
    assert schedule.state_at(ms("2025-01-20 20:00")) is SessionState.OPEN


@freeze_time("2025-03-09 21:30:00", tz_offset=0)
def test_frozen_wall_clock_on_the_dst_sunday() -> None:
    # 21:30 UTC is 16:30 CDT: half an hour before the first open after the change.
    assert OLD.state_at(now_ms()) is SessionState.WEEKEND
    closure = OLD.closure_at(now_ms())
    assert closure is not None and closure.end_ms == ms("2025-03-09 22:00")


@freeze_time("2025-11-03 22:30:00", tz_offset=0)
def test_frozen_wall_clock_after_the_fall_change() -> None:
    assert OLD.state_at(now_ms()) is SessionState.DAILY_BREAK  # 16:30 CST


@settings(max_examples=60, deadline=None)
@given(
    start=st.integers(min_value=ms("2023-01-01 00:00"), max_value=ms("2027-06-01 00:00")),
    days=st.integers(min_value=1, max_value=40),
)
def test_closures_are_ordered_disjoint_and_agree_with_state(start: int, days: int) -> None:
    end = start + days * 86_400_000
    closures = NEW.closures_between(start, end)
    for before, after in itertools.pairwise(closures):
        assert before.end_ms < after.start_ms  # merged and separated by open time
    for closure in closures:
        assert closure.start_ms < closure.end_ms
        probe = max(closure.start_ms, start)
        if probe < min(closure.end_ms, end):
            assert NEW.state_at(probe) is closure.state
        if closure.end_ms < end:
            assert NEW.is_open(closure.end_ms)
        if closure.state is SessionState.DAILY_BREAK:
            assert closure.end_ms - closure.start_ms == 3_600_000


def _feed(tracker: CmeGapTracker, first: str, prices: list[tuple[int, str]]) -> None:
    """Feed 1m candles from ``first``: (minutes after it, price) with flat candles between."""
    base = ms(first)
    for offset, price in prices:
        value = Decimal(price)
        tracker.on_candle(base + offset * 60_000, value, value, value, value)


def test_gap_recorded_at_the_reopen_and_filled() -> None:
    tracker = CmeGapTracker(OLD)
    # Friday 2025-03-07 21:59 UTC is the last minute; CME reopens Sunday 23:00 UTC.
    _feed(tracker, "2025-03-07 21:58", [(0, "100"), (1, "101")])
    _feed(tracker, "2025-03-08 12:00", [(0, "103")])  # a weekend candle
    reopen = ms("2025-03-09 22:00")  # DST: the reopen is 22:00 UTC
    gap = tracker.on_candle(reopen, Decimal(105), Decimal(106), Decimal(104), Decimal(105))
    assert gap is not None and gap.close_price == Decimal(101) and gap.reopen_price == 105
    assert gap.size == 4 and tracker.open_gap == gap
    assert tracker.open_gap_relative(Decimal(105)) == Decimal(4) / Decimal(101)
    tracker.on_candle(reopen + 60_000, Decimal(105), Decimal(105), Decimal(100), Decimal(102))
    assert tracker.open_gap is None and tracker.gaps[-1].filled_ms == reopen + 60_000
    assert tracker.fill_rate() == (1, 1)


def test_gap_expires_unfilled_after_the_window() -> None:
    tracker = CmeGapTracker(OLD, fill_window_ms=3_600_000)
    _feed(tracker, "2025-03-07 21:59", [(0, "100")])
    reopen = ms("2025-03-09 22:00")
    tracker.on_candle(reopen, Decimal(110), Decimal(110), Decimal(110), Decimal(110))
    tracker.on_candle(reopen + 3_600_000, Decimal(111), Decimal(111), Decimal(99), Decimal(111))
    assert tracker.open_gap is None and tracker.gaps[-1].filled_ms is None
    assert tracker.fill_rate() == (0, 1)


def test_a_hole_in_the_data_is_never_a_gap() -> None:
    tracker = CmeGapTracker(OLD)
    _feed(tracker, "2025-03-05 12:00", [(0, "100")])  # data stops on Wednesday
    assert tracker.on_candle(ms("2025-03-09 22:00"), *[Decimal(120)] * 4) is None
    assert tracker.gaps == []
