"""``gridbot evaluate``: walk-forward evaluation of the strategy and the baselines, with sweeps.

Every continuous segment of every series is cut into windows (``--window``, a week by
default); each window is traded by the configured strategy (signal weights fitted on the
window's past only) and by every baseline, with one or both fill models, in parallel worker
processes (``--workers``) or on a Ray cluster (``--ray ADDRESS``). ``--sweep`` runs a grid of
strategy parameters; for each test window the set that did best on the series' earlier
windows is chosen and its result on the window reported (``strategy[chosen]``).

Output (``--out``): ``evaluation.json`` (schema ``gridbot.evaluation/1``, described in
docs/evaluation/README.md), ``windows.csv`` (one row per window run), ``summary.csv``
(one row per fill model, run and scope) and ``summary.md`` (the pooled tables in Markdown).
A table is printed (or the JSON with ``--json``).

Exit codes: 0 done; 1 data error; 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import re
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from adapters.distributed.processes import ProcessTaskRunner
from adapters.reporting.csv_tables import write_csv
from adapters.simulated.funding import FundingFileError
from adapters.terminal.window_progress import WindowProgress
from application.evaluation import KPIS, WindowResult
from application.ports.task_runner import TaskRunner
from application.walk_forward import untested_minutes, windows
from application.walk_forward_evaluation import (
    STRATEGY,
    EvaluationResult,
    TaskKey,
    evaluate,
    plan,
)
from bootstrap.config import AppConfig, ConfigError, load_config, parse_config
from bootstrap.config_sections import STRATEGY_NAMES
from bootstrap.evaluation.markdown import summary_markdown
from bootstrap.evaluation.series import (
    ScannedSeries,
    SeriesSpec,
    default_funding_dir,
    discover,
    scan,
)
from bootstrap.evaluation.window_run import (
    FILL_MODELS,
    SIGNAL_DRIVEN,
    WindowTask,
    run_window,
    window_task,
)
from bootstrap.instruments import UnknownInstrument, builtin_instrument
from bootstrap.strategy_runs import baseline_names
from bootstrap.user_errors import DATA_ERRORS, EXIT_CONFIG_ERROR, EXIT_DATA_ERROR, user_error

SCHEMA = "gridbot.evaluation/1"
_DURATION = re.compile(r"^(\d+)([mhdw])$")
_UNIT_MINUTES = {"m": 1, "h": 60, "d": 1440, "w": 10080}
_SWEEP = re.compile(r"^([a-z_]+)\.([a-z_]+)=(.+)$")


class UsageError(ValueError):
    """A flag value that cannot be used (one line, exit 2)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``evaluate`` flags."""
    parser.add_argument(
        "--data",
        required=True,
        nargs="+",
        help="kline files, series directories, or directories of series (shared/data/klines)",
    )
    parser.add_argument("--config", help="JSON config (default: the embedded default config)")
    parser.add_argument(
        "--window", default="7d", help="walk-forward window: N m/h/d/w (default 7d)"
    )
    parser.add_argument("--out", default="evaluation", help="output directory")
    parser.add_argument(
        "--sweep",
        action="append",
        default=[],
        metavar="SECTION.KEY=A,B,C",
        help="a parameter grid axis, e.g. strategy.spacing=0.002,0.004 (repeatable)",
    )
    parser.add_argument(
        "--baselines",
        default=None,
        help="comma-separated strategies run beside the configured one as baselines "
        f"({', '.join(STRATEGY_NAMES)}; default: backtest.baselines less the configured "
        "strategy; '' for none)",
    )
    parser.add_argument("--workers", type=int, default=0, help="worker processes (0: all CPUs)")
    parser.add_argument("--ray", metavar="ADDRESS", help="run the windows on a Ray cluster")
    parser.add_argument(
        "--fill-model",
        choices=("normal", "pessimistic", "both"),
        default="normal",
        help="simulated fills: normal, pessimistic (3 bp trade-through, 10 %% of volume), both",
    )
    parser.add_argument(
        "--funding",
        help="directory of <SYMBOL>.csv funding histories (default: a 'funding' directory "
        "beside the 'klines' one, when there is one)",
    )
    parser.add_argument(
        "--signals",
        choices=("auto", "on", "off"),
        default="auto",
        help="run the signal beside the strategy, its weights fitted on each window's past: "
        "on, off, or auto (only for strategies that read it; the static grid does not)",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--no-progress", action="store_true", help="never draw a progress bar")


# ----------------------------------------------------------------------------- parsing
def parse_window(text: str) -> int:
    """``7d`` -> minutes."""
    match = _DURATION.match(text.strip())
    if not match or int(match.group(1)) <= 0:
        raise UsageError(f"--window: expected N followed by m, h, d or w (e.g. 7d), got {text!r}")
    return int(match.group(1)) * _UNIT_MINUTES[match.group(2)]


def _sweep_value(raw: str) -> Any:
    try:
        return json.loads(raw, parse_float=Decimal)
    except json.JSONDecodeError:
        return raw


def parse_sweep(items: list[str]) -> list[tuple[str, str, list[str]]]:
    """``["strategy.levels=5,10"]`` -> ``[("strategy", "levels", ["5", "10"])]``."""
    axes = []
    for item in items:
        match = _SWEEP.match(item.strip())
        if not match:
            raise UsageError(f"--sweep: expected SECTION.KEY=A,B,... got {item!r}")
        section, key, values = match.groups()
        parts = [v.strip() for v in values.split(",")]
        if any(not p for p in parts) or len(set(parts)) != len(parts):
            raise UsageError(f"--sweep {item}: values must be non-empty and distinct")
        if section in ("market", "account", "storage", "credentials", "bot"):
            raise UsageError(f"--sweep {item}: {section} is not a parameter to tune")
        axes.append((section, key, parts))
    return axes


def _raw_document(path: str | None) -> dict[str, Any]:
    if path is None:
        return {}
    data = json.loads(Path(path).read_text("utf-8"), parse_float=Decimal)
    return data if isinstance(data, dict) else {}


def variant_configs(
    config_path: str | None, base: AppConfig, axes: list[tuple[str, str, list[str]]]
) -> dict[str, AppConfig]:
    """Each parameter set's validated config, by name (``levels=5,spacing=0.002``).

    Raises:
        ConfigError: A swept value the config would refuse (its JSON path is named).
    """
    if not axes:
        return {"": base}
    document = _raw_document(config_path)
    result: dict[str, AppConfig] = {}
    for combo in itertools.product(*(values for _, _, values in axes)):
        doc = json.loads(json.dumps(document, default=str), parse_float=Decimal)
        name_parts = []
        for (section, key, _), value in zip(axes, combo, strict=True):
            doc.setdefault(section, {})[key] = _sweep_value(value)
            name_parts.append(f"{key}={value}")
        name = ",".join(name_parts)
        result[name] = parse_config(doc, f"{base.source} with --sweep {name}")
    return result


# ------------------------------------------------------------------------------ output
def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


_WINDOW_COLUMNS = (
    "series",
    "market",
    "symbol",
    "segment",
    "index",
    "start",
    "end",
    "is_test",
    "run",
    "variant",
    "fill_model",
    "candles",
    "initial_equity",
    "final_equity",
    "total_return",
    "max_drawdown",
    "max_drawdown_amount",
    "orders",
    "fills",
    "maker_fills",
    "taker_fills",
    "cancels",
    "filled_orders",
    "ended_orders",
    "fees",
    "funding",
    "turnover",
    "trades",
    "trade_wins",
    "trade_gross_profit",
    "trade_gross_loss",
    "trade_duration_ms",
    "signal",
    "seconds",
)
_SUMMARY_COLUMNS = (
    "windows",
    "days",
    "mean_window_return",
    "positive_windows",
    "mean_series_return",
    "annualised_return",
    "sharpe",
    "sortino",
    "max_drawdown",
    "trades",
    "win_rate",
    "profit_factor",
    "average_trade_ms",
    "orders",
    "fills",
    "maker_taker_ratio",
    "fill_rate",
    "fees",
    "funding",
    "turnover",
)


def _window_row(r: WindowResult) -> list[object]:
    d = r.to_dict()
    t = r.trades
    extra = {
        "trades": t.count,
        "trade_wins": t.wins,
        "trade_gross_profit": t.gross_profit,
        "trade_gross_loss": t.gross_loss,
        "trade_duration_ms": t.duration_ms,
    }
    return [extra[c] if c in extra else d[c] for c in _WINDOW_COLUMNS]


def write_outputs(document: dict[str, Any], outcome: EvaluationResult, out_dir: Path) -> None:
    """evaluation.json, windows.csv, summary.csv and summary.md."""
    out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(out_dir / "windows.csv", _WINDOW_COLUMNS, (_window_row(r) for r in outcome.results))
    rows = []
    kpi_names = [k.metric for k in KPIS]
    for fill_model, block in document["summary"].items():
        for run, summary in block.items():
            scopes = [("pooled", summary["pooled"], summary["kpis"])]
            scopes += [(key, s, s["kpis"]) for key, s in summary["series"].items()]
            for scope, figures, kpis in scopes:
                met = {k["metric"]: k["met"] for k in kpis}
                rows.append(
                    [fill_model, run, scope]
                    + [figures.get(c) for c in _SUMMARY_COLUMNS]
                    + ["" if met.get(m) is None else met[m] for m in kpi_names]
                )
    header = ["fill_model", "run", "scope", *_SUMMARY_COLUMNS] + [f"kpi_{m}" for m in kpi_names]
    write_csv(out_dir / "summary.csv", header, rows)
    (out_dir / "summary.md").write_text(summary_markdown(_finite(document)) + "\n", "utf-8")
    tmp = out_dir / "evaluation.json.tmp"
    tmp.write_text(json.dumps(_finite(document), indent=1, allow_nan=False) + "\n", "utf-8")
    tmp.replace(out_dir / "evaluation.json")


def _pct(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-" if value is None or math.isnan(value) else "inf"
    return f"{value * 100:+.2f} %"


def _num(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    return f"{value:.{digits}f}"


def _duration(ms: Any) -> str:
    if ms is None or not isinstance(ms, int | float) or not math.isfinite(ms):
        return "-"
    minutes = ms / 60_000
    return f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def _verdict(met: bool | None) -> str:
    return "n/a" if met is None else ("met" if met else "NOT met")


def render(document: dict[str, Any], out: TextIO) -> None:
    """The pooled table per fill model and the KPI verdicts."""
    header = (
        "run",
        "windows",
        "series ret",
        "annual",
        "Sharpe",
        "max DD",
        "win rate",
        "PF",
        "mk/tk",
        "fill rate",
        "avg trade",
    )
    for fill_model, block in document["summary"].items():
        out.write(f"\nfill model: {fill_model} (out-of-sample windows only)\n")
        rows = [header]
        for run, summary in block.items():
            p = summary["pooled"]
            if not p.get("windows"):
                continue
            rows.append(
                (
                    run,
                    str(p["windows"]),
                    _pct(p["mean_series_return"]),
                    _pct(p["annualised_return"]),
                    _num(p["sharpe"]),
                    _pct(p["max_drawdown"]),
                    _pct(p["win_rate"]),
                    _num(p["profit_factor"]),
                    _num(p["maker_taker_ratio"], 1),
                    _pct(p["fill_rate"]),
                    _duration(p["average_trade_ms"]),
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        for row in rows:
            out.write(
                "  ".join(
                    c.rjust(w) if i else c.ljust(w)
                    for i, (c, w) in enumerate(zip(row, widths, strict=True))
                )
                + "\n"
            )
        out.write("KPIs (pooled): ")
        for run, summary in block.items():
            if run != STRATEGY and not run.startswith(f"{STRATEGY}["):
                continue
            verdicts = ", ".join(
                f"{k['kpi']} {k['target']}: {_verdict(k['met'])}" for k in summary["kpis"]
            )
            out.write(f"\n  {run}: {verdicts}")
        out.write("\n")


# ------------------------------------------------------------------------------- run
def _make_task(
    key: TaskKey,
    specs: dict[str, SeriesSpec],
    configs: dict[str, AppConfig],
    base: AppConfig,
    signals: str,
) -> WindowTask:
    config = configs[key.variant] if key.run == STRATEGY else base
    use_signal = signals == "on" or (signals == "auto" and config.strategy.name in SIGNAL_DRIVEN)
    return window_task(
        specs[key.series], key.window, key.run, key.variant, config, key.fill_model, use_signal
    )


def _task_runner(args: argparse.Namespace) -> TaskRunner:
    if args.ray:
        from adapters.distributed.ray_cluster import RayTaskRunner

        return RayTaskRunner(args.ray, num_cpus=args.workers or None)
    return ProcessTaskRunner(args.workers or None)


def run_evaluation(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``gridbot evaluate``."""
    started = time.perf_counter()
    try:
        window_minutes = parse_window(args.window)
        axes = parse_sweep(args.sweep)
        asked = None
        if args.baselines is not None:
            asked = [b.strip() for b in args.baselines.split(",") if b.strip()]
            unknown = [b for b in asked if b not in STRATEGY_NAMES]
            if unknown:
                raise UsageError(
                    f"--baselines: unknown {', '.join(unknown)} "
                    f"(known: {', '.join(STRATEGY_NAMES)})"
                )
        if args.workers < 0:
            raise UsageError("--workers: expected 0 (all CPUs) or more")
    except UsageError as exc:
        err.write(f"gridbot: usage error: {exc}\n")
        return EXIT_CONFIG_ERROR
    try:
        base = load_config(args.config)
        configs = variant_configs(args.config, base, axes)
    except ConfigError as exc:
        err.write(f"gridbot: config error: {exc}\n")
        return EXIT_CONFIG_ERROR
    baselines = [
        b for b in (asked if asked is not None else baseline_names(base)) if b != base.strategy.name
    ]
    fill_models = ["normal", "pessimistic"] if args.fill_model == "both" else [args.fill_model]
    funding_dir = args.funding or default_funding_dir(args.data)
    try:
        specs = discover(args.data, base.market, funding_dir)
        for spec in specs:
            builtin_instrument(spec.market, spec.symbol)
    except UnknownInstrument as exc:
        err.write(f"gridbot: config error: {exc}\n")
        return EXIT_CONFIG_ERROR
    except (*DATA_ERRORS, ValueError) as exc:
        return user_error(exc, base.source, err)
    try:
        runner = _task_runner(args)
    except RuntimeError as exc:
        err.write(f"gridbot: usage error: {exc}\n")
        return EXIT_CONFIG_ERROR
    progress: WindowProgress | None = None
    try:
        scanned: list[ScannedSeries] = runner.map(scan, specs)
        series_windows = {s.spec.key: windows(s.segments, window_minutes) for s in scanned}
        variants = list(configs)
        keys = plan(series_windows, baselines, variants, fill_models)
        if not keys:
            err.write(
                f"gridbot: data error: no series is longer than two windows of {args.window} "
                "(the first window of each segment is its training past)\n"
            )
            return EXIT_DATA_ERROR
        if not args.no_progress and err.isatty():
            progress = WindowProgress(len(keys), err, "window runs")
        make = partial(
            _make_task,
            specs={s.key: s for s in specs},
            configs=configs,
            base=base,
            signals=args.signals,
        )
        outcome = evaluate(keys, make, run_window, runner, variants, progress)
    except (*DATA_ERRORS, FundingFileError, ValueError) as exc:
        return user_error(exc, base.source, err)
    finally:
        if progress is not None:
            progress.close()
        workers = getattr(runner, "workers", 1)
        runner.close()
    seconds = time.perf_counter() - started
    document = {
        "schema": SCHEMA,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": ["gridbot", "evaluate", *sys.argv[2:]]
        if sys.argv[1:2] == ["evaluate"]
        else None,
        "config": base.source,
        "window_minutes": window_minutes,
        "fill_models": fill_models,
        "fill_model_settings": {
            m: {k: str(v) for k, v in FILL_MODELS[m].items()} for m in fill_models
        },
        "baselines": baselines,
        "signals": args.signals,
        "sweep": {
            "axes": [{"parameter": f"{s}.{k}", "values": v} for s, k, v in axes],
            "variants": variants if axes else [],
            "selection": "best compounded return over the same series' windows that ended "
            "before the test window (window 0 of each segment included)",
        },
        "executor": {
            "kind": "ray" if args.ray else "processes",
            "address": args.ray,
            "workers": workers,
        },
        "seconds": seconds,
        "series": [
            {
                "key": s.spec.key,
                "market": s.spec.market.value,
                "symbol": s.spec.symbol,
                "files": list(s.spec.files),
                "funding": s.spec.funding_file
                or (
                    None
                    if not s.spec.market.is_futures
                    else f"constant {base.simulation.funding_rate}"
                ),
                "candles": s.candles,
                "missing_candles": s.missing,
                "segments": [
                    {"first": g.first, "last": g.last, "minutes": g.minutes} for g in s.segments
                ],
                "test_windows": sum(1 for w in series_windows[s.spec.key] if w.is_test),
                "untested_minutes": untested_minutes(s.segments, window_minutes),
            }
            for s in scanned
        ],
        "summary": outcome.summary,
        "choices": outcome.choices,
        "windows": [r.to_dict() for r in outcome.results],
    }
    out_dir = Path(args.out)
    try:
        write_outputs(document, outcome, out_dir)
    except OSError as exc:
        err.write(f"gridbot: usage error: cannot write {out_dir}: {exc}\n")
        return EXIT_CONFIG_ERROR
    if args.json:
        brief = {k: v for k, v in document.items() if k != "windows"}
        out.write(json.dumps(_finite(brief), indent=1) + "\n")
    else:
        render(document, out)
        out.write(
            f"\n{len(outcome.results)} window runs over {len(scanned)} series "
            f"({sum(s.candles for s in scanned):,} candles) in {seconds:.1f} s "
            f"with {workers} worker(s); written to {out_dir}/\n"
        )
    return 0
