"""``calendar`` section: the CME reference calendar, weekend mode and the CME-gap bias.

Kept in its own module (beside :mod:`bootstrap.config_sections`) because it is one
feature's configuration: the schedule of CME Bitcoin futures (the 24/7 switch and the weekly
maintenance window), what the adaptive grid does while CME is closed, and the optional
gap-fill bias. A top-level section, so ``gridbot evaluate --sweep calendar.weekend_mode=...``
can sweep it. Weekend mode and the gap bias default to off. ``"wider"`` (the step doubled
while CME is closed) raised the pooled walk-forward Sharpe from 1.04 to 1.14 before the
drawdown brakes ran in the backtest, but with the default brakes it lowers it (-0.06 -> -0.38
normal fills, -0.22 -> -0.47 pessimistic) while lowering the maximum drawdown by about a
point: not shown to help, so off (``docs/evaluation/weekend-and-gaps.md``). The gap bias
changed nothing measurable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from decimal import Decimal
from typing import Literal

from bootstrap.config_reader import ConfigReader
from domain.calendar import (
    CmeScheduleSettings,
    GapBiasSettings,
    SessionState,
    WeekendModeSettings,
)
from domain.calendar.weekend_mode import WeekendAction

WeekendModeName = Literal["off", "wider", "smaller", "no_entries"]
_DEFAULT_SCHEDULE = CmeScheduleSettings()


@dataclass(frozen=True)
class CalendarConfig:
    """``calendar``: see ``config/config.template.json`` for each key."""

    weekend_mode: WeekendModeName = "off"
    weekend_spacing_factor: Decimal = Decimal(2)
    weekend_size_factor: Decimal = Decimal("0.5")
    weekend_holidays: bool = True
    gap_bias: Decimal = Decimal(0)
    gap_min_distance: Decimal = Decimal(0)
    gap_fill_hours: int = 24
    continuous_from_ms: int | None = _DEFAULT_SCHEDULE.continuous_from_ms
    maintenance_weekday: int = _DEFAULT_SCHEDULE.maintenance_weekday
    maintenance_start_minute: int = (
        _DEFAULT_SCHEDULE.maintenance_start.hour * 60 + _DEFAULT_SCHEDULE.maintenance_start.minute
    )
    maintenance_minutes: int = _DEFAULT_SCHEDULE.maintenance_minutes

    @property
    def active(self) -> bool:
        """Whether the grid needs the calendar at all (weekend mode or the gap bias is on)."""
        return self.weekend_mode != "off" or self.gap_bias > 0

    def schedule_settings(self) -> CmeScheduleSettings:
        """The CME schedule this configures."""
        start = time(self.maintenance_start_minute // 60, self.maintenance_start_minute % 60)
        return CmeScheduleSettings(
            continuous_from_ms=self.continuous_from_ms,
            maintenance_weekday=self.maintenance_weekday,
            maintenance_start=start,
            maintenance_minutes=self.maintenance_minutes,
        )

    def weekend_settings(self) -> WeekendModeSettings:
        """Weekend mode as configured."""
        states = WeekendModeSettings().states
        if not self.weekend_holidays:
            states = frozenset({SessionState.WEEKEND})
        return WeekendModeSettings(
            WeekendAction(self.weekend_mode),
            self.weekend_spacing_factor,
            self.weekend_size_factor,
            states,
        )

    def gap_settings(self) -> GapBiasSettings:
        """The gap-fill bias as configured."""
        return GapBiasSettings(
            self.gap_bias, self.gap_min_distance, self.gap_fill_hours * 3_600_000
        )


def read_calendar(root: ConfigReader) -> CalendarConfig:
    """``calendar`` section."""
    section = root.section("calendar")
    d = CalendarConfig()
    zero, one = Decimal(0), Decimal(1)
    config = CalendarConfig(
        weekend_mode=section.choice("weekend_mode", d.weekend_mode, WeekendModeName),
        weekend_spacing_factor=section.required_decimal(
            "weekend_spacing_factor", d.weekend_spacing_factor, minimum=one, maximum=Decimal(20)
        ),
        weekend_size_factor=section.required_decimal(
            "weekend_size_factor",
            d.weekend_size_factor,
            minimum=zero,
            maximum=one,
            exclusive_min=True,
        ),
        weekend_holidays=section.boolean("weekend_holidays", d.weekend_holidays),
        gap_bias=section.required_decimal("gap_bias", d.gap_bias, minimum=zero, maximum=one),
        gap_min_distance=section.required_decimal(
            "gap_min_distance", d.gap_min_distance, minimum=zero, maximum=Decimal("0.5")
        ),
        gap_fill_hours=section.integer("gap_fill_hours", d.gap_fill_hours, 1, 24 * 14),
        continuous_from_ms=section.optional_integer(
            "continuous_from_ms", d.continuous_from_ms, 0, 10**14
        ),
        maintenance_weekday=section.integer("maintenance_weekday", d.maintenance_weekday, 0, 6),
        maintenance_start_minute=section.integer(
            "maintenance_start_minute", d.maintenance_start_minute, 0, 24 * 60 - 1
        ),
        maintenance_minutes=section.integer(
            "maintenance_minutes", d.maintenance_minutes, 1, 24 * 60 - 1
        ),
    )
    section.finish()
    return config
