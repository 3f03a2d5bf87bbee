"""The decision cycle: one input in, the same ordered steps every time, commands out.

Backtest, paper and live all run their inputs through this one object, so a rule written
into the decision core is written once and behaves the same everywhere. For every input —
a closed candle, exchange events, the events a resync found, an operator's commands — the
steps are, in this order:

1. **apply exchange events** (for a replaying venue, the fills its matching produced
   inside the candle) to orders and the account;
2. **update the signal** and the market facts with the candle, so what the strategy is
   handed is about the candle it decides on;
3. **ask the strategy** (only while deciding);
4. **pre-trade risk** — inside the execution service's ``prepare``, which also journals
   each intent;
5. **execute**: send the prepared requests; their answers are exchange events again and
   go back to step 1, one at a time, until nothing is left.

**Brakes** (:mod:`application.brakes`), when given, sit in the same steps for every mode:
equity including unrealized PnL is observed after the candle's events are applied (before
the strategy is asked) and after every fill and funding payment; every batch of commands
passes the brake's gate before pre-trade risk (entries scaled or dropped, exits always
through; the strategy sees the level in its context and plans within it, and hears of
anything the gate still drops through its ``on_brake_refusal``); while
reduce-only, resting entries are cancelled (and, if configured, leverage
above the cap is reduced at market); on HALTED the cycle cancels everything and flattens
(the trading session's flatten in a live run, the same closing order in a backtest) and
stops asking the strategy until an operator resumes.

**Calendar events** — weekend mode switching on or off, a CME gap recorded at a reopen —
are the strategy's (its calendar overlay decides them on the candle); the cycle takes them
right after asking it, inside the same step, and hands them to
:class:`~application.calendar_events.CalendarEvents`, which logs, streams, counts and
(through the trading session) journals each one, in the decision's transaction.

The cycle is synchronous and knows nothing of crashes. A process that can die wraps every
step (apply + decide + journal) in its own scope — the trading session opens a
transaction there and checkpoints the strategy — and sends only after the scope has
closed. A backtest passes no scope and runs the same steps as a plain loop.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from decimal import Decimal
from typing import Protocol

from application.brakes import BrakeGate
from application.calendar_events import CalendarEvents
from application.execution import ExecutionService, PreparedRequest
from application.flatten_orders import closing_order
from application.ports.exchange import ReplayVenue
from application.signals import SignalTracker
from application.trading_context import CycleContext
from domain.calendar.events import CalendarEvent
from domain.candles import Candle
from domain.commands import CancelAllOrders, Command
from domain.events import ExecutionEvent, FundingPaid, OrderFilled
from domain.market_facts import MarketFacts
from domain.orders import Order
from domain.signals.decision import DecisionRecord
from domain.strategy import Strategy

#: Opens the scope one step runs in; called with the candle's open time when the step is
#: a candle decision (so the scope can record which candle was decided), else None.
StepScope = Callable[[int | None], AbstractContextManager[object]]

_UNSCOPED = nullcontext()


class CycleObserver(Protocol):
    """Watches what passes through the cycle without changing it (a run's metrics).

    Called with every applied event, every batch of commands before it is prepared, every
    decision record and, last, every candle once its steps are done.
    """

    def on_event(self, event: ExecutionEvent, order: Order | None) -> None:
        """An event that changed an order, the account or the funding ledger."""
        ...

    def on_commands(self, commands: Sequence[Command]) -> None:
        """A batch of commands about to be checked and sent."""
        ...

    def on_decision(self, decision: DecisionRecord) -> None:
        """The signal's decision on a candle."""
        ...

    def on_candle(self, candle: Candle) -> None:
        """A candle whose steps are all done."""
        ...


def _unscoped(_decided_candle: int | None) -> AbstractContextManager[object]:
    return _UNSCOPED


class DecisionCycle:
    """Runs the ordered steps (see the module docstring) for every input.

    Args:
        execution: Orders, account, pre-trade risk and the exchange.
        strategy: The decision core.
        replay: The in-process venue when it replays candles (it matches resting orders
            inside each candle, before anything else sees it); None for a real exchange,
            whose events arrive on their own.
        signals: The signal decided on every candle (None: no signal, the record is None).
        market: The market facts (default windows when not given).
        scope: Opens the scope each step runs in (None: no scope, the backtest's steps
            need no transaction, and the steps then skip the scope call entirely).
        observer: Sees every event, command batch, decision and candle (None: nothing
            watches, and the steps skip the calls).
        brakes: The drawdown brake and leverage guard (None: no brakes).
        halt: What HALTED does (the trading session's flatten); None: cancel everything
            and send the closing order through this cycle.
        calendar: Reports the strategy's calendar events (None: they are taken and
            dropped).
    """

    __slots__ = (
        "_brakes",
        "_calendar",
        "_execution",
        "_halt",
        "_halting",
        "_keep_base",
        "_observer",
        "_remember",
        "_replay",
        "_scope",
        "_scoped",
        "_signals",
        "_strategy",
        "context",
        "deciding",
        "market",
    )

    def __init__(
        self,
        execution: ExecutionService,
        strategy: Strategy,
        *,
        replay: ReplayVenue | None = None,
        signals: SignalTracker | None = None,
        market: MarketFacts | None = None,
        scope: StepScope | None = None,
        observer: CycleObserver | None = None,
        brakes: BrakeGate | None = None,
        halt: Callable[[], object] | None = None,
        calendar: CalendarEvents | None = None,
    ) -> None:
        self._execution = execution
        self._calendar = calendar
        self._brakes = brakes
        self._halt = halt
        self._halting = False
        #: Spot: the base held at the start is not the bot's to sell when halting.
        self._keep_base = execution.account.base_balance
        self._observer = observer
        self._strategy = strategy
        self._replay = replay
        self._signals = signals
        self._scoped = scope is not None
        self._scope: StepScope = scope if scope is not None else _unscoped
        self.market = market if market is not None else MarketFacts()
        self._remember = self.market.update
        #: What the strategy is handed.
        self.context = CycleContext(execution, self.market, brakes)
        if brakes is not None:
            brakes.strategy_plans_within(strategy.plans_within_brakes)
        #: Whether the strategy is asked (False while paused, stopping or flattened);
        #: events are applied either way.
        self.deciding = True

    @property
    def brakes(self) -> BrakeGate | None:
        """The brakes (None when off)."""
        return self._brakes

    @property
    def decision(self) -> DecisionRecord | None:
        """The latest candle's decision record."""
        return self.context.decision

    # ------------------------------------------------------------------ inputs
    def on_candle(self, candle: Candle, decide: bool = True) -> None:
        """One closed candle through every step.

        Args:
            candle: The closed 1m candle.
            decide: False skips asking the strategy for this candle only (the live engine
                waits for a reconciliation first); events and the signal still advance.
        """
        self._execution.mark_price = candle.close
        try:
            replay = self._replay
            if replay is not None:
                events = replay.on_candle(candle)
                if events:
                    self.on_events(events)
        finally:
            # The signal and the facts see every candle, whatever happened to the orders.
            self._remember(candle)  # the facts fold it in when first read
            signals = self._signals
            if signals is not None:
                decision = self.context.decision = signals.on_candle(candle)
                if decision is not None and self._observer is not None:
                    self._observer.on_decision(decision)
        gate = self._brakes
        if gate is not None:
            self._brake_step(gate, candle.close, candle.close_time)
            decide = decide and not gate.halted
        if decide and self.deciding:
            strategy = self._strategy
            if self._scoped:
                with self._scope(candle.open_time):
                    prepared = self._prepare(strategy.on_candle(candle, self.context))
                    self._calendar_events(strategy.take_calendar_events())
                if prepared:
                    self._send(prepared)
            else:  # the same step without the no-op scope (a backtest pays it per candle)
                commands = strategy.on_candle(candle, self.context)
                calendar = strategy.take_calendar_events()
                if calendar:
                    self._calendar_events(calendar)
                if commands:
                    self._send(self._prepare(commands))
        if self._observer is not None:
            self._observer.on_candle(candle)

    def on_events(self, events: Iterable[ExecutionEvent]) -> None:
        """Exchange events, one step each: apply, answer, then send the answer."""
        execution = self._execution
        queue: deque[ExecutionEvent] = deque(events)
        scoped = self._scoped
        step = self._answer_event
        while queue:
            event = queue.popleft()
            if scoped:
                with self._scope(None):
                    prepared = step(event)
            else:  # the same step, minus a no-op scope the backtest would pay per event
                prepared = step(event)
            if prepared:
                for answer in execution.send_raw(prepared):
                    queue.extend(answer)
        gate = self._brakes
        if gate is not None and gate.halted and not gate.flattened:
            self._halt_now(gate)

    def on_applied(self, applied: Iterable[tuple[ExecutionEvent, Order | None]]) -> None:
        """Events something else already applied (a reconciliation): answer them in one step."""
        with self._scope(None):
            prepared = self._answer(applied)
        if prepared:
            self._send(prepared)
        gate = self._brakes
        if gate is not None and gate.halted and not gate.flattened:
            self._halt_now(gate)

    def command(self, commands: Sequence[Command]) -> None:
        """An operator's commands (cancel everything, close the position): checked, sent."""
        with self._scope(None):
            prepared = self._prepare(commands)
        if prepared:
            self._send(prepared)

    # ------------------------------------------------------------------ steps
    def _answer_event(self, event: ExecutionEvent) -> list[PreparedRequest] | None:
        """Apply one event; when it changed something and we decide, prepare the answer."""
        applied = self._execution.apply_one(event)
        if applied is None:
            return None
        if self._observer is not None:
            self._observer.on_event(*applied)
        gate = self._brakes
        if gate is not None:
            kind = type(event)
            if kind is OrderFilled or kind is FundingPaid:
                self._observe(gate, _event_time(event))
            if gate.halted:
                return None
        if not self.deciding:
            return None
        commands = self._strategy.on_execution(applied[0], applied[1], self.context)
        return self._prepare(commands) if commands else None

    def _answer(
        self, applied: Iterable[tuple[ExecutionEvent, Order | None]]
    ) -> list[PreparedRequest]:
        observer = self._observer
        if observer is not None:
            applied = list(applied)
            for event, order in applied:
                observer.on_event(event, order)
        gate = self._brakes
        if gate is not None:
            applied = list(applied)
            if applied:
                self._observe(gate, max(_event_time(event) for event, _ in applied))
            if gate.halted:
                return []
        if not self.deciding:
            return []
        prepared: list[PreparedRequest] = []
        strategy = self._strategy
        context = self.context
        for event, order in applied:
            commands = strategy.on_execution(event, order, context)
            if commands:
                prepared += self._prepare(commands)
        return prepared

    def _prepare(self, commands: Sequence[Command]) -> list[PreparedRequest]:
        if not commands:
            return []
        gate = self._brakes
        if gate is not None and gate.gating:
            execution = self._execution
            commands = gate.filter(
                commands, execution.account.position.quantity, execution.open_orders
            )
            if gate.refused:
                refused = tuple(gate.refused)
                gate.refused.clear()
                # The strategy hears of them, so it does not send them again until the
                # level changes.
                self._strategy.on_brake_refusal(refused)
            if not commands:
                return []
        if self._observer is not None:
            self._observer.on_commands(commands)
        return self._execution.prepare(commands)

    def _calendar_events(self, events: Sequence[CalendarEvent]) -> None:
        """The strategy's weekend switches and CME gaps, reported (see the module docstring)."""
        if events and self._calendar is not None:
            self._calendar.record(events)

    def _send(self, prepared: list[PreparedRequest]) -> None:
        answers = self._execution.send_raw(prepared)
        if answers:
            self.on_events(event for answer in answers for event in answer)

    # ------------------------------------------------------------------ brakes
    def _observe(self, gate: BrakeGate, at_ms: int) -> None:
        """Equity including unrealized PnL at the latest mark, into the brakes."""
        execution = self._execution
        price = execution.mark_price
        if price is None:
            return
        account = execution.account
        gate.observe(account.equity(price), account.position.quantity, price, at_ms)

    def _brake_step(self, gate: BrakeGate, price: Decimal, at_ms: int) -> None:
        """Observe the candle's equity, then do what the level asks before deciding."""
        account = self._execution.account
        gate.observe(account.equity(price), account.position.quantity, price, at_ms)
        if gate.halted:
            if not gate.flattened:
                self._halt_now(gate)
            return
        if not gate.restricted:
            return
        open_orders = self._execution.open_orders
        position = account.position.quantity
        commands: list[Command] = list(gate.entry_cancels(position, open_orders))
        gate.stats.cancelled_entries += len(commands)
        if gate.over_cap:
            reduce = gate.reduction(position, open_orders.values())
            if reduce is not None:
                commands.append(reduce)
        if commands:
            self.command(commands)

    def _halt_now(self, gate: BrakeGate) -> None:
        """HALTED: cancel everything and flatten, once per halt (not re-entered)."""
        if self._halting:
            return
        self._halting = True
        try:
            if self._halt is not None:
                self._halt()
            else:
                execution = self._execution
                instrument = execution.instrument
                account = execution.account
                commands: list[Command] = [CancelAllOrders(instrument.symbol)]
                close = closing_order(
                    instrument, account.position.quantity, account.base_balance, self._keep_base
                )
                if close is not None:
                    commands.append(close)
                self.command(commands)
            gate.flattened = True
            gate.stats.halts += 1
        finally:
            self._halting = False


def _event_time(event: ExecutionEvent) -> int:
    """When a fill or funding payment happened (ms)."""
    if type(event) is OrderFilled:
        return event.fill.timestamp
    return int(getattr(event, "timestamp", 0))
