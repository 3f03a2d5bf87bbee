"""Control port: what an operator-facing adapter (the gRPC service) may ask of the bot.

Asynchronous because its callers live on an event loop; the live shell implements it by
handing each command to the engine's thread and awaiting the answer, so a command never
runs concurrently with a candle or a fill.

The port owns every type it exchanges (states, command results, the status view, the
flatten report, telemetry records and kinds); the live engine and the adapters import them
from here, so the port depends on nothing behind it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from domain.orders import Order


class BotState(StrEnum):
    """What the bot does with the next candle."""

    STARTING = "STARTING"  # rebuilding from the journal and reconciling
    STANDBY = "STANDBY"  # reconciled, waiting for Start
    RUNNING = "RUNNING"  # deciding on every closed candle
    PAUSED = "PAUSED"  # no new decisions; open orders stay, fills are recorded
    FLATTENED = "FLATTENED"  # nothing open, no decisions until Start
    STOPPING = "STOPPING"  # a stop was requested; the shell is finishing
    STOPPED = "STOPPED"


@dataclass(frozen=True, slots=True)
class CommandResult:
    """Answer to an operator command."""

    state: BotState
    changed: bool
    message: str


@dataclass(frozen=True, slots=True)
class EngineIdentity:
    """What this engine trades, for status and telemetry."""

    run_id: str
    exchange: str
    market: str
    symbol: str


@dataclass(frozen=True, slots=True)
class PnlView:
    """Exact PnL figures in the quote asset."""

    realized: Decimal
    unrealized: Decimal
    fees: Decimal
    funding: Decimal
    equity: Decimal
    peak_equity: Decimal
    drawdown: Decimal


@dataclass(frozen=True, slots=True)
class RiskView:
    """Where the bot stands against its risk limits."""

    level: str
    kill_switch: bool
    leverage: Decimal
    max_leverage: Decimal | None
    blocked_orders: int


@dataclass(frozen=True, slots=True)
class BrakeView:
    """Where the drawdown brake and the leverage guard stand.

    Attributes:
        level: NORMAL, REDUCED, REDUCE_ONLY or HALTED.
        peak: The journaled peak equity the drawdown is measured from.
        equity: The last equity observed (unrealized PnL included).
        drawdown: (peak - equity) / peak.
        next_level: The next deeper level ("" when HALTED).
        next_level_equity: Equity at which it starts (None when HALTED).
        distance: Drawdown still to go before the next level (None when HALTED).
        leverage_over_cap: Effective leverage is above the cap (no new entries).
        transitions: Changes of level since this process started.
    """

    level: str
    peak: Decimal
    equity: Decimal
    drawdown: Decimal
    next_level: str
    next_level_equity: Decimal | None
    distance: Decimal | None
    leverage_over_cap: bool
    transitions: int


@dataclass(frozen=True, slots=True)
class ConvictionView:
    """The latest ensemble output, when a signal model runs."""

    open_time: int
    long: float
    short: float
    regime: str


@dataclass(frozen=True, slots=True)
class WeightsView:
    """Which signal weights the bot trades with, since when, and how the last update scored.

    Attributes:
        source: Where the weights in use came from (``journal``, ``fitted on N candles``,
            ``heuristic (no history)``, ``weekly refit`` ...).
        since_ms: When they came into use (Unix ms; 0 if unknown).
        age_ms: How long they have been in use (the bot's clock minus ``since_ms``).
        learning: Whether the weekly re-weighting is on.
        last_update_ms: Boundary of the latest weekly update (0: none yet).
        last_update_source: Its outcome (``refit``, ``current``, ``heuristic``, ``skipped``).
        validation_score: Held-out score (rank IC) of the weights it kept (None: not
            measured).
        next_update_ms: The next weekly boundary (0: unknown or learning off).
    """

    source: str
    since_ms: int
    age_ms: int
    learning: bool
    last_update_ms: int = 0
    last_update_source: str = ""
    validation_score: float | None = None
    next_update_ms: int = 0


@dataclass(frozen=True, slots=True)
class StatusView:
    """Everything ``GetStatus`` reports, as the engine knows it right now."""

    state: BotState
    identity: EngineIdentity
    last_candle_open_time: int
    last_price: Decimal
    candles_processed: int
    position_quantity: Decimal
    entry_price: Decimal
    realized_pnl: Decimal
    funding: Decimal
    open_orders: tuple[Order, ...]
    balances: tuple[tuple[str, Decimal], ...]
    pnl: PnlView
    risk: RiskView
    conviction: ConvictionView | None
    started_at_ms: int
    #: The drawdown brake (None when the brakes are off).
    brake: BrakeView | None = None
    #: The signal weights (None when no signal runs).
    weights: WeightsView | None = None


@dataclass(frozen=True)
class FlattenReport:
    """What :meth:`TradingSession.flatten` did and what the exchange says afterwards."""

    canceled: int
    closed_quantity: Decimal
    exchange_position: Decimal
    still_open: tuple[str, ...]
    flat: bool


#: Event-name prefix -> telemetry kind; the first matching prefix wins.
_KINDS: tuple[tuple[str, str], ...] = (
    ("candle", "candle"),
    ("decision", "decision"),
    ("fill", "fill"),
    ("funding", "pnl"),
    ("pnl", "pnl"),
    ("equity", "pnl"),
    ("order", "order"),
    ("risk", "risk"),
    ("brake", "risk"),
    ("calendar", "state"),
    ("kill_switch", "risk"),
    ("state", "state"),
    ("flatten", "state"),
    ("reconciliation", "state"),
)
#: Every kind a client may filter on (``gap`` is always delivered).
KINDS = frozenset(kind for _, kind in _KINDS) | {"system"}


def kind_of(event: str) -> str:
    """The telemetry kind of an event name (``order.placed`` -> ``order``)."""
    for prefix, kind in _KINDS:
        if event.startswith(prefix):
            return kind
    return "system"


@dataclass(frozen=True, slots=True)
class TelemetryRecord:
    """One published event; ``fields`` hold JSON-ready values (already redacted)."""

    seq: int
    time_ms: int
    kind: str
    event: str
    fields: Mapping[str, Any]


class TelemetryFeed(Protocol):
    """The numbered event history a client follows (the telemetry hub implements it)."""

    @property
    def latest_seq(self) -> int:
        """Number of the newest record (0 before the first)."""
        ...

    def since(self, after_seq: int, limit: int = 1000) -> tuple[list[TelemetryRecord], int]:
        """Records numbered above ``after_seq`` and how many of those are gone."""
        ...

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after every new record."""
        ...

    def remove_listener(self, listener: Callable[[], None]) -> None:
        """Stop calling ``listener``."""
        ...


class ControlUnavailable(RuntimeError):
    """The bot cannot take commands right now (still reconciling, or stopping)."""


class ControlPlane(Protocol):
    """Operator commands, status, configuration and telemetry of one running bot."""

    async def start(self) -> CommandResult:
        """Begin trading (from STANDBY or FLATTENED)."""
        ...

    async def stop(self, flatten: bool | None) -> CommandResult:
        """Graceful stop; ``flatten`` None = the configured default."""
        ...

    async def pause(self) -> CommandResult:
        """No new decisions until resumed."""
        ...

    async def resume(self, acknowledge_halt: bool = False) -> CommandResult:
        """Lift a pause; with ``acknowledge_halt``, also lift the drawdown brake's HALTED."""
        ...

    async def flatten(self) -> tuple[BotState, FlattenReport]:
        """Cancel all our orders and close the position; the state afterwards."""
        ...

    async def status(self) -> StatusView:
        """A consistent status snapshot."""
        ...

    def config_json(self) -> str:
        """The effective configuration as JSON, without secrets."""
        ...

    @property
    def telemetry(self) -> TelemetryFeed:
        """The numbered event history clients follow."""
        ...
