"""Drawdown brakes: a state machine that slows, then stops, a bot that is losing.

Drawdown is measured on **equity including unrealized PnL**, from a running peak, at every
observation the caller makes (every candle and every fill). Bots that measure it on closed
trades only (a freqtrade complaint: its MaxDrawdown protection ignores open positions) brake
too late, exactly when a grid holds a large losing position it has not closed.

Levels and their actions come from configuration; the defaults are the roadmap's:

* −5 %  → ``REDUCED``: new entries at half size;
* −10 % → ``REDUCE_ONLY``: no new entries, take-profits and closing orders keep working;
* −15 % → ``HALTED``: cancel everything, flatten, and stay halted until an operator resumes.

Escalation is immediate (straight to the deepest level the drawdown has reached). Stepping
back down one level needs hysteresis, so the brake does not chatter around a threshold: the
drawdown must recover ``recover_by`` below the current level's threshold, or stay below the
threshold for ``hold_ms``. ``HALTED`` never lifts by itself; :meth:`DrawdownBrake.resume` is
the operator's act and resets the peak to the equity at that moment (reported in the
transition, so the reset is logged and journaled, never silent).

Deposits and withdrawals are not gains or losses: :meth:`DrawdownBrake.transfer` scales the
peak by the same factor as equity, so the drawdown is unchanged by a transfer (passivbot's
equity stop fired on a peak it had reconstructed wrongly after a balance override).

Every change of level goes through :data:`TRANSITIONS`, one table like the order's; a
change it does not list raises :class:`InvalidBrakeTransition`. The whole state
(:meth:`snapshot`) is journaled, so a restart continues in the same level from the same
peak.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from domain.enums import Side
from domain.errors import DomainError

ZERO = Decimal(0)
ONE = Decimal(1)


class InvalidBrakeTransition(DomainError):
    """A change of level that :data:`TRANSITIONS` does not allow."""


class BrakeLevel(StrEnum):
    """How hard the brake is on, from off to halted (ordered)."""

    NORMAL = "NORMAL"
    REDUCED = "REDUCED"
    REDUCE_ONLY = "REDUCE_ONLY"
    HALTED = "HALTED"

    @property
    def rank(self) -> int:
        """0 for NORMAL up to 3 for HALTED."""
        return _RANK[self]


_RANK = {level: i for i, level in enumerate(BrakeLevel)}


class BrakeTrigger(StrEnum):
    """Why the level changed."""

    DRAWDOWN = "DRAWDOWN"  # the drawdown reached a deeper level
    RECOVERY = "RECOVERY"  # hysteresis satisfied: one level back
    OPERATOR = "OPERATOR"  # an operator lifted HALTED (peak reset)


#: Every allowed change of level: (from, to) -> the trigger that may cause it.
TRANSITIONS: dict[tuple[BrakeLevel, BrakeLevel], BrakeTrigger] = {
    (BrakeLevel.NORMAL, BrakeLevel.REDUCED): BrakeTrigger.DRAWDOWN,
    (BrakeLevel.NORMAL, BrakeLevel.REDUCE_ONLY): BrakeTrigger.DRAWDOWN,
    (BrakeLevel.NORMAL, BrakeLevel.HALTED): BrakeTrigger.DRAWDOWN,
    (BrakeLevel.REDUCED, BrakeLevel.REDUCE_ONLY): BrakeTrigger.DRAWDOWN,
    (BrakeLevel.REDUCED, BrakeLevel.HALTED): BrakeTrigger.DRAWDOWN,
    (BrakeLevel.REDUCE_ONLY, BrakeLevel.HALTED): BrakeTrigger.DRAWDOWN,
    (BrakeLevel.REDUCED, BrakeLevel.NORMAL): BrakeTrigger.RECOVERY,
    (BrakeLevel.REDUCE_ONLY, BrakeLevel.REDUCED): BrakeTrigger.RECOVERY,
    (BrakeLevel.HALTED, BrakeLevel.NORMAL): BrakeTrigger.OPERATOR,
}


@dataclass(frozen=True, slots=True)
class BrakeSettings:
    """Thresholds (fractions of the peak) and hysteresis.

    Attributes:
        reduced_at: Drawdown that halves new entries' size (0.05).
        reduce_only_at: Drawdown that stops new entries (0.10).
        halted_at: Drawdown that flattens and halts (0.15).
        reduced_size: Size multiplier while REDUCED (0.5).
        recover_by: Recovery below the current threshold that steps one level down (0.02).
        hold_ms: Time below the threshold that also steps one level down (4 h).
    """

    reduced_at: Decimal = Decimal("0.05")
    reduce_only_at: Decimal = Decimal("0.10")
    halted_at: Decimal = Decimal("0.15")
    reduced_size: Decimal = Decimal("0.5")
    recover_by: Decimal = Decimal("0.02")
    hold_ms: int = 4 * 3_600_000

    def __post_init__(self) -> None:
        if not ZERO < self.reduced_at < self.reduce_only_at < self.halted_at < ONE:
            raise ValueError(
                "brake thresholds must satisfy 0 < reduced_at < reduce_only_at < halted_at < 1"
            )
        if not ZERO < self.reduced_size <= ONE:
            raise ValueError("reduced_size must be in (0, 1]")
        if not ZERO <= self.recover_by < self.reduced_at:
            raise ValueError("recover_by must be in [0, reduced_at)")
        if self.hold_ms < 0:
            raise ValueError("hold_ms must be >= 0")

    def threshold(self, level: BrakeLevel) -> Decimal:
        """The drawdown at which ``level`` starts (0 for NORMAL)."""
        return {
            BrakeLevel.NORMAL: ZERO,
            BrakeLevel.REDUCED: self.reduced_at,
            BrakeLevel.REDUCE_ONLY: self.reduce_only_at,
            BrakeLevel.HALTED: self.halted_at,
        }[level]

    def level_for(self, drawdown: Decimal) -> BrakeLevel:
        """The deepest level a drawdown reaches."""
        if drawdown >= self.halted_at:
            return BrakeLevel.HALTED
        if drawdown >= self.reduce_only_at:
            return BrakeLevel.REDUCE_ONLY
        if drawdown >= self.reduced_at:
            return BrakeLevel.REDUCED
        return BrakeLevel.NORMAL


@dataclass(frozen=True, slots=True)
class BrakeTransition:
    """One change of level, with the figures that caused it (logged and journaled)."""

    at_ms: int
    previous: BrakeLevel
    level: BrakeLevel
    trigger: BrakeTrigger
    drawdown: Decimal
    peak: Decimal
    equity: Decimal

    def to_dict(self) -> dict[str, str | int]:
        """Plain fields, money as exact strings."""
        return {
            "at_ms": self.at_ms,
            "previous": str(self.previous),
            "level": str(self.level),
            "trigger": str(self.trigger),
            "drawdown": str(self.drawdown),
            "peak": str(self.peak),
            "equity": str(self.equity),
        }


@dataclass(frozen=True, slots=True)
class BrakeActions:
    """What the strategy and execution must obey at the current level.

    The strategy is handed these in its context and plans within them (no entry while
    ``allow_entries`` is False, entries sized by ``size_multiplier``), so the gate that
    checks its commands afterwards has nothing to drop.
    """

    size_multiplier: Decimal
    allow_entries: bool
    flatten: bool
    level: BrakeLevel = BrakeLevel.NORMAL


#: No brake on: full size, entries allowed.
UNBRAKED = BrakeActions(ONE, True, False)


def is_exit(side: Side, quantity: Decimal, reduce_only: bool, position: Decimal) -> bool:
    """Whether an order only reduces the net position, so it is allowed at every level.

    An order is an exit when it is ``reduce_only`` or when it is on the side that reduces
    the position and no larger than the position (a sell while long, a buy while short);
    everything else opens exposure. A grid's take-profit on a netted futures account is an
    exit only when its leg is on the side of the net position: the take-profit of a long leg
    while the legs net out short sells more, and adds to the short.
    """
    if reduce_only:
        return True
    if position > ZERO:
        return side is Side.SELL and quantity <= position
    if position < ZERO:
        return side is Side.BUY and quantity <= -position
    return False


class DrawdownBrake:
    """The brake's state: level, peak and the start of the current recovery.

    Args:
        settings: Thresholds and hysteresis.
        initial_equity: The peak to start from (a first start; restarts use :meth:`restore`).
    """

    def __init__(self, settings: BrakeSettings, initial_equity: Decimal) -> None:
        self.settings = settings
        self.level = BrakeLevel.NORMAL
        self.peak = initial_equity
        self.equity = initial_equity
        self._below_since: int | None = None  # first time below the current threshold
        # Equity at which NORMAL turns REDUCED, for the peak it was computed from: most
        # observations (every candle of a backtest) stay above it and need no division.
        self._floor = ZERO
        self._floor_peak: Decimal | None = None

    # ------------------------------------------------------------------ figures
    @property
    def drawdown(self) -> Decimal:
        """(peak - equity) / peak of the last observation, 0 at or above the peak."""
        peak = self.peak
        if peak <= ZERO or self.equity >= peak:
            return ZERO
        return (peak - self.equity) / peak

    def actions(self) -> BrakeActions:
        """What the current level allows."""
        level = self.level
        if level is BrakeLevel.NORMAL:
            return UNBRAKED
        if level is BrakeLevel.REDUCED:
            return BrakeActions(self.settings.reduced_size, True, False, level)
        if level is BrakeLevel.REDUCE_ONLY:
            return BrakeActions(ZERO, False, False, level)
        return BrakeActions(ZERO, False, True, level)

    def next_level_equity(self) -> Decimal | None:
        """The equity at which the next deeper level starts (None when HALTED)."""
        if self.level is BrakeLevel.HALTED:
            return None
        deeper = BrakeLevel(list(BrakeLevel)[self.level.rank + 1])
        return self.peak * (ONE - self.settings.threshold(deeper))

    # ------------------------------------------------------------------ inputs
    def observe(self, equity: Decimal, at_ms: int) -> BrakeTransition | None:
        """One equity observation (unrealized PnL included); the change of level, if any."""
        self.equity = equity
        if equity > self.peak and self.level is not BrakeLevel.HALTED:
            self.peak = equity
        if self.level is BrakeLevel.NORMAL:
            peak = self.peak
            if peak != self._floor_peak:
                self._floor = peak * (ONE - self.settings.reduced_at)
                self._floor_peak = peak
            if equity > self._floor:  # drawdown < reduced_at: still NORMAL
                return None
        drawdown = self.drawdown
        reached = self.settings.level_for(drawdown)
        if reached.rank > self.level.rank:
            self._below_since = None
            return self._move(reached, BrakeTrigger.DRAWDOWN, at_ms)
        if self.level in (BrakeLevel.NORMAL, BrakeLevel.HALTED):
            return None
        threshold = self.settings.threshold(self.level)
        if drawdown >= threshold:
            self._below_since = None
            return None
        if self._below_since is None:
            self._below_since = at_ms
        recovered = drawdown <= threshold - self.settings.recover_by
        held = at_ms - self._below_since >= self.settings.hold_ms
        if recovered or held:
            self._below_since = None
            lower = BrakeLevel(list(BrakeLevel)[self.level.rank - 1])
            return self._move(lower, BrakeTrigger.RECOVERY, at_ms)
        return None

    def transfer(self, amount: Decimal) -> None:
        """A deposit (+) or withdrawal (-) of ``amount``: the drawdown does not change.

        Call it with the equity before the transfer still recorded (the next
        :meth:`observe` brings the equity after it). The peak is scaled by the factor the
        transfer scales equity by.
        """
        before = self.equity
        after = before + amount
        if before > ZERO and after > ZERO:
            self.peak = self.peak * after / before
        else:
            self.peak = max(after, ZERO)
        self.equity = after

    def resume(self, equity: Decimal, at_ms: int) -> BrakeTransition:
        """The operator lifts HALTED: back to NORMAL with the peak reset to ``equity``.

        Raises:
            InvalidBrakeTransition: The brake is not HALTED.
        """
        self.equity = equity
        transition = self._move(BrakeLevel.NORMAL, BrakeTrigger.OPERATOR, at_ms)
        self.peak = equity
        self._below_since = None
        return BrakeTransition(
            at_ms, transition.previous, transition.level, transition.trigger, ZERO, equity, equity
        )

    def _move(self, level: BrakeLevel, trigger: BrakeTrigger, at_ms: int) -> BrakeTransition:
        allowed = TRANSITIONS.get((self.level, level))
        if allowed is not trigger:
            raise InvalidBrakeTransition(f"brake {self.level} -> {level} on {trigger}")
        transition = BrakeTransition(
            at_ms, self.level, level, trigger, self.drawdown, self.peak, self.equity
        )
        self.level = level
        return transition

    # ------------------------------------------------------------------ persistence
    def snapshot(self) -> dict[str, str]:
        """The state as strings, journaled with every change and checkpoint."""
        return {
            "level": str(self.level),
            "peak": str(self.peak),
            "equity": str(self.equity),
            "below_since": "" if self._below_since is None else str(self._below_since),
        }

    def restore(self, state: dict[str, str]) -> None:
        """Continue from a :meth:`snapshot` (a restart keeps the level and the peak)."""
        self.level = BrakeLevel(state["level"])
        self.peak = Decimal(state["peak"])
        self.equity = Decimal(state["equity"])
        since = state.get("below_since", "")
        self._below_since = int(since) if since else None
