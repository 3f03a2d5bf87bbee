"""FeatureEngine: no look-ahead, warm-up and ready rule, gaps, holding between closes, contract."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from domain.candles import MINUTE_MS, Candle
from domain.features.calculator import BARS_NEEDED, NEUTRAL
from domain.features.engine import FeatureEngine
from domain.features.names import FEATURE_INDEX, FEATURE_NAMES, TIMEFRAMES
from tests.unit.test_features_support import (
    T0,
    StreamSpec,
    make_stream,
    read_candles,
    run_batch,
    run_engine,
)

WIDTH = len(NEUTRAL)


def columns(label: str) -> slice:
    index = [name for name, _ in TIMEFRAMES].index(label)
    return slice(index * WIDTH, (index + 1) * WIDTH)


# --- no look-ahead ---------------------------------------------------------------------


def perturb_after(candles: list[Candle], t: int, seed: int) -> list[Candle]:
    """Same candles up to index t, different ones after (prices, volumes, taker, gaps)."""
    other = make_stream(
        StreamSpec(
            seed=seed,
            count=len(candles) - t - 1,
            start=candles[t].open_time + 3 * MINUTE_MS,  # also shifts the timing
            price=float(candles[t].close) * 1.3,
            sigma=0.02,
            taker_known_prob=0.5,
        )
    )
    return candles[: t + 1] + other


@pytest.mark.parametrize("cut", [100, 1580, 1777, 2500])
def test_changing_future_candles_leaves_every_feature_at_t_unchanged(cut: int) -> None:
    # Cuts land mid-bucket for 5m / 15m / 1h (1777 = 29h37m), so open higher-timeframe
    # bars are among what changes; window/min_samples small enough to be ready early.
    candles = make_stream(
        StreamSpec(seed=1, count=2600, start=T0 + 13 * MINUTE_MS, taker_known_prob=0.8)
    )
    changed = perturb_after(candles, cut, seed=99)
    params = {"window": 200, "min_samples": 50}
    for run in (run_engine, run_batch):
        a = run(candles, **params)
        b = run(changed, **params)
        assert np.array_equal(a.raw[: cut + 1], b.raw[: cut + 1])
        assert np.array_equal(a.normalised[: cut + 1], b.normalised[: cut + 1])
        assert np.array_equal(a.ready[: cut + 1], b.ready[: cut + 1])
        # The perturbation is real: something after the cut differs.
        assert not np.array_equal(a.raw[cut + 1 :], b.raw[cut + 1 :])


# --- warm-up and ready -----------------------------------------------------------------


def test_ready_exactly_after_warmup_candles_on_an_hour_aligned_stream() -> None:
    engine = FeatureEngine(window=120)
    assert engine.min_samples == 120 and engine.window == 120
    assert engine.warmup_candles == BARS_NEEDED * 60 + 120 - 1 == 1679
    candles = make_stream(StreamSpec(seed=4, count=1800, start=T0))
    vectors = [engine.update(c) for c in candles]
    ready = [v.ready for v in vectors]
    assert ready.index(True) == engine.warmup_candles - 1
    assert all(ready[engine.warmup_candles - 1 :])
    # The normaliser starts with the 26th hourly bar (candle 1559): zeros before, not after.
    assert all(not v.normalised.any() for v in vectors[: BARS_NEEDED * 60 - 1])
    assert vectors[BARS_NEEDED * 60 - 1].normalised[0] == 0.0  # single sample: z = 0
    assert any(v.normalised.any() for v in vectors[BARS_NEEDED * 60 : BARS_NEEDED * 60 + 5])


def test_default_warmup_is_two_days_of_candles() -> None:
    engine = FeatureEngine()
    assert (engine.window, engine.min_samples) == (1440, 1440)
    assert engine.warmup_candles == 2999


@pytest.mark.parametrize("offset", [1, 17, 59])
def test_mid_hour_start_is_ready_no_later_than_warmup_candles(offset: int) -> None:
    engine = FeatureEngine(window=60, min_samples=30)
    candles = make_stream(StreamSpec(seed=offset, count=1700, start=T0 + offset * MINUTE_MS))
    ready = [engine.update(c).ready for c in candles]
    first = ready.index(True)
    # The partial first hour closes early: exactly `offset` candles sooner.
    assert first == engine.warmup_candles - 1 - offset


def test_gaps_change_the_warmup_in_candles_not_in_hours() -> None:
    candles = make_stream(StreamSpec(seed=8, count=1800, start=T0))
    # 45 minutes missing inside the third hour: that hour still closes (as a 15-minute bar),
    # so the lookback completes at the same wall-clock time, 45 candles sooner.
    partial = candles[:150] + candles[195:]
    engine = FeatureEngine(window=60, min_samples=10)
    ready = [engine.update(c).ready for c in partial]
    assert ready.index(True) == engine.warmup_candles - 1 - 45
    # A wholly missing hour produces no hourly bar: one more hour of candles is needed, so
    # the count of candles is the gap-free one.
    whole = candles[:120] + candles[180:]
    engine = FeatureEngine(window=60, min_samples=10)
    ready = [engine.update(c).ready for c in whole]
    assert ready.index(True) == engine.warmup_candles - 1


# --- higher timeframes: hold between closes, gaps --------------------------------------


def test_higher_timeframe_features_change_only_when_their_bar_closes() -> None:
    candles = make_stream(StreamSpec(seed=6, count=700, start=T0 + 7 * MINUTE_MS))
    inc = run_engine(candles)
    for label, minutes in TIMEFRAMES[1:]:
        cols = columns(label)
        closes = {
            i for i, c in enumerate(candles) if (c.open_time // MINUTE_MS) % minutes == minutes - 1
        }
        for i in range(1, len(candles)):
            if i not in closes:
                assert np.array_equal(inc.raw[i, cols], inc.raw[i - 1, cols]), (label, i)
        # ... and they do move on closes once defined.
        moved = sum(not np.array_equal(inc.raw[i, cols], inc.raw[i - 1, cols]) for i in closes if i)
        assert moved >= len(closes) // 2


def test_a_gap_closes_the_open_bars_on_the_next_candle() -> None:
    # Minutes 0..52 of an hour, then nothing until minute 70: the 5m, 15m and 1h bars that
    # lacked their last minute close on the candle at minute 70, not before.
    candles = make_stream(StreamSpec(seed=3, count=200, start=T0))
    stream = candles[:53] + [
        c._replace(open_time=c.open_time + 17 * MINUTE_MS, close_time=c.close_time + 17 * MINUTE_MS)
        for c in candles[53:]
    ]
    engine = FeatureEngine()
    vectors = [engine.update(c) for c in stream]
    after_gap = 53  # index of the candle at minute 70
    assert stream[after_gap].open_time == T0 + 70 * MINUTE_MS
    for label in ("5m", "15m"):
        cols = columns(label)
        before = vectors[after_gap - 1].raw[cols]
        assert not np.array_equal(vectors[after_gap].raw[cols], before), label
    # The first hourly bar (53 minutes) closed on that candle too; a single bar defines no
    # feature yet, but the next hourly return is measured from its close (minute 52).
    hourly = [v.raw[columns("1h")] for v in vectors]
    assert hourly[after_gap][0] == 0.0
    second_hour_close = next(i for i, c in enumerate(stream) if c.open_time == T0 + 119 * MINUTE_MS)
    expected = np.log(float(stream[second_hour_close].close) / float(stream[52].close))
    assert hourly[second_hour_close][0] == pytest.approx(expected, rel=1e-12)
    assert np.isfinite(np.array([v.raw for v in vectors])).all()


def test_one_minute_return_spans_a_gap() -> None:
    candles = make_stream(StreamSpec(seed=12, count=30, start=T0))
    later = candles[10]._replace(
        open_time=T0 + 500 * MINUTE_MS, close_time=T0 + 500 * MINUTE_MS + 59_999
    )
    engine = FeatureEngine()
    for c in candles[:10]:
        engine.update(c)
    v = engine.update(later)
    assert v.raw[FEATURE_INDEX["1m.logret_1"]] == pytest.approx(
        np.log(float(later.close) / float(candles[9].close)), rel=1e-15
    )


# --- output shape and contract ---------------------------------------------------------


def test_vector_layout_and_fresh_arrays() -> None:
    engine = FeatureEngine()
    candles = make_stream(StreamSpec(seed=2, count=3))
    first = engine.update(candles[0])
    assert first.open_time == candles[0].open_time
    assert first.raw.dtype == np.float64 and first.raw.shape == (len(FEATURE_NAMES),)
    assert first.normalised.shape == (len(FEATURE_NAMES),) and not first.ready
    assert np.array_equal(first.raw, np.array(NEUTRAL * len(TIMEFRAMES)))
    kept = first.raw.copy()
    engine.update(candles[1])
    assert np.array_equal(first.raw, kept)


def bad(c: Candle, **changes: object) -> Candle:
    return c._replace(**changes)


def test_contract_violations_raise_and_leave_the_engine_unchanged() -> None:
    candles = make_stream(StreamSpec(seed=5, count=40))
    engine = FeatureEngine()
    reference = FeatureEngine()
    for c in candles[:20]:
        engine.update(c)
        reference.update(c)
    nxt = candles[20]
    violations = [
        candles[19],  # duplicate
        candles[10],  # backwards
        bad(nxt, open_time=nxt.open_time + 1),  # not minute-aligned
        bad(nxt, close=Decimal(0)),
        bad(nxt, low=Decimal("-1")),
        bad(nxt, high=Decimal("Infinity")),
        bad(nxt, close=Decimal("NaN")),
        bad(nxt, volume=Decimal("-0.001")),
        bad(nxt, volume=Decimal("1e31")),
        bad(nxt, taker_buy_base=Decimal("-1")),
    ]
    for candle in violations:
        with pytest.raises(ValueError):
            engine.update(candle)
    for c in candles[20:]:
        a, b = engine.update(c), reference.update(c)
        assert np.array_equal(a.raw, b.raw) and np.array_equal(a.normalised, b.normalised)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"window": 0}, "window"),
        ({"clip": 0.0}, "clip"),
        ({"clip": float("nan")}, "clip"),
        ({"window": 10, "min_samples": 11}, "min_samples"),
        ({"window": 10, "min_samples": 0}, "min_samples"),
    ],
)
def test_parameters_are_validated(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FeatureEngine(**kwargs)  # type: ignore[arg-type]


def test_extreme_but_valid_candles_stay_finite() -> None:
    base = make_stream(StreamSpec(seed=21, count=1700, sigma=0.05, flat_prob=0.05))
    wild = []
    for i, c in enumerate(base):
        if i % 97 == 0:  # occasional absurd jumps and volumes within the contract
            c = c._replace(
                high=c.high * 1000, close=c.high * 999, volume=Decimal("1e29"), taker_buy_base=None
            )
        wild.append(c)
    inc = run_engine(wild, window=30, min_samples=5)
    assert np.isfinite(inc.raw).all() and np.isfinite(inc.normalised).all()
    assert np.abs(inc.normalised).max() <= 4.0


def test_real_futures_data_is_finite_and_ready(shared_data: Path) -> None:
    candles = read_candles(shared_data, "klines/futures-um/FILUSDT", 3 * 1440)
    inc = run_engine(candles)
    assert np.isfinite(inc.raw).all() and np.isfinite(inc.normalised).all()
    first_ready = int(np.argmax(inc.ready))
    assert inc.ready[first_ready] and first_ready <= FeatureEngine().warmup_candles - 1
    # Real taker data: the 1m ratio moves around 0.5, not stuck on the fallback.
    ratio = inc.raw[first_ready:, FEATURE_INDEX["1m.taker_buy_ratio_20"]]
    assert 0.3 < ratio.mean() < 0.7 and ratio.std() > 0.01
    # Normalised features are informative: most columns vary.
    assert (inc.normalised[first_ready:].std(axis=0) > 0.1).sum() >= len(FEATURE_NAMES) - 2
