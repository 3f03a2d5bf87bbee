"""Binance kline payloads: the simulator's candles merged into the requested interval."""

from __future__ import annotations

import calendar
import itertools
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from adapters.simulated.emulator.payload_numbers import ZERO
from adapters.simulated.emulator.wire import ApiError, plain
from domain.candles import Candle

_INTERVAL_MS = {
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "6h": 21_600_000,
    "8h": 28_800_000,
    "12h": 43_200_000,
    "1d": 86_400_000,
    "3d": 259_200_000,
    "1w": 604_800_000,
}
_WEEK_OFFSET_MS = 4 * 86_400_000  # Binance weeks open on Monday; 1970-01-01 was a Thursday


def _bucket(open_time: int, interval: str) -> tuple[int, int]:
    """``(bucket open, bucket close)`` of the ``interval`` kline containing ``open_time``."""
    if interval == "1M":
        dt = datetime.fromtimestamp(open_time / 1000, tz=UTC)
        start = datetime(dt.year, dt.month, 1, tzinfo=UTC)
        days = calendar.monthrange(dt.year, dt.month)[1]
        begin = int(start.timestamp() * 1000)
        return begin, begin + days * 86_400_000 - 1
    length = _INTERVAL_MS[interval]
    offset = _WEEK_OFFSET_MS if interval == "1w" else 0
    begin = (open_time - offset) // length * length + offset
    return begin, begin + length - 1


def _row(c: Candle) -> list[object]:
    return [
        c.open_time,
        plain(c.open),
        plain(c.high),
        plain(c.low),
        plain(c.close),
        plain(c.volume),
        c.close_time,
        plain(c.quote_volume),
        c.trades or 0,
        plain(c.taker_buy_base),
        plain(c.taker_buy_quote),
        "0",
    ]


def _merge(a: Candle, b: Candle, close_time: int) -> Candle:
    def add(x: Decimal | None, y: Decimal | None) -> Decimal | None:
        return None if x is None and y is None else (x or ZERO) + (y or ZERO)

    return Candle(
        a.open_time,
        a.open,
        max(a.high, b.high),
        min(a.low, b.low),
        b.close,
        a.volume + b.volume,
        close_time,
        add(a.quote_volume, b.quote_volume),
        (a.trades or 0) + (b.trades or 0),
        add(a.taker_buy_base, b.taker_buy_base),
        add(a.taker_buy_quote, b.taker_buy_quote),
    )


def klines(
    history: Sequence[Candle],
    interval: str,
    start: int | None,
    end: int | None,
    limit: int,
) -> list[list[object]]:
    """Klines from the replayed 1m candles, aggregated to ``interval``.

    Only closed (replayed) candles exist, so nothing from the future leaks. Without
    ``startTime`` the most recent ``limit`` klines are returned, as on Binance.

    Raises:
        ApiError: -1120 for an interval that cannot be built from 1m candles.
    """
    if interval != "1M" and interval not in _INTERVAL_MS:
        raise ApiError(-1120, "Invalid interval.")
    minutes = 31 * 1440 if interval == "1M" else _INTERVAL_MS[interval] // 60_000
    hi = len(history) if end is None else bisect_right(history, end, key=_open_time)
    if start is not None:
        lo = bisect_left(history, _bucket(start, interval)[0], key=_open_time)
        hi = min(hi, lo + (limit + 1) * minutes)  # enough 1m candles for ``limit`` klines
    else:
        lo = max(0, hi - (limit + 1) * minutes)
    bars: list[Candle] = []
    for c in itertools.islice(history, lo, hi):
        begin, close = _bucket(c.open_time, interval)
        if start is not None and begin < start:
            continue
        if bars and bars[-1].open_time == begin:
            bars[-1] = _merge(bars[-1], c, close)
        elif interval == "1m":
            bars.append(c)
        else:
            bars.append(c._replace(open_time=begin, close_time=close))
    selected = bars[:limit] if start is not None else bars[-limit:]
    return [_row(b) for b in selected]


def _open_time(c: Candle) -> int:
    return c.open_time
