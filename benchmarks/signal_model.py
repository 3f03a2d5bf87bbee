"""Cost of the signal model: per-candle ``SignalModel.decide`` and batch throughput.

Per candle: median over ``--runs`` runs of ``--calls`` calls each, cycling through a pool of
random normalised vectors (standard normal, clipped to ±4 like the feature engine's
output), with heuristic weights and with weights fitted on synthetic data. Batch:
``decide_batch`` over ``--rows`` rows (default one year of 1m bars), median of the runs;
plus one ``fit_weights`` over the same rows.

Run: ``.venv/bin/python benchmarks/signal_model.py [--calls N] [--runs N] [--rows N]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

from domain.features.names import FEATURE_INDEX, FEATURE_NAMES
from domain.signals import SignalModel, fit_weights, heuristic_weights

F = len(FEATURE_NAMES)
POOL = 1024


def synthetic(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Clipped normal features and closes whose next return follows two of them."""
    rng = np.random.default_rng(seed)
    z = np.clip(rng.standard_normal((rows, F)), -4.0, 4.0)
    steps = (
        0.001 * z[:, FEATURE_INDEX["1h.ema_spread_12_26"]]
        - 0.001 * z[:, FEATURE_INDEX["5m.bb_pctb_20"]]
        + 0.002 * rng.standard_normal(rows)
    )
    closes = 100.0 * np.exp(np.concatenate(([0.0], np.cumsum(steps[:-1]))))
    return z, closes


def per_candle_us(model: SignalModel, calls: int, runs: int, seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    pool = [np.clip(rng.standard_normal(F), -4.0, 4.0) for _ in range(POOL)]
    decide = model.decide
    for i in range(2000):  # warm-up
        decide(i, pool[i % POOL])
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        for i in range(calls):
            decide(i, pool[i & (POOL - 1)])
        out.append((time.perf_counter() - start) / calls * 1e6)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200_000, help="decide() calls per run")
    parser.add_argument("--runs", type=int, default=5, help="runs (the median is reported)")
    parser.add_argument("--rows", type=int, default=525_600, help="rows for the batch")
    args = parser.parse_args(argv)

    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, median of {args.runs} runs")
    z, closes = synthetic(args.rows, seed=1)

    start = time.perf_counter()
    fitted = fit_weights(z, closes, horizon=15)
    fit_seconds = time.perf_counter() - start
    models = {
        "heuristic weights": SignalModel(heuristic_weights(15)),
        "fitted weights": SignalModel(fitted),
    }

    for label, model in models.items():
        times = per_candle_us(model, args.calls, args.runs, seed=2)
        print(
            f"decide, {label:<17} {statistics.median(times):6.2f} us/candle "
            f"(runs {min(times):.2f}..{max(times):.2f}, {args.calls:,} calls each)"
        )

    open_time = 60_000 * np.arange(args.rows, dtype=np.int64)
    model = models["fitted weights"]
    model.decide_batch(open_time[:1000], z[:1000])
    batch_times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        model.decide_batch(open_time, z)
        batch_times.append(time.perf_counter() - start)
    seconds = statistics.median(batch_times)
    print(
        f"decide_batch, {args.rows:,} rows  {seconds * 1e3:8.1f} ms "
        f"({args.rows / seconds / 1e6:.2f} M rows/s, {seconds / args.rows * 1e9:.0f} ns/row; "
        f"runs {min(batch_times) * 1e3:.0f}..{max(batch_times) * 1e3:.0f} ms)"
    )
    print(
        f"fit_weights ({fitted.method}, h={fitted.horizon}), {args.rows:,} rows  "
        f"{fit_seconds:6.2f} s (fallback: {list(fitted.fallback_parts) or 'none'})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
