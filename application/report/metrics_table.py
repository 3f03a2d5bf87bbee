"""The metrics of one or more runs as a report table, and the seed's KPIs as verdicts.

The numbers come from :func:`domain.metrics.summary.measure_run`; this module only names
and formats them (fractions as percentages, durations in hours and minutes, undefined
values as "n/a" rather than a misleading zero). The KPI targets are the evaluation's own
(:data:`application.evaluation.KPIS`), so a report and ``gridbot evaluate`` judge alike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from application.evaluation import KPIS
from application.ports.report import Kpi, Table
from domain.metrics.comparison import best_by_metric
from domain.metrics.summary import RunMetrics

#: Dotted metric names shown, in order, with their labels.
METRIC_ROWS: tuple[tuple[str, str], ...] = (
    ("total_return", "total return"),
    ("annualised_return", "annualised return"),
    ("sharpe", "Sharpe (daily, √365)"),
    ("sortino", "Sortino (daily, √365)"),
    ("calmar", "Calmar"),
    ("max_drawdown", "max drawdown"),
    ("max_drawdown_amount", "max drawdown (quote)"),
    ("max_drawdown_duration_ms", "longest time under water"),
    ("final_equity", "final equity"),
    ("trades.count", "trades (FIFO, net position)"),
    ("trades.win_rate", "win rate"),
    ("trades.profit_factor", "profit factor"),
    ("trades.average_duration_ms", "average trade"),
    ("trades.median_duration_ms", "median trade"),
    ("fills.fills", "fills"),
    ("fills.maker_taker_ratio", "maker / taker"),
    ("fill_rate", "fill rate"),
    ("fills.fees", "fees"),
    ("funding", "funding"),
    ("fills.turnover", "turnover (notional / initial equity)"),
    ("exposure.average_leverage", "average leverage"),
    ("exposure.max_leverage", "max leverage"),
    ("exposure.time_in_market", "time in market"),
    ("requests.new_per_hour", "new orders per hour"),
    ("requests.modify_per_hour", "modifies per hour"),
)

_PERCENT = (
    "total_return",
    "annualised_return",
    "max_drawdown",
    "trades.win_rate",
    "fill_rate",
    "exposure.time_in_market",
)


def _duration(ms: float) -> str:
    minutes = round(ms / 60_000)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {rest:02d} min"
    return f"{hours / 24:.1f} days"


def format_metric(name: str, value: Any) -> str:
    """One metric value as a reader should see it."""
    if value is None:
        return "n/a"
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    if isinstance(value, Decimal) and value.is_nan():
        return "n/a"
    if isinstance(value, float | Decimal) and math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if isinstance(value, int) and not isinstance(value, bool) and not name.endswith("_ms"):
        return f"{value:,}"
    number = float(value)
    if name in _PERCENT:
        return f"{number * 100:.2f} %"
    if name.endswith("_ms"):
        return _duration(number)
    if isinstance(value, Decimal):
        return f"{value.quantize(Decimal('0.01')):,}"
    return f"{number:,.3f}"


def metrics_table(runs: Sequence[tuple[str, RunMetrics]]) -> Table:
    """A row per metric, a column per run (the strategy first), and which run is best.

    The ``best`` column (with more than one run) names the run(s) best on each metric the
    comparison ranks (:func:`domain.metrics.comparison.best_by_metric`).
    """
    flats = [(name, metrics.flat()) for name, metrics in runs]
    best = best_by_metric(dict(runs)) if len(runs) > 1 else {}
    rows = tuple(
        (
            label,
            *(format_metric(key, flat.get(key)) for _, flat in flats),
            *((", ".join(best.get(key, ())),) if best else ()),
        )
        for key, label in METRIC_ROWS
    )
    return Table(
        "Metrics",
        ("metric", *(name for name, _ in runs), *(("best",) if best else ())),
        rows,
        "Win rate, profit factor and trade durations are of FIFO-matched trades of the net "
        "position (open lots marked at the end), never of a grid's own round trips.",
    )


def kpi_verdicts(metrics: RunMetrics) -> list[Kpi]:
    """The seed's KPIs for one run, met or not, whichever way it goes."""
    flat = metrics.flat()
    values: dict[str, Any] = {
        "sharpe": flat["sharpe"],
        "max_drawdown": flat["max_drawdown"],
        "win_rate": flat["trades.win_rate"],
        "profit_factor": flat["trades.profit_factor"],
        "maker_taker_ratio": flat["fills.maker_taker_ratio"],
        "fill_rate": flat["fill_rate"],
        "average_trade_ms": flat["trades.average_duration_ms"],
    }
    verdicts: list[Kpi] = []
    for kpi in KPIS:
        raw = values[kpi.metric]
        value = math.nan if raw is None else float(raw)
        name = {
            "max_drawdown": "max_drawdown",
            "win_rate": "trades.win_rate",
            "fill_rate": "fill_rate",
            "average_trade_ms": "trades.average_duration_ms",
        }.get(kpi.metric, kpi.metric)
        verdicts.append(Kpi(kpi.name, kpi.text, format_metric(name, raw), kpi.met(value)))
    return verdicts
