"""Batch = incremental: ``compute_features`` reproduces ``FeatureEngine.update`` candle by candle.

Tolerances asserted: raw features ``|batch - incremental| <= 1e-12 + 1e-9 * |incremental|``,
normalised features ``<= 1e-6`` absolute, ready flags identical; on real data raw ``<= 1e-13``
and normalised ``<= 1e-9``. What is achieved is tighter still — the rolling statistics,
aggregation and normaliser run the same float operations in the same order; only ``np.log``
vs ``math.log`` (last bit) and the closed-form exponential smoothing (relative ~1e-15)
differ: raw ~1.6e-15 and normalised ~1e-11 on three months of FILUSDT, normalised ~2e-8 at
worst on generated streams whose frozen stretches put sds near the normaliser's 1e-8 floor.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.candles import MINUTE_MS
from domain.features.batch import compute_features
from domain.features.names import FEATURE_NAMES
from domain.features.vector import BatchFeatures
from tests.unit.test_features_support import (
    T0,
    Incremental,
    StreamSpec,
    make_stream,
    read_candles,
    run_batch,
    run_engine,
    to_arrays,
)

RAW_RTOL = 1e-9
RAW_ATOL = 1e-12
NORM_ATOL = 1e-6


def assert_agree(
    batch: BatchFeatures,
    inc: Incremental,
    raw_atol: float = RAW_ATOL,
    raw_rtol: float = RAW_RTOL,
    norm_atol: float = NORM_ATOL,
) -> None:
    assert batch.raw.shape == inc.raw.shape == (len(inc.ready), len(FEATURE_NAMES))
    assert np.isfinite(batch.raw).all() and np.isfinite(batch.normalised).all()
    raw_err = np.abs(batch.raw - inc.raw) - raw_rtol * np.abs(inc.raw)
    if raw_err.size:
        worst = np.unravel_index(int(np.argmax(raw_err)), raw_err.shape)
        assert raw_err[worst] <= raw_atol, (
            f"raw {FEATURE_NAMES[worst[1]]} at candle {worst[0]}: "
            f"batch {batch.raw[worst]!r} vs incremental {inc.raw[worst]!r}"
        )
        norm_err = np.abs(batch.normalised - inc.normalised)
        worst = np.unravel_index(int(np.argmax(norm_err)), norm_err.shape)
        assert norm_err[worst] <= norm_atol, (
            f"normalised {FEATURE_NAMES[worst[1]]} at candle {worst[0]}: "
            f"batch {batch.normalised[worst]!r} vs incremental {inc.normalised[worst]!r}"
        )
    assert np.array_equal(batch.ready, inc.ready)


streams = st.builds(
    StreamSpec,
    seed=st.integers(0, 2**32 - 1),
    count=st.integers(1, 2200),
    start=st.integers(0, 180).map(lambda m: T0 + m * MINUTE_MS),
    price=st.sampled_from([0.0123, 1.5, 100.0, 30_000.0]),
    tick=st.sampled_from(["0.00001", "0.001", "0.1"]),
    sigma=st.sampled_from([0.0005, 0.002, 0.01]),
    gap_prob=st.sampled_from([0.0, 0.002, 0.05]),
    flat_prob=st.sampled_from([0.0, 0.01, 0.1]),
    taker_known_prob=st.sampled_from([0.0, 0.5, 1.0]),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    spec=streams,
    window=st.integers(1, 300),
    clip=st.sampled_from([1.0, 3.0, 4.0, 10.0]),
    min_fraction=st.floats(0.0, 1.0),
)
def test_batch_equals_incremental_on_generated_streams(
    spec: StreamSpec, window: int, clip: float, min_fraction: float
) -> None:
    candles = make_stream(spec)
    min_samples = max(1, round(window * min_fraction))
    params = {"window": window, "clip": clip, "min_samples": min_samples}
    assert_agree(run_batch(candles, **params), run_engine(candles, **params))


def test_batch_equals_incremental_through_normalisation_with_gaps_and_flat_runs() -> None:
    # Long enough for every timeframe's lookback and a few full normalisation windows, with
    # every edge case in it: gaps (some longer than an hour), frozen zero-volume runs,
    # unknown taker volume.
    spec = StreamSpec(
        seed=2024,
        count=4000,
        start=T0 + 37 * MINUTE_MS,
        gap_prob=0.01,
        max_gap=130,
        flat_prob=0.02,
        taker_known_prob=0.6,
    )
    candles = make_stream(spec)
    params = {"window": 240, "clip": 4.0, "min_samples": 60}
    batch = run_batch(candles, **params)
    inc = run_engine(candles, **params)
    assert inc.ready.any() and not inc.ready.all()
    assert_agree(batch, inc)


@pytest.mark.parametrize(
    ("relative", "count"),
    [
        ("klines/futures-um/FILUSDT", 6 * 1440),  # taker-buy volume present
        ("klines/futures-um/BTCUSDT/BTCUSDT-1m-2025-01.csv.gz", 4 * 1440),  # OHLCV only
    ],
)
def test_batch_equals_incremental_on_real_data(
    shared_data: Path, relative: str, count: int
) -> None:
    candles = read_candles(shared_data, relative, count)
    batch = run_batch(candles)
    inc = run_engine(candles)
    assert inc.ready.sum() > 1440
    # Real data: far inside the general tolerance.
    assert_agree(batch, inc, raw_atol=1e-13, raw_rtol=0.0, norm_atol=1e-9)


def test_real_zero_volume_minutes_stay_finite_and_agree(shared_data: Path) -> None:
    # Futures BTCUSDT 2025-01-29 01:23-01:35 UTC: 13 consecutive zero-volume, flat minutes
    # (the file starts 2025-01-27 12:22, so they are inside the first 4,000 candles).
    candles = read_candles(shared_data, "klines/futures-um/BTCUSDT/BTCUSDT-1m-2025-01.csv.gz", 4000)
    zero = [i for i, c in enumerate(candles) if c.volume == 0 and c.high == c.low]
    assert len(zero) >= 13
    inc = run_engine(candles, min_samples=60)
    batch = run_batch(candles, min_samples=60)
    assert inc.ready[zero].all()
    assert np.isfinite(inc.raw).all() and np.isfinite(inc.normalised).all()
    col = FEATURE_NAMES.index("1m.taker_buy_ratio_20")
    assert np.all(inc.raw[:, col] == 0.5)  # this file has no taker-buy volume
    assert_agree(batch, inc, raw_atol=1e-13, raw_rtol=0.0, norm_atol=1e-9)


def test_empty_and_tiny_histories() -> None:
    empty = compute_features(*(np.empty(0) for _ in range(7)))
    assert empty.raw.shape == (0, len(FEATURE_NAMES))
    assert empty.normalised.shape == (0, len(FEATURE_NAMES))
    assert empty.ready.shape == (0,)
    for count in (1, 2, 5, 19, 20, 21, 26):
        candles = make_stream(StreamSpec(seed=count, count=count))
        assert_agree(run_batch(candles), run_engine(candles), raw_atol=1e-15)


def test_batch_rejects_what_the_engine_rejects() -> None:
    candles = make_stream(StreamSpec(count=30))
    base = to_arrays(candles)

    def with_(key: str, index: int, value: float) -> dict[str, np.ndarray]:
        arrays = {k: v.copy() for k, v in base.items()}
        arrays[key][index] = value
        return arrays

    cases = [
        with_("open_time", 7, base["open_time"][6]),  # duplicate
        with_("open_time", 7, base["open_time"][7] + 1),  # not minute-aligned
        with_("close", 3, 0.0),
        with_("high", 3, np.inf),
        with_("low", 3, np.nan),
        with_("volume", 3, -1.0),
        with_("taker_buy_base", 3, -1.0),
        with_("taker_buy_base", 3, np.inf),
    ]
    for arrays in cases:
        with pytest.raises(ValueError, match="breaks the input contract"):
            compute_features(**arrays)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one common length"):
        compute_features(**{**base, "close": base["close"][:-1]})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="min_samples"):
        compute_features(**base, window=10, min_samples=11)  # type: ignore[arg-type]


def test_unknown_taker_is_nan_in_batch_and_none_in_engine() -> None:
    candles = make_stream(StreamSpec(count=60, taker_known_prob=0.0))
    batch = run_batch(candles)
    col = FEATURE_NAMES.index("1m.taker_buy_ratio_20")
    assert np.all(batch.raw[:, col] == 0.5)
    assert_agree(batch, run_engine(candles))
