"""Plan versus resting orders: the fewest requests that turn what rests into what is planned.

Rules:

* an order within the tolerance of its planned price (and, for entries, size) is kept: no
  request at all, so queue priority survives; a take-profit must match its leg exactly;
* where only price or quantity changed, the order is modified in place (futures
  ``PUT /fapi/v1/order``; the spot adapter turns it into ``cancelReplace``), unless it has
  already been modified ``max_modifications`` times (Binance caps one order at 10,000), in
  which case it is cancelled and placed anew — as is any order whose side, reduce-only flag
  or time in force differs from the plan;
* resting orders of ours that the plan no longer wants are cancelled;
* the requests come out as: every cancel, then modifies that shrink an order, then modifies
  that grow one, then new orders — so, between any two requests, no side ever rests more than
  the larger of what rested before and what is planned; within each group nearest to the
  market first, take-profits before entries among new orders;
* modifies and new orders beyond the order-rate ``budget`` are deferred (the next candle's
  diff finds them again); cancels are never deferred.

Orders with a request in flight (pending new, cancel or modify) are left alone until the
exchange answers. Only orders tagged by the grid (``grid:`` / ``tp:``) are considered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import NamedTuple

from domain.commands import CancelOrder, Command, ModifyOrder, PlaceOrder
from domain.enums import OrderType, TimeInForce
from domain.grid.plan import ENTRY, ENTRY_TAG, TAKE_PROFIT, TP_TAG, PlannedOrder
from domain.orders import Order, OrderStatus

_IN_FLIGHT = frozenset(
    {OrderStatus.PENDING_NEW, OrderStatus.PENDING_CANCEL, OrderStatus.PENDING_MODIFY}
)
_OURS = (ENTRY_TAG, TP_TAG)


class OrderDiff(NamedTuple):
    """The requests, in sending order, and what they amount to.

    Attributes:
        commands: Cancels, modifies and new orders, in the order they must be sent.
        kept: Planned orders already resting within tolerance.
        modifies: Orders modified in place.
        replaces: Orders cancelled and placed anew (a modify could not do it).
        cancels: Orders cancelled because the plan no longer wants them (not replaces).
        places: New orders for planned orders with nothing resting.
        deferred: Modifies and new orders held back by the order-rate budget.
        in_flight: Planned orders whose resting order awaits an answer (left alone).
    """

    commands: list[Command]
    kept: int = 0
    modifies: int = 0
    replaces: int = 0
    cancels: int = 0
    places: int = 0
    deferred: int = 0
    in_flight: int = 0

    @property
    def rate_counted(self) -> int:
        """Requests that count against the exchange's order-rate limits."""
        return sum(1 for c in self.commands if type(c) is not CancelOrder)


def diff_orders(
    plan: Iterable[PlannedOrder],
    open_orders: Mapping[str, Order],
    symbol: str,
    close: Decimal,
    *,
    time_in_force: TimeInForce,
    price_tolerance: Decimal,
    quantity_tolerance: Decimal,
    can_modify: bool = True,
    modifications: Mapping[str, int] | None = None,
    max_modifications: int = 10_000,
    budget: int | None = None,
) -> OrderDiff:
    """The requests that make ``open_orders`` match ``plan`` (see the module docstring).

    Args:
        plan: Planned orders (any order; sorted here).
        open_orders: Resting orders by client id; orders without a grid tag are ignored.
        symbol: The instrument.
        close: The latest close (distance to market orders the requests).
        time_in_force: What planned orders are sent with (GTX: post-only).
        price_tolerance: Keep an order this close to its planned price (price units).
        quantity_tolerance: Keep an entry whose resting size is within this fraction.
        can_modify: Modify in place (False: always cancel and place anew).
        modifications: Modifies already sent per client id.
        max_modifications: Modifies allowed per order before it is replaced instead.
        budget: Modifies + new orders allowed now (None: unlimited).
    """
    mods = modifications or {}
    by_tag: dict[str, list[Order]] = {}
    for order in open_orders.values():
        if order.tag.startswith(_OURS):
            by_tag.setdefault(order.tag, []).append(order)
    cancels: list[tuple[Decimal, str]] = []
    shrink: list[tuple[Decimal, ModifyOrder]] = []
    grow: list[tuple[Decimal, ModifyOrder]] = []
    places: list[tuple[bool, Decimal, PlannedOrder]] = []
    kept = dropped = in_flight = 0
    replaced: set[str] = set()
    for p in plan:
        found = by_tag.pop(p.tag, None)
        distance = abs(p.price - close)
        if not found:
            places.append((p.role != TAKE_PROFIT, distance, p))
            continue
        if any(o.status in _IN_FLIGHT for o in found):
            in_flight += 1
            continue
        if len(found) > 1:
            found.sort(key=lambda o: (o.side is not p.side, abs((o.price or p.price) - p.price)))
            for extra in found[1:]:
                cancels.append((abs((extra.price or close) - close), extra.client_order_id))
                dropped += 1
        best = found[0]
        cid = best.client_order_id
        if (
            best.side is not p.side
            or best.order_type is not OrderType.LIMIT
            or best.price is None
            or best.reduce_only != p.reduce_only
            or best.time_in_force is not time_in_force
        ):
            cancels.append((abs((best.price or close) - close), cid))
            places.append((p.role != TAKE_PROFIT, distance, p))
            replaced.add(p.tag)
            continue
        remaining = best.remaining_quantity
        price_ok = abs(best.price - p.price) <= price_tolerance
        if p.role == ENTRY:
            qty_ok = abs(remaining - p.quantity) <= quantity_tolerance * p.quantity
        else:
            qty_ok = remaining == p.quantity
        if price_ok and qty_ok:
            kept += 1
            continue
        if can_modify and mods.get(cid, 0) < max_modifications:
            modify = ModifyOrder(cid, p.price, best.executed_quantity + p.quantity)
            (shrink if p.quantity <= remaining else grow).append((distance, modify))
            continue
        cancels.append((abs(best.price - close), cid))
        places.append((p.role != TAKE_PROFIT, distance, p))
        replaced.add(p.tag)
    for leftovers in by_tag.values():
        for order in leftovers:
            if order.status is OrderStatus.PENDING_CANCEL:
                continue
            cancels.append((abs((order.price or close) - close), order.client_order_id))
            dropped += 1
    cancels.sort(key=lambda c: c[0])
    shrink.sort(key=lambda m: m[0])
    grow.sort(key=lambda m: m[0])
    places.sort(key=lambda p: (p[0], p[1]))
    commands: list[Command] = [CancelOrder(cid) for _, cid in cancels]
    counted: list[Command] = [m for _, m in shrink]
    counted += [m for _, m in grow]
    counted += [
        PlaceOrder(
            symbol,
            p.side,
            OrderType.LIMIT,
            p.quantity,
            p.price,
            time_in_force,
            None,
            p.reduce_only,
            p.tag,
        )
        for _, _, p in places
    ]
    deferred = 0
    if budget is not None and len(counted) > budget:
        deferred = len(counted) - budget
        counted = counted[: max(budget, 0)]
    commands += counted
    sent_modifies = sum(1 for c in counted if type(c) is ModifyOrder)
    sent_places = sum(1 for c in counted if type(c) is PlaceOrder and c.tag not in replaced)
    return OrderDiff(
        commands,
        kept=kept,
        modifies=sent_modifies,
        replaces=len(replaced),
        cancels=dropped,
        places=sent_places,
        deferred=deferred,
        in_flight=in_flight,
    )
