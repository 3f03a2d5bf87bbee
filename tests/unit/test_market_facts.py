"""Market facts: the O(1) rolling figures equal a from-scratch computation on every candle."""

from __future__ import annotations

import itertools
import math
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.candles import Candle
from domain.market_facts import MarketFacts, MarketFactsSettings


def candle(t: int, high: str, low: str, close: str) -> Candle:
    h, lo, c = Decimal(high), Decimal(low), Decimal(close)
    return Candle(t * 60_000, c, h, lo, c, Decimal(1), t * 60_000 + 59_999)


def naive_atr(candles: list[Candle], window: int) -> Decimal | None:
    if len(candles) < window:
        return None
    ranges = []
    for i, c in enumerate(candles):
        tr = c.high - c.low
        if i:
            prev = candles[i - 1].close
            tr = max(tr, abs(c.high - prev), abs(c.low - prev))
        ranges.append(tr)
    return sum(ranges[-window:], Decimal(0)) / window


def naive_volatility(candles: list[Candle], window: int) -> float | None:
    returns = [math.log(float(b.close) / float(a.close)) for a, b in itertools.pairwise(candles)]
    if len(returns) < window:
        return None
    tail = returns[-window:]
    return math.sqrt(sum(r * r for r in tail) / window) * float(candles[-1].close)


prices = st.integers(min_value=1_000, max_value=200_000)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(prices, prices, prices), min_size=1, max_size=80))
def test_rolling_figures_match_a_recomputation(rows: list[tuple[int, int, int]]) -> None:
    facts = MarketFacts(MarketFactsSettings(atr_windows=(1, 5, 14), volatility_windows=(3, 20)))
    seen: list[Candle] = []
    for t, (a, b, c) in enumerate(rows):
        low, mid, high = sorted((a, b, c))
        bar = candle(t, f"{high}.5", f"{low}.25", f"{mid}")
        facts.update(bar)
        seen.append(bar)
        for w in (1, 5, 14):
            assert facts.atr(w) == naive_atr(seen, w)
        for w in (3, 20):
            expected = naive_volatility(seen, w)
            got = facts.volatility(w)
            if expected is None:
                assert got is None
            else:
                assert got is not None
                assert float(got) == pytest.approx(expected, rel=1e-9, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(prices, prices, prices), min_size=1, max_size=60),
    st.integers(min_value=1, max_value=40),
)
def test_reading_rarely_gives_the_same_figures(
    rows: list[tuple[int, int, int]], every: int
) -> None:
    """Folding is deferred to reads: reading every n-th candle (n beyond the longest window
    too) must give what reading every candle gives."""
    config = MarketFactsSettings(atr_windows=(3, 9), volatility_windows=(4,))
    eager, lazy = MarketFacts(config), MarketFacts(config)
    for t, (a, b, c) in enumerate(rows):
        low, mid, high = sorted((a, b, c))
        bar = candle(t, f"{high}", f"{low}", f"{mid}")
        eager.update(bar)
        lazy.update(bar)
        now = (eager.atr(3), eager.atr(9), eager.volatility(4))
        if t % every == 0 or t == len(rows) - 1:
            assert lazy.atr(3) == now[0]
            assert lazy.atr(9) == now[1]
            got, want = lazy.volatility(4), now[2]
            assert (got is None) == (want is None)
            if got is not None and want is not None:
                assert float(got) == pytest.approx(float(want), rel=1e-9, abs=1e-9)


def test_atr_is_in_price_units_and_counts_the_gap_from_the_previous_close() -> None:
    facts = MarketFacts(MarketFactsSettings(atr_windows=(2,), volatility_windows=(1,)))
    facts.update(candle(0, "101", "99", "100"))
    assert facts.atr(2) is None  # one candle: the window is not full
    facts.update(candle(1, "112", "110", "111"))  # gapped up: true range 112 - 100 = 12
    assert facts.atr(2) == Decimal(7)  # (2 + 12) / 2
    assert facts.volatility(1) == Decimal(f"{abs(math.log(111 / 100)) * 111:.12g}")


def test_unknown_window_and_bad_settings_are_refused() -> None:
    facts = MarketFacts()
    with pytest.raises(KeyError):
        facts.atr(7)
    with pytest.raises(ValueError, match="windows must be >= 1"):
        MarketFactsSettings(atr_windows=(0,))


def test_a_replayed_candle_is_not_counted_twice() -> None:
    once = MarketFacts(MarketFactsSettings(atr_windows=(2,), volatility_windows=(2,)))
    twice = MarketFacts(MarketFactsSettings(atr_windows=(2,), volatility_windows=(2,)))
    bars = [
        candle(0, "101", "99", "100"),
        candle(1, "104", "100", "103"),
        candle(2, "105", "98", "99"),
    ]
    for bar in bars:
        once.update(bar)
        twice.update(bar)
        twice.atr(2)
        twice.update(bar)  # the same candle again (a replay): not new, left out
    assert twice.atr(2) == once.atr(2) == Decimal("5.5")  # (4 + 7) / 2
    assert twice.volatility(2) == once.volatility(2)


def test_warm_up_fills_the_windows_like_live_candles() -> None:
    bars = [candle(t, f"{100 + t}", f"{98 + t}", f"{99 + t}") for t in range(30)]
    warmed = MarketFacts(MarketFactsSettings(atr_windows=(14,), volatility_windows=(20,)))
    warmed.warm_up(bars[:-1])
    warmed.update(bars[-1])
    live = MarketFacts(MarketFactsSettings(atr_windows=(14,), volatility_windows=(20,)))
    for bar in bars:
        live.update(bar)
        live.atr(14)
    assert warmed.atr(14) == live.atr(14) == naive_atr(bars, 14)
    assert warmed.volatility(20) == live.volatility(20)
