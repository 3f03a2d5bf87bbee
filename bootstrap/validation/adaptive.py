"""What a validation run checks of the adaptive bot beyond Phase A's ground truth.

* **Counts** of every adaptive behaviour, from the bot's journal (the adaptive grid's
  counters journaled with each strategy checkpoint; brake transitions; weekend-mode
  switches and CME gaps, each a ``calendar.weekend`` / ``calendar.gap`` record; weekly
  weight updates) and log (weights at each start). Beside the journaled switches, the CME
  weekends the replayed candles went through, from the calendar, as a cross-check.
* **Brakes obeyed**: the emulator's own record of every order it accepted (and every
  modify it executed), compared with the brake levels the bot journaled: no order that
  opens exposure may be accepted while the brake stood at REDUCE_ONLY or HALTED.
* **Request budget**: the emulator's rate limiter never refused the bot for weight or
  order count (injected 429 / 418 answers do not pass through the limiter's counting).
* **State survives kills**: every restart took its signal weights from the journal, and
  the journaled brake transitions form one chain (each starts at the level the previous
  one ended at), so no restart lost its level.
* **Operational targets**: uptime, recovery, fill rate, API error rate without injected
  faults, maker / taker, each against its target, reported whichever way it goes.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from application.calendar_events import GAP_EVENT as GAP_RECORD
from application.calendar_events import WEEKEND_EVENT as WEEKEND_RECORD
from bootstrap.validation.ground_truth import CheckResult
from domain.calendar.cme_sessions import CmeSchedule, SessionState
from domain.enums import Side
from domain.events import OrderAccepted, OrderFilled, OrderModified

ZERO = Decimal(0)
#: Brake levels at which no new entry may be sent.
NO_ENTRY_LEVELS = frozenset({"REDUCE_ONLY", "HALTED"})
#: The grid's journaled counters reported as adaptive behaviours (journal key -> label).
GRID_COUNTERS = (
    ("plans", "plans"),
    ("modifies", "modifies"),
    ("cancel_replaces", "cancel-replaces"),
    ("cancels", "cancels"),
    ("places", "places"),
    ("post_only_reprices", "post-only re-prices"),
)
#: Operational targets of the seed: (figure, comparison, target).
TARGETS = {
    "uptime": (">", 0.995),
    "recovery_s": ("<", 300.0),
    "fill_rate": (">", 0.95),
    "api_error_rate_without_faults": ("<", 0.001),
    "maker_to_taker": (">", 3.0),
}


@dataclass(frozen=True, slots=True)
class AcceptedOrder:
    """An order the emulator accepted or modified, as its books held it then.

    Attributes:
        time: Exchange time of the acceptance / modification (ms).
        client_order_id: The bot's id.
        side: BUY or SELL.
        quantity: Order quantity (after a modify: the new one).
        reduce_only: The order's reduceOnly flag.
        position: The venue's net position just before the event (futures; spot: 0).
        modify: A modification of a resting order (else a new order).
    """

    time: int
    client_order_id: str
    side: str
    quantity: Decimal
    reduce_only: bool
    position: Decimal
    modify: bool

    def opens_exposure(self, futures: bool) -> bool:
        """An entry, as the brakes define it: not reduce-only and not a pure exit."""
        if self.reduce_only:
            return False
        if not futures:
            return self.side == Side.BUY.value
        reduces = (self.side == Side.SELL.value and self.position > 0) or (
            self.side == Side.BUY.value and self.position < 0
        )
        return not (reduces and self.quantity <= abs(self.position))


@dataclass
class OrderAudit:
    """A listener on the emulator's execution events: every order accepted or modified.

    Runs on the emulator's loop thread (``EmulatorState.listeners``).
    """

    futures: bool
    orders: list[AcceptedOrder] = field(default_factory=list)
    _position: Decimal = ZERO

    def __call__(self, venue: Any, events: list[Any]) -> None:
        """Record the orders accepted or modified, and follow the position by fills."""
        for event in events:
            if isinstance(event, (OrderAccepted, OrderModified)):
                snap = venue.exchange.query_order(venue.symbol, event.client_order_id)
                if snap is None:
                    continue
                self.orders.append(
                    AcceptedOrder(
                        event.timestamp,
                        event.client_order_id,
                        snap.side.value,
                        snap.quantity,
                        bool(snap.reduce_only),
                        self._position,
                        isinstance(event, OrderModified),
                    )
                )
            elif isinstance(event, OrderFilled) and self.futures:
                fill = event.fill
                signed = fill.quantity if fill.side is Side.BUY else -fill.quantity
                self._position += signed


@dataclass
class BudgetWatch:
    """Counts the emulator's own rate-limit refusals (the bot's budget exceeded).

    Wraps the limiter's weight and order counting: an injected 429 / 418 is answered
    before them, so only a request over the real budget raises here.
    """

    weight_refusals: int = 0
    order_refusals: int = 0
    peak_weight: int = 0

    def wrap(self, limiter: Any) -> None:
        """Wrap ``limiter.add_weight`` and ``limiter.add_order`` (in place)."""
        add_weight: Callable[[str, int], None] = limiter.add_weight
        add_order: Callable[[], None] = limiter.add_order

        def weight(ip: str, amount: int) -> None:
            try:
                add_weight(ip, amount)
            except Exception:
                self.weight_refusals += 1
                raise
            finally:
                self.peak_weight = max(self.peak_weight, limiter.used_weight(ip))

        def order() -> None:
            try:
                add_order()
            except Exception:
                self.order_refusals += 1
                raise

        limiter.add_weight = weight
        limiter.add_order = order


@dataclass(frozen=True)
class JournalFacts:
    """What the checks read from the bot's journal."""

    counters: dict[str, int]
    brake_transitions: list[dict[str, Any]]
    brake_level_at_end: str | None
    weight_updates: list[dict[str, Any]]
    #: The journaled ``calendar.weekend`` records' fields, in order.
    weekend_switches: list[dict[str, Any]] = field(default_factory=list)
    #: How many ``calendar.gap`` records the bot journaled.
    cme_gaps: int = 0


def read_strategy_state(db_path: Path) -> dict[str, Any] | None:
    """The journaled strategy checkpoint (None when there is none yet), read-only."""
    if not db_path.exists():
        return None
    try:
        db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
        try:
            row = db.execute("select value from strategy_state where key = 'strategy'").fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return None
    return json.loads(row[0]) if row else None


def grid_counters(state: dict[str, Any]) -> dict[str, int]:
    """The adaptive grid's counters in a strategy checkpoint."""
    strategy = state.get("strategy") or {}
    counters = {
        key.partition(":")[2]: int(value)
        for key, value in strategy.items()
        if key.startswith("count:")
    }
    gates = (strategy.get("gates") or "0|0|0").split("|")
    counters["filter_blocks"], counters["proximity_pulls"], counters["proximity_rearms"] = (
        int(v) for v in gates
    )
    counters["recenters"] = int(strategy.get("recenters", 0) or 0)
    return counters


def read_facts(db_path: Path, before_sigterm: dict[str, Any] | None = None) -> JournalFacts:
    """The adaptive grid's counters, brake records and weight updates from the journal.

    ``before_sigterm``: the checkpoint read before the final SIGTERM, whose flatten starts
    the grid afresh (and so zeroes the counters journaled afterwards).
    """
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        row = db.execute("select value from strategy_state where key = 'strategy'").fetchone()
        state = json.loads(row[0]) if row else {}
        transitions = [
            json.loads(payload)
            for (payload,) in db.execute(
                "select payload from reports where kind = 'brake' order by id"
            )
        ]
        calendar = [
            (kind, json.loads(payload))
            for kind, payload in db.execute(
                "select kind, payload from reports where kind in (?, ?) order by id",
                (WEEKEND_RECORD, GAP_RECORD),
            )
        ]
        updates = [
            {"boundary": b, "source": s, "changed": bool(c)}
            for b, s, c in db.execute(
                "select boundary, source, changed from signal_weight_updates order by id"
            )
        ]
    finally:
        db.close()
    counters = grid_counters(before_sigterm if before_sigterm is not None else state)
    brake = state.get("brake") or {}
    switches = [fields for kind, fields in calendar if kind == WEEKEND_RECORD]
    gaps = sum(1 for kind, _ in calendar if kind == GAP_RECORD)
    return JournalFacts(counters, transitions, brake.get("level"), updates, switches, gaps)


def weekend_switches(close_times: list[int]) -> dict[str, int]:
    """CME weekend closures entered and left over the replayed candles (by close time).

    The calendar's count, the cross-check of what the bot journaled.
    """
    schedule = CmeSchedule()
    entered = left = minutes = 0
    previous: bool | None = None
    for ms in close_times:
        weekend = schedule.state_at(ms) is SessionState.WEEKEND
        minutes += weekend
        if previous is not None and weekend != previous:
            if weekend:
                entered += 1
            else:
                left += 1
        previous = weekend
    return {"entered": entered, "left": left, "weekend_candles": minutes}


def adaptive_counts(
    facts: JournalFacts, weights_sources: list[str], close_times: list[int]
) -> dict[str, Any]:
    """Every adaptive behaviour counted (see the module docstring for the sources)."""
    c = facts.counters
    levels: dict[str, int] = {}
    for t in facts.brake_transitions:
        levels[str(t.get("level"))] = levels.get(str(t.get("level")), 0) + 1
    weekend = weekend_switches(close_times)
    journaled = [str(w.get("switch")) for w in facts.weekend_switches]
    return {
        **{label: c.get(key, 0) for key, label in GRID_COUNTERS},
        "re-centres": c.get("recenters", 0),
        "proximity cancels": c.get("proximity_pulls", 0),
        "proximity re-arms": c.get("proximity_rearms", 0),
        "filter blocks": c.get("filter_blocks", 0),
        "entry fills": c.get("entry_fills", 0),
        "take-profit fills": c.get("take_profit_fills", 0),
        "brake transitions": len(facts.brake_transitions),
        "brake transitions by level entered": levels,
        "brake level at the end": facts.brake_level_at_end,
        "weekly weight updates": len(facts.weight_updates),
        "weekly weight updates that changed the weights": sum(
            1 for u in facts.weight_updates if u["changed"]
        ),
        "weights at each start": dict(_tally(weights_sources)),
        "weekend-mode switches journaled (entered / left)": (
            f"{journaled.count('entered')} / {journaled.count('left')}"
        ),
        "CME gaps journaled": facts.cme_gaps,
        "CME weekends the candles crossed (calendar: entered / left)": (
            f"{weekend['entered']} / {weekend['left']}"
        ),
        "candles in the CME weekend": weekend["weekend_candles"],
    }


def _tally(values: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        key = "journal" if v.startswith("journal") else ("fitted" if v.startswith("fitted") else v)
        out[key] = out.get(key, 0) + 1
    return out


def level_intervals(transitions: list[dict[str, Any]], end_ms: int) -> list[tuple[int, int, str]]:
    """(from, to, level) for each journaled level, from its transition to the next."""
    out = []
    for i, t in enumerate(transitions):
        nxt = transitions[i + 1]["at_ms"] if i + 1 < len(transitions) else end_ms
        out.append((int(t["at_ms"]), int(nxt), str(t["level"])))
    return out


def check_brakes_obeyed(
    orders: list[AcceptedOrder], transitions: list[dict[str, Any]], futures: bool, end_ms: int
) -> CheckResult:
    """No order opening exposure accepted (or modified) while the brake forbade entries."""
    closed = [
        (a, b, lvl) for a, b, lvl in level_intervals(transitions, end_ms) if lvl in NO_ENTRY_LEVELS
    ]
    bad = [
        (o, lvl)
        for o in orders
        if o.opens_exposure(futures)
        for a, b, lvl in closed
        if a < o.time < b
    ]
    entries = sum(1 for o in orders if o.opens_exposure(futures))
    span = sum(b - a for a, b, _ in closed) / 60_000
    detail = (
        f"{len(orders)} orders accepted or modified by the exchange ({entries} opening "
        f"exposure); {len(closed)} period(s) at REDUCE_ONLY / HALTED ({span:.0f} market "
        f"minutes): {len(bad)} entr{'y' if len(bad) == 1 else 'ies'} accepted inside them"
    )
    if not closed:
        detail += " (the brake never reached REDUCE_ONLY: nothing to obey beyond REDUCED)"
    return CheckResult(
        "brakes_obeyed",
        not bad,
        detail,
        {
            "violations": [
                {
                    "time": o.time,
                    "client_order_id": o.client_order_id,
                    "side": o.side,
                    "quantity": str(o.quantity),
                    "modify": o.modify,
                    "level": lvl,
                }
                for o, lvl in bad[:20]
            ],
            "no_entry_periods": [[a, b, lvl] for a, b, lvl in closed],
        },
    )


def check_budget(watch: BudgetWatch, weight_limit: int) -> CheckResult:
    """The emulator's rate limiter never refused the bot for its own request weight or orders."""
    refused = watch.weight_refusals + watch.order_refusals
    return CheckResult(
        "request_budget",
        refused == 0,
        f"{watch.weight_refusals} weight and {watch.order_refusals} order-count refusals by "
        f"the limiter (injected faults excluded); peak weight {watch.peak_weight} / "
        f"{weight_limit} per minute of wall time (the replay compresses market minutes, so "
        "this is a stricter budget than live)",
        {"peak_weight": watch.peak_weight, "limit": weight_limit},
    )


def check_state_survives(
    weights_sources: list[str],
    transitions: list[dict[str, Any]],
    processes: int,
    checkpoints: list[tuple[int, str, dict[str, Any]]] | None = None,
) -> CheckResult:
    """Restarts kept the weights, the brake level and the grid's counters.

    Every restart read its weights from the journal; the journaled brake transitions form
    one chain; and the grid's counters journaled before each kill never went down (a
    restart that lost its checkpoint would start them from zero).
    """
    restarts = weights_sources[1:]
    fresh = [i + 1 for i, s in enumerate(restarts) if not s.startswith("journal")]
    missing = max(0, processes - len(weights_sources))
    breaks = []
    level = "NORMAL"
    for t in transitions:
        if str(t.get("previous")) != level:
            breaks.append(
                f"{t.get('at_ms')}: {t.get('previous')} -> {t.get('level')} after {level}"
            )
        level = str(t.get("level"))
    drops = []
    previous: dict[str, int] = {}
    checkpoints = checkpoints or []
    for life, when, state in checkpoints:
        counters = grid_counters(state)
        down = {k: (previous[k], v) for k, v in counters.items() if v < previous.get(k, 0)}
        if down:
            drops.append(f"process {life} {when}: {down}")
        previous = counters
    passed = not fresh and not missing and not breaks and not drops
    return CheckResult(
        "state_survives_kills",
        passed,
        f"{len(restarts)} restarts: {len(restarts) - len(fresh)} took their weights from the "
        f"journal, {len(fresh)} did not, {missing} logged none; {len(transitions)} brake "
        f"transitions, {len(breaks)} break(s) in their chain; grid counters at "
        f"{len(checkpoints)} checkpoints before kills / SIGTERM, {len(drops)} went down",
        {"not_from_journal": fresh, "chain_breaks": breaks, "counter_drops": drops},
    )


def operational(numbers: dict[str, Any], injected_error_answers: int) -> dict[str, Any]:
    """Each operational metric against its target (met or not, reported either way)."""
    api = numbers["api"]
    own_errors = max(0, api["errors"] - injected_error_answers)
    trades = numbers["trades"]
    taker = trades["taker"]
    ratio = trades["maker"] / taker if taker else float("inf")
    recovery = numbers["time_to_reconciled_s"]["restarts_max"]
    values = {
        "uptime": numbers["uptime_fraction"],
        "recovery_s": recovery if recovery is not None else 0.0,
        "fill_rate": numbers["orders"]["fill_rate"],
        "api_error_rate_without_faults": round(own_errors / api["requests"], 5)
        if api["requests"]
        else 0.0,
        "maker_to_taker": round(ratio, 2) if ratio != float("inf") else "inf",
    }
    out = {}
    for name, (op, target) in TARGETS.items():
        value = values[name]
        v = float("inf") if value == "inf" else float(value)
        met = v > target if op == ">" else v < target
        out[name] = {"value": value, "target": f"{op} {target:g}", "met": met}
    out["api_error_rate_without_faults"]["detail"] = (
        f"{own_errors} error answers of {api['requests']} not caused by an injected fault "
        f"({api['errors']} in all, {injected_error_answers} attributed to injections)"
    )
    return out
