"""Order execution: strategy commands out to the exchange, exchange events back into state.

Commands become exchange requests; events update the orders, the bot's account projection,
the repository and the event sink.

This is the one place that owns the bot's orders. It assigns deterministic client order
ids, records each intent before the request leaves, applies every event through the
order's transition table, and hands the strategy the events it must react to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from functools import partial
from typing import Any

from application.ports.clock import Clock
from application.ports.event_sink import EventSink
from application.ports.exchange import ExchangePort, OrderRequest
from application.ports.repository import OrderRepository
from application.prepared_requests import (
    CancelAllRequest,
    CancelRequest,
    LocalAnswer,
    ModifyRequest,
    PlaceRequest,
    PreparedRequest,
    ReplaceRequest,
)
from domain.account import AccountProjection
from domain.client_ids import ClientOrderIdSequence
from domain.commands import CancelAllOrders, CancelOrder, Command, ModifyOrder, PlaceOrder
from domain.enums import Liquidity
from domain.events import (
    CancelRejected,
    ExecutionEvent,
    FundingPaid,
    ModifyRejected,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderModified,
    OrderRejected,
    RejectReason,
)
from domain.instruments import Instrument
from domain.orders import Order, OrderStatus, OrderTrigger
from domain.risk import PreTradeRisk, RiskVerdict

ZERO = Decimal(0)


_PENDING_CANCEL = OrderStatus.PENDING_CANCEL

__all__ = ["ExecutionService", "ExecutionStats", "PreparedRequest", "UnknownOrderEvent"]


class UnknownOrderEvent(LookupError):
    """The exchange reported an event for a client order id this bot never issued."""


class ExecutionStats:
    """Counters for the run report."""

    __slots__ = (
        "cancels",
        "fills",
        "maker_fills",
        "modifies",
        "orders_placed",
        "rejects",
        "risk_blocks",
        "taker_fills",
    )

    def __init__(self) -> None:
        self.orders_placed = 0
        self.rejects = 0
        self.risk_blocks = 0
        self.cancels = 0
        self.modifies = 0
        self.fills = 0
        self.maker_fills = 0
        self.taker_fills = 0


class ExecutionService:
    """Executes commands on one instrument and keeps the bot's view of its orders.

    Args:
        exchange: The venue (simulated or real).
        instrument: The traded instrument.
        account: The bot's account projection (updated from fills and funding).
        ids: Client order id sequence with the bot's prefix.
        repository: Where orders and fills are recorded.
        sink: Where structured events go.
        clock: The clock port (the simulated exchange's clock in a backtest).
        risk: Pre-trade risk checks; a request that fails one never reaches the exchange.
    """

    def __init__(
        self,
        exchange: ExchangePort,
        instrument: Instrument,
        account: AccountProjection,
        ids: ClientOrderIdSequence,
        repository: OrderRepository,
        sink: EventSink,
        clock: Clock,
        risk: PreTradeRisk | None = None,
    ) -> None:
        self._exchange = exchange
        self.instrument = instrument
        self.account = account
        self._ids = ids
        self._repo = repository
        self._sink = sink
        self._clock = clock
        self._risk = risk
        #: Latest market price (the loop sets it on every candle); values exposure for risk.
        self.mark_price: Decimal | None = None
        self._open: dict[str, Order] = {}
        self.stats = ExecutionStats()
        self._on_event = self._event_table()

    # TradingContext ----------------------------------------------------------------
    @property
    def open_orders(self) -> Mapping[str, Order]:
        """Open orders by client id."""
        return self._open

    # Commands ----------------------------------------------------------------------
    def execute(self, commands: Iterable[Command]) -> list[tuple[ExecutionEvent, Order | None]]:
        """Journal every command's intent, then send them in order.

        Returns the events the requests produced, with their orders.
        """
        return self.send(self.prepare(commands))

    def prepare(self, commands: Iterable[Command]) -> list[PreparedRequest]:
        """Phase one: assign client ids and journal every intent; nothing is sent yet.

        A caller that needs the intents to land together with other records (the trading
        session journals the strategy's state with them) wraps this call in one transaction.
        After a crash between :meth:`prepare` and :meth:`send`, reconciliation finds each
        intent PENDING_NEW / PENDING_CANCEL in the journal and resolves it with the exchange.
        """
        prepared: list[PreparedRequest] = []
        for command in commands:
            if type(command) is PlaceOrder:
                prepared.append(self._prepare_place(command))
            elif type(command) is CancelOrder:
                order = self._open.get(command.client_order_id)
                if order is not None:
                    if order.can(OrderTrigger.REQUEST_CANCEL):
                        order.apply(OrderTrigger.REQUEST_CANCEL)
                        self._repo.update_order(order)
                    # Sent even before the ack: Binance cancels by client order id.
                    prepared.append(CancelRequest(order))
            elif type(command) is CancelAllOrders:
                for order in self._open.values():
                    if order.can(OrderTrigger.REQUEST_CANCEL):
                        order.apply(OrderTrigger.REQUEST_CANCEL)
                        self._repo.update_order(order)
                prepared.append(CancelAllRequest(command.symbol))
            elif type(command) is ModifyOrder:
                step = self._prepare_modify(command)
                if step is not None:
                    prepared.append(step)
            else:
                raise TypeError(f"unknown command {command!r}")
        return prepared

    def send(
        self, prepared: Iterable[PreparedRequest]
    ) -> list[tuple[ExecutionEvent, Order | None]]:
        """Phase two: send prepared requests in order, applying each answer as it arrives."""
        out: list[tuple[ExecutionEvent, Order | None]] = []
        for events in self.send_raw(prepared):
            out.extend(self.apply(events))
        return out

    def send_raw(self, prepared: Iterable[PreparedRequest]) -> list[list[ExecutionEvent]]:
        """Send prepared requests in order; return each answer unapplied.

        For a caller that applies every event in its own transaction (the trading session).
        """
        answers: list[list[ExecutionEvent]] = []
        exchange = self._exchange
        for step in prepared:
            if type(step) is PlaceRequest:
                events = exchange.place_order(step.request)
            elif type(step) is LocalAnswer:
                events = [step.answer]
            elif type(step) is CancelRequest:
                order = step.order
                self.stats.cancels += 1
                self._sink.emit(
                    "order.cancel", self._clock.now_ms(), client_order_id=order.client_order_id
                )
                events = exchange.cancel_order(order.symbol, order.client_order_id)
            elif type(step) is CancelAllRequest:
                symbol = step.symbol
                pending = sum(1 for o in self._open.values() if o.status is _PENDING_CANCEL)
                self.stats.cancels += pending
                self._sink.emit(
                    "order.cancel_all", self._clock.now_ms(), symbol=symbol, open=pending
                )
                events = exchange.cancel_all_orders(symbol)
            elif type(step) is ModifyRequest:
                order, cmd = step.order, step.command
                events = exchange.modify_order(
                    order.symbol, order.client_order_id, cmd.price, cmd.quantity
                )
            elif type(step) is ReplaceRequest:
                order, cmd = step.order, step.command
                events = exchange.replace_order(
                    order.symbol,
                    order.client_order_id,
                    step.replacement.client_order_id,
                    cmd.price,
                    cmd.quantity,
                )
            else:
                raise TypeError(f"unknown prepared request {step!r}")
            if events:
                answers.append(events)
        return answers

    def _prepare_place(self, cmd: PlaceOrder) -> PreparedRequest:
        verdict = self._check_risk(cmd)
        cid = self._ids.next_id()
        order = Order(
            cid,
            cmd.symbol,
            cmd.side,
            cmd.order_type,
            cmd.quantity,
            cmd.price,
            cmd.time_in_force,
            cmd.stop_price,
            cmd.reduce_only,
            cmd.tag,
        )
        # Journal the intent before the request leaves the process.
        self._repo.add_order(order)
        self._open[cid] = order
        if verdict is not None:
            # Stopped by pre-trade risk: journaled and answered locally, never sent.
            now = self._clock.now_ms()
            self.stats.risk_blocks += 1
            self._sink.emit(
                "risk.block",
                now,
                client_order_id=cid,
                rule=verdict.rule,
                detail=verdict.detail,
                side=cmd.side,
                quantity=cmd.quantity,
                price=cmd.price,
            )
            reject = OrderRejected(
                cid, RejectReason.RISK_BLOCKED, 0, f"{verdict.rule}: {verdict.detail}", now
            )
            return LocalAnswer(order, reject)
        self.stats.orders_placed += 1
        self._sink.emit(
            "order.submit",
            self._clock.now_ms(),
            client_order_id=cid,
            side=cmd.side,
            type=cmd.order_type,
            quantity=cmd.quantity,
            price=cmd.price,
            stop_price=cmd.stop_price,
            tag=cmd.tag,
        )
        request = OrderRequest(
            cid,
            cmd.symbol,
            cmd.side,
            cmd.order_type,
            cmd.quantity,
            cmd.price,
            cmd.time_in_force,
            cmd.stop_price,
            cmd.reduce_only,
        )
        return PlaceRequest(order, request)

    def _prepare_modify(self, cmd: ModifyOrder) -> PreparedRequest | None:
        order = self._open.get(cmd.client_order_id)
        if order is None:
            return None
        if not order.can(OrderTrigger.REQUEST_MODIFY):
            # Still waiting for an answer (ack, cancel or an earlier modify): a second request
            # would race it. The strategy sees the order's real state on the next event.
            self._sink.emit(
                "order.modify_skipped",
                self._clock.now_ms(),
                client_order_id=cmd.client_order_id,
                status=order.status,
            )
            return None
        if not self.instrument.is_futures:
            return self._prepare_replace(order, cmd)
        order.apply(OrderTrigger.REQUEST_MODIFY)
        self._repo.update_order(order)
        self.stats.modifies += 1
        self._sink.emit(
            "order.modify",
            self._clock.now_ms(),
            client_order_id=cmd.client_order_id,
            price=cmd.price,
            quantity=cmd.quantity,
        )
        return ModifyRequest(order, cmd)

    def _prepare_replace(self, order: Order, cmd: ModifyOrder) -> PreparedRequest:
        """Spot: the modify becomes a cancel of ``order`` and a replacement with a fresh id.

        Binance spot has no amend for price: cancel-replace creates a new exchange order,
        and the bot gives it a client id of its own from the same sequence, so each client id
        names exactly one exchange order (a query by id, and reconciliation after a restart,
        then always find the order meant). The replacement inherits everything but price and
        quantity, its tag included, so the strategy sees its level still covered.
        """
        cid = self._ids.next_id()
        replacement = Order(
            cid,
            order.symbol,
            order.side,
            order.order_type,
            cmd.quantity,
            cmd.price,
            order.time_in_force,
            order.stop_price,
            order.reduce_only,
            order.tag,
        )
        order.apply(OrderTrigger.REQUEST_CANCEL)
        self._repo.update_order(order)
        self._repo.add_order(replacement)
        self._open[cid] = replacement
        self.stats.modifies += 1
        now = self._clock.now_ms()
        old = order.client_order_id
        self._sink.emit(
            "order.modify",
            now,
            client_order_id=old,
            price=cmd.price,
            quantity=cmd.quantity,
            replaced_by=cid,
        )
        self._sink.emit(
            "order.submit",
            now,
            client_order_id=cid,
            side=order.side,
            type=order.order_type,
            quantity=cmd.quantity,
            price=cmd.price,
            stop_price=order.stop_price,
            tag=order.tag,
            replaces=old,
        )
        return ReplaceRequest(order, replacement, cmd)

    def _check_risk(self, cmd: PlaceOrder) -> RiskVerdict | None:
        """The refusing verdict, or None when the order may go (or no risk is configured)."""
        risk = self._risk
        if risk is None:
            return None
        account = self.account
        mark = self.mark_price
        position = account.position.quantity
        equity = account.equity(mark) if mark is not None else account.cash
        verdict = risk.check(cmd, position, list(self._open.values()), equity, mark)
        return None if verdict.allowed else verdict

    def restore_open_orders(self, orders: Iterable[Order]) -> None:
        """Take over open orders rebuilt from the journal after a restart."""
        for order in orders:
            if not order.status.is_terminal:
                self._open[order.client_order_id] = order

    # Events ------------------------------------------------------------------------
    def apply(self, events: Iterable[ExecutionEvent]) -> list[tuple[ExecutionEvent, Order | None]]:
        """Apply exchange events to orders and the account; returns them with their orders.

        A fill whose trade id was already applied changes nothing and is left out of the
        result, so the strategy answers each execution exactly once.

        Raises:
            UnknownOrderEvent: An event names a client id this bot never issued.
        """
        out: list[tuple[ExecutionEvent, Order | None]] = []
        apply_one = self.apply_one
        for event in events:
            applied = apply_one(event)
            if applied is not None:
                out.append(applied)
        return out

    def apply_one(self, event: ExecutionEvent) -> tuple[ExecutionEvent, Order | None] | None:
        """Apply one exchange event (see :meth:`apply`); None when it changed nothing.

        Raises:
            UnknownOrderEvent: The event names a client id this bot never issued.
        """
        if isinstance(event, FundingPaid):
            if not self._repo.add_funding(event):
                return None  # already booked (a replayed settlement)
            self.account.apply_funding(event)
            self._sink.emit(
                "funding",
                event.timestamp,
                amount=event.amount,
                rate=event.rate,
                mark_price=event.mark_price,
                position=event.position_quantity,
            )
            return (event, None)
        cid = event.client_order_id
        order = self._open.get(cid) or self._repo.get_order(cid)
        if order is None:
            raise UnknownOrderEvent(f"event {type(event).__name__} for unknown order {cid}")
        if _repeated(event, order):
            return None  # the REST answer and the user-data stream report it both
        if not self._on_event[type(event)](event, order):
            return None  # a repeated trade id: booked once, so answered once
        if order.status.is_terminal:
            self._open.pop(cid, None)
        self._repo.update_order(order, event)
        return (event, order)

    def _event_table(self) -> dict[type, Callable[[Any, Order], bool]]:
        """The one map from an exchange event to what it does to our order.

        Each handler applies the order's transition (:data:`domain.orders.TRANSITIONS` says
        where it leads) and logs it; it returns False when the event changes nothing and
        must not be answered (a fill whose trade id was already booked).
        """
        return {
            OrderFilled: self._on_fill,
            OrderAccepted: self._on_accepted,
            OrderCanceled: self._on_canceled,
            OrderExpired: self._on_expired,
            OrderModified: self._on_modified,
            OrderRejected: self._on_rejected,
            CancelRejected: partial(
                self._refused, "order.cancel_rejected", OrderTrigger.CANCEL_REJECT
            ),
            ModifyRejected: partial(
                self._refused, "order.modify_rejected", OrderTrigger.MODIFY_REJECT
            ),
        }

    def _on_accepted(self, event: OrderAccepted, order: Order) -> bool:
        order.apply(OrderTrigger.ACCEPT, exchange_order_id=event.exchange_order_id)
        self._sink.emit(
            "order.accepted",
            event.timestamp,
            client_order_id=order.client_order_id,
            exchange_order_id=event.exchange_order_id,
            status=order.status,
        )
        return True

    def _on_canceled(self, event: OrderCanceled, order: Order) -> bool:
        order.apply(OrderTrigger.CANCEL)
        self._sink.emit("order.canceled", event.timestamp, client_order_id=order.client_order_id)
        return True

    def _on_expired(self, event: OrderExpired, order: Order) -> bool:
        order.apply(OrderTrigger.EXPIRE_IN_MATCH if event.in_match else OrderTrigger.EXPIRE)
        self._sink.emit("order.expired", event.timestamp, client_order_id=order.client_order_id)
        return True

    def _on_modified(self, event: OrderModified, order: Order) -> bool:
        order.apply(OrderTrigger.MODIFY, price=event.price, quantity=event.quantity)
        self._sink.emit(
            "order.modified",
            event.timestamp,
            client_order_id=order.client_order_id,
            price=event.price,
            quantity=event.quantity,
        )
        return True

    def _on_rejected(self, event: OrderRejected, order: Order) -> bool:
        order.apply(OrderTrigger.REJECT)
        self.stats.rejects += 1
        self._sink.emit(
            "order.rejected",
            event.timestamp,
            client_order_id=order.client_order_id,
            code=event.code,
            reason=event.reason,
            message=event.message,
        )
        return True

    def _refused(
        self,
        name: str,
        trigger: OrderTrigger,
        event: CancelRejected | ModifyRejected,
        order: Order,
    ) -> bool:
        """A refused cancel / modify: the order resumes (when it still can), and a log line."""
        if order.can(trigger):
            order.apply(trigger)
        self._sink.emit(
            name,
            event.timestamp,
            client_order_id=order.client_order_id,
            code=event.code,
            reason=event.reason,
            message=event.message,
            status=order.status,
        )
        return True

    def _on_fill(self, event: OrderFilled, order: Order) -> bool:
        """Book a fill; False (and nothing changed) when its trade id was already applied."""
        fill = event.fill
        if fill.trade_id in order.trade_ids or not self._repo.add_fill(fill):
            return False  # already booked: on this order, or (journal) under this trade id
        order.apply_fill(fill)
        realized = self.account.apply_fill(fill)
        stats = self.stats
        stats.fills += 1
        if fill.liquidity is Liquidity.MAKER:
            stats.maker_fills += 1
        else:
            stats.taker_fills += 1
        self._sink.emit(
            "fill",
            fill.timestamp,
            client_order_id=fill.client_order_id,
            trade_id=fill.trade_id,
            side=fill.side,
            quantity=fill.quantity,
            price=fill.price,
            fee=fill.fee,
            fee_asset=fill.fee_asset,
            liquidity=fill.liquidity,
            realized_pnl=realized,
        )
        return True


def _repeated(event: ExecutionEvent, order: Order) -> bool:
    """The same acceptance or cancellation a second time: journaled and logged once only.

    An acceptance repeats when the order already carries that exchange order id (a fill
    reported before the ack leaves it unset, so that ack still counts); a cancellation when
    the order is already cancelled. A modification reported for an order that is already
    closed is old news (the stream's report of a modify that arrives after the cancel or
    fill was applied): it changes nothing, where applying it killed the engine with
    ``InvalidTransition`` in a validation run.
    """
    if isinstance(event, OrderAccepted):
        return order.exchange_order_id == event.exchange_order_id
    if isinstance(event, OrderModified):
        return order.status.is_terminal
    return isinstance(event, OrderCanceled) and order.status is OrderStatus.CANCELED
