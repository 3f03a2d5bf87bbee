"""What the calendar overlay reports as it happens: weekend mode switching, a CME gap recorded.

The overlay widens, shrinks or stops a grid for a closure and records the gap at each
reopen; these events say so at the candle it happened, so the application can log, stream
and journal them (a live run then shows that the grid was widened, not only a count in
memory). Pure values: times are epoch ms UTC, the market times are the same instants in
US Central time (the CME's own clock, DST from the tz database), money is Decimal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from domain.calendar.cme_sessions import CENTRAL
from domain.calendar.gaps import CmeGap


def market_time(ms: int) -> str:
    """An instant in CME's time zone (America/Chicago), ISO 8601 with its UTC offset."""
    return datetime.fromtimestamp(ms / 1000, CENTRAL).isoformat()


@dataclass(frozen=True, slots=True)
class WeekendSwitch:
    """Weekend mode switched on (``entered``) or off at the candle opening at ``at_ms``.

    Attributes:
        at_ms: Open time of the first candle in (or out of) weekend mode.
        entered: True: switched on; False: switched off.
        mode: What weekend mode does (``wider``, ``smaller``, ``no_entries``).
        closure: The closure's state (``WEEKEND``, ``HOLIDAY``, ...).
        cme_close_ms: When the reference market closed (the closure's start).
        cme_reopen_ms: When it reopens, or reopened (the closure's end).
        price: The candle's open price at the switch.
    """

    at_ms: int
    entered: bool
    mode: str
    closure: str
    cme_close_ms: int
    cme_reopen_ms: int
    price: Decimal

    def to_dict(self) -> dict[str, str]:
        """The fields as strings (a log line's, a telemetry event's, a journal record's)."""
        return {
            "switch": "entered" if self.entered else "left",
            "mode": self.mode,
            "closure": self.closure,
            "market_time": market_time(self.at_ms),
            "cme_close_ms": str(self.cme_close_ms),
            "cme_close": market_time(self.cme_close_ms),
            "cme_reopen_ms": str(self.cme_reopen_ms),
            "cme_reopen": market_time(self.cme_reopen_ms),
            "price": str(self.price),
        }


@dataclass(frozen=True, slots=True)
class GapRecorded:
    """A CME gap recorded at the reopen (the candle opening at ``at_ms``).

    Attributes:
        at_ms: Open time of the candle the gap was recorded on (at or after the reopen).
        gap: The gap: CME close and reopen times, Binance's prices at both.
    """

    at_ms: int
    gap: CmeGap

    def to_dict(self) -> dict[str, str]:
        """The fields as strings (a log line's, a telemetry event's, a journal record's)."""
        gap = self.gap
        return {
            "market_time": market_time(self.at_ms),
            "cme_close_ms": str(gap.close_ms),
            "cme_close": market_time(gap.close_ms),
            "cme_reopen_ms": str(gap.reopen_ms),
            "cme_reopen": market_time(gap.reopen_ms),
            "close_price": str(gap.close_price),
            "reopen_price": str(gap.reopen_price),
            "gap": str(gap.size),
            "gap_relative": str(gap.relative.quantize(Decimal("0.000001"))),
        }


#: Everything the calendar overlay reports.
CalendarEvent = WeekendSwitch | GapRecorded
