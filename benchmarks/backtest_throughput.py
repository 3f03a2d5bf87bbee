"""Backtest throughput on the reference grid workload, through the full pipeline.

Workload (issue #2): 10 buy + 10 sell LIMIT orders spaced 0.2 % around the last close,
re-centred (cancel all and replace) when price moves more than 1 % from the grid centre, a
take-profit one level away after each fill, maker 0.02 % / taker 0.05 % — the real
StaticGrid strategy, ExecutionService and SimulatedExchange, the same objects
``gridbot backtest`` wires.

``--strategy adaptive`` runs the adaptive grid instead (``strategy.name`` ``adaptive_grid``,
every ``strategy.adaptive`` key at its default: 10 levels a side, step = max(3 x round-trip
maker fee, 4 x ATR(60)), 5 % of equity a level, post-only, managed by diff) with the market
facts it reads (ATR) updated on every candle, as ``gridbot backtest`` wires it; the same
account, fees, exchange, recorder and brakes. ``--strategy static,adaptive`` runs both, side
by side. The ``futures-*`` cases are the USD-M futures BTCUSDT files (every month in the data,
110.8 days with gaps); the ``realistic-*`` ones are spot BTCUSDT klines traded as futures.

Each case runs in a fresh subprocess so its peak RSS is its own. Two timings per case:
* ``stream``  — klines decoded from the .csv.gz inside the timed loop (what a user waits for);
* ``preload`` — klines decoded into memory first, only the pipeline timed (how
  nautilus_trader's figures are usually quoted: data is loaded before ``run()``).

The run recorder (what ``gridbot backtest`` computes its metrics from) is wired as in
``gridbot backtest``; ``--no-recorder`` leaves it out to measure what it costs. So are the
default drawdown brakes and leverage guard (``--no-brakes``: without them, to measure what
observing equity on every candle and fill costs). The metrics
themselves are computed after the timed loop (``metrics_seconds``).

Usage::

    .venv/bin/python benchmarks/backtest_throughput.py [--data DIR] [--cases a,b,...] [--json]
        [--no-recorder] [--no-brakes] [--strategy static,adaptive]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import replace
from decimal import Decimal
from itertools import islice
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WEEK = 7 * 24 * 60
MONTH = 30 * 24 * 60

# name: (files relative to the data dir, bars limit or None)
CASES: dict[str, tuple[list[str], int | None]] = {
    "realistic-week": (["klines/spot/BTCUSDT/BTCUSDT-1m-2025-05.csv.gz"], WEEK),
    "realistic-month": (
        [f"klines/spot/BTCUSDT/BTCUSDT-1m-2025-0{m}.csv.gz" for m in (5, 6, 7, 8)],
        MONTH,
    ),
    "realistic-90d": (
        [f"klines/spot/BTCUSDT/BTCUSDT-1m-2025-0{m}.csv.gz" for m in (5, 6, 7, 8)],
        None,
    ),
    "futures-all": (
        [
            f"klines/futures-um/BTCUSDT/BTCUSDT-1m-{month}.csv.gz"
            for month in ("2023-07", "2023-08", "2025-01", "2025-02", "2025-05", "2025-06")
        ],
        None,
    ),
    "churn-week": (["synthetic/BTCUSDT-synthetic-1m-525600-seed42.csv.gz"], WEEK),
    "churn-month": (["synthetic/BTCUSDT-synthetic-1m-525600-seed42.csv.gz"], MONTH),
    "churn-year": (["synthetic/BTCUSDT-synthetic-1m-525600-seed42.csv.gz"], None),
}


STRATEGIES = ("static", "adaptive")


def run_case(
    data: Path,
    name: str,
    mode: str,
    record: bool = True,
    brakes: bool = True,
    strategy_name: str = "static",
) -> dict[str, object]:
    """Run one case in this process and return its figures."""
    from adapters.market_data.kline_csv import KlineCsvReader
    from adapters.memory.repository import InMemoryOrderRepository
    from adapters.memory.sinks import CountingSink
    from adapters.simulated.exchange import SimulatedExchange
    from adapters.simulated.settings import SimulationSettings
    from application.backtest import BacktestRunner
    from application.execution import ExecutionService
    from application.run_record import RunRecorder
    from bootstrap.config import load_config
    from bootstrap.containers import BACKTEST_RETENTION, adaptive_grid, brake_gate, market_facts
    from bootstrap.instruments import builtin_instrument
    from domain.account import AccountProjection
    from domain.client_ids import ClientOrderIdSequence
    from domain.enums import MarketType
    from domain.grid.static_grid import StaticGrid, StaticGridParams
    from domain.metrics.summary import measure_run
    from domain.strategy import Strategy

    files, limit = CASES[name]
    reader = KlineCsvReader([data / f for f in files])
    source = islice(iter(reader), limit) if limit else iter(reader)
    load_seconds = 0.0
    if mode == "preload":
        started = time.perf_counter()
        source = iter(list(source))
        load_seconds = time.perf_counter() - started

    instrument = builtin_instrument(MarketType.USDM_FUTURES, "BTCUSDT")
    cash = Decimal("1000000")  # ample margin: no order is refused, counts stay comparable
    settings = SimulationSettings(
        maker_fee=Decimal("0.0002"),
        taker_fee=Decimal("0.0005"),
        max_volume_share=None,
        leverage=10,
    )
    exchange = SimulatedExchange(instrument, {"USDT": cash}, settings)
    account = AccountProjection(instrument, cash)
    sink = CountingSink()
    execution = ExecutionService(
        exchange,
        instrument,
        account,
        ClientOrderIdSequence("bench"),
        InMemoryOrderRepository(BACKTEST_RETENTION, BACKTEST_RETENTION),
        sink,
        exchange,
    )
    params = StaticGridParams(
        levels=10,
        spacing=Decimal("0.002"),
        quote_per_level=Decimal("1000"),
        recenter_threshold=Decimal("0.01"),
    )
    config = load_config(None)
    facts = None
    if strategy_name == "adaptive":
        config = replace(config, strategy=replace(config.strategy, name="adaptive_grid"))
        strategy: Strategy = adaptive_grid(config)
        facts = market_facts(config)
    else:
        strategy = StaticGrid(instrument.symbol, params)
    recorder = RunRecorder(instrument, exchange, cash) if record else None
    gate = brake_gate(config, instrument, sink) if brakes else None
    runner = BacktestRunner(
        exchange, strategy, execution, market=facts, recorder=recorder, brakes=gate
    )
    started = time.perf_counter()
    report = runner.run(source)
    seconds = time.perf_counter() - started
    metrics_seconds = 0.0
    if recorder is not None:
        started = time.perf_counter()
        measure_run(recorder.record(report))
        metrics_seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "case": name,
        "strategy": strategy_name,
        "mode": mode,
        "bars": report.candles,
        "orders": report.orders,
        "fills": report.fills,
        "cancels": report.cancels,
        "rejects": report.rejects,
        "recenters": getattr(strategy, "recenters", 0),
        "seconds": round(seconds, 3),
        "load_seconds": round(load_seconds, 3),
        "recorder": record,
        "brakes": brakes,
        "metrics_seconds": round(metrics_seconds, 3),
        "bars_per_second": round(report.candles / seconds),
        "peak_rss_mb": round(peak_mb, 1),
        "final_equity": str(report.final_equity.quantize(Decimal("0.01"))),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", default=os.environ.get("GRIDBOT_TEST_DATA", str(ROOT.parent / "shared" / "data"))
    )
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--modes", default="stream,preload")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-recorder", action="store_true", help="run without the recorder")
    parser.add_argument("--no-brakes", action="store_true", help="run without the brakes")
    parser.add_argument(
        "--strategy",
        default="static",
        help="static, adaptive or both (static,adaptive): which grid runs each case",
    )
    parser.add_argument(
        "--child", nargs=3, metavar=("CASE", "MODE", "STRATEGY"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    data = Path(args.data)
    if args.child:
        case, mode, strategy = args.child
        result = run_case(
            data, case, mode, not args.no_recorder, not args.no_brakes, strategy_name=strategy
        )
        print(json.dumps(result))
        return 0
    if not (data / "klines").is_dir():
        print(f"data directory {data} not found (use --data or GRIDBOT_TEST_DATA)", file=sys.stderr)
        return 2
    strategies = args.strategy.split(",")
    unknown = sorted(set(strategies) - set(STRATEGIES))
    if unknown:
        print(f"unknown --strategy {unknown}: one of {', '.join(STRATEGIES)}", file=sys.stderr)
        return 2
    results = []
    runs = [
        (name, mode, strategy)
        for name in args.cases.split(",")
        for strategy in strategies
        for mode in args.modes.split(",")
    ]
    for name, mode, strategy in runs:
        out = subprocess.run(
            [sys.executable, __file__, "--data", str(data), "--child", name, mode, strategy]
            + (["--no-recorder"] if args.no_recorder else [])
            + (["--no-brakes"] if args.no_brakes else []),
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(out.stdout)
        results.append(result)
        if not args.json:
            print(
                f"{name:16} {strategy:8} {mode:8} {result['bars']:>8,} bars "
                f"{result['orders']:>8,} orders {result['fills']:>7,} fills "
                f"{result['rejects']:>7,} refused {result['seconds']:>7.2f} s "
                f"{result['bars_per_second']:>9,} bars/s  "
                f"peak RSS {result['peak_rss_mb']:>6.1f} MB  "
                f"metrics {result['metrics_seconds']:.3f} s",
                flush=True,
            )
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
