"""The public funding-rate history of ``GET /fapi/v1/fundingRate``, from the candles.

Binance lists every settlement of a symbol, whether or not the account held a position,
so a client starting up sees the past rates. The emulator knows them all: a settlement
happens every 8 hours at the schedule's rate, with the mark price the simulator settles at
(the open of the first candle at or after the settlement time). Only settlements whose
candle is closed history are listed, so nothing from the future leaks.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from decimal import Decimal

from adapters.simulated.funding import FundingSchedule
from domain.candles import Candle


def _open_time(candle: Candle) -> int:
    return candle.open_time


def settlements(
    history: Sequence[Candle],
    schedule: FundingSchedule,
    start: int | None,
    end: int | None,
    applied: Iterable[tuple[int, Decimal, Decimal]] = (),
) -> list[tuple[int, Decimal, Decimal]]:
    """``(funding time, rate, mark price)`` of every settlement in ``[start, end]``, oldest first.

    Args:
        history: Closed 1m candles, oldest first (the emulator's served past).
        schedule: The funding rates.
        start: Earliest funding time wanted (inclusive), or None.
        end: Latest funding time wanted (inclusive), or None.
        applied: Settlements a venue applied to a position (kept even once their candles
            left the history).
    """
    rows: dict[int, tuple[int, Decimal, Decimal]] = {}
    for row in applied:
        if (start is None or row[0] >= start) and (end is None or row[0] <= end):
            rows[row[0]] = row
    if history:
        first = max(history[0].open_time, start if start is not None else history[0].open_time)
        when = FundingSchedule.next_settlement(first - 1)
        last = history[-1].open_time if end is None else min(end, history[-1].open_time)
        while when <= last:
            i = bisect_left(history, when, key=_open_time)
            rows.setdefault(when, (when, schedule.rate_at(when), history[i].open))
            when = FundingSchedule.next_settlement(when)
    return [rows[t] for t in sorted(rows)]
