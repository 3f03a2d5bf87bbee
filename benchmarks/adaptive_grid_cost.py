"""Per-candle cost of the adaptive grid's decision (plan + diff) on real data.

Runs a backtest of the adaptive grid over a kline file or directory and times every
``on_candle`` call of the strategy (the signal and market facts are updated before it and
not included). Prints the median and p99 over all candles, and separately over the candles
that emitted requests.

    PYTHONPATH=. python benchmarks/adaptive_grid_cost.py \\
        --data ../shared/data/klines/futures-um/BTCUSDT --config config/config.adaptive.json
"""

from __future__ import annotations

import argparse
import statistics
import time

from bootstrap.config import load_config
from bootstrap.containers import BacktestContainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="kline file or directory")
    parser.add_argument("--config", default="config/config.adaptive.json")
    args = parser.parse_args()
    config = load_config(args.config)
    container = BacktestContainer(config=config)
    container.data.override(args.data)
    strategy = container.strategy()
    decide = strategy.on_candle
    idle: list[float] = []
    busy: list[float] = []
    clock = time.perf_counter_ns

    def timed(candle, context):  # type: ignore[no-untyped-def]
        start = clock()
        commands = decide(candle, context)
        (busy if commands else idle).append((clock() - start) / 1000)
        return commands

    strategy.on_candle = timed  # type: ignore[method-assign]
    candles = container.candles()
    container.runner().run(candles, gaps=lambda: candles.source.gaps)
    every = idle + busy
    for name, sample in (("all candles", every), ("idle", idle), ("with requests", busy)):
        if not sample:
            continue
        ordered = sorted(sample)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        print(
            f"{name:14} n={len(sample):>8,}  median {statistics.median(sample):8.1f} us  "
            f"p99 {p99:8.1f} us"
        )


if __name__ == "__main__":
    main()
