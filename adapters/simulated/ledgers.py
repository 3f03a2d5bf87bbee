"""The simulated exchange's own accounting: spot balances, futures wallet, margin and fees.

The exchange keeps its books independently of the bot (which keeps a projection of its own),
so a backtest can check one against the other.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from adapters.simulated.book import RestingBook, SimOrder
from adapters.simulated.rejections import Rejection, insufficient_funds, reduce_only_rejected
from application.ports.exchange import AccountSnapshot, PositionSnapshot
from domain.balances import Balances
from domain.enums import Liquidity, MarketType, OrderType, Side
from domain.instruments import Instrument
from domain.positions import Position

ZERO = Decimal(0)
#: Spot balances, and so the commissions that move them, carry 8 decimals: Binance reports
#: ``commission`` / ``n`` with 8 and moves the balance by exactly that amount.
COMMISSION_UNIT = Decimal("1e-8")


class SpotLedger:
    """Spot balances. Limit and conditional orders lock funds at placement, as Binance does.

    Commission is charged in the asset received (base on a BUY, quote on a SELL), rounded to
    the balance's 8 decimals: the amount booked is the amount reported, to the last digit.
    """

    def __init__(
        self, instrument: Instrument, balances: dict[str, Decimal], maker: Decimal, taker: Decimal
    ) -> None:
        self.instrument = instrument
        self.balances = Balances(balances)
        self.maker = maker
        self.taker = taker

    def reserve(
        self, order: SimOrder, reference: Decimal | None, book: RestingBook, force: bool = False
    ) -> Rejection | None:
        """Lock what the order's remainder may spend; refuse when the free balance is short.

        ``force`` restores a lock that was just released (a failed modify) without checks.
        """
        inst = self.instrument
        remaining = order.remaining
        if order.order_type is OrderType.MARKET:
            return (
                None
                if self.can_settle(order, remaining, reference or ZERO)
                else (insufficient_funds(MarketType.SPOT))
            )
        if order.side is Side.BUY:
            asset, amount = inst.quote_asset, (order.price or order.stop_price or ZERO) * remaining
        else:
            asset, amount = inst.base_asset, remaining
        if amount > self.balances.free(asset) and not force:
            return insufficient_funds(MarketType.SPOT)
        self.balances.lock(asset, amount)
        order.locked = amount
        return None

    def release(self, order: SimOrder) -> None:
        """Return the lock of an order's unfilled remainder."""
        if order.locked:
            asset = (
                self.instrument.quote_asset
                if order.side is Side.BUY
                else self.instrument.base_asset
            )
            self.balances.unlock(asset, order.locked)
            order.locked = ZERO

    def can_settle(self, order: SimOrder, quantity: Decimal, price: Decimal) -> bool:
        """Whether free plus this order's releasable lock covers a fill at ``price``."""
        inst = self.instrument
        if order.side is Side.BUY:
            return price * quantity <= self.balances.free(inst.quote_asset) + self._releasable(
                order, quantity
            )
        return quantity <= self.balances.free(inst.base_asset) + self._releasable(order, quantity)

    def _releasable(self, order: SimOrder, quantity: Decimal) -> Decimal:
        if not order.locked:
            return ZERO
        if order.side is Side.BUY:
            per_unit = order.price or order.stop_price or ZERO
            return min(order.locked, per_unit * quantity)
        return min(order.locked, quantity)

    def settle(
        self, order: SimOrder, quantity: Decimal, price: Decimal, liquidity: Liquidity
    ) -> tuple[Decimal, str, Decimal]:
        """Book a fill; returns ``(fee, fee_asset, fee value in quote)``."""
        inst = self.instrument
        rate = self.maker if liquidity is Liquidity.MAKER else self.taker
        release = self._releasable(order, quantity)
        if release:
            asset = inst.quote_asset if order.side is Side.BUY else inst.base_asset
            self.balances.unlock(asset, release)
            order.locked -= release
        notional = price * quantity
        if order.side is Side.BUY:
            fee = (quantity * rate).quantize(COMMISSION_UNIT, ROUND_HALF_EVEN)
            self.balances.debit(inst.quote_asset, notional)
            self.balances.credit(inst.base_asset, quantity - fee)
            return fee, inst.base_asset, fee * price
        fee = (notional * rate).quantize(COMMISSION_UNIT, ROUND_HALF_EVEN)
        self.balances.debit(inst.base_asset, quantity)
        self.balances.credit(inst.quote_asset, notional - fee)
        return fee, inst.quote_asset, fee

    def funding(self, rate: Decimal, mark: Decimal) -> Decimal:
        """Spot has no funding."""
        return ZERO

    def equity(self, mark: Decimal) -> Decimal:
        """Quote value of all balances at ``mark``."""
        inst = self.instrument
        return self.balances.total(inst.quote_asset) + self.balances.total(inst.base_asset) * mark

    def snapshot(self, mark: Decimal) -> AccountSnapshot:
        """Balances as ``{asset: (free, locked)}``."""
        return AccountSnapshot(balances=self.balances.snapshot())


class FuturesLedger:
    """USD-M one-way account: wallet balance in the quote asset, one net position.

    The margin check uses worst-case gross exposure: the position plus every open order on
    the same side as if filled, valued at the higher of mark and the orders' prices, divided
    by leverage, must not exceed equity (wallet + unrealized PnL). An order that does not
    raise that requirement (one that reduces exposure) is always accepted.
    """

    def __init__(
        self,
        instrument: Instrument,
        wallet: Decimal,
        leverage: int,
        maker: Decimal,
        taker: Decimal,
    ) -> None:
        self.instrument = instrument
        self.wallet = wallet
        self.leverage = leverage
        self.maker = maker
        self.taker = taker
        self.position = Position(instrument.symbol)
        self.open_buy = ZERO
        self.open_sell = ZERO
        self.max_leverage_seen = ZERO

    def reserve(
        self, order: SimOrder, reference: Decimal | None, book: RestingBook, force: bool = False
    ) -> Rejection | None:
        """Check reduce-only and margin; count the order's remainder in the open exposure.

        ``force`` restores exposure that was just released (a failed modify) without checks.
        """
        qty = self.position.quantity
        remaining = order.remaining
        if order.reduce_only:
            opposite = (qty > ZERO and order.side is Side.SELL) or (
                qty < ZERO and order.side is Side.BUY
            )
            if not force and (not opposite or remaining > abs(qty)):
                return reduce_only_rejected()
            return None
        mark = reference or order.price or order.stop_price or ZERO
        price = order.price or order.stop_price or mark
        after = self._required(mark, book, order.side, remaining, price)
        if not force:
            equity = self.wallet + self.position.unrealized_pnl(mark)
            # An order that does not raise the requirement is always allowed.
            if after > equity and after > self._required(mark, book, None, ZERO, ZERO):
                return insufficient_funds(MarketType.USDM_FUTURES)
        if order.side is Side.BUY:
            self.open_buy += remaining
        else:
            self.open_sell += remaining
        self.observe_leverage(mark, book, after)
        return None

    def release(self, order: SimOrder) -> None:
        """Drop an order's unfilled remainder from the open exposure."""
        if order.reduce_only:
            return
        if order.side is Side.BUY:
            self.open_buy -= order.remaining
        else:
            self.open_sell -= order.remaining

    def can_settle(self, order: SimOrder, quantity: Decimal, price: Decimal) -> bool:
        """Futures fills are covered by the margin checked at placement."""
        return True

    def settle(
        self, order: SimOrder, quantity: Decimal, price: Decimal, liquidity: Liquidity
    ) -> tuple[Decimal, str, Decimal]:
        """Book a fill: fee and realized PnL move the wallet."""
        rate = self.maker if liquidity is Liquidity.MAKER else self.taker
        fee = price * quantity * rate
        realized = self.position.apply_fill(order.side, quantity, price, fee)
        self.wallet += realized - fee
        if not order.reduce_only:
            if order.side is Side.BUY:
                self.open_buy -= quantity
            else:
                self.open_sell -= quantity
        return fee, self.instrument.quote_asset, fee

    def funding(self, rate: Decimal, mark: Decimal) -> Decimal:
        """Settle funding on the open position; returns the signed amount received."""
        if self.position.is_flat:
            return ZERO
        amount = self.position.apply_funding(rate, mark)
        self.wallet += amount
        return amount

    def equity(self, mark: Decimal) -> Decimal:
        """Wallet balance plus unrealized PnL at ``mark``."""
        return self.wallet + self.position.unrealized_pnl(mark)

    def observe_leverage(
        self, mark: Decimal, book: RestingBook, required: Decimal | None = None
    ) -> None:
        """Track the highest worst-case exposure / equity ratio ever seen."""
        if required is None:
            required = self._required(mark, book, None, ZERO, ZERO)
        equity = self.equity(mark)
        if equity > 0:
            ratio = required * self.leverage / equity
            if ratio > self.max_leverage_seen:
                self.max_leverage_seen = ratio

    def snapshot(self, mark: Decimal) -> AccountSnapshot:
        """Wallet balance (reported as free) and the position."""
        pos = self.position
        positions = [
            PositionSnapshot(
                symbol=pos.symbol,
                quantity=pos.quantity,
                entry_price=pos.entry_price,
                mark_price=mark,
                unrealized_pnl=pos.unrealized_pnl(mark),
                leverage=self.leverage,
            )
        ]
        return AccountSnapshot(
            balances={self.instrument.quote_asset: (self.wallet, ZERO)}, positions=positions
        )

    def _required(
        self, mark: Decimal, book: RestingBook, side: Side | None, quantity: Decimal, price: Decimal
    ) -> Decimal:
        qty = self.position.quantity
        buys = self.open_buy
        sells = self.open_sell
        if side is Side.BUY:
            buys += quantity
        elif side is Side.SELL:
            sells += quantity
        long_worst = qty + buys
        short_worst = sells - qty
        long_px = book.max_price(Side.BUY)
        if long_px < mark:
            long_px = mark
        if side is Side.BUY and price > long_px:
            long_px = price
        short_px = book.max_price(Side.SELL)
        if short_px < mark:
            short_px = mark
        if side is Side.SELL and price > short_px:
            short_px = price
        long_value = long_worst * long_px if long_worst > ZERO else ZERO
        short_value = short_worst * short_px if short_worst > ZERO else ZERO
        return (long_value if long_value > short_value else short_value) / self.leverage
