"""The calendar's events as the decision cycle reports them: weekend switches and CME gaps.

The strategy's calendar overlay (:mod:`domain.calendar.grid_overlay`) switches weekend mode
on and off and records a CME gap at each reopen; the domain only hands those events out.
Here each one goes the way a brake transition goes (:mod:`application.brakes`): emitted to
the event sink — a JSON log line and a telemetry event in a live run, ``calendar.weekend``
(entered / left, the mode, the market time, CME's close and reopen) and ``calendar.gap``
(CME close price, reopen price, the gap) — counted for the backtest report, and handed to
the listeners, which journal it (the trading session appends a record of the same name).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from application.ports.event_sink import EventSink
from domain.calendar.events import CalendarEvent, WeekendSwitch

#: Event names, also the journal records' kinds.
WEEKEND_EVENT = "calendar.weekend"
GAP_EVENT = "calendar.gap"

__all__ = ["GAP_EVENT", "WEEKEND_EVENT", "CalendarEvents", "CalendarStats"]


class CalendarStats:
    """What the calendar did in a run (the backtest report shows it).

    Attributes:
        weekend_entered: Times weekend mode switched on.
        weekend_left: Times it switched off.
        gaps: CME gaps recorded at a reopen.
    """

    __slots__ = ("gaps", "weekend_entered", "weekend_left")

    def __init__(self) -> None:
        self.weekend_entered = 0
        self.weekend_left = 0
        self.gaps = 0

    def to_dict(self) -> dict[str, int]:
        """Plain fields for a report."""
        return {
            "weekend_entered": self.weekend_entered,
            "weekend_left": self.weekend_left,
            "cme_gaps": self.gaps,
        }


class CalendarEvents:
    """Emits, counts and hands on the strategy's calendar events (see the module docstring).

    Args:
        sink: Where the events are emitted (None: counted only, a backtest without a sink).
    """

    __slots__ = ("_sink", "listeners", "stats")

    def __init__(self, sink: EventSink | None = None) -> None:
        self._sink = sink
        self.stats = CalendarStats()
        #: Called with ``(event name, at_ms, fields)`` for every event (the session
        #: journals it).
        self.listeners: list[Callable[[str, int, dict[str, str]], None]] = []

    def record(self, events: Iterable[CalendarEvent]) -> None:
        """Report each event: the sink, the counts, the listeners."""
        stats = self.stats
        for event in events:
            fields = event.to_dict()
            if isinstance(event, WeekendSwitch):
                name = WEEKEND_EVENT
                if event.entered:
                    stats.weekend_entered += 1
                else:
                    stats.weekend_left += 1
            else:
                name = GAP_EVENT
                stats.gaps += 1
            if self._sink is not None:
                self._sink.emit(name, event.at_ms, **fields)
            for listener in self.listeners:
                listener(name, event.at_ms, fields)
