"""What the CME calendar tells a grid on each candle: weekend mode and the CME-gap bias.

One object a grid strategy consults once per closed candle (with the candle, never a
clock). It

* follows the CME gap (:class:`~domain.calendar.gaps.CmeGapTracker`): the gap is recorded
  at each reopen and, while it is open, :meth:`CmeGridOverlay.gap_feature` is the signed
  distance from the close back to where CME closed — the feature a strategy can read;
* decides weekend mode (:mod:`~domain.calendar.weekend_mode`) for the candle; and
* turns an open gap into a *tilt* of the grid's asymmetry when the gap-fill bias is on
  (``gap_bias`` > 0, off by default): with the price above CME's close a fill needs it to
  fall, so the sell side gets more levels and the buy side fewer, by
  ``round(gap_bias x levels)``; below, the other way round.

The grid applies the result (:class:`GridAdjustment`); it owns no calendar logic itself,
which keeps its hook a few lines long.

Every switch of weekend mode (on at the first candle of a closure, off at the first candle
after it) and every gap recorded at a reopen is also an event
(:mod:`~domain.calendar.events`), kept until the grid's caller takes them
(:meth:`CmeGridOverlay.take_events`): the decision cycle logs, streams and journals them,
so a live run shows when the grid widened, not only a count in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from domain.calendar.cme_sessions import Closure, CmeSchedule, SessionState
from domain.calendar.events import CalendarEvent, GapRecorded, WeekendSwitch
from domain.calendar.gaps import CmeGapTracker
from domain.calendar.weekend_mode import (
    INACTIVE,
    WeekendDecision,
    WeekendMode,
    WeekendModeSettings,
)
from domain.candles import Candle

ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class GapBiasSettings:
    """The optional gap-fill bias.

    Attributes:
        bias: 0 (off) .. 1: the asymmetry an open gap gives the grid, towards its fill.
        min_distance: Tilt only while the close is at least this fraction away from the
            CME close (a gap a few ticks wide is noise).
        fill_window_ms: How long after the reopen a gap is followed (24 h by default).
    """

    bias: Decimal = ZERO
    min_distance: Decimal = ZERO
    fill_window_ms: int = 86_400_000

    def __post_init__(self) -> None:
        if not ZERO <= self.bias <= ONE:
            raise ValueError(f"gap bias must be in [0, 1], got {self.bias}")
        if self.min_distance < ZERO:
            raise ValueError(f"gap min_distance must be >= 0, got {self.min_distance}")
        if self.fill_window_ms <= 0:
            raise ValueError(f"gap fill window must be > 0 ms, got {self.fill_window_ms}")


@dataclass(frozen=True, slots=True)
class GridAdjustment:
    """What the calendar changes about the grid on one candle.

    Attributes:
        regime: Identifies the weekend-mode stretch that rescales the grid (its closure's
            start), None outside one; the grid re-centres when it changes, so a wider or
            smaller grid starts with the closure and ends with it (``no_entries`` rescales
            nothing and re-centres nothing).
        step_factor: Multiply the step by this at the re-centre.
        size_factor: Multiply each level's size by this at the re-centre.
        block_entries: No new entries on either side.
        gap_tilt: Net conviction-like tilt in [-1, 1] the open gap adds (positive favours
            buys); 0 when the bias is off or no gap is open.
    """

    regime: int | None
    step_factor: Decimal
    size_factor: Decimal
    block_entries: bool
    gap_tilt: float


NEUTRAL = GridAdjustment(None, ONE, ONE, False, 0.0)


class CmeGridOverlay:
    """Weekend mode and the CME gap for one symbol's grid (see the module docstring).

    Args:
        schedule: CME sessions.
        weekend: Weekend-mode settings.
        gap: Gap-bias settings.
    """

    def __init__(
        self,
        schedule: CmeSchedule,
        weekend: WeekendModeSettings | None = None,
        gap: GapBiasSettings | None = None,
    ) -> None:
        self.schedule = schedule
        self.weekend = WeekendMode(schedule, weekend or WeekendModeSettings())
        self.gap_settings = gap or GapBiasSettings()
        self.gaps = CmeGapTracker(schedule, self.gap_settings.fill_window_ms)
        self.weekend_candles = 0
        self.weekend_entered = 0
        self.weekend_left = 0
        self.tilted_candles = 0
        self.last_decision: WeekendDecision = INACTIVE
        #: The closure weekend mode is on for (None: off).
        self.weekend_closure: Closure | None = None
        self._events: list[CalendarEvent] = []

    def counters(self) -> dict[str, int]:
        """Candles spent in weekend mode or tilted by a gap, switches, gaps recorded / filled."""
        filled, settled = self.gaps.fill_rate()
        return {
            "weekend_candles": self.weekend_candles,
            "weekend_entered": self.weekend_entered,
            "weekend_left": self.weekend_left,
            "gap_tilted_candles": self.tilted_candles,
            "cme_gaps": len(self.gaps.gaps),
            "cme_gaps_settled": settled,
            "cme_gaps_filled": filled,
        }

    def gap_feature(self, close: Decimal) -> Decimal:
        """Signed distance from ``close`` to the open gap's CME close, as a fraction (0: none).

        Positive: the price is above where CME closed, so a fill would need it to fall.
        """
        return self.gaps.open_gap_relative(close)

    def on_candle(self, candle: Candle) -> GridAdjustment:
        """Feed one closed candle and return what the grid should change for it."""
        open_time = candle.open_time
        gap = self.gaps.on_candle(open_time, candle.open, candle.high, candle.low, candle.close)
        decision = self.weekend.decide(open_time) if self.weekend.enabled else INACTIVE
        self.last_decision = decision
        closure = decision.closure if decision.active else None
        current = self.weekend_closure
        if closure != current:
            self._switch(current, closure, candle)
        if gap is not None:
            self._events.append(GapRecorded(open_time, gap))
        tilt = 0.0
        bias = self.gap_settings.bias
        if bias:
            distance = self.gaps.open_gap_relative(candle.close)
            if distance and abs(distance) >= self.gap_settings.min_distance:
                tilt = -float(bias) if distance > 0 else float(bias)
                self.tilted_candles += 1
        if not decision.active:
            return NEUTRAL if not tilt else GridAdjustment(None, ONE, ONE, False, tilt)
        self.weekend_candles += 1
        rescales = decision.step_factor != ONE or decision.size_factor != ONE
        return GridAdjustment(
            closure.start_ms if closure is not None and rescales else None,
            decision.step_factor,
            decision.size_factor,
            decision.block_entries,
            tilt,
        )

    def _switch(self, old: Closure | None, new: Closure | None, candle: Candle) -> None:
        """Weekend mode leaves ``old`` and/or enters ``new`` at this candle: events out."""
        mode = self.weekend.settings.action.value
        at, price = candle.open_time, candle.open
        if old is not None:
            self.weekend_left += 1
            self._events.append(
                WeekendSwitch(at, False, mode, old.state.value, old.start_ms, old.end_ms, price)
            )
        if new is not None:
            self.weekend_entered += 1
            self._events.append(
                WeekendSwitch(at, True, mode, new.state.value, new.start_ms, new.end_ms, price)
            )
        self.weekend_closure = new

    def take_events(self) -> tuple[CalendarEvent, ...]:
        """The switches and gaps since the last call, oldest first (then forgotten)."""
        if not self._events:
            return ()
        events = tuple(self._events)
        self._events.clear()
        return events

    def snapshot(self) -> str:
        """The closure weekend mode is on for, as a string ("" when off)."""
        c = self.weekend_closure
        return "" if c is None else f"{c.start_ms}|{c.end_ms}|{c.state.value}"

    def restore(self, state: str) -> None:
        """Continue from a :meth:`snapshot`: a restart inside a closure does not enter again.

        Raises:
            ValueError: The state is malformed.
        """
        if not state:
            self.weekend_closure = None
            return
        start, end, kind = state.split("|")
        self.weekend_closure = Closure(int(start), int(end), SessionState(kind))
