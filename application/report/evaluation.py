"""A report from a ``gridbot evaluate`` output (``evaluation.json``, schema gridbot.evaluation/1).

An evaluation is many independent window runs; a picture needs one line per run. For the
chosen series and fill model, the out-of-sample windows of each run (the strategy and each
baseline) are chained in time order, each scaled to start where the previous one ended: the
equity a user would have had trading only the test windows. Fees and funding of a window
are scaled the same way and dated at its end for the weekly attribution. The pooled tables
and the KPIs are the evaluation's own numbers, shown as computed.

The evaluation records no fills, orders or decisions: the price chart shows the market
alone (when the series' kline files are readable), and the report says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from application.ports.report import EquityPoint, Kpi, PricePoint, ReportData, Table
from application.report.summary import comparison_table, iso_time
from domain.attribution import weekly_attribution
from domain.candles import Candle

ZERO = Decimal(0)
SCHEMA = "gridbot.evaluation/1"

#: Pooled figures shown per run: (key, label, kind).
_POOLED = (
    ("windows", "test windows", "int"),
    ("mean_series_return", "mean series return", "pct"),
    ("annualised_return", "annualised return", "pct"),
    ("sharpe", "Sharpe", "num"),
    ("sortino", "Sortino", "num"),
    ("max_drawdown", "max drawdown (chained)", "pct"),
    ("trades", "trades (FIFO, net position)", "int"),
    ("win_rate", "win rate", "pct"),
    ("profit_factor", "profit factor", "num"),
    ("average_trade_ms", "average trade", "dur"),
    ("maker_taker_ratio", "maker / taker", "num"),
    ("fill_rate", "fill rate", "pct"),
    ("fees", "fees", "num"),
    ("funding", "funding", "num"),
)


class EvaluationUnusable(ValueError):
    """The evaluation document is of another schema or holds no out-of-sample window."""


def _show(value: Any, kind: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if value in ("inf", "-inf"):
        return "∞" if value == "inf" else "-∞"
    number = float(value)
    if kind == "int":
        return f"{int(number):,}"
    if kind == "pct":
        return f"{number * 100:.2f} %"
    if kind == "dur":
        minutes = round(number / 60_000)
        return f"{minutes // 60} h {minutes % 60:02d} min"
    return f"{number:,.3f}"


def _exact(value: float) -> Decimal:
    """A float from the JSON as a Decimal of its shortest repr (what was written)."""
    return Decimal(repr(float(value)))


def _chain(windows: Sequence[Mapping[str, Any]]) -> tuple[list[EquityPoint], list[Decimal]]:
    """Chain windows' equity samples; returns the curve and each window's scale factor."""
    points: list[EquityPoint] = []
    scales: list[Decimal] = []
    level: Decimal | None = None
    for w in sorted(windows, key=lambda w: int(w["start"])):
        initial = _exact(w["initial_equity"])
        if level is None:
            level = initial
        scale = level / initial if initial else Decimal(1)
        scales.append(scale)
        points.append(EquityPoint(int(w["start"]), level))
        for t, e in zip(w["equity_times"], w["equity"], strict=True):
            points.append(EquityPoint(int(t), _exact(e) * scale))
        level = _exact(w["final_equity"]) * scale
        points.append(EquityPoint(int(w["end"]) - 1, level))
    deduplicated: list[EquityPoint] = []
    for point in points:
        if deduplicated and point.time <= deduplicated[-1].time:
            deduplicated[-1] = EquityPoint(deduplicated[-1].time, point.equity)
        else:
            deduplicated.append(point)
    return deduplicated, scales


def gather_evaluation(
    document: Mapping[str, Any],
    source: str,
    candles_for: Callable[[Sequence[str], str], Iterable[Candle]] | None = None,
    series: str | None = None,
    fill_model: str | None = None,
) -> ReportData:
    """Gather an evaluation document into a report.

    Args:
        document: The parsed ``evaluation.json``.
        source: How to name it in the report (its directory).
        candles_for: Reads the candles of a series from its files and symbol; None: no
            price chart.
        series: The series key to draw (default: the first with a test window).
        fill_model: The fill model to draw and judge (default: the first evaluated).

    Raises:
        EvaluationUnusable: Another schema, an unknown series or fill model, or no
            out-of-sample window to draw.
    """
    if document.get("schema") != SCHEMA:
        raise EvaluationUnusable(f"{source}: not a {SCHEMA} document")
    models = list(document.get("fill_models") or [])
    model = fill_model or (models[0] if models else "normal")
    if model not in models:
        raise EvaluationUnusable(f"{source}: no fill model {model!r} (evaluated: {models})")
    tests = [w for w in document["windows"] if w["is_test"] and w["fill_model"] == model]
    keys = list(dict.fromkeys(w["series"] for w in tests))
    if not keys:
        raise EvaluationUnusable(f"{source}: no out-of-sample window to report on")
    key = series or keys[0]
    if key not in keys:
        raise EvaluationUnusable(f"{source}: no tested series {key!r} (tested: {keys})")
    chosen = _runs_of_series(document, tests, key, model)
    runs = list(dict.fromkeys(w["_label"] for w in chosen))
    curves: dict[str, list[EquityPoint]] = {}
    scales: dict[str, list[Decimal]] = {}
    for run in runs:
        curves[run], scales[run] = _chain([w for w in chosen if w["_label"] == run])
    main = runs[0]
    equity = curves.pop(main)
    main_windows = sorted((w for w in chosen if w["_label"] == main), key=lambda w: int(w["start"]))
    initial = equity[0].equity
    fees = [
        (int(w["end"]) - 1, Decimal(w["fees"]) * s)
        for w, s in zip(main_windows, scales[main], strict=True)
    ]
    funding = [
        (int(w["end"]) - 1, Decimal(w["funding"]) * s)
        for w, s in zip(main_windows, scales[main], strict=True)
    ]
    start, end = equity[0].time, equity[-1].time
    first = chosen[0]
    spec: Mapping[str, Any] = next(
        (s for s in document.get("series", []) if s.get("key") == key), {}
    )
    prices: list[PricePoint] = []
    if candles_for is not None and spec.get("files"):
        windows = [(int(w["start"]), int(w["end"])) for w in main_windows]
        prices = [
            PricePoint(c.close_time, c.close)
            for c in candles_for(spec["files"], first["symbol"])
            if any(a <= c.open_time < b for a, b in windows)
        ]
    notes = [
        f"Series {key}, fill model {model}: the out-of-sample windows of each run chained "
        "(each scaled to start where the previous ended). Each window's fees and funding "
        "are scaled alike and dated at its end.",
        "An evaluation records no fills, orders or decisions: for fills, grid levels and "
        "conviction, report a backtest of the same data (gridbot report --backtest).",
    ]
    if len(keys) > 1:
        notes.append(f"Other tested series (pooled in the tables): {', '.join(keys[1:])}.")
    return ReportData(
        title=f"gridbot evaluation report: {first['symbol']} ({first['market']})",
        source=source,
        symbol=str(first["symbol"]),
        market=str(first["market"]),
        start=start,
        end=end,
        initial_equity=initial,
        equity=equity,
        baselines=curves,
        prices=prices,
        weeks=weekly_attribution(initial, [(p.time, p.equity) for p in equity], fees, funding),
        tables=[
            _pooled_table(document, model),
            comparison_table(initial, [(main, equity), *curves.items()]),
            _windows_table(chosen, runs),
        ],
        kpis=_kpis(document, model, main),
        strategy_name=main,
        notes=notes,
    )


def _runs_of_series(
    document: Mapping[str, Any], tests: Sequence[Mapping[str, Any]], key: str, model: str
) -> list[dict[str, Any]]:
    """The series' test windows, labelled by run; with a sweep, the chosen variant only.

    Without a sweep every window's label is its run (``strategy`` first, then the
    baselines). With one, the strategy's label is ``strategy[chosen]``: for each test window
    the variant chosen on the past windows (``choices[]``), as the evaluation reports it.
    """
    windows = [dict(w) for w in tests if w["series"] == key]
    choices = {
        int(c["window_start"]): str(c["chosen"])
        for c in document.get("choices") or []
        if c.get("series") == key and c.get("fill_model") == model
    }
    labelled: list[dict[str, Any]] = []
    for w in windows:
        if w["run"] == "strategy" and w.get("variant"):
            if choices.get(int(w["start"])) != w["variant"]:
                continue
            w["_label"] = "strategy[chosen]"
        else:
            w["_label"] = w["run"]
        labelled.append(w)
    labelled.sort(key=lambda w: (not str(w["_label"]).startswith("strategy"), w["_label"]))
    return labelled


def _pooled_table(document: Mapping[str, Any], model: str) -> Table:
    by_run = document.get("summary", {}).get(model, {})
    runs = list(by_run)
    rows = tuple(
        (label, *(_show(by_run[r].get("pooled", {}).get(key), kind) for r in runs))
        for key, label, kind in _POOLED
    )
    return Table(
        f"Pooled out-of-sample results ({model} fills, every tested series)",
        ("metric", *runs),
        rows,
        "As computed by gridbot evaluate; win rate and profit factor are of FIFO-matched "
        "trades of the net position.",
    )


def _windows_table(windows: Sequence[Mapping[str, Any]], runs: Sequence[str]) -> Table:
    rows = []
    for run in runs:
        in_run = (w for w in windows if w["_label"] == run)
        for w in sorted(in_run, key=lambda w: int(w["start"])):
            rows.append(
                (
                    run,
                    str(w["index"]),
                    iso_time(int(w["start"])),
                    _show(w.get("total_return"), "pct"),
                    _show(w.get("max_drawdown"), "pct"),
                    f"{int(w['fills']):,}",
                    _show(w["fees"], "num"),
                    _show(w["funding"], "num"),
                )
            )
    return Table(
        "Out-of-sample windows of this series",
        ("run", "window", "start (UTC)", "return", "max drawdown", "fills", "fees", "funding"),
        tuple(rows),
    )


def _kpis(document: Mapping[str, Any], model: str, run: str) -> list[Kpi]:
    verdicts = document.get("summary", {}).get(model, {}).get(run, {}).get("kpis", [])
    kinds = {
        "max_drawdown": "pct",
        "win_rate": "pct",
        "fill_rate": "pct",
        "average_trade_ms": "dur",
    }
    return [
        Kpi(
            str(v["kpi"]),
            str(v["target"]),
            _show(v.get("value"), kinds.get(str(v.get("metric")), "num")),
            v.get("met"),
        )
        for v in verdicts
    ]
