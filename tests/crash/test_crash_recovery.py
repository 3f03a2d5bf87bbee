"""Crash tests: deterministic fault points in the order flow, restart, reconcile, compare.

At each point all process state is dropped (a fresh database engine, strategy, execution
service and session); only the exchange (it is another system) and the journal's database
file survive. The run then continues, and the end state must equal an uninterrupted run's:
no duplicate order, no lost fill, the stored position equal to the exchange's, and identical
PnL.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters.market_data.generated import GeneratedMarket
from adapters.memory.sinks import CountingSink
from adapters.persistence.factory import open_journal
from adapters.simulated.exchange import SimulatedExchange
from adapters.simulated.ledgers import FuturesLedger
from adapters.simulated.settings import SimulationSettings
from application.ports.exchange import OrderRequest
from application.session import TradingSession, rebuild_account
from bootstrap.instruments import builtin_instrument
from domain.enums import MarketType
from domain.events import ExecutionEvent, OrderAccepted
from domain.grid.static_grid import StaticGrid, StaticGridParams
from domain.orders import Fill, Order

D = Decimal
INSTRUMENT = builtin_instrument(MarketType.USDM_FUTURES, "BTCUSDT")
CASH = D("100000")
CANDLES = list(GeneratedMarket(minutes=1_200, seed=11, start_price=D("42000")))


class SimulatedCrash(Exception):
    """The process dies here: nothing after this point runs, uncommitted work is lost."""


@dataclass
class CrashPlan:
    """Crash at the ``nth`` time ``point`` is reached (counted across the whole run)."""

    point: str
    nth: int
    seen: int = 0
    fired: int = 0

    def hit(self, point: str) -> bool:
        if point != self.point or self.fired:
            return False
        self.seen += 1
        if self.seen == self.nth:
            self.fired += 1
            return True
        return False


class CrashingExchange:
    """The real simulated exchange, with the process dying around a request."""

    def __init__(self, inner: SimulatedExchange, plan: CrashPlan | None) -> None:
        self.inner = inner
        self.plan = plan

    def place_order(self, request: OrderRequest) -> list[ExecutionEvent]:
        if self.plan and self.plan.hit("after_intent_commit"):
            raise SimulatedCrash("intent committed, request never sent")
        events = self.inner.place_order(request)
        if self.plan and self.plan.hit("after_send_before_ack"):
            raise SimulatedCrash("request sent, answer lost")
        return events

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class CrashingJournal:
    """The real SQL journal, with the process dying while an answer is being journaled."""

    def __init__(self, inner: Any, plan: CrashPlan | None) -> None:
        self.inner = inner
        self.plan = plan

    def update_order(self, order: Order, event: ExecutionEvent | None = None) -> None:
        if isinstance(event, OrderAccepted) and self.plan and self.plan.hit("after_ack"):
            raise SimulatedCrash("ack received, not yet committed")
        self.inner.update_order(order, event)

    def add_fill(self, fill: Fill) -> bool:
        if self.plan and self.plan.hit("mid_fill_batch"):
            raise SimulatedCrash("in the middle of a batch of fills")
        return self.inner.add_fill(fill)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@dataclass
class Outcome:
    exchange: SimulatedExchange
    journal_url: str
    restarts: int
    reports: list[Any]


def run(tmp_path: Path, plans: list[CrashPlan]) -> Outcome:
    """Trade CANDLES through a TradingSession, restarting after every simulated crash."""
    settings = SimulationSettings(max_volume_share=None, leverage=10, closed_order_retention=10**6)
    exchange = SimulatedExchange(INSTRUMENT, {"USDT": CASH}, settings)
    url = f"sqlite:///{tmp_path / 'journal.db'}"
    pending = list(plans)
    journals: list[Any] = []

    def new_session() -> TradingSession:
        plan = pending[0] if pending else None
        journal = open_journal(url)
        journals.append(journal)
        strategy = StaticGrid("BTCUSDT", StaticGridParams(10, D("0.002"), D("1000"), D("0.01")))
        return TradingSession(
            CrashingExchange(exchange, plan),  # type: ignore[arg-type]
            INSTRUMENT,
            CrashingJournal(journal, plan),  # type: ignore[arg-type]
            strategy,
            "gb",
            CountingSink(),
            exchange,
            {"USDT": CASH},
        )

    def restart() -> TradingSession:
        nonlocal restarts
        while True:
            journals[-1].engine.dispose()  # drop every connection: nothing in memory survives
            if pending and pending[0].fired:
                pending.pop(0)
            session = new_session()
            try:
                reports.append(session.start())
                return session
            except SimulatedCrash:  # the next planned crash can strike during start-up
                restarts += 1

    reports: list[Any] = []
    restarts = 0
    session = new_session()
    reports.append(session.start())
    venue_done = -1  # the last candle the exchange processed (the exchange's own state)
    for candle in CANDLES:
        while True:
            try:
                if venue_done < candle.open_time:
                    events = exchange.on_candle(candle)
                    venue_done = candle.open_time
                    session.process_events(events)
                if session.last_decided_candle != candle.open_time:
                    session.on_candle(candle)
                break
            except SimulatedCrash:
                restarts += 1
                session = restart()
    journals[-1].engine.dispose()
    return Outcome(exchange, url, restarts, reports)


def _summary(outcome: Outcome) -> dict[str, Any]:
    exchange = outcome.exchange
    ledger = exchange.ledger
    assert isinstance(ledger, FuturesLedger)
    journal = open_journal(outcome.journal_url)
    try:
        account = rebuild_account(journal, INSTRUMENT, CASH)
        journal_trades = [f.trade_id for f in journal.fills()]
        open_in_journal = sorted((o.side, o.price, o.quantity) for o in journal.open_orders())
    finally:
        journal.engine.dispose()
    exchange_trades = [f.trade_id for f in exchange.trades_since("BTCUSDT", 0)]
    return {
        "wallet": ledger.wallet,
        "position": ledger.position.quantity,
        "realized": ledger.position.realized_pnl,
        "fees": ledger.position.fees,
        "funding": ledger.position.funding,
        "fills": [
            (f.side, f.price, f.quantity, f.fee) for f in exchange.trades_since("BTCUSDT", 0)
        ],
        "open_on_exchange": sorted(
            (o.side, o.price, o.quantity) for o in exchange.open_orders("BTCUSDT")
        ),
        "journal_cash": account.cash,
        "journal_position": account.position.quantity,
        "journal_trades": journal_trades,
        "exchange_trades": exchange_trades,
        "open_in_journal": open_in_journal,
    }


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    outcome = run(tmp_path_factory.mktemp("baseline"), [])
    assert outcome.restarts == 0
    summary = _summary(outcome)
    assert len(summary["fills"]) > 150  # the run really trades
    return summary


def _check(summary: dict[str, Any], baseline: dict[str, Any]) -> None:
    # No lost fill: every exchange fill is in the journal, once.
    assert summary["journal_trades"] == summary["exchange_trades"]
    # The stored position and cash equal the exchange's.
    assert summary["journal_position"] == summary["position"]
    assert summary["journal_cash"] == summary["wallet"]
    # Nothing left half-known: the journal's open orders are the exchange's.
    assert summary["open_in_journal"] == summary["open_on_exchange"]
    # Identical results to the uninterrupted run: same fills, same PnL, no duplicate order.
    for key in ("fills", "wallet", "position", "realized", "fees", "funding", "open_on_exchange"):
        assert summary[key] == baseline[key], key


POINTS = ["after_intent_commit", "after_send_before_ack", "after_ack", "mid_fill_batch"]


@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("nth", [7, 150])
def test_crash_at_a_fault_point_loses_nothing(
    tmp_path: Path, baseline: dict[str, Any], point: str, nth: int
) -> None:
    outcome = run(tmp_path, [CrashPlan(point, nth)])
    assert outcome.restarts == 1
    _check(_summary(outcome), baseline)
    assert all(report.ok for report in outcome.reports)


def test_repeated_crashes_at_every_point(tmp_path: Path, baseline: dict[str, Any]) -> None:
    plans = [CrashPlan(point, nth) for nth in (20, 60) for point in POINTS]
    outcome = run(tmp_path, plans)
    assert outcome.restarts == len(plans)
    _check(_summary(outcome), baseline)


def test_reconciliation_reports_what_it_recovered(tmp_path: Path) -> None:
    outcome = run(tmp_path, [CrashPlan("after_send_before_ack", 40)])
    report = outcome.reports[-1]
    assert report.adopted_intents  # the request that reached the exchange was adopted
    outcome2 = run(tmp_path / "b", [CrashPlan("after_intent_commit", 40)])
    assert outcome2.reports[-1].never_sent  # the one that did not was reported
