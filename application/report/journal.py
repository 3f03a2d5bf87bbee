"""A report from a bot's journal (live or paper, running or stopped), read-only.

The journal holds what the bot did, not the market: its fills, orders, funding, the equity
it recorded (hourly, and at every stop) and its decision records. Closes come from kline
data when the user gives some for the period; otherwise the price chart shows the fills and
levels alone and the report says so. The buy-and-hold line drawn from such closes is the
initial equity times the price ratio: no fees, no funding; it is labelled that way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from application.ports.journal_history import JournalHistory
from application.ports.report import (
    ConvictionPoint,
    EquityPoint,
    Kpi,
    LevelSpan,
    PricePoint,
    ReportData,
)
from application.ports.signal_journal import WeightUpdateEntry
from application.report.journal_replay import replay_journal
from application.report.metrics_table import kpi_verdicts, metrics_table
from application.report.summary import (
    comparison_table,
    replay_costs,
    summary_table,
    trade_marks,
)
from application.report.weights import latest_calibration, weight_points
from domain.account import AccountProjection
from domain.attribution import weekly_attribution
from domain.candles import Candle
from domain.instruments import Instrument

ZERO = Decimal(0)
BUY_AND_HOLD = "buy-and-hold (price ratio, no costs)"
_MINUTE_MS = 60_000


class EmptyJournal(ValueError):
    """The journal holds no run to report on."""


def gather_journal(
    history: JournalHistory,
    instrument_for: Callable[[str, str], Instrument],
    source: str,
    candles: Iterable[Candle] = (),
) -> ReportData:
    """Gather a journal's history into a report.

    Args:
        history: The journal, read-only.
        instrument_for: The instrument of ``(market, symbol)`` as the journal names them.
        source: How to name the journal in the report (a path, a URL without password).
        candles: Closed candles of the symbol; those inside the journal's period are used.

    Raises:
        EmptyJournal: The bot never started on this journal.
    """
    runs = history.runs()
    start_record = history.initial_account()
    if not runs or start_record is None:
        raise EmptyJournal(f"{source}: the journal holds no run (the bot never started on it)")
    run = runs[-1]
    instrument = instrument_for(run.market, run.symbol)
    cash = Decimal(start_record["cash"])
    base = Decimal(start_record["base"])
    base_price = Decimal(start_record["price"])
    account = AccountProjection(instrument, cash, base, base_price)
    initial_equity = account.equity(base_price)

    fills = history.fills()
    funding = history.funding_payments()
    fees, paid = replay_costs(account, fills, funding)
    equity = [EquityPoint(t, e) for t, e in history.equity_curve()]
    decisions = history.decisions()
    spans = history.order_spans()

    # The period is market time: fills and decisions carry the exchange's or the candle's
    # time, and so do the hourly equity marks. The mark a stop writes and the order events
    # are stamped by the bot's own clock, which is market time live but not in an
    # accelerated replay (`gridbot validate`, the emulator at --speed): there they would
    # stretch the period to today's date. With decisions to bound it, a later mark is
    # moved to the period's end (it is valued at the last price the bot had), and order
    # spans are clipped to the period.
    notes: list[str] = []
    market = [f.timestamp for f in fills] + [d.time for d in decisions]
    if decisions:
        last = max(market) + _MINUTE_MS
        late = [p for p in equity if p.time > last]
        if late:
            equity = [p for p in equity if p.time <= last] + [EquityPoint(last, late[-1].equity)]
            notes.append(
                f"{len(late)} equity mark(s) stamped after the last decision (the bot's clock "
                "ahead of the market's, as in an accelerated replay, or a stop long after the "
                "last candle) are shown at the period's end."
            )
    times = market + [p.time for p in equity]
    if not times:
        times = [s.placed_at for s in spans]
    start = min(times, default=runs[0].started_at)
    end = max(times, default=start)

    in_period = [c for c in candles if c.close_time >= start and c.open_time <= end]
    prices = [PricePoint(c.close_time, c.close) for c in in_period]
    baselines: dict[str, list[EquityPoint]] = {}
    tables = [summary_table(initial_equity, equity, fills, fees, paid, start, end)]
    kpis: list[Kpi] = []
    if in_period:
        fresh = AccountProjection(instrument, cash, base, base_price)
        equity, metrics = replay_journal(
            fresh, instrument, in_period, fills, funding, spans, base_price
        )
        tables = [metrics_table([("bot", metrics)])]
        kpis = kpi_verdicts(metrics)
        first = prices[0].close
        baselines[BUY_AND_HOLD] = [
            EquityPoint(p.time, initial_equity * p.close / first) for p in prices
        ]
        notes.append(
            "Equity is the journal's account replayed at every close of the kline data "
            "given (fills and funding applied in time order, as the bot booked them). "
            "Request rates count each order at its first exchange event."
        )
    else:
        notes.append(
            "No kline data was given for this period (--data): the equity is what the bot "
            "recorded (hourly, and at every stop), the price chart shows the fills and grid "
            "levels only, there is no buy-and-hold line and no metrics beyond the summary."
        )
        if len(equity) < 2:
            notes.append("The journal holds fewer than two equity observations.")
    levels = [
        LevelSpan(s.price, s.side, max(s.placed_at, start), min(s.last_event_at, end))
        if s.closed
        else LevelSpan(s.price, s.side, max(s.placed_at, start), end)
        for s in spans
        if s.placed_at <= end and (not s.closed or s.last_event_at >= start)
    ]
    if len(levels) < len(spans):
        notes.append(
            f"{len(spans) - len(levels)} of {len(spans)} orders rested outside the market "
            "period (the bot's clock differs from the market's, as in an accelerated replay): "
            "they are not drawn as grid levels."
        )
    convictions = [
        ConvictionPoint(d.time, d.long_conviction, d.short_conviction, d.regime) for d in decisions
    ]
    updates = [_update_summary(entry) for entry in history.weight_updates()]
    return ReportData(
        title=f"gridbot journal report: {run.symbol} ({run.market})",
        source=source,
        symbol=run.symbol,
        market=run.market,
        start=start,
        end=end,
        initial_equity=initial_equity,
        equity=equity,
        baselines=baselines,
        prices=prices,
        fills=trade_marks(fills),
        levels=levels,
        convictions=convictions,
        weights=weight_points(updates, start),
        calibration=latest_calibration(updates),
        weeks=weekly_attribution(initial_equity, [(p.time, p.equity) for p in equity], fees, paid),
        tables=[*tables, comparison_table(initial_equity, [("bot", equity), *baselines.items()])],
        kpis=kpis,
        notes=notes,
        strategy_name="bot",
    )


def _update_summary(entry: WeightUpdateEntry) -> dict[str, Any]:
    """A journaled update's summary, with its calibration's reliability table.

    One journaled before the summary carried the table takes it from the journaled
    calibration itself.
    """
    summary: dict[str, Any] = json.loads(entry.summary)
    calibration = summary.get("calibration")
    if calibration and "reliability" not in calibration and entry.calibration is not None:
        fitted = json.loads(entry.calibration)
        summary["calibration"] = {
            **calibration,
            "fitted_at": fitted.get("fitted_at", summary["boundary"]),
            "reliability": fitted.get("reliability", []),
        }
    return summary
