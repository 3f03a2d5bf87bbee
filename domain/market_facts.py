"""Market facts a grid sizes itself with, in price units, updated once per closed candle.

The signal's features are z-scores: good for deciding *whether* to trade, useless for
deciding *how far apart* to put orders. A grid needs the market's typical move in the
instrument's own price units: the average true range (ATR) and the realised volatility of
1-minute returns expressed as a price distance. Both are kept over several configurable
windows, each a rolling sum that folds in every candle once, in O(1).

Folding is deferred to the first read after a candle: ``MarketFacts.update`` only keeps
the candle (the last ``max(window) + 1`` of them), and a read folds in what arrived since the
previous read. A strategy that reads every candle therefore pays O(1) per candle, and one
that never reads (the static grid) pays one append — the backtest's throughput does not
depend on facts it does not use. Everything a read returns is about the latest candle.

ATR is exact (Decimal true ranges, exact rolling sums). Realised volatility is a
statistical estimate: squared log returns are summed in floats and the sum is rebuilt from
its window every ``window`` candles, so rounding never drifts; it is handed out as a
Decimal rounded to 12 significant digits.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from domain.candles import Candle

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class MarketFactsSettings:
    """Which windows (in 1m candles) the facts are kept over.

    Attributes:
        atr_windows: Windows of the average true range.
        volatility_windows: Windows of the realised volatility.
    """

    atr_windows: tuple[int, ...] = (14, 60)
    volatility_windows: tuple[int, ...] = (60, 1440)

    def __post_init__(self) -> None:
        for name, windows in (("atr", self.atr_windows), ("volatility", self.volatility_windows)):
            if any(w < 1 for w in windows):
                raise ValueError(f"{name} windows must be >= 1, got {windows}")


class _ExactWindow:
    """Rolling sum of the last ``size`` Decimals (exact: no drift)."""

    __slots__ = ("size", "sum", "values")

    def __init__(self, size: int) -> None:
        self.size = size
        self.values: deque[Decimal] = deque()
        self.sum = ZERO

    def push(self, value: Decimal) -> None:
        values = self.values
        values.append(value)
        self.sum += value
        if len(values) > self.size:
            self.sum -= values.popleft()


class _FloatWindow:
    """Rolling sum of the last ``size`` floats, rebuilt from the window every ``size`` pushes."""

    __slots__ = ("_since_rebuild", "size", "sum", "values")

    def __init__(self, size: int) -> None:
        self.size = size
        self.values: deque[float] = deque()
        self.sum = 0.0
        self._since_rebuild = 0

    def push(self, value: float) -> None:
        values = self.values
        values.append(value)
        self.sum += value
        if len(values) > self.size:
            self.sum -= values.popleft()
        self._since_rebuild += 1
        if self._since_rebuild >= self.size:
            self.sum = math.fsum(values)
            self._since_rebuild = 0


class MarketFacts:
    """ATR and realised volatility in price units over the configured windows.

    Call ``update`` with every closed candle, in open-time order; read :meth:`atr` and
    :meth:`volatility` whenever needed (see the module docstring on deferred folding). A
    window's figure is None until it has seen enough candles, so a strategy never sizes on
    a half-filled window by mistake.

    Args:
        settings: The windows.
    """

    __slots__ = ("_atr", "_folded_until", "_prev_close", "_recent", "_vol", "settings", "update")

    def __init__(self, settings: MarketFactsSettings | None = None) -> None:
        self.settings = settings or MarketFactsSettings()
        self._atr: dict[int, _ExactWindow] = {}
        self._vol: dict[int, _FloatWindow] = {}
        self._prev_close: Decimal | None = None
        self._reset()
        span = max((*self.settings.atr_windows, *self.settings.volatility_windows, 1)) + 1
        self._recent: deque[Candle] = deque(maxlen=span)
        #: Open time of the newest candle folded into the windows.
        self._folded_until: int | None = None
        #: Take one closed candle, folded into the windows on the next read. It is the
        #: candle deque's own ``append``, so a candle costs the caller no Python call.
        self.update: Callable[[Candle], None] = self._recent.append

    def warm_up(self, candles: Iterable[Candle]) -> None:
        """Take past candles in order (a live start's look-back), so the windows start full."""
        self._recent.extend(candles)

    @property
    def last_close(self) -> Decimal | None:
        """Close of the latest candle (None before the first)."""
        recent = self._recent
        return recent[-1].close if recent else None

    def _reset(self) -> None:
        self._atr = {w: _ExactWindow(w) for w in self.settings.atr_windows}
        self._vol = {w: _FloatWindow(w) for w in self.settings.volatility_windows}
        self._prev_close = None

    def _catch_up(self) -> None:
        """Fold in the candles newer than the last folded one, oldest first.

        A candle whose open time is not after the last folded one is not new (a replayed
        candle) and is left out.
        """
        recent = self._recent
        done = self._folded_until
        if not recent or (done is not None and recent[-1].open_time <= done):
            return
        size = len(recent)
        start = size
        while start > 0 and (done is None or recent[start - 1].open_time > done):
            start -= 1
        if start == 0 and (done is not None or size == recent.maxlen):
            # Unread for longer than the longest window (candles may have left the deque
            # unfolded): only the kept candles matter, the oldest as the previous close.
            self._reset()
            self._prev_close = recent[0].close
            start = 1
        for i in range(start, size):
            self._fold(recent[i])
        self._folded_until = recent[-1].open_time

    def _fold(self, candle: Candle) -> None:
        """One true range and one log return into every window."""
        high = candle.high
        low = candle.low
        close = candle.close
        prev = self._prev_close
        true_range = high - low
        if prev is not None:
            if high - prev > true_range:
                true_range = high - prev
            if prev - low > true_range:
                true_range = prev - low
        for window in self._atr.values():
            window.push(true_range)
        if prev is not None and prev > 0 and close > 0:
            ret = math.log(float(close) / float(prev))
            squared = ret * ret
            for vol in self._vol.values():
                vol.push(squared)
        self._prev_close = close

    def atr(self, window: int) -> Decimal | None:
        """Mean true range over the last ``window`` candles, in price units.

        Raises:
            KeyError: ``window`` is not one of the configured ATR windows.
        """
        self._atr[window]  # an unknown window fails before any work
        self._catch_up()
        rolling = self._atr[window]
        if len(rolling.values) < window:
            return None
        return rolling.sum / window

    def volatility(self, window: int) -> Decimal | None:
        """Realised volatility of 1m returns over ``window`` candles, as a price distance.

        The root mean square of the 1m log returns (zero-mean, the usual realised-volatility
        convention) times the latest close: the typical one-minute move in price units.
        Scale by ``sqrt(n)`` for an n-minute horizon.

        Raises:
            KeyError: ``window`` is not one of the configured volatility windows.
        """
        self._vol[window]  # an unknown window fails before any work
        self._catch_up()
        rolling = self._vol[window]
        close = self.last_close
        if len(rolling.values) < window or close is None:
            return None
        rms = math.sqrt(max(rolling.sum, 0.0) / window)
        return Decimal(f"{rms * float(close):.12g}")
