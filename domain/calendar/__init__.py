"""The trading calendar: CME Bitcoin futures sessions, exchange holidays and the CME gap.

Pure: time comes in as epoch milliseconds, nothing reads a clock.
"""

from domain.calendar.cme_sessions import (
    Closure,
    CmeSchedule,
    CmeScheduleSettings,
    SessionState,
)
from domain.calendar.gaps import CmeGap, CmeGapTracker
from domain.calendar.holidays import HolidayKind, easter_sunday, us_exchange_holidays

__all__ = [
    "Closure",
    "CmeGap",
    "CmeGapTracker",
    "CmeSchedule",
    "CmeScheduleSettings",
    "HolidayKind",
    "SessionState",
    "easter_sunday",
    "us_exchange_holidays",
]
