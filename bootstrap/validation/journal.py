"""The bot's journal at the end of a run, copied out as plain data.

Read after the bot has exited, straight from its SQLite file: the rows the checks compare
(orders, order events, fills, funding, reconciliation reports, equity points, the final
snapshot) and the bot's account as a restart would rebuild it from the journal alone
(``rebuild_account``: the initial balances plus every journaled fill and funding payment),
which is the figure that must equal the exchange's.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from adapters.persistence.engine import sqlite_url
from adapters.persistence.factory import open_journal
from application.account_state import rebuild_account
from application.session import ACCOUNT_KEY
from domain.instruments import Instrument

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class JournalOrder:
    """One row of ``orders``."""

    client_order_id: str
    status: str
    exchange_order_id: int | None
    tag: str


@dataclass(frozen=True, slots=True)
class JournalEvent:
    """One row of ``order_events`` (``kind``: the event class name, e.g. OrderFilled)."""

    client_order_id: str
    kind: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class JournalFill:
    """One row of ``fills``."""

    trade_id: int
    client_order_id: str
    side: str
    quantity: Decimal
    price: Decimal
    fee: Decimal
    fee_asset: str
    liquidity: str
    timestamp: int


@dataclass(frozen=True, slots=True)
class BotAccount:
    """The bot's account figures (quote asset), rebuilt from the journal.

    Attributes:
        cash: Quote balance (futures: the wallet).
        base: Spot base holding (0 on futures).
        position: Net position (spot: the base holding).
        realized_pnl: Realized PnL, gross of fees.
        fees_quote: Every commission at its quote value.
        fees_by_asset: Commissions in the asset they were charged in.
        funding: Funding received (negative: paid).
    """

    cash: Decimal
    base: Decimal
    position: Decimal
    realized_pnl: Decimal
    fees_quote: Decimal
    fees_by_asset: dict[str, Decimal]
    funding: Decimal


@dataclass(frozen=True)
class JournalView:
    """Everything the checks read from the bot's database."""

    orders: dict[str, JournalOrder]
    events: list[JournalEvent]
    fills: list[JournalFill]
    funding: list[tuple[int, Decimal]]
    account: BotAccount
    reconciliations: list[dict[str, Any]]
    equity: list[tuple[int, Decimal]]
    final_snapshot: dict[str, Any] | None = None
    runs: int = 0
    extra: dict[str, object] = field(default_factory=dict)

    def adopted_by_reconciliation(self) -> set[str]:
        """Client ids that reconciliation recorded as adopted unknown orders."""
        out: set[str] = set()
        for report in self.reconciliations:
            out.update(report.get("adopted_unknown", ()))
        return out


def read_journal(data_dir: Path, instrument: Instrument) -> JournalView:
    """Read ``<data_dir>/gridbot.db`` (the bot must have exited).

    Raises:
        FileNotFoundError: There is no database.
    """
    path = data_dir / "gridbot.db"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the bot's journal does not exist")
    account = _rebuilt_account(path, instrument)  # opens (and recovers) the journal first
    db = sqlite3.connect(path)
    try:
        orders = {
            cid: JournalOrder(cid, status, None if eid is None else int(eid), tag)
            for cid, status, eid, tag in db.execute(
                "select client_order_id, status, exchange_order_id, tag from orders order by seq"
            )
        }
        events = [
            JournalEvent(cid, kind, json.loads(payload))
            for cid, kind, payload in db.execute(
                "select client_order_id, kind, payload from order_events order by id"
            )
        ]
        fills = [
            JournalFill(int(t), c, s, Decimal(q), Decimal(p), Decimal(f), a, liq, int(ts))
            for t, c, s, q, p, f, a, liq, ts in db.execute(
                "select trade_id, client_order_id, side, quantity, price, fee, fee_asset, "
                "liquidity, timestamp from fills order by trade_id"
            )
        ]
        funding = [
            (int(t), Decimal(a))
            for t, a in db.execute(
                "select funding_time, amount from funding_payments order by funding_time"
            )
        ]
        reconciliations = [
            json.loads(p)
            for (p,) in db.execute(
                "select payload from reports where kind = 'reconciliation' order by id"
            )
        ]
        equity = [
            (int(t), Decimal(e))
            for t, e in db.execute("select timestamp, equity from equity_curve order by timestamp")
        ]
        last = db.execute("select payload from snapshots order by id desc limit 1").fetchone()
        runs = int(db.execute("select count(*) from runs").fetchone()[0])
    finally:
        db.close()
    return JournalView(
        orders=orders,
        events=events,
        fills=fills,
        funding=funding,
        account=account,
        reconciliations=reconciliations,
        equity=equity,
        final_snapshot=None if last is None else json.loads(last[0]),
        runs=runs,
    )


def _rebuilt_account(path: Path, instrument: Instrument) -> BotAccount:
    """The account exactly as the bot rebuilds it on a restart."""
    journal = open_journal(sqlite_url(path.parent))
    try:
        stored = journal.load_state(ACCOUNT_KEY)
        # No initial balances stored: the bot never started trading; nothing to rebuild.
        empty = {"cash": "0", "base": "0", "price": "0"}
        initial = empty if stored is None else json.loads(stored)
        account = rebuild_account(
            journal,
            instrument,
            Decimal(initial["cash"]),
            Decimal(initial["base"]),
            Decimal(initial["price"]),
        )
    finally:
        journal.engine.dispose()
    position = account.position
    return BotAccount(
        cash=account.cash,
        base=account.base_balance,
        position=position.quantity,
        realized_pnl=position.realized_pnl,
        fees_quote=account.fees_quote,
        fees_by_asset=dict(account.fees_by_asset),
        funding=position.funding,
    )
