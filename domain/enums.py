"""Venue-neutral enumerations shared by orders, instruments and the simulated exchange.

Values equal Binance's wire strings so adapters can map them with a lookup instead of a
translation table, but nothing here knows about HTTP or JSON.
"""

from __future__ import annotations

from enum import StrEnum


class Side(StrEnum):
    """Order side."""

    BUY = "BUY"
    SELL = "SELL"

    @property
    def opposite(self) -> Side:
        """The other side; a take-profit for a BUY fill is a SELL."""
        return Side.SELL if self is Side.BUY else Side.BUY

    @property
    def sign(self) -> int:
        """+1 for BUY, -1 for SELL: the direction a fill moves a net position."""
        return 1 if self is Side.BUY else -1


class OrderType(StrEnum):
    """Order types the bot uses (a subset of Binance's)."""

    LIMIT = "LIMIT"
    MARKET = "MARKET"
    STOP_MARKET = "STOP_MARKET"
    TAKE_PROFIT_MARKET = "TAKE_PROFIT_MARKET"

    @property
    def is_conditional(self) -> bool:
        """Whether the order waits for a trigger price before it becomes a market order."""
        return self in (OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET)


class TimeInForce(StrEnum):
    """Time in force. GTX is Binance futures' post-only; spot expresses it as LIMIT_MAKER."""

    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"
    GTX = "GTX"


class MarketType(StrEnum):
    """Which Binance market an instrument trades on; it changes filter and fee semantics."""

    SPOT = "SPOT"
    USDM_FUTURES = "USDM_FUTURES"

    @property
    def is_futures(self) -> bool:
        """Whether positions are margined contracts rather than owned assets."""
        return self is MarketType.USDM_FUTURES


class Liquidity(StrEnum):
    """Whether a fill added (MAKER) or removed (TAKER) liquidity; it decides the fee rate."""

    MAKER = "MAKER"
    TAKER = "TAKER"
