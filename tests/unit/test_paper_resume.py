"""A flat paper account resumes from the journal: its balances and the replay's next candle."""

from __future__ import annotations

import json
from decimal import Decimal

from adapters.memory.repository import InMemoryOrderRepository
from application.paper_resume import resume_point
from application.session import ACCOUNT_KEY, STRATEGY_KEY
from bootstrap.instruments import builtin_instrument
from domain.enums import MarketType


def _journal(cash: str, base: str = "0", last_candle: int | None = None) -> InMemoryOrderRepository:
    journal = InMemoryOrderRepository()
    journal.save_state(ACCOUNT_KEY, json.dumps({"cash": cash, "base": base, "price": "100"}))
    if last_candle is not None:
        journal.save_state(STRATEGY_KEY, json.dumps({"last_candle": last_candle}))
    return journal


def test_a_journal_without_an_account_cannot_be_resumed() -> None:
    instrument = builtin_instrument(MarketType.USDM_FUTURES, "BTCUSDT")
    assert resume_point(InMemoryOrderRepository(), instrument) is None


def test_a_flat_futures_account_resumes_its_cash_after_the_last_candle() -> None:
    instrument = builtin_instrument(MarketType.USDM_FUTURES, "BTCUSDT")
    resumed = resume_point(_journal("1000", last_candle=120_000), instrument)
    assert resumed == ({"USDT": Decimal("1000")}, 120_000)


def test_a_spot_account_resumes_both_balances_from_the_start_when_nothing_was_traded() -> None:
    instrument = builtin_instrument(MarketType.SPOT, "BTCUSDT")
    resumed = resume_point(_journal("500", base="0.25"), instrument)
    assert resumed == ({"USDT": Decimal("500"), "BTC": Decimal("0.25")}, -1)
