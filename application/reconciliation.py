"""Restart reconciliation: make the journal and the exchange agree before any trading.

Run once at start-up, after the bot's state has been rebuilt from the journal:

(a) every journaled intent without an ack is looked up by client order id on the exchange and
    adopted, or marked never-sent;
(b) fills after the last journaled trade id, and funding after the last journaled settlement,
    are applied with their fees;
(c) open orders on the exchange that carry our prefix but are unknown to the journal are
    adopted or cancelled (configurable); orders without our prefix are never touched;
(d) a position or balance that still differs after the replay stops the bot (fail closed)
    with a report of exactly what differs, unless the operator accepts the exchange's state.

Every event found is applied through the execution service, so the journal, the account
projection and the strategy see it exactly as if it had arrived live.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from enum import StrEnum

from application.account_state import checkpoint_marks, save_checkpoint
from application.execution import ExecutionService
from application.ports.clock import Clock
from application.ports.event_sink import EventSink
from application.ports.exchange import AccountSnapshot, ExchangePort, OrderSnapshot
from application.ports.repository import OrderRepository
from domain.account import AccountProjection
from domain.client_ids import ClientOrderIdSequence
from domain.events import (
    ExecutionEvent,
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
from domain.orders import Order, OrderStatus

ZERO = Decimal(0)


#: Binance reports balances to 8 decimals while the journal keeps average-cost PnL exact
#: (a division can leave more digits): a difference below one unit of the 8th decimal is
#: the exchange's display rounding, not a missing event.
BALANCE_TOLERANCE = Decimal("0.00000001")
#: Fills journaled this long before the newest one are known to have no unseen
#: predecessor (stream delays are seconds); everything after is read again and deduplicated.
SETTLE_MS = 600_000
#: How many times the balances are read again while trades keep landing during the read.
CONSISTENT_READS = 5


class UnknownOrderPolicy(StrEnum):
    """What to do with an open order of ours that the journal does not know."""

    CANCEL = "cancel"
    ADOPT = "adopt"


@dataclass
class ReconciliationReport:
    """What reconciliation found and did; stored in the journal and logged.

    Built up step by step during one run, then stored; not changed afterwards.
    """

    timestamp: int
    adopted_intents: list[str] = field(default_factory=list)
    never_sent: list[str] = field(default_factory=list)
    status_updates: list[str] = field(default_factory=list)
    resent_cancels: list[str] = field(default_factory=list)
    missed_fills: list[int] = field(default_factory=list)
    missed_funding: list[int] = field(default_factory=list)
    adopted_unknown: list[str] = field(default_factory=list)
    canceled_unknown: list[str] = field(default_factory=list)
    foreign_orders: int = 0
    foreign_fills: list[int] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    accepted_exchange_state: bool = False

    @property
    def ok(self) -> bool:
        """Trading may start: nothing differs, or the operator accepted the exchange's state."""
        return not self.differences or self.accepted_exchange_state

    def to_json(self) -> str:
        """The report as one JSON object."""
        return json.dumps({**asdict(self), "ok": self.ok}, sort_keys=True)


class ReconciliationFailed(RuntimeError):
    """The journal and the exchange still disagree; trading must not start."""

    def __init__(self, report: ReconciliationReport) -> None:
        super().__init__(
            "refusing to trade: the exchange and the journal disagree: "
            + "; ".join(report.differences)
            + " (pass --accept-exchange-state to adopt the exchange's state)"
        )
        self.report = report


#: Why a journaled intent without an ack is not on the exchange, by occasion: at start-up
#: the process died before (or while) sending it; later, sending it failed because the
#: exchange was unavailable (a ban, a 5xx) and nothing reached it.
NEVER_SENT_AT_START = "not on the exchange after a restart"
NEVER_SENT_UNAVAILABLE = "never reached the exchange: it was unavailable when this was sent"


class Reconciler:
    """Brings the journal (and everything projected from it) in line with the exchange.

    Args:
        exchange: The venue holding the truth about orders, fills and balances.
        execution: The execution service, already restored from the journal.
        repository: The journal.
        ids: The bot's client order id sequence (its prefix decides what is ours).
        sink: Where the report is emitted.
        clock: Time source for the report.
        unknown_orders: Adopt or cancel our open orders the journal does not know.
        never_sent: The message of the NEVER_SENT rejection (what happened to the request).
    """

    def __init__(
        self,
        exchange: ExchangePort,
        execution: ExecutionService,
        repository: OrderRepository,
        ids: ClientOrderIdSequence,
        sink: EventSink,
        clock: Clock,
        unknown_orders: UnknownOrderPolicy = UnknownOrderPolicy.CANCEL,
        never_sent: str = NEVER_SENT_AT_START,
    ) -> None:
        self._never_sent = never_sent
        self._exchange = exchange
        self._execution = execution
        self._repo = repository
        self._ids = ids
        self._sink = sink
        self._clock = clock
        self._unknown = unknown_orders
        #: Value (quote, at the mark) of the balance change the accepted exchange state
        #: brought that no fill, fee or funding explains: a deposit (+) or withdrawal (-).
        self.transfer = ZERO

    def run(
        self, accept_exchange_state: bool = False
    ) -> tuple[ReconciliationReport, list[tuple[ExecutionEvent, Order | None]]]:
        """Reconcile; returns the report and every event applied (for the strategy).

        Raises:
            ReconciliationFailed: Balances or the position still differ and the operator did
                not accept the exchange's state. The report is stored and emitted first.
        """
        now = self._clock.now_ms()
        report = ReconciliationReport(timestamp=now, accepted_exchange_state=accept_exchange_state)
        applied: list[tuple[ExecutionEvent, Order | None]] = []
        symbol = self._execution.instrument.symbol
        # The execution service's own objects (restored from the journal), so every event
        # applied below is seen here too.
        journaled = dict(self._execution.open_orders)
        # One request for everything still open; individual queries only for the journal's
        # open orders the exchange no longer lists (to learn how they ended): on a venue each
        # request is a network round trip.
        exchange_open = {snap.client_order_id: snap for snap in self._exchange.open_orders(symbol)}
        snapshots = {
            cid: exchange_open[cid]
            if cid in exchange_open
            else self._exchange.query_order(symbol, cid)
            for cid in journaled
        }
        # (a) intents without an ack.
        for cid, order in journaled.items():
            snap = snapshots[cid]
            if order.status is not OrderStatus.PENDING_NEW:
                continue
            if snap is None:
                report.never_sent.append(cid)
                applied += self._apply(
                    OrderRejected(cid, RejectReason.NEVER_SENT, 0, self._never_sent, now)
                )
            else:
                report.adopted_intents.append(cid)
                applied += self._apply(OrderAccepted(cid, snap.exchange_order_id, now))
        # (b) fills and funding the journal missed.
        covered_trade, covered_funding = checkpoint_marks(self._repo)
        after_trade = max(self._repo.settled_trade_id(SETTLE_MS), covered_trade)
        missed, newest = self._missed_fills(after_trade, journaled, snapshots, report)
        applied += missed
        if newest is not None:
            after_trade = max(after_trade, newest)
        lagging = [
            cid
            for cid, order in journaled.items()
            if (snap := snapshots.get(cid)) is not None
            and snap.executed_quantity > order.executed_quantity
        ]
        if lagging:
            # An order executed more than the journal knows, and the fills are older than
            # the settled mark: read the whole history again (duplicates are skipped).
            self._sink.emit("reconciliation.rescan", now, orders=lagging[:20])
            missed, newest = self._missed_fills(max(covered_trade, 0), journaled, snapshots, report)
            applied += missed
            if newest is not None:
                after_trade = max(after_trade, newest)
        payments = self._repo.funding_payments()
        last_funding = max(payments[-1].timestamp if payments else -1, covered_funding)
        for payment in self._exchange.funding_since(symbol, last_funding):
            report.missed_funding.append(payment.timestamp)
            applied += self._apply(payment)
        # Terminal states and pending requests the journal did not see answered.
        vanished: list[Order] = []
        for cid, order in journaled.items():
            snap = snapshots[cid]
            if order.status.is_terminal:
                continue
            if snap is None:
                vanished.append(order)
                continue
            applied += self._sync_status(order, snap, report)
        # (c) our open orders the journal does not know.
        for snap in exchange_open.values():
            cid = snap.client_order_id
            if self._repo.get_order(cid) is not None:
                continue
            if not self._ids.is_ours(cid):
                report.foreign_orders += 1
                continue
            if self._unknown is UnknownOrderPolicy.ADOPT:
                self._adopt(snap)
                report.adopted_unknown.append(cid)
            else:
                self._exchange.cancel_order(symbol, cid)
                report.canceled_unknown.append(cid)
        # (d) what still differs.
        report.differences.extend(
            f"order {o.client_order_id} is {o.status.value} in the journal but unknown to the "
            "exchange"
            for o in vanished
        )
        differences, late = self._consistent_differences(after_trade, journaled, snapshots, report)
        applied += late
        report.differences.extend(differences)
        if report.differences and accept_exchange_state:
            for order in vanished:
                applied += self._apply(OrderCanceled(order.client_order_id, now))
            self._accept_exchange_state()
            # The accepted state is the new starting point: later restarts rebuild from it.
            save_checkpoint(self._repo, self._execution.account)
        self._repo.save_report("reconciliation", now, report.to_json())
        self._sink.emit("reconciliation", now, report=report.to_json(), ok=report.ok)
        if not report.ok:
            raise ReconciliationFailed(report)
        return report, applied

    # ------------------------------------------------------------------ helpers
    def _missed_fills(
        self,
        after_trade: int,
        journaled: dict[str, Order],
        snapshots: dict[str, OrderSnapshot | None],
        report: ReconciliationReport,
    ) -> tuple[list[tuple[ExecutionEvent, Order | None]], int | None]:
        """Apply the exchange's trades after ``after_trade`` that the journal lacks.

        Returns:
            The applied events and the highest trade id the exchange listed (None when it
            listed none: nothing traded since ``after_trade``).
        """
        symbol = self._execution.instrument.symbol
        applied: list[tuple[ExecutionEvent, Order | None]] = []
        newest: int | None = None
        for fill in self._exchange.trades_since(symbol, after_trade):
            newest = fill.trade_id if newest is None else max(newest, fill.trade_id)
            known = self._repo.get_order(fill.client_order_id)
            if known is not None and fill.trade_id in known.trade_ids:
                continue  # already booked (read again from before the settled mark)
            if known is None:
                if not self._ids.is_ours(fill.client_order_id):
                    report.foreign_fills.append(fill.trade_id)
                    continue
                snap = self._exchange.query_order(symbol, fill.client_order_id)
                if snap is None:
                    report.foreign_fills.append(fill.trade_id)
                    continue
                adopted = self._adopt(snap)
                report.adopted_unknown.append(fill.client_order_id)
                # Synced with the others below: it may have been cancelled or expired since.
                journaled[adopted.client_order_id] = adopted
                snapshots[adopted.client_order_id] = snap
            report.missed_fills.append(fill.trade_id)
            applied += self._apply(OrderFilled(fill))
        return applied, newest

    def _consistent_differences(
        self,
        after_trade: int,
        journaled: dict[str, Order],
        snapshots: dict[str, OrderSnapshot | None],
        report: ReconciliationReport,
    ) -> tuple[list[str], list[tuple[ExecutionEvent, Order | None]]]:
        """Balances compared on a consistent read: no trade between the two history reads.

        Resting orders keep filling while we read, so the account snapshot is compared only
        when the trade history shows nothing newer than what was applied before it; a trade
        that slipped in is applied and the comparison read again.
        """
        applied: list[tuple[ExecutionEvent, Order | None]] = []
        differences = self._differences()
        for _ in range(CONSISTENT_READS):
            newer, newest = self._missed_fills(after_trade, journaled, snapshots, report)
            if newest is None:
                break
            applied += newer
            after_trade = newest
            differences = self._differences()
        return differences, applied

    def _apply(self, event: ExecutionEvent) -> list[tuple[ExecutionEvent, Order | None]]:
        return self._execution.apply([event])

    def _sync_status(
        self, order: Order, snap: OrderSnapshot, report: ReconciliationReport
    ) -> list[tuple[ExecutionEvent, Order | None]]:
        now = self._clock.now_ms()
        cid = order.client_order_id
        before = order.status
        out: list[tuple[ExecutionEvent, Order | None]] = []
        if snap.status is OrderStatus.CANCELED:
            out = self._apply(OrderCanceled(cid, now))
        elif snap.status in (OrderStatus.EXPIRED, OrderStatus.EXPIRED_IN_MATCH):
            out = self._apply(
                OrderExpired(cid, now, in_match=snap.status is OrderStatus.EXPIRED_IN_MATCH)
            )
        elif order.status is OrderStatus.PENDING_CANCEL:
            # The cancel intent was journaled but never answered: send it again.
            report.resent_cancels.append(cid)
            out = self._execution.apply(self._exchange.cancel_order(order.symbol, cid))
        elif order.status is OrderStatus.PENDING_MODIFY:
            if (snap.price, snap.quantity) != (order.price, order.quantity):
                out = self._apply(OrderModified(cid, snap.price or ZERO, snap.quantity, now))
            else:
                out = self._apply(
                    ModifyRejected(cid, RejectReason.NEVER_SENT, 0, "modify not applied", now)
                )
        if order.status is not before:
            report.status_updates.append(f"{cid}: {before.value} -> {order.status.value}")
        return out

    def _adopt(self, snap: OrderSnapshot) -> Order:
        order = Order.restore(
            snap.client_order_id,
            snap.symbol,
            snap.side,
            snap.order_type,
            snap.quantity,
            snap.price,
            snap.time_in_force,
            snap.stop_price,
            snap.reduce_only,
            "adopted",
            OrderStatus.NEW,
            snap.exchange_order_id,
            ZERO,
            ZERO,
            (),
            (),
        )
        self._repo.add_order(order)
        self._execution.restore_open_orders([order])
        return order

    def _differences(self) -> list[str]:
        account = self._exchange.account()
        projection = self._execution.account
        instrument = self._execution.instrument
        out: list[str] = []
        if projection.is_futures:
            wallet = account.balances.get(instrument.quote_asset, (ZERO, ZERO))[0]
            if abs(wallet - projection.cash) > BALANCE_TOLERANCE:
                out.append(
                    f"{instrument.quote_asset} wallet: exchange {wallet}, journal {projection.cash}"
                )
            exchange_qty = sum(
                (p.quantity for p in account.positions if p.symbol == instrument.symbol), ZERO
            )
            if exchange_qty != projection.position.quantity:
                out.append(
                    f"{instrument.symbol} position: exchange {exchange_qty}, "
                    f"journal {projection.position.quantity}"
                )
        else:
            quote = sum(account.balances.get(instrument.quote_asset, (ZERO, ZERO)), ZERO)
            base = sum(account.balances.get(instrument.base_asset, (ZERO, ZERO)), ZERO)
            if abs(quote - projection.cash) > BALANCE_TOLERANCE:
                out.append(
                    f"{instrument.quote_asset} balance: exchange {quote}, journal {projection.cash}"
                )
            if abs(base - projection.base_balance) > BALANCE_TOLERANCE:
                out.append(
                    f"{instrument.base_asset} balance: exchange {base}, "
                    f"journal {projection.base_balance}"
                )
        return out

    def _accept_exchange_state(self) -> None:
        """Adopt the exchange's balances and position as the new starting point."""
        account = self._exchange.account()
        projection = self._execution.account
        instrument = self._execution.instrument
        mark = self._execution.mark_price or ZERO
        cash_before, base_before = projection.cash, projection.base_balance
        self._adopt_balances(account, projection, instrument)
        base_change = projection.base_balance - base_before
        self.transfer = (
            projection.cash - cash_before + (ZERO if projection.is_futures else base_change * mark)
        )

    def _adopt_balances(
        self, account: AccountSnapshot, projection: AccountProjection, instrument: Instrument
    ) -> None:
        if projection.is_futures:
            projection.cash = account.balances.get(instrument.quote_asset, (ZERO, ZERO))[0]
            # A venue may leave a flat position out (Binance's v3 account lists only symbols
            # with a position or open orders): absent means flat, as in _differences.
            quantity = cost = ZERO
            for pos in account.positions:
                if pos.symbol == instrument.symbol:
                    quantity = pos.quantity
                    cost = abs(pos.quantity) * pos.entry_price
            projection.position.quantity = quantity
            projection.position.cost = cost
        else:
            projection.cash = sum(account.balances.get(instrument.quote_asset, (ZERO, ZERO)), ZERO)
            base = sum(account.balances.get(instrument.base_asset, (ZERO, ZERO)), ZERO)
            projection.base_balance = base
            projection.position.quantity = base
