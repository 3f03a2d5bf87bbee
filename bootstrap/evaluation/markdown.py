"""``summary.md``: the evaluation's pooled tables and KPI verdicts as Markdown (docs, notes)."""

from __future__ import annotations

import math
from typing import Any

_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("windows", "windows", "int"),
    ("mean_series_return", "return (mean of series)", "pct"),
    ("positive_windows", "windows > 0", "pct"),
    ("annualised_return", "annualised", "pct"),
    ("sharpe", "Sharpe", "num"),
    ("sortino", "Sortino", "num"),
    ("max_drawdown", "max DD", "pct"),
    ("trades", "trades", "int"),
    ("win_rate", "win rate", "pct"),
    ("profit_factor", "profit factor", "num"),
    ("average_trade_ms", "avg trade", "dur"),
    ("maker_taker_ratio", "maker/taker", "num"),
    ("fill_rate", "fill rate", "pct"),
    ("fees", "fees", "money"),
    ("funding", "funding", "money"),
)


def _cell(value: Any, kind: str) -> str:
    if value is None or value == "-inf":
        return "–"
    if value == "inf":
        return "∞"
    if isinstance(value, float) and math.isnan(value):
        return "–"
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if kind == "pct":
        return f"{value * 100:.2f} %"
    if kind == "num":
        return f"{value:.2f}"
    if kind == "money":
        return f"{value:,.2f}"
    if kind == "dur":
        minutes = value / 60_000
        return f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h"
    return f"{value:,}"


def _verdict(met: bool | None) -> str:
    return "n/a" if met is None else ("met" if met else "**not met**")


def summary_markdown(document: dict[str, Any]) -> str:
    """One table per fill model (runs x pooled figures), then the KPI verdicts of every run."""
    lines: list[str] = []
    for fill_model, block in document["summary"].items():
        lines.append(f"### Fill model: {fill_model} (out-of-sample windows, all series pooled)")
        lines.append("")
        lines.append("| run | " + " | ".join(title for _, title, _ in _COLUMNS) + " |")
        lines.append("|---|" + "---:|" * len(_COLUMNS))
        for run, summary in block.items():
            pooled = summary["pooled"]
            if not pooled.get("windows"):
                continue
            cells = [_cell(pooled.get(key), kind) for key, _, kind in _COLUMNS]
            lines.append(f"| {run} | " + " | ".join(cells) + " |")
        lines.append("")
        kpi_rows = [(run, s["kpis"]) for run, s in block.items() if s["pooled"].get("windows")]
        if kpi_rows:
            names = [k["kpi"] + " " + k["target"] for k in kpi_rows[0][1]]
            lines.append("| KPI (pooled) | " + " | ".join(run for run, _ in kpi_rows) + " |")
            lines.append("|---|" + "---|" * len(kpi_rows))
            for i, name in enumerate(names):
                row = [_verdict(kpis[i]["met"]) for _, kpis in kpi_rows]
                lines.append(f"| {name} | " + " | ".join(row) + " |")
            lines.append("")
        lines.append("Per series, mean of the series' compounded out-of-sample return:")
        lines.append("")
        series_keys = sorted({k for s in block.values() for k in s["series"]})
        runs = [run for run, s in block.items() if s["pooled"].get("windows")]
        lines.append("| series | " + " | ".join(runs) + " |")
        lines.append("|---|" + "---:|" * len(runs))
        for key in series_keys:
            cells = []
            for run in runs:
                figures = block[run]["series"].get(key)
                ret = figures["series_returns"].get(key) if figures else None
                cells.append(_cell(ret, "pct"))
            lines.append(f"| {key} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)
