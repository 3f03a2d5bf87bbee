"""How the emulator prints numbers in Binance payloads: instrument places and money.

Spot prints prices and quantities with the places of its filters (8 for BTCUSDT), futures
with the tick/step places (``"50000.00"``, ``"0.001"``) and quote sums with both combined;
balances, commissions, PnL and mark prices always with 8 decimals.
"""

from __future__ import annotations

from decimal import Decimal

from adapters.simulated.emulator.wire import fmt, places_of
from domain.instruments import Instrument

ZERO = Decimal(0)
MONEY_PLACES = 8  # balances, commissions, PnL, mark prices


class Places:
    """How many decimals an instrument's numbers are printed with."""

    __slots__ = ("price", "qty", "quote")

    def __init__(self, instrument: Instrument) -> None:
        self.price = places_of(instrument.price_filter.tick_size)
        self.qty = places_of(instrument.lot_size.step_size)
        # Spot prints quote amounts with the quote precision (the price places for USDT
        # pairs); futures with price + quantity places, enough for any exact product.
        self.quote = self.price + self.qty if instrument.market.is_futures else self.price


def money(value: Decimal) -> str:
    """Balances, margins and PnL: 8 decimals."""
    return fmt(value, MONEY_PLACES)
