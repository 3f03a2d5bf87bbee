"""Backtests over >= 30 days of real Binance BTCUSDT 1m klines: the books must balance."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters.market_data.kline_csv import KlineCsvReader
from adapters.simulated.ledgers import FuturesLedger, SpotLedger
from application.backtest import BacktestReport
from bootstrap.config import parse_config
from bootstrap.containers import BacktestContainer, PeekedCandles

ZERO = Decimal(0)


def _run(config: dict[str, Any], data: Path) -> tuple[BacktestReport, BacktestContainer]:
    container = BacktestContainer(config=parse_config(config, "test"))
    container.data.override(str(data))
    candles = container.candles()
    report = container.runner().run(candles, gaps=lambda: candles.source.gaps)
    return report, container


def _futures_config(funding_file: Path) -> dict[str, Any]:
    return {
        "market": {"type": "USDM_FUTURES", "symbol": "BTCUSDT"},
        "account": {"initial_balances": {"USDT": "10000"}},
        "simulation": {"leverage": 3, "funding_file": str(funding_file)},
        "strategy": {
            "name": "static_grid",
            "levels": 10,
            "spacing": "0.002",
            "quote_per_level": "100",
        },
    }


@pytest.fixture(scope="module")
def futures_runs(shared_data: Path) -> list[tuple[BacktestReport, BacktestContainer]]:
    data = shared_data / "klines" / "futures-um" / "BTCUSDT"
    files = [data / "BTCUSDT-1m-2025-05.csv.gz", data / "BTCUSDT-1m-2025-06.csv.gz"]
    config = _futures_config(shared_data / "funding" / "BTCUSDT.csv")
    runs = []
    for _ in range(2):
        container = BacktestContainer(config=parse_config(config, "test"))
        reader = KlineCsvReader(files)
        container.candles.override(PeekedCandles(reader))
        candles = container.candles()
        report = container.runner().run(candles, gaps=lambda r=reader: r.gaps)
        runs.append((report, container))
    return runs


def test_futures_backtest_covers_more_than_30_days(futures_runs: Any) -> None:
    report, _ = futures_runs[0]
    assert report.candles == 73_139
    assert report.last_open_time - report.first_open_time >= 30 * 24 * 3_600_000
    assert report.gaps == 0
    assert report.fills > 100 and report.maker_fills > 0


def test_futures_books_balance(futures_runs: Any) -> None:
    report, container = futures_runs[0]
    # initial equity + realized PnL - fees + funding = final cash, exactly.
    assert report.initial_equity + report.realized_pnl - report.fees + report.funding == (
        report.final_cash
    )
    assert report.final_equity == report.final_cash + report.unrealized_pnl
    assert report.funding != ZERO  # the real funding file was applied
    exchange = container.exchange()
    ledger = exchange.ledger
    assert isinstance(ledger, FuturesLedger)
    # The exchange's own books agree with the bot's projection to the last digit.
    assert ledger.wallet == report.final_cash
    assert ledger.position.quantity == report.position
    assert ledger.position.realized_pnl == report.realized_pnl
    assert ledger.position.funding == report.funding
    assert exchange.max_leverage_seen <= 3


def test_every_fill_belongs_to_an_order(futures_runs: Any) -> None:
    report, container = futures_runs[0]
    repo = container.repository()
    fills = repo.fills()
    assert len(fills) == report.fills
    assert len({f.trade_id for f in fills}) == len(fills)
    per_order: dict[str, Decimal] = {}
    for fill in fills:
        order = repo.get_order(fill.client_order_id)
        assert order is not None, fill
        assert fill.side is order.side
        per_order[fill.client_order_id] = per_order.get(fill.client_order_id, ZERO) + fill.quantity
    for cid, quantity in per_order.items():
        order = repo.get_order(cid)
        assert order is not None and order.executed_quantity == quantity <= order.quantity
    assert sum(f.fee for f in fills) == report.fees


def test_two_runs_are_identical(futures_runs: Any) -> None:
    (first, c1), (second, c2) = futures_runs
    assert first == second
    assert c1.repository().fills() == c2.repository().fills()
    assert c1.repository().order_ids() == c2.repository().order_ids()


def test_spot_backtest_books_balance(shared_data: Path) -> None:
    data = shared_data / "klines" / "spot" / "BTCUSDT" / "BTCUSDT-1m-2025-06.csv.gz"
    config = {
        "market": {"type": "SPOT", "symbol": "BTCUSDT"},
        "account": {"initial_balances": {"USDT": "10000", "BTC": "0.05"}},
        "strategy": {
            "name": "static_grid",
            "levels": 10,
            "spacing": "0.002",
            "quote_per_level": "100",
        },
    }
    report, container = _run(config, data)
    assert report.candles == 43_200 and report.fills > 100
    ledger = container.exchange().ledger
    assert isinstance(ledger, SpotLedger)
    account = container.execution().account
    repo = container.repository()
    usdt = ledger.balances.total("USDT")
    btc = ledger.balances.total("BTC")
    assert usdt >= 0 and btc >= 0
    assert ledger.balances.free("USDT") >= 0 and ledger.balances.free("BTC") >= 0
    # Conservation per asset, from the fills alone.
    cash, base = Decimal("10000"), Decimal("0.05")
    for fill in repo.fills():
        if fill.side.value == "BUY":
            cash -= fill.quantity * fill.price
            base += fill.quantity - (fill.fee if fill.fee_asset == "BTC" else ZERO)
        else:
            base -= fill.quantity
            cash += fill.quantity * fill.price - (fill.fee if fill.fee_asset == "USDT" else ZERO)
    assert (cash, base) == (usdt, btc) == (account.cash, account.base_balance)
    # Spot identity: equity change = realized + unrealized - commissions paid in quote.
    quote_fees = sum((f.fee for f in repo.fills() if f.fee_asset == "USDT"), ZERO)
    change = report.final_equity - report.initial_equity
    assert change == report.realized_pnl + report.unrealized_pnl - quote_fees
