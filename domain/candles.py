"""The closed 1-minute candle: the only market event the decision core consumes."""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

MINUTE_MS = 60_000


class Candle(NamedTuple):
    """One closed kline, exactly as Binance reports it (prices and volumes as Decimal).

    A NamedTuple rather than a dataclass: a backtest creates one per bar, and tuple
    construction is the cheapest immutable record Python offers.

    Attributes:
        open_time: Candle open time, Unix epoch milliseconds UTC.
        open: First trade price.
        high: Highest trade price.
        low: Lowest trade price.
        close: Last trade price.
        volume: Base-asset volume.
        close_time: Candle close time in ms (open_time + 59,999 for 1m candles).
        quote_volume: Quote-asset volume, None when the source does not carry it.
        trades: Number of trades, None when unknown.
        taker_buy_base: Taker-buy base volume, None when unknown.
        taker_buy_quote: Taker-buy quote volume, None when unknown.
    """

    open_time: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    close_time: int
    quote_volume: Decimal | None = None
    trades: int | None = None
    taker_buy_base: Decimal | None = None
    taker_buy_quote: Decimal | None = None

    @property
    def is_bullish(self) -> bool:
        """Close at or above open; decides the intra-candle path O-L-H-C vs O-H-L-C."""
        return self.close >= self.open

    def path(self) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        """The documented intra-candle price path used for matching.

        A bullish candle is assumed to have dipped first (open, low, high, close), a bearish
        one to have spiked first (open, high, low, close). This is the common conservative
        convention: the adverse extreme is visited before the favourable one.
        """
        if self.is_bullish:
            return (self.open, self.low, self.high, self.close)
        return (self.open, self.high, self.low, self.close)
