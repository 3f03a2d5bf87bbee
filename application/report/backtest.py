"""A report from a backtest: the run recorder's record, plus what only a report needs.

:class:`ReportRecorder` extends the metrics' :class:`~application.run_record.RunRecorder`
with what a picture needs and the metrics do not keep: the exact equity after every candle
(the account's own valuation, so the weekly attribution adds up to the final equity to the
last digit), every fill exactly (its mark on the chart, its commission for the weeks) and
each limit order's resting interval (the grid levels).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from application.ports.clock import Clock
from application.ports.report import (
    ConvictionPoint,
    EquityPoint,
    LevelSpan,
    PricePoint,
    ReportData,
    TradeMark,
)
from application.report.metrics_table import kpi_verdicts, metrics_table
from application.report.summary import comparison_table
from application.report.weights import latest_calibration, weight_points
from application.run_record import RunRecorder, RunTotals
from domain.account import AccountProjection
from domain.attribution import weekly_attribution
from domain.candles import Candle
from domain.events import (
    ExecutionEvent,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderModified,
)
from domain.instruments import Instrument
from domain.metrics.summary import RunMetrics, measure_run
from domain.orders import Fill, Order, OrderStatus

ZERO = Decimal(0)
BUY_AND_HOLD = "buy-and-hold (price ratio, no costs)"


class ReportRecorder(RunRecorder):
    """The run recorder, plus exact equity per candle and the grid levels.

    Args:
        instrument: The traded instrument.
        clock: The venue's clock.
        account: The account the execution service books into (valued every candle).
        opening_position: Position held at the start (spot: the base balance).
        opening_price: The price valuing that position at the start.
    """

    def __init__(
        self,
        instrument: Instrument,
        clock: Clock,
        account: AccountProjection,
        opening_position: Decimal = ZERO,
        opening_price: Decimal = ZERO,
    ) -> None:
        super().__init__(instrument, clock, account.initial_equity, opening_position, opening_price)
        self._account = account
        self.closes: list[Decimal] = []
        self.equity_exact: list[Decimal] = []
        self._base_asset = instrument.base_asset
        self._quote_asset = instrument.quote_asset
        self.fill_marks: list[TradeMark] = []
        self.fill_fees: list[tuple[int, Decimal]] = []
        self._resting: dict[str, tuple[int, str, Decimal]] = {}
        self.spans: list[LevelSpan] = []

    def on_candle(self, candle: Candle) -> None:
        """Record the close and the account's equity at it, exactly."""
        super().on_candle(candle)
        self.closes.append(candle.close)
        self.equity_exact.append(self._account.equity(candle.close))

    def on_event(self, event: ExecutionEvent, order: Order | None) -> None:
        """Also follow each priced order from acceptance to its end (or a new price)."""
        super().on_event(event, order)
        if isinstance(event, OrderAccepted):
            if order is not None and order.price is not None:
                self._resting[order.client_order_id] = (
                    event.timestamp,
                    order.side.value,
                    order.price,
                )
        elif isinstance(event, OrderFilled):
            self._keep_fill(event.fill)
            if order is not None and order.status is OrderStatus.FILLED:
                self._end(order.client_order_id, event.fill.timestamp)
        elif isinstance(event, OrderCanceled | OrderExpired):
            self._end(event.client_order_id, event.timestamp)
        elif isinstance(event, OrderModified) and order is not None:
            self._end(order.client_order_id, event.timestamp)
            self._resting[order.client_order_id] = (event.timestamp, order.side.value, event.price)

    def _keep_fill(self, fill: Fill) -> None:
        """Keep the fill exactly: its chart mark and its commission at quote value.

        The commission is valued as the account projection books it: a quote-asset fee as
        is, a base-asset fee at the fill price, any other at its recorded quote value.
        """
        self.fill_marks.append(
            TradeMark(
                fill.timestamp, fill.side.value, fill.price, fill.quantity, fill.liquidity.value
            )
        )
        if fill.fee_asset == self._quote_asset:
            value = fill.fee
        elif fill.fee_asset == self._base_asset:
            value = fill.fee * fill.price
        else:
            value = fill.fee_quote if fill.fee_quote is not None else ZERO
        self.fill_fees.append((fill.timestamp, value))

    def _end(self, cid: str, at: int) -> None:
        resting = self._resting.pop(cid, None)
        if resting is not None:
            start, side, price = resting
            self.spans.append(LevelSpan(price, side, start, at))

    def levels(self, end: int) -> list[LevelSpan]:
        """Every resting interval; orders still open rest until ``end``.

        An order placed in answer to the last candle is stamped after it (its close + 1 ms)
        and never rested inside the period: it is not a level of the chart.
        """
        still = [
            LevelSpan(p, s, start, end) for start, s, p in self._resting.values() if start <= end
        ]
        return [*self.spans, *still]


def gather_backtest(
    recorder: ReportRecorder,
    totals: RunTotals,
    symbol: str,
    market: str,
    source: str,
    baselines: Mapping[str, tuple[RunMetrics, Sequence[EquityPoint]]] | None = None,
    name: str = "strategy",
    weight_updates: Sequence[Mapping[str, Any]] = (),
) -> ReportData:
    """Gather a finished backtest into a report.

    Args:
        recorder: The recorder the backtest filled.
        totals: The backtest's exact end-of-run figures (its report).
        symbol: The traded symbol.
        market: ``SPOT`` or ``USDM_FUTURES``.
        source: The command or data the run came from.
        baselines: Metrics and equity curve of each baseline run on the same data, fees
            and funding, by name.
        name: The configured strategy's name (its column in the metrics table).
        weight_updates: The signal's weekly updates' summaries, oldest first (none when
            the weights were never re-examined).

    Raises:
        ValueError: The backtest saw no candle.
    """
    record = recorder.record(totals)
    times = record.times_ms.tolist()
    if not times:
        raise ValueError("the backtest saw no candle")
    metrics = measure_run(record)
    equity = [EquityPoint(t, e) for t, e in zip(times, recorder.equity_exact, strict=True)]
    prices = [PricePoint(t, c) for t, c in zip(times, recorder.closes, strict=True)]
    initial = recorder.initial_equity
    curves: dict[str, Sequence[EquityPoint]] = {k: c for k, (_, c) in (baselines or {}).items()}
    notes: list[str] = []
    tables = [
        metrics_table([(name, metrics), *((k, m) for k, (m, _) in (baselines or {}).items())])
    ]
    if not curves:
        first = recorder.closes[0]
        curves[BUY_AND_HOLD] = [EquityPoint(p.time, initial * p.close / first) for p in prices]
        notes.append(
            "No baseline runs were given: the buy-and-hold line is the price ratio, "
            "without fees or funding."
        )
        tables.append(comparison_table(initial, [(name, equity), *curves.items()]))
    decisions = recorder.decisions
    convictions = [
        ConvictionPoint(t, lo, sh, regime)
        for t, lo, sh, regime in zip(
            decisions.open_time,
            decisions.long_conviction,
            decisions.short_conviction,
            decisions.regime,
            strict=True,
        )
    ]
    weeks = weekly_attribution(
        initial,
        [(p.time, p.equity) for p in equity],
        recorder.fill_fees,
        record.funding,
    )
    return ReportData(
        title=f"gridbot backtest report: {symbol} ({market})",
        source=source,
        symbol=symbol,
        market=market,
        start=record.start_ms,
        end=times[-1],
        initial_equity=initial,
        equity=equity,
        baselines=curves,
        prices=prices,
        fills=recorder.fill_marks,
        levels=recorder.levels(times[-1]),
        convictions=convictions,
        weights=weight_points(weight_updates, times[0]),
        calibration=latest_calibration(weight_updates),
        weeks=weeks,
        tables=tables,
        strategy_name=name,
        kpis=kpi_verdicts(metrics),
        notes=notes,
    )
