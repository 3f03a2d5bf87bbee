"""Tests for the deterministic built-in market (adapters.market_data.generated)."""

from __future__ import annotations

import math
import statistics
from decimal import Decimal
from itertools import pairwise

import pytest

from adapters.market_data.generated import GeneratedMarket
from domain.candles import Candle


@pytest.fixture(scope="module")
def default_candles() -> list[Candle]:
    return list(GeneratedMarket())


def test_default_length_symbol_and_start(default_candles: list[Candle]) -> None:
    market = GeneratedMarket()
    assert market.symbol == "BTCUSDT"
    assert market.gaps == []
    assert len(default_candles) == 43_200
    assert default_candles[0].open_time == 1_704_067_200_000
    assert default_candles[0].open == Decimal("42000")


@pytest.mark.parametrize("minutes", [0, 1, 1_234])
def test_length_follows_minutes(minutes: int) -> None:
    assert len(list(GeneratedMarket(minutes=minutes))) == minutes


def test_same_seed_same_candles() -> None:
    assert list(GeneratedMarket(seed=3, minutes=2_000)) == list(
        GeneratedMarket(seed=3, minutes=2_000)
    )


def test_iterating_twice_replays_the_series() -> None:
    market = GeneratedMarket(seed=11, minutes=500)
    assert list(market) == list(market)


def test_different_seed_different_candles() -> None:
    assert list(GeneratedMarket(seed=1, minutes=100)) != list(GeneratedMarket(seed=2, minutes=100))


def test_prefix_is_stable_when_series_is_longer() -> None:
    # A longer run must not change the early candles (generation is purely sequential).
    short = list(GeneratedMarket(seed=5, minutes=300))
    long = list(GeneratedMarket(seed=5, minutes=600))
    assert long[:300] == short


def check_invariants(candles: list[Candle], tick: Decimal, start_open_time: int) -> None:
    previous: Candle | None = None
    for i, c in enumerate(candles):
        assert c.open_time == start_open_time + i * 60_000
        assert c.close_time == c.open_time + 59_999
        for price in (c.open, c.high, c.low, c.close):
            assert isinstance(price, Decimal)
            assert price > 0
            assert price % tick == 0
        assert c.high >= max(c.open, c.close)
        assert c.low <= min(c.open, c.close)
        assert isinstance(c.volume, Decimal)
        assert c.volume > 0
        assert c.volume.as_tuple().exponent == -5
        assert c.taker_buy_base is not None
        assert 0 <= c.taker_buy_base <= c.volume
        assert c.quote_volume is not None and c.quote_volume > 0
        assert c.taker_buy_quote is not None and c.taker_buy_quote <= c.quote_volume
        assert c.trades is not None and c.trades >= 1
        if previous is not None:
            assert c.open == previous.close
        previous = c


def test_invariants_on_all_default_candles(default_candles: list[Candle]) -> None:
    check_invariants(default_candles, Decimal("0.01"), 1_704_067_200_000)


def test_invariants_with_coarse_tick_and_cheap_asset() -> None:
    # Low price / coarse tick: the walk often rounds onto the floor of one tick.
    market = GeneratedMarket(
        symbol="DOGEUSDT",
        start_open_time=1_700_000_040_000,
        minutes=5_000,
        seed=99,
        start_price=Decimal("0.5"),
        tick=Decimal("0.25"),
    )
    candles = list(market)
    assert market.symbol == "DOGEUSDT"
    assert candles[0].open == Decimal("0.50")
    check_invariants(candles, Decimal("0.25"), 1_700_000_040_000)


def test_volatility_in_the_documented_band(default_candles: list[Candle]) -> None:
    closes = [float(c.close) for c in default_candles]
    returns = [math.log(b / a) for a, b in pairwise(closes)]
    sigma = statistics.pstdev(returns)
    assert 0.0004 < sigma < 0.002


def test_price_revisits_levels_so_a_grid_fills(default_candles: list[Candle]) -> None:
    # Count crossings of the median close: a ranging market crosses it many times.
    closes = [c.close for c in default_candles]
    median = sorted(closes)[len(closes) // 2]
    crossings = sum(1 for a, b in pairwise(closes) if (a < median) != (b < median))
    assert crossings >= 20


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"start_open_time": 1_704_067_200_001}, "minute boundary"),
        ({"minutes": -1}, "must not be negative"),
        ({"tick": Decimal(0)}, "tick must be positive"),
        ({"start_price": Decimal("0.001")}, "rounds to no tick"),
    ],
)
def test_invalid_parameters(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        GeneratedMarket(**kwargs)  # type: ignore[arg-type]
