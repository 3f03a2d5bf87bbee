"""Market facts a grid sizes itself with, in price units, updated once per closed candle.

The signal's features are z-scores: good for deciding *whether* to trade, useless for
deciding *how far apart* to put orders. A grid needs the market's typical move in the
instrument's own price units: the average true range (ATR) and the realised volatility of
1-minute returns expressed as a price distance. Both are kept over several configurable
windows, each a rolling sum updated in O(1) per candle, so the backtest pays a few
additions per bar and a strategy reads the figures for free.

ATR is exact (Decimal true ranges, exact rolling sums). Realised volatility is a
statistical estimate: squared log returns are summed in floats and the sum is rebuilt from
its window every ``window`` candles, so rounding never drifts; it is handed out as a
Decimal rounded to 12 significant digits.
"""

from __future__ import annotations

import math
from collections import deque
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

    Call :meth:`update` with every closed candle, in order; read :meth:`atr` and
    :meth:`volatility` afterwards. A window's figure is None until it has seen enough
    candles, so a strategy never sizes on a half-filled window by mistake.

    Args:
        settings: The windows.
    """

    __slots__ = ("_atr", "_prev_close", "_vol", "candles", "last_close", "settings")

    def __init__(self, settings: MarketFactsSettings | None = None) -> None:
        self.settings = settings or MarketFactsSettings()
        self._atr = {w: _ExactWindow(w) for w in self.settings.atr_windows}
        self._vol = {w: _FloatWindow(w) for w in self.settings.volatility_windows}
        self._prev_close: Decimal | None = None
        #: Candles seen.
        self.candles = 0
        #: Close of the latest candle (None before the first).
        self.last_close: Decimal | None = None

    def update(self, candle: Candle) -> None:
        """Take one closed candle: one true range and one log return per window."""
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
        self.last_close = close
        self.candles += 1

    def atr(self, window: int) -> Decimal | None:
        """Mean true range over the last ``window`` candles, in price units.

        Raises:
            KeyError: ``window`` is not one of the configured ATR windows.
        """
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
        rolling = self._vol[window]
        close = self.last_close
        if len(rolling.values) < window or close is None:
            return None
        rms = math.sqrt(max(rolling.sum, 0.0) / window)
        return Decimal(f"{rms * float(close):.12g}")
