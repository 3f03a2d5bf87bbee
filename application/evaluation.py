"""What one walk-forward window measured, and how windows add up to a verdict.

A window run (one strategy or baseline, one parameter set, one fill model, one window of one
series) produces a :class:`WindowResult`: plain numbers, so it crosses process and cluster
boundaries and lands in JSON unchanged. Money is carried as exact decimal strings; ratios of
equity are floats. Pooling and the seed's KPIs are pure functions of those results.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from application.walk_forward import compounded
from domain.metrics.returns import sharpe_ratio, sortino_ratio

DAYS_PER_YEAR = 365


@dataclass(frozen=True, slots=True)
class TradeTally:
    """Sufficient statistics of FIFO net-position trades, so windows can be pooled exactly.

    Attributes:
        count: Trades closed (open lots marked at the window's end count as closed there).
        wins: Trades with a positive net PnL.
        gross_profit: Sum of the winning trades' PnL (quote).
        gross_loss: Sum of the losing trades' PnL, as a positive number (quote).
        duration_ms: Sum of the trades' durations.
    """

    count: int = 0
    wins: int = 0
    gross_profit: float = 0.0
    gross_loss: float = 0.0
    duration_ms: int = 0

    def __add__(self, other: TradeTally) -> TradeTally:
        return TradeTally(
            self.count + other.count,
            self.wins + other.wins,
            self.gross_profit + other.gross_profit,
            self.gross_loss + other.gross_loss,
            self.duration_ms + other.duration_ms,
        )


@dataclass(frozen=True, slots=True)
class WindowResult:
    """One run over one window.

    Attributes:
        series: Series key (``futures-um/BTCUSDT``).
        market: ``SPOT`` or ``USDM_FUTURES``.
        symbol: Instrument symbol.
        segment: Continuous segment index in the series.
        index: Window index in the segment (0: training only).
        start: First traded open time (ms).
        end: First open time after the window (ms).
        is_test: Whether the window is out of sample.
        run: What traded: ``strategy`` (the configured one) or a baseline's name.
        variant: Parameter set name (``levels=10,spacing=0.002``), ``""`` without a sweep.
        fill_model: ``normal`` or ``pessimistic``.
        candles: Candles traded.
        initial_equity: Equity at the start (quote).
        final_equity: Equity at the end, open position marked at the last close (quote).
        max_drawdown: Largest fall from a peak, a fraction (every candle observed).
        max_drawdown_amount: Same in quote.
        daily_returns: Returns from one UTC day's last equity sample to the next.
        equity_times: Times of the hourly equity samples (ms, the close of the sampled hour).
        equity: Equity at those times (quote, float: for curves, not for accounting).
        orders: Orders sent; fills / maker_fills / taker_fills, cancels: execution counts.
        filled_orders: Orders that ended fully filled.
        ended_orders: Orders that ended (filled, cancelled, expired, rejected); the fill
            rate is ``filled_orders / ended_orders``.
        fees: Fees paid (quote, exact decimal string).
        funding: Funding paid (negative) or received (quote, exact decimal string).
        trades: FIFO net-position trade statistics.
        turnover: Traded notional (quote).
        signal: How the signal weights were obtained (``fitted on N candles``...), or "".
        seconds: Wall-clock time of the run.
        metrics: Every further metric of the run (JSON-able), by name.
    """

    series: str
    market: str
    symbol: str
    segment: int
    index: int
    start: int
    end: int
    is_test: bool
    run: str
    variant: str
    fill_model: str
    candles: int
    initial_equity: float
    final_equity: float
    max_drawdown: float
    max_drawdown_amount: float
    daily_returns: tuple[float, ...]
    equity_times: tuple[int, ...]
    equity: tuple[float, ...]
    orders: int
    fills: int
    maker_fills: int
    taker_fills: int
    cancels: int
    filled_orders: int
    ended_orders: int
    fees: str
    funding: str
    trades: TradeTally
    turnover: float
    signal: str
    seconds: float
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def total_return(self) -> float:
        """``final / initial - 1``."""
        if self.initial_equity <= 0:
            return 0.0
        return self.final_equity / self.initial_equity - 1.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (the equity samples included)."""
        data = asdict(self)
        data["total_return"] = self.total_return
        return data


@dataclass(frozen=True, slots=True)
class Kpi:
    """One of the seed's targets: a metric, a comparison and a threshold."""

    name: str
    metric: str
    op: str
    threshold: float
    text: str

    def met(self, value: float) -> bool | None:
        """Whether ``value`` meets the target; None when the value does not exist (NaN)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        if self.op == ">":
            return value > self.threshold
        if self.op == "<":
            return value < self.threshold
        if self.op == "between":
            low, high = KPI_TRADE_DURATION_MS
            return low <= value <= high
        raise ValueError(self.op)


#: Average trade duration target: 30 minutes to 4 hours.
KPI_TRADE_DURATION_MS = (30 * 60_000, 4 * 3_600_000)
#: The seed's KPIs, each reported met or not met whichever way it goes.
KPIS: tuple[Kpi, ...] = (
    Kpi("Sharpe", "sharpe", ">", 1.5, "> 1.5"),
    Kpi("max drawdown", "max_drawdown", "<", 0.20, "< 20 %"),
    Kpi("win rate", "win_rate", ">", 0.55, "> 55 %"),
    Kpi("profit factor", "profit_factor", ">", 1.5, "> 1.5"),
    Kpi("maker / taker", "maker_taker_ratio", ">", 3.0, "> 3:1"),
    Kpi("fill rate", "fill_rate", ">", 0.95, "> 95 %"),
    Kpi("average trade", "average_trade_ms", "between", 0.0, "30 min - 4 h"),
)


def _ratio(num: float, den: float) -> float:
    if den == 0:
        return math.inf if num > 0 else math.nan
    return num / den


def sharpe(daily: Sequence[float]) -> float:
    """Annualised Sharpe of daily returns (the metrics module's definition); NaN if undefined."""
    return sharpe_ratio(np.asarray(daily, dtype=np.float64))


def sortino(daily: Sequence[float]) -> float:
    """Annualised Sortino of daily returns (the metrics module's definition)."""
    return sortino_ratio(np.asarray(daily, dtype=np.float64))


def chained_drawdown(results: Sequence[WindowResult]) -> float:
    """Worst fall of the equity of consecutive windows chained (each scaled to the last end).

    Within-window drawdowns (every candle) are included; the chaining adds falls that span
    windows, seen at the hourly equity samples.
    """
    worst = max((r.max_drawdown for r in results), default=0.0)
    level = 1.0
    peak = 1.0
    for r in sorted(results, key=lambda w: w.start):
        if r.initial_equity <= 0:
            continue
        for value in r.equity:
            point = level * value / r.initial_equity
            peak = max(peak, point)
            worst = max(worst, (peak - point) / peak if peak > 0 else 0.0)
        level *= r.final_equity / r.initial_equity
        peak = max(peak, level)
    return worst


def summarise(results: Sequence[WindowResult]) -> dict[str, Any]:
    """Pooled figures of a set of windows (one series, or all of them).

    Returns compound per series and are averaged over windows; Sharpe and Sortino use every
    window's daily returns together; trade, fill and order statistics add up exactly; the
    drawdown is the worst of each series' chained windows.
    """
    if not results:
        return {"windows": 0}
    by_series: dict[str, list[WindowResult]] = {}
    for r in results:
        by_series.setdefault(r.series, []).append(r)
    daily = [x for r in results for x in r.daily_returns]
    tally = TradeTally()
    for r in results:
        tally = tally + r.trades
    orders = sum(r.orders for r in results)
    maker = sum(r.maker_fills for r in results)
    taker = sum(r.taker_fills for r in results)
    days = sum(r.candles for r in results) / 1440
    series_returns = {
        key: compounded(r.total_return for r in sorted(rs, key=lambda w: w.start))
        for key, rs in by_series.items()
    }
    window_returns = [r.total_return for r in results]
    mean_window = sum(window_returns) / len(window_returns)
    mean_series = sum(series_returns.values()) / len(series_returns)
    return {
        "windows": len(results),
        "series": len(by_series),
        "days": days,
        "candles": sum(r.candles for r in results),
        "mean_window_return": mean_window,
        "positive_windows": sum(1 for x in window_returns if x > 0) / len(window_returns),
        "mean_series_return": mean_series,
        "series_returns": series_returns,
        "annualised_return": _annualised(results),
        "sharpe": sharpe(daily),
        "sortino": sortino(daily),
        "max_drawdown": max(chained_drawdown(rs) for rs in by_series.values()),
        "trades": tally.count,
        "win_rate": _ratio(tally.wins, tally.count),
        "profit_factor": _ratio(tally.gross_profit, tally.gross_loss),
        "average_trade_ms": _ratio(tally.duration_ms, tally.count),
        "orders": orders,
        "fills": sum(r.fills for r in results),
        "maker_fills": maker,
        "taker_fills": taker,
        "maker_taker_ratio": _ratio(maker, taker),
        "fill_rate": _ratio(
            sum(r.filled_orders for r in results), sum(r.ended_orders for r in results)
        ),
        "fees": sum(float(r.fees) for r in results),
        "funding": sum(float(r.funding) for r in results),
        "turnover": sum(r.turnover for r in results),
    }


def _annualised(results: Sequence[WindowResult]) -> float:
    """Mean daily log growth over every window, annualised (windows of any series pooled)."""
    days = sum(r.candles for r in results) / 1440
    if days < 1:
        return math.nan
    log_growth = 0.0
    for r in results:
        growth = r.final_equity / r.initial_equity if r.initial_equity > 0 else 1.0
        if growth <= 0:
            return -1.0
        log_growth += math.log(growth)
    return math.exp(log_growth / days * DAYS_PER_YEAR) - 1.0


def kpi_verdicts(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Each KPI with the pooled value and whether it is met (None: no value to judge)."""
    rows = []
    for kpi in KPIS:
        value = summary.get(kpi.metric, math.nan)
        rows.append(
            {
                "kpi": kpi.name,
                "metric": kpi.metric,
                "target": kpi.text,
                "value": value,
                "met": kpi.met(value),
            }
        )
    return rows


def test_results(results: Iterable[WindowResult]) -> list[WindowResult]:
    """Only the out-of-sample windows."""
    return [r for r in results if r.is_test]
