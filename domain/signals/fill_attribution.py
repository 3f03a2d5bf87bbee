"""The ensemble judged on money: realised P&L of the trades opened while each call led.

ICs and the systems' own jobs (:mod:`domain.signals.jobs`) score the signal on prices. What
the bot is paid on is its fills. A backtest of the strategy records both the signal's
decision on every candle and the net position's FIFO trades
(:mod:`domain.metrics.trades`), so each closed trade can be charged to the call that was in
force when its lot was opened: the **dominant regime** of the latest decision made at or
before the opening fill (the regime that led) and the **sign of the net conviction**
(``long - short``) of that decision. The decision on a candle is made at its close, after
the fills matched inside it: a fill is charged to the decision the strategy acted on, never
to one made after it.

Why the opening fill: a grid's closing fill is its take-profit (or a stop) placed
mechanically when the lot opened, so the call that put the money at risk is the one in
force at the entry; its outcome is the trade's realised P&L after both fills' fees.

Only closed trades are realised; lots still open at the end (marked at the last price) are
left out and counted apart. A lot opened before the first decision (the opening balance,
or fills during the signal's warm-up) is charged to :data:`NO_DECISION`.

Money stays Decimal; the decisions are floats (they are scores).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise

from domain.metrics.trades import Trade

ZERO = Decimal(0)

#: The leader of a lot opened before the first decision.
NO_DECISION = "none"

#: Net conviction sign names.
LONG, SHORT, FLAT = "long", "short", "flat"


@dataclass(frozen=True, slots=True)
class LeaderPnl:
    """Realised P&L of the closed trades one leader opened.

    Attributes:
        grouping: ``"regime"`` (dominant regime) or ``"conviction"`` (sign of long - short).
        leader: The regime name, ``long``/``short``/``flat``, or :data:`NO_DECISION`.
        trades: Closed trades (FIFO pieces) charged to it.
        wins: Trades with P&L > 0 after fees.
        pnl: Total realised P&L after fees (quote).
        fees: Fees included in ``pnl`` (quote).
    """

    grouping: str
    leader: str
    trades: int
    wins: int
    pnl: Decimal
    fees: Decimal

    @property
    def mean_pnl(self) -> Decimal | None:
        """P&L per trade; None without trades."""
        return self.pnl / self.trades if self.trades else None

    @property
    def hit_rate(self) -> Decimal | None:
        """Share of trades with P&L > 0; None without trades."""
        return Decimal(self.wins) / self.trades if self.trades else None


@dataclass(frozen=True, slots=True)
class FillAttribution:
    """Closed trades charged to the leading call, by regime and by conviction sign.

    Attributes:
        by_regime: One row per regime that opened a trade (in ``regimes`` order, then
            :data:`NO_DECISION`), plus ``all``.
        by_conviction: ``long``, ``short``, ``flat``, :data:`NO_DECISION` (those with
            trades), plus ``all``.
        open_lots: Marked open lots left out (not realised).
        open_pnl: Their unrealised P&L at the last price (quote).
    """

    by_regime: tuple[LeaderPnl, ...]
    by_conviction: tuple[LeaderPnl, ...]
    open_lots: int
    open_pnl: Decimal


def conviction_sign(net: float) -> str:
    """``long`` above zero, ``short`` below, ``flat`` at exactly zero."""
    return LONG if net > 0 else SHORT if net < 0 else FLAT


class _Tally:
    __slots__ = ("fees", "pnl", "trades", "wins")

    def __init__(self) -> None:
        self.trades = 0
        self.wins = 0
        self.pnl = ZERO
        self.fees = ZERO

    def add(self, trade: Trade) -> None:
        self.trades += 1
        self.wins += trade.pnl > 0
        self.pnl += trade.pnl
        self.fees += trade.fees


def attribute_trades(
    trades: Iterable[Trade],
    decided_at: Sequence[int],
    regimes: Sequence[str],
    net_conviction: Sequence[float],
    regime_order: Sequence[str] = (),
) -> FillAttribution:
    """Charge each closed trade to the decision in force when its lot was opened.

    Args:
        trades: FIFO trades of the net position (closed and marked).
        decided_at: When each decision was made (ms), ascending: the decided candle's close
            (its open time + one minute).
        regimes: The dominant regime of each decision.
        net_conviction: ``long - short`` of each decision.
        regime_order: Regimes listed first in ``by_regime`` (in this order), even without
            trades; others follow as met.

    Raises:
        ValueError: The three decision sequences differ in length, or ``decided_at`` is
            not ascending.
    """
    if not len(decided_at) == len(regimes) == len(net_conviction):
        raise ValueError(
            f"decision columns differ in length: {len(decided_at)}, {len(regimes)}, "
            f"{len(net_conviction)}"
        )
    if any(b < a for a, b in pairwise(decided_at)):
        raise ValueError("decision times must ascend")
    by_regime: dict[str, _Tally] = {r: _Tally() for r in regime_order}
    by_sign: dict[str, _Tally] = {s: _Tally() for s in (LONG, SHORT, FLAT)}
    every = _Tally()
    open_lots = 0
    open_pnl = ZERO
    for trade in trades:
        if not trade.closed:
            open_lots += 1
            open_pnl += trade.pnl
            continue
        k = bisect_right(decided_at, trade.entry_time) - 1
        if k < 0:
            regime = sign = NO_DECISION
        else:
            regime, sign = regimes[k], conviction_sign(net_conviction[k])
        by_regime.setdefault(regime, _Tally()).add(trade)
        by_sign.setdefault(sign, _Tally()).add(trade)
        every.add(trade)
    return FillAttribution(
        by_regime=_rows("regime", by_regime, every, keep=set(regime_order)),
        by_conviction=_rows("conviction", by_sign, every, keep={LONG, SHORT, FLAT}),
        open_lots=open_lots,
        open_pnl=open_pnl,
    )


def _rows(
    grouping: str, tallies: dict[str, _Tally], every: _Tally, keep: set[str]
) -> tuple[LeaderPnl, ...]:
    ordered = [k for k in tallies if k != NO_DECISION]
    if NO_DECISION in tallies:
        ordered.append(NO_DECISION)
    rows = [
        LeaderPnl(grouping, k, t.trades, t.wins, t.pnl, t.fees)
        for k in ordered
        if (t := tallies[k]).trades or k in keep
    ]
    rows.append(LeaderPnl(grouping, "all", every.trades, every.wins, every.pnl, every.fees))
    return tuple(rows)
