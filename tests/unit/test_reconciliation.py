"""Reconciler: restart reconciliation against a SimulatedExchange holding the truth.

Each scenario drives the simulated exchange directly (it is the venue), lets a "live"
execution service write the journal up to a crash point, then restarts the way
``TradingSession.start`` does: a fresh execution service whose account projection is rebuilt
from the journal alone (``rebuild_account``) and whose open orders are restored from it, and
a Reconciler over both.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from decimal import Decimal
from typing import Any

import pytest

from adapters.memory.repository import InMemoryOrderRepository
from adapters.memory.sinks import RecordingSink
from adapters.simulated.exchange import SimulatedExchange
from adapters.simulated.settings import SimulationSettings
from application.execution import ExecutionService, PreparedRequest
from application.ports.exchange import (
    AccountSnapshot,
    OrderRequest,
    OrderSnapshot,
    PositionSnapshot,
)
from application.reconciliation import (
    Reconciler,
    ReconciliationFailed,
    ReconciliationReport,
    UnknownOrderPolicy,
)
from application.session import rebuild_account
from bootstrap.instruments import builtin_instrument
from domain.candles import Candle
from domain.client_ids import ClientOrderIdSequence, parse_sequence
from domain.commands import CancelOrder, Command, ModifyOrder, PlaceOrder
from domain.enums import MarketType, OrderType, Side, TimeInForce
from domain.events import (
    ExecutionEvent,
    FundingPaid,
    ModifyRejected,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderModified,
    OrderRejected,
    RejectReason,
)
from domain.instruments import Instrument
from domain.orders import Order, OrderStatus

D = Decimal
ZERO = D(0)
SYMBOL = "BTCUSDT"
PREFIX = "gb"
FUT = builtin_instrument(MarketType.USDM_FUTURES, SYMBOL)
SPOT = builtin_instrument(MarketType.SPOT, SYMBOL)
CASH = D("10000")
H8 = 8 * 60 * 60 * 1000
BUY, SELL = Side.BUY, Side.SELL
LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET
GTC, IOC = TimeInForce.GTC, TimeInForce.IOC
S = OrderStatus
# Futures VIP0 fees: maker 0.02 %, taker 0.05 %; spot 0.1 % both.
FEE_MAKER_29000 = D("0.058")  # 0.010 x 29000 x 0.0002
FEE_TAKER_30000 = D("0.15")  # 0.010 x 30000 x 0.0005


def bar(open_time: int, o: str, h: str, low: str, c: str, volume: str = "100") -> Candle:
    return Candle(open_time, D(o), D(h), D(low), D(c), D(volume), open_time + 59_999)


def buy(qty: str, price: str | None, tif: TimeInForce | None = GTC) -> PlaceOrder:
    if price is None:
        return PlaceOrder(SYMBOL, BUY, MARKET, D(qty))
    return PlaceOrder(SYMBOL, BUY, LIMIT, D(qty), D(price), tif)


def request(
    cid: str, side: Side, qty: str, price: str | None = None, tif: TimeInForce = GTC
) -> OrderRequest:
    """An order sent straight to the exchange, bypassing the journal."""
    if price is None:
        return OrderRequest(cid, SYMBOL, side, MARKET, D(qty))
    return OrderRequest(cid, SYMBOL, side, LIMIT, D(qty), D(price), tif)


@dataclass
class Restart:
    """The restarted process: execution service rebuilt from the journal, and its reconciler."""

    execution: ExecutionService
    sink: RecordingSink
    reconciler: Reconciler

    def run(
        self, accept: bool = False
    ) -> tuple[ReconciliationReport, list[tuple[ExecutionEvent, Order | None]]]:
        return self.reconciler.run(accept_exchange_state=accept)


class Desk:
    """One exchange account (the truth), its journal, and the live process that wrote it.

    The exchange starts with one flat candle at 30000 (last price 30000, clock 60 000 ms).
    """

    def __init__(
        self,
        instrument: Instrument = FUT,
        balances: dict[str, Decimal] | None = None,
        settings: SimulationSettings | None = None,
        exchange_type: type[SimulatedExchange] = SimulatedExchange,
    ) -> None:
        self.instrument = instrument
        self.balances = dict(balances or {"USDT": CASH})
        self.exchange = exchange_type(instrument, self.balances, settings)
        self.exchange.on_candle(bar(0, "30000", "30000", "30000", "30000"))
        self.repo = InMemoryOrderRepository()
        self.live, _ = self._execution(RecordingSink())

    def _execution(self, sink: RecordingSink) -> tuple[ExecutionService, ClientOrderIdSequence]:
        """Rebuilt from the journal alone, as ``TradingSession.start`` does."""
        inst = self.instrument
        base = ZERO if inst.market.is_futures else self.balances.get(inst.base_asset, ZERO)
        account = rebuild_account(
            self.repo, inst, self.balances[inst.quote_asset], base, D("30000")
        )
        sequences = [parse_sequence(PREFIX, cid) for cid in self.repo.order_ids()]
        known = [s for s in sequences if s is not None]
        ids = ClientOrderIdSequence(PREFIX, max(known) + 1 if known else 0)
        execution = ExecutionService(
            self.exchange, inst, account, ids, self.repo, sink, self.exchange
        )
        execution.restore_open_orders(self.repo.open_orders())
        return execution, ids

    # The live process, up to the crash.
    def place(self, command: Command) -> str:
        """Journal, send and apply one order; returns its client id."""
        events = self.live.execute([command])
        return events[0][0].client_order_id  # type: ignore[union-attr]

    def intent(self, command: Command) -> list[PreparedRequest]:
        """Journal an intent only (the process dies before sending it)."""
        return self.live.prepare([command])

    def send_unapplied(self, prepared: list[PreparedRequest]) -> list[list[ExecutionEvent]]:
        """Send journaled intents; the process dies before applying the answers."""
        return self.live.send_raw(prepared)

    def candle(self, o: str, h: str, low: str, c: str, volume: str = "100") -> list[ExecutionEvent]:
        """The next 1m candle on the exchange; its events reach nobody (the bot is down)."""
        return self.exchange.on_candle(bar(self.exchange.now_ms(), o, h, low, c, volume))

    # The restart.
    def restart(self, policy: UnknownOrderPolicy = UnknownOrderPolicy.CANCEL) -> Restart:
        sink = RecordingSink()
        execution, ids = self._execution(sink)
        reconciler = Reconciler(
            self.exchange, execution, self.repo, ids, sink, self.exchange, policy
        )
        return Restart(execution, sink, reconciler)

    def snapshot(self, cid: str) -> OrderSnapshot:
        snap = self.exchange.query_order(SYMBOL, cid)
        assert snap is not None
        return snap

    def order(self, cid: str) -> Order:
        order = self.repo.get_order(cid)
        assert order is not None
        return order

    def exchange_open(self) -> list[str]:
        return [s.client_order_id for s in self.exchange.open_orders(SYMBOL)]


def assert_clean(report: ReconciliationReport) -> None:
    assert report.differences == []
    assert report.ok


# --------------------------------------------------------------------------- (a) intents
def test_intent_found_on_the_exchange_is_adopted() -> None:
    desk = Desk()
    prepared = desk.intent(buy("0.010", "29000"))
    desk.send_unapplied(prepared)  # reached the exchange; the ack was lost
    cid = "gb-0"
    assert desk.order(cid).status is S.PENDING_NEW

    restart = desk.restart()
    report, applied = restart.run()

    assert_clean(report)
    assert report.adopted_intents == [cid]
    assert report.never_sent == []
    order = desk.order(cid)
    exchange_id = desk.snapshot(cid).exchange_order_id
    assert order.status is S.NEW
    assert order.exchange_order_id == exchange_id
    assert applied == [(OrderAccepted(cid, exchange_id, desk.exchange.now_ms()), order)]
    assert restart.execution.open_orders == {cid: order}
    assert report.status_updates == []


def test_intent_not_on_the_exchange_is_rejected_as_never_sent() -> None:
    desk = Desk()
    desk.intent(buy("0.010", "29000"))  # journaled, never sent
    cid = "gb-0"

    restart = desk.restart()
    report, applied = restart.run()

    assert_clean(report)
    assert report.never_sent == [cid]
    assert report.adopted_intents == []
    order = desk.order(cid)
    assert order.status is S.REJECTED
    ((event, applied_order),) = applied
    assert isinstance(event, OrderRejected)
    assert event.reason is RejectReason.NEVER_SENT
    assert event.client_order_id == cid
    assert applied_order is order
    assert restart.execution.open_orders == {}
    assert desk.exchange_open() == []
    assert [r["reason"] for r in restart.sink.named("order.rejected")] == [RejectReason.NEVER_SENT]


def test_sent_intent_that_filled_at_once_is_adopted_then_filled() -> None:
    desk = Desk()
    desk.send_unapplied(desk.intent(buy("0.010", "30000")))  # marketable: taker fill at 30000
    cid = "gb-0"
    assert desk.snapshot(cid).status is S.FILLED

    restart = desk.restart()
    report, applied = restart.run()

    assert_clean(report)
    assert report.adopted_intents == [cid]
    assert report.missed_fills == [1]
    assert [type(e) for e, _ in applied] == [OrderAccepted, OrderFilled]
    assert desk.order(cid).status is S.FILLED
    account = restart.execution.account
    assert account.cash == CASH - FEE_TAKER_30000
    assert account.position.quantity == D("0.010")
    assert account.position.cost == D("300")


# --------------------------------------------------------------------------- (b) fills, funding
def test_missed_fills_after_the_last_journaled_trade_are_applied_once_with_fees() -> None:
    desk = Desk()
    taker = desk.place(buy("0.010", "30000"))  # trade 1, journaled live
    resting = desk.place(buy("0.010", "29000"))
    assert desk.repo.last_trade_id() == 1
    desk.candle("30000", "30100", "28900", "29500")  # trade 2 while the bot is down

    restart = desk.restart()
    report, applied = restart.run()

    assert_clean(report)
    assert report.missed_fills == [2]
    ((event, order),) = applied
    assert isinstance(event, OrderFilled)
    assert event.fill.trade_id == 2
    assert event.fill.fee == FEE_MAKER_29000
    assert order is desk.order(resting)
    assert order.status is S.FILLED
    assert desk.order(taker).status is S.FILLED
    assert [f.trade_id for f in desk.repo.fills()] == [1, 2]
    account = restart.execution.account
    assert account.cash == CASH - FEE_TAKER_30000 - FEE_MAKER_29000
    assert account.cash == desk.exchange.account().balances["USDT"][0]
    assert account.position.quantity == D("0.020")
    assert account.position.cost == D("590")
    assert account.fees_quote == FEE_TAKER_30000 + FEE_MAKER_29000
    assert [r["trade_id"] for r in restart.sink.named("fill")] == [2]
    assert restart.execution.open_orders == {}

    # A second restart finds nothing new: the fill was booked once.
    again = desk.restart()
    report2, applied2 = again.run()
    assert_clean(report2)
    assert report2.missed_fills == []
    assert applied2 == []
    assert again.execution.account.cash == CASH - FEE_TAKER_30000 - FEE_MAKER_29000
    assert len(desk.repo.fills()) == 2


def test_missed_partial_fill_leaves_the_order_partially_filled_and_open() -> None:
    desk = Desk()
    cid = desk.place(buy("0.010", "29000"))
    # Volume cap: 25 % of 0.02 = 0.005 of the order fills.
    desk.candle("30000", "30100", "28900", "29500", volume="0.02")

    restart = desk.restart()
    report, _ = restart.run()

    assert_clean(report)
    assert report.missed_fills == [1]
    order = desk.order(cid)
    assert order.status is S.PARTIALLY_FILLED
    assert order.executed_quantity == D("0.005")
    assert restart.execution.open_orders == {cid: order}
    assert restart.execution.account.position.quantity == D("0.005")
    assert report.status_updates == []


def test_fill_of_an_unknown_order_of_ours_is_adopted_then_applied() -> None:
    desk = Desk()
    desk.exchange.place_order(request("gb-z", BUY, "0.010", "29000"))  # never journaled
    desk.candle("30000", "30100", "28900", "29500")

    restart = desk.restart()
    report, applied = restart.run()

    assert_clean(report)
    assert report.adopted_unknown == ["gb-z"]
    assert report.missed_fills == [1]
    order = desk.order("gb-z")
    assert order.tag == "adopted"
    assert order.status is S.FILLED
    assert order.exchange_order_id == desk.snapshot("gb-z").exchange_order_id
    assert order.executed_quantity == D("0.010")
    assert [type(e) for e, _ in applied] == [OrderFilled]
    account = restart.execution.account
    assert account.cash == CASH - FEE_MAKER_29000
    assert account.position.quantity == D("0.010")
    assert restart.execution.open_orders == {}


def test_adopted_order_cancelled_after_a_partial_fill_is_closed_in_the_journal() -> None:
    desk = Desk()
    desk.exchange.place_order(request("gb-z", BUY, "0.010", "29000"))  # never journaled
    desk.candle("30000", "30100", "28900", "29500", volume="0.02")  # 0.005 fills
    desk.exchange.cancel_order(SYMBOL, "gb-z")
    assert desk.exchange_open() == []

    restart = desk.restart()
    report, applied = restart.run()

    assert_clean(report)
    assert report.adopted_unknown == ["gb-z"]
    assert report.missed_fills == [1]
    order = desk.order("gb-z")
    assert order.executed_quantity == D("0.005")
    assert order.status is S.CANCELED  # as on the exchange: no phantom open order
    assert restart.execution.open_orders == {}
    assert report.status_updates == ["gb-z: PARTIALLY_FILLED -> CANCELED"]
    assert [type(e) for e, _ in applied] == [OrderFilled, OrderCanceled]


def test_foreign_fills_are_reported_and_not_applied() -> None:
    desk = Desk()
    desk.exchange.place_order(request("manual-1", BUY, "0.010"))  # someone else's market buy

    restart = desk.restart()
    with pytest.raises(ReconciliationFailed) as failed:
        restart.run()

    report = failed.value.report
    assert report.foreign_fills == [1]
    assert report.missed_fills == []
    assert report.adopted_unknown == []
    assert desk.repo.fills() == []
    assert desk.repo.get_order("manual-1") is None
    assert restart.execution.account.position.quantity == ZERO
    assert restart.execution.account.cash == CASH


def test_fill_of_our_order_the_exchange_no_longer_knows_is_not_applied() -> None:
    # The exchange forgets closed orders at once: the fill cannot be tied to an order.
    desk = Desk(settings=SimulationSettings(closed_order_retention=0))
    desk.exchange.place_order(request("gb-z", BUY, "0.010"))
    assert desk.exchange.query_order(SYMBOL, "gb-z") is None

    restart = desk.restart()
    with pytest.raises(ReconciliationFailed) as failed:
        restart.run()

    report = failed.value.report
    assert report.foreign_fills == [1]
    assert report.adopted_unknown == []
    assert desk.repo.get_order("gb-z") is None
    assert desk.repo.fills() == []


class RecordsFunding(SimulatedExchange):
    """Answers ``funding_since`` from the settlements its candles produced.

    SimulatedExchange.funding_since reads a history that _settle_funding never appends to,
    so on the bare simulator it is always empty (reported separately); this keeps the
    settlement itself the simulator's own.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.settlements: list[FundingPaid] = []

    def on_candle(self, candle: Candle) -> list[ExecutionEvent]:
        events = super().on_candle(candle)
        self.settlements += [e for e in events if isinstance(e, FundingPaid)]
        return events

    def funding_since(self, symbol: str, after_ms: int) -> list[FundingPaid]:
        history = super().funding_since(symbol, after_ms)
        return history or [f for f in self.settlements if f.timestamp > after_ms]


def test_missed_funding_is_applied() -> None:
    desk = Desk(exchange_type=RecordsFunding)
    desk.place(buy("0.010", "30000"))  # long 0.010, journaled
    desk.exchange.on_candle(bar(H8, "30000", "30000", "30000", "30000"))  # funding at 08:00

    restart = desk.restart()
    report, applied = restart.run()

    assert_clean(report)
    assert report.missed_funding == [H8]
    funding = FundingPaid(SYMBOL, D("-0.03"), D("0.0001"), D("30000"), D("0.010"), H8)
    assert applied == [(funding, None)]
    assert desk.repo.funding_payments() == [funding]
    account = restart.execution.account
    assert account.cash == CASH - FEE_TAKER_30000 - D("0.03")
    assert account.position.funding == D("-0.03")
    assert [r["amount"] for r in restart.sink.named("funding")] == [D("-0.03")]


def test_only_funding_after_the_last_journaled_settlement_is_applied() -> None:
    desk = Desk(exchange_type=RecordsFunding)
    desk.place(buy("0.010", "30000"))
    desk.live.apply(desk.exchange.on_candle(bar(H8, "30000", "30000", "30000", "30000")))
    assert [p.timestamp for p in desk.repo.funding_payments()] == [H8]
    desk.exchange.on_candle(bar(2 * H8, "31000", "31000", "31000", "31000"))  # missed

    restart = desk.restart()
    report, _ = restart.run()

    assert_clean(report)
    assert report.missed_funding == [2 * H8]
    assert [p.timestamp for p in desk.repo.funding_payments()] == [H8, 2 * H8]
    # 0.010 x 30000 x 0.0001 = 0.03, then 0.010 x 31000 x 0.0001 = 0.031
    assert restart.execution.account.cash == CASH - FEE_TAKER_30000 - D("0.03") - D("0.031")


# --------------------------------------------------------------------------- status sync
def test_order_cancelled_on_the_exchange_is_cancelled_in_the_journal() -> None:
    desk = Desk()
    cid = desk.place(buy("0.010", "29000"))
    desk.exchange.cancel_order(SYMBOL, cid)  # the cancel answer never reached the bot

    restart = desk.restart()
    report, applied = restart.run()

    assert_clean(report)
    assert report.status_updates == [f"{cid}: NEW -> CANCELED"]
    assert desk.order(cid).status is S.CANCELED
    assert applied == [(OrderCanceled(cid, desk.exchange.now_ms()), desk.order(cid))]
    assert restart.execution.open_orders == {}
    assert restart.sink.named("order.canceled") == [{"client_order_id": cid}]


def test_order_expired_on_the_exchange_is_expired_in_the_journal() -> None:
    desk = Desk()
    (answer,) = desk.send_unapplied(desk.intent(buy("0.010", "29000", IOC)))
    assert [type(e).__name__ for e in answer] == ["OrderAccepted", "OrderExpired"]
    desk.live.apply(answer[:1])  # the ack was journaled, the expiry was not
    cid = "gb-0"
    assert desk.order(cid).status is S.NEW

    restart = desk.restart()
    report, _ = restart.run()

    assert_clean(report)
    assert report.status_updates == [f"{cid}: NEW -> EXPIRED"]
    assert desk.order(cid).status is S.EXPIRED
    assert restart.execution.open_orders == {}


class ExpiresInMatch(SimulatedExchange):
    """Reports expired orders as EXPIRED_IN_MATCH (self-trade prevention), which the
    simulator itself never produces."""

    def query_order(self, symbol: str, client_order_id: str) -> OrderSnapshot | None:
        snap = super().query_order(symbol, client_order_id)
        if snap is not None and snap.status is S.EXPIRED:
            return replace(snap, status=S.EXPIRED_IN_MATCH)
        return snap


def test_order_expired_in_match_on_the_exchange_is_expired_in_match_in_the_journal() -> None:
    desk = Desk(exchange_type=ExpiresInMatch)
    (answer,) = desk.send_unapplied(desk.intent(buy("0.010", "29000", IOC)))
    desk.live.apply(answer[:1])

    restart = desk.restart()
    report, _ = restart.run()

    assert_clean(report)
    assert report.status_updates == ["gb-0: NEW -> EXPIRED_IN_MATCH"]
    assert desk.order("gb-0").status is S.EXPIRED_IN_MATCH


def test_unanswered_cancel_of_an_order_still_open_is_sent_again() -> None:
    desk = Desk()
    cid = desk.place(buy("0.010", "29000"))
    desk.intent(CancelOrder(cid))  # journaled PENDING_CANCEL, never sent
    assert desk.order(cid).status is S.PENDING_CANCEL
    assert desk.exchange_open() == [cid]

    restart = desk.restart()
    report, applied = restart.run()

    assert_clean(report)
    assert report.resent_cancels == [cid]
    assert report.status_updates == [f"{cid}: PENDING_CANCEL -> CANCELED"]
    assert desk.order(cid).status is S.CANCELED
    assert desk.snapshot(cid).status is S.CANCELED
    assert desk.exchange_open() == []
    assert [type(e) for e, _ in applied] == [OrderCanceled]
    assert restart.execution.open_orders == {}


def test_cancel_that_reached_the_exchange_is_not_sent_again() -> None:
    desk = Desk()
    cid = desk.place(buy("0.010", "29000"))
    desk.send_unapplied(desk.intent(CancelOrder(cid)))

    restart = desk.restart()
    report, _ = restart.run()

    assert_clean(report)
    assert report.resent_cancels == []
    assert report.status_updates == [f"{cid}: PENDING_CANCEL -> CANCELED"]
    assert desk.order(cid).status is S.CANCELED


def test_modify_the_exchange_applied_is_applied_to_the_journal() -> None:
    desk = Desk()
    cid = desk.place(buy("0.010", "29000"))
    desk.send_unapplied(desk.intent(ModifyOrder(cid, D("28900"), D("0.020"))))
    snap = desk.snapshot(cid)
    assert (snap.price, snap.quantity) == (D("28900"), D("0.020"))

    restart = desk.restart()
    report, applied = restart.run()

    assert_clean(report)
    order = desk.order(cid)
    assert order.status is S.NEW
    assert (order.price, order.quantity) == (D("28900"), D("0.020"))
    modified = OrderModified(cid, D("28900"), D("0.020"), desk.exchange.now_ms())
    assert applied == [(modified, order)]
    assert report.status_updates == [f"{cid}: PENDING_MODIFY -> NEW"]
    assert restart.execution.open_orders == {cid: order}


def test_modify_the_exchange_never_saw_is_rejected() -> None:
    desk = Desk()
    cid = desk.place(buy("0.010", "29000"))
    desk.intent(ModifyOrder(cid, D("28900"), D("0.020")))  # journaled, never sent
    assert desk.order(cid).status is S.PENDING_MODIFY

    restart = desk.restart()
    report, applied = restart.run()

    assert_clean(report)
    order = desk.order(cid)
    assert order.status is S.NEW
    assert (order.price, order.quantity) == (D("29000"), D("0.010"))
    ((event, _),) = applied
    assert isinstance(event, ModifyRejected)
    assert event.reason is RejectReason.NEVER_SENT
    assert report.status_updates == [f"{cid}: PENDING_MODIFY -> NEW"]
    assert restart.execution.open_orders == {cid: order}


SPOT_HOLDINGS = {"USDT": D("100000"), "BTC": D("1")}


def test_spot_replace_the_exchange_applied_is_found_under_the_new_id() -> None:
    # The process dies after the cancel-replace left and before its answer was applied: the
    # journal holds the old order PENDING_CANCEL and its replacement PENDING_NEW.
    desk = Desk(SPOT, SPOT_HOLDINGS)
    old = desk.place(buy("0.010", "29000"))
    desk.send_unapplied(desk.intent(ModifyOrder(old, D("28900"), D("0.020"))))
    new = "gb-1"
    assert (desk.order(old).status, desk.order(new).status) == (S.PENDING_CANCEL, S.PENDING_NEW)
    assert desk.exchange_open() == [new]

    restart = desk.restart()
    report, _ = restart.run()

    assert_clean(report)
    assert (desk.order(old).status, desk.order(new).status) == (S.CANCELED, S.NEW)
    assert (desk.order(new).price, desk.order(new).quantity) == (D("28900"), D("0.020"))
    assert desk.order(new).tag == desk.order(old).tag
    assert list(restart.execution.open_orders) == [new]


def test_spot_replace_the_exchange_never_saw_leaves_a_cancel_and_no_new_order() -> None:
    desk = Desk(SPOT, SPOT_HOLDINGS)
    old = desk.place(buy("0.010", "29000"))
    desk.intent(ModifyOrder(old, D("28900"), D("0.020")))  # journaled, never sent
    new = "gb-1"

    restart = desk.restart()
    report, _ = restart.run()

    # The journaled cancel is carried out (as any unanswered cancel); the replacement was
    # never sent: the strategy's next plan places what it still wants.
    assert_clean(report)
    assert report.resent_cancels == [old]
    assert desk.order(old).status is S.CANCELED
    assert desk.order(new).status is S.REJECTED
    assert desk.exchange_open() == [] and restart.execution.open_orders == {}


def test_orders_that_agree_with_the_exchange_are_left_alone() -> None:
    desk = Desk()
    cid = desk.place(buy("0.010", "29000"))

    restart = desk.restart()
    report, applied = restart.run()

    assert_clean(report)
    assert applied == []
    assert report.status_updates == []
    assert report.canceled_unknown == []
    assert report.foreign_orders == 0
    assert desk.exchange_open() == [cid]
    assert restart.execution.open_orders == {cid: desk.order(cid)}


# --------------------------------------------------------------------------- (c) unknown orders
def test_unknown_open_order_of_ours_is_cancelled_and_foreign_orders_left_alone() -> None:
    desk = Desk()
    desk.exchange.place_order(request("gb-a", BUY, "0.010", "29000"))
    desk.exchange.place_order(request("manual-1", SELL, "0.010", "31000"))

    restart = desk.restart(UnknownOrderPolicy.CANCEL)
    report, applied = restart.run()

    assert_clean(report)
    assert report.canceled_unknown == ["gb-a"]
    assert report.adopted_unknown == []
    assert report.foreign_orders == 1
    assert desk.snapshot("gb-a").status is S.CANCELED
    assert desk.exchange_open() == ["manual-1"]
    assert desk.repo.get_order("gb-a") is None
    assert desk.repo.get_order("manual-1") is None
    assert restart.execution.open_orders == {}
    assert applied == []


def test_unknown_open_order_of_ours_is_adopted_with_the_adopt_policy() -> None:
    desk = Desk()
    desk.exchange.place_order(request("gb-a", BUY, "0.010", "29000"))
    desk.exchange.place_order(request("manual-1", SELL, "0.010", "31000"))

    restart = desk.restart(UnknownOrderPolicy.ADOPT)
    report, _ = restart.run()

    assert_clean(report)
    assert report.adopted_unknown == ["gb-a"]
    assert report.canceled_unknown == []
    assert report.foreign_orders == 1
    order = desk.order("gb-a")
    assert order.status is S.NEW
    assert order.tag == "adopted"
    assert order.exchange_order_id == desk.snapshot("gb-a").exchange_order_id
    assert (order.side, order.price, order.quantity) == (BUY, D("29000"), D("0.010"))
    assert restart.execution.open_orders == {"gb-a": order}
    assert desk.exchange_open() == ["gb-a", "manual-1"]


# --------------------------------------------------------------------------- (d) differences
def _foreign_futures_buy() -> Desk:
    desk = Desk()
    desk.exchange.place_order(request("manual-1", BUY, "0.010"))  # taker at 30000
    return desk


def test_futures_wallet_and_position_difference_fails_closed() -> None:
    desk = _foreign_futures_buy()
    wallet = desk.exchange.account().balances["USDT"][0]
    assert wallet == CASH - FEE_TAKER_30000

    restart = desk.restart()
    with pytest.raises(ReconciliationFailed) as failed:
        restart.run()

    report = failed.value.report
    assert report.differences == [
        f"USDT wallet: exchange {wallet}, journal {CASH}",
        "BTCUSDT position: exchange 0.010, journal 0",
    ]
    assert not report.ok
    message = str(failed.value)
    assert message.startswith("refusing to trade: the exchange and the journal disagree: ")
    assert "USDT wallet: exchange 9999.85" in message
    assert "BTCUSDT position: exchange 0.010, journal 0" in message
    assert "--accept-exchange-state" in message
    # Stored and emitted before raising.
    ((kind, timestamp, payload),) = desk.repo.reports
    assert (kind, timestamp) == ("reconciliation", desk.exchange.now_ms())
    assert json.loads(payload)["ok"] is False
    assert json.loads(payload)["differences"] == report.differences
    (emitted,) = restart.sink.named("reconciliation")
    assert emitted["ok"] is False
    assert emitted["report"] == payload
    # Nothing was adopted.
    assert restart.execution.account.cash == CASH
    assert restart.execution.account.position.quantity == ZERO


def test_futures_difference_accepted_adopts_the_exchange_state() -> None:
    desk = _foreign_futures_buy()

    restart = desk.restart()
    report, _ = restart.run(accept=True)

    assert report.ok
    assert report.accepted_exchange_state
    assert len(report.differences) == 2
    account = restart.execution.account
    assert account.cash == CASH - FEE_TAKER_30000
    assert account.position.quantity == D("0.010")
    assert account.position.cost == D("300")
    assert account.position.entry_price == D("30000")
    (emitted,) = restart.sink.named("reconciliation")
    assert emitted["ok"] is True
    assert json.loads(desk.repo.reports[-1][2])["ok"] is True
    # This process's projection now agrees with the exchange.
    assert restart.reconciler._differences() == []


class ListsOpenPositionsOnly(SimulatedExchange):
    """Lists only non-flat positions, plus one on another symbol (Binance's account v3 lists
    only symbols with a position or open orders)."""

    def account(self) -> AccountSnapshot:
        snap = super().account()
        positions = [p for p in snap.positions if p.quantity]
        positions.append(PositionSnapshot("ETHUSDT", D("2"), D("2000"), D("2000"), ZERO, 1))
        return AccountSnapshot(snap.balances, positions)


def test_accepted_position_ignores_other_symbols() -> None:
    desk = Desk(exchange_type=ListsOpenPositionsOnly)
    desk.exchange.place_order(request("manual-1", BUY, "0.010"))

    restart = desk.restart()
    report, _ = restart.run(accept=True)

    assert report.ok
    assert "BTCUSDT position: exchange 0.010, journal 0" in report.differences
    position = restart.execution.account.position
    assert (position.quantity, position.cost) == (D("0.010"), D("300"))


def test_accepted_position_absent_from_the_exchange_is_flat() -> None:
    desk = Desk(exchange_type=ListsOpenPositionsOnly)
    desk.place(buy("0.010", "30000"))  # journaled long
    desk.exchange.place_order(request("manual-1", SELL, "0.010"))  # closed by hand
    assert [p.symbol for p in desk.exchange.account().positions] == ["ETHUSDT"]

    restart = desk.restart()
    report, _ = restart.run(accept=True)

    assert "BTCUSDT position: exchange 0, journal 0.010" in report.differences
    account = restart.execution.account
    assert account.cash == CASH - 2 * FEE_TAKER_30000
    assert account.position.quantity == ZERO
    assert account.position.cost == ZERO
    assert restart.reconciler._differences() == []


SPOT_BALANCES = {"USDT": CASH, "BTC": ZERO}


def test_spot_account_with_locked_funds_and_a_missed_fill_agrees() -> None:
    desk = Desk(SPOT, SPOT_BALANCES)
    filled = desk.place(buy("0.01", "29000"))
    resting = desk.place(buy("0.01", "28000"))  # locks 280 USDT on the exchange
    desk.candle("30000", "30100", "28900", "29500")

    restart = desk.restart()
    report, _ = restart.run()

    assert_clean(report)
    assert report.missed_fills == [1]
    assert desk.order(filled).status is S.FILLED
    assert desk.order(resting).status is S.NEW
    account = restart.execution.account
    assert account.cash == D("9710")  # 10000 - 0.01 x 29000
    assert account.base_balance == D("0.00999")  # commission 0.1 % in BTC
    assert desk.exchange.account().balances["USDT"] == (D("9430"), D("280"))


def test_spot_balance_differences_fail_closed() -> None:
    desk = Desk(SPOT, SPOT_BALANCES)
    desk.exchange.place_order(request("manual-1", BUY, "0.01"))  # taker at 30000

    restart = desk.restart()
    with pytest.raises(ReconciliationFailed) as failed:
        restart.run()

    report = failed.value.report
    quote = sum(desk.exchange.account().balances["USDT"], ZERO)
    base = sum(desk.exchange.account().balances["BTC"], ZERO)
    assert (quote, base) == (D("9700"), D("0.00999"))
    assert report.differences == [
        f"USDT balance: exchange {quote}, journal {CASH}",
        f"BTC balance: exchange {base}, journal 0",
    ]
    assert "--accept-exchange-state" in str(failed.value)
    assert json.loads(desk.repo.reports[-1][2])["ok"] is False
    assert restart.sink.named("reconciliation")[0]["ok"] is False


def test_spot_balance_difference_accepted_adopts_the_exchange_balances() -> None:
    desk = Desk(SPOT, SPOT_BALANCES)
    desk.exchange.place_order(request("manual-1", BUY, "0.01"))

    restart = desk.restart()
    report, _ = restart.run(accept=True)

    assert report.ok
    assert len(report.differences) == 2
    account = restart.execution.account
    assert account.cash == D("9700")
    assert account.base_balance == D("0.00999")
    assert account.position.quantity == D("0.00999")
    assert restart.reconciler._differences() == []


def _journal_order_the_exchange_never_saw() -> tuple[Desk, str]:
    desk = Desk()
    cid = "gb-0"
    desk.repo.add_order(
        Order.restore(
            cid,
            SYMBOL,
            BUY,
            LIMIT,
            D("0.010"),
            D("29000"),
            GTC,
            None,
            False,
            "grid",
            S.NEW,
            999,
            ZERO,
            ZERO,
            (),
            (),
        )
    )
    return desk, cid


def test_journal_order_unknown_to_the_exchange_fails_closed() -> None:
    desk, cid = _journal_order_the_exchange_never_saw()

    restart = desk.restart()
    with pytest.raises(ReconciliationFailed) as failed:
        restart.run()

    assert failed.value.report.differences == [
        f"order {cid} is NEW in the journal but unknown to the exchange"
    ]
    assert desk.order(cid).status is S.NEW
    assert cid in restart.execution.open_orders


def test_journal_order_unknown_to_the_exchange_accepted_is_cancelled_locally() -> None:
    desk, cid = _journal_order_the_exchange_never_saw()

    restart = desk.restart()
    report, applied = restart.run(accept=True)

    assert report.ok
    assert report.differences == [f"order {cid} is NEW in the journal but unknown to the exchange"]
    order = desk.order(cid)
    assert order.status is S.CANCELED
    assert applied == [(OrderCanceled(cid, desk.exchange.now_ms()), order)]
    assert restart.execution.open_orders == {}
    assert restart.execution.account.cash == CASH


def test_accept_without_differences_changes_nothing() -> None:
    desk = Desk()
    desk.place(buy("0.010", "30000"))

    restart = desk.restart()
    report, applied = restart.run(accept=True)

    assert report.differences == []
    assert report.ok
    assert applied == []
    assert restart.execution.account.cash == CASH - FEE_TAKER_30000
    assert restart.execution.account.position.cost == D("300")


# --------------------------------------------------------------------------- the report
def test_report_json_round_trips_with_ok() -> None:
    desk = Desk()
    desk.intent(buy("0.010", "29000"))
    restart = desk.restart()
    report, _ = restart.run()

    decoded = json.loads(report.to_json())
    assert decoded == {**asdict(report), "ok": True}
    assert decoded["never_sent"] == ["gb-0"]
    assert decoded["timestamp"] == desk.exchange.now_ms()

    failing = ReconciliationReport(timestamp=5, differences=["x"])
    assert json.loads(failing.to_json())["ok"] is False
    accepted = ReconciliationReport(timestamp=5, differences=["x"], accepted_exchange_state=True)
    assert json.loads(accepted.to_json())["ok"] is True
    assert str(ReconciliationFailed(failing)) == (
        "refusing to trade: the exchange and the journal disagree: x "
        "(pass --accept-exchange-state to adopt the exchange's state)"
    )


def test_accepted_state_is_the_starting_point_of_the_next_restart() -> None:
    desk = _foreign_futures_buy()
    first, _ = desk.restart().run(accept=True)
    assert first.differences

    # Nothing changed on the exchange: the next restart agrees without being told to accept.
    second = desk.restart()
    report, _ = second.run()
    assert_clean(report)
    assert second.execution.account.position.quantity == D("0.010")

    # And later fills replay on top of the checkpoint.
    cid = desk.place(PlaceOrder(SYMBOL, BUY, OrderType.MARKET, D("0.010")))
    assert desk.order(cid).status is OrderStatus.FILLED
    third = desk.restart()
    assert_clean(third.run()[0])
    assert third.execution.account.position.quantity == D("0.020")
