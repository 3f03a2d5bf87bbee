"""A journal's account replayed candle by candle over the market's closes: exact metrics.

The journal records the bot's equity hourly; with the market's closes for the period, the
account can be rebuilt at every candle instead: the journal's fills and funding applied in
time order to the account projection, marked at each close. That is the same arithmetic the
bot ran, so the curve is exact, and it feeds the metrics' run recorder exactly as a backtest
does, giving the journal the same metrics table and KPIs.

What a journal cannot tell is the time of each request: new-order requests are taken at
each order's first exchange event and cancels at its cancellation, which is when the
exchange confirmed them (at most a round trip later).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import NamedTuple

from application.ports.journal_history import OrderSpan
from application.ports.report import EquityPoint
from application.run_record import RunRecorder
from domain.account import AccountProjection
from domain.candles import Candle
from domain.events import FundingPaid, OrderFilled
from domain.instruments import Instrument
from domain.metrics.summary import RunMetrics, measure_run
from domain.orders import Fill
from domain.performance import DrawdownTracker

ZERO = Decimal(0)


class _Totals(NamedTuple):
    final_equity: Decimal
    max_drawdown: Decimal
    max_drawdown_amount: Decimal
    last_price: Decimal | None


class _NoClock:
    """The replay sends no request: nothing asks the time."""

    def now_ms(self) -> int:
        raise AssertionError("a journal replay sends no request")


def replay_journal(
    account: AccountProjection,
    instrument: Instrument,
    candles: Sequence[Candle],
    fills: Sequence[Fill],
    funding: Sequence[FundingPaid],
    spans: Sequence[OrderSpan],
    opening_price: Decimal = ZERO,
) -> tuple[list[EquityPoint], RunMetrics]:
    """Equity at every close and the run's metrics.

    Args:
        account: The journal's starting account (nothing booked yet).
        instrument: The traded instrument.
        candles: The period's candles, in time order (non-empty).
        fills: The journal's fills.
        funding: The journal's funding settlements.
        spans: The journal's orders (request times and outcomes).
        opening_price: The price that valued the starting base holding (spot).
    """
    opening = ZERO if instrument.is_futures else account.base_balance
    recorder = RunRecorder(instrument, _NoClock(), account.initial_equity, opening, opening_price)
    events: list[tuple[int, int, Fill | FundingPaid]] = [(f.timestamp, 0, f) for f in fills] + [
        (p.timestamp, 1, p) for p in funding
    ]
    events.sort(key=lambda e: (e[0], e[1]))
    drawdown = DrawdownTracker(account.initial_equity)
    equity: list[EquityPoint] = []
    at = 0
    for candle in candles:
        while at < len(events) and events[at][0] <= candle.close_time:
            item = events[at][2]
            if isinstance(item, FundingPaid):
                account.apply_funding(item)
                recorder.on_event(item, None)
            else:
                account.apply_fill(item)
                recorder.on_event(OrderFilled(item), None)
            at += 1
        recorder.on_candle(candle)
        value = account.equity(candle.close)
        drawdown.observe(value)
        equity.append(EquityPoint(candle.close_time, value))
    for span in spans:
        recorder.new.append(span.placed_at)
        if span.closed and not span.filled:
            recorder.cancel.append(span.last_event_at)
    recorder.filled_orders = sum(1 for s in spans if s.filled)
    recorder.ended_orders = sum(1 for s in spans if s.closed)
    last = candles[-1].close
    totals = _Totals(equity[-1].equity, drawdown.max_drawdown, drawdown.max_drawdown_amount, last)
    return equity, measure_run(recorder.record(totals))
