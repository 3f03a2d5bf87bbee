"""The trading session: the live / paper decision loop with crash-safe checkpoints.

The same :class:`~application.decision_cycle.DecisionCycle` as the backtest (the same
ordered steps for every candle, event, resync and command), plus what a process that can
die needs:

* **Start-up**: rebuild the account projection and open orders from the journal alone,
  restore the strategy's state, then reconcile with the exchange before any request is sent.
* **One transaction per event**: an exchange event, the orders the strategy decides on in
  answer (journaled as intents) and the strategy's new state are committed together; the
  requests are sent only afterwards. A crash therefore either loses the whole step (the
  exchange still has the event, and reconciliation finds it again) or keeps it whole (the
  intents are resolved by reconciliation: adopted if they reached the exchange, reported
  never-sent otherwise, and the strategy re-issues what was never sent).
* **One transaction per candle decision**, recording which candle was decided, so a restart
  knows whether the last candle still needs a decision.

Both are the cycle's step scope (:meth:`TradingSession._step`): the cycle applies and
decides inside it and sends only after it has committed.

* **Brakes**: the drawdown brake's state (level, peak) is journaled with every strategy
  checkpoint, and every change of level is also appended as a ``brake`` record and
  checkpointed at once, so a kill -9 at any level restarts in the same level from the same
  peak. HALTED flattens through :meth:`TradingSession.flatten`, exactly as an operator's
  flatten; only an operator's :meth:`TradingSession.resume_brake` lifts it. A balance
  change that reconciliation adopts and no fill, fee or funding explains is a transfer:
  the brake's peak moves with it.
* **Calendar**: every weekend-mode switch and CME gap the strategy reports is logged,
  streamed and appended as a ``calendar.weekend`` / ``calendar.gap`` record in the candle
  decision's own transaction (:mod:`application.calendar_events`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal

from application.account_state import account_from_start, rebuild_account, save_checkpoint
from application.brakes import BRAKE_RECORD, BrakeGate
from application.calendar_events import CalendarEvents
from application.decision_cycle import DecisionCycle
from application.execution import ExecutionService
from application.flatten_orders import closing_order
from application.ports.clock import Clock
from application.ports.control import FlattenReport
from application.ports.event_sink import EventSink
from application.ports.exchange import ExchangePort, ReplayVenue
from application.ports.repository import OrderRepository
from application.reconciliation import (
    NEVER_SENT_AT_START,
    NEVER_SENT_UNAVAILABLE,
    Reconciler,
    ReconciliationFailed,
    ReconciliationReport,
    UnknownOrderPolicy,
)
from application.signals import SignalTracker
from domain.account import AccountProjection
from domain.candles import Candle
from domain.client_ids import ClientOrderIdSequence, parse_sequence
from domain.commands import CancelAllOrders, Command
from domain.drawdown_brake import BrakeTransition
from domain.events import ExecutionEvent
from domain.instruments import Instrument
from domain.market_facts import MarketFacts
from domain.orders import Order
from domain.risk import PreTradeRisk
from domain.strategy import Strategy

ZERO = Decimal(0)
_ACCOUNT_KEY = "account.initial"
#: Journal keys of the starting balances and of the strategy state (with the last candle).
ACCOUNT_KEY = _ACCOUNT_KEY
__all__ = ["FlattenReport", "TradingSession", "rebuild_account"]
_STRATEGY_KEY = "strategy"
STRATEGY_KEY = _STRATEGY_KEY


class TradingSession:
    """Runs one strategy on one exchange account, surviving restarts.

    Args:
        exchange: The venue.
        instrument: The traded instrument.
        repository: The durable journal.
        strategy: The decision core (state restored from the journal on start).
        prefix: The bot's client order id prefix.
        sink: Structured event sink.
        clock: Time source.
        initial_balances: Starting balances, recorded in the journal on the very first start
            and read back from it on every later start.
        unknown_orders: Reconciliation policy for our open orders the journal does not know.
        risk: Pre-trade risk checks applied to every new order.
        replay: The in-process venue when it replays candles (it matches each candle
            before the strategy sees it); None for a real exchange.
        signals: The signal decided on every candle, before the strategy is asked.
        market: The market facts handed to the strategy (default windows when not given).
        brakes: The drawdown brake and leverage guard (None: no brakes).
    """

    def __init__(
        self,
        exchange: ExchangePort,
        instrument: Instrument,
        repository: OrderRepository,
        strategy: Strategy,
        prefix: str,
        sink: EventSink,
        clock: Clock,
        initial_balances: dict[str, Decimal],
        unknown_orders: UnknownOrderPolicy = UnknownOrderPolicy.CANCEL,
        risk: PreTradeRisk | None = None,
        replay: ReplayVenue | None = None,
        signals: SignalTracker | None = None,
        market: MarketFacts | None = None,
        brakes: BrakeGate | None = None,
    ) -> None:
        self._exchange = exchange
        self.brakes = brakes
        self._instrument = instrument
        self._repo = repository
        self._strategy = strategy
        self._prefix = prefix
        self._sink = sink
        self._clock = clock
        self._initial_balances = initial_balances
        self._unknown = unknown_orders
        self._risk = risk
        self.replay = replay
        self.signals = signals
        self._market = market
        self._execution: ExecutionService | None = None
        self._cycle: DecisionCycle | None = None
        self._ids: ClientOrderIdSequence | None = None
        self._deciding = True
        self._fresh_strategy = strategy.snapshot()
        self._starting_base = ZERO
        self.last_decided_candle: int | None = None
        #: The strategy's weekend switches and CME gaps: logged, streamed, journaled.
        self.calendar = CalendarEvents(sink)
        self.calendar.listeners.append(self._journal_calendar)

    @property
    def cycle(self) -> DecisionCycle:
        """The decision cycle (available after :meth:`start`)."""
        if self._cycle is None:
            raise RuntimeError("the session has not been started")
        return self._cycle

    @property
    def execution(self) -> ExecutionService:
        """The execution service (available after :meth:`start`)."""
        if self._execution is None:
            raise RuntimeError("the session has not been started")
        return self._execution

    # ------------------------------------------------------------------ start-up
    def start(
        self, accept_exchange_state: bool = False, reference_price: Decimal = ZERO
    ) -> ReconciliationReport:
        """Rebuild from the journal, reconcile, then send what the strategy decided meanwhile.

        Args:
            accept_exchange_state: Adopt the exchange's balances and position when they still
                differ after replay, instead of refusing to start.
            reference_price: The last known market price: values an initial base holding
                (first start) and is the mark the pre-trade checks use until the first
                candle.

        Raises:
            ReconciliationFailed: The exchange and the journal disagree (fail closed).
        """
        repo = self._repo
        inst = self._instrument
        stored = repo.load_state(_ACCOUNT_KEY)
        if stored is None:
            initial = {
                "cash": str(self._initial_balances.get(inst.quote_asset, ZERO)),
                "base": str(
                    ZERO if inst.is_futures else self._initial_balances.get(inst.base_asset, ZERO)
                ),
                "price": str(reference_price),
            }
            repo.save_state(_ACCOUNT_KEY, json.dumps(initial))
        else:
            initial = json.loads(stored)
        account = account_from_start(repo, inst, initial)
        self._starting_base = Decimal(initial["base"])
        if stored is None:
            self._baseline(account)
        ids = ClientOrderIdSequence(self._prefix, self._next_sequence())
        execution = ExecutionService(
            self._exchange, inst, account, ids, repo, self._sink, self._clock, self._risk
        )
        execution.restore_open_orders(repo.open_orders())
        if reference_price:
            # Orders decided during reconciliation (re-issues) are priced against it.
            execution.mark_price = reference_price
        self._execution = execution
        self._ids = ids
        self._cycle = DecisionCycle(
            execution,
            self._strategy,
            replay=self.replay,
            signals=self.signals,
            market=self._market,
            scope=self._step,
            brakes=self.brakes,
            halt=self._brake_halt,
            calendar=self.calendar,
        )
        self._cycle.deciding = self._deciding
        state = repo.load_state(_STRATEGY_KEY)
        if state is not None:
            saved = json.loads(state)
            self._strategy.restore(saved["strategy"])
            self.last_decided_candle = saved["last_candle"]
            if self.brakes is not None:
                self.brakes.restore(saved.get("brake"))
        if self.brakes is not None and self._journal_brake not in self.brakes.listeners:
            self.brakes.listeners.append(self._journal_brake)
        return self.resync(accept_exchange_state, NEVER_SENT_AT_START)

    def resync(
        self, accept_exchange_state: bool = False, never_sent: str = NEVER_SENT_UNAVAILABLE
    ) -> ReconciliationReport:
        """Reconcile with the exchange again (start-up, and after every stream reconnect).

        Fills and cancels missed while the stream was down are applied exactly once; the
        strategy answers them (unless paused), and its orders go out only once the exchange
        and the journal agree. An intent found unsent after start-up is one whose sending
        failed (the exchange was unavailable): ``never_sent`` says so in its rejection.

        Raises:
            ReconciliationFailed: The exchange and the journal disagree (fail closed).
        """
        execution = self.execution
        assert self._ids is not None
        repo = self._repo
        reconciler = Reconciler(
            self._exchange,
            execution,
            repo,
            self._ids,
            self._sink,
            self._clock,
            self._unknown,
            never_sent,
        )
        report, applied = reconciler.run(accept_exchange_state)
        if reconciler.transfer and self.brakes is not None:
            # Adopted balances no fill, fee or funding explains: a deposit or withdrawal.
            with repo.transaction():
                self.brakes.transfer(reconciler.transfer, self._clock.now_ms())
                self._checkpoint()
        self.cycle.on_applied(applied)
        return report

    @property
    def deciding(self) -> bool:
        """Whether the strategy is asked on candles and fills (False while paused)."""
        return self._deciding

    def set_deciding(self, deciding: bool) -> None:
        """Pause (False) or resume (True) the strategy; orders and fills are still applied."""
        self._deciding = deciding
        if self._cycle is not None:
            self._cycle.deciding = deciding

    def reset_strategy(self) -> None:
        """Forget the strategy's state (after a flatten, it builds a new book from scratch)."""
        with self._repo.transaction():
            self._strategy.restore(self._fresh_strategy)
            self._checkpoint()

    def _baseline(self, account: AccountProjection) -> None:
        """First start on an account with history: that history is already in the balances.

        The starting balances are what the exchange holds now, so trades and funding that
        happened before this first start (a previous install, manual trading) must never be
        applied on top of them: a checkpoint marks them as covered.
        """
        symbol = self._instrument.symbol
        trades = self._exchange.trades_since(symbol, 0)
        funding = self._exchange.funding_since(symbol, -1)
        if trades or funding:
            save_checkpoint(
                self._repo,
                account,
                after_trade_id=max(f.trade_id for f in trades) if trades else 0,
                after_funding=max(p.timestamp for p in funding) if funding else -1,
            )

    def _next_sequence(self) -> int:
        sequences = [parse_sequence(self._prefix, cid) for cid in self._repo.order_ids()]
        known = [s for s in sequences if s is not None]
        return max(known) + 1 if known else 0

    # ------------------------------------------------------------------ the loop
    def process_events(self, events: Iterable[ExecutionEvent]) -> None:
        """Apply exchange events one transaction each, answering each with the strategy."""
        self.cycle.on_events(events)

    def observe_price(self, price: Decimal) -> None:
        """Record the latest market price (it values exposure for the pre-trade checks)."""
        self.execution.mark_price = price

    def on_candle(self, candle: Candle, decide: bool = True) -> None:
        """A closed candle through the cycle; the decision is journaled, then sent.

        Args:
            candle: The closed 1m candle.
            decide: False: apply the venue's events and advance the signal, but leave the
                decision to a later candle (the live engine must reconcile first).
        """
        self.cycle.on_candle(candle, decide)

    # ------------------------------------------------------------------ helpers
    @contextmanager
    def _step(self, decided_candle: int | None) -> Iterator[None]:
        """One step of the cycle: one transaction, ending with the strategy's checkpoint."""
        with self._repo.transaction():
            yield
            if decided_candle is not None:
                self.last_decided_candle = decided_candle
            self._checkpoint()

    def _checkpoint(self) -> None:
        state: dict[str, object] = {
            "strategy": self._strategy.snapshot(),
            "last_candle": self.last_decided_candle,
        }
        brakes = self.brakes
        if brakes is not None:
            state["brake"] = brakes.snapshot()
        self._repo.save_state(_STRATEGY_KEY, json.dumps(state))

    # ------------------------------------------------------------------ brakes
    def _journal_brake(self, transition: BrakeTransition) -> None:
        """A change of level: a journal record and the checkpoint, durable at once."""
        brakes = self.brakes
        assert brakes is not None
        record = {**transition.to_dict(), "state": brakes.snapshot()}
        with self._repo.transaction():
            self._repo.save_report(BRAKE_RECORD, transition.at_ms, json.dumps(record))
            self._checkpoint()

    # ------------------------------------------------------------------ calendar
    def _journal_calendar(self, event: str, at_ms: int, fields: dict[str, str]) -> None:
        """A weekend switch or CME gap: a journal record named after the event.

        The cycle reports it inside the candle decision's step, so the record commits with
        the orders decided on that candle (the transaction joins the step's).
        """
        with self._repo.transaction():
            self._repo.save_report(event, at_ms, json.dumps(fields))

    def _brake_halt(self) -> None:
        """HALTED: cancel everything and flatten, as an operator's flatten does.

        The strategy is not paused here: HALTED itself keeps it from being asked, and an
        operator's resume of the brake lets it decide again (on a fresh book).
        """
        self.flatten(stop_deciding=False)

    def resume_brake(self, equity: Decimal) -> BrakeTransition:
        """The operator lifts HALTED: the peak is reset to ``equity`` (logged, journaled).

        Raises:
            InvalidBrakeTransition: The brake is not HALTED.
            RuntimeError: There are no brakes.
        """
        if self.brakes is None:
            raise RuntimeError("the drawdown brake is off")
        return self.brakes.resume(equity, self._clock.now_ms())

    def flatten(
        self, keep_base: Decimal | None = None, stop_deciding: bool = True
    ) -> FlattenReport:
        """Cancel every open order of ours and close the position, then ask the exchange.

        Futures: a reduce-only MARKET order for the whole position. Spot: a MARKET sell of
        the base the bot holds beyond ``keep_base``: by default the holding journaled at the
        very first start, which is the user's, not the bot's (the holding at this process's
        start also counts what earlier processes bought). Each step goes through the
        journal like any decision. The drawdown brake's HALTED flattens through here too.

        Args:
            keep_base: Spot base never sold (None: the holding at the very first start).
            stop_deciding: Stop asking the strategy (an operator's flatten); the brake
                passes False, its HALTED level already keeps the strategy out.

        Returns:
            What was done and whether the exchange confirms the account is flat.
        """
        execution = self.execution
        inst = self._instrument
        keep_base = self._starting_base if keep_base is None else keep_base
        if stop_deciding:
            self.set_deciding(False)  # not asked again: it would re-open the book
        canceled = len(execution.open_orders)
        self._command([CancelAllOrders(inst.symbol)])
        # Fills can still be on their way (the user-data stream) when the book is cancelled:
        # read the exchange's history now, so the close is sized on every fill.
        try:
            self.resync()
        except ReconciliationFailed as exc:
            self._sink.emit("flatten.mismatch", self._clock.now_ms(), detail=str(exc))
        account = execution.account
        venue_position = ZERO
        if inst.is_futures:
            # The exchange's position is the truth a reduce-only close must match.
            snapshot = self._exchange.account()
            venue_position = sum(
                (p.quantity for p in snapshot.positions if p.symbol == inst.symbol), ZERO
            )
        order = closing_order(inst, venue_position, account.base_balance, keep_base)
        closing = order.quantity if order is not None else ZERO
        if order is not None:
            self._command([order])
        snapshot = self._exchange.account()
        position = sum((p.quantity for p in snapshot.positions if p.symbol == inst.symbol), ZERO)
        still_open = [o.client_order_id for o in self._exchange.open_orders(inst.symbol)]
        ours = [cid for cid in still_open if parse_sequence(self._prefix, cid) is not None]
        flat = not ours and (not inst.is_futures or not position)
        if flat:
            # The old grid's centre must not outlive its book: a restart (or Start) would
            # find price inside the old band and wait for a re-centre to place anything.
            self.reset_strategy()
        report = FlattenReport(canceled, closing, position, tuple(ours), flat)
        self._sink.emit(
            "flatten",
            self._clock.now_ms(),
            canceled=canceled,
            closed=closing,
            position=position,
            still_open=len(ours),
            flat=flat,
        )
        return report

    def _command(self, commands: Sequence[Command]) -> None:
        self.cycle.command(commands)

    def open_orders(self) -> list[Order]:
        """Open orders as the session knows them."""
        return list(self.execution.open_orders.values())
