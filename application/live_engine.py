"""The live engine: one trading session steered by an operator, one input at a time.

The same decision core as the backtest (a :class:`~application.session.TradingSession`
around the one :class:`~application.decision_cycle.DecisionCycle`) plus what a
long-running service needs: a state the operator can change (pause, resume, flatten,
start, stop), a status view, and telemetry. It is synchronous and single-threaded on
purpose: the live shell feeds it candles, exchange events, resyncs and control commands
one after another from a queue, so there is never more than one writer of the journal and
no decision races another.

Between reconnects the engine trusts the user-data stream, which can lose an event without
dropping the connection. A periodic **audit** is the safety net: every ``audit_minutes`` of
market time (see :class:`LiveEngine`) it runs the same resync as after a reconnect.

States::

    STARTING --(reconciled)--> RUNNING or STANDBY
    STANDBY --start--> RUNNING --pause--> PAUSED --resume--> RUNNING
       any --flatten--> FLATTENED --start--> RUNNING
       any --stop--> STOPPING --(shell finishes: flatten if asked)--> STOPPED
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from decimal import Decimal

from application.ports.clock import Clock
from application.ports.control import (
    BotState,
    BrakeView,
    CommandResult,
    ConvictionView,
    EngineIdentity,
    FlattenReport,
    PnlView,
    RiskView,
    StatusView,
)
from application.ports.event_sink import EventSink
from application.ports.exchange import ExchangeUnavailable, ReplayVenue
from application.reconciliation import ReconciliationFailed, ReconciliationReport
from application.session import TradingSession
from application.signals import SignalTracker
from domain.candles import Candle
from domain.drawdown_brake import BrakeLevel
from domain.events import ExecutionEvent
from domain.performance import DrawdownTracker
from domain.risk import worst_case_exposure

ZERO = Decimal(0)
MINUTE_MS = 60_000
#: The log event of a periodic audit (what it found; normally nothing).
AUDIT_EVENT = "reconciliation.audit"
#: The control port owns the views and results; they are re-exported here for old imports.
__all__ = [
    "BotState",
    "CommandResult",
    "ConvictionView",
    "EngineIdentity",
    "FlattenReport",
    "LiveEngine",
    "PnlView",
    "RiskView",
    "StatusView",
]


class LiveEngine:
    """Drives a :class:`TradingSession` from live inputs and operator commands.

    Args:
        session: The trading session (not started yet).
        sink: Structured events (state changes, candles, PnL).
        clock: Time source.
        identity: Run id, exchange, market and symbol.
        replay: The in-process venue when it is a replaying simulator: it must see each
            candle before the strategy does (its fills happen inside the candle); ``None``
            for a real exchange, whose events arrive on their own.
        keep_base: Spot base flattening never sells; None: the holding journaled at the
            very first start (see :meth:`TradingSession.flatten`).
        flatten_on_exit: Default of a stop request that does not say whether to flatten.
        standby: Start in STANDBY (wait for the operator's Start) instead of RUNNING.
        max_leverage: The configured leverage cap, for the status view.
        kill_switch: Whether the risk limits' kill switch is on.
        signals: The signal (features, systems, ensemble) decided on every candle, in any
            state: its record is reported and its conviction shown in the status.
        audit_minutes: Reconcile with the exchange every this many minutes of market time
            (:meth:`audit`); 0 or None: never, beyond start-up, reconnects and outages.
            Timed by the candles' open times, never a clock read, so an accelerated replay
            audits as often per market hour and a test knows which candle audits.
    """

    def __init__(
        self,
        session: TradingSession,
        sink: EventSink,
        clock: Clock,
        identity: EngineIdentity,
        *,
        replay: ReplayVenue | None = None,
        keep_base: Decimal | None = None,
        flatten_on_exit: bool = True,
        standby: bool = False,
        max_leverage: Decimal | None = None,
        kill_switch: bool = False,
        signals: SignalTracker | None = None,
        audit_minutes: int | None = None,
    ) -> None:
        self.session = session
        self._sink = sink
        self._clock = clock
        self.identity = identity
        self._keep_base = keep_base
        self.flatten_on_exit = flatten_on_exit
        self._initial_state = BotState.STANDBY if standby else BotState.RUNNING
        self.state = BotState.STARTING
        self._max_leverage = max_leverage
        self._kill_switch = kill_switch
        self.candles = 0
        self.last_candle: Candle | None = None
        self.stop_flatten = flatten_on_exit
        self.started_at_ms = 0
        self._drawdown: DrawdownTracker | None = None
        self.conviction: ConvictionView | None = None
        self.signals = signals
        # The cycle inside the session runs the venue and the signal in their place in the
        # step order; handed here for callers that give them to the engine.
        if replay is not None:
            session.replay = replay
        if signals is not None:
            session.signals = signals
        #: The exchange failed us: reconcile before deciding again.
        self.needs_resync = False
        #: When the exchange became unavailable (ms), None while it answers.
        self.unavailable_since: int | None = None
        self.stop_listeners: list[Callable[[], None]] = []
        self._audit_ms = audit_minutes * MINUTE_MS if audit_minutes else 0
        #: The audit period (index of ``audit_minutes`` since the epoch) last audited.
        self._audited_period: int | None = None
        #: Audits that completed, and what they found in total (missed fills, updates...).
        self.audits = 0
        self.audit_findings = 0

    # ------------------------------------------------------------------ lifecycle
    def start(
        self, accept_exchange_state: bool = False, reference_price: Decimal = ZERO
    ) -> ReconciliationReport:
        """Rebuild from the journal and reconcile; then RUNNING (or STANDBY).

        Raises:
            ReconciliationFailed: The exchange and the journal disagree.
        """
        self.started_at_ms = self._clock.now_ms()
        report = self.session.start(accept_exchange_state, reference_price)
        account = self.session.execution.account
        self._drawdown = DrawdownTracker(account.initial_equity)
        self._set_state(self._initial_state, "started")
        return report

    @property
    def stop_requested(self) -> bool:
        """A stop was asked for (by a signal or the operator)."""
        return self.state in (BotState.STOPPING, BotState.STOPPED)

    # ------------------------------------------------------------------ inputs
    def on_candle(self, candle: Candle) -> None:
        """One closed 1m candle through the session's decision cycle (venue, signal, strategy).

        If the exchange cannot be used right now, the decision waits for the next candle:
        what was journaled stays pending and a reconciliation settles it first.
        """
        session = self.session
        self.last_candle = candle
        self.candles += 1
        audit_due = self._audit_due(candle)  # a resync for an outage stands in for it
        if self.needs_resync:
            self.resync()
        elif audit_due:
            self.audit(candle)
        try:
            session.on_candle(candle, decide=not self.needs_resync)
        except ExchangeUnavailable as exc:
            self._unavailable("candle", exc)
        record = session.cycle.decision
        if record is not None:
            self.conviction = ConvictionView(
                record.open_time,
                record.long_conviction,
                record.short_conviction,
                str(record.regime),
            )
        execution = session.execution
        account = execution.account
        equity = account.equity(candle.close)
        assert self._drawdown is not None
        self._drawdown.observe(equity)
        self._sink.emit(
            "candle",
            candle.close_time,
            open_time=candle.open_time,
            open=candle.open,
            high=candle.high,
            low=candle.low,
            close=candle.close,
            volume=candle.volume,
        )
        self._sink.emit(
            "pnl",
            candle.close_time,
            equity=equity,
            realized=account.position.realized_pnl,
            unrealized=account.position.unrealized_pnl(candle.close),
            fees=account.fees_quote,
            funding=account.position.funding,
            position=account.position.quantity,
        )

    def on_events(self, events: Iterable[ExecutionEvent]) -> None:
        """Exchange events that arrived on their own (the user-data stream)."""
        try:
            self.session.process_events(events)
        except ExchangeUnavailable as exc:  # sending the strategy's answer failed
            self._unavailable("events", exc)

    def _unavailable(self, step: str, exc: ExchangeUnavailable) -> None:
        """Carry on without the exchange; reconcile before the next decision.

        Logged once when the outage begins (every candle meets it again during a ban);
        :meth:`_available` logs its end.
        """
        self.needs_resync = True
        if self.unavailable_since is None:
            self.unavailable_since = self._clock.now_ms()
            self._sink.emit(
                "exchange.unavailable", self.unavailable_since, step=step, error=str(exc)
            )

    def _available(self) -> None:
        """A reconciliation succeeded: the outage (if any) is over; log its end once."""
        self.needs_resync = False
        since = self.unavailable_since
        if since is not None:
            self.unavailable_since = None
            now = self._clock.now_ms()
            self._sink.emit("exchange.available", now, unavailable_ms=now - since)

    def resync(self, attempts: int = 3) -> ReconciliationReport | None:
        """Reconcile after a stream reconnect, before any newer candle is decided.

        While trading, a fill can land between reading the trade history and reading the
        balances, so one disagreement is not yet proof of a real difference: each new
        attempt reads the history again (applying what arrived meanwhile) before comparing.

        Returns:
            The report, or None when the exchange could not be used (tried again before
            the next decision).

        Raises:
            ReconciliationFailed: They still disagree after ``attempts`` tries.
        """
        try:
            for attempt in range(1, attempts):
                try:
                    report = self.session.resync()
                    self._available()
                    return report
                except ReconciliationFailed:
                    self._sink.emit("reconciliation.retry", self._clock.now_ms(), attempt=attempt)
            report = self.session.resync()
            self._available()
            return report
        except ExchangeUnavailable as exc:
            self._unavailable("resync", exc)
            return None

    def _audit_due(self, candle: Candle) -> bool:
        """Whether ``candle`` closes a new audit period (market time, aligned to the epoch).

        Aligned periods rather than "N minutes after the last one": a gap in the candles
        (a restart, a reconnect's backfill) still audits once, on the first candle past the
        boundary. The first candle a process sees only starts the count: start-up has just
        reconciled.
        """
        if not self._audit_ms:
            return False
        period = (candle.open_time + MINUTE_MS) // self._audit_ms
        last = self._audited_period
        self._audited_period = period
        return last is not None and period > last

    def audit(self, candle: Candle) -> ReconciliationReport | None:
        """The periodic audit: the reconnect's resync, before ``candle`` is decided.

        Signed REST reads of the open orders, the trade history (twice: before and after
        the account, for a consistent comparison), funding (futures) and the account,
        reconciled exactly as after a stream reconnect: what the stream lost is applied
        and answered before the next decision. Findings are not always lost events: a fill
        whose stream message is still queued behind this candle is found here first (and
        recognised as already booked when the message arrives).

        Request weight per audit when nothing differs: futures about 52 (open orders 1,
        open algo orders 1, user trades 2 x 5, income 30, balance 5, position risk 5);
        spot about 66 (open orders 6, my trades 2 x 20, account 20). Every 10 minutes
        that is about 310 (futures) or 400 (spot) per hour, against Binance's limits of
        2400 (futures) and 6000 (spot) per minute: under 0.3 % of one minute's budget
        per hour. A finding can add an order query (1 / 4) per order it settles.

        Returns:
            The report; None when the exchange could not be used (the engine then resyncs
            before the next decision, as for any outage).

        Raises:
            ReconciliationFailed: The exchange and the journal still disagree after the
                retries (logged first), as after a reconnect: the bot stops, fail closed.
        """
        at = candle.close_time
        try:
            report = self.resync()
        except ReconciliationFailed as exc:
            self._sink.emit(
                AUDIT_EVENT,
                at,
                ok=False,
                number=self.audits + 1,
                differences=len(exc.report.differences),
                detail="; ".join(exc.report.differences)[:500],
            )
            raise
        if report is None:
            self._sink.emit(AUDIT_EVENT, at, ok=False, number=self.audits + 1, unavailable=True)
            return None
        found = {
            "missed_fills": len(report.missed_fills),
            "missed_funding": len(report.missed_funding),
            "status_updates": len(report.status_updates),
            "adopted_intents": len(report.adopted_intents),
            "never_sent": len(report.never_sent),
            "resent_cancels": len(report.resent_cancels),
            "adopted_unknown": len(report.adopted_unknown),
            "canceled_unknown": len(report.canceled_unknown),
            "differences": len(report.differences),
        }
        self.audits += 1
        total = sum(found.values())
        self.audit_findings += total
        self._sink.emit(
            AUDIT_EVENT,
            at,
            ok=True,
            number=self.audits,
            open_time=candle.open_time,
            found=total,
            **{k: v for k, v in found.items() if v},
        )
        return report

    # ------------------------------------------------------------------ commands
    def start_trading(self) -> CommandResult:
        """STANDBY / FLATTENED -> RUNNING (after a flatten the book is built anew)."""
        if self.state is BotState.RUNNING:
            return CommandResult(self.state, False, "already running")
        if self.state is BotState.PAUSED:
            return CommandResult(self.state, False, "paused: use resume")
        if self.stop_requested:
            return CommandResult(self.state, False, "stopping")
        if self.state is BotState.FLATTENED:
            self.session.reset_strategy()
        return self._set_state(BotState.RUNNING, "start")

    def pause(self) -> CommandResult:
        """RUNNING -> PAUSED: no new decisions; open orders stay and fills are recorded."""
        if self.state is BotState.PAUSED:
            return CommandResult(self.state, False, "already paused")
        if self.state is not BotState.RUNNING:
            return CommandResult(self.state, False, f"not running ({self.state})")
        return self._set_state(BotState.PAUSED, "pause")

    def resume(self, acknowledge_halt: bool = False) -> CommandResult:
        """PAUSED -> RUNNING; acknowledged, also lift the drawdown brake's HALTED.

        A HALTED brake is lifted only with ``acknowledge_halt``: the operator confirms they
        have looked at the loss. The brake's peak is reset to the equity now (logged and
        journaled as an OPERATOR transition) and the strategy builds a fresh book.
        """
        brakes = self.session.brakes
        halted = brakes is not None and brakes.halted
        lifted = ""
        if halted and not acknowledge_halt:
            return CommandResult(
                self.state,
                False,
                "HALTED by the drawdown brake: resume with --ack to lift it "
                "(the peak is reset to the equity now)",
            )
        if halted:
            mark = self._mark()
            equity = self.session.execution.account.equity(mark) if mark else ZERO
            transition = self.session.resume_brake(equity)
            self.session.reset_strategy()
            if self._drawdown is not None:
                self._drawdown = DrawdownTracker(equity)
            lifted = f"drawdown brake lifted, peak reset to {transition.peak}"
        if self.state is BotState.PAUSED:
            result = self._set_state(BotState.RUNNING, "resume")
            return CommandResult(result.state, True, "; ".join(filter(None, ["resume", lifted])))
        if lifted:
            return CommandResult(self.state, True, lifted)
        if acknowledge_halt and self.state is BotState.RUNNING:
            return CommandResult(self.state, False, "not halted: nothing to acknowledge")
        if self.state is BotState.RUNNING:
            return CommandResult(self.state, False, "already running")
        return CommandResult(self.state, False, f"not paused ({self.state})")

    def _mark(self) -> Decimal:
        last = self.last_candle
        if last is not None:
            return last.close
        return self.session.execution.mark_price or ZERO

    def flatten(self) -> FlattenReport:
        """Cancel every open order of ours, close the position, confirm with the exchange.

        Leaves the engine FLATTENED (or STOPPING if a stop was already requested).
        """
        report = self.session.flatten(keep_base=self._keep_base)
        if not self.stop_requested:
            self._set_state(BotState.FLATTENED, "flatten")
        return report

    def request_stop(self, flatten: bool | None = None) -> CommandResult:
        """Ask the shell to stop after the current input (flattening first if asked)."""
        if self.stop_requested:
            return CommandResult(self.state, False, "already stopping")
        self.stop_flatten = self.flatten_on_exit if flatten is None else flatten
        self.session.set_deciding(False)
        result = self._set_state(
            BotState.STOPPING, "stop" + (" with flatten" if self.stop_flatten else "")
        )
        for listener in self.stop_listeners:
            listener()
        return result

    def finish(self) -> FlattenReport | None:
        """The shell's last step: flatten if the stop asked for it; then STOPPED."""
        report = self.session.flatten(keep_base=self._keep_base) if self.stop_flatten else None
        self._set_state(BotState.STOPPED, "stopped")
        return report

    def _set_state(self, state: BotState, reason: str) -> CommandResult:
        previous = self.state
        self.state = state
        self.session.set_deciding(state is BotState.RUNNING)
        self._sink.emit(
            "state", self._clock.now_ms(), state=state, previous=previous, reason=reason
        )
        return CommandResult(state, state is not previous, reason)

    # ------------------------------------------------------------------ status
    def status(self) -> StatusView:
        """A consistent snapshot (call it on the engine's thread; read it on any)."""
        session = self.session
        execution = session.execution
        account = execution.account
        position = account.position
        last = self.last_candle
        mark = last.close if last is not None else (execution.mark_price or ZERO)
        equity = account.equity(mark)
        tracker = self._drawdown
        peak = tracker.peak if tracker is not None else equity
        drawdown = (peak - equity) / peak if peak > 0 and equity < peak else ZERO
        # Copies: the view may be read on another thread while the engine moves on.
        orders = tuple(copy.copy(order) for order in session.open_orders())
        exposure = max(worst_case_exposure(position.quantity, orders, mark)) if mark else ZERO
        leverage = (exposure / equity).quantize(Decimal("0.0001")) if equity > 0 else ZERO
        balances: list[tuple[str, Decimal]] = [(execution.instrument.quote_asset, account.cash)]
        if not account.is_futures:
            balances.append((execution.instrument.base_asset, account.base_balance))
        brakes = session.brakes
        level = "KILL_SWITCH" if self._kill_switch else str(brakes.level if brakes else "NORMAL")
        if level == "NORMAL" and brakes is not None and brakes.over_cap:
            level = "LEVERAGE_CAP"
        return StatusView(
            state=self.state,
            identity=self.identity,
            last_candle_open_time=last.open_time if last is not None else 0,
            last_price=mark,
            candles_processed=self.candles,
            position_quantity=position.quantity,
            entry_price=position.entry_price,
            realized_pnl=position.realized_pnl,
            funding=position.funding,
            open_orders=orders,
            balances=tuple(balances),
            pnl=PnlView(
                realized=position.realized_pnl,
                unrealized=position.unrealized_pnl(mark) if mark else ZERO,
                fees=account.fees_quote,
                funding=position.funding,
                equity=equity,
                peak_equity=peak,
                drawdown=drawdown,
            ),
            risk=RiskView(
                level=level,
                kill_switch=self._kill_switch,
                leverage=leverage,
                max_leverage=self._max_leverage,
                blocked_orders=execution.stats.risk_blocks,
            ),
            conviction=self.conviction,
            started_at_ms=self.started_at_ms,
            brake=self._brake_view(),
            weights=(
                self.signals.weights_view(self._clock.now_ms())
                if self.signals is not None
                else None
            ),
        )

    def _brake_view(self) -> BrakeView | None:
        brakes = self.session.brakes
        if brakes is None or brakes.brake is None:
            return None
        brake = brakes.brake
        level = brake.level
        nxt = brake.next_level_equity()
        deeper = "" if nxt is None else str(list(BrakeLevel)[level.rank + 1])
        distance = None
        if nxt is not None:
            threshold = brake.settings.threshold(BrakeLevel(deeper))
            distance = max(threshold - brake.drawdown, ZERO)
        return BrakeView(
            level=str(level),
            peak=brake.peak,
            equity=brake.equity,
            drawdown=brake.drawdown,
            next_level=deeper,
            next_level_equity=nxt,
            distance=distance,
            leverage_over_cap=brakes.over_cap,
            transitions=sum(brakes.stats.transitions.values()),
        )
