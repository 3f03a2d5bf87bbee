"""The CME gap: where Binance traded when CME closed, against where it trades at the reopen.

While CME Bitcoin futures are closed for a weekend or a holiday, Binance keeps trading; the
difference between the Binance price at the CME close and at the reopen is the gap that
traders say "gets filled". Whether it does, in this data, is for the evaluation to measure:
this module only records each gap at the reopen and follows it for a fill window (24 h by
default), so the fraction filled can be counted and the open gap offered as a feature (the
grid's optional gap-fill bias reads it).

The daily one-hour break and the maintenance window are too short to matter and are not
recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from domain.calendar.cme_sessions import Closure, CmeSchedule, SessionState

ZERO = Decimal(0)
_GAP_STATES = (SessionState.WEEKEND, SessionState.HOLIDAY)


@dataclass(frozen=True, slots=True)
class CmeGap:
    """One gap, recorded at the reopen.

    Attributes:
        close_ms: When CME closed.
        reopen_ms: When it reopened.
        close_price: Binance's last close before the CME close.
        reopen_price: Binance's first open at or after the reopen.
        filled_ms: When Binance traded back through ``close_price`` within the fill window,
            or None (not yet, or never).
    """

    close_ms: int
    reopen_ms: int
    close_price: Decimal
    reopen_price: Decimal
    filled_ms: int | None = None

    @property
    def size(self) -> Decimal:
        """Reopen minus close, in price (positive: Binance rose while CME was shut)."""
        return self.reopen_price - self.close_price

    @property
    def relative(self) -> Decimal:
        """The gap as a fraction of the close price."""
        return self.size / self.close_price if self.close_price else ZERO


class CmeGapTracker:
    """Records gaps from closed 1m candles and follows each until it fills or expires.

    Args:
        schedule: The CME sessions.
        fill_window_ms: How long after the reopen a fill counts (24 h by default).
    """

    def __init__(
        self,
        schedule: CmeSchedule,
        fill_window_ms: int = 86_400_000,
        max_data_gap_ms: int = 600_000,
    ) -> None:
        self._schedule = schedule
        self._window = fill_window_ms
        self._max_gap = max_data_gap_ms
        self._last_close: Decimal | None = None
        self._last_time: int | None = None
        self._closed_at: tuple[int, int, Decimal | None] | None = None
        self.gaps: list[CmeGap] = []
        # Indices into ``gaps`` of the gaps still followed (unfilled, inside their window):
        # a holiday halt can record a gap before the weekend's has settled.
        self._following: list[int] = []

    @property
    def open_gap(self) -> CmeGap | None:
        """The latest gap while it is unfilled and within its fill window."""
        following = self._following
        return self.gaps[following[-1]] if following else None

    def open_gap_relative(self, close: Decimal) -> Decimal:
        """Signed distance from ``close`` back to the open gap's close price, as a fraction.

        Positive: the price sits above where CME closed (a fill would need it to fall).
        Zero when no gap is open.
        """
        gap = self.open_gap
        if gap is None or not gap.close_price:
            return ZERO
        return (close - gap.close_price) / gap.close_price

    def on_candle(
        self, open_time: int, open_: Decimal, high: Decimal, low: Decimal, close: Decimal
    ) -> CmeGap | None:
        """Feed one closed 1m candle; returns a gap recorded at this candle (the reopen).

        A gap is recorded only when the data covers both ends (within ``max_data_gap_ms``
        of the close and of the reopen): a hole in the data is never taken for a gap.
        """
        recorded: CmeGap | None = None
        closure = self._schedule.closure_at(open_time)
        if closure is not None and closure.state in _GAP_STATES:
            if self._closed_at is None or self._closed_at[0] != closure.start_ms:
                self._closed_at = (closure.start_ms, closure.end_ms, self._price_at(closure))
        else:
            if self._closed_at is None:
                self._closed_at = self._jumped_over(open_time)
            if self._closed_at is not None:
                start, end, price = self._closed_at
                self._closed_at = None
                if price is not None and open_time - end <= self._max_gap:
                    recorded = CmeGap(start, end, price, open_)
                    self._following.append(len(self.gaps))
                    self.gaps.append(recorded)
        self._follow(open_time, high, low)
        self._last_close = close
        self._last_time = open_time
        return recorded

    def _price_at(self, closure: Closure) -> Decimal | None:
        """Binance's last close before ``closure``, when the data reaches up to it."""
        last = self._last_time
        if last is None or closure.start_ms - last > self._max_gap:
            return None
        return self._last_close

    def _jumped_over(self, open_time: int) -> tuple[int, int, Decimal | None] | None:
        """A closure the data skipped entirely (no candle inside it), if there is one."""
        last = self._last_time
        if last is None or open_time - last <= 60_000:
            return None
        skipped = [
            c
            for c in self._schedule.closures_between(last + 60_000, open_time)
            if c.state in _GAP_STATES and c.start_ms > last and c.end_ms <= open_time
        ]
        if not skipped:
            return None
        closure = skipped[-1]
        return closure.start_ms, closure.end_ms, self._price_at(closure)

    def _follow(self, open_time: int, high: Decimal, low: Decimal) -> None:
        following = self._following
        if not following:
            return
        gaps = self.gaps
        still: list[int] = []
        for index in following:
            gap = gaps[index]
            if open_time >= gap.reopen_ms + self._window:
                continue  # expired unfilled
            if low <= gap.close_price <= high:
                gaps[index] = replace(gap, filled_ms=open_time)
                continue
            still.append(index)
        self._following = still

    def fill_rate(self) -> tuple[int, int]:
        """(filled, settled): settled gaps are those that filled or whose window ran out.

        A gap still followed (the data ended inside its window) is counted in neither.
        """
        following = set(self._following)
        settled = [g for i, g in enumerate(self.gaps) if i not in following]
        return sum(1 for g in settled if g.filled_ms is not None), len(settled)

    # ------------------------------------------------------------------ persistence
    def snapshot(self) -> str:
        """What a restart needs to record the next gap and follow the open ones, as a string.

        Sections joined by ``;``: the last candle seen (``time|close``), the closure under
        way (``start|end|close price``, empty when none) and then one ``close_ms|reopen_ms|
        close_price|reopen_price`` per gap still followed. Settled gaps are not kept: they
        only feed the counters, which start again with the process like the overlay's.
        The CME-close price lives only here, so without it a restart inside a closure
        records no gap at the reopen.
        """
        last = "" if self._last_time is None else f"{self._last_time}|{self._last_close}"
        closed = ""
        if self._closed_at is not None:
            start, end, price = self._closed_at
            closed = f"{start}|{end}|{'' if price is None else price}"
        followed = [self.gaps[i] for i in self._following]
        gaps = [f"{g.close_ms}|{g.reopen_ms}|{g.close_price}|{g.reopen_price}" for g in followed]
        return ";".join([last, closed, *gaps])

    def restore(self, state: str) -> None:
        """Continue from a :meth:`snapshot`; ``""`` (a state saved before it existed) = fresh.

        Raises:
            ValueError: The state is malformed.
        """
        self._last_close = self._last_time = self._closed_at = None
        self.gaps, self._following = [], []
        if not state:
            return
        last, closed, *gaps = state.split(";")
        if last:
            time, close = last.split("|")
            self._last_time, self._last_close = int(time), Decimal(close)
        if closed:
            start, end, price = closed.split("|")
            self._closed_at = (int(start), int(end), Decimal(price) if price else None)
        for text in gaps:
            close_ms, reopen_ms, close_price, reopen_price = text.split("|")
            gap = CmeGap(int(close_ms), int(reopen_ms), Decimal(close_price), Decimal(reopen_price))
            self._following.append(len(self.gaps))
            self.gaps.append(gap)
