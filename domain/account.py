"""The bot's own projection of its account: cash, inventory/position, fees, funding, equity.

Built only from the fills and funding events the exchange reported, so it can be checked
against the exchange's books (and, later, rebuilt from the journal).
"""

from __future__ import annotations

from decimal import Decimal

from domain.enums import MarketType, Side
from domain.events import FundingPaid
from domain.instruments import Instrument
from domain.orders import Fill
from domain.positions import Position

ZERO = Decimal(0)


class AccountProjection:
    """Cash in the quote asset plus one position.

    Spot: ``cash`` is the quote balance and the position is the base holding. Commission in
    base (Binance's default on a BUY) leaves the holding at no proceeds, so it raises the
    average entry and shows up in unrealized/realized PnL; commission in quote reduces cash.
    Hence for spot: equity change = realized + unrealized - commissions paid in quote.
    Futures: ``cash`` is the wallet balance, which moves by realized PnL, commissions and
    funding: equity change = realized + unrealized - fees + funding.
    """

    __slots__ = (
        "base_balance",
        "cash",
        "fees_quote",
        "initial_equity",
        "instrument",
        "is_futures",
        "position",
    )

    def __init__(
        self,
        instrument: Instrument,
        cash: Decimal,
        base_balance: Decimal = ZERO,
        price: Decimal = ZERO,
    ) -> None:
        self.instrument = instrument
        self.is_futures = instrument.market is MarketType.USDM_FUTURES
        self.cash = cash
        self.base_balance = base_balance
        self.position = Position(instrument.symbol)
        if base_balance:
            self.position.apply_fill(Side.BUY, base_balance, price)
        self.fees_quote = ZERO
        self.initial_equity = cash + base_balance * price

    def apply_fill(self, fill: Fill) -> Decimal:
        """Book one of our fills; returns the realized PnL it produced (gross of fees)."""
        inst = self.instrument
        fee_quote = fill.fee if fill.fee_asset == inst.quote_asset else fill.fee * fill.price
        if fill.fee_asset not in (inst.quote_asset, inst.base_asset) and fill.fee:
            raise ValueError(
                f"fee asset {fill.fee_asset} is neither base nor quote of {inst.symbol}"
            )
        self.fees_quote += fee_quote
        position = self.position
        if self.is_futures:
            realized = position.apply_fill(fill.side, fill.quantity, fill.price, fee_quote)
            self.cash += realized - fill.fee
            return realized
        notional = fill.quantity * fill.price
        base_fee = fill.fee if fill.fee_asset == inst.base_asset else ZERO
        quote_fee = fill.fee if fill.fee_asset == inst.quote_asset else ZERO
        if fill.side is Side.BUY:
            self.cash -= notional + quote_fee
            self.base_balance += fill.quantity - base_fee
        else:
            self.cash += notional - quote_fee
            self.base_balance -= fill.quantity + base_fee
        realized = position.apply_fill(fill.side, fill.quantity, fill.price, fee_quote)
        if base_fee:
            position.consume(base_fee)
        return realized

    def apply_funding(self, event: FundingPaid) -> None:
        """Book a funding settlement (futures)."""
        self.position.funding += event.amount
        self.cash += event.amount

    def equity(self, mark_price: Decimal) -> Decimal:
        """Account value in the quote asset at ``mark_price`` (called every candle)."""
        if self.is_futures:
            position = self.position
            quantity = position.quantity
            if not quantity:
                return self.cash
            if quantity > ZERO:
                return self.cash + quantity * mark_price - position.cost
            return self.cash + position.cost + quantity * mark_price
        return self.cash + self.base_balance * mark_price
