"""Pre-trade risk: a pure gate every new order passes before it is sent to the exchange.

The exchange already refuses orders it cannot margin, but by then the bot has journaled an
intent, spent a request and learnt nothing it could not have computed itself. This module
answers the question locally and explains the answer, so a refusal is a logged sentence with
numbers rather than an exchange error code.

Worst-case exposure is *gross*, never netted: the long side is the long position plus every
open non-reduce-only BUY as if it had filled, the short side is the short position plus every
open non-reduce-only SELL. Orders on the other side are assumed never to fill, because
nothing guarantees they will (a grid's take-profit SELLs may never trade while its BUYs
all do). Compared with the simulated exchange's margin check this is stricter in one way and
looser in another: that check nets the position against the other side's orders (a short
shrinks the worst-case long), but values a whole side at its single highest order price, where
this module values the position at the mark and each order at max(mark, its own price).

Every check returns a :class:`RiskVerdict`; nothing raises for a refused order. The checker
holds no state: callers pass the position, open orders, equity and mark they know now.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from domain.commands import PlaceOrder
from domain.enums import OrderType, Side
from domain.errors import FilterViolation
from domain.instruments import Instrument
from domain.orders import Order

ZERO = Decimal(0)
HUNDRED = Decimal(100)
#: Leverage reported when there is exposure but no positive equity to carry it.
INFINITE_LEVERAGE = Decimal("Infinity")
#: Decimal places shown in verdict details (the decision itself is never rounded).
_SHOWN_PLACES = 8
_NOTIONAL_FILTERS = frozenset({"MIN_NOTIONAL", "NOTIONAL"})


class RiskRule(StrEnum):
    """The rule a refused order broke, so callers and metrics can react per rule."""

    KILL_SWITCH = "KILL_SWITCH"
    MAX_OPEN_ORDERS = "MAX_OPEN_ORDERS"
    MIN_NOTIONAL = "MIN_NOTIONAL"
    FILTER = "FILTER"
    PRICE_BAND = "PRICE_BAND"
    MAX_POSITION_NOTIONAL = "MAX_POSITION_NOTIONAL"
    LEVERAGE = "LEVERAGE"
    NO_EQUITY = "NO_EQUITY"
    NO_MARK_PRICE = "NO_MARK_PRICE"


def _require_positive(name: str, value: Decimal | int) -> None:
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(f"{name} must be a finite number, got {value}")
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value}")


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """Operator-set limits; ``None`` disables a limit.

    Attributes:
        max_leverage: Cap on effective leverage, the largest worst-case gross exposure
            divided by equity. Always set: unbounded leverage is never a sane default.
        max_position_notional: Cap on the worst-case exposure of either side, in quote.
        max_open_orders: Cap on the bot's open orders on the instrument, this one included.
        price_band: Largest allowed ``|price - mark| / mark`` for a limit price; catches
            fat-fingered prices and prices computed from a stale or broken feed.
        kill_switch: When on, only reduce-only orders pass, so the operator can still
            flatten but nothing can add risk.
    """

    max_leverage: Decimal
    max_position_notional: Decimal | None = None
    max_open_orders: int | None = None
    price_band: Decimal | None = None
    kill_switch: bool = False

    def __post_init__(self) -> None:
        """Refuse limits that would silently block (zero) or admit (NaN) everything.

        Raises:
            ValueError: A limit is zero, negative or not a finite number.
        """
        _require_positive("max_leverage", self.max_leverage)
        if self.max_position_notional is not None:
            _require_positive("max_position_notional", self.max_position_notional)
        if self.max_open_orders is not None:
            _require_positive("max_open_orders", self.max_open_orders)
        if self.price_band is not None:
            _require_positive("price_band", self.price_band)


@dataclass(frozen=True, slots=True)
class RiskVerdict:
    """The answer for one order: allowed or not, which rule decided, and why in numbers.

    Attributes:
        allowed: Whether the order may be sent.
        rule: The rule that refused it; None exactly when allowed.
        detail: A sentence with the numbers behind the decision, for logs and operators.
    """

    allowed: bool
    rule: RiskRule | None
    detail: str

    def __post_init__(self) -> None:
        """Keep ``allowed`` and ``rule`` consistent so callers may test either one.

        Raises:
            ValueError: An allowed verdict names a rule or a refusal names none.
        """
        if self.allowed == (self.rule is not None):
            raise ValueError("a verdict names a rule exactly when it refuses the order")

    @classmethod
    def allow(cls, detail: str) -> RiskVerdict:
        """An admitting verdict."""
        return cls(True, None, detail)

    @classmethod
    def refuse(cls, rule: RiskRule, detail: str) -> RiskVerdict:
        """A refusing verdict naming the broken rule."""
        return cls(False, rule, detail)


def _valuation_price(price: Decimal | None, stop_price: Decimal | None, mark: Decimal) -> Decimal:
    """Price an order's quantity is valued at: max(mark, its limit or stop price).

    A BUY fills at or below its price but the resulting position is then marked at ``mark``;
    a SELL above the mark only fills once the market has risen to its price. Taking the
    larger of the two is conservative for both; a market order is valued at the mark.
    """
    own = price if price is not None else stop_price
    return own if own is not None and own > mark else mark


def worst_case_exposure(
    position_qty: Decimal,
    open_orders: Iterable[Order],
    mark: Decimal,
    extra: PlaceOrder | None = None,
) -> tuple[Decimal, Decimal]:
    """Worst-case gross (long, short) exposure in quote if every open order filled.

    ``long = max(0, qty) x mark + sum(BUY remaining x max(mark, price))`` and symmetrically
    ``short = max(0, -qty) x mark + sum(SELL remaining x max(mark, price))``. Sides are not
    netted: a BUY that would close part of a short still counts in full toward the long side,
    because the worst case is that the SELLs never fill while the BUYs all do (and a BUY
    larger than the short flips it). Reduce-only orders add nothing, since the exchange only
    lets them shrink the position, and terminal orders add nothing, since they never fill.

    Args:
        position_qty: Net position, positive long and negative short.
        open_orders: The bot's orders on the instrument; terminal ones are skipped.
        mark: Current mark price (> 0).
        extra: A not-yet-placed order to include, as the order under check.

    Returns:
        ``(long, short)``, both >= 0.

    Raises:
        ValueError: ``mark`` is not positive, so nothing can be valued.
    """
    if not mark > ZERO:
        raise ValueError(f"mark price must be positive, got {mark}")
    long = position_qty * mark if position_qty > ZERO else ZERO
    short = -position_qty * mark if position_qty < ZERO else ZERO
    for order in open_orders:
        if order.reduce_only or not order.status.is_open:
            continue
        value = order.remaining_quantity * _valuation_price(order.price, order.stop_price, mark)
        if order.side is Side.BUY:
            long += value
        else:
            short += value
    if extra is not None and not extra.reduce_only and extra.quantity > ZERO:
        value = extra.quantity * _valuation_price(extra.price, extra.stop_price, mark)
        if extra.side is Side.BUY:
            long += value
        else:
            short += value
    return long, short


def effective_leverage(long: Decimal, short: Decimal, equity: Decimal) -> Decimal:
    """Effective leverage: the larger worst-case gross exposure divided by equity.

    The larger side is what a liquidation would have to unwind, so it alone sets leverage.

    Args:
        long: Worst-case long exposure in quote (>= 0).
        short: Worst-case short exposure in quote (>= 0).
        equity: Account equity in quote at the same mark.

    Returns:
        ``max(long, short) / equity``; 0 with no exposure (whatever the equity), and
        :data:`INFINITE_LEVERAGE` with exposure but ``equity <= 0``. Infinity compares
        greater than every finite cap, so a comparison against a cap needs no special case.
    """
    exposure = long if long > short else short
    if exposure <= ZERO:
        return ZERO
    if equity <= ZERO:
        return INFINITE_LEVERAGE
    return exposure / equity


def _fmt(value: Decimal, rounding: str = ROUND_HALF_EVEN) -> str:
    """A Decimal as plain text with at most a few places (for details only, never decisions)."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -_SHOWN_PLACES:
        value = value.quantize(Decimal(1).scaleb(-_SHOWN_PLACES), rounding=rounding)
    return format(value.normalize(), "f")


def _side_name(side: Side) -> str:
    return "long" if side is Side.BUY else "short"


class PreTradeRisk:
    """Checks a :class:`~domain.commands.PlaceOrder` against :class:`RiskLimits`.

    Checks run in a fixed order and the first failure decides: kill switch, open-order
    count, the instrument's exchange filters, price band, position notional, leverage.
    Cheap, state-free rules come first so the refusal names the most basic problem.

    An order that does not raise the largest worst-case exposure (a BUY while the short
    side dominates, or any reduce-only order) is always allowed past the exposure rules, even
    when leverage is already above the cap after a price move or with no equity left: it can
    only help, and refusing it could trap the bot in its riskiest state.
    """

    __slots__ = ("instrument", "limits")

    def __init__(self, limits: RiskLimits, instrument: Instrument) -> None:
        self.limits = limits
        self.instrument = instrument

    def check(
        self,
        command: PlaceOrder,
        position_qty: Decimal,
        open_orders: Sequence[Order],
        equity: Decimal,
        mark: Decimal | None,
    ) -> RiskVerdict:
        """Decide whether ``command`` may be sent now.

        Args:
            command: The order to place, on this checker's instrument.
            position_qty: Current net position (positive long, negative short).
            open_orders: The bot's orders on the instrument; terminal ones are ignored.
            equity: Account equity in quote at ``mark``.
            mark: Current mark (futures) or reference (spot) price; None or non-positive
                when unknown, which refuses every check that needs it with NO_MARK_PRICE.

        Returns:
            The verdict; never raises for a refused order.

        Raises:
            ValueError: ``command`` is for another symbol (a wiring bug, not a risk).
        """
        if command.symbol != self.instrument.symbol:
            raise ValueError(
                f"risk checker for {self.instrument.symbol} got an order for {command.symbol}"
            )
        limits = self.limits
        usable_mark = mark if mark is not None and mark > ZERO else None
        live = [order for order in open_orders if order.status.is_open]

        if limits.kill_switch and not command.reduce_only:
            return RiskVerdict.refuse(
                RiskRule.KILL_SWITCH, "kill switch is on: only reduce-only orders are accepted"
            )
        cap = limits.max_open_orders
        if cap is not None and len(live) + 1 > cap:
            return RiskVerdict.refuse(
                RiskRule.MAX_OPEN_ORDERS,
                f"{len(live)} open orders + this one > limit {cap}",
            )
        verdict = self._check_filters(command, usable_mark, len(live))
        if verdict is not None:
            return verdict
        verdict = self._check_band(command, usable_mark)
        if verdict is not None:
            return verdict
        if command.reduce_only:
            return RiskVerdict.allow("reduce-only: adds no exposure")
        if usable_mark is None:
            return RiskVerdict.refuse(
                RiskRule.NO_MARK_PRICE, "no mark price: cannot value the worst-case exposure"
            )
        return self._check_exposure(command, position_qty, live, equity, usable_mark)

    # ----------------------------------------------------------------- private
    def _check_filters(
        self, command: PlaceOrder, mark: Decimal | None, open_count: int
    ) -> RiskVerdict | None:
        """Run the exchange's own filters, so an order the exchange would reject never leaves."""
        try:
            self.instrument.check_order(
                command.side,
                command.order_type,
                command.quantity,
                command.price,
                mark,
                command.reduce_only,
                command.stop_price,
            )
            self.instrument.check_open_order_count(open_count)
        except FilterViolation as violation:
            if violation.filter_name in _NOTIONAL_FILTERS:
                bound = "below minimum" if violation.rule == "min" else "above maximum"
                return RiskVerdict.refuse(
                    RiskRule.MIN_NOTIONAL,
                    f"order notional {violation.value} {bound} {violation.limit} "
                    f"({violation.filter_name})",
                )
            return RiskVerdict.refuse(
                RiskRule.FILTER, f"exchange filter refuses the order: {violation}"
            )
        return None

    def _check_band(self, command: PlaceOrder, mark: Decimal | None) -> RiskVerdict | None:
        """Refuse a limit price too far from the mark (reduce-only included: a typo is a typo)."""
        band = self.limits.price_band
        price = command.price
        if band is None or command.order_type is not OrderType.LIMIT or price is None:
            return None
        if mark is None:
            return RiskVerdict.refuse(
                RiskRule.NO_MARK_PRICE, f"no mark price to check limit price {price} against"
            )
        distance = abs(price - mark)
        # Compared by multiplication: exact, where a quotient would be rounded.
        if distance > band * mark:
            deviation = _fmt(distance / mark * HUNDRED, ROUND_CEILING)
            return RiskVerdict.refuse(
                RiskRule.PRICE_BAND,
                f"limit price {price} is {deviation}% from mark {mark} > band "
                f"{_fmt(band * HUNDRED)}%",
            )
        return None

    def _check_exposure(
        self,
        command: PlaceOrder,
        position_qty: Decimal,
        live: Sequence[Order],
        equity: Decimal,
        mark: Decimal,
    ) -> RiskVerdict:
        """Position-notional and leverage rules on the worst case with the order added."""
        long, short = worst_case_exposure(position_qty, live, mark)
        before = max(long, short)
        # The order under check adds to one side only (what worst_case_exposure's ``extra``
        # does), so the book is walked once, not twice: this runs for every order placed.
        if not command.reduce_only and command.quantity > ZERO:
            value = command.quantity * _valuation_price(command.price, command.stop_price, mark)
            if command.side is Side.BUY:
                long += value
            else:
                short += value
        after = max(long, short)
        if after <= before:
            return RiskVerdict.allow(
                f"does not increase the largest worst-case exposure {_fmt(before)} "
                f"(long {_fmt(long)}, short {_fmt(short)})"
            )
        side = _side_name(command.side)
        side_exposure = long if command.side is Side.BUY else short
        cap = self.limits.max_position_notional
        if cap is not None and side_exposure > cap:
            return RiskVerdict.refuse(
                RiskRule.MAX_POSITION_NOTIONAL,
                f"worst-case {side} exposure {_fmt(side_exposure)} > max position notional "
                f"{_fmt(cap)}",
            )
        largest = "long" if long >= short else "short"
        if equity <= ZERO:
            return RiskVerdict.refuse(
                RiskRule.NO_EQUITY,
                f"equity {_fmt(equity)} <= 0 cannot carry worst-case {largest} exposure "
                f"{_fmt(after)}",
            )
        leverage = effective_leverage(long, short, equity)
        max_leverage = self.limits.max_leverage
        numbers = f"worst-case {largest} exposure {_fmt(after)} on equity {_fmt(equity)}"
        if leverage > max_leverage:
            return RiskVerdict.refuse(
                RiskRule.LEVERAGE,
                f"effective leverage {_fmt(leverage, ROUND_CEILING)} > cap "
                f"{_fmt(max_leverage)} ({numbers})",
            )
        return RiskVerdict.allow(
            f"effective leverage {_fmt(leverage, ROUND_FLOOR)} <= cap {_fmt(max_leverage)} "
            f"({numbers})"
        )
