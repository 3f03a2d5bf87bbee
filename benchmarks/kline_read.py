"""Throughput of KlineCsvReader on the shared data sets (lines per second, best of N runs).

Run: ``.venv/bin/python benchmarks/kline_read.py [--data DIR] [--repeat N]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from adapters.market_data.kline_csv import KlineCsvReader

DEFAULT_DATA = Path("/work/shared/data")


def data_sets(data: Path) -> list[tuple[str, list[Path]]]:
    spot = data / "klines" / "spot" / "BTCUSDT"
    return [
        (
            "synthetic BTCUSDT 525,600 x 1m",
            [data / "synthetic" / "BTCUSDT-synthetic-1m-525600-seed42.csv.gz"],
        ),
        (
            "spot BTCUSDT 2025-05..08",
            [spot / f"BTCUSDT-1m-2025-{m:02d}.csv.gz" for m in range(5, 9)],
        ),
    ]


def measure(files: list[Path], repeat: int) -> tuple[int, float, int]:
    best = float("inf")
    count = gaps = 0
    for _ in range(repeat):
        reader = KlineCsvReader(files)
        start = time.perf_counter()
        count = 0
        for _candle in reader:
            count += 1
        best = min(best, time.perf_counter() - start)
        gaps = len(reader.gaps)
    return count, best, gaps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared data directory")
    parser.add_argument("--repeat", type=int, default=3, help="runs per data set (best is kept)")
    args = parser.parse_args(argv)

    print(f"python {sys.version.split()[0]}, best of {args.repeat}")
    status = 0
    for label, files in data_sets(args.data):
        missing = [f for f in files if not f.is_file()]
        if missing:
            print(f"{label:<34} skipped: missing {missing[0]}")
            status = 1
            continue
        count, seconds, gaps = measure(files, args.repeat)
        print(
            f"{label:<34} {count:>9,} candles  {seconds:6.3f} s  "
            f"{count / seconds:>10,.0f} lines/s  gaps={gaps}"
        )
    return status


if __name__ == "__main__":
    raise SystemExit(main())
