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
from domain.grid.adaptive_grid import AdaptiveGrid
from domain.grid.adaptive_params import AdaptiveGridParams

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


def _grid(action: WeekendAction = WeekendAction.WIDER) -> AdaptiveGrid:
    return AdaptiveGrid(
        "BTCUSDT", AdaptiveGridParams(), CmeGridOverlay(OLD, WeekendModeSettings(action))
    )


def _overlay(grid: AdaptiveGrid) -> CmeGridOverlay:
    assert grid.overlay is not None
    return grid.overlay


def test_a_restart_inside_the_closure_still_records_the_gap_at_the_reopen() -> None:
    """The CME-close price travels in the adaptive grid's snapshot, not only in memory."""
    close, reopen = ms("2025-02-07 22:00"), ms("2025-02-09 23:00")
    before = _grid()
    for t in range(close - 5 * MINUTE, close + 30 * MINUTE, MINUTE):
        _overlay(before).on_candle(candle(t, Decimal(100) if t < close else Decimal(104)))
    _overlay(before).take_events()
    state = before.snapshot()
    after = _grid()  # the restarted process: nothing in memory, killed for a day
    after.restore(state)
    overlay = _overlay(after)
    for t in range(reopen - 10 * MINUTE, reopen + 2 * MINUTE, MINUTE):
        overlay.on_candle(candle(t, Decimal(104) if t < reopen else Decimal(107)))
    events = overlay.take_events()
    gaps = [e for e in events if isinstance(e, GapRecorded)]
    assert [(g.at_ms, g.gap.close_ms, g.gap.close_price, g.gap.reopen_price) for g in gaps] == [
        (reopen, close, Decimal(100), Decimal(107))
    ]
    assert [e.entered for e in events if isinstance(e, WeekendSwitch)] == [False]
    assert overlay.counters()["cme_gaps"] == 1


def test_a_restart_after_the_reopen_keeps_following_the_open_gap() -> None:
    close, reopen = ms("2025-02-07 22:00"), ms("2025-02-09 23:00")
    before = _grid(WeekendAction.OFF)
    feed(_overlay(before), close, reopen)  # gap 100 -> 107, still open
    after = _grid(WeekendAction.OFF)
    after.restore(before.snapshot())
    tracker = _overlay(after).gaps
    assert tracker.open_gap == _overlay(before).gaps.open_gap
    assert _overlay(after).gap_feature(Decimal(105)) == Decimal("0.05")
    _overlay(after).on_candle(candle(reopen + 60 * MINUTE, Decimal(100)))  # trades back to 100
    assert tracker.open_gap is None and tracker.fill_rate() == (1, 1)
    assert tracker.gaps[0].filled_ms == reopen + 60 * MINUTE


def test_a_snapshot_without_the_gap_key_restores_a_fresh_tracker() -> None:
    close, reopen = ms("2025-02-07 22:00"), ms("2025-02-09 23:00")
    before = _grid()
    _overlay(before).on_candle(candle(close - MINUTE, Decimal(100)))
    _overlay(before).on_candle(candle(close, Decimal(100)))
    state = before.snapshot()
    assert state["cme_gap"]
    del state["cme_gap"]  # saved before the key existed
    after = _grid()
    after.restore(state)
    assert _overlay(after).weekend_closure is not None
    _overlay(after).on_candle(candle(reopen, Decimal(107)))
    assert not [e for e in _overlay(after).take_events() if isinstance(e, GapRecorded)]
    with pytest.raises(ValueError, match="malformed"):
        after.restore({**before.snapshot(), "cme_gap": "1|2|3"})
