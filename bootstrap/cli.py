"""``gridbot`` command line: the entry point that builds containers and runs use cases.

User errors (bad config, bad data, unknown symbol) print one line naming the file and the
field or line, and exit non-zero without a traceback: 2 for configuration and usage errors,
1 for data errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TextIO

from adapters.market_data.kline_csv import KlineFormatError
from adapters.simulated.funding import FundingFileError
from adapters.terminal.progress import TerminalProgress
from application.backtest import BacktestReport
from bootstrap.config import ConfigError, load_config
from bootstrap.containers import BacktestContainer, DataMismatch, EmptyAccount
from bootstrap.instruments import UnknownInstrument
from bootstrap.secrets import CredentialsError

EXIT_DATA_ERROR = 1
EXIT_CONFIG_ERROR = 2
_CONFIG_ERRORS: tuple[type[Exception], ...] = (
    UnknownInstrument,
    DataMismatch,
    EmptyAccount,
    CredentialsError,
)
_DATA_ERRORS: tuple[type[Exception], ...] = (KlineFormatError, FundingFileError, FileNotFoundError)


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
    bt.add_argument("--data", help="kline CSV/CSV.gz file or directory (overrides backtest.data)")
    bt.add_argument("--json", action="store_true", help="print the report as JSON")
    bt.add_argument("--no-progress", action="store_true", help="never draw a progress bar")
    run = sub.add_parser(
        "run",
        help="trade on the configured exchange (simulated, Binance or the emulator), "
        "resuming from the journal",
    )
    run.add_argument("--config", help="JSON config file (default: the embedded default config)")
    run.add_argument("--data", help="kline file or directory the simulated exchange replays")
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
    # --- research signals arguments (owned by bootstrap/research) ---
    sig.add_argument(
        "--data",
        required=True,
        nargs="+",
        help="kline CSV/CSV.gz files or directories, read in the order given",
    )
    sig.add_argument("--config", help="JSON config (signals section; default: embedded)")
    sig.add_argument("--horizons", default="5,15,60", help="forward horizons in minutes")
    sig.add_argument("--split", type=float, default=0.5, help="in-sample fraction (fit)")
    sig.add_argument("--out", default="research-signals", help="output directory")
    sig.add_argument("--json", action="store_true", help="print the summary as JSON")
    # --- end research signals arguments ---
    val = sub.add_parser(
        "validate",
        help="the Phase A validation run: the bot as a process through the Binance adapter "
        "against the emulator, with faults and kills, checked against the emulator's books",
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
    # --- end validate arguments ---
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
    emu.add_argument("--api-key", default=None, help="API key (default: $BINANCE_API_KEY)")
    emu.add_argument("--api-secret", default=None, help="API secret (default: $BINANCE_API_SECRET)")
    return parser


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


def _counters(counters: dict[str, int]) -> str:
    return ", ".join(f"{name} {count:,}" for name, count in counters.items())


def render_report(report: BacktestReport, extra: dict[str, Any], out: TextIO) -> None:
    """Print the human-readable report."""
    rows = [
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


def _user_error(exc: Exception, config_source: str, err: TextIO) -> int:
    """One line for a user error, no traceback: configuration (exit 2) or data (exit 1)."""
    if isinstance(exc, UnknownInstrument):
        err.write(f"gridbot: config error: {config_source}: $.market.symbol: {exc}\n")
        return EXIT_CONFIG_ERROR
    if isinstance(exc, _CONFIG_ERRORS):
        err.write(f"gridbot: config error: {exc}\n")
        return EXIT_CONFIG_ERROR
    err.write(f"gridbot: data error: {exc}\n")
    return EXIT_DATA_ERROR


def run_backtest(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``gridbot backtest``."""
    import time

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        err.write(f"gridbot: config error: {exc}\n")
        return EXIT_CONFIG_ERROR
    container = BacktestContainer(config=config)
    if args.data:
        container.data.override(args.data)
    progress: TerminalProgress | None = None
    try:
        candles = container.candles()
        if not args.no_progress and err.isatty():
            total = getattr(candles.source, "minutes", None)
            progress = TerminalProgress(total=total, stream=err)
            container.progress.override(progress)
        runner = container.runner()
        started = time.perf_counter()
        report = runner.run(candles, gaps=lambda: candles.source.gaps)
        seconds = time.perf_counter() - started
    except (*_CONFIG_ERRORS, *_DATA_ERRORS, ValueError) as exc:
        return _user_error(exc, config.source, err)
    finally:
        if progress is not None:
            progress.close()
    if report.candles == 0:
        source = args.data or config.backtest.data
        err.write(f"gridbot: data error: {source}: no candles in the data\n")
        return EXIT_DATA_ERROR
    exchange = container.exchange()
    extra: dict[str, Any] = {
        "data": args.data or config.backtest.data or "built-in generated market",
        "max_leverage": str(exchange.max_leverage_seen.quantize(Decimal("0.0001"))),
        "recenters": container.strategy().recenters,
        "skipped_levels": container.strategy().skipped_levels,
        "strategy_counters": (
            container.strategy().counters() if hasattr(container.strategy(), "counters") else {}
        ),
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
            "raise strategy.quote_per_level or adjust the grid\n"
        )
    if args.json:
        out.write(json.dumps({**report.to_dict(), **extra}, indent=2) + "\n")
    else:
        render_report(report, extra, out)
    return 0


def run_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``gridbot run``."""
    from bootstrap.run import run_session

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        err.write(f"gridbot: config error: {exc}\n")
        return EXIT_CONFIG_ERROR
    try:
        return run_session(config, args, out, err)
    except (*_CONFIG_ERRORS, *_DATA_ERRORS) as exc:
        return _user_error(exc, config.source, err)


def emulator_command(args: argparse.Namespace, err: TextIO) -> int:
    """``gridbot emulator``: key and secret from flags or the environment, never the config."""
    import os

    from adapters.simulated.emulator.server import run_emulator
    from bootstrap.containers import candle_source, simulation_settings
    from bootstrap.instruments import builtin_instrument
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
    try:
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
        )
    except (*_CONFIG_ERRORS, *_DATA_ERRORS) as exc:
        return _user_error(exc, config.source, err)
    return 0


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
        from bootstrap.research import run_research

        return run_research(args, sys.stdout, sys.stderr)
    if args.command == "validate":
        from bootstrap.validation.command import run_validation

        return run_validation(args, sys.stdout, sys.stderr)
    parser.error(f"unknown command {args.command}")
    return EXIT_CONFIG_ERROR


if __name__ == "__main__":
    sys.exit(main())
