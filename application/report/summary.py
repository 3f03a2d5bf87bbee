"""Pieces every report source shares: fills as chart marks, fee values, the summary table.

Fees are valued the way the account projection books them (quote fee as is, base fee at
the fill price, a third asset at its recorded quote value), by replaying the fills through
:class:`~domain.account.AccountProjection` itself, so the report and the bot cannot
disagree about a commission.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from application.ports.report import EquityPoint, Table, TradeMark
from domain.account import AccountProjection
from domain.enums import Liquidity
from domain.events import FundingPaid
from domain.orders import Fill

ZERO = Decimal(0)
HUNDRED = Decimal(100)


def trade_marks(fills: Sequence[Fill]) -> list[TradeMark]:
    """Fills as chart marks, in time order."""
    marks = [
        TradeMark(f.timestamp, f.side.value, f.price, f.quantity, f.liquidity.value) for f in fills
    ]
    marks.sort(key=lambda m: m.time)
    return marks


def replay_costs(
    account: AccountProjection, fills: Sequence[Fill], funding: Sequence[FundingPaid]
) -> tuple[list[tuple[int, Decimal]], list[tuple[int, Decimal]]]:
    """Book the fills and funding into ``account``; the dated fee values and funding amounts.

    Returns:
        ``(time, fee at quote value)`` per fill and ``(time, amount received)`` per funding
        payment, as the account booked them.
    """
    fees: list[tuple[int, Decimal]] = []
    for fill in sorted(fills, key=lambda f: (f.timestamp, f.trade_id)):
        before = account.fees_quote
        account.apply_fill(fill)
        fees.append((fill.timestamp, account.fees_quote - before))
    paid: list[tuple[int, Decimal]] = []
    for payment in sorted(funding, key=lambda p: p.timestamp):
        account.apply_funding(payment)
        paid.append((payment.timestamp, payment.amount))
    return fees, paid


def max_drawdown(initial: Decimal, equity: Sequence[EquityPoint]) -> tuple[Decimal, Decimal]:
    """The deepest fall from a running peak: ``(fraction of the peak, amount)``."""
    peak = initial
    deepest = amount = ZERO
    for point in equity:
        value = point.equity
        if value > peak:
            peak = value
            continue
        fall = peak - value
        amount = max(amount, fall)
        if peak > 0:
            deepest = max(deepest, fall / peak)
    return deepest, amount


def iso_time(ms: int) -> str:
    """``YYYY-MM-DD HH:MM`` UTC."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def money(value: Decimal, places: int = 2) -> str:
    """A money amount rounded for reading, with thousands separators."""
    return f"{value.quantize(Decimal(1).scaleb(-places)):,}"


def percent(fraction: Decimal) -> str:
    """A fraction as a percentage with two decimals."""
    return f"{(fraction * HUNDRED).quantize(Decimal('0.01'))} %"


def summary_table(
    initial_equity: Decimal,
    equity: Sequence[EquityPoint],
    fills: Sequence[Fill],
    fees: Sequence[tuple[int, Decimal]],
    funding: Sequence[tuple[int, Decimal]],
    start: int,
    end: int,
) -> Table:
    """The run at a glance: period, equity, return, drawdown, fills and costs."""
    final = equity[-1].equity if equity else initial_equity
    ret = (final - initial_equity) / initial_equity if initial_equity else ZERO
    dd, dd_amount = max_drawdown(initial_equity, equity)
    makers = sum(1 for f in fills if f.liquidity is Liquidity.MAKER)
    rows = (
        ("period", f"{iso_time(start)} → {iso_time(end)} UTC"),
        ("initial equity", money(initial_equity)),
        ("final equity", money(final)),
        ("total return", percent(ret)),
        ("max drawdown", f"{percent(dd)} ({money(dd_amount)})"),
        ("fills", f"{len(fills):,} (maker {makers:,} / taker {len(fills) - makers:,})"),
        ("fees", money(sum((v for _, v in fees), ZERO), 4)),
        ("funding", money(sum((v for _, v in funding), ZERO), 4)),
    )
    return Table("Summary", ("metric", "value"), rows)


def comparison_table(
    initial_equity: Decimal,
    curves: Sequence[tuple[str, Sequence[EquityPoint]]],
) -> Table:
    """Final equity, return and max drawdown of the strategy and each baseline."""
    rows = []
    for name, points in curves:
        final = points[-1].equity if points else initial_equity
        ret = (final - initial_equity) / initial_equity if initial_equity else ZERO
        dd, amount = max_drawdown(initial_equity, points)
        rows.append((name, money(final), percent(ret), f"{percent(dd)} ({money(amount)})"))
    return Table(
        "Against the baselines",
        ("curve", "final equity", "total return", "max drawdown"),
        tuple(rows),
    )
