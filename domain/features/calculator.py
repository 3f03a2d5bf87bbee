"""The twelve features of one timeframe's bar series: incremental calculator and batch twin.

The same calculator serves the 1m stream (one bar per candle) and the aggregated 5m / 15m /
1h bars. Definitions, in :data:`~domain.features.names.BASE_FEATURES` order (``t`` counts
bars of the timeframe from 0; "first" is the first bar at which the feature is defined —
before it, the feature holds its neutral value):

==================== ====== ===============================================================
feature              first  definition, and the fallback where it would divide by zero
==================== ====== ===============================================================
logret_1             1      ``log(c_t / c_{t-1})``
logret_5             5      ``log(c_t / c_{t-5})``
logret_20            20     ``log(c_t / c_{t-20})``
rvol_20              20     population sd of ``logret_1`` over bars ``t-19 .. t``
atr_14               14     Wilder ATR(14) / ``c_t``; true range from bar 1 on (needs the
                            previous close), seeded with the mean of TR 1..14
ema_slope_20         20     ``log(EMA20_t / EMA20_{t-1})``
ema_spread_12_26     25     ``log(EMA12_t / EMA26_t)``
rsi_14               14     ``(RSI - 50) / 50 = (G - L) / (G + L)`` with Wilder averages of
                            gains G and losses L (seeded with the mean of changes 1..14);
                            0 when ``G + L == 0`` (no price change at all)
bb_pctb_20           19     ``(c - mean) / (4 sd) + 0.5`` over closes ``t-19 .. t``
                            (population sd); 0.5 when ``sd == 0`` (flat closes)
range_pos_20         19     ``(c - LL) / (HH - LL)`` over highs / lows ``t-19 .. t``;
                            0.5 when ``HH == LL`` (flat range)
volume_z_20          19     ``(v - mean) / sd`` over volumes ``t-19 .. t``; 0 when
                            ``sd == 0`` (e.g. a run of zero-volume bars)
taker_buy_ratio_20   19     ``sum taker-buy / sum volume`` over ``t-19 .. t``; a bar without
                            taker-buy data counts as balanced (taker-buy = volume / 2), so
                            unknown data gives exactly 0.5; 0.5 when the volume sum is 0
==================== ====== ===============================================================

Neutral values (before a feature's first bar): 0 for returns, volatility, ATR, slopes,
spread, RSI and volume z; 0.5 for %b, range position and taker ratio — the value each takes
on a featureless market, so an unready vector carries no spurious signal.

Why these exact fallbacks matter: a zero-volume or flat stretch (real on Binance futures)
must not produce NaN or infinity, and the batch path must take the same branch as the
incremental one; both compare exact zeros produced by the shifted sums of
:mod:`domain.features.rolling` (a flat window gives a variance of exactly 0.0).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from domain.features.indicators import (
    EMA_FAST,
    EMA_MID,
    EMA_SLOW,
    WILDER_PERIOD,
    ema_weights,
    seeded_smoothing,
    wilder_weights,
)
from domain.features.rolling import (
    RollingExtremes,
    RollingMoments,
    RollingSums,
    rolling_max,
    rolling_min,
    rolling_moments,
    rolling_sum,
)

__all__ = [
    "BARS_NEEDED",
    "FIRST_DEFINED",
    "NEUTRAL",
    "WINDOW",
    "TimeframeFeatures",
    "timeframe_features",
]

#: Length of the windowed features (returns, volatility, Bollinger, range, volume, taker).
WINDOW = 20

#: First bar index at which each base feature is defined (BASE_FEATURES order).
FIRST_DEFINED: tuple[int, ...] = (1, 5, 20, 20, 14, 20, 25, 14, 19, 19, 19, 19)

#: Bars a timeframe needs before all twelve features are defined.
BARS_NEEDED = max(FIRST_DEFINED) + 1

#: Value of each base feature before it is defined (BASE_FEATURES order).
NEUTRAL: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.5, 0.0, 0.5)

_A12, _D12 = ema_weights(EMA_FAST)
_A20, _D20 = ema_weights(EMA_MID)
_A26, _D26 = ema_weights(EMA_SLOW)
_AW, _DW = wilder_weights(WILDER_PERIOD)
_RING = 21  # closes kept for logret_20 (c_t .. c_{t-20})

_log = math.log
_sqrt = math.sqrt


class TimeframeFeatures:
    """Incremental calculator of the twelve base features for one bar series.

    Feed it closed bars in time order with :meth:`update`; each call costs O(1).
    """

    __slots__ = (
        "_acc_close",
        "_acc_gain",
        "_acc_loss",
        "_acc_tr",
        "_atr",
        "_closes",
        "_count",
        "_ema12",
        "_ema20",
        "_ema26",
        "_extremes",
        "_gain",
        "_loss",
        "_prev_close",
        "_returns",
        "_sums",
        "_volumes",
        "_window_closes",
    )

    def __init__(self) -> None:
        """Create a calculator that has seen no bar."""
        self._count = 0
        self._prev_close = 0.0
        self._closes = [0.0] * _RING
        self._acc_close = 0.0
        self._acc_tr = 0.0
        self._acc_gain = 0.0
        self._acc_loss = 0.0
        self._ema12 = 0.0
        self._ema20 = 0.0
        self._ema26 = 0.0
        self._atr = 0.0
        self._gain = 0.0
        self._loss = 0.0
        self._returns = RollingMoments(WINDOW)
        self._window_closes = RollingMoments(WINDOW)
        self._volumes = RollingMoments(WINDOW)
        self._extremes = RollingExtremes(WINDOW)
        self._sums = RollingSums(WINDOW)

    @property
    def bars(self) -> int:
        """Bars seen so far."""
        return self._count

    def update(
        self, high: float, low: float, close: float, volume: float, taker_buy: float
    ) -> list[float]:
        """Consume one closed bar and return the twelve features after it.

        Args:
            high: Bar high (> 0).
            low: Bar low (> 0).
            close: Bar close (> 0).
            volume: Bar volume (>= 0).
            taker_buy: Taker-buy volume, already imputed as ``volume / 2`` when unknown.

        Returns:
            A new list of twelve floats in BASE_FEATURES order.
        """
        k = self._count
        self._count = k + 1
        out = list(NEUTRAL)
        closes = self._closes
        closes[k % _RING] = close
        pc = self._prev_close
        self._prev_close = close

        # Returns, true range, price change: need the previous close.
        if k:
            r1 = _log(close / pc)
            out[0] = r1
            if k >= 5:
                out[1] = _log(close / closes[(k - 5) % _RING])
            if k >= 20:
                out[2] = _log(close / closes[(k - 20) % _RING])
            tr = high - low
            up = abs(high - pc)
            if up > tr:
                tr = up
            down = abs(low - pc)
            if down > tr:
                tr = down
            change = close - pc
            gain = change if change > 0.0 else 0.0
            loss = -change if change < 0.0 else 0.0
            if k > WILDER_PERIOD:
                atr = _DW * self._atr + _AW * tr
                g = _DW * self._gain + _AW * gain
                lo = _DW * self._loss + _AW * loss
            else:
                self._acc_tr += tr
                self._acc_gain += gain
                self._acc_loss += loss
                atr = self._acc_tr / WILDER_PERIOD
                g = self._acc_gain / WILDER_PERIOD
                lo = self._acc_loss / WILDER_PERIOD
            self._atr = atr
            self._gain = g
            self._loss = lo
            if k >= WILDER_PERIOD:
                out[4] = atr / close
                total = g + lo
                out[7] = (g - lo) / total if total > 0.0 else 0.0
        else:
            r1 = 0.0  # placeholder; never inside a window that is reported
        _, var_r = self._returns.push(r1)
        if k >= WINDOW:
            out[3] = _sqrt(var_r) if var_r > 0.0 else 0.0

        # EMAs, seeded with the mean of their first n closes (one shared running sum).
        if k < EMA_SLOW:
            self._acc_close += close
        prev20 = self._ema20
        if k >= EMA_FAST:
            self._ema12 = _D12 * self._ema12 + _A12 * close
        elif k == EMA_FAST - 1:
            self._ema12 = self._acc_close / EMA_FAST
        if k >= EMA_MID:
            ema20 = _D20 * prev20 + _A20 * close
            self._ema20 = ema20
            out[5] = _log(ema20 / prev20)
        elif k == EMA_MID - 1:
            self._ema20 = self._acc_close / EMA_MID
        if k >= EMA_SLOW:
            self._ema26 = _D26 * self._ema26 + _A26 * close
        elif k == EMA_SLOW - 1:
            self._ema26 = self._acc_close / EMA_SLOW
        if k >= EMA_SLOW - 1:
            out[6] = _log(self._ema12 / self._ema26)

        # Windowed features over the last 20 bars.
        dev_c, var_c = self._window_closes.push(close)
        hh, ll = self._extremes.push(high, low)
        dev_v, var_v = self._volumes.push(volume)
        sum_taker, sum_volume = self._sums.push(taker_buy, volume)
        if k >= WINDOW - 1:
            if var_c > 0.0:
                out[8] = dev_c / (4.0 * _sqrt(var_c)) + 0.5
            if hh > ll:
                out[9] = (close - ll) / (hh - ll)
            if var_v > 0.0:
                out[10] = dev_v / _sqrt(var_v)
            if sum_volume > 0.0:
                out[11] = sum_taker / sum_volume
        return out


def timeframe_features(
    high: NDArray[np.float64],
    low: NDArray[np.float64],
    close: NDArray[np.float64],
    volume: NDArray[np.float64],
    taker_buy: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Batch twin of :class:`TimeframeFeatures`: the features after every bar at once.

    Args:
        high: Bar highs, shape (N,).
        low: Bar lows.
        close: Bar closes.
        volume: Bar volumes.
        taker_buy: Taker-buy volumes, already imputed as ``volume / 2`` where unknown.

    Returns:
        Array (N, 12); row t equals what :meth:`TimeframeFeatures.update` returns for bar t.
    """
    n = close.shape[0]
    out = np.tile(np.array(NEUTRAL), (n, 1))
    if n == 0:
        return out
    pc = close[:-1]
    r = np.zeros(n)
    r[1:] = np.log(close[1:] / pc)
    out[1:, 0] = r[1:]
    out[5:, 1] = np.log(close[5:] / close[:-5])
    out[20:, 2] = np.log(close[20:] / close[:-20])

    _, var_r = rolling_moments(r, WINDOW)
    out[WINDOW:, 3] = np.sqrt(np.maximum(var_r[WINDOW:], 0.0))

    tr = np.zeros(n)
    tr[1:] = np.maximum(np.maximum(high[1:] - low[1:], np.abs(high[1:] - pc)), np.abs(low[1:] - pc))
    change = np.zeros(n)
    change[1:] = close[1:] - pc
    gains = np.where(change > 0.0, change, 0.0)
    losses = np.where(change < 0.0, -change, 0.0)
    if n > WILDER_PERIOD:
        # Seeds start at bar 1 (bar 0 has no previous close), so index i of the slice is
        # bar i + 1 and the seed lands on bar WILDER_PERIOD.
        atr = seeded_smoothing(tr[1:], WILDER_PERIOD, _AW, _DW)
        g = seeded_smoothing(gains[1:], WILDER_PERIOD, _AW, _DW)
        lo = seeded_smoothing(losses[1:], WILDER_PERIOD, _AW, _DW)
        s = slice(WILDER_PERIOD - 1, None)
        t = slice(WILDER_PERIOD, None)
        out[t, 4] = atr[s] / close[t]
        total = g[s] + lo[s]
        out[t, 7] = _safe_divide(g[s] - lo[s], total, 0.0)

    ema12 = seeded_smoothing(close, EMA_FAST, _A12, _D12)
    ema20 = seeded_smoothing(close, EMA_MID, _A20, _D20)
    ema26 = seeded_smoothing(close, EMA_SLOW, _A26, _D26)
    out[EMA_MID:, 5] = np.log(ema20[EMA_MID:] / ema20[EMA_MID - 1 : -1])
    out[EMA_SLOW - 1 :, 6] = np.log(ema12[EMA_SLOW - 1 :] / ema26[EMA_SLOW - 1 :])

    w = slice(WINDOW - 1, None)
    dev_c, var_c = rolling_moments(close, WINDOW)
    out[w, 8] = _safe_divide(dev_c[w], 4.0 * np.sqrt(np.maximum(var_c[w], 0.0)), 0.0) + 0.5
    hh = rolling_max(high, WINDOW)
    ll = rolling_min(low, WINDOW)
    out[w, 9] = _safe_divide(close[w] - ll[w], hh[w] - ll[w], 0.5)
    dev_v, var_v = rolling_moments(volume, WINDOW)
    out[w, 10] = _safe_divide(dev_v[w], np.sqrt(np.maximum(var_v[w], 0.0)), 0.0)
    out[w, 11] = _safe_divide(
        rolling_sum(taker_buy, WINDOW)[w], rolling_sum(volume, WINDOW)[w], 0.5
    )
    return out


def _safe_divide(
    num: NDArray[np.float64], den: NDArray[np.float64], fallback: float
) -> NDArray[np.float64]:
    """``num / den`` where ``den > 0``, ``fallback`` elsewhere (no warnings, no NaN)."""
    out = np.full(num.shape, fallback)
    np.divide(num, den, out=out, where=den > 0.0)
    return out
