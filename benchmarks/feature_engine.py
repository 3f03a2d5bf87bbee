"""Feature engine cost: incremental update per 1m candle, and batch throughput.

* ``incremental`` — :meth:`FeatureEngine.update` over the first ``--candles`` candles
  (default 200,000) of the data set, candles decoded into memory first; µs per candle,
  median (and best) of ``--repeat`` runs, each with a fresh engine. The Decimal-to-float
  conversion of the candle fields is part of ``update`` and therefore included.
* ``batch`` — :func:`compute_features` over the whole file (the synthetic year: 525,600
  bars), arrays prepared first; bars per second, median of ``--repeat`` runs.

The data set defaults to the seeded synthetic year
``synthetic/BTCUSDT-synthetic-1m-525600-seed42.csv.gz`` under ``GRIDBOT_TEST_DATA``
(default ``../shared/data`` beside the checkout); ``--file`` takes any kline file or
directory (e.g. ``klines/futures-um/BTCUSDT``, relative to the data directory).

Usage::

    .venv/bin/python benchmarks/feature_engine.py [--file PATH] [--candles N] [--repeat R]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from itertools import islice
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adapters.market_data.kline_csv import KlineCsvReader  # noqa: E402
from domain.candles import Candle  # noqa: E402
from domain.features.batch import compute_features  # noqa: E402
from domain.features.engine import FeatureEngine  # noqa: E402

SYNTHETIC = "synthetic/BTCUSDT-synthetic-1m-525600-seed42.csv.gz"


def data_dir() -> Path:
    configured = os.environ.get("GRIDBOT_TEST_DATA")
    if configured:
        return Path(configured).expanduser().resolve()
    return (ROOT.parent / "shared" / "data").resolve()


def reader(path: Path) -> KlineCsvReader:
    # The synthetic file's name does not follow Binance's "<SYMBOL>-..." scheme reliably.
    return KlineCsvReader(path, symbol="BENCH")


def time_incremental(candles: list[Candle], repeat: int) -> list[float]:
    """µs per candle of each run."""
    runs = []
    for _ in range(repeat):
        engine = FeatureEngine()
        update = engine.update
        start = time.perf_counter()
        for candle in candles:
            update(candle)
        runs.append((time.perf_counter() - start) / len(candles) * 1e6)
    return runs


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    times: list[int] = []
    cols: dict[str, list[float]] = {k: [] for k in ("open", "high", "low", "close", "volume")}
    taker: list[float] = []
    for c in reader(path):
        times.append(c.open_time)
        cols["open"].append(float(c.open))
        cols["high"].append(float(c.high))
        cols["low"].append(float(c.low))
        cols["close"].append(float(c.close))
        cols["volume"].append(float(c.volume))
        taker.append(float("nan") if c.taker_buy_base is None else float(c.taker_buy_base))
    arrays = {k: np.array(v) for k, v in cols.items()}
    arrays["open_time"] = np.array(times, dtype=np.int64)
    arrays["taker_buy_base"] = np.array(taker)
    return arrays


def time_batch(arrays: dict[str, np.ndarray], repeat: int) -> list[float]:
    """Seconds of each run."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        compute_features(**arrays)
        runs.append(time.perf_counter() - start)
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", default=SYNTHETIC, help="kline file/dir, relative to data dir")
    parser.add_argument("--candles", type=int, default=200_000, help="candles for incremental")
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement")
    parser.add_argument("--skip-batch", action="store_true", help="incremental only")
    args = parser.parse_args(argv)

    path = Path(args.file)
    if not path.is_absolute():
        path = data_dir() / path
    if not path.exists():
        print(f"data not found: {path} (set GRIDBOT_TEST_DATA)")
        return 1
    print(f"python {platform.python_version()}, numpy {np.__version__}, data {path}")

    candles = list(islice(reader(path), args.candles))
    runs = time_incremental(candles, args.repeat)
    print(
        f"incremental FeatureEngine.update: {len(candles):,} candles x {args.repeat} runs: "
        f"median {statistics.median(runs):.2f} us/candle, best {min(runs):.2f} "
        f"(runs: {', '.join(f'{r:.2f}' for r in runs)})"
    )
    del candles

    if not args.skip_batch:
        arrays = load_arrays(path)
        bars = len(arrays["close"])
        seconds = time_batch(arrays, args.repeat)
        median = statistics.median(seconds)
        print(
            f"batch compute_features: {bars:,} bars x {args.repeat} runs: median {median:.3f} s "
            f"= {bars / median:,.0f} bars/s, best {bars / min(seconds):,.0f} bars/s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
