"""US exchange holidays that change CME Globex's crypto futures sessions, by date arithmetic.

CME's equity and cryptocurrency products follow the US holiday calendar on CME Globex:

* **Closed all day** (no session from the previous evening's reopen until the next
  evening): New Year's Day, Good Friday and Christmas Day.
* **Early halt at 12:00 CT**, reopening at the usual 17:00 CT: Martin Luther King Jr. Day,
  Presidents' Day, Memorial Day, Juneteenth, Independence Day, Labor Day and Thanksgiving.

A holiday that falls on a Saturday is observed on the Friday before, one on a Sunday on the
Monday after (the federal rule CME applies). The rules are computed, not listed, so any year
works; a user can still add or remove dates through the calendar's configuration, since CME
publishes an exceptional schedule now and then (e.g. a national day of mourning).
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum


class HolidayKind(StrEnum):
    """How a holiday changes the session."""

    CLOSED = "CLOSED"  # no trading that CT day
    EARLY_HALT = "EARLY_HALT"  # trading halts at 12:00 CT, reopens at 17:00 CT


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (the anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th ``weekday`` (Monday = 0) of a month; ``n = -1`` is the last one."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: date) -> date:
    """Saturday holidays are observed on Friday, Sunday holidays on Monday."""
    if day.weekday() == 5:
        return day - timedelta(days=1)
    if day.weekday() == 6:
        return day + timedelta(days=1)
    return day


def us_exchange_holidays(year: int) -> dict[date, HolidayKind]:
    """The CT dates of ``year`` on which CME crypto futures close or halt early."""
    closed = [
        _observed(date(year, 1, 1)),
        easter_sunday(year) - timedelta(days=2),
        _observed(date(year, 12, 25)),
    ]
    early = [
        _nth_weekday(year, 1, 0, 3),  # Martin Luther King Jr. Day
        _nth_weekday(year, 2, 0, 3),  # Presidents' Day
        _nth_weekday(year, 5, 0, -1),  # Memorial Day
        _nth_weekday(year, 9, 0, 1),  # Labor Day
        _nth_weekday(year, 11, 3, 4),  # Thanksgiving
        _observed(date(year, 7, 4)),
    ]
    if year >= 2022:  # Juneteenth became an exchange holiday in 2022
        early.append(_observed(date(year, 6, 19)))
    holidays = {day: HolidayKind.EARLY_HALT for day in early}
    holidays.update({day: HolidayKind.CLOSED for day in closed})
    return holidays
