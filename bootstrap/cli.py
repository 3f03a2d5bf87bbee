"""``gridbot`` command line: the entry point that builds containers and runs use cases.

User errors (bad config, bad data, unknown symbol) print one line naming the file and the
field or line, and exit non-zero without a traceback: 2 for configuration and usage errors,
1 for data errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TextIO

from application.backtest import BacktestReport
from bootstrap.config import ConfigError, load_config
from bootstrap.market_choice import MARKETS, data_market_warning, market_lines, with_market
from bootstrap.progress_bars import CandleProgressBars
from bootstrap.user_errors import (
    CONFIG_ERRORS,
    DATA_ERRORS,
    EXIT_CONFIG_ERROR,
    EXIT_DATA_ERROR,
    user_error,
)
from domain.candles import Candle


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gridbot", description="Adaptive grid-trading bot for Binance Spot and USD-M Futures."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    bt = sub.add_parser(
        "backtest",
        help="run the strategy over historical 1m klines (or the built-in generated market)",
    )
    bt.add_argument("--config", help="JSON config file (default: the embedded default config)")
    bt.add_argument(
        "--data",
        nargs="+",
        metavar="PATH",
        help="kline CSV/CSV.gz files or directories, read in the order given "
        "(overrides backtest.data)",
    )
    bt.add_argument(
        "--market",
        choices=sorted(MARKETS),
        help="trade the data as spot or USD-M futures (overrides market.type in the config)",
    )
    bt.add_argument("--json", action="store_true", help="print the report as JSON")
    bt.add_argument("--no-progress", action="store_true", help="never draw a progress bar")
    bt.add_argument(
        "--baselines",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run backtest.baselines (buy-and-hold, neutral grid, volatility grid, static "
        "grid) on the same data, fees and funding and compare (default: on)",
    )
    run = sub.add_parser(
        "run",
        help="trade on the configured exchange (simulated, Binance or the emulator), "
        "resuming from the journal",
    )
    run.add_argument("--config", help="JSON config file (default: the embedded default config)")
    run.add_argument("--data", help="kline file or directory the simulated exchange replays")
    run.add_argument(
        "--market",
        choices=sorted(MARKETS),
        help="trade spot or USD-M futures (overrides market.type in the config)",
    )
    run.add_argument(
        "--speed",
        type=float,
        default=60.0,
        help="simulated exchange: replay speed, 1 = real time, 60 = a candle a second "
        "(default), 0 = as fast as possible",
    )
    run.add_argument("--max-candles", type=int, default=0, help="stop after N candles (0: all)")
    run.add_argument(
        "--accept-exchange-state",
        action="store_true",
        help="start even if the exchange's balances/position differ from the journal's",
    )
    run.add_argument(
        "--console",
        action="store_true",
        help="also print every event as a readable line on stderr (logging.console)",
    )
    run.add_argument(
        "--standby",
        action="store_true",
        help="reconcile, then wait for the control plane's Start before trading",
    )
    research = sub.add_parser("research", help="research tools over real history")
    research_sub = research.add_subparsers(dest="research_command", required=True)
    sig = research_sub.add_parser(
        "signals",
        help="convictions over a history: information coefficients per system and for the "
        "ensemble, in and out of sample; writes a CSV and a PNG plot",
    )
    # --- research signals arguments (owned by bootstrap/research_command) ---
    sig.add_argument(
        "--data",
        required=True,
        nargs="+",
        help="kline CSV/CSV.gz files or directories, read in the order given",
    )
    sig.add_argument(
        "--config",
        help="JSON config (signals section, and the strategy whose backtest's fills are "
        "charged to the signal's calls; default: embedded)",
    )
    sig.add_argument(
        "--market",
        choices=sorted(MARKETS),
        help="the backtest trades the data as spot or USD-M futures (overrides market.type)",
    )
    sig.add_argument("--horizons", default="5,15,60", help="forward horizons in minutes")
    sig.add_argument("--split", type=float, default=0.5, help="in-sample fraction (fit)")
    sig.add_argument("--out", default="research-signals", help="output directory")
    sig.add_argument("--json", action="store_true", help="print the summary as JSON")
    sig.add_argument("--no-progress", action="store_true", help="never draw a progress bar")
    # --- end research signals arguments ---
    val = sub.add_parser(
        "validate",
        help="test the bot end to end: run it as a process through the Binance adapter "
        "against the emulator for hours of replayed market time, inject exchange faults and "
        "kill -9 restarts, then check its journal and log against the emulator's books",
    )
    # --- validate arguments (owned by bootstrap/validation) ---
    val.add_argument("--hours", type=float, default=48.0, help="market hours to cover")
    val.add_argument("--market", choices=("spot", "futures"), default="futures")
    val.add_argument("--seed", type=int, default=0, help="seed of the fault and kill schedule")
    val.add_argument("--data", help="kline file or directory (default: real BTCUSDT data)")
    val.add_argument("--kills", type=int, default=20, help="SIGKILL + restart count")
    val.add_argument("--out", help="report directory (default: validation-<market>-<seed>)")
    val.add_argument(
        "--speed",
        type=float,
        default=4.0,
        help="replayed candles per wall-clock second (default 4: 48 h in 12 minutes)",
    )
    val.add_argument(
        "--config",
        help="base config for the bot (strategy, risk...); market, exchange, storage and "
        "logging are set by the validation",
    )
    val.add_argument(
        "--start",
        type=_utc_ms,
        default=None,
        help="UTC date/time of the first replayed candle, e.g. 2025-01-31T12:00 (default: the "
        "data's first candle + the history)",
    )
    val.add_argument(
        "--history-minutes",
        type=int,
        default=None,
        help="minutes of the data before the start the emulator serves as the past, so the "
        "bot's first start fits its weights on it (default: signals.history_minutes, at most "
        "what the data holds before the start)",
    )
    val.add_argument(
        "--shock",
        default=None,
        help="lay a seeded market shock over the replay: prices fall by this fraction (e.g. "
        "0.08) over an hour starting at a seeded candle in the middle half, and stay there",
    )
    # --- end validate arguments ---
    ev = sub.add_parser(
        "evaluate",
        help="walk-forward evaluation of the strategy and the baselines over every series, "
        "with parameter sweeps, in parallel processes or on a Ray cluster",
    )
    from bootstrap.evaluation.command import add_arguments as add_evaluate_arguments

    add_evaluate_arguments(ev)
    rep = sub.add_parser(
        "report",
        help="one self-contained HTML report (PNG charts beside it) of a backtest, an "
        "evaluation or a bot's journal",
    )
    # --- report arguments (owned by bootstrap/report) ---
    from bootstrap.report import add_report_arguments

    add_report_arguments(rep)
    # --- end report arguments ---
    emu = sub.add_parser(
        "emulator",
        help="serve a Binance-compatible REST API on 127.0.0.1 over the simulated exchange",
    )
    emu.add_argument("--data", help="kline CSV/CSV.gz file or directory to replay")
    emu.add_argument("--config", help="JSON config (symbol, balances, simulation settings)")
    emu.add_argument(
        "--speed", type=float, default=0.0, help="candles per second (0: advance on command)"
    )
    emu.add_argument("--port", type=int, default=0, help="TCP port (0: any free port)")
    emu.add_argument(
        "--wall-clock-auth",
        action="store_true",
        help="check request timestamps against the wall clock instead of the replay clock "
        "(needed by a long-running client when replaying faster than real time)",
    )
    emu.add_argument(
        "--history-minutes",
        type=int,
        default=None,
        help="minutes of the data before the replay start served as the past (klines, "
        "funding rates, mark price), as a client starting up on Binance sees it (default: "
        "the config's signals.history_minutes, five weeks, so the bot fits its weights on it "
        "and its first weekly update has data; half the data when it is shorter; 0: none)",
    )
    emu.add_argument(
        "--replay-start",
        type=_utc_ms,
        default=None,
        help="UTC date/time the replay starts at, e.g. 2025-01-08T00:00 (default: the data's "
        "first candle + --history-minutes, so the history comes from the data)",
    )
    emu.add_argument("--api-key", default=None, help="API key (default: $BINANCE_API_KEY)")
    emu.add_argument("--api-secret", default=None, help="API secret (default: $BINANCE_API_SECRET)")
    return parser


def _utc_ms(text: str) -> int:
    """An ISO date/time argument (UTC unless it names an offset) as epoch ms."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO date/time (e.g. 2025-01-08T00:00)"
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def _iso(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def _money(value: Decimal, places: int = 2) -> str:
    return f"{value.quantize(Decimal(1).scaleb(-places)):,}"


def _skipped(skipped: dict[str, int]) -> str:
    if not skipped:
        return "0"
    detail = ", ".join(f"{reason} {count:,}" for reason, count in sorted(skipped.items()))
    return f"{sum(skipped.values()):,} ({detail})"


def _brakes(brakes: dict[str, Any] | None) -> str:
    """What the drawdown brakes and the leverage guard did, on one line."""
    if brakes is None:
        return "off"
    entered = ", ".join(f"{level} x{n}" for level, n in brakes["transitions"].items())
    return (
        f"deepest {brakes['deepest']}, now {brakes['level']} (entered: {entered or 'none'}); "
        f"entries scaled {brakes['scaled_entries']:,}, blocked {brakes['blocked_entries']:,}, "
        f"cancelled {brakes['cancelled_entries']:,}; halts {brakes['halts']}; leverage above "
        f"the cap {brakes['leverage_breaches']}x (reductions {brakes['leverage_reductions']})"
    )


def _calendar(calendar: dict[str, int] | None) -> str:
    """Weekend-mode switches and CME gaps the strategy's calendar reported, on one line."""
    if calendar is None:
        return "off"
    return (
        f"weekend mode entered {calendar['weekend_entered']:,}, left "
        f"{calendar['weekend_left']:,}; CME gaps {calendar['cme_gaps']:,}"
    )


def _counters(counters: dict[str, int]) -> str:
    return ", ".join(f"{name} {count:,}" for name, count in counters.items())


def render_report(report: BacktestReport, extra: dict[str, Any], out: TextIO) -> None:
    """Print the human-readable report."""
    rows = [
        *extra.get("market_lines", []),
        ("symbol", f"{report.symbol} ({report.market})"),
        ("data", str(extra["data"])),
        ("period", f"{_iso(report.first_open_time)} -> {_iso(report.last_open_time)} UTC"),
        ("candles", f"{report.candles:,}"),
        ("gaps", f"{report.gaps} ({report.missing_candles:,} missing candles, not invented)"),
        (
            "orders",
            f"{report.orders:,} sent ({report.rejects:,} rejected, of which "
            f"{report.risk_blocks:,} by pre-trade risk before sending; {report.cancels:,} cancels)",
        ),
        (
            "fills",
            f"{report.fills:,} (maker {report.maker_fills:,} / taker {report.taker_fills:,})",
        ),
        ("fees", _money(report.fees, 4)),
        ("funding", _money(report.funding, 4)),
        ("realized PnL", _money(report.realized_pnl, 4)),
        ("unrealized PnL", _money(report.unrealized_pnl, 4)),
        ("position", f"{report.position} @ last {report.last_price}"),
        ("initial equity", _money(report.initial_equity)),
        ("final equity", _money(report.final_equity)),
        ("final cash", _money(report.final_cash)),
        (
            "max drawdown",
            f"{(report.max_drawdown * 100).quantize(Decimal('0.01'))} % "
            f"({_money(report.max_drawdown_amount)})",
        ),
        ("max leverage", str(extra["max_leverage"])),
        ("brakes", _brakes(report.brakes)),
        ("calendar", _calendar(report.calendar)),
        ("grid re-centres", f"{extra['recenters']:,}"),
        ("skipped levels", _skipped(extra["skipped_levels"])),
        *(
            [("strategy counters", _counters(extra["strategy_counters"]))]
            if extra.get("strategy_counters")
            else []
        ),
        ("run time", f"{extra['seconds']:.2f} s ({extra['candles_per_second']:,.0f} candles/s)"),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        out.write(f"{key:<{width}}  {value}\n")


def _skip_advice(skipped: dict[str, int], base: str) -> str:
    """What to change, by why levels were skipped (too big and too small want opposites)."""
    advice = []
    if any(reason.endswith(" max") for reason in skipped):
        advice.append("lower strategy.quote_per_level (an order above the exchange's maximum)")
    if "INSUFFICIENT_BASE" in skipped:
        advice.append(
            f"hold {base} in account.initial_balances to place the sell side (spot sells "
            "only what it holds)"
        )
    if any(not r.endswith(" max") and r != "INSUFFICIENT_BASE" for r in skipped):
        advice.append("raise strategy.quote_per_level or adjust the grid")
    return "; ".join(advice)


def _data_paths(paths: str | list[str] | None) -> str | list[str] | None:
    """``--data`` as the container takes it: one path as it is, several as a list."""
    if not paths or isinstance(paths, str):
        return paths or None
    return paths[0] if len(paths) == 1 else list(paths)


def _data_label(data: str | list[str] | None) -> str | None:
    return ", ".join(data) if isinstance(data, list) else data


def run_backtest(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``gridbot backtest``: the configured strategy, its metrics, and the baselines."""
    from adapters.terminal.metrics_table import render_comparison, render_metrics
    from bootstrap.strategy_runs import StrategyRun, run_baselines, run_strategy
    from domain.metrics.comparison import best_by_metric

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        err.write(f"gridbot: config error: {exc}\n")
        return EXIT_CONFIG_ERROR
    market_flag = getattr(args, "market", None)
    config = with_market(config, market_flag)
    data = _data_paths(args.data)
    warning = data_market_warning(config, data or config.backtest.data, market_flag)
    if warning:
        err.write(warning + "\n")
        err.flush()
    bars = CandleProgressBars(err, enabled=not args.no_progress)
    try:
        main = run_strategy(config, data, bars)
        bars.close()
        if main.report.candles == 0:
            source = _data_label(data) or config.backtest.data
            err.write(f"gridbot: data error: {source}: no candles in the data\n")
            return EXIT_DATA_ERROR
        baselines: list[StrategyRun] = []
        if args.baselines:
            baselines = run_baselines(config, data, bars)
    except (*CONFIG_ERRORS, *DATA_ERRORS, ValueError) as exc:
        return user_error(exc, config.source, err)
    finally:
        bars.close()
    report = main.report
    container = main.container
    strategy = container.strategy()
    exchange = container.exchange()
    candles = container.candles()
    seconds = main.seconds
    lines = market_lines(config, market_flag)
    extra: dict[str, Any] = {
        "market_lines": lines,
        "fee_model": lines[1][1],
        "funding_model": lines[2][1],
        "data": _data_label(data) or config.backtest.data or "built-in generated market",
        "strategy": config.strategy.name,
        "max_leverage": str(exchange.max_leverage_seen.quantize(Decimal("0.0001"))),
        "recenters": getattr(strategy, "recenters", 0),
        "skipped_levels": getattr(strategy, "skipped_levels", {}),
        "strategy_counters": strategy.counters() if hasattr(strategy, "counters") else {},
        "seconds": seconds,
        "candles_per_second": report.candles / seconds if seconds > 0 else 0.0,
        "signal_decisions": signals.decisions if (signals := container.signals()) else 0,
        "gap_list": [
            {"source": g.source, "after_open_time": g.after_open_time, "resumes_at": g.resumes_at}
            for g in candles.source.gaps
        ],
    }
    skipped = extra["skipped_levels"]
    if skipped and config.strategy.name == "static_grid":
        err.write(
            f"gridbot: warning: grid levels could not be placed: {_skipped(skipped)}; "
            f"{_skip_advice(skipped, container.instrument().base_asset)}\n"
        )
    compared = {f"{main.name} (configured)": main.metrics}
    compared.update((run.name, run.metrics) for run in baselines)
    best = best_by_metric(compared) if baselines else {}
    if args.json:
        document = {k: v for k, v in extra.items() if k != "market_lines"}
        document = {**report.to_dict(), **document, "metrics": main.metrics.to_dict()}
        if baselines:
            document["baselines"] = {
                run.name: {
                    "report": run.report.to_dict(),
                    "metrics": run.metrics.to_dict(),
                    "seconds": run.seconds,
                }
                for run in baselines
            }
            document["best"] = {key: list(names) for key, names in best.items()}
        out.write(json.dumps(document, indent=2) + "\n")
    else:
        render_report(report, extra, out)
        out.write("\n")
        render_metrics(main.metrics, out)
        if baselines:
            out.write("\n")
            render_comparison(compared, best, out)
    return 0


def run_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``gridbot run``."""
    from bootstrap.run import run_session

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        err.write(f"gridbot: config error: {exc}\n")
        return EXIT_CONFIG_ERROR
    market_flag = getattr(args, "market", None)
    config = with_market(config, market_flag)
    lines = market_lines(config, market_flag)
    if config.exchange.kind != "simulated":
        lines = lines[:1]  # fees and funding are the exchange's own
    for label, text in lines:  # on stderr: stdout's first line stays "control plane: ..."
        err.write(f"{label}: {text}\n")
    warning = data_market_warning(config, args.data or config.backtest.data, market_flag)
    if warning and config.exchange.kind == "simulated":
        err.write(warning + "\n")
    err.flush()
    try:
        return run_session(config, args, out, err)
    except (*CONFIG_ERRORS, *DATA_ERRORS) as exc:
        return user_error(exc, config.source, err)


def emulator_command(args: argparse.Namespace, err: TextIO) -> int:
    """``gridbot emulator``: key and secret from flags or the environment, never the config."""
    import os

    from adapters.simulated.emulator.server import NothingToReplay, run_emulator
    from bootstrap.instruments import builtin_instrument
    from bootstrap.simulation import candle_source, simulation_settings
    from domain.enums import MarketType

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        err.write(f"gridbot: config error: {exc}\n")
        return EXIT_CONFIG_ERROR
    key = args.api_key or os.environ.get("BINANCE_API_KEY")
    secret = args.api_secret or os.environ.get("BINANCE_API_SECRET")
    if not key or not secret:
        err.write(
            "gridbot: config error: the emulator needs an API key and secret: pass --api-key and "
            "--api-secret or set BINANCE_API_KEY and BINANCE_API_SECRET\n"
        )
        return EXIT_CONFIG_ERROR
    history_minutes = args.history_minutes
    if history_minutes is None:
        history_minutes = config.signals.history_minutes
    if history_minutes < 0:
        err.write(f"gridbot: config error: --history-minutes must be >= 0, got {history_minutes}\n")
        return EXIT_CONFIG_ERROR
    try:
        if args.history_minutes is None and args.replay_start is None:
            history_minutes = _default_history_that_fits(
                candle_source(config, args.data), history_minutes, err
            )
        candles = candle_source(config, args.data)
        instruments = [builtin_instrument(market, config.symbol) for market in MarketType]
        balances = {market: dict(config.initial_balances) for market in MarketType}
        run_emulator(
            args.data,
            args.speed,
            args.port,
            key,
            secret,
            instruments,
            candles,
            balances=balances,
            settings=simulation_settings(config),
            wall_clock_auth=args.wall_clock_auth,
            history_minutes=history_minutes,
            replay_start_ms=args.replay_start,
        )
    except (*CONFIG_ERRORS, *DATA_ERRORS, NothingToReplay) as exc:
        return user_error(exc, config.source, err)
    return 0


def _default_history_that_fits(candles: Iterable[Candle], wanted: int, err: TextIO) -> int:
    """The config's history length, or half the data when the data is shorter than that.

    An explicit ``--history-minutes`` that leaves nothing to replay is the user's error and
    is reported; the *default* (a week) is only a wish, so a short file (a few days) still
    starts, with its first half as the past, and the note says so.
    """
    first = last = None
    for candle in candles:
        if first is None:
            first = candle.open_time
        last = candle.open_time
    if first is None or last is None:
        return wanted
    span = (last - first) // 60_000 + 1
    if wanted < span:
        return wanted
    fitted = span // 2
    err.write(
        f"gridbot: the data spans {span} minutes, less than the default history of {wanted}: "
        f"serving its first {fitted} minutes as history (set --history-minutes to choose)\n"
    )
    return fitted


def main(argv: Sequence[str] | None = None) -> int:
    """Console-script entry point."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "backtest":
        return run_backtest(args, sys.stdout, sys.stderr)
    if args.command == "run":
        return run_command(args, sys.stdout, sys.stderr)
    if args.command == "emulator":
        return emulator_command(args, sys.stderr)
    if args.command == "research":
        from bootstrap.research_command import run_research

        return run_research(args, sys.stdout, sys.stderr)
    if args.command == "evaluate":
        from bootstrap.evaluation.command import run_evaluation

        return run_evaluation(args, sys.stdout, sys.stderr)
    if args.command == "report":
        from bootstrap.report import run_report

        return run_report(args, sys.stdout, sys.stderr)
    if args.command == "validate":
        from bootstrap.validation.command import run_validation

        return run_validation(args, sys.stdout, sys.stderr)
    parser.error(f"unknown command {args.command}")
    return EXIT_CONFIG_ERROR


if __name__ == "__main__":
    sys.exit(main())
