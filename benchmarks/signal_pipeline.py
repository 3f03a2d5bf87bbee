"""Cost of the complete signal pipeline: features + systems + ensemble, per candle and in batch.

* ``per candle`` — :meth:`SignalEngine.update` (incremental features, the three systems and
  the ensemble, one :class:`DecisionRecord` per candle) over real spot BTCUSDT 1m candles,
  by default the unbroken 2025-05-20 .. 2025-08-18 span (130,708 candles). Each run builds
  a fresh engine, feeds the warm-up candles untimed (the engine's
  :attr:`~SignalEngine.warmup_candles`, 2,999 with the defaults), then times ``update`` over
  every remaining candle (>= 100,000), each of which produces a record. The median of
  ``--runs`` runs is compared with the 30 µs target; the candles are decoded into memory
  first, so file reading is not included, but the Decimal-to-float conversion inside
  ``update`` is. For context the same is timed for :class:`FeatureEngine` alone, so the
  share of the systems + ensemble is visible.
* ``batch`` — :func:`history_features` + :meth:`SignalModel.decide_batch` over the seeded
  synthetic year (525,600 bars), columns prepared first; median of ``--batch-runs`` runs,
  in bars per second per stage and together. Also timed once: the whole research
  computation (features, in-sample fit, decisions, ICs at 5/15/60 minutes).
* ``peak RSS`` — the process's maximum resident set size after each phase (it only grows;
  the candle list of the per-candle phase is freed before the batch phase, but a peak
  stays a peak).

Weights: fitted (Spearman, horizon 15) on the 2024-07/08 spot BTCUSDT candles, a period
before the timed one; heuristic weights if those files are missing. The cost does not
depend on the weights' values (same matrix products), only on their being realistic.

Figures are printed, never asserted: they depend on the machine.

Usage::

    .venv/bin/python benchmarks/signal_pipeline.py [--runs 5] [--batch-runs 3] [--skip-batch]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adapters.market_data.kline_csv import KlineCsvReader  # noqa: E402
from application.signal_research import SignalSettings, compute, read_history  # noqa: E402
from domain.candles import Candle  # noqa: E402
from domain.features.engine import FeatureEngine  # noqa: E402
from domain.signals import SignalModel, SignalWeights, heuristic_weights  # noqa: E402
from domain.signals.history import fit_on_history, history_features  # noqa: E402
from domain.signals.signal_engine import SignalEngine  # noqa: E402

TARGET_US = 30.0
SPOT = "klines/spot/BTCUSDT"
TIMED_MONTHS = ("2025-05", "2025-06", "2025-07", "2025-08")
FIT_MONTHS = ("2024-07", "2024-08")
SYNTHETIC = "synthetic/BTCUSDT-synthetic-1m-525600-seed42.csv.gz"


def data_dir() -> Path:
    configured = os.environ.get("GRIDBOT_TEST_DATA")
    if configured:
        return Path(configured).expanduser().resolve()
    return (ROOT.parent / "shared" / "data").resolve()


def peak_rss_mib() -> float:
    """Maximum resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def month_files(base: Path, months: tuple[str, ...]) -> list[Path]:
    return [base / SPOT / f"BTCUSDT-1m-{m}.csv.gz" for m in months]


def weights_for(base: Path) -> tuple[SignalWeights, str]:
    files = month_files(base, FIT_MONTHS)
    if not all(f.is_file() for f in files):
        return heuristic_weights(15), "heuristic (2024 files not found)"
    candles = list(KlineCsvReader(files))
    weights = fit_on_history(
        candles, horizon=15, method="spearman", window=1440, clip=4.0, min_samples=1000
    )
    parts = ", ".join(weights.fallback_parts) or "none"
    return weights, f"fitted on {len(candles):,} candles of 2024-07/08 (fallback: {parts})"


def time_updates(
    factory: Callable[[], SignalEngine | FeatureEngine],
    candles: list[Candle],
    warmup: int,
    runs: int,
) -> list[float]:
    """µs per timed candle of each run; every run starts from a fresh, warmed-up engine."""
    results = []
    timed = candles[warmup:]
    for _ in range(runs):
        engine = factory()
        update = engine.update
        for candle in candles[:warmup]:
            update(candle)
        if isinstance(engine, SignalEngine) and engine.last is None:
            raise RuntimeError("the engine is not ready after its warm-up candles")
        gc.collect()
        start = time.perf_counter()
        for candle in timed:
            update(candle)
        results.append((time.perf_counter() - start) / len(timed) * 1e6)
        if isinstance(engine, SignalEngine):
            last = engine.last
            assert last is not None and last.open_time == timed[-1].open_time
    return results


def per_candle(base: Path, runs: int, weights: SignalWeights) -> None:
    files = month_files(base, TIMED_MONTHS)
    started = time.perf_counter()
    reader = KlineCsvReader(files)
    candles = list(reader)
    print(
        f"per candle: {len(candles):,} spot BTCUSDT candles "
        f"({len(reader.gaps)} gaps) decoded in {time.perf_counter() - started:.1f} s"
    )
    warmup = SignalEngine(weights).warmup_candles
    timed = len(candles) - warmup
    if timed < 100_000:
        print(f"  warning: only {timed:,} timed candles (< 100,000)")

    signal_runs = time_updates(lambda: SignalEngine(weights), candles, warmup, runs)
    feature_runs = time_updates(FeatureEngine, candles, warmup, runs)
    median = statistics.median(signal_runs)
    features = statistics.median(feature_runs)
    verdict = "within" if median < TARGET_US else "OVER"
    print(
        f"  SignalEngine.update: median {median:.2f} us/candle over {timed:,} candles after "
        f"{warmup:,} warm-up (a record on every one); best {min(signal_runs):.2f} "
        f"(runs: {', '.join(f'{r:.2f}' for r in signal_runs)})"
    )
    print(f"  target {TARGET_US:.0f} us/candle: {verdict} ({median / TARGET_US:.0%} of target)")
    print(
        f"  of which FeatureEngine.update: median {features:.2f} us/candle; "
        f"systems + ensemble + record ~ {median - features:.2f} us/candle"
    )
    print(f"  peak RSS so far: {peak_rss_mib():,.0f} MiB (candle list in memory)")


def batch(base: Path, runs: int, weights: SignalWeights) -> None:
    path = base / SYNTHETIC
    started = time.perf_counter()
    columns, _, gaps = read_history(KlineCsvReader(str(path), symbol="BTCUSDT"), str(path))
    bars = int(columns.open_time.shape[0])
    print(
        f"batch: synthetic year, {bars:,} bars ({gaps} gaps), read into columns in "
        f"{time.perf_counter() - started:.1f} s"
    )
    model = SignalModel(weights)
    feature_s: list[float] = []
    decide_s: list[float] = []
    ready_rows = 0
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        features = history_features(columns, 1440, 4.0)
        middle = time.perf_counter()
        ready = features.ready
        ready_rows = int(ready.sum())
        model.decide_batch(features.open_time[ready], features.normalised[ready])
        end = time.perf_counter()
        feature_s.append(middle - start)
        decide_s.append(end - middle)
        del features
    f_med = statistics.median(feature_s)
    d_med = statistics.median(decide_s)
    total = [f + d for f, d in zip(feature_s, decide_s, strict=True)]
    t_med = statistics.median(total)
    print(
        f"  history_features: median {f_med:.2f} s = {bars / f_med:,.0f} bars/s "
        f"(runs: {', '.join(f'{s:.2f}' for s in feature_s)})"
    )
    print(
        f"  decide_batch ({ready_rows:,} ready rows): median {d_med:.2f} s = "
        f"{ready_rows / d_med:,.0f} rows/s (runs: {', '.join(f'{s:.2f}' for s in decide_s)})"
    )
    print(
        f"  features + decisions: median {t_med:.2f} s = {bars / t_med:,.0f} bars/s "
        f"= {t_med / bars * 1e6:.2f} us/bar"
    )
    start = time.perf_counter()
    compute(columns, "BTCUSDT", gaps, SignalSettings(), (5, 15, 60), 0.5)
    print(
        f"  research compute once (features, in-sample fit, decisions, ICs at 5/15/60): "
        f"{time.perf_counter() - start:.2f} s"
    )
    print(f"  peak RSS so far: {peak_rss_mib():,.0f} MiB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="per-candle runs (median)")
    parser.add_argument("--batch-runs", type=int, default=3, help="batch runs (median)")
    parser.add_argument("--skip-batch", action="store_true", help="per-candle only")
    args = parser.parse_args(argv)

    base = data_dir()
    needed = [*month_files(base, TIMED_MONTHS)] + ([] if args.skip_batch else [base / SYNTHETIC])
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        print(f"data not found: {', '.join(missing)} (set GRIDBOT_TEST_DATA)")
        return 1
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs, data {base}"
    )
    weights, how = weights_for(base)
    print(f"weights: {how}")
    per_candle(base, args.runs, weights)
    gc.collect()
    if not args.skip_batch:
        batch(base, args.batch_runs, weights)
    print(f"peak RSS: {peak_rss_mib():,.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
