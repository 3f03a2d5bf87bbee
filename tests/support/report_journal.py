"""A small but complete futures journal for the report tests, written through ``SqlJournal``.

Ten days across a month end and an ISO-week boundary (2024-01-27 → 2024-02-06): a grid of
buy and sell orders on a sine-shaped price, fills (maker and taker, quote fees), orders
cancelled, one still open, funding every 8 h, hourly equity marked on the journal's own
account, a decision record per 15 minutes, and the signal's weekly weight updates on the
two Mondays (a refit on 2024-01-29, a fall-back to the heuristic weights on 2024-02-05).
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from pathlib import Path

from adapters.persistence import SqlJournal, open_journal
from adapters.persistence.engine import sqlite_url
from application.ports.signal_journal import WeightUpdateEntry
from domain.account import AccountProjection
from domain.enums import Liquidity, MarketType, OrderType, Side, TimeInForce
from domain.events import FundingPaid, OrderAccepted, OrderCanceled, OrderFilled
from domain.orders import Fill, Order, OrderTrigger

D = Decimal
START = 1_706_313_600_000  # 2024-01-27 00:00 UTC, a Saturday
HOUR = 3_600_000
HOURS = 240
CASH = D("10000")
MONDAYS = (1_706_486_400_000, 1_707_091_200_000)  # 2024-01-29 and 2024-02-05 00:00 UTC
#: System weights (UP, DOWN, NEUTRAL shares) before the first update and after each one.
WEIGHTS = (
    {"UP": 0.3, "DOWN": 0.3, "NEUTRAL": 0.4},
    {"UP": 0.1, "DOWN": 0.15, "NEUTRAL": 0.75},
    {"UP": 0.25, "DOWN": 0.25, "NEUTRAL": 0.5},
)


def price_at(ms: int) -> Decimal:
    """The synthetic market: 42,000 ± 1,500 in a two-day sine, on a 0.1 tick."""
    phase = (ms - START) / (48 * HOUR) * 2 * math.pi
    return D(round(42000 + 1500 * math.sin(phase), 1)).quantize(D("0.1"))


def write_journal(data_dir: Path | str) -> tuple[SqlJournal, AccountProjection]:
    """Write the journal into ``data_dir/gridbot.db`` (or at a database URL).

    Returns:
        The journal (open: dispose its engine) and the account it books.
    """
    from bootstrap.instruments import builtin_instrument

    instrument = builtin_instrument(MarketType.USDM_FUTURES, "BTCUSDT")
    url = data_dir if isinstance(data_dir, str) else sqlite_url(data_dir)
    journal = open_journal(url, now_ms=lambda: START)
    journal.start_run(START, "gb", "BTCUSDT", "USDM_FUTURES", "test")
    journal.save_state(
        "account.initial", json.dumps({"cash": str(CASH), "base": "0", "price": "42000"})
    )
    account = AccountProjection(instrument, CASH, D(0), D(42000))
    journal.record_equity(START, CASH)
    trade_id = 0
    for hour in range(HOURS):
        seq = hour + 1
        now = START + hour * HOUR
        price = price_at(now)
        side = Side.BUY if hour % 2 == 0 else Side.SELL
        cid = f"gb-{seq}"
        level = price - D(60) if side is Side.BUY else price + D(60)
        order = Order(
            cid, "BTCUSDT", side, OrderType.LIMIT, D("0.010"), level, TimeInForce.GTC, tag="grid"
        )
        journal.add_order(order)
        order.apply(OrderTrigger.ACCEPT, exchange_order_id=seq)
        journal.update_order(order, OrderAccepted(cid, seq, now + 1_000))
        if hour == HOURS - 1:
            pass  # the last order is still resting when the journal is read
        elif hour % 3 == 2:
            order.apply(OrderTrigger.CANCEL)
            journal.update_order(order, OrderCanceled(cid, now + 40 * 60_000))
        else:
            trade_id += 1
            liquidity = Liquidity.TAKER if hour % 7 == 0 else Liquidity.MAKER
            rate = D("0.0004") if liquidity is Liquidity.TAKER else D("0.0002")
            fee = (level * D("0.010") * rate).quantize(D("0.00000001"))
            fill = Fill(
                trade_id, cid, side, D("0.010"), level, fee, "USDT", liquidity, now + 30 * 60_000
            )
            order.apply_fill(fill)
            journal.add_fill(fill)
            journal.update_order(order, OrderFilled(fill))
            account.apply_fill(fill)
        if hour % 8 == 7:
            quantity = account.position.quantity
            amount = (-quantity * price * D("0.0001")).quantize(D("0.00000001"))
            funding = FundingPaid("BTCUSDT", amount, D("0.0001"), price, quantity, now + HOUR)
            journal.add_funding(funding)
            account.apply_funding(funding)
        journal.record_equity(now + HOUR, account.equity(price_at(now + HOUR)))
        for quarter in range(4):
            at = now + quarter * 15 * 60_000
            record = {
                "open_time": at,
                "regime": ("UP", "DOWN", "NEUTRAL")[(hour // 12) % 3],
                "long_conviction": round(0.5 + 0.4 * math.sin(hour / 9), 6),
                "short_conviction": round(0.5 - 0.4 * math.sin(hour / 9), 6),
            }
            journal.save_report("decision", at, json.dumps(record))
    for i, (boundary, source) in enumerate(zip(MONDAYS, ("refit", "heuristic"), strict=True)):
        summary = {
            "boundary": boundary,
            "source": source,
            "changed": True,
            "scores": {"candidate": 0.04 - i * 0.05, "current": 0.01 - i * 0.03, "heuristic": 0.0},
            "validation_score": (0.04, 0.0)[i],
            "system_weights_before": WEIGHTS[i],
            "system_weights_after": WEIGHTS[i + 1],
        }
        journal.add_weight_update(
            WeightUpdateEntry(boundary, source, True, "{}", None, json.dumps(summary))
        )
    return journal, account


def write_klines(path: Path) -> Path:
    """1m klines of the same market over the journal's period, as a Binance CSV."""
    lines = [
        "open_time,open,high,low,close,volume,close_time,quote_volume,count,"
        "taker_buy_volume,taker_buy_quote_volume,ignore"
    ]
    for minute in range(HOURS * 60 + 60):
        t = START + minute * 60_000
        p = price_at(t)
        lines.append(f"{t},{p},{p + 5},{p - 5},{p},1.0,{t + 59_999},,,,,")
    path.write_text("\n".join(lines) + "\n")
    return path
