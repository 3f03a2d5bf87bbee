"""Weekend mode: how a grid trades while the reference market (CME) is closed.

With CME Bitcoin futures shut (before the 24/7 switch: Friday 16:00 CT to Sunday 17:00 CT,
and the holiday closures) the institutions that hedge there are out, Binance's book is
thinner and a move can run further before anyone leans on it. A grid can answer that in
three ways, each a configuration choice, all off by default because the evaluation
(docs/evaluation/weekend-and-gaps.md) has to show one helps first:

* ``wider`` — the grid's step times ``spacing_factor`` (the same number of levels reach
  further, so a run costs fewer fills against the position);
* ``smaller`` — each level's size times ``size_factor`` (the same levels, less at stake);
* ``no_entries`` — no new entries at all; open legs keep their take-profits.

Which closures count is configurable too: the weekend and the holiday closures by default;
the one-hour daily break and the 24/7 era's maintenance window are too short to matter and
are left out unless asked for. Pure: the decision is a function of the candle's open time.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from domain.calendar.cme_sessions import Closure, CmeSchedule, SessionState

ONE = Decimal(1)


class WeekendAction(StrEnum):
    """What weekend mode does while the reference market is closed."""

    OFF = "off"
    WIDER = "wider"
    SMALLER = "smaller"
    NO_ENTRIES = "no_entries"


@dataclass(frozen=True, slots=True)
class WeekendModeSettings:
    """Weekend mode's configuration.

    Attributes:
        action: What to do while closed (``off`` disables weekend mode).
        spacing_factor: Step multiplier for ``wider`` (> 1 widens).
        size_factor: Level-size multiplier for ``smaller`` (in (0, 1]).
        states: Which closures switch the mode on.
    """

    action: WeekendAction = WeekendAction.OFF
    spacing_factor: Decimal = Decimal(2)
    size_factor: Decimal = Decimal("0.5")
    states: frozenset[SessionState] = frozenset({SessionState.WEEKEND, SessionState.HOLIDAY})

    def __post_init__(self) -> None:
        if self.spacing_factor < ONE:
            raise ValueError(f"spacing_factor must be >= 1, got {self.spacing_factor}")
        if not Decimal(0) < self.size_factor <= ONE:
            raise ValueError(f"size_factor must be in (0, 1], got {self.size_factor}")
        if SessionState.OPEN in self.states:
            raise ValueError("weekend mode cannot switch on while the market is OPEN")


@dataclass(frozen=True, slots=True)
class WeekendDecision:
    """What the grid should do at one instant.

    Attributes:
        active: Weekend mode is on (the reference market is in a configured closure).
        step_factor: Multiply the grid's step by this.
        size_factor: Multiply each level's size by this.
        block_entries: Place no new entries (take-profits still rest).
        closure: The closure it is on for (None when inactive).
    """

    active: bool
    step_factor: Decimal = ONE
    size_factor: Decimal = ONE
    block_entries: bool = False
    closure: Closure | None = None


INACTIVE = WeekendDecision(False)


class WeekendMode:
    """Decides, per instant, whether weekend mode is on and what it changes.

    Args:
        schedule: The reference market's sessions.
        settings: The configured action and factors.
    """

    def __init__(self, schedule: CmeSchedule, settings: WeekendModeSettings) -> None:
        self.schedule = schedule
        self.settings = settings

    @property
    def enabled(self) -> bool:
        """Whether weekend mode can ever switch on."""
        return self.settings.action is not WeekendAction.OFF

    def decide(
        self, ms: int, closure: Closure | None = None, *, known: bool = False
    ) -> WeekendDecision:
        """The decision at ``ms`` (a candle's open time).

        Args:
            ms: The instant, epoch ms UTC.
            closure: The closure at ``ms`` when the caller already looked it up.
            known: True when ``closure`` is that lookup (so None means "open").
        """
        s = self.settings
        if s.action is WeekendAction.OFF:
            return INACTIVE
        if not known:
            closure = self.schedule.closure_at(ms)
        if closure is None or closure.state not in s.states:
            return INACTIVE
        if s.action is WeekendAction.WIDER:
            return WeekendDecision(True, step_factor=s.spacing_factor, closure=closure)
        if s.action is WeekendAction.SMALLER:
            return WeekendDecision(True, size_factor=s.size_factor, closure=closure)
        return WeekendDecision(True, block_entries=True, closure=closure)
