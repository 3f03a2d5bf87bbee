"""The calendar overlay reports each weekend-mode switch and each CME gap as an event.

Candles around a Friday CME close and the Sunday reopen, in a plain winter week and in the
two weeks whose weekend the US clocks change (the reopen moves in UTC); the wall clock is
frozen far away, so anything read from it instead of the candles would show.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from freezegun import freeze_time

from domain.calendar import (
    CalendarEvent,
    CmeGridOverlay,
    CmeSchedule,
    CmeScheduleSettings,
    GapRecorded,
    WeekendAction,
    WeekendModeSettings,
    WeekendSwitch,
)
from domain.candles import Candle

OLD = CmeSchedule(CmeScheduleSettings(continuous_from_ms=None))
MINUTE = 60_000


def ms(text: str) -> int:
    """Epoch ms of a UTC 'YYYY-MM-DD HH:MM'."""
    return int(datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC).timestamp() * 1000)


def candle(open_time: int, price: Decimal) -> Candle:
    return Candle(open_time, price, price, price, price, Decimal(1), open_time + 59_999)


def feed(
    overlay: CmeGridOverlay, close: int, reopen: int, margin: int = 10 * MINUTE
) -> list[CalendarEvent]:
    """Candles from ``margin`` before the close to ``margin`` after the reopen.

    100 until the close, 105 while closed, 107 from the reopen on.
    """
    events: list[CalendarEvent] = []
    with freeze_time("2031-06-18 12:00:00"):  # a Wednesday, nowhere near the candles
        for t in range(close - margin, reopen + margin, MINUTE):
            price = Decimal(100) if t < close else Decimal(105) if t < reopen else Decimal(107)
            overlay.on_candle(candle(t, price))
            events.extend(overlay.take_events())
    return events


@pytest.mark.parametrize(
    ("close", "reopen", "close_ct", "reopen_ct"),
    [
        # Winter: 16:00 CST = 22:00 UTC, 17:00 CST = 23:00 UTC.
        (
            "2025-02-07 22:00",
            "2025-02-09 23:00",
            "2025-02-07T16:00:00-06:00",
            "2025-02-09T17:00:00-06:00",
        ),
        # Spring forward on Sunday 2025-03-09: closes in CST, reopens in CDT (22:00 UTC).
        (
            "2025-03-07 22:00",
            "2025-03-09 22:00",
            "2025-03-07T16:00:00-06:00",
            "2025-03-09T17:00:00-05:00",
        ),
        # Fall back on Sunday 2025-11-02: closes in CDT (21:00 UTC), reopens in CST.
        (
            "2025-10-31 21:00",
            "2025-11-02 23:00",
            "2025-10-31T16:00:00-05:00",
            "2025-11-02T17:00:00-06:00",
        ),
    ],
)
def test_entered_at_the_friday_close_left_at_the_sunday_reopen(
    close: str, reopen: str, close_ct: str, reopen_ct: str
) -> None:
    overlay = CmeGridOverlay(OLD, WeekendModeSettings(WeekendAction.WIDER))
    events = feed(overlay, ms(close), ms(reopen))
    entered, left, gap = events  # in this order: the switch back, then the gap
    assert isinstance(entered, WeekendSwitch) and isinstance(left, WeekendSwitch)
    assert (entered.at_ms, entered.entered) == (ms(close), True)
    assert (left.at_ms, left.entered) == (ms(reopen), False)
    for switch in (entered, left):
        assert (switch.cme_close_ms, switch.cme_reopen_ms) == (ms(close), ms(reopen))
        assert switch.mode == "wider" and switch.closure == "WEEKEND"
    assert entered.price == 105 and left.price == 107
    fields = entered.to_dict()
    assert fields["switch"] == "entered" and fields["market_time"] == close_ct
    assert fields["cme_close"] == close_ct and fields["cme_reopen"] == reopen_ct
    fields = left.to_dict()
    assert fields["switch"] == "left" and fields["market_time"] == reopen_ct
    assert isinstance(gap, GapRecorded) and gap.at_ms == ms(reopen)
    assert gap.gap.close_price == 100 and gap.gap.reopen_price == 107
    fields = gap.to_dict()
    assert (fields["close_price"], fields["reopen_price"], fields["gap"]) == ("100", "107", "7")
    assert fields["gap_relative"] == "0.070000" and fields["cme_close"] == close_ct
    counters = overlay.counters()
    assert (counters["weekend_entered"], counters["weekend_left"], counters["cme_gaps"]) == (
        1,
        1,
        1,
    )
    assert overlay.take_events() == ()  # taken once


def test_one_minute_either_side_of_the_switches() -> None:
    overlay = CmeGridOverlay(OLD, WeekendModeSettings(WeekendAction.NO_ENTRIES))
    close, reopen = ms("2025-03-07 22:00"), ms("2025-03-09 22:00")
    overlay.on_candle(candle(close - MINUTE, Decimal(100)))
    assert overlay.take_events() == ()
    overlay.on_candle(candle(close, Decimal(100)))
    (switch,) = overlay.take_events()
    assert isinstance(switch, WeekendSwitch) and switch.entered and switch.mode == "no_entries"
    overlay.on_candle(candle(reopen - MINUTE, Decimal(100)))
    assert overlay.take_events() == ()  # 21:59 UTC is still 16:59 CDT: closed


def test_with_weekend_mode_off_only_the_gap_is_reported() -> None:
    overlay = CmeGridOverlay(OLD, WeekendModeSettings(WeekendAction.OFF))
    events = feed(overlay, ms("2025-02-07 22:00"), ms("2025-02-09 23:00"))
    assert [type(e) for e in events] == [GapRecorded]


def test_a_restart_inside_the_closure_does_not_enter_again() -> None:
    close, reopen = ms("2025-02-07 22:00"), ms("2025-02-09 23:00")
    before = CmeGridOverlay(OLD, WeekendModeSettings(WeekendAction.WIDER))
    before.on_candle(candle(close, Decimal(100)))
    assert len(before.take_events()) == 1
    after = CmeGridOverlay(OLD, WeekendModeSettings(WeekendAction.WIDER))
    after.restore(before.snapshot())
    after.on_candle(candle(close + MINUTE, Decimal(100)))
    assert after.take_events() == ()
    after.on_candle(candle(reopen, Decimal(100)))
    (left,) = after.take_events()
    assert isinstance(left, WeekendSwitch) and not left.entered and left.cme_close_ms == close
