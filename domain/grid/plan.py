"""The adaptive grid's plan: which orders should rest right now, and why any level does not.

A plan is recomputed on every closed candle from four things: the grid's geometry (centre,
step and per-level size, fixed at each re-centre so small moves do not churn orders), the
open legs (filled entries waiting for their take-profit), the account (position and
equity) and the gates the signal sets (a blocked side, a side whose near entries are
pulled). It is pure: the same inputs always give the same plan, and nothing here sends,
reads a clock or remembers anything.

Rules, in the order they apply:

* every open leg keeps its take-profit, whatever else happens (a re-centre, a blocked side,
  the exposure cap): exits are never withheld; one the market has already passed rests one
  tick inside the close, the best price a post-only exit can have;
* entries go nearest to the centre first, ``step`` apart, buys below and sells above; a level
  already holding a leg (an entry filled there, its take-profit still resting) is not armed
  again, so the grid never stacks entries at one price;
* the worst case of each side — the position plus every planned order on that side as if it
  had filled, valued at the highest price involved — stays within ``max_exposure x equity``;
  the first entry that would break it and every level beyond it are skipped;
* on spot every sell, take-profit or entry, must be covered by the base the account holds
  (less what the sells before it already claim): a take-profit sell beyond it waits, counted
  ``TP_INSUFFICIENT_BASE``, until base comes back (the exchange would refuse it on every
  candle otherwise), and sell entries get only what is left;
* likewise on spot every buy locks its notional (price x quantity) in quote, so the planned
  buys together must fit in the quote the account holds (free plus what its own resting
  orders lock, which a replacement frees first): a take-profit buy beyond it is counted
  ``TP_INSUFFICIENT_QUOTE``, a buy entry ``INSUFFICIENT_QUOTE`` (the exposure cap alone does
  not ensure it: with ``max_exposure`` above 1, or base bought meanwhile, it passes buys the
  quote cannot pay, and the exchange refuses them -2010);
* every order is on the instrument's tick and lot grid and passes its filters.

A level that does not become an order is counted in :attr:`GridPlan.skipped` under its
reason (a filter name, ``CROSSES_MARKET``, ``ENTRY_FILTER`` — or ``ENTRY_BRAKE`` /
``ENTRY_WEEKEND`` when the brakes or weekend mode block the entries —, ``PROXIMITY``,
``EXPOSURE_CAP``, ``INSUFFICIENT_BASE``, ``INSUFFICIENT_QUOTE``, ``TP_INSUFFICIENT_BASE``,
``TP_INSUFFICIENT_QUOTE``, ``TP_`` and a filter name or ``PRICE_BAND`` for a take-profit):
never dropped silently.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from domain.enums import OrderType, Side
from domain.errors import FilterViolation
from domain.instruments import Instrument, Rounding

ZERO = Decimal(0)
ONE = Decimal(1)
INFINITY = Decimal("Infinity")
TWO = Decimal(2)

ENTRY = "entry"
TAKE_PROFIT = "tp"
ENTRY_TAG = "grid:"
TP_TAG = "tp:"
#: New orders must lie within this share of the price band; resting ones may use all of it.
BAND_ENTRY = Decimal("0.8")
#: A leg whose open quantity is below one lot: nothing left that an order could close.
DUST = "DUST"


@dataclass(frozen=True, slots=True)
class GridGeometry:
    """Where the grid sits: fixed at a re-centre, reused by every plan until the next one.

    Attributes:
        centre: Price the levels are counted from.
        step: Distance between levels as a fraction of the centre.
        level_quote: Notional of each entry, in the quote asset.
    """

    centre: Decimal
    step: Decimal
    level_quote: Decimal

    @property
    def step_price(self) -> Decimal:
        """The step in price units."""
        return self.centre * self.step


class PlannedOrder(NamedTuple):
    """One order the plan wants resting.

    Attributes:
        tag: Identity across plans (``grid:BUY:3`` for the 3rd buy level, ``tp:<leg>``).
        side: BUY or SELL.
        price: Limit price, on the tick grid.
        quantity: Quantity that should rest (not counting what the order already executed).
        role: ``entry`` or ``tp``.
        reduce_only: Futures take-profits below the minimum notional go reduce-only (exempt).
    """

    tag: str
    side: Side
    price: Decimal
    quantity: Decimal
    role: str
    reduce_only: bool = False


class Leg:
    """A filled (or filling) entry waiting for its take-profit.

    Attributes:
        key: The entry order's client id.
        slot: The entry order's tag (its level).
        side: The entry's side (the take-profit is the opposite).
        entered: Quantity the entry delivered so far (spot buys: net of a base commission).
        closed: Quantity its take-profits executed so far.
        cost: Sum of entry fill quantity x price (the average entry is ``cost / filled``).
        filled: Gross quantity the entry executed.
        tp_price: The take-profit's limit price.
        opening: The entry order is still open (partially filled).
    """

    __slots__ = (
        "closed",
        "cost",
        "entered",
        "filled",
        "key",
        "opening",
        "side",
        "slot",
        "tp_price",
    )

    def __init__(
        self,
        key: str,
        slot: str,
        side: Side,
        tp_price: Decimal,
        entered: Decimal = ZERO,
        closed: Decimal = ZERO,
        cost: Decimal = ZERO,
        filled: Decimal = ZERO,
        opening: bool = True,
    ) -> None:
        self.key = key
        self.slot = slot
        self.side = side
        self.tp_price = tp_price
        self.entered = entered
        self.closed = closed
        self.cost = cost
        self.filled = filled
        self.opening = opening

    @property
    def open_quantity(self) -> Decimal:
        """What the take-profit still has to close."""
        return self.entered - self.closed

    @property
    def entry_price(self) -> Decimal:
        """Average entry price."""
        return self.cost / self.filled if self.filled else self.tp_price

    def __repr__(self) -> str:
        return (
            f"Leg({self.key} {self.slot} {self.side.value} in={self.entered} out={self.closed} "
            f"tp={self.tp_price} opening={self.opening})"
        )


@dataclass(slots=True)
class GridPlan:
    """The orders that should rest, nearest to the market first, and the levels left out.

    Attributes:
        orders: Planned orders, nearest to the close first.
        skipped: Levels (and take-profits) that did not become orders, by reason.
        worst_long: Worst-case long quantity (position plus every planned buy).
        worst_short: Worst-case short quantity (minus the position plus every planned sell).
    """

    orders: tuple[PlannedOrder, ...]
    skipped: dict[str, int] = field(default_factory=dict)
    worst_long: Decimal = ZERO
    worst_short: Decimal = ZERO
    close_low: Decimal = ZERO
    close_high: Decimal = INFINITY
    #: ``(quantity, price, fits)``: the cap decisions the plan made; each must come out the
    #: same (``quantity x max(close, price) <= budget`` is ``fits``) for the plan to stand.
    cap_checks: tuple[tuple[Decimal, Decimal, bool], ...] = ()
    max_exposure: Decimal = ONE
    #: ``(price, fraction, inside)``: the price-band decisions (``inside`` is
    #: ``|price - close| <= fraction x close``); each must come out the same.
    band_checks: tuple[tuple[Decimal, Decimal, bool], ...] = ()

    def still_valid(self, close: Decimal, equity: Decimal) -> bool:
        """Whether the same inputs at this close and equity would give the same orders.

        Every other input (geometry, legs, position, gates) is the caller's to compare; the
        close only matters through the levels it crosses and the price the worst case is
        valued at, equity only through the cap.
        """
        if not self.close_low < close < self.close_high:
            return False
        for price, fraction, inside in self.band_checks:
            if (abs(price - close) <= fraction * close) is not inside:
                return False
        cap = self.max_exposure * equity
        for qty, price, fits in self.cap_checks:
            value = qty * (price if price > close else close)
            if (value <= cap) is not fits:
                return False
        return True


class Ladder:
    """The levels of one geometry, rounded once (a plan per candle only reads them).

    ``levels[side][k - 1]`` is ``(price, quantity)`` for level k, or the name of the filter
    that level cannot pass.
    """

    __slots__ = ("factors", "geometry", "levels")

    def __init__(
        self,
        geometry: GridGeometry,
        depth: int,
        instrument: Instrument,
        factors: tuple[Decimal, Decimal] = (ONE, ONE),
    ) -> None:
        """``factors``: (buy, sell) multipliers of the geometry's per-level quote."""
        self.geometry = geometry
        self.factors = factors
        self.levels: dict[Side, list[tuple[Decimal, Decimal] | str]] = {}
        centre, step = geometry.centre, geometry.step
        for side in (Side.BUY, Side.SELL):
            quote = geometry.level_quote * (factors[0] if side is Side.BUY else factors[1])
            sign = -1 if side is Side.BUY else 1
            direction = Rounding.DOWN if side is Side.BUY else Rounding.UP
            rows: list[tuple[Decimal, Decimal] | str] = []
            for k in range(1, depth + 1):
                raw = centre * (ONE + sign * k * step)
                try:
                    if raw <= ZERO:
                        raise FilterViolation("PRICE_FILTER", "positive", raw, ZERO)
                    price = instrument.round_price(raw, direction)
                    qty = instrument.quantity_for_notional(quote, price)
                except FilterViolation as exc:
                    rows.append(exc.filter_name)
                    continue
                rows.append((price, qty))
            self.levels[side] = rows


def take_profit_price(
    instrument: Instrument, side: Side, entry: Decimal, step: Decimal, steps: Decimal
) -> Decimal:
    """A leg's take-profit: ``steps`` steps from its entry, rounded away from the entry.

    Raises:
        FilterViolation: The price is outside the price filter.
    """
    if side is Side.BUY:
        return instrument.round_price(entry * (ONE + steps * step), Rounding.UP)
    return instrument.round_price(entry * (ONE - steps * step), Rounding.DOWN)


def take_profit_order(leg: Leg, instrument: Instrument) -> PlannedOrder | str:
    """The take-profit a leg needs, or the filter it cannot pass (then the leg waits).

    On futures a take-profit below the minimum notional goes reduce-only, which the exchange
    exempts from that minimum; anything else that fails a filter is reported by name, and
    an open quantity below one lot is :data:`DUST` (the leg is done).
    """
    side = leg.side.opposite
    tag = TP_TAG + leg.key
    try:
        # Spot buys deliver the quantity less a base commission: sell what is on the lot grid.
        qty = instrument.round_quantity(leg.open_quantity, OrderType.LIMIT, Rounding.DOWN)
    except FilterViolation:
        return DUST
    try:
        instrument.check_order(side, OrderType.LIMIT, qty, leg.tp_price, None)
        return PlannedOrder(tag, side, leg.tp_price, qty, TAKE_PROFIT)
    except FilterViolation as exc:
        if not (instrument.is_futures and exc.filter_name == "MIN_NOTIONAL"):
            return exc.filter_name
    try:
        instrument.check_order(side, OrderType.LIMIT, qty, leg.tp_price, None, reduce_only=True)
    except FilterViolation as exc:
        return exc.filter_name
    return PlannedOrder(tag, side, leg.tp_price, qty, TAKE_PROFIT, reduce_only=True)


def level_counts(levels: int, asymmetry: Decimal, conviction: float) -> dict[Side, int]:
    """Entry levels per side: the side the net conviction favours gets more, the other fewer.

    Args:
        levels: Levels per side with no conviction.
        asymmetry: 0 (off) .. 1.
        conviction: Net conviction, long minus short, in [-1, 1].
    """
    if not asymmetry or not conviction:
        return {Side.BUY: levels, Side.SELL: levels}
    shift = int((asymmetry * Decimal(repr(min(abs(conviction), 1.0))) * levels).to_integral_value())
    favoured, other = (Side.BUY, Side.SELL) if conviction > 0 else (Side.SELL, Side.BUY)
    return {favoured: levels + shift, other: max(levels - shift, 0)}


#: Why a side got no entries (the ``blocked_by`` of :func:`plan_grid`).
ENTRY_FILTER = "ENTRY_FILTER"  # the conviction entry filter
ENTRY_BRAKE = "ENTRY_BRAKE"  # the brakes allow no entry (reduce-only, halted, over the cap)
ENTRY_WEEKEND = "ENTRY_WEEKEND"  # weekend mode ``no_entries``


def _skip(skipped: dict[str, int], reason: str, count: int = 1) -> None:
    if count:
        skipped[reason] = skipped.get(reason, 0) + count


def plan_grid(
    ladder: Ladder,
    legs: Iterable[Leg],
    take_profits: Mapping[str, PlannedOrder | str],
    close: Decimal,
    position: Decimal,
    equity: Decimal,
    max_exposure: Decimal,
    counts: Mapping[Side, int],
    blocked: frozenset[Side] = frozenset(),
    pulled: Mapping[Side, Decimal] | None = None,
    sellable: Decimal | None = None,
    band: Decimal | None = None,
    tick: Decimal = ZERO,
    resting: Collection[str] = (),
    blocked_by: str = ENTRY_FILTER,
    payable: Decimal | None = None,
) -> GridPlan:
    """The orders that should rest now (see the module docstring for the rules).

    Args:
        ladder: The current geometry's levels.
        legs: Open legs.
        take_profits: Each leg's take-profit (or the filter it fails), by leg key.
        close: The latest close.
        position: Net position (positive long; spot: the base held).
        equity: Account equity at ``close``.
        max_exposure: Worst case per side as a multiple of equity.
        counts: Entry levels per side (see :func:`level_counts`).
        blocked: Sides that may not get new entries.
        pulled: Sides whose entries within the given price distance of the close are pulled.
        sellable: Spot: the base held, which every planned sell (take-profits first, then
            entries) must fit in (None on futures).
        band: Orders further than this fraction from the close are left out (pre-trade
            risk's price band would refuse them); None: no band. With hysteresis: a new
            order must be within ``BAND_ENTRY`` of the band, a resting one (its tag in
            ``resting``) stays while within the band, so an order at the edge does not
            flicker in and out as the close moves.
        resting: Tags of the grid's orders resting now (only the band's hysteresis reads it).
        tick: The price tick: a take-profit the market has already passed rests one tick
            inside the close instead (a post-only order at its own price would be refused).
        blocked_by: Why ``blocked`` sides get no entries, the skip reason they are counted
            under (``ENTRY_FILTER``, ``ENTRY_BRAKE``, ``ENTRY_WEEKEND``).
        payable: Spot: the quote the account holds (free plus what its resting orders
            lock), which every planned buy's notional (take-profits first, then entries)
            must fit in (None on futures).

    Returns:
        The plan.
    """
    skipped: dict[str, int] = {}
    orders: list[PlannedOrder] = []
    worst = {Side.BUY: position, Side.SELL: -position}
    value_price = {Side.BUY: ZERO, Side.SELL: ZERO}  # highest order price per side
    held: dict[Side, list[Decimal]] = {Side.BUY: [], Side.SELL: []}
    opening: dict[str, Decimal] = {}
    close_low, close_high = ZERO, INFINITY
    bands: list[tuple[Decimal, Decimal, bool]] = []
    inner = band * BAND_ENTRY if band is not None else None
    for leg in legs:
        if leg.opening:
            opening[leg.slot] = opening.get(leg.slot, ZERO) + leg.filled
        else:
            held[leg.side].append(leg.entry_price)
        if leg.open_quantity <= ZERO:
            continue
        tp = take_profits.get(leg.key)
        if tp is None:
            continue
        if isinstance(tp, str):
            _skip(skipped, "TP_" + tp)
            continue
        price = tp.price
        if tp.side is Side.BUY:
            if price >= close:  # in the money: exit as a maker one tick inside the market
                tp = tp._replace(price=close - tick)
                close_low = close_high = close  # priced off the close: no reuse
            elif price > close_low:
                close_low = price
        elif price <= close:
            tp = tp._replace(price=close + tick)
            close_low = close_high = close
        elif price < close_high:
            close_high = price
        if band is not None and inner is not None:
            fraction = band if tp.tag in resting else inner
            inside = abs(tp.price - close) <= fraction * close
            bands.append((tp.price, fraction, inside))
            if not inside:
                _skip(skipped, "TP_PRICE_BAND")
                continue
        if sellable is not None and tp.side is Side.SELL:
            if tp.quantity > sellable:  # spot: the exchange would refuse it on every candle
                _skip(skipped, "TP_INSUFFICIENT_BASE")
                continue
            sellable -= tp.quantity
        if payable is not None and tp.side is Side.BUY:
            cost = tp.quantity * tp.price
            if cost > payable:  # spot: the quote it would lock is not there
                _skip(skipped, "TP_INSUFFICIENT_QUOTE")
                continue
            payable -= cost
        orders.append(tp)
        worst[tp.side] += tp.quantity
        if tp.price > value_price[tp.side]:
            value_price[tp.side] = tp.price
    cap = max_exposure * equity
    checks: list[tuple[Decimal, Decimal, bool]] = []
    half_step = ladder.geometry.step_price / TWO
    for side in (Side.BUY, Side.SELL):
        wanted = counts[side]
        if side in blocked:
            _skip(skipped, blocked_by, wanted)
            continue
        rows = ladder.levels[side][:wanted]
        _skip(skipped, "DEPTH", wanted - len(rows))
        near = pulled.get(side) if pulled else None
        below = side is Side.BUY
        side_held = held[side]
        for k, row in enumerate(rows, start=1):
            if isinstance(row, str):
                _skip(skipped, row)
                continue
            price, qty = row
            if price < close:
                if price > close_low:
                    close_low = price
            elif price > close:
                if price < close_high:
                    close_high = price
            else:
                close_low = close_high = price
            if (price >= close) if below else (price <= close):
                _skip(skipped, "CROSSES_MARKET")
                continue
            tag = f"{ENTRY_TAG}{side.value}:{k}"
            if band is not None and inner is not None:
                fraction = band if tag in resting else inner
                inside = abs(price - close) <= fraction * close
                bands.append((price, fraction, inside))
                if not inside:
                    _skip(skipped, "PRICE_BAND", len(rows) - k + 1)
                    break
            if side_held and any(abs(p - price) < half_step for p in side_held):
                continue  # holding a leg here: re-armed when its take-profit fills
            done = opening.get(tag)
            if done:
                qty -= done
                if qty <= ZERO:
                    continue
            if near is not None and abs(close - price) <= near:
                _skip(skipped, "PROXIMITY")
                continue
            if sellable is not None and side is Side.SELL and qty > sellable:
                _skip(skipped, "INSUFFICIENT_BASE")
                continue
            if payable is not None and side is Side.BUY and qty * price > payable:
                _skip(skipped, "INSUFFICIENT_QUOTE")
                continue
            after = worst[side] + qty
            priced = price if price > value_price[side] else value_price[side]
            if after > ZERO and after * (priced if priced > close else close) > cap:
                _skip(skipped, "EXPOSURE_CAP", len(rows) - k + 1)
                checks.append((after, priced, False))
                break
            valued_at = priced
            worst[side] = after
            value_price[side] = valued_at
            if sellable is not None and side is Side.SELL:
                sellable -= qty
            if payable is not None and side is Side.BUY:
                payable -= qty * price
            orders.append(PlannedOrder(tag, side, price, qty, ENTRY))
    orders.sort(key=lambda o: abs(o.price - close))
    for side in (Side.BUY, Side.SELL):
        if worst[side] > ZERO and any(o.side is side and o.role == ENTRY for o in orders):
            checks.append((worst[side], value_price[side], True))
    return GridPlan(
        tuple(orders),
        skipped,
        worst[Side.BUY],
        worst[Side.SELL],
        close_low,
        close_high,
        tuple(checks),
        max_exposure,
        tuple(bands),
    )
