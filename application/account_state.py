"""The account projection from the journal: rebuilt by replay, checkpointed on acceptance.

Normally the projection is the initial balances plus every journaled fill and funding
payment, replayed in order: exactly the arithmetic that produced it live. When the operator
accepts the exchange's state at a restart, that state becomes a checkpoint: later rebuilds
start from it and replay only what came after, so an accepted difference is not found again.
"""

from __future__ import annotations

import json
from decimal import Decimal

from application.ports.repository import OrderRepository
from domain.account import AccountProjection
from domain.instruments import Instrument

ZERO = Decimal(0)
CHECKPOINT_KEY = "account.checkpoint"


def rebuild_account(
    repository: OrderRepository,
    instrument: Instrument,
    cash: Decimal,
    base: Decimal = ZERO,
    base_price: Decimal = ZERO,
) -> AccountProjection:
    """The account projection rebuilt from the journal alone.

    Args:
        repository: The journal.
        instrument: The traded instrument.
        cash: Initial quote balance (first start).
        base: Initial base holding (spot).
        base_price: Price valuing the initial base holding.
    """
    account = AccountProjection(instrument, cash, base, base_price)
    after_trade, after_funding = -1, -1
    stored = repository.load_state(CHECKPOINT_KEY)
    if stored is not None:
        after_trade, after_funding = _restore(account, json.loads(stored))
    for fill in repository.fills():
        if fill.trade_id > after_trade:
            account.apply_fill(fill)
    for payment in repository.funding_payments():
        if payment.timestamp > after_funding:
            account.apply_funding(payment)
    return account


def save_checkpoint(
    repository: OrderRepository,
    account: AccountProjection,
    after_trade_id: int | None = None,
    after_funding: int | None = None,
) -> None:
    """Record ``account`` as the new starting point for every later rebuild.

    Args:
        repository: The journal.
        account: The account as it stands now.
        after_trade_id: Trades up to this id are already in ``account`` (default: the
            journal's last); a first start on an account with history passes the
            exchange's last trade id, so that history is never applied again.
        after_funding: Likewise for funding settlement times (ms).
    """
    payments = repository.funding_payments()
    position = account.position
    if after_trade_id is None:
        after_trade_id = repository.last_trade_id()
    if after_funding is None:
        after_funding = payments[-1].timestamp if payments else -1
    repository.save_state(
        CHECKPOINT_KEY,
        json.dumps(
            {
                "after_trade_id": after_trade_id,
                "after_funding": after_funding,
                "cash": str(account.cash),
                "base_balance": str(account.base_balance),
                "fees_quote": str(account.fees_quote),
                "initial_equity": str(account.initial_equity),
                "quantity": str(position.quantity),
                "cost": str(position.cost),
                "realized_pnl": str(position.realized_pnl),
                "fees": str(position.fees),
                "funding": str(position.funding),
            }
        ),
    )


def _restore(account: AccountProjection, saved: dict[str, object]) -> tuple[int, int]:
    def dec(key: str) -> Decimal:
        return Decimal(str(saved[key]))

    account.cash = dec("cash")
    account.base_balance = dec("base_balance")
    account.fees_quote = dec("fees_quote")
    account.initial_equity = dec("initial_equity")
    position = account.position
    position.quantity = dec("quantity")
    position.cost = dec("cost")
    position.realized_pnl = dec("realized_pnl")
    position.fees = dec("fees")
    position.funding = dec("funding")
    return int(str(saved["after_trade_id"])), int(str(saved["after_funding"]))


def checkpoint_marks(repository: OrderRepository) -> tuple[int, int]:
    """Trade id and funding time the stored checkpoint already covers (-1, -1 if none)."""
    stored = repository.load_state(CHECKPOINT_KEY)
    if stored is None:
        return -1, -1
    saved = json.loads(stored)
    return int(saved["after_trade_id"]), int(saved["after_funding"])


def account_from_start(
    repository: OrderRepository, instrument: Instrument, start: dict[str, str]
) -> AccountProjection:
    """The account rebuilt from the journal, given its recorded starting point.

    ``start`` is the journal's ``{"cash", "base", "price"}`` record of the first start.
    """
    return rebuild_account(
        repository,
        instrument,
        Decimal(start["cash"]),
        Decimal(start["base"]),
        Decimal(start["price"]),
    )
