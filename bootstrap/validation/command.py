"""``gridbot validate``: plan the run, carry it out, check it, write the report.

Exit codes: 0 when every ground-truth check passed, 1 when one failed (or the run could not
be completed), 2 for a usage error (no data, an output directory holding a previous run).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import subprocess
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TextIO

from adapters.market_data.kline_csv import KlineCsvReader
from bootstrap.config import ConfigError
from bootstrap.config_sections import SignalLearningConfig, default_history_minutes
from bootstrap.instruments import builtin_instrument
from bootstrap.validation.adaptive import (
    adaptive_counts,
    check_brakes_obeyed,
    check_budget,
    check_state_survives,
    operational,
    read_facts,
)
from bootstrap.validation.ground_truth import CheckResult, run_checks
from bootstrap.validation.journal import JournalView, read_journal
from bootstrap.validation.logs import read_logs
from bootstrap.validation.market_window import Shock
from bootstrap.validation.report import build_report, summary_rows, write_report
from bootstrap.validation.runner import Runner, RunPlan, RunResult
from bootstrap.validation.schedule import build_schedule
from bootstrap.validation.summary import figures, judge_faults, outcomes
from domain.enums import MarketType

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
SYMBOL = "BTCUSDT"
#: Default klines per market (under the shared data directory): a volatile stretch of real
#: futures data (2025-01-27 onwards, 107 h), a full month of spot.
DEFAULT_DATA = {
    MarketType.USDM_FUTURES: "klines/futures-um/BTCUSDT/BTCUSDT-1m-2025-01.csv.gz",
    MarketType.SPOT: "klines/spot/BTCUSDT/BTCUSDT-1m-2025-06.csv.gz",
}
FUNDING_FILE = "funding/BTCUSDT.csv"
#: Market candles replayed during a WebSocket stall before the next step: the stretch the
#: bot backfills once it notices the silence (the runner then holds the replay at the next
#: step until it has, so this costs no wall time). A share of the run, at least one candle.
STALL_LEAD_SHARE = 40
#: The log rotates at this size (so a 48 h run goes through several files) and keeps this
#: many: the log check must find every line across rotations without any being deleted.
LOG_MAX_BYTES = 262_144
LOG_BACKUPS = 100
LEVERAGE = 3
#: The packages the bot process runs (a change to anything else does not affect the run),
#: less this harness, which the bot never imports.
BOT_PACKAGES = ("domain", "application", "adapters", "bootstrap", "proto")
HARNESS = "bootstrap/validation"
#: The strategy the validation runs unless ``--config`` says otherwise (see bot_config): the
#: defaults, plus weekend mode "wider" (off by default) so the run exercises the calendar
#: path (weekend switches journaled, the gap recorded at the reopen).
ADAPTIVE_DEFAULTS: tuple[tuple[tuple[str, ...], object], ...] = (
    (("strategy", "name"), "adaptive_grid"),
    (("brakes", "enabled"), True),
    (("calendar", "weekend_mode"), "wider"),
    (("signals", "enabled"), True),
    (("signals", "learning", "enabled"), True),
)


def shared_data() -> Path:
    """The real-data directory: ``GRIDBOT_TEST_DATA``, else ``../shared/data`` of the checkout."""
    configured = os.environ.get("GRIDBOT_TEST_DATA")
    if configured:
        return Path(configured).expanduser().resolve()
    return (Path(__file__).resolve().parents[3] / "shared" / "data").resolve()


def code_version() -> dict[str, object]:
    """The bot's code as it stood: git commit and uncommitted changes to its packages.

    The bot is started anew after every kill, so a checkout that changes during the run
    would mix versions: the report records the version at the start and at the end.
    """
    root = Path(__file__).resolve().parents[2]

    def git(*argv: str) -> str:
        try:
            done = subprocess.run(
                ["git", *argv], cwd=root, capture_output=True, text=True, timeout=10, check=True
            )
        except (OSError, subprocess.SubprocessError):
            return ""
        return done.stdout.rstrip("\n")

    changed = git("status", "--porcelain", "--", *BOT_PACKAGES, f":(exclude){HARNESS}")
    return {
        "commit": git("rev-parse", "HEAD").strip() or "unknown",
        "uncommitted": [line[3:] for line in changed.splitlines()],
    }


def bot_code_changed(start: dict[str, Any], end: dict[str, Any]) -> list[str]:
    """Bot files that differ between two :func:`code_version` records (empty: none)."""
    root = Path(__file__).resolve().parents[2]
    changed = set(start["uncommitted"]) ^ set(end["uncommitted"])
    if start["commit"] != end["commit"]:
        try:
            done = subprocess.run(
                [
                    "git",
                    "diff",
                    "--name-only",
                    start["commit"],
                    end["commit"],
                    "--",
                    *BOT_PACKAGES,
                    f":(exclude){HARNESS}",
                ],
                cwd=root,
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            )
            changed |= set(done.stdout.split())
        except (OSError, subprocess.SubprocessError):
            changed.add("(unknown: git diff failed)")
    return sorted(changed)


def command_line(args: argparse.Namespace) -> str:
    """The exact command that reproduces this run."""
    parts = [
        "gridbot",
        "validate",
        "--hours",
        f"{args.hours:g}",
        "--market",
        args.market,
        "--seed",
        str(args.seed),
        "--kills",
        str(args.kills),
        "--speed",
        f"{args.speed:g}",
    ]
    if args.data:
        parts += ["--data", args.data]
    if getattr(args, "start", None) is not None:
        parts += ["--start", _iso_minute(args.start)]
    if getattr(args, "history_minutes", None) is not None:
        parts += ["--history-minutes", str(args.history_minutes)]
    if getattr(args, "shock", None):
        parts += ["--shock", str(args.shock)]
    if args.config:
        parts += ["--config", args.config]
    if args.out:
        parts += ["--out", args.out]
    return shlex.join(parts)


def _iso_minute(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M")


def bot_config(
    market: MarketType, work: Path, base: dict[str, Any], funding: Path | None
) -> dict[str, Any]:
    """The bot's config: the user's base config with the validation's fixed sections.

    Unless the base config says otherwise, the bot runs the adaptive strategy with
    everything Phase B made default, spelled out so the run does not depend on the
    config's built-in defaults: ``strategy.name`` ``adaptive_grid``, the drawdown brakes
    on, weekend mode ``"wider"`` and the weekly signal re-weighting (``signals.learning``).
    """
    config = json.loads(json.dumps(base))
    for path, value in ADAPTIVE_DEFAULTS:
        *parents, key = path
        section = config
        for name in parents:
            section = section.setdefault(name, {})
        section.setdefault(key, value)
    config["market"] = {"type": market.value, "symbol": SYMBOL}
    config["exchange"] = {"kind": "binance", "leverage": LEVERAGE}
    config.setdefault("risk", {}).setdefault("max_leverage", LEVERAGE)
    config["storage"] = {"data_dir": str(work / "data")}
    logging = config.setdefault("logging", {})
    logging.update(max_bytes=LOG_MAX_BYTES, backups=LOG_BACKUPS, console=False)
    simulation = config.setdefault("simulation", {})
    simulation.setdefault("leverage", LEVERAGE)
    if funding is not None and market.is_futures:
        simulation.setdefault("funding_file", str(funding))
    config.pop("control", None)
    return config


def configured_history(config: dict[str, Any]) -> int:
    """``signals.history_minutes`` of the bot's config, with the bot's default when null.

    The default is the weekly update's (``trailing_weeks + 1`` weeks), so the emulator
    serves the past the bot asks for at its start and its first update can fit.
    """
    signals = config.get("signals") or {}
    history = signals.get("history_minutes")
    if history is not None:
        return int(history)
    learning = signals.get("learning") or {}
    return default_history_minutes(
        int(learning.get("trailing_weeks", SignalLearningConfig.trailing_weeks))
    )


def _history_that_fits(data: Path, start_ms: int | None, wanted: int) -> int:
    """The history the emulator serves: ``wanted`` minutes, at most what the data holds.

    Without ``--start`` the replay starts ``wanted`` minutes into the data, unless the data
    is shorter than twice that: then its first quarter is the history (the run needs the
    rest). With ``--start``, the history is whatever the data holds in the ``wanted``
    minutes before it.
    """
    reader = KlineCsvReader(str(data))
    first = last = None
    earliest = None if start_ms is None else start_ms - wanted * 60_000
    for candle in reader:
        if earliest is not None and candle.open_time < earliest:
            continue
        if start_ms is not None and candle.open_time >= start_ms:
            break
        if first is None:
            first = candle.open_time
        last = candle.open_time
    if first is None or last is None:
        return 0
    if start_ms is not None:
        return min(wanted, (start_ms - first) // 60_000)
    span = (last - first) // 60_000 + 1
    return wanted if 2 * wanted <= span else span // 4


def _weights_sources(data_dir: Path) -> list[str]:
    """The ``source`` of each process's ``signals.weights`` line, in market-time order."""
    lines = []
    for file in [data_dir / "gridbot.log", *data_dir.glob("gridbot.log.*")]:
        with contextlib.suppress(OSError):
            for raw in file.read_text("utf-8", errors="replace").splitlines():
                if '"signals.weights"' not in raw:
                    continue
                with contextlib.suppress(ValueError):
                    line = json.loads(raw)
                    lines.append((line.get("time", ""), str(line.get("source", ""))))
    return [source for _, source in sorted(lines)]


def _injected_error_answers(result: RunResult) -> int:
    """Error answers the injected faults and dropped submissions account for.

    A -1021 answers a clock skew, a 418 an injected ban (and the requests during it); the
    queued 500s, 429s and unknown outcomes answer as many requests as were injected; a
    submission dropped by a kill is answered 503.
    """
    api = result.host.api
    count = api.by_code.get(-1021, 0) + api.by_status.get(418, 0)
    for record in result.faults:
        if record.step.kind in ("http_500", "rate_limit_429", "unknown_after_place"):
            count += record.step.count if record.consumed else 0
    count += sum(1 for k in result.kills if k.struck == "submit_dropped")
    return count


def _adaptive_part(
    result: RunResult, numbers: dict[str, Any], data_dir: Path
) -> tuple[list[CheckResult], dict[str, Any]]:
    """The adaptive checks and the report's adaptive counts and operational targets."""
    db = data_dir / "gridbot.db"
    if not db.exists():
        return [], {}
    final = [state for _, when, state in result.strategy_states if when == "before SIGTERM"]
    facts = read_facts(db, final[-1] if final else None)
    sources = _weights_sources(data_dir)
    closes = [ms for _, ms, _ in result.host.equity]
    end_ms = (closes[-1] + 60_000) if closes else 0
    weight_limit = result.host.state.limiters[result.plan.market].limits.weight_per_minute
    checks = [
        check_brakes_obeyed(
            result.audit.orders if result.audit else [],
            facts.brake_transitions,
            result.plan.market.is_futures,
            end_ms,
        ),
        check_state_survives(
            sources, facts.brake_transitions, len(result.lives), result.strategy_states
        ),
    ]
    if result.budget is not None:
        checks.insert(1, check_budget(result.budget, weight_limit))
    extra = {
        "adaptive": adaptive_counts(facts, sources, closes),
        "brake_transitions": facts.brake_transitions,
        "weight_updates": facts.weight_updates,
        "operational": operational(numbers, _injected_error_answers(result)),
    }
    return checks, extra


def run_validation(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``gridbot validate``: see the module docstring for the exit codes."""
    market = MarketType.USDM_FUTURES if args.market == "futures" else MarketType.SPOT
    speed = float(args.speed)
    if args.hours <= 0 or speed <= 0 or args.kills < 0:
        err.write("gridbot: --hours and --speed must be > 0, --kills >= 0\n")
        return EXIT_USAGE
    root = shared_data()
    data = Path(args.data) if args.data else root / DEFAULT_DATA[market]
    if not data.exists():
        err.write(f"gridbot: data error: {data} does not exist (pass --data)\n")
        return EXIT_USAGE
    out_dir = Path(args.out or f"validation-{args.market}-{args.seed}")
    work = out_dir / "run"
    if (work / "data" / "gridbot.db").exists():
        err.write(f"gridbot: {work} holds a previous run: choose another --out or delete it\n")
        return EXIT_USAGE
    work.mkdir(parents=True, exist_ok=True)
    base: dict[str, Any] = {}
    if args.config:
        try:
            base = json.loads(Path(args.config).read_text("utf-8"))
        except (OSError, ValueError) as exc:
            err.write(f"gridbot: config error: {args.config}: {exc}\n")
            return EXIT_USAGE
    funding = root / FUNDING_FILE
    config = bot_config(market, work.resolve(), base, funding if funding.is_file() else None)
    candles = round(args.hours * 60)
    try:
        schedule = build_schedule(
            args.seed, candles, args.kills, stall_lead=max(1, candles // STALL_LEAD_SHARE)
        )
    except ValueError as exc:
        err.write(f"gridbot: {exc}\n")
        return EXIT_USAGE
    shock = None
    if args.shock is not None:
        try:
            shock = Shock.seeded(args.seed, candles, Decimal(args.shock))
        except (InvalidOperation, ValueError) as exc:
            err.write(f"gridbot: --shock: {exc}\n")
            return EXIT_USAGE
    history = args.history_minutes
    if history is None:
        history = _history_that_fits(data, args.start, configured_history(config))
    if history < 0:
        err.write("gridbot: --history-minutes must be >= 0\n")
        return EXIT_USAGE
    plan = RunPlan(
        market,
        SYMBOL,
        data.resolve(),
        candles,
        speed,
        schedule,
        work.resolve(),
        config,
        start_ms=args.start,
        history_minutes=history,
        shock=shock,
    )
    command = command_line(args)
    out.write(f"{command}\n")
    out.write(
        f"history {history} minutes; shock {shock.to_json() if shock else 'none'}; "
        f"replaying {candles} candles of {data} at {speed:g}/s; "
        f"{len(schedule.faults)} fault steps, {len(schedule.kills)} kills; work in {work}\n"
    )
    out.flush()

    def progress(line: str) -> None:
        out.write(f"  {line}\n")
        out.flush()

    version_at_start = code_version()
    try:
        result = Runner(plan, progress).run()
    except ConfigError as exc:
        err.write(f"gridbot: config error: {exc}\n")
        return EXIT_USAGE
    instrument = builtin_instrument(market, SYMBOL)
    journal: JournalView | None = None
    try:
        journal = read_journal(work / "data", instrument)
    except FileNotFoundError as exc:
        err.write(f"gridbot: {exc}\n")
    logs = read_logs(work / "data" / "gridbot.log", LOG_BACKUPS)
    judge_faults(result, logs)
    numbers = figures(result, logs)
    checks = []
    if journal is not None:
        numbers["orders"]["journal_orders"] = len(journal.orders)
        checks = run_checks(
            result.books,
            journal,
            logs,
            outcomes(result.lives),
            prefix=f"{result.config.client_order_id_prefix}-",
            cap=result.config.risk.max_leverage,
            final_output=result.final_output,
        )
    adaptive_checks, extra = _adaptive_part(result, numbers, work / "data")
    checks = [*checks, *adaptive_checks]
    report = build_report(result, numbers, checks, journal, command)
    report.update(extra)
    report["market_window"] = {
        "start_ms": plan.start_ms,
        "history_minutes": plan.history_minutes,
        "shock": plan.shock.to_json() if plan.shock else None,
    }
    version_at_end = code_version()
    report["code"] = {
        "at_start": version_at_start,
        "at_end": version_at_end,
        "bot_files_changed_during_run": bot_code_changed(version_at_start, version_at_end),
    }
    if journal is None:
        report["passed"] = False
    files = write_report(out_dir, report, result, journal)
    width = max(len(k) for k, _ in summary_rows(report))
    for key, value in summary_rows(report):
        out.write(f"{key:<{width}}  {value}\n")
    for check in checks:
        out.write(f"  [{'pass' if check.passed else 'FAIL'}] {check.name}: {check.detail}\n")
    out.write(f"report: {', '.join(str(out_dir / f) for f in files)}\n")
    return EXIT_OK if report["passed"] else EXIT_FAILED
