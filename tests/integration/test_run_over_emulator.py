"""``gridbot run`` through the real Binance adapter against the emulator, both as processes.

The live loop end to end: exchangeInfo, futures set-up, the kline and user-data streams,
reconciliation on start, kill -9 and restart without a difference, and a SIGTERM that
leaves the exchange flat — checked against the emulator's own books over REST.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from adapters.binance.rest import BinanceRestClient
from tests.support.running_bot import ROOT, running_bot

KEY = "emu-key-3b1d"
SECRET = "emu-secret-90af"
_URL = re.compile(r"(http://127\.0\.0\.1:\d+)")
HISTORY = 3000  # minutes of past the emulator serves and the bot reads (unless a test says)


@contextmanager
def _emulator(data: Path, speed: int, *extra: str) -> Iterator[str]:
    """The emulator as a process; its past defaults to 3000 of the data's minutes here (the
    2025-01 file holds 6418: a week of past would leave nothing to replay)."""
    extra = extra or ("--history-minutes", str(HISTORY))
    env = {**os.environ, "BINANCE_API_KEY": KEY, "BINANCE_API_SECRET": SECRET}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bootstrap.cli",
            "emulator",
            "--data",
            str(data),
            "--speed",
            str(speed),
            "--wall-clock-auth",
            *extra,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = _URL.search(line)
        assert match, line + process.stdout.read()
        threading.Thread(target=process.stdout.read, daemon=True).start()
        yield match.group(1)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def _rest(url: str, market: str, method: str, path: str, params: tuple[Any, ...] = ()) -> Any:
    async def call() -> Any:
        client = BinanceRestClient(market, url, KEY, SECRET)  # type: ignore[arg-type]
        try:
            await client.sync_time()
            return await client.signed(method, path, params, weight=5)  # type: ignore[arg-type]
        finally:
            await client.aclose()

    return asyncio.run(call())


def _wait_for_log(tmp_path: Path, text: str, count: int, timeout: float = 30.0) -> None:
    """Wait until ``count`` log records mention ``text`` (reconnects back off a little)."""
    path = tmp_path / "data" / "gridbot.log"
    deadline = time.monotonic() + timeout
    while True:
        found = sum(text in line for line in path.read_text().splitlines())
        if found >= count:
            return
        assert time.monotonic() < deadline, f"{found} of {count} log lines with {text!r}"
        time.sleep(0.1)


def _fault(url: str, name: str) -> None:
    request = urllib.request.Request(f"{url}/_emulator/fault?name={name}", method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200


def _config(url: str, market: str) -> dict[str, Any]:
    return {
        "market": {"type": market, "symbol": "BTCUSDT"},
        "exchange": {"kind": "binance", "base_url": url, "leverage": 3},
        "strategy": {"name": "static_grid", "levels": 5, "spacing": 0.001, "quote_per_level": 200},
        "signals": {"history_minutes": HISTORY},
    }


def _env() -> dict[str, str]:
    return {"BINANCE_API_KEY": KEY, "BINANCE_API_SECRET": SECRET}


def test_first_start_fits_the_signal_weights_on_the_emulators_history(
    shared_data: Path, tmp_path: Path
) -> None:
    """As on Binance, the past is there at start-up: the signal's ``history_minutes`` of it
    (a week here), so the first start fits its weights on it.

    The week before 2025-02-15 is one where the fit finds correlations that clear the
    threshold for the systems and the neutral regime (on a week of real data some
    regime's features usually do not, a fallback for that part only, not for lack of data).
    """
    data = shared_data / "klines" / "futures-um" / "BTCUSDT" / "BTCUSDT-1m-2025-02.csv.gz"
    with (
        _emulator(data, 1, "--replay-start", "2025-02-15T00:00") as url,
        running_bot(
            tmp_path,
            {**_config(url, "USDM_FUTURES"), "signals": {"history_minutes": 10_080}},
            (),
            _env(),
        ) as bot,
    ):
        line = bot.wait_line("signal weights:", timeout=120)
        bot.process.send_signal(signal.SIGTERM)
        assert bot.wait_exit() == 0, bot.output
    assert "fitted on 10080 candles" in line and "too little data" not in line, line
    with sqlite3.connect(tmp_path / "data" / "gridbot.db") as db:
        [(stored,)] = db.execute(
            "select value from strategy_state where key = 'signals.weights'"
        ).fetchall()
    weights = json.loads(stored)
    assert weights["samples"] > 7000  # every ready row of the week before the replay start
    assert "systems" not in weights["fallback_parts"] and "NEUTRAL" not in weights["fallback_parts"]


def test_futures_live_loop_survives_kill_and_ends_flat(shared_data: Path, tmp_path: Path) -> None:
    data = shared_data / "klines" / "futures-um" / "BTCUSDT" / "BTCUSDT-1m-2025-01.csv.gz"
    # The file holds 6418 minutes: 3000 of them are the past the bot fits its weights on.
    with _emulator(data, speed=40) as url:
        config = _config(url, "USDM_FUTURES")
        with running_bot(tmp_path, config, args=(), env=_env()) as bot:
            first = bot.wait_for(
                lambda s: s.candles_processed >= 60 and len(s.open_orders) >= 5, timeout=60
            )
            assert first.exchange == "binance" and first.state == "RUNNING"
            bot.process.send_signal(signal.SIGKILL)
            bot.wait_exit()
        with running_bot(tmp_path, config, args=(), env=_env()) as bot:
            assert "0 differences" in bot.wait_line("reconciled:")
            bot.wait_for(lambda s: s.candles_processed >= 30 and s.open_orders, timeout=60)
            _fault(url, "ws_drop")  # every WebSocket of the bot is cut
            before = bot.status().candles_processed
            bot.wait_for(lambda s: s.candles_processed >= before + 30, timeout=60)
            _wait_for_log(tmp_path, "reconnected", count=2)
            bot.process.send_signal(signal.SIGTERM)
            assert bot.wait_exit() == 0, bot.output
        assert "flat confirmed by the exchange" in bot.output
        positions = _rest(url, "futures", "GET", "/fapi/v2/positionRisk", (("symbol", "BTCUSDT"),))
        assert all(Decimal(p["positionAmt"]) == 0 for p in positions)
        assert _rest(url, "futures", "GET", "/fapi/v1/openOrders", (("symbol", "BTCUSDT"),)) == []
        trades = _rest(url, "futures", "GET", "/fapi/v1/userTrades", (("symbol", "BTCUSDT"),))
        balance = _rest(url, "futures", "GET", "/fapi/v2/balance")
    with sqlite3.connect(tmp_path / "data" / "gridbot.db") as db:
        fills = db.execute(
            "select trade_id, quantity, price from fills order by trade_id"
        ).fetchall()
        snapshot = db.execute("select payload from snapshots order by id desc limit 1").fetchone()
        repeated = db.execute(
            "select client_order_id, kind, count(*) from order_events"
            " where kind in ('OrderAccepted', 'OrderCanceled')"
            " group by client_order_id, kind having count(*) > 1"
        ).fetchall()
    assert repeated == [], "an acceptance or cancellation journaled twice (REST and stream)"
    assert len(fills) == len(trades) > 0
    assert [(int(t), Decimal(q), Decimal(p)) for t, q, p in fills] == [
        (t["id"], Decimal(t["qty"]), Decimal(t["price"])) for t in trades
    ]
    log = [json.loads(line) for line in (tmp_path / "data" / "gridbot.log").open()]
    reconnects = [r for r in log if "reconnected" in str(r.get("message", ""))]
    assert len(reconnects) >= 2, "the kline and user-data streams did not log reconnecting"
    after = log.index(reconnects[0])
    assert any(r["event"] == "reconciliation" for r in log[after:]), "no resync after reconnect"
    accepted = [r["client_order_id"] for r in log if r["event"] == "order.accepted"]
    assert len(accepted) == len(set(accepted)) > 0, "an order.accepted line logged twice"
    logged_fills = {r["trade_id"] for r in log if r["event"] == "fill"}
    assert logged_fills == {int(t) for t, _, _ in fills}, "a fill without its log line"
    wallet = next(Decimal(b["balance"]) for b in balance if b["asset"] == "USDT")
    bot_cash = Decimal(json.loads(snapshot[0])["bot"]["cash"])
    assert abs(wallet - bot_cash) <= Decimal("0.00000001")


def test_spot_live_loop_trades_over_the_ws_api_and_stops_flat(
    shared_data: Path, tmp_path: Path
) -> None:
    data = shared_data / "klines" / "spot" / "BTCUSDT" / "BTCUSDT-1m-2025-06.csv.gz"
    with _emulator(data, speed=40) as url:
        config = _config(url, "SPOT")
        with running_bot(tmp_path, config, args=(), env=_env()) as bot:
            bot.wait_for(lambda s: s.candles_processed >= 60 and len(s.open_orders) >= 3, 60)
            bot.process.send_signal(signal.SIGTERM)
            assert bot.wait_exit() == 0, bot.output
        assert "flat confirmed by the exchange" in bot.output
        assert _rest(url, "spot", "GET", "/api/v3/openOrders", (("symbol", "BTCUSDT"),)) == []
    # The periodic audit (exchange.audit_minutes, default 10): on the candle closing each
    # 10 market minutes, signed REST reads that agreed with the journal.
    log = [json.loads(line) for line in (tmp_path / "data" / "gridbot.log").open()]
    audits = [r for r in log if r["event"] == "reconciliation.audit"]
    assert len(audits) >= 5, "fewer audits than 10-minute boundaries in 60+ candles"
    assert all((a["open_time"] + 60_000) % 600_000 == 0 for a in audits), audits
    assert [a["number"] for a in audits] == list(range(1, len(audits) + 1))
    assert all(a["ok"] and "differences" not in a for a in audits), audits


def test_a_restart_after_a_flattening_stop_places_orders_on_its_first_candles(
    shared_data: Path, tmp_path: Path
) -> None:
    """Issue 11, defect 1: the journaled grid centre must not outlive the flatten."""
    data = shared_data / "klines" / "futures-um" / "BTCUSDT" / "BTCUSDT-1m-2025-01.csv.gz"
    with _emulator(data, speed=20) as url:
        config = _config(url, "USDM_FUTURES")
        with running_bot(tmp_path, config, args=(), env=_env()) as bot:
            bot.wait_for(lambda s: s.candles_processed >= 5 and len(s.open_orders) >= 5, 60)
            bot.process.send_signal(signal.SIGTERM)
            assert bot.wait_exit() == 0, bot.output
        assert "flat confirmed by the exchange" in bot.output
        with running_bot(tmp_path, config, args=(), env=_env()) as bot:
            bot.wait_line("reconciled:")
            started = bot.wait_for(lambda s: s.candles_processed >= 1, 60).candles_processed
            status = bot.wait_for(lambda s: s.candles_processed >= started + 2, 60)
            assert len(status.open_orders) >= 5, "the restarted bot placed no orders"
            bot.process.send_signal(signal.SIGTERM)
            assert bot.wait_exit() == 0, bot.output


def test_the_shutdown_flatten_retries_http_500s_and_ends_flat(
    shared_data: Path, tmp_path: Path
) -> None:
    """Issue 11, defect 4: a 5xx on the shutdown's cancel-all is retried, not given up on."""
    data = shared_data / "klines" / "futures-um" / "BTCUSDT" / "BTCUSDT-1m-2025-01.csv.gz"
    with _emulator(data, speed=20) as url:
        config = _config(url, "USDM_FUTURES")
        with running_bot(tmp_path, config, args=(), env=_env()) as bot:
            bot.wait_for(lambda s: s.candles_processed >= 5 and len(s.open_orders) >= 5, 60)
            for _ in range(3):  # the next three requests answer HTTP 500
                _fault(url, "http_500")
            bot.process.send_signal(signal.SIGTERM)
            assert bot.wait_exit() == 0, bot.output
        assert "flat confirmed by the exchange" in bot.output
        assert _rest(url, "futures", "GET", "/fapi/v1/openOrders", (("symbol", "BTCUSDT"),)) == []
