"""Each feature against a straightforward reference computation, plus the smoothing helpers.

The reference implementation below is deliberately naive: textbook formulas, one window at a
time, ``statistics`` for means and deviations, Wilder's classic ``(prev * (n-1) + x) / n``
form and RSI as ``100 - 100 / (1 + RS)``. The engine computes the same quantities with
incremental, differently-ordered float arithmetic, so agreement is to a tight tolerance,
not to the bit.
"""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.features.calculator import (
    BARS_NEEDED,
    FIRST_DEFINED,
    NEUTRAL,
    TimeframeFeatures,
    timeframe_features,
)
from domain.features.indicators import (
    ema_weights,
    linear_recursion,
    seeded_smoothing,
    wilder_weights,
)
from domain.features.names import BASE_FEATURES
from tests.unit.test_features_support import StreamSpec, make_stream

Bars = list[tuple[float, float, float, float, float]]


def bars_from(spec: StreamSpec) -> Bars:
    out = []
    for c in make_stream(spec):
        v = float(c.volume)
        tb = 0.5 * v if c.taker_buy_base is None else float(c.taker_buy_base)
        out.append((float(c.high), float(c.low), float(c.close), v, tb))
    return out


def reference_ema(closes: list[float], n: int) -> list[float | None]:
    out: list[float | None] = [None] * len(closes)
    if len(closes) < n:
        return out
    value = statistics.fmean(closes[:n])
    out[n - 1] = value
    for i in range(n, len(closes)):
        value = value + 2.0 / (n + 1) * (closes[i] - value)
        out[i] = value
    return out


def reference_wilder(xs: list[float], n: int, first: int) -> list[float | None]:
    """Wilder average of xs[first:], seeded with the mean of its first n values."""
    out: list[float | None] = [None] * len(xs)
    if len(xs) < first + n:
        return out
    value = statistics.fmean(xs[first : first + n])
    out[first + n - 1] = value
    for i in range(first + n, len(xs)):
        value = (value * (n - 1) + xs[i]) / n
        out[i] = value
    return out


def reference_features(bars: Bars) -> list[list[float]]:
    highs = [b[0] for b in bars]
    lows = [b[1] for b in bars]
    closes = [b[2] for b in bars]
    volumes = [b[3] for b in bars]
    takers = [b[4] for b in bars]
    n = len(bars)
    rets = [0.0] + [math.log(closes[i] / closes[i - 1]) for i in range(1, n)]
    trs = [0.0] + [
        max(highs[i] - lows[i], abs(highs[i] - closes[i - 1]), abs(lows[i] - closes[i - 1]))
        for i in range(1, n)
    ]
    gains = [0.0] + [max(closes[i] - closes[i - 1], 0.0) for i in range(1, n)]
    losses = [0.0] + [max(closes[i - 1] - closes[i], 0.0) for i in range(1, n)]
    atr = reference_wilder(trs, 14, 1)
    avg_gain = reference_wilder(gains, 14, 1)
    avg_loss = reference_wilder(losses, 14, 1)
    ema12 = reference_ema(closes, 12)
    ema20 = reference_ema(closes, 20)
    ema26 = reference_ema(closes, 26)
    rows = []
    for t in range(n):
        f = list(NEUTRAL)
        c = closes[t]
        if t >= 1:
            f[0] = math.log(c / closes[t - 1])
        if t >= 5:
            f[1] = math.log(c / closes[t - 5])
        if t >= 20:
            f[2] = math.log(c / closes[t - 20])
            f[3] = statistics.pstdev(rets[t - 19 : t + 1])
        if t >= 14:
            f[4] = atr[t] / c  # type: ignore[operator]
            g, lo = avg_gain[t], avg_loss[t]
            assert g is not None and lo is not None
            if g + lo > 0:
                rsi = 100.0 if lo == 0 else 100.0 - 100.0 / (1.0 + g / lo)
                f[7] = (rsi - 50.0) / 50.0
        if t >= 20:
            f[5] = math.log(ema20[t] / ema20[t - 1])  # type: ignore[operator]
        if t >= 25:
            f[6] = math.log(ema12[t] / ema26[t])  # type: ignore[operator]
        if t >= 19:
            w = slice(t - 19, t + 1)
            mean = statistics.fmean(closes[w])
            sd = statistics.pstdev(closes[w])
            if sd > 0:
                f[8] = (c - (mean - 2 * sd)) / (4 * sd)
            hh, ll = max(highs[w]), min(lows[w])
            if hh > ll:
                f[9] = (c - ll) / (hh - ll)
            vsd = statistics.pstdev(volumes[w])
            if vsd > 0:
                f[10] = (volumes[t] - statistics.fmean(volumes[w])) / vsd
            if sum(volumes[w]) > 0:
                f[11] = sum(takers[w]) / sum(volumes[w])
        rows.append(f)
    return rows


def incremental(bars: Bars) -> np.ndarray:
    calc = TimeframeFeatures()
    return np.array([calc.update(*b) for b in bars]).reshape(len(bars), len(BASE_FEATURES))


def batch(bars: Bars) -> np.ndarray:
    cols = np.array(bars, dtype=np.float64).reshape(len(bars), 5).T
    return timeframe_features(*cols)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    count=st.integers(1, 160),
    price=st.sampled_from([0.05, 3.0, 250.0, 60_000.0]),
    sigma=st.sampled_from([0.0005, 0.003, 0.02]),
    flat_prob=st.sampled_from([0.0, 0.05]),
    taker_known_prob=st.sampled_from([0.0, 0.7, 1.0]),
)
def test_every_feature_matches_the_reference(
    seed: int, count: int, price: float, sigma: float, flat_prob: float, taker_known_prob: float
) -> None:
    bars = bars_from(
        StreamSpec(
            seed=seed,
            count=count,
            price=price,
            tick="0.0001",
            sigma=sigma,
            flat_prob=flat_prob,
            taker_known_prob=taker_known_prob,
        )
    )
    expected = np.array(reference_features(bars)).reshape(count, len(BASE_FEATURES))
    for got in (incremental(bars), batch(bars)):
        for f, name in enumerate(BASE_FEATURES):
            np.testing.assert_allclose(
                got[:, f], expected[:, f], rtol=1e-8, atol=1e-11, err_msg=name
            )


def test_features_hold_their_neutral_value_until_their_first_bar() -> None:
    bars = bars_from(StreamSpec(seed=5, count=60, sigma=0.01))
    got = incremental(bars)
    for f, name in enumerate(BASE_FEATURES):
        first = FIRST_DEFINED[f]
        assert np.all(got[:first, f] == NEUTRAL[f]), name
        assert got[first, f] != NEUTRAL[f], name
    assert max(FIRST_DEFINED) + 1 == BARS_NEEDED == 26


def test_flat_zero_volume_market_gives_the_documented_fallbacks() -> None:
    bars: Bars = [(10.0, 10.0, 10.0, 0.0, 0.0)] * 40
    for got in (incremental(bars), batch(bars)):
        last = dict(zip(BASE_FEATURES, got[-1], strict=True))
        # EMAs of a constant are constant up to rounding (decay * y + alpha * x).
        assert last.pop("ema_slope_20") == pytest.approx(0.0, abs=1e-15)
        assert last.pop("ema_spread_12_26") == pytest.approx(0.0, abs=1e-15)
        assert last == {
            "logret_1": 0.0,
            "logret_5": 0.0,
            "logret_20": 0.0,
            "rvol_20": 0.0,
            "atr_14": 0.0,
            "rsi_14": 0.0,  # no gain, no loss
            "bb_pctb_20": 0.5,  # sd == 0
            "range_pos_20": 0.5,  # HH == LL
            "volume_z_20": 0.0,  # sd == 0
            "taker_buy_ratio_20": 0.5,  # no volume
        }


def test_flat_run_after_trading_keeps_everything_finite_and_falls_back() -> None:
    bars = bars_from(StreamSpec(seed=9, count=50, sigma=0.01))
    _, _, close, _, _ = bars[-1]
    bars += [(close, close, close, 0.0, 0.0)] * 30
    got = incremental(bars)
    assert np.isfinite(got).all()
    np.testing.assert_allclose(batch(bars), got, rtol=1e-9, atol=1e-12)
    last = dict(zip(BASE_FEATURES, got[-1], strict=True))
    assert last["bb_pctb_20"] == 0.5 and last["range_pos_20"] == 0.5
    assert last["volume_z_20"] == 0.0 and last["taker_buy_ratio_20"] == 0.5
    assert last["rvol_20"] == 0.0 and last["logret_20"] == 0.0
    assert last["atr_14"] > 0.0  # Wilder ATR decays, never snaps to zero


def test_rsi_saturates_on_one_way_markets() -> None:
    up: Bars = [(100.0 + i + 0.5, 100.0 + i - 0.5, 100.0 + i, 1.0, 0.5) for i in range(30)]
    down: Bars = [(200.0 - i + 0.5, 200.0 - i - 0.5, 200.0 - i, 1.0, 0.5) for i in range(30)]
    assert incremental(up)[-1][BASE_FEATURES.index("rsi_14")] == 1.0
    assert incremental(down)[-1][BASE_FEATURES.index("rsi_14")] == -1.0


def test_taker_ratio_is_exactly_half_when_taker_volume_is_unknown() -> None:
    bars = bars_from(StreamSpec(seed=2, count=80, taker_known_prob=0.0))
    col = BASE_FEATURES.index("taker_buy_ratio_20")
    assert np.all(incremental(bars)[:, col] == 0.5)
    assert np.all(batch(bars)[:, col] == 0.5)


def test_smoothing_weights() -> None:
    assert ema_weights(20) == (2.0 / 21, 19.0 / 21)
    assert wilder_weights(14) == (1.0 / 14, 13.0 / 14)


@pytest.mark.parametrize("period", [2, 12, 14, 26, 200])
@pytest.mark.parametrize("length", [0, 1, 7, 300, 5000])
def test_linear_recursion_matches_the_step_by_step_recursion(period: int, length: int) -> None:
    rng = np.random.default_rng(period * 10_000 + length)
    x = rng.lognormal(3.0, 1.0, size=length)
    x[rng.random(length) < 0.2] = 0.0  # RSI gains/losses are often exactly zero
    for alpha, decay in (ema_weights(period), wilder_weights(period)):
        y0 = 17.0
        expected = []
        y = y0
        for value in x.tolist():
            y = decay * y + alpha * value
            expected.append(y)
        got = linear_recursion(x, alpha, decay, y0)
        assert got.shape == (length,)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0.0)


def test_seeded_smoothing_seed_and_undefined_prefix() -> None:
    x = np.arange(1.0, 31.0)
    alpha, decay = ema_weights(10)
    y = seeded_smoothing(x, 10, alpha, decay)
    assert np.all(y[:9] == 0.0)
    assert y[9] == np.mean(x[:10])
    assert y[10] == pytest.approx(decay * y[9] + alpha * x[10], rel=1e-15)
    assert np.all(seeded_smoothing(x[:5], 10, alpha, decay) == 0.0)
