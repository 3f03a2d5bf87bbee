"""A deterministic, built-in synthetic market so the bot runs on a machine without data files.

The series is a log-price random walk whose per-minute volatility switches between regimes
(roughly 0.05 %..0.15 % per minute) and which, now and then, enters a mean-reverting phase
around the price at which the phase began. Ranging phases are what make a grid fill, trending
phases are what hurt it; a demo market needs both. A very weak pull towards the start price
keeps long series from drifting off to absurd levels.

Floats are used for the walk itself (speed, and exactness is meaningless for invented prices),
but every emitted price is an integer number of ticks turned into ``Decimal`` exactly, so the
candles obey the same invariants as exchange data: ``low <= open, close <= high``, prices
``> 0``, ``open == previous close``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from decimal import Decimal

from application.ports.market_data import CandleGap
from domain.candles import MINUTE_MS, Candle

__all__ = ["GeneratedMarket"]

_SIGMA_MIN = 0.0005
_SIGMA_MAX = 0.0015
_REGIME_SWITCH_P = 1 / 720  # volatility regimes last about half a day on average
_MEAN_REVERSION_TOGGLE_P = 1 / 1_440  # ranging / trending phases last about a day
_MEAN_REVERSION_KAPPA = 0.02  # per minute, while a ranging phase is active
_GLOBAL_KAPPA = 1e-5  # per minute, always: half-life ~48 days towards the start price
_WICK_SCALE = 0.6  # wick size relative to the minute's sigma
_QUOTE_PER_MINUTE = 840_000.0  # typical traded quote value per minute (~20 BTC at 42,000)
_VOLUME_EXP = -5  # volumes carry 5 decimals


class GeneratedMarket:
    """Deterministic synthetic 1m candles: the same arguments always give the same series.

    Implements the HistoricalCandles port. Iterating twice replays the identical series
    because each iteration starts from a fresh ``random.Random(seed)``.
    """

    def __init__(
        self,
        symbol: str = "BTCUSDT",
        start_open_time: int = 1_704_067_200_000,
        minutes: int = 43_200,
        seed: int = 7,
        start_price: Decimal = Decimal("42000"),
        tick: Decimal = Decimal("0.01"),
    ) -> None:
        """Validate the parameters up front, so a bad demo configuration fails at wiring time.

        Args:
            symbol: Instrument symbol reported by the series.
            start_open_time: Open time of the first candle, ms; must be on a minute boundary.
            minutes: Number of candles to generate (0 gives an empty series).
            seed: Seed of the private random generator.
            start_price: Open of the first candle (rounded to the nearest tick).
            tick: Price increment; every price is an exact multiple of it.

        Raises:
            ValueError: On a misaligned start time, negative length or non-positive prices.
        """
        if start_open_time % MINUTE_MS:
            raise ValueError(f"start_open_time {start_open_time} is not on a minute boundary")
        if minutes < 0:
            raise ValueError(f"minutes must not be negative, got {minutes}")
        if not tick > 0:
            raise ValueError(f"tick must be positive, got {tick}")
        start_ticks = int((start_price / tick).to_integral_value())
        if start_ticks < 1:
            raise ValueError(f"start_price {start_price} rounds to no tick of size {tick}")
        self._symbol = symbol
        self._start_open_time = start_open_time
        self._minutes = minutes
        self._seed = seed
        self._start_ticks = start_ticks
        self._tick = tick

    @property
    def symbol(self) -> str:
        """Instrument symbol of the series."""
        return self._symbol

    @property
    def minutes(self) -> int:
        """Number of candles in the series (the CLI's progress bar uses it as the total)."""
        return self._minutes

    @property
    def gaps(self) -> list[CandleGap]:
        """Always empty: a generated series has no holes."""
        return []

    def __iter__(self) -> Iterator[Candle]:
        """Generate the candles lazily, one per minute, from a fresh seeded generator."""
        rng = random.Random(self._seed)
        gauss, uniform, rand = rng.gauss, rng.uniform, rng.random
        tick = self._tick
        tick_f = float(tick)
        exp, log = math.exp, math.log

        open_ticks = self._start_ticks
        open_price = tick * open_ticks
        x = log(open_ticks * tick_f)  # log of the current (unrounded) price
        home = x
        base_volume = _QUOTE_PER_MINUTE / (open_ticks * tick_f)
        sigma = uniform(_SIGMA_MIN, _SIGMA_MAX)
        anchor: float | None = None
        open_time = self._start_open_time

        for _ in range(self._minutes):
            if rand() < _REGIME_SWITCH_P:
                sigma = uniform(_SIGMA_MIN, _SIGMA_MAX)
            if rand() < _MEAN_REVERSION_TOGGLE_P:
                anchor = x if anchor is None else None
            drift = -_GLOBAL_KAPPA * (x - home)
            if anchor is not None:
                drift -= _MEAN_REVERSION_KAPPA * (x - anchor)
            x += drift + gauss(0.0, sigma)

            open_f = open_ticks * tick_f
            close_f = exp(x)
            wick = sigma * _WICK_SCALE
            high_f = max(open_f, close_f) * exp(abs(gauss(0.0, wick)))
            low_f = min(open_f, close_f) * exp(-abs(gauss(0.0, wick)))

            # Integer ticks make every invariant an integer comparison, immune to float noise.
            close_ticks = max(1, round(close_f / tick_f))
            high_ticks = max(round(high_f / tick_f), open_ticks, close_ticks)
            low_ticks = max(1, min(round(low_f / tick_f), open_ticks, close_ticks))

            activity = (sigma / 0.001) * rng.lognormvariate(0.0, 0.6)
            volume_units = max(1, round(base_volume * activity * 10**-_VOLUME_EXP))
            taker_units = round(volume_units * uniform(0.3, 0.7))  # <= volume_units

            high = tick * high_ticks
            low = tick * low_ticks
            close = tick * close_ticks
            volume = Decimal(volume_units).scaleb(_VOLUME_EXP)
            taker_base = Decimal(taker_units).scaleb(_VOLUME_EXP)
            yield Candle(
                open_time=open_time,
                open=open_price,
                high=high,
                low=low,
                close=close,
                volume=volume,
                close_time=open_time + MINUTE_MS - 1,
                # Valued at the close: exact Decimal products, no rounding step needed.
                quote_volume=volume * close,
                trades=max(1, round(activity * uniform(600.0, 1_200.0))),
                taker_buy_base=taker_base,
                taker_buy_quote=taker_base * close,
            )
            open_ticks, open_price = close_ticks, close
            open_time += MINUTE_MS
