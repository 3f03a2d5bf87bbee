"""The ground-truth checks: the bot's journal and logs against the emulator's own books.

Each check is a pure function of plain records (:class:`~.books.ExchangeBooks`,
:class:`~.journal.JournalView`, :class:`~.logs.LogIndex`, the process outcomes) and returns
a named :class:`CheckResult` with the evidence, so each can be shown to fail on doctored
data. None of them has a tolerance except where Binance's own display rounding makes one
unavoidable: balances and PnL sums may differ by at most :data:`DISPLAY_ROUNDING`
(Binance reports balances to 8 decimals; the journal keeps average-cost PnL exact).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bootstrap.validation.books import ExchangeBooks
from bootstrap.validation.journal import JournalView
from bootstrap.validation.logs import LogIndex

ZERO = Decimal(0)
DISPLAY_ROUNDING = Decimal("0.00000001")
#: How each journaled order event must show in the log (event name, keyed by client id;
#: fills are keyed by trade id instead).
LOG_EVENT_OF = {
    "OrderAccepted": "order.accepted",
    "OrderCanceled": "order.canceled",
    "OrderExpired": "order.expired",
    "OrderRejected": "order.rejected",
    "OrderModified": "order.modified",
    "CancelRejected": "order.cancel_rejected",
    "ModifyRejected": "order.modify_rejected",
}
_EXAMPLES = 5


@dataclass(frozen=True)
class CheckResult:
    """One named check: passed or not, a one-line detail and the evidence."""

    name: str
    passed: bool
    detail: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The result as a plain object."""
        return {
            "name": self.name,
            "passed": self.passed,
            "detail": self.detail,
            "evidence": self.evidence,
        }


@dataclass(frozen=True, slots=True)
class ProcessOutcome:
    """How one bot process ended, as the critical-error check needs it.

    Attributes:
        index: 0 for the first start, then one per restart.
        exit_code: Its exit code (negative: the signal that killed it), None if unknown.
        ended_by: ``SIGKILL:<mode>`` / ``SIGTERM`` sent by the harness, or None.
        tracebacks: Python tracebacks in its stderr.
        reconciled: It printed its ``reconciled:`` line.
        stderr_tail: The last lines of its stderr (evidence).
    """

    index: int
    exit_code: int | None
    ended_by: str | None
    tracebacks: int
    reconciled: bool
    stderr_tail: tuple[str, ...] = ()


def _examples(items: Iterable[Any]) -> list[Any]:
    return list(items)[:_EXAMPLES]


# ---------------------------------------------------------------------------- orders
def check_orders_known(books: ExchangeBooks, journal: JournalView, prefix: str) -> CheckResult:
    """Every exchange order with our prefix is in the journal, under the same order id."""
    ours = {cid: ids for cid, ids in books.client_orders.items() if cid.startswith(prefix)}
    unknown = sorted(cid for cid in ours if cid not in journal.orders)
    mismatched = []
    for cid, ids in ours.items():
        row = journal.orders.get(cid)
        known = None if row is None else row.exchange_order_id
        if known is not None and known != ids[-1]:
            mismatched.append(f"{cid}: exchange {ids[-1]}, journal {known}")
    passed = not unknown and not mismatched
    detail = (
        f"{len(ours)} exchange orders with prefix {prefix!r}: "
        f"{len(unknown)} unknown to the journal, {len(mismatched)} under another order id"
    )
    return CheckResult(
        "orders_known",
        passed,
        detail,
        {
            "exchange_orders": len(ours),
            "journal_orders": len(journal.orders),
            "unknown": _examples(unknown),
            "mismatched": _examples(mismatched),
        },
    )


def check_client_ids_unique(books: ExchangeBooks) -> CheckResult:
    """No client order id ever stood for two exchange orders."""
    reused = books.reused_client_ids()
    return CheckResult(
        "client_ids_unique",
        not reused,
        f"{len(books.client_orders)} client ids, {len(reused)} used for more than one order",
        {"reused": _examples(f"{cid}: orders {ids}" for cid, ids in sorted(reused.items()))},
    )


def check_events_once(journal: JournalView) -> CheckResult:
    """Each order's acceptance and cancellation is journaled once.

    Binance reports both twice (in the REST answer and on the user-data stream); the bot
    must book them once. An acceptance is keyed by its exchange order id too, so a client id
    reused for a second exchange order (spot cancel-replaces did that before they took a new
    id) shows here as two orders, and fails :func:`check_client_ids_unique` instead.
    """
    seen: Counter[tuple[str, str, object]] = Counter()
    for event in journal.events:
        if event.kind == "OrderAccepted":
            seen[(event.kind, event.client_order_id, event.payload.get("exchange_order_id"))] += 1
        elif event.kind == "OrderCanceled":
            seen[(event.kind, event.client_order_id, None)] += 1
    repeated = sorted(
        f"{cid}: {kind} x{count}" for (kind, cid, _), count in seen.items() if count > 1
    )
    kinds = Counter(kind for kind, _, _ in seen.elements())
    return CheckResult(
        "order_events_once",
        not repeated,
        f"{kinds['OrderAccepted']} acceptances and {kinds['OrderCanceled']} cancellations "
        f"journaled: {len(repeated)} journaled more than once",
        {"repeated": _examples(repeated), "count": len(repeated)},
    )


# ---------------------------------------------------------------------------- fills
def check_fills_identical(books: ExchangeBooks, journal: JournalView) -> CheckResult:
    """Same trades on both sides: count, and per trade id quantity, price, fee, order, side."""
    exchange = {t.trade_id: t for t in books.trades}
    bot = {f.trade_id: f for f in journal.fills}
    missing = sorted(set(exchange) - set(bot))
    extra = sorted(set(bot) - set(exchange))
    differ = []
    for trade_id in sorted(set(exchange) & set(bot)):
        t, f = exchange[trade_id], bot[trade_id]
        ours = (t.quantity, t.price, t.fee, t.fee_asset, t.side, t.client_order_id)
        theirs = (f.quantity, f.price, f.fee, f.fee_asset, f.side, f.client_order_id)
        maker = "MAKER" if t.maker else "TAKER"
        if ours != theirs or maker != f.liquidity:
            differ.append(
                f"trade {trade_id}: exchange {t.quantity}@{t.price} fee {t.fee} {t.fee_asset} "
                f"{t.side} {maker} {t.client_order_id}; journal {f.quantity}@{f.price} fee "
                f"{f.fee} {f.fee_asset} {f.side} {f.liquidity} {f.client_order_id}"
            )
    passed = books.trades_complete and not missing and not extra and not differ
    detail = (
        f"exchange {len(exchange)} trades, journal {len(bot)} fills: {len(missing)} missing "
        f"from the journal, {len(extra)} unknown to the exchange, {len(differ)} differ"
        + ("" if books.trades_complete else "; the exchange's trade history was truncated")
    )
    return CheckResult(
        "fills_identical",
        passed,
        detail,
        {
            "exchange_trades": len(exchange),
            "journal_fills": len(bot),
            "quantity_exchange": str(sum((t.quantity for t in books.trades), ZERO)),
            "quantity_journal": str(sum((f.quantity for f in journal.fills), ZERO)),
            "missing": _examples(missing),
            "extra": _examples(extra),
            "differ": _examples(differ),
        },
    )


# ---------------------------------------------------------------------------- balances
def check_position_and_balances(books: ExchangeBooks, journal: JournalView) -> CheckResult:
    """The final position and balances in the journal equal the exchange's.

    Futures: wallet and position; spot: quote and base balances. Balances within
    :data:`DISPLAY_ROUNDING`, the position exactly.
    """
    acct = journal.account
    rows: list[tuple[str, Decimal, Decimal, Decimal]] = []
    if books.futures:
        wallet = books.balances.get(books.quote_asset, ZERO)
        rows.append(("wallet", wallet, acct.cash, DISPLAY_ROUNDING))
        rows.append(("position", books.position, acct.position, ZERO))
    else:
        quote = books.balances.get(books.quote_asset, ZERO)
        base = books.balances.get(books.base_asset, ZERO)
        rows.append((books.quote_asset, quote, acct.cash, DISPLAY_ROUNDING))
        rows.append((books.base_asset, base, acct.base, DISPLAY_ROUNDING))
    differ = [
        f"{name}: exchange {ex}, journal {bot} (difference {bot - ex})"
        for name, ex, bot, tolerance in rows
        if abs(ex - bot) > tolerance
    ]
    return CheckResult(
        "position_and_balances",
        not differ,
        "; ".join(differ)
        if differ
        else ", ".join(f"{name} {ex} = {bot}" for name, ex, bot, _ in rows),
        {name: {"exchange": str(ex), "journal": str(bot)} for name, ex, bot, _ in rows},
    )


def check_pnl(books: ExchangeBooks, journal: JournalView) -> CheckResult:
    """Realized PnL, fees and funding in the journal equal the exchange's accounting.

    Futures compare each of the three sums (the emulator's realized PnL per trade,
    commissions, funding) and their total; spot compares commissions per asset (spot has no
    exchange-side realized PnL: the balances check covers its result). Each within
    :data:`DISPLAY_ROUNDING`.
    """
    acct = journal.account
    rows: list[tuple[str, Decimal, Decimal]] = []
    if books.futures:
        fees_ex = books.fees.get(books.quote_asset, ZERO)
        rows = [
            ("realized_pnl", books.realized_pnl, acct.realized_pnl),
            ("fees", fees_ex, acct.fees_quote),
            ("funding", books.funding, acct.funding),
            (
                "realized - fees + funding",
                books.realized_pnl - fees_ex + books.funding,
                acct.realized_pnl - acct.fees_quote + acct.funding,
            ),
        ]
    else:
        for asset in sorted(set(books.fees) | set(acct.fees_by_asset)):
            rows.append(
                (f"fees {asset}", books.fees.get(asset, ZERO), acct.fees_by_asset.get(asset, ZERO))
            )
    differ = [
        f"{name}: exchange {ex}, journal {bot} (difference {bot - ex})"
        for name, ex, bot in rows
        if abs(ex - bot) > DISPLAY_ROUNDING
    ]
    return CheckResult(
        "pnl_matches_exchange",
        not differ,
        "; ".join(differ)
        if differ
        else ", ".join(f"{name} {ex}" for name, ex, _ in rows)
        + f" (each within {DISPLAY_ROUNDING}, Binance's 8-decimal display rounding)",
        {name: {"exchange": str(ex), "journal": str(bot)} for name, ex, bot in rows},
    )


# ---------------------------------------------------------------------------- leverage
def check_leverage(books: ExchangeBooks, cap: Decimal) -> CheckResult:
    """The effective leverage the emulator recorded never went above the cap."""
    if not books.futures:
        return CheckResult(
            "leverage_within_cap", True, "spot: no leverage (a spot account cannot borrow)", {}
        )
    seen = books.max_leverage if books.max_leverage is not None else ZERO
    passed = seen <= cap and books.leverage_observations > 0
    return CheckResult(
        "leverage_within_cap",
        passed,
        f"max effective leverage {seen:.4f} (position notional / equity, over "
        f"{books.leverage_observations} fills and candle closes) vs cap {cap}",
        {
            "max_effective": str(seen),
            "at_ms": books.max_leverage_at,
            "observations": books.leverage_observations,
            "worst_case_with_open_orders": str(books.worst_case_leverage),
            "cap": str(cap),
        },
    )


# ---------------------------------------------------------------------------- log
def check_log_lines(journal: JournalView, logs: LogIndex) -> CheckResult:
    """A JSON log line for every order, order event and fill in the journal.

    Orders: an ``order.submit`` (or ``risk.block``) line, or the reconciliation report that
    adopted them. Fills: a ``fill`` line with the trade id. Other order events: the line of
    :data:`LOG_EVENT_OF` for the same client id, at least as many as journaled.
    """
    adopted = journal.adopted_by_reconciliation()
    missing: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}

    def miss(kind: str, what: str) -> None:
        missing[kind] += 1
        examples.setdefault(kind, [])
        if len(examples[kind]) < _EXAMPLES:
            examples[kind].append(what)

    for cid in journal.orders:
        logged = logs.by_order[("order.submit", cid)] + logs.by_order[("risk.block", cid)]
        if not logged and cid not in adopted:
            miss("order (order.submit)", cid)
    for fill in journal.fills:
        if not logs.fills[fill.trade_id]:
            miss("fill", str(fill.trade_id))
    wanted: Counter[tuple[str, str]] = Counter()
    for event in journal.events:
        if event.kind != "OrderFilled":
            wanted[(event.kind, event.client_order_id)] += 1
    for (kind, cid), count in wanted.items():
        name = LOG_EVENT_OF.get(kind, kind)
        short = count - logs.by_order[(name, cid)]
        for _ in range(max(0, short)):
            miss(f"{kind} ({name})", cid)
    journaled = len(journal.orders) + len(journal.fills) + sum(wanted.values())
    passed = not missing and not logs.full
    detail = (
        f"{journaled} journaled orders, fills and order events over {len(logs.files)} log "
        f"file(s) and {len(logs.runs)} runs: "
        + (
            ", ".join(f"{n} {kind} without a line" for kind, n in sorted(missing.items()))
            if missing
            else "each has its line"
        )
        + ("; the log reached its last rotated file (lines may be lost)" if logs.full else "")
    )
    return CheckResult(
        "log_line_per_event",
        passed,
        detail,
        {
            "missing": dict(missing),
            "examples": examples,
            "log_lines": logs.lines,
            "torn_lines": logs.torn,
            "files": logs.files,
        },
    )


# ---------------------------------------------------------------------------- flat
def check_flat(books: ExchangeBooks, prefix: str, final_output: str) -> CheckResult:
    """After the final SIGTERM the account is flat, and the bot said the exchange confirmed it.

    Flat: none of our orders open and no position (spot: no more base than at the start,
    up to one lot step of dust).
    """
    open_ours = [cid for cid in books.open_orders if cid.startswith(prefix)]
    problems = []
    if open_ours:
        problems.append(f"{len(open_ours)} of our orders still open")
    if books.futures and books.position:
        problems.append(f"position {books.position}")
    if not books.futures:
        start = books.initial_balances.get(books.base_asset, ZERO)
        held = books.balances.get(books.base_asset, ZERO)
        if held - start >= books.step_size:
            problems.append(f"{books.base_asset} {held} > {start} at the start")
    confirmed = "flat confirmed by the exchange" in final_output
    if not confirmed:
        problems.append("the bot did not report 'flat confirmed by the exchange'")
    return CheckResult(
        "flat_after_sigterm",
        not problems,
        "; ".join(problems) if problems else "no open orders, no position, confirmed",
        {"open_orders": _examples(open_ours), "position": str(books.position)},
    )


# ---------------------------------------------------------------------------- errors
def check_critical_errors(outcomes: list[ProcessOutcome], logs: LogIndex) -> CheckResult:
    """No engine failure, unexpected exit, traceback or ERROR log line.

    Expected: every process the harness SIGKILLed exited by SIGKILL (-9); the last one,
    SIGTERMed, exited 0; none exited on its own.
    """
    problems: list[str] = []
    for o in outcomes:
        if o.ended_by is None:
            problems.append(f"process {o.index} exited on its own with code {o.exit_code}")
        elif o.ended_by.startswith("SIGKILL") and o.exit_code != -9:
            problems.append(f"process {o.index} ({o.ended_by}) exited with {o.exit_code}")
        elif o.ended_by == "SIGTERM" and o.exit_code != 0:
            problems.append(f"process {o.index} (SIGTERM) exited with {o.exit_code}")
        if o.tracebacks:
            problems.append(f"process {o.index}: {o.tracebacks} traceback(s) on stderr")
    for error in logs.errors:
        cause = f" ({error['exception'][:200]})" if error.get("exception") else ""
        problems.append(f"log ERROR {error['event']}: {error['message'][:200]}{cause}")
    return CheckResult(
        "critical_errors",
        not problems,
        f"{len(problems)} critical error(s)" + (": " + problems[0] if problems else ""),
        {
            "count": len(problems),
            "problems": problems[:50],
            "stderr": {str(o.index): list(o.stderr_tail) for o in outcomes if o.stderr_tail},
        },
    )


def run_checks(
    books: ExchangeBooks,
    journal: JournalView,
    logs: LogIndex,
    outcomes: list[ProcessOutcome],
    *,
    prefix: str,
    cap: Decimal,
    final_output: str,
) -> list[CheckResult]:
    """Every check, in the order the report lists them."""
    return [
        check_orders_known(books, journal, prefix),
        check_client_ids_unique(books),
        check_events_once(journal),
        check_fills_identical(books, journal),
        check_position_and_balances(books, journal),
        check_pnl(books, journal),
        check_leverage(books, cap),
        check_log_lines(journal, logs),
        check_flat(books, prefix, final_output),
        check_critical_errors(outcomes, logs),
    ]
