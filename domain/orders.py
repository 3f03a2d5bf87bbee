"""Orders and their lifecycle: one explicit transition table, one mutator per event kind.

Status values are Binance's (NEW, PARTIALLY_FILLED, FILLED, CANCELED, REJECTED, EXPIRED,
EXPIRED_IN_MATCH) plus three local states that exist only while a request is in flight:
PENDING_NEW (intent journaled, no ack yet), PENDING_CANCEL and PENDING_MODIFY.

Every status change goes through :data:`TRANSITIONS`; anything not in the table raises
:class:`~domain.errors.InvalidTransition`. Fills are idempotent by exchange trade id, and
late fills (a trade reported after the cancel ack, which Binance's REST/WebSocket race
produces) are applied to the quantities without reopening the order.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from domain.enums import Liquidity, OrderType, Side, TimeInForce
from domain.errors import InvalidTransition, OverfillError
from domain.records import typed_equality

ZERO = Decimal(0)


class OrderStatus(StrEnum):
    """Order status: three local pending states plus Binance's own."""

    PENDING_NEW = "PENDING_NEW"
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    PENDING_CANCEL = "PENDING_CANCEL"
    PENDING_MODIFY = "PENDING_MODIFY"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    EXPIRED_IN_MATCH = "EXPIRED_IN_MATCH"

    @property
    def is_terminal(self) -> bool:
        """No further request can change a terminal order (only a late fill may still arrive)."""
        return self in _TERMINAL

    @property
    def is_open(self) -> bool:
        """The order rests (or may rest) on the book and counts against limits and margin."""
        return self not in _TERMINAL


_TERMINAL = frozenset(
    {
        OrderStatus.FILLED,
        OrderStatus.CANCELED,
        OrderStatus.REJECTED,
        OrderStatus.EXPIRED,
        OrderStatus.EXPIRED_IN_MATCH,
    }
)


class OrderTrigger(StrEnum):
    """Everything that can happen to an order."""

    ACCEPT = "ACCEPT"
    REJECT = "REJECT"
    PARTIAL_FILL = "PARTIAL_FILL"
    FILL = "FILL"
    REQUEST_CANCEL = "REQUEST_CANCEL"
    CANCEL = "CANCEL"
    CANCEL_REJECT = "CANCEL_REJECT"
    REQUEST_MODIFY = "REQUEST_MODIFY"
    MODIFY = "MODIFY"
    MODIFY_REJECT = "MODIFY_REJECT"
    EXPIRE = "EXPIRE"
    EXPIRE_IN_MATCH = "EXPIRE_IN_MATCH"


class _Resume(StrEnum):
    """Table value meaning "back to NEW or PARTIALLY_FILLED, whichever the fills say"."""

    OPEN = "OPEN"


S = OrderStatus
T = OrderTrigger
OPEN = _Resume.OPEN
_LATE_ANSWER_STATES = (S.FILLED, S.CANCELED, S.EXPIRED, S.EXPIRED_IN_MATCH)
_LATE_ANSWERS = (T.ACCEPT, T.CANCEL_REJECT, T.MODIFY_REJECT)

#: The single source of truth for the order lifecycle: (status, trigger) -> next status.
TRANSITIONS: dict[tuple[OrderStatus, OrderTrigger], OrderStatus | _Resume] = {
    # The request is journaled but unacknowledged. A taker fill can be reported before the
    # REST ack arrives, and a query during reconciliation can find it already cancelled.
    (S.PENDING_NEW, T.ACCEPT): S.NEW,
    (S.PENDING_NEW, T.REJECT): S.REJECTED,
    (S.PENDING_NEW, T.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.PENDING_NEW, T.FILL): S.FILLED,
    (S.PENDING_NEW, T.CANCEL): S.CANCELED,
    (S.PENDING_NEW, T.EXPIRE): S.EXPIRED,
    (S.PENDING_NEW, T.EXPIRE_IN_MATCH): S.EXPIRED_IN_MATCH,
    # Resting.
    (S.NEW, T.ACCEPT): S.NEW,  # a duplicate ack (REST response and NEW event) is harmless
    (S.NEW, T.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.NEW, T.FILL): S.FILLED,
    (S.NEW, T.REQUEST_CANCEL): S.PENDING_CANCEL,
    (S.NEW, T.CANCEL): S.CANCELED,
    (S.NEW, T.REQUEST_MODIFY): S.PENDING_MODIFY,
    (S.NEW, T.MODIFY): S.NEW,
    (S.NEW, T.EXPIRE): S.EXPIRED,
    (S.NEW, T.EXPIRE_IN_MATCH): S.EXPIRED_IN_MATCH,
    (S.PARTIALLY_FILLED, T.ACCEPT): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, T.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, T.FILL): S.FILLED,
    (S.PARTIALLY_FILLED, T.REQUEST_CANCEL): S.PENDING_CANCEL,
    (S.PARTIALLY_FILLED, T.CANCEL): S.CANCELED,
    (S.PARTIALLY_FILLED, T.REQUEST_MODIFY): S.PENDING_MODIFY,
    (S.PARTIALLY_FILLED, T.MODIFY): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, T.EXPIRE): S.EXPIRED,
    (S.PARTIALLY_FILLED, T.EXPIRE_IN_MATCH): S.EXPIRED_IN_MATCH,
    # A cancel is in flight: fills may still land; a rejected cancel resumes the order. The
    # order was acked before the cancel went out, so an ACCEPT now is the same ack arriving
    # a second time (the user-data stream's NEW after the REST answer): harmless.
    (S.PENDING_CANCEL, T.ACCEPT): S.PENDING_CANCEL,
    (S.PENDING_CANCEL, T.PARTIAL_FILL): S.PENDING_CANCEL,
    (S.PENDING_CANCEL, T.FILL): S.FILLED,
    (S.PENDING_CANCEL, T.CANCEL): S.CANCELED,
    (S.PENDING_CANCEL, T.CANCEL_REJECT): OPEN,
    (S.PENDING_CANCEL, T.EXPIRE): S.EXPIRED,
    (S.PENDING_CANCEL, T.EXPIRE_IN_MATCH): S.EXPIRED_IN_MATCH,
    # A modify is in flight. Futures cancel an order whose new quantity is at or below the
    # executed quantity, so CANCEL is a legal outcome. A duplicate ack is harmless here too.
    (S.PENDING_MODIFY, T.ACCEPT): S.PENDING_MODIFY,
    (S.PENDING_MODIFY, T.PARTIAL_FILL): S.PENDING_MODIFY,
    (S.PENDING_MODIFY, T.FILL): S.FILLED,
    (S.PENDING_MODIFY, T.MODIFY): OPEN,
    (S.PENDING_MODIFY, T.MODIFY_REJECT): OPEN,
    (S.PENDING_MODIFY, T.CANCEL): S.CANCELED,
    (S.PENDING_MODIFY, T.EXPIRE): S.EXPIRED,
    (S.PENDING_MODIFY, T.EXPIRE_IN_MATCH): S.EXPIRED_IN_MATCH,
    # Late fills: the exchange executed before it cancelled/expired, but the trade report
    # arrived after. Quantities update; the order stays closed unless it is now complete.
    (S.CANCELED, T.PARTIAL_FILL): S.CANCELED,
    (S.CANCELED, T.FILL): S.FILLED,
    (S.EXPIRED, T.PARTIAL_FILL): S.EXPIRED,
    (S.EXPIRED, T.FILL): S.FILLED,
    (S.EXPIRED_IN_MATCH, T.PARTIAL_FILL): S.EXPIRED_IN_MATCH,
    (S.EXPIRED_IN_MATCH, T.FILL): S.FILLED,
    # Answers that crossed a terminal outcome: a cancel or modify refused as "unknown order",
    # a repeated cancel, or a REST ack arriving after the WebSocket already reported the end.
    # They change nothing.
    (S.CANCELED, T.CANCEL): S.CANCELED,
    **{(status, trigger): status for status in _LATE_ANSWER_STATES for trigger in _LATE_ANSWERS},
}


@typed_equality
class Fill(NamedTuple):
    """One execution reported by the exchange.

    Attributes:
        trade_id: Exchange trade id, unique per symbol; the idempotency key.
        client_order_id: The order it belongs to.
        side: BUY or SELL.
        quantity: Executed base quantity.
        price: Execution price.
        fee: Commission charged, in ``fee_asset``.
        fee_asset: Asset the commission was charged in: the quote asset, the base asset
            (spot BUYs by default) or a third asset such as BNB (the fee discount).
        liquidity: MAKER or TAKER.
        timestamp: Execution time, Unix ms.
        fee_quote: The commission's value in the quote asset at trade time, or ``None``.
            Only needed, and only read, when ``fee_asset`` is neither base nor quote (BNB):
            the exchange adapter that knows the BNB price at the trade fills it in. For a
            quote or base commission the value follows from ``fee`` (and ``price``), and
            :class:`~domain.account.AccountProjection` computes it itself. Last and optional
            so that a fill reported without it (and every older journal row) stays valid.
        realized_pnl: Futures: the realized PnL the exchange booked for this trade, or
            ``None`` (spot, simulators). The average-cost figure depends on the order in
            which fills are applied, and fills can reach the bot out of execution order (an
            order's own answer can overtake the user-data stream); the exchange books them
            in execution order, so its figure is the one the wallet moved by.
    """

    trade_id: int
    client_order_id: str
    side: Side
    quantity: Decimal
    price: Decimal
    fee: Decimal
    fee_asset: str
    liquidity: Liquidity
    timestamp: int
    fee_quote: Decimal | None = None
    realized_pnl: Decimal | None = None

    @property
    def notional(self) -> Decimal:
        """Quote value of the fill, price x quantity (exact)."""
        return self.price * self.quantity


class Order:
    """One order as the bot knows it: request parameters plus exchange-reported progress.

    Mutated only through :meth:`apply` (status events) and :meth:`apply_fill` (executions),
    both of which consult :data:`TRANSITIONS`.
    """

    __slots__ = (
        "client_order_id",
        "exchange_order_id",
        "executed_quantity",
        "executed_quote",
        "fee_totals",
        "order_type",
        "price",
        "quantity",
        "reduce_only",
        "side",
        "status",
        "stop_price",
        "symbol",
        "tag",
        "time_in_force",
        "trade_ids",
    )

    def __init__(
        self,
        client_order_id: str,
        symbol: str,
        side: Side,
        order_type: OrderType,
        quantity: Decimal,
        price: Decimal | None = None,
        time_in_force: TimeInForce | None = None,
        stop_price: Decimal | None = None,
        reduce_only: bool = False,
        tag: str = "",
    ) -> None:
        self.client_order_id = client_order_id
        self.symbol = symbol
        self.side = side
        self.order_type = order_type
        self.quantity = quantity
        self.price = price
        self.time_in_force = time_in_force
        self.stop_price = stop_price
        self.reduce_only = reduce_only
        self.tag = tag
        self.status = OrderStatus.PENDING_NEW
        self.exchange_order_id: int | None = None
        self.executed_quantity = ZERO
        self.executed_quote = ZERO
        # Tuples, not a set and a dict: an order has one or a few fills, and a long backtest
        # keeps hundreds of thousands of orders (an empty set alone costs 216 bytes).
        self.trade_ids: tuple[int, ...] = ()
        self.fee_totals: tuple[tuple[str, Decimal], ...] = ()

    def __repr__(self) -> str:
        return (
            f"Order({self.client_order_id} {self.side.value} {self.order_type.value} "
            f"{self.quantity}@{self.price} {self.status.value} filled={self.executed_quantity})"
        )

    @classmethod
    def restore(
        cls,
        client_order_id: str,
        symbol: str,
        side: Side,
        order_type: OrderType,
        quantity: Decimal,
        price: Decimal | None,
        time_in_force: TimeInForce | None,
        stop_price: Decimal | None,
        reduce_only: bool,
        tag: str,
        status: OrderStatus,
        exchange_order_id: int | None,
        executed_quantity: Decimal,
        executed_quote: Decimal,
        trade_ids: tuple[int, ...],
        fee_totals: tuple[tuple[str, Decimal], ...],
    ) -> Order:
        """Rebuild an order exactly as a journal recorded it (after a restart).

        The journal only ever stored states the transition table produced, so the order is
        restored as it was rather than replayed event by event.

        Raises:
            OverfillError: The recorded executed quantity exceeds the order quantity.
        """
        if executed_quantity > quantity:
            raise OverfillError(
                f"order {client_order_id}: journaled executed {executed_quantity} > {quantity}"
            )
        order = cls(
            client_order_id,
            symbol,
            side,
            order_type,
            quantity,
            price,
            time_in_force,
            stop_price,
            reduce_only,
            tag,
        )
        order.status = status
        order.exchange_order_id = exchange_order_id
        order.executed_quantity = executed_quantity
        order.executed_quote = executed_quote
        order.trade_ids = trade_ids
        order.fee_totals = fee_totals
        return order

    @property
    def remaining_quantity(self) -> Decimal:
        """Quantity still to execute."""
        return self.quantity - self.executed_quantity

    @property
    def average_price(self) -> Decimal | None:
        """Exact volume-weighted execution price (cumulative quote / cumulative quantity).

        Computed on demand, like Binance's ``Z / z``, so no rounded average is ever stored.
        """
        if not self.executed_quantity:
            return None
        return self.executed_quote / self.executed_quantity

    @property
    def fees(self) -> dict[str, Decimal]:
        """Commission paid so far, per asset."""
        return dict(self.fee_totals)

    def can(self, trigger: OrderTrigger) -> bool:
        """Whether ``trigger`` is allowed in the current status."""
        return (self.status, trigger) in TRANSITIONS

    def apply(
        self,
        trigger: OrderTrigger,
        exchange_order_id: int | None = None,
        price: Decimal | None = None,
        quantity: Decimal | None = None,
    ) -> OrderStatus:
        """Apply a non-fill event (ack, reject, cancel request/ack, modify, expiry).

        Args:
            trigger: What happened. Use :meth:`apply_fill` for executions.
            exchange_order_id: The venue's id, carried by an ACCEPT.
            price: New price, carried by a MODIFY.
            quantity: New total quantity, carried by a MODIFY.

        Returns:
            The new status.

        Raises:
            InvalidTransition: The event is not allowed in the current status.
        """
        if trigger in (OrderTrigger.FILL, OrderTrigger.PARTIAL_FILL):
            raise InvalidTransition(self.client_order_id, self.status.value, trigger.value)
        if (
            trigger is OrderTrigger.MODIFY
            and quantity is not None
            and quantity < self.executed_quantity
        ):
            # Checked before anything changes, so a refused modify leaves the order intact.
            raise OverfillError(
                f"order {self.client_order_id}: modified quantity {quantity} is below "
                f"executed {self.executed_quantity}"
            )
        self._transition(trigger)
        if exchange_order_id is not None:
            self.exchange_order_id = exchange_order_id
        if trigger is OrderTrigger.MODIFY:
            if price is not None:
                self.price = price
            if quantity is not None:
                self.quantity = quantity
        return self.status

    def apply_fill(self, fill: Fill) -> bool:
        """Apply an execution once; a repeated trade id changes nothing.

        Returns:
            True if the fill was new and applied, False for a duplicate.

        Raises:
            OverfillError: The fill would execute more than the order quantity.
            InvalidTransition: The order cannot take fills in its status (e.g. REJECTED).
        """
        if fill.trade_id in self.trade_ids:
            return False
        # Share the fill's Decimal when this is the first fill: most orders fill once, and a
        # long backtest keeps hundreds of thousands of them.
        executed = (
            self.executed_quantity + fill.quantity if self.executed_quantity else fill.quantity
        )
        if executed > self.quantity:
            raise OverfillError(
                f"order {self.client_order_id}: fill {fill.trade_id} of {fill.quantity} exceeds "
                f"remaining {self.remaining_quantity}"
            )
        trigger = OrderTrigger.FILL if executed == self.quantity else OrderTrigger.PARTIAL_FILL
        self._transition(trigger)
        self.trade_ids += (fill.trade_id,)
        self.executed_quantity = executed
        self.executed_quote += fill.quantity * fill.price
        if fill.fee:
            totals = dict(self.fee_totals)
            totals[fill.fee_asset] = totals.get(fill.fee_asset, ZERO) + fill.fee
            self.fee_totals = tuple(totals.items())
        return True

    def _transition(self, trigger: OrderTrigger) -> None:
        target = TRANSITIONS.get((self.status, trigger))
        if target is None:
            raise InvalidTransition(self.client_order_id, self.status.value, trigger.value)
        if target is OPEN:
            self.status = (
                OrderStatus.PARTIALLY_FILLED if self.executed_quantity else OrderStatus.NEW
            )
        else:
            assert isinstance(target, OrderStatus)
            self.status = target
