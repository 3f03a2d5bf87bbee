"""The metrics of a run, and the comparison of runs, as terminal tables.

Drawn with rich: aligned columns, wrapped to fit, the best value of each metric in bold.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

from domain.metrics.comparison import COMPARED
from domain.metrics.summary import RunMetrics

_HOUR_MS = 3_600_000
_DAY_MS = 86_400_000


def percent(value: Decimal | float | None, places: int = 2) -> str:
    """``0.1234`` as ``12.34 %``; ``-`` when undefined."""
    if value is None:
        return "-"
    number = float(value)
    if math.isnan(number):
        return "-"
    if math.isinf(number):
        return "inf"
    return f"{number * 100:,.{places}f} %"


def ratio(value: Decimal | float | None, places: int = 2) -> str:
    """A plain ratio; ``inf`` / ``-`` where infinite / undefined."""
    if value is None:
        return "-"
    number = float(value)
    if math.isnan(number):
        return "-"
    if math.isinf(number):
        return "inf" if number > 0 else "-inf"
    return f"{number:,.{places}f}"


def money(value: Decimal | float, places: int = 2) -> str:
    """A quote amount with thousands separators."""
    if isinstance(value, Decimal):
        return f"{value.quantize(Decimal(1).scaleb(-places)):,}"
    return f"{value:,.{places}f}"


def duration(ms: float | int | None) -> str:
    """``93784000`` as ``1 d 2 h 3 m``."""
    if ms is None:
        return "-"
    minutes = round(ms / 60_000)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {mins} m"
    return f"{mins} m"


def metric_rows(m: RunMetrics) -> list[tuple[str, str]]:
    """The metrics of one run as (label, value) rows."""
    t = m.trades
    f = m.fills
    e = m.exposure
    r = m.requests
    lim = r.limits
    limits = [f"{r.peak_orders_per_10s:,} orders / 10 s (limit {lim.orders_per_10s:,})"]
    if lim.orders_per_minute is not None:
        limits.append(f"{r.peak_orders_per_minute:,} / min (limit {lim.orders_per_minute:,})")
    if lim.orders_per_day is not None:
        limits.append(f"{r.peak_orders_per_day:,} / day (limit {lim.orders_per_day:,})")
    limits.append(f"weight {r.peak_weight_per_minute:,} / min (limit {lim.weight_per_minute:,})")
    verdict = "within limits" if r.within_limits else "OVER A LIMIT"
    covered = f"{m.days:,.1f} days of market data"
    if m.calendar_days - m.days >= 1 / 24:
        covered += (
            f" over {m.calendar_days:,.1f} calendar days (the position is held across gaps; "
            "annualised over calendar time, rates and durations over market time)"
        )
    return [
        ("market time", covered),
        ("total return", percent(m.total_return)),
        ("annualised return", percent(m.annualised_return)),
        ("Sharpe (daily, √365)", ratio(m.sharpe)),
        ("Sortino (daily, √365)", ratio(m.sortino)),
        ("Calmar", ratio(m.calmar)),
        (
            "max drawdown",
            f"{percent(m.max_drawdown)} ({money(m.max_drawdown_amount)}); longest under water "
            f"{duration(m.max_drawdown_duration_ms)} of market time",
        ),
        (
            "trades (FIFO, net position)",
            f"{t.count:,} ({t.open_marked:,} open, marked at the last price); "
            f"net {money(t.net_pnl)}",
        ),
        ("win rate", f"{percent(t.win_rate, 1)} ({t.wins:,} won, {t.losses:,} lost)"),
        ("profit factor", ratio(t.profit_factor)),
        (
            "trade duration",
            f"average {duration(t.average_duration_ms)}, median {duration(t.median_duration_ms)}",
        ),
        ("fill rate", f"{percent(m.fill_rate, 1)} of the orders that ended were filled"),
        (
            "maker / taker",
            f"{f.maker_fills:,} / {f.taker_fills:,} fills ({ratio(f.maker_taker_ratio, 1)} : 1; "
            f"maker share of volume {percent(f.maker_volume_share, 1)})",
        ),
        ("fees", money(f.fees, 4)),
        ("funding", money(m.funding, 4)),
        (
            "turnover",
            f"{money(f.traded_notional)} traded = {ratio(f.turnover, 1)} x initial equity",
        ),
        (
            "exposure",
            f"average {money(e.average_notional)} ({ratio(e.average_leverage)}x), "
            f"max {money(e.max_notional)} ({ratio(e.max_leverage)}x); "
            f"in the market {percent(e.time_in_market, 1)} of the time",
        ),
        (
            "requests per hour",
            f"new {r.new_per_hour:,.1f}, modify {r.modify_per_hour:,.1f}, cancel "
            f"{r.cancel_per_hour:,.1f} (busiest hour {r.peak_requests_per_hour:,})",
        ),
        ("vs Binance limits", f"peak {', '.join(limits)}: {verdict}"),
    ]


def comparison_cell(key: str, value: Any) -> str:
    """One compared metric's value, formatted like its row in :func:`metric_rows`."""
    if key in ("total_return", "annualised_return", "max_drawdown", "trades.win_rate"):
        return percent(value)
    if key == "fill_rate":
        return percent(value, 1)
    if key == "max_drawdown_duration_ms":
        return duration(value)
    if key == "fills.fees":
        return money(value)
    return ratio(value)


def comparison_rows(
    runs: Mapping[str, RunMetrics], best: Mapping[str, Sequence[str]]
) -> list[tuple[str, list[tuple[str, bool]], str]]:
    """(label, [(cell, is best) per run], best run names) for each compared metric."""
    rows = []
    flats = {name: m.flat() for name, m in runs.items()}
    for metric in COMPARED:
        winners = best.get(metric.key, ())
        cells = [
            (comparison_cell(metric.key, flats[name][metric.key]), name in winners) for name in runs
        ]
        rows.append((metric.label, cells, ", ".join(winners) or "-"))
    return rows


def render_metrics(m: RunMetrics, out: TextIO) -> None:
    """Print the metrics table of one run."""
    rows = metric_rows(m)
    table = Table(title="metrics", title_justify="left", show_header=False)
    table.add_column("metric", style="bold")
    table.add_column("value")
    for key, value in rows:
        table.add_row(key, value)
    Console(file=out, width=max(100, _width(rows) + 8), soft_wrap=False).print(table)


def render_comparison(
    runs: Mapping[str, RunMetrics], best: Mapping[str, Sequence[str]], out: TextIO
) -> None:
    """Print the comparison of runs, the best value of each metric marked with ``*``."""
    rows = comparison_rows(runs, best)
    names = list(runs)
    table = Table(
        title="comparison on the same data, fees and funding (* = best)", title_justify="left"
    )
    table.add_column("metric", style="bold")
    for name in names:
        table.add_column(name, justify="right")
    table.add_column("best")
    for label, cells, winners in rows:
        table.add_row(label, *((f"[bold]{c}*[/bold]" if b else c) for c, b in cells), winners)
    width = 32 + sum(max(len(n), 12) + 3 for n in names) + len(", ".join(names)) + 4
    Console(file=out, width=width, soft_wrap=False).print(table)


def _width(rows: list[tuple[str, str]]) -> int:
    return max(len(k) for k, _ in rows) + max(len(v) for _, v in rows)
