"""The trading calendar: CME Bitcoin futures sessions, holidays, the CME gap, weekend mode.

Pure: time comes in as epoch milliseconds, nothing reads a clock.
"""

from domain.calendar.cme_sessions import (
    Closure,
    CmeSchedule,
    CmeScheduleSettings,
    SessionState,
)
from domain.calendar.events import CalendarEvent, GapRecorded, WeekendSwitch, market_time
from domain.calendar.gaps import CmeGap, CmeGapTracker
from domain.calendar.grid_overlay import CmeGridOverlay, GapBiasSettings, GridAdjustment
from domain.calendar.holidays import HolidayKind, easter_sunday, us_exchange_holidays
from domain.calendar.weekend_mode import (
    WeekendAction,
    WeekendDecision,
    WeekendMode,
    WeekendModeSettings,
)

__all__ = [
    "CalendarEvent",
    "Closure",
    "CmeGap",
    "CmeGapTracker",
    "CmeGridOverlay",
    "CmeSchedule",
    "CmeScheduleSettings",
    "GapBiasSettings",
    "GapRecorded",
    "GridAdjustment",
    "HolidayKind",
    "SessionState",
    "WeekendAction",
    "WeekendDecision",
    "WeekendMode",
    "WeekendModeSettings",
    "WeekendSwitch",
    "easter_sunday",
    "market_time",
    "us_exchange_holidays",
]
