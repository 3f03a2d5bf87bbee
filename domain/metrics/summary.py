"""Every metric of one run, from what the run recorded.

:class:`RunRecord` is the raw material (the application's run recorder builds it; so can
anything that replays a journal): the close of every candle as a float, the exact money
totals, every fill exactly, the order requests' times and the order outcomes.
:func:`measure_run` turns it into :class:`RunMetrics`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields, is_dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from domain.metrics.activity import (
    Exposure,
    FillActivity,
    OrderRateLimits,
    RequestRates,
    exposure,
    fill_rate,
    position_path,
    request_rates,
)
from domain.metrics.drawdown import drawdown_summary
from domain.metrics.returns import (
    DAY_MS,
    FloatArray,
    IntArray,
    annualised_return,
    calmar_ratio,
    daily_returns,
    sharpe_ratio,
    sortino_ratio,
    total_return,
)
from domain.metrics.trades import Trade, TradeStats

CANDLE_MS = 60_000


@dataclass(frozen=True)
class FillColumns:
    """Every fill as columns of numbers, for curves and charts (floats: never summed as money).

    Attributes:
        samples: Index of the candle each fill happened in (its effect is in that candle's
            sample). Processing order, not timestamps: a fill stamped at a candle boundary
            belongs to the candle that produced it.
        times_ms: Execution time.
        prices: Execution price.
        position_changes: Signed change of the net position (+ bought, - sold).
        cash_changes: Change of the quote balance (``-position value - quote fee``).
        maker: True for a maker fill.
    """

    samples: IntArray
    times_ms: IntArray
    prices: FloatArray
    position_changes: FloatArray
    cash_changes: FloatArray
    maker: npt.NDArray[np.bool_]


@dataclass(frozen=True)
class RunRecord:
    """What a run recorded, enough to compute every metric.

    The exact money figures (fill totals, FIFO trades) were accumulated as the run went, so
    a run of any length keeps only numbers per candle and per fill, never its history of
    Decimal objects.

    Attributes:
        times_ms: Close time of each sampled candle (ascending).
        prices: Close price at each sample (float: for curves and exposure only).
        initial_equity: Equity at the start, exact.
        final_equity: Equity at the end, exact.
        max_drawdown: Largest fall from a peak as a fraction, exact (observed per candle).
        max_drawdown_amount: Largest fall from a peak in quote, exact.
        fills: Every fill as number columns (curves, charts).
        fill_activity: Fill counts, liquidity, fees and turnover, exact.
        trade_stats: FIFO net-position trade statistics, open lots marked at the last price.
        trades: The FIFO trades themselves when the recorder was asked to keep them.
        funding: Each funding settlement: (time ms, amount received; negative: paid).
        funding_samples: For each settlement, the index of its candle.
        new_ms: Time of each new-order request.
        modify_ms: Time of each modify request.
        cancel_ms: Time of each cancel request (a cancel-all counts once).
        filled_orders: Orders that ended fully filled.
        ended_orders: Orders that ended (filled, cancelled, expired or rejected).
        opening_position: Position held before the first candle (spot: base balance).
        opening_price: Price that opening position is valued at.
        last_price: Last close, exact (marks the open lots); None for an empty run.
        limits: The venue's order-rate limits.
    """

    times_ms: IntArray
    prices: FloatArray
    initial_equity: Decimal
    final_equity: Decimal
    max_drawdown: Decimal
    max_drawdown_amount: Decimal
    fills: FillColumns
    fill_activity: FillActivity
    trade_stats: TradeStats
    trades: Sequence[Trade] | None
    funding: Sequence[tuple[int, Decimal]]
    funding_samples: IntArray
    new_ms: IntArray
    modify_ms: IntArray
    cancel_ms: IntArray
    filled_orders: int
    ended_orders: int
    opening_position: Decimal
    opening_price: Decimal
    last_price: Decimal | None
    limits: OrderRateLimits

    def positions(self) -> FloatArray:
        """Net position after each sampled candle (the opening position plus every fill)."""
        samples = np.arange(len(self.times_ms), dtype=np.int64)
        fills = self.fills
        return position_path(
            samples, fills.samples, fills.position_changes, float(self.opening_position)
        )

    def equity_curve(self, positions: FloatArray | None = None) -> FloatArray:
        """Equity after each sampled candle, marked at its close (float, for curves).

        Rebuilt from the money flows rather than sampled from the account (which would cost
        a Decimal-to-float conversion per candle): the starting cash plus every fill's and
        every funding's cash change plus the position valued at the close. That is exactly
        how the account projection values equity, so the last point equals the exact
        final equity up to float rounding.
        """
        if positions is None:
            positions = self.positions()
        funding = np.fromiter(
            (float(amount) for _, amount in self.funding), dtype=np.float64, count=len(self.funding)
        )
        amounts = np.concatenate((self.fills.cash_changes, funding))
        samples = np.concatenate((self.fills.samples, self.funding_samples))
        order = np.argsort(samples, kind="stable")
        cash0 = float(self.initial_equity - self.opening_position * self.opening_price)
        every = np.arange(len(self.times_ms), dtype=np.int64)
        cash = position_path(every, samples[order], amounts[order], cash0)
        out: FloatArray = cash + positions * self.prices
        return out

    @property
    def start_ms(self) -> int:
        """Open time of the first candle (0 for an empty run)."""
        return int(self.times_ms[0]) + 1 - CANDLE_MS if len(self.times_ms) else 0

    @property
    def end_ms(self) -> int:
        """Close time of the last candle + 1 ms (0 for an empty run)."""
        return int(self.times_ms[-1]) + 1 if len(self.times_ms) else 0


@dataclass(frozen=True, slots=True)
class RunMetrics:
    """Every metric of a run. Money exact (Decimal); ratios of the equity curve float.

    Attributes:
        days: Market time the data covers, in days (candles x 1 min: gaps excluded). The
            requests per hour and the drawdown duration are measured on it.
        calendar_days: First open to last close, in days (gaps included). The annualised
            return uses it: the backtest holds its position across a gap, so the total
            return includes the move over the gap.
        initial_equity: Equity at the start.
        final_equity: Equity at the end.
        total_return: ``final / initial - 1``.
        annualised_return: Compound annual rate (NaN under one day).
        sharpe: Annualised Sharpe of daily returns (√365).
        sortino: Annualised Sortino of daily returns.
        calmar: Annualised return / max drawdown.
        max_drawdown: Deepest fall from a peak, fraction.
        max_drawdown_amount: Largest fall from a peak, quote.
        max_drawdown_duration_ms: Longest time under a previous peak.
        trades: FIFO net-position trade statistics.
        fills: Fill counts, liquidity, fees and turnover.
        fill_rate: Share of ended orders that filled fully.
        funding: Net funding received.
        exposure: Average and maximum exposure and leverage.
        requests: Requests per hour against the venue's limits.
    """

    days: float
    calendar_days: float
    initial_equity: Decimal
    final_equity: Decimal
    total_return: Decimal
    annualised_return: float
    sharpe: float
    sortino: float
    calmar: float
    max_drawdown: Decimal
    max_drawdown_amount: Decimal
    max_drawdown_duration_ms: int
    trades: TradeStats
    fills: FillActivity
    fill_rate: Decimal | None
    funding: Decimal
    exposure: Exposure
    requests: RequestRates

    def flat(self) -> dict[str, Any]:
        """Every figure under a dotted name (``trades.win_rate``), values as computed."""
        out: dict[str, Any] = {}
        _flatten(self, "", out)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: nested like the dataclasses, Decimals as exact strings.

        A non-finite float becomes ``None`` (NaN: undefined) or ``"inf"`` / ``"-inf"``.
        """
        return _jsonable(self)  # type: ignore[no-any-return]


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    for f in fields(value):
        item = getattr(value, f.name)
        if is_dataclass(item):
            _flatten(item, f"{prefix}{f.name}.", out)
        else:
            out[f"{prefix}{f.name}"] = item


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def measure_run(record: RunRecord) -> RunMetrics:
    """Compute every metric of ``record``."""
    times = record.times_ms
    initial = float(record.initial_equity)
    covered_ms = len(times) * CANDLE_MS
    days = covered_ms / DAY_MS
    elapsed = np.arange(1, len(times) + 1, dtype=np.int64) * CANDLE_MS
    total = total_return(record.initial_equity, record.final_equity)
    annual = annualised_return(float(total), (record.end_ms - record.start_ms) / DAY_MS)
    positions = record.positions()
    equity = record.equity_curve(positions)
    daily = daily_returns(times, equity, initial)
    drawdown = drawdown_summary(times, equity, initial, elapsed)
    return RunMetrics(
        days=days,
        calendar_days=(record.end_ms - record.start_ms) / DAY_MS,
        initial_equity=record.initial_equity,
        final_equity=record.final_equity,
        total_return=total,
        annualised_return=annual,
        sharpe=sharpe_ratio(daily),
        sortino=sortino_ratio(daily),
        calmar=calmar_ratio(annual, float(record.max_drawdown)),
        max_drawdown=record.max_drawdown,
        max_drawdown_amount=record.max_drawdown_amount,
        max_drawdown_duration_ms=drawdown.max_duration_ms,
        trades=record.trade_stats,
        fills=record.fill_activity,
        fill_rate=fill_rate(record.filled_orders, record.ended_orders),
        funding=sum((amount for _, amount in record.funding), Decimal(0)),
        exposure=exposure(record.prices, equity, positions),
        requests=request_rates(
            record.new_ms, record.modify_ms, record.cancel_ms, covered_ms, record.limits
        ),
    )
