"""The feature vector's layout: one fixed, ordered list of names shared by every consumer.

Features are computed on the 1m stream and on 5m / 15m / 1h bars aggregated from it; each
timeframe carries the same twelve features, named ``"<timeframe>.<feature>"``. The order
here is the column order of every feature array (incremental vector, batch matrix, stored
decision record), so systems and weights address features by index without lookups.
"""

from __future__ import annotations

#: Timeframes, in minutes, keyed by their label.
TIMEFRAMES: tuple[tuple[str, int], ...] = (("1m", 1), ("5m", 5), ("15m", 15), ("1h", 60))

#: Per-timeframe features (every window counts bars of that timeframe).
BASE_FEATURES: tuple[str, ...] = (
    "logret_1",  # log(close_t / close_{t-1})
    "logret_5",  # log(close_t / close_{t-5})
    "logret_20",  # log(close_t / close_{t-20})
    "rvol_20",  # standard deviation of the last 20 one-bar log returns
    "atr_14",  # Wilder ATR(14) / close
    "ema_slope_20",  # log(EMA20_t / EMA20_{t-1})
    "ema_spread_12_26",  # log(EMA12_t / EMA26_t)
    "rsi_14",  # (Wilder RSI(14) - 50) / 50, in [-1, 1]
    "bb_pctb_20",  # Bollinger %b: (close - (mean - 2 sd)) / (4 sd), 0.5 when sd == 0
    "range_pos_20",  # (close - lowest low 20) / (highest high 20 - lowest low 20), 0.5 if flat
    "volume_z_20",  # (volume - mean 20) / sd 20, 0 when sd == 0
    "taker_buy_ratio_20",  # sum taker-buy volume 20 / sum volume 20; 0.5 when unknown or 0
)

#: Every feature name, timeframe-major: ``1m.logret_1, 1m.logret_5, ..., 1h.taker_buy_ratio_20``.
FEATURE_NAMES: tuple[str, ...] = tuple(
    f"{label}.{name}" for label, _ in TIMEFRAMES for name in BASE_FEATURES
)

#: Column of each feature in every feature array.
FEATURE_INDEX: dict[str, int] = {name: i for i, name in enumerate(FEATURE_NAMES)}
