"""The brakes as the decision cycle applies them: what a level lets the strategy's commands do.

The domain owns the state machines (:class:`~domain.drawdown_brake.DrawdownBrake`, one
transition table; :class:`~domain.leverage_guard.LeverageGuard`). This gate feeds them the
cycle's observations (equity including unrealized PnL at every candle and every fill) and
applies their verdict to every batch of commands before it is checked and journaled, so a
backtest, a paper run and a live run brake identically:

* ``REDUCED``: a new entry is sized by ``reduced_size`` (rounded down to the lot; an entry
  that rounds to nothing is dropped);
* ``REDUCE_ONLY`` (and leverage above the cap when ``reduce_only_over_leverage``): new
  entries are dropped and resting entries are cancelled; exits still go;
* ``HALTED``: the cycle cancels everything, flattens through the same closing order an
  operator's flatten sends, and stops asking the strategy until an operator resumes.

**Entry or exit.** An order is an exit when it is ``reduce_only`` or when it is on the side
that reduces the position and no larger than the position (a sell while long, a buy while
short); everything else opens exposure and is an entry (:func:`~domain.drawdown_brake.is_exit`).
Closing orders and take-profits that reduce the position therefore keep working. On a
netted futures account a grid holding legs on both sides has take-profits that *add* to the
net position (a long leg's take-profit sell while the legs net out short): those are entries
by this rule, and wait while entries are not allowed.

**The strategy plans within the level; the gate is the safety net.** The level and its size
factor are in the strategy's context (:attr:`BrakeGate.allowance`). A strategy that plans
within them (``plans_within_brakes = True``: the adaptive grid) sizes its own entries at
REDUCED (the gate does not scale them again) and sends none while entries are not allowed.
A strategy that does not (the static grid) has its entries scaled and dropped here.
Whatever the gate still drops is never silent: it is counted by reason
(:attr:`BrakeStats.dropped`, in the backtest report), emitted as a ``brake.dropped`` event
(a JSON log line and a telemetry event in a live run), and its tag is handed back to the
strategy (:attr:`BrakeGate.refused`) so it is not re-sent on every candle.

Every change of level (and of the leverage verdict) is emitted to the event sink — a JSON
log line and a telemetry event in a live run — and handed to the listeners, which journal
it (the trading session stores the brake's state with the strategy's checkpoint).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal

from application.ports.event_sink import EventSink
from domain.commands import CancelOrder, Command, ModifyOrder, PlaceOrder
from domain.drawdown_brake import (
    UNBRAKED,
    BrakeActions,
    BrakeLevel,
    BrakeSettings,
    BrakeTransition,
    DrawdownBrake,
    is_exit,
)
from domain.enums import OrderType, Side
from domain.errors import FilterViolation
from domain.instruments import Instrument, Rounding
from domain.leverage_guard import LeverageGuard
from domain.orders import Order, OrderStatus

ZERO = Decimal(0)
ONE = Decimal(1)
LEVERAGE_TAG = "leverage"

#: Journal record kind of a brake transition.
BRAKE_RECORD = "brake"
#: Why the gate dropped a command (the keys of :attr:`BrakeStats.dropped`).
DROP_NO_ENTRIES = "entry_not_allowed"  # a new entry while entries are not allowed
DROP_BELOW_LOT = "entry_scaled_below_lot"  # an entry the size factor rounds to nothing
DROP_MODIFY = "modify_of_entry_not_allowed"  # a resting entry may not grow or move

__all__ = ["BRAKE_RECORD", "BrakeGate", "BrakeStats", "is_exit"]


class BrakeStats:
    """What the brakes did in a run (the backtest report shows it).

    Attributes:
        transitions: Changes of level, by the level entered.
        blocked_entries: Entries dropped (reduce-only, halted, above the leverage cap).
        dropped: Commands the gate dropped, by reason (``DROP_*``): what the strategy sent
            although its context said the level would not allow it (0 for a strategy that
            plans within the brakes).
        scaled_entries: Entries sent at a reduced size.
        cancelled_entries: Resting entries cancelled on entering a reduce-only state.
        halts: Times the brake cancelled everything and flattened.
        leverage_breaches: Times effective leverage rose above the cap.
        leverage_reductions: Orders sent to bring leverage back under the cap.
        max_leverage: Highest effective leverage observed above the cap (0: never above;
            under the cap it is not computed, to keep every candle cheap).
        deepest: The deepest level reached.
    """

    __slots__ = (
        "blocked_entries",
        "cancelled_entries",
        "deepest",
        "dropped",
        "halts",
        "leverage_breaches",
        "leverage_reductions",
        "max_leverage",
        "scaled_entries",
        "transitions",
    )

    def __init__(self) -> None:
        self.transitions: dict[str, int] = {}
        self.blocked_entries = 0
        self.dropped: dict[str, int] = {}
        self.scaled_entries = 0
        self.cancelled_entries = 0
        self.halts = 0
        self.leverage_breaches = 0
        self.leverage_reductions = 0
        self.max_leverage = ZERO
        self.deepest = BrakeLevel.NORMAL

    def to_dict(self) -> dict[str, object]:
        """Plain fields for a report."""
        return {
            "transitions": dict(self.transitions),
            "deepest": str(self.deepest),
            "blocked_entries": self.blocked_entries,
            "dropped": dict(self.dropped),
            "scaled_entries": self.scaled_entries,
            "cancelled_entries": self.cancelled_entries,
            "halts": self.halts,
            "leverage_breaches": self.leverage_breaches,
            "leverage_reductions": self.leverage_reductions,
            "max_leverage": str(
                self.max_leverage.quantize(Decimal("0.0001"))
                if self.max_leverage.is_finite()
                else self.max_leverage
            ),
        }


class BrakeGate:
    """The drawdown brake and the leverage guard between the strategy and execution.

    Args:
        instrument: The traded instrument (rounds scaled quantities).
        sink: Where transitions are emitted.
        settings: The drawdown brake's thresholds; None: no drawdown brake.
        leverage: The leverage guard; None: no after-the-fact leverage check.
        reduce_only_over_leverage: Above the cap, stop new entries.
    """

    __slots__ = (
        "_at_ms",
        "_entries",
        "_multiplier",
        "_sink",
        "allowance",
        "brake",
        "flattened",
        "gating",
        "guard",
        "halted",
        "instrument",
        "leverage",
        "listeners",
        "over_cap",
        "planned",
        "reduce_only_over_leverage",
        "reduce_quantity",
        "refused",
        "restricted",
        "stats",
    )

    def __init__(
        self,
        instrument: Instrument,
        sink: EventSink,
        settings: BrakeSettings | None,
        leverage: LeverageGuard | None = None,
        reduce_only_over_leverage: bool = True,
    ) -> None:
        self.instrument = instrument
        self._sink = sink
        # Peak 0: the first observation sets it (a restart restores it from the journal).
        self.brake = DrawdownBrake(settings, ZERO) if settings is not None else None
        self.guard = leverage
        self.reduce_only_over_leverage = reduce_only_over_leverage
        self.stats = BrakeStats()
        #: Called with every transition (the session journals it).
        self.listeners: list[Callable[[BrakeTransition], None]] = []
        #: The HALTED actions (cancel everything, flatten) are done for this halt.
        self.flattened = False
        self.over_cap = False
        #: Effective leverage at the last check above (or back under) the cap.
        self.leverage = ZERO
        #: Base quantity to close to get back under the cap (0: nothing to reduce).
        self.reduce_quantity = ZERO
        self._entries = True
        self._multiplier = ONE
        self._at_ms = 0
        #: What the level allows, as the strategy's context shows it.
        self.allowance: BrakeActions = UNBRAKED
        #: The strategy sizes its own entries at REDUCED (the gate does not scale them).
        self.planned = False
        #: Tags of the orders dropped since the cycle last handed them to the strategy.
        self.refused: list[str] = []
        #: HALTED: nothing is decided until an operator resumes.
        self.halted = False
        #: No new entries: reduce-only, halted or above the leverage cap.
        self.restricted = False
        #: Commands are filtered at all (False at NORMAL under the cap: the fast path).
        self.gating = False

    # ------------------------------------------------------------------ state
    @property
    def level(self) -> BrakeLevel:
        """The drawdown brake's level (NORMAL without one)."""
        brake = self.brake
        return brake.level if brake is not None else BrakeLevel.NORMAL

    def strategy_plans_within(self, planned: bool) -> None:
        """Whether the strategy sizes its own entries at REDUCED (then they are not scaled)."""
        self.planned = planned
        self.gating = not self._entries or (self._multiplier != ONE and not planned)

    # ------------------------------------------------------------------ inputs
    def observe(
        self, equity: Decimal, position: Decimal, price: Decimal, at_ms: int
    ) -> BrakeTransition | None:
        """One observation (equity including unrealized PnL); the change of level, if any."""
        self._at_ms = at_ms
        brake = self.brake
        transition = brake.observe(equity, at_ms) if brake is not None else None
        guard = self.guard
        # Under the cap (the common case on every candle): one product, one comparison.
        changed = (
            guard is not None
            and (self.over_cap or (bool(position) and abs(position) * price > guard.cap * equity))
            and self._leverage_changed(guard, equity, position, price, at_ms)
        )
        if transition is not None or changed:
            self._update_actions()  # before the listeners hear of it
        if transition is not None:
            self._record(transition)
        return transition

    def _leverage_changed(
        self, guard: LeverageGuard, equity: Decimal, position: Decimal, price: Decimal, at_ms: int
    ) -> bool:
        """Check the cap (above it, or just back under); True when the verdict changed."""
        stats = self.stats
        verdict = guard.check(position, price, equity)
        self.leverage = leverage = verdict.leverage
        if leverage > stats.max_leverage:
            stats.max_leverage = leverage
        self.reduce_quantity = verdict.reduce_quantity
        over = verdict.over_cap
        if over is self.over_cap:
            return False
        self.over_cap = over
        if over:
            stats.leverage_breaches += 1
        self._sink.emit(
            "risk.leverage_cap",
            at_ms,
            over_cap=over,
            leverage=str(verdict.leverage),
            cap=str(guard.cap),
            equity=str(equity),
        )
        return True

    def transfer(self, amount: Decimal, at_ms: int) -> None:
        """A deposit (+) or withdrawal (-) found by reconciliation: not a gain, not a loss."""
        brake = self.brake
        if brake is None or not amount:
            return
        before = brake.peak
        brake.transfer(amount)
        self._sink.emit(
            "brake.transfer",
            at_ms,
            amount=str(amount),
            peak_before=str(before),
            peak=str(brake.peak),
            equity=str(brake.equity),
        )

    def resume(self, equity: Decimal, at_ms: int) -> BrakeTransition:
        """The operator lifts HALTED; the peak is reset to ``equity`` (logged).

        Raises:
            InvalidBrakeTransition: The brake is not HALTED.
            RuntimeError: There is no drawdown brake.
        """
        brake = self.brake
        if brake is None:
            raise RuntimeError("the drawdown brake is off")
        transition = brake.resume(equity, at_ms)
        self.flattened = False
        self._update_actions()
        self._record(transition)
        return transition

    def _record(self, transition: BrakeTransition) -> None:
        stats = self.stats
        level = transition.level
        stats.transitions[level] = stats.transitions.get(level, 0) + 1
        if level.rank > stats.deepest.rank:
            stats.deepest = level
        fields = transition.to_dict()
        del fields["at_ms"]
        # "level" is the log line's own severity field: the brake's is "brake_level".
        fields["brake_level"] = fields.pop("level")
        nxt = self.brake.next_level_equity() if self.brake is not None else None
        self._sink.emit(
            "brake.transition",
            transition.at_ms,
            **fields,
            next_level_equity="" if nxt is None else str(nxt),
            peak_reset=transition.trigger == "OPERATOR",
        )
        for listener in self.listeners:
            listener(transition)

    def _update_actions(self) -> None:
        brake = self.brake
        actions = brake.actions() if brake is not None else UNBRAKED
        entries, multiplier = actions.allow_entries, actions.size_multiplier
        if entries and self.over_cap and self.reduce_only_over_leverage:
            entries = False
            actions = BrakeActions(ZERO, False, False, actions.level)
        self.allowance = actions
        self._entries = entries
        self._multiplier = multiplier
        self.halted = brake is not None and brake.level is BrakeLevel.HALTED
        self.restricted = not entries
        self.gating = not entries or (multiplier != ONE and not self.planned)

    # ------------------------------------------------------------------ commands
    def filter(
        self, commands: Sequence[Command], position: Decimal, open_orders: Mapping[str, Order]
    ) -> list[Command]:
        """The commands the current level lets through (exits always; entries as allowed).

        Every command dropped is counted and emitted (see the module docstring).
        """
        entries = self._entries
        multiplier = ONE if self.planned else self._multiplier
        stats = self.stats
        out: list[Command] = []
        for command in commands:
            kind = type(command)
            if kind is PlaceOrder:
                assert isinstance(command, PlaceOrder)
                if is_exit(command.side, command.quantity, command.reduce_only, position):
                    out.append(command)
                elif not entries:
                    stats.blocked_entries += 1
                    self._dropped(DROP_NO_ENTRIES, command.tag, command.side, command.quantity)
                else:
                    scaled = self._scaled(command.quantity, command.order_type, multiplier)
                    if scaled is None:
                        stats.blocked_entries += 1
                        self._dropped(DROP_BELOW_LOT, command.tag, command.side, command.quantity)
                    elif multiplier == ONE:
                        out.append(command)
                    else:
                        stats.scaled_entries += 1
                        out.append(command._replace(quantity=scaled))
            elif kind is ModifyOrder:
                assert isinstance(command, ModifyOrder)
                order = open_orders.get(command.client_order_id)
                if order is None or is_exit(
                    order.side,
                    order.quantity - order.executed_quantity,
                    order.reduce_only,
                    position,
                ):
                    out.append(command)
                elif entries:
                    modify = self._scaled_modify(command, order, multiplier)
                    if modify is not None:
                        out.append(modify)
                else:  # an entry that may not grow or move; the cycle cancels it
                    self._dropped(DROP_MODIFY, order.tag, order.side, command.quantity)
            else:
                out.append(command)
        return out

    def _dropped(self, reason: str, tag: str, side: Side, quantity: Decimal) -> None:
        """Count, emit and remember one dropped command: never silent."""
        dropped = self.stats.dropped
        dropped[reason] = dropped.get(reason, 0) + 1
        self.refused.append(tag)
        self._sink.emit(
            "brake.dropped",
            self._at_ms,
            reason=reason,
            brake_level=str(self.allowance.level),
            tag=tag,
            side=side.value,
            quantity=str(quantity),
        )

    def _scaled(
        self, quantity: Decimal, order_type: OrderType, multiplier: Decimal
    ) -> Decimal | None:
        if multiplier == ONE:
            return quantity
        try:
            return self.instrument.round_quantity(quantity * multiplier, order_type, Rounding.DOWN)
        except FilterViolation:
            return None

    def _scaled_modify(
        self, command: ModifyOrder, order: Order, multiplier: Decimal
    ) -> ModifyOrder | None:
        if multiplier == ONE:
            return command
        executed = order.executed_quantity
        remaining = self._scaled(command.quantity - executed, order.order_type, multiplier)
        if remaining is None:
            return None
        quantity = executed + remaining
        if quantity == order.quantity and command.price == order.price:
            return None  # already at the reduced size: nothing to change
        return command._replace(quantity=quantity)

    def entry_cancels(
        self, position: Decimal, open_orders: Mapping[str, Order]
    ) -> list[CancelOrder]:
        """Cancels of the resting entries (while no new entry is allowed)."""
        return [
            CancelOrder(cid)
            for cid, order in open_orders.items()
            if order.status is not OrderStatus.PENDING_CANCEL
            and not is_exit(
                order.side, order.quantity - order.executed_quantity, order.reduce_only, position
            )
        ]

    def reduction(self, position: Decimal, open_orders: Iterable[Order]) -> PlaceOrder | None:
        """The MARKET order that brings leverage back under the cap (None: none needed)."""
        quantity = self.reduce_quantity
        if not quantity or not position:
            return None
        if any(o.tag == LEVERAGE_TAG for o in open_orders):
            return None  # one is on its way
        instrument = self.instrument
        try:
            qty = instrument.round_quantity(
                min(quantity, abs(position)), OrderType.MARKET, Rounding.UP
            )
        except FilterViolation:
            return None
        qty = min(qty, abs(position))
        side = Side.SELL if position > ZERO else Side.BUY
        self.stats.leverage_reductions += 1
        return PlaceOrder(
            instrument.symbol,
            side,
            OrderType.MARKET,
            qty,
            reduce_only=instrument.is_futures,
            tag=LEVERAGE_TAG,
        )

    # ------------------------------------------------------------------ persistence
    def snapshot(self) -> dict[str, str] | None:
        """The drawdown brake's state for the journal (None without one)."""
        brake = self.brake
        return brake.snapshot() if brake is not None else None

    def restore(self, state: Mapping[str, str] | None) -> None:
        """Continue from a journaled :meth:`snapshot`: same level, same peak.

        A restart in HALTED flattens again (cheap when already flat), in case the process
        died between the transition and the flatten.
        """
        brake = self.brake
        if brake is None or not state:
            return
        brake.restore(dict(state))
        self.flattened = False
        if brake.level.rank > self.stats.deepest.rank:
            self.stats.deepest = brake.level
        self._update_actions()
