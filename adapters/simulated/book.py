"""Resting orders of the simulated exchange, kept sorted so a candle checks only the best ones."""

from __future__ import annotations

import bisect
from decimal import Decimal

from domain.enums import OrderType, Side, TimeInForce
from domain.orders import OrderStatus

ZERO = Decimal(0)


class SimOrder:
    """The exchange's own record of an order (not the bot's :class:`domain.orders.Order`)."""

    __slots__ = (
        "client_order_id",
        "executed_quantity",
        "executed_quote",
        "locked",
        "order_id",
        "order_type",
        "price",
        "quantity",
        "reduce_only",
        "seq",
        "side",
        "status",
        "stop_price",
        "time_in_force",
        "update_time",
    )

    def __init__(
        self,
        order_id: int,
        client_order_id: str,
        side: Side,
        order_type: OrderType,
        quantity: Decimal,
        price: Decimal | None,
        stop_price: Decimal | None,
        time_in_force: TimeInForce | None,
        reduce_only: bool,
        seq: int,
        update_time: int,
    ) -> None:
        self.order_id = order_id
        self.client_order_id = client_order_id
        self.side = side
        self.order_type = order_type
        self.quantity = quantity
        self.price = price
        self.stop_price = stop_price
        self.time_in_force = time_in_force
        self.reduce_only = reduce_only
        self.seq = seq
        self.update_time = update_time
        self.status = OrderStatus.NEW
        self.executed_quantity = ZERO
        self.executed_quote = ZERO
        self.locked = ZERO  # spot: balance still reserved by the unfilled remainder

    @property
    def remaining(self) -> Decimal:
        """Unfilled quantity (the quantity object itself while nothing has filled)."""
        executed = self.executed_quantity
        return self.quantity - executed if executed else self.quantity

    @property
    def trigger_on_rise(self) -> bool:
        """Conditional orders that fire when price rises to the stop: BUY stop, SELL take-profit."""
        return (self.order_type is OrderType.STOP_MARKET) == (self.side is Side.BUY)


def _bid_key(o: SimOrder) -> tuple[Decimal, int]:
    return (o.price or ZERO, -o.seq)


def _ask_key(o: SimOrder) -> tuple[Decimal, int]:
    return (o.price or ZERO, o.seq)


def _rise_key(o: SimOrder) -> tuple[Decimal, int]:
    return (o.stop_price or ZERO, o.seq)


def _fall_key(o: SimOrder) -> tuple[Decimal, int]:
    return (o.stop_price or ZERO, -o.seq)


class RestingBook:
    """Our resting orders, price-time sorted.

    * ``bids``: ascending by (price, -seq), so ``bids[-1]`` is the best (highest, oldest) bid.
    * ``asks``: ascending by (price, seq), so ``asks[0]`` is the best ask.
    * ``rise``: conditional orders firing on a rise, ascending by stop: ``rise[0]`` fires first.
    * ``fall``: conditional orders firing on a fall, ascending by stop: ``fall[-1]`` fires first.

    With the best order at a list end, a candle that touches none of them costs four
    comparisons, whatever the number of resting orders.
    """

    __slots__ = ("asks", "bids", "fall", "rise")

    def __init__(self) -> None:
        self.bids: list[SimOrder] = []
        self.asks: list[SimOrder] = []
        self.rise: list[SimOrder] = []
        self.fall: list[SimOrder] = []

    def __len__(self) -> int:
        return len(self.bids) + len(self.asks) + len(self.rise) + len(self.fall)

    def add(self, order: SimOrder) -> None:
        """Insert a resting order at its price-time position."""
        if order.order_type.is_conditional:
            if order.trigger_on_rise:
                bisect.insort(self.rise, order, key=_rise_key)
            else:
                bisect.insort(self.fall, order, key=_fall_key)
        elif order.side is Side.BUY:
            bisect.insort(self.bids, order, key=_bid_key)
        else:
            bisect.insort(self.asks, order, key=_ask_key)

    def remove(self, order: SimOrder) -> None:
        """Take an order off the book (identity match)."""
        for side in self._list_for(order):
            for i, o in enumerate(side):
                if o is order:
                    del side[i]
                    return

    def _list_for(self, order: SimOrder) -> tuple[list[SimOrder], ...]:
        if order.order_type.is_conditional:
            return (self.rise, self.fall)
        return (self.bids,) if order.side is Side.BUY else (self.asks,)

    def all_orders(self) -> list[SimOrder]:
        """Every resting order, oldest first."""
        return sorted([*self.bids, *self.asks, *self.rise, *self.fall], key=lambda o: o.seq)

    def max_price(self, side: Side) -> Decimal:
        """Highest price among resting orders of ``side`` (limit price or stop price)."""
        best = ZERO
        if side is Side.BUY:
            if self.bids:
                best = self.bids[-1].price or ZERO
        elif self.asks:
            best = self.asks[-1].price or ZERO
        if self.rise or self.fall:
            for o in (*self.rise, *self.fall):
                if o.side is side and o.stop_price is not None and o.stop_price > best:
                    best = o.stop_price
        return best
