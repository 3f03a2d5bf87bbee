"""The bot's own projection of its account: cash, inventory/position, fees, funding, equity.

Built only from the fills and funding events the exchange reported, so it can be checked
against the exchange's books (and, later, rebuilt from the journal).
"""

from __future__ import annotations

from decimal import Decimal

from domain.enums import MarketType, Side
from domain.errors import DomainError
from domain.events import FundingPaid
from domain.instruments import Instrument
from domain.orders import Fill
from domain.positions import Position

ZERO = Decimal(0)


class MissingFeeValue(DomainError):
    """A commission in a third asset (e.g. BNB) came without its quote value.

    Only the exchange adapter knows what the third asset was worth at trade time, so it must
    set :attr:`~domain.orders.Fill.fee_quote`; the projection refuses to guess.

    Attributes:
        asset: The commission asset.
        trade_id: The fill's exchange trade id.
    """

    def __init__(self, asset: str, trade_id: int, symbol: str) -> None:
        super().__init__(
            f"trade {trade_id} on {symbol}: commission in {asset}, which is neither base nor "
            "quote, has no quote value (Fill.fee_quote)"
        )
        self.asset = asset
        self.trade_id = trade_id


class AccountProjection:
    """Cash in the quote asset plus one position, with every commission accounted for.

    PnL follows Binance futures' definitions: realized PnL by average cost, gross of fees
    (Binance's ``realizedPnl``/``rp``); unrealized PnL of the open quantity at the mark price
    (``unRealizedProfit``/``up``); funding booked separately (:meth:`apply_funding`).

    Commissions. A fill's commission is booked in the asset it was charged in
    (:attr:`fees_by_asset`, every asset) and at its quote value at trade time
    (:attr:`fees_quote`, the sum): the fee itself for a quote-asset commission, fee x fill
    price for a base-asset one, and :attr:`~domain.orders.Fill.fee_quote` for any other asset
    (BNB), which :exc:`MissingFeeValue` enforces. A third-asset commission comes out of that
    asset's own balance, which this projection does not hold: it changes neither ``cash`` nor
    the base holding.

    Identities (``Q``: quote-asset commissions; ``B``: base-asset commissions):

    Spot (``cash`` is the quote balance, the position is the base holding)::

        cash         = initial cash - sum(buy notional) + sum(sell notional) - Q
        base_balance = initial base + sum(buy qty) - sum(sell qty) - B
        equity       = cash + base_balance x mark
        equity - initial_equity = realized + unrealized - Q

    A base-asset commission leaves the holding at no proceeds (its cost stays with the units
    left), so it appears in realized/unrealized PnL rather than as a separate charge.

    USD-M futures (``cash`` is the wallet balance)::

        cash   = initial cash + realized - Q + funding
        equity = cash + unrealized            (Binance's margin balance)

    A BNB-paid commission does not reduce the USDT wallet: Binance takes it from the BNB
    balance, which is reduced separately (by ``fees_by_asset["BNB"]``).

    In both markets, when no base-asset commission was charged (never on futures), the result
    net of every commission, third-asset ones included, is
    ``realized + unrealized + funding - fees_quote``.
    """

    __slots__ = (
        "base_balance",
        "cash",
        "fees_by_asset",
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
        self.fees_by_asset: dict[str, Decimal] = {}
        self.initial_equity = cash + base_balance * price

    def apply_fill(self, fill: Fill) -> Decimal:
        """Book one of our fills; returns the realized PnL it produced (gross of fees).

        Raises:
            MissingFeeValue: The commission is in a third asset and ``fill.fee_quote`` is
                ``None`` (nothing is booked).
        """
        inst = self.instrument
        fee = fill.fee
        asset = fill.fee_asset
        quote_fee = base_fee = ZERO
        if asset == inst.quote_asset:
            quote_fee = fee_value = fee
        elif asset == inst.base_asset:
            base_fee = fee
            fee_value = fee * fill.price
        elif fill.fee_quote is not None:
            fee_value = fill.fee_quote
        elif not fee:
            fee_value = ZERO  # a zero commission needs no price (Binance reports n=0, N=null)
        else:
            raise MissingFeeValue(asset, fill.trade_id, inst.symbol)
        if fee:
            fees = self.fees_by_asset
            fees[asset] = fees.get(asset, ZERO) + fee
        self.fees_quote += fee_value
        position = self.position
        realized = position.apply_fill(fill.side, fill.quantity, fill.price, fee_value)
        if self.is_futures:
            if fill.realized_pnl is not None and fill.realized_pnl != realized:
                # The exchange booked the trade in execution order: its figure is what the
                # wallet moved by (our average cost saw the fills in arrival order).
                position.realized_pnl += fill.realized_pnl - realized
                realized = fill.realized_pnl
            # Only a quote-asset (margin-asset) commission comes out of the wallet.
            self.cash += realized - quote_fee
            return realized
        notional = fill.quantity * fill.price
        if fill.side is Side.BUY:
            self.cash -= notional + quote_fee
            self.base_balance += fill.quantity - base_fee
        else:
            self.cash += notional - quote_fee
            self.base_balance -= fill.quantity + base_fee
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
