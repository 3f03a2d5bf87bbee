"""Instruments and Binance's exchange filters, with rounding that never yields an invalid order.

Binance checks every order against the symbol's filters (see the API reference, section 6).
Spot measures the price/quantity step from zero (``price % tick == 0``); USD-M futures from
the filter's minimum (``(price - minPrice) % tick == 0``). Each part of a filter is disabled
when it is zero. All arithmetic is Decimal: float modulo is wrong for these checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Context, Decimal, DecimalException
from enum import StrEnum

from domain.enums import MarketType, OrderType, Side
from domain.errors import FilterViolation

ZERO = Decimal(0)
_DIVIDE_DOWN = Context(prec=28, rounding=ROUND_DOWN)


class Rounding(StrEnum):
    """How to move a value onto the exchange's grid."""

    DOWN = "DOWN"
    UP = "UP"
    NEAREST = "NEAREST"


@dataclass(frozen=True, slots=True)
class PriceFilter:
    """PRICE_FILTER: bounds and tick for price and stop price (0 disables a part)."""

    min_price: Decimal
    max_price: Decimal
    tick_size: Decimal


@dataclass(frozen=True, slots=True)
class LotSizeFilter:
    """LOT_SIZE or MARKET_LOT_SIZE: bounds and step for quantity (0 disables a part)."""

    min_qty: Decimal
    max_qty: Decimal
    step_size: Decimal


@dataclass(frozen=True, slots=True)
class NotionalFilter:
    """MIN_NOTIONAL (spot and futures) or spot NOTIONAL: price x quantity bounds.

    ``max_notional`` is only set by spot's NOTIONAL filter. ``apply_min_to_market`` /
    ``apply_max_to_market`` say whether MARKET orders are checked (at the reference price).
    Futures exempt reduce-only orders from the minimum.
    """

    min_notional: Decimal
    max_notional: Decimal = ZERO
    apply_min_to_market: bool = True
    apply_max_to_market: bool = False


@dataclass(frozen=True, slots=True)
class PercentPriceFilter:
    """PERCENT_PRICE: the price must stay within multipliers of a reference price.

    Spot compares against the average price, futures against the mark price; futures only
    checks the upper bound for BUY and the lower bound for SELL.
    """

    multiplier_up: Decimal
    multiplier_down: Decimal


@dataclass(frozen=True, slots=True)
class PercentPriceBySideFilter:
    """Spot PERCENT_PRICE_BY_SIDE: separate bands for bids and asks."""

    bid_multiplier_up: Decimal
    bid_multiplier_down: Decimal
    ask_multiplier_up: Decimal
    ask_multiplier_down: Decimal


@dataclass(frozen=True, slots=True)
class Instrument:
    """A tradable symbol with its exchange filters.

    Attributes:
        symbol: Binance symbol, e.g. ``BTCUSDT``.
        market: Spot or USD-M futures; decides step semantics and fee/margin handling.
        base_asset: Asset bought and sold (``BTC``).
        quote_asset: Asset prices are expressed in; for futures also the margin asset.
        price_filter: PRICE_FILTER.
        lot_size: LOT_SIZE, for LIMIT and conditional orders.
        market_lot_size: MARKET_LOT_SIZE, for MARKET orders; None means LOT_SIZE applies.
        notional: MIN_NOTIONAL / NOTIONAL, None when the symbol has none.
        percent_price: PERCENT_PRICE, None when absent.
        percent_price_by_side: Spot PERCENT_PRICE_BY_SIDE, None when absent.
        max_num_orders: MAX_NUM_ORDERS open-order limit for the symbol (0 = no limit).
    """

    symbol: str
    market: MarketType
    base_asset: str
    quote_asset: str
    price_filter: PriceFilter
    lot_size: LotSizeFilter
    market_lot_size: LotSizeFilter | None = None
    notional: NotionalFilter | None = None
    percent_price: PercentPriceFilter | None = None
    percent_price_by_side: PercentPriceBySideFilter | None = None
    max_num_orders: int = 0
    is_futures: bool = field(init=False, repr=False, compare=False)
    _lot_rules: dict[OrderType, tuple[tuple[LotSizeFilter, ...], LotSizeFilter]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        # Read on every filter check: plain attributes are far cheaper than recomputing.
        object.__setattr__(self, "is_futures", self.market is MarketType.USDM_FUTURES)
        rules = {order_type: self._derive_lot_rules(order_type) for order_type in OrderType}
        object.__setattr__(self, "_lot_rules", rules)

    # ----------------------------------------------------------------- rounding
    def round_price(self, price: Decimal, rounding: Rounding = Rounding.NEAREST) -> Decimal:
        """Move a price onto the tick grid and check its bounds.

        Args:
            price: Any positive price.
            rounding: DOWN for bids you must not overpay on, UP for asks, NEAREST otherwise.

        Returns:
            A price that passes PRICE_FILTER.

        Raises:
            FilterViolation: The rounded price lies outside [minPrice, maxPrice] or is not
                positive.
        """
        pf = self.price_filter
        base = pf.min_price if self.is_futures else ZERO
        rounded = _to_step(price, pf.tick_size, base, rounding, "PRICE_FILTER")
        self._check_price(rounded)
        return rounded

    def round_quantity(
        self,
        quantity: Decimal,
        order_type: OrderType = OrderType.LIMIT,
        rounding: Rounding = Rounding.DOWN,
    ) -> Decimal:
        """Move a quantity onto the step grid (down by default) and check its bounds.

        Raises:
            FilterViolation: The rounded quantity is below minQty, above maxQty or zero.
        """
        lot = self._rounding_lot(order_type)
        base = lot.min_qty if self.is_futures else ZERO
        name = "LOT_SIZE" if lot is self.lot_size else "MARKET_LOT_SIZE"
        rounded = _to_step(quantity, lot.step_size, base, rounding, name)
        if self.is_futures and rounded < lot.min_qty:
            # Futures steps count from minQty; a value below it has no grid point.
            rounded = lot.min_qty if rounding is Rounding.UP else ZERO
        for check in self._lots_for(order_type):
            self._check_quantity(rounded, check)
        return rounded

    def quantity_for_notional(
        self, quote_amount: Decimal, price: Decimal, order_type: OrderType = OrderType.LIMIT
    ) -> Decimal:
        """The largest valid quantity whose notional at ``price`` does not exceed ``quote_amount``.

        Raises:
            FilterViolation: No valid quantity fits (below minQty or the minimum notional).
        """
        if price <= ZERO:
            raise FilterViolation("PRICE_FILTER", "positive", price, ZERO)
        # Divide rounding down: with a disabled step (0) the quotient is used as is, and a
        # quotient rounded up in its 28th digit would overspend the budget.
        try:
            raw = _DIVIDE_DOWN.divide(quote_amount, price)
        except DecimalException:  # beyond Decimal's exponent range: no order is that big
            raise FilterViolation("LOT_SIZE", "max", quote_amount, None) from None
        qty = self.round_quantity(raw, order_type, Rounding.DOWN)
        self._check_notional(price * qty, order_type, reduce_only=False)
        return qty

    def round_order(
        self,
        side: Side,
        order_type: OrderType,
        quantity: Decimal,
        price: Decimal | None,
        reference_price: Decimal | None = None,
        reduce_only: bool = False,
    ) -> tuple[Decimal | None, Decimal]:
        """Round a whole order onto the exchange grid and prove it passes every filter.

        Bids round down and asks round up, so rounding never makes a price more aggressive;
        quantities round down, so an order never spends more than asked.

        Returns:
            ``(price, quantity)``, guaranteed to pass :meth:`check_order`.

        Raises:
            FilterViolation: No valid order is this close to the request.
        """
        rounded_price = None
        if price is not None:
            direction = Rounding.DOWN if side is Side.BUY else Rounding.UP
            rounded_price = self.round_price(price, direction)
        rounded_qty = self.round_quantity(quantity, order_type, Rounding.DOWN)
        self.check_order(side, order_type, rounded_qty, rounded_price, reference_price, reduce_only)
        return rounded_price, rounded_qty

    # ---------------------------------------------------------------- checking
    def check_order(
        self,
        side: Side,
        order_type: OrderType,
        quantity: Decimal,
        price: Decimal | None,
        reference_price: Decimal | None,
        reduce_only: bool = False,
        stop_price: Decimal | None = None,
    ) -> None:
        """Check an order against every filter, exactly as the exchange would.

        Args:
            side: BUY or SELL.
            order_type: LIMIT, MARKET or a conditional market type.
            quantity: Order quantity.
            price: Limit price (None for market and conditional orders).
            reference_price: Average price (spot) or mark price (futures) for PERCENT_PRICE
                and for the notional of market orders; None skips those checks.
            reduce_only: Futures reduce-only orders are exempt from the minimum notional.
            stop_price: Trigger price of a conditional order.

        Raises:
            FilterViolation: The first filter the order breaks.
        """
        if price is not None:
            self._check_price(price)
        if stop_price is not None:
            self._check_price(stop_price)
        for lot in self._lots_for(order_type):
            self._check_quantity(quantity, lot)
        notional_price = price if price is not None else (stop_price or reference_price)
        if notional_price is not None:
            self._check_notional(notional_price * quantity, order_type, reduce_only)
        if price is not None and reference_price is not None:
            self._check_band(side, price, reference_price)

    def check_open_order_count(self, open_orders: int) -> None:
        """Raise when one more order would exceed MAX_NUM_ORDERS."""
        if self.max_num_orders and open_orders >= self.max_num_orders:
            raise FilterViolation("MAX_NUM_ORDERS", "max", open_orders + 1, self.max_num_orders)

    # ----------------------------------------------------------------- private
    def _lots_for(self, order_type: OrderType) -> tuple[LotSizeFilter, ...]:
        """Quantity filters an order must pass (precomputed per order type).

        Futures check MARKET_LOT_SIZE instead of LOT_SIZE for market-type orders; spot checks
        LOT_SIZE on every order and MARKET_LOT_SIZE in addition for MARKET orders.
        """
        return self._lot_rules[order_type][0]

    def _rounding_lot(self, order_type: OrderType) -> LotSizeFilter:
        """The filter whose step a quantity is rounded to (the coarsest step that applies)."""
        return self._lot_rules[order_type][1]

    def _derive_lot_rules(
        self, order_type: OrderType
    ) -> tuple[tuple[LotSizeFilter, ...], LotSizeFilter]:
        market_lot = self.market_lot_size
        lots: tuple[LotSizeFilter, ...]
        if order_type is OrderType.LIMIT or market_lot is None:
            lots = (self.lot_size,)
        elif self.market is MarketType.USDM_FUTURES:
            lots = (market_lot,)
        elif order_type is OrderType.MARKET:
            lots = (self.lot_size, market_lot)
        else:
            lots = (self.lot_size,)
        stepped = [lot for lot in lots if lot.step_size]
        rounding = max(stepped, key=lambda lot: lot.step_size) if stepped else lots[0]
        return lots, rounding

    def _check_price(self, price: Decimal) -> None:
        pf = self.price_filter
        if price <= ZERO:
            raise FilterViolation("PRICE_FILTER", "positive", price, ZERO)
        if pf.min_price and price < pf.min_price:
            raise FilterViolation("PRICE_FILTER", "min", price, pf.min_price)
        if pf.max_price and price > pf.max_price:
            raise FilterViolation("PRICE_FILTER", "max", price, pf.max_price)
        if pf.tick_size:
            base = pf.min_price if self.is_futures else ZERO
            if _off_step(price - base, pf.tick_size):
                raise FilterViolation("PRICE_FILTER", "step", price, pf.tick_size)

    def _check_quantity(self, quantity: Decimal, lot: LotSizeFilter) -> None:
        name = "LOT_SIZE" if lot is self.lot_size else "MARKET_LOT_SIZE"
        if quantity <= ZERO:
            raise FilterViolation(name, "positive", quantity, ZERO)
        if lot.min_qty and quantity < lot.min_qty:
            raise FilterViolation(name, "min", quantity, lot.min_qty)
        if lot.max_qty and quantity > lot.max_qty:
            raise FilterViolation(name, "max", quantity, lot.max_qty)
        if lot.step_size:
            base = lot.min_qty if self.is_futures else ZERO
            if _off_step(quantity - base, lot.step_size):
                raise FilterViolation(name, "step", quantity, lot.step_size)

    def _check_notional(self, notional: Decimal, order_type: OrderType, reduce_only: bool) -> None:
        nf = self.notional
        if nf is None:
            return
        name = "MIN_NOTIONAL" if self.is_futures or not nf.max_notional else "NOTIONAL"
        is_market = order_type is not OrderType.LIMIT
        exempt = reduce_only and self.is_futures
        check_min = nf.min_notional and not exempt and (not is_market or nf.apply_min_to_market)
        if check_min and notional < nf.min_notional:
            raise FilterViolation(name, "min", notional, nf.min_notional)
        check_max = nf.max_notional and (not is_market or nf.apply_max_to_market)
        if check_max and notional > nf.max_notional:
            raise FilterViolation(name, "max", notional, nf.max_notional)

    def _check_band(self, side: Side, price: Decimal, reference: Decimal) -> None:
        pp = self.percent_price
        if pp is not None:
            up = reference * pp.multiplier_up
            down = reference * pp.multiplier_down
            futures = self.is_futures
            if price > up and (not futures or side is Side.BUY):
                raise FilterViolation("PERCENT_PRICE", "up", price, up)
            if price < down and (not futures or side is Side.SELL):
                raise FilterViolation("PERCENT_PRICE", "down", price, down)
        by_side = self.percent_price_by_side
        if by_side is not None:
            if side is Side.BUY:
                up = reference * by_side.bid_multiplier_up
                down = reference * by_side.bid_multiplier_down
            else:
                up = reference * by_side.ask_multiplier_up
                down = reference * by_side.ask_multiplier_down
            if price > up:
                raise FilterViolation("PERCENT_PRICE_BY_SIDE", "up", price, up)
            if price < down:
                raise FilterViolation("PERCENT_PRICE_BY_SIDE", "down", price, down)


def _off_step(offset: Decimal, step: Decimal) -> bool:
    """True when ``offset`` is not a whole number of steps.

    A value so large that the number of steps exceeds Decimal's 28-digit precision has no
    exact step count (``divmod`` raises DivisionImpossible): it is reported off-step, and the
    caller's max check, made first, normally names the real problem.
    """
    try:
        return bool(offset % step)
    except DecimalException:
        return True


def _to_step(
    value: Decimal, step: Decimal, base: Decimal, rounding: Rounding, filter_name: str
) -> Decimal:
    """Snap ``value`` onto ``base + k * step`` (k integer) in the requested direction.

    Raises:
        FilterViolation: ``value`` is too large to count in steps at Decimal's precision
            (say a quantity of 1e40 with a 0.001 step): no exchange accepts such an order,
            and the arithmetic must fail as a filter violation, never as a crash.
    """
    if not step:
        return value
    offset = value - base
    try:
        units, remainder = divmod(offset, step)
    except DecimalException:
        raise FilterViolation(filter_name, "max", value, None) from None
    if remainder < 0:
        # Decimal divmod truncates toward zero; turn it into a floor division.
        units -= 1
        remainder += step
    if remainder and (
        rounding is Rounding.UP or (rounding is Rounding.NEAREST and remainder * 2 >= step)
    ):
        units += 1
    return base + units * step
