"""Candle streams and runners shared by the feature-engine tests (plus checks of the helpers).

The generator builds Binance-like 1m candles from a seed: prices on a tick grid, optional
gaps, flat zero-volume runs and a mix of known / unknown taker-buy volume, so that the
edge cases the engine must survive appear in every property-based test.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from itertools import islice, pairwise
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from adapters.market_data.kline_csv import KlineCsvReader
from domain.candles import MINUTE_MS, Candle
from domain.features.batch import compute_features
from domain.features.engine import FeatureEngine
from domain.features.vector import BatchFeatures

T0 = 1_735_689_600_000  # 2025-01-01 00:00 UTC, on an hour boundary
HOUR = 60 * MINUTE_MS


@dataclass(frozen=True)
class StreamSpec:
    """How to generate a candle stream (every field has a realistic default)."""

    seed: int = 0
    count: int = 500
    start: int = T0
    price: float = 100.0
    tick: str = "0.01"
    sigma: float = 0.002
    gap_prob: float = 0.0
    max_gap: int = 90
    flat_prob: float = 0.0
    max_flat: int = 30
    taker_known_prob: float = 1.0


def make_stream(spec: StreamSpec) -> list[Candle]:
    """Candles drawn from ``spec`` (deterministic for a given spec)."""
    rng = np.random.default_rng(spec.seed)
    tick = Decimal(spec.tick)
    tick_f = float(tick)
    candles: list[Candle] = []
    t = spec.start
    level = max(round(spec.price / tick_f), 5)
    flat_left = 0
    while len(candles) < spec.count:
        if spec.gap_prob and rng.random() < spec.gap_prob:
            t += int(rng.integers(1, spec.max_gap + 1)) * MINUTE_MS
        if flat_left == 0 and spec.flat_prob and rng.random() < spec.flat_prob:
            flat_left = int(rng.integers(1, spec.max_flat + 1))
        open_ticks = level
        if flat_left:
            flat_left -= 1
            o = h = lo = c = open_ticks
            volume = Decimal(0)
        else:
            step = rng.normal(0.0, spec.sigma) * level
            c = max(1, round(level + step))
            wick_up = int(abs(rng.normal(0.0, spec.sigma / 2)) * level)
            wick_dn = int(abs(rng.normal(0.0, spec.sigma / 2)) * level)
            h = max(open_ticks, c) + wick_up
            lo = max(1, min(open_ticks, c) - wick_dn)
            o = open_ticks
            volume = Decimal(str(round(float(rng.lognormal(2.0, 1.0)), 3)))
        level = c
        taker: Decimal | None = None
        if rng.random() < spec.taker_known_prob:
            taker = (volume * Decimal(str(round(float(rng.uniform(0.1, 0.9)), 3)))).quantize(
                Decimal("0.001")
            )
        candles.append(
            Candle(
                open_time=t,
                open=o * tick,
                high=h * tick,
                low=lo * tick,
                close=c * tick,
                volume=volume,
                close_time=t + MINUTE_MS - 1,
                taker_buy_base=taker,
            )
        )
        t += MINUTE_MS
    return candles


def to_arrays(candles: list[Candle]) -> dict[str, NDArray[np.float64] | NDArray[np.int64]]:
    """The keyword arguments of ``compute_features`` for ``candles``."""
    return {
        "open_time": np.array([c.open_time for c in candles], dtype=np.int64),
        "open": np.array([float(c.open) for c in candles]),
        "high": np.array([float(c.high) for c in candles]),
        "low": np.array([float(c.low) for c in candles]),
        "close": np.array([float(c.close) for c in candles]),
        "volume": np.array([float(c.volume) for c in candles]),
        "taker_buy_base": np.array(
            [np.nan if c.taker_buy_base is None else float(c.taker_buy_base) for c in candles]
        ),
    }


@dataclass(frozen=True)
class Incremental:
    """The engine's outputs over a stream, stacked like ``BatchFeatures``."""

    raw: NDArray[np.float64]
    normalised: NDArray[np.float64]
    ready: NDArray[np.bool_]


def run_engine(candles: list[Candle], **params: int | float) -> Incremental:
    """Feed ``candles`` to a fresh engine; stack what it returns."""
    engine = FeatureEngine(**params)  # type: ignore[arg-type]
    vectors = [engine.update(c) for c in candles]
    return Incremental(
        raw=np.array([v.raw for v in vectors]).reshape(len(vectors), -1),
        normalised=np.array([v.normalised for v in vectors]).reshape(len(vectors), -1),
        ready=np.array([v.ready for v in vectors], dtype=np.bool_),
    )


def run_batch(candles: list[Candle], **params: int | float) -> BatchFeatures:
    """``compute_features`` over ``candles``."""
    return compute_features(**to_arrays(candles), **params)  # type: ignore[arg-type]


def read_candles(data: Path, relative: str, count: int, skip: int = 0) -> list[Candle]:
    """``count`` candles from a kline file or directory under the shared data directory."""
    return list(islice(KlineCsvReader(data / relative), skip, skip + count))


# --- checks of the helpers themselves ----------------------------------------------------


def test_generated_candles_are_valid_binance_candles() -> None:
    spec = StreamSpec(seed=3, count=400, gap_prob=0.05, flat_prob=0.05, taker_known_prob=0.5)
    candles = make_stream(spec)
    assert len(candles) == 400
    times = [c.open_time for c in candles]
    assert all(b > a for a, b in pairwise(times))
    assert all(t % MINUTE_MS == 0 for t in times)
    for c in candles:
        assert 0 < c.low <= min(c.open, c.close) <= max(c.open, c.close) <= c.high
        assert c.volume >= 0
        assert c.taker_buy_base is None or 0 <= c.taker_buy_base <= c.volume
    gaps = sum(1 for a, b in pairwise(times) if b - a > MINUTE_MS)
    assert gaps > 0
    assert any(c.volume == 0 and c.high == c.low for c in candles)
    assert any(c.taker_buy_base is None for c in candles)
    assert any(c.taker_buy_base is not None for c in candles)


def test_generated_stream_is_deterministic() -> None:
    spec = StreamSpec(seed=11, count=50, gap_prob=0.1)
    assert make_stream(spec) == make_stream(spec)
    assert make_stream(spec) != make_stream(StreamSpec(seed=12, count=50, gap_prob=0.1))
