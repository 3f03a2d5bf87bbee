"""``gridbot run`` as a subprocess: journal and log in the data directory, fail-closed restart,
``--accept-exchange-state``, signals, and secrets that never reach the disk."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
API_KEY = "plantedKEY-9f2c41d7e0b84a6c"
API_SECRET = "plantedSECRET-5d8e1b3a77c94f20"


def _env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GRIDBOT_DATA_DIR=str(data_dir),
        BINANCE_API_KEY=API_KEY,
        BINANCE_API_SECRET=API_SECRET,
    )
    return env


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"backtest": {"generated": {"minutes": 2000}}}))
    return path


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "bootstrap.cli",
            "run",
            "--config",
            str(_config(tmp_path)),
            "--speed",
            "0",
            *args,
        ],
        cwd=ROOT,
        env=_env(tmp_path / "data"),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_run_journals_and_logs_in_the_data_directory(tmp_path: Path) -> None:
    result = _run(tmp_path, "--max-candles", "600")
    assert result.returncode == 0, result.stderr
    assert "reconciled: 0 adopted" in result.stdout
    assert "stopped after 600 candles" in result.stdout
    data = tmp_path / "data"
    assert (data / "gridbot.db").stat().st_size > 0
    lines = (data / "gridbot.log").read_text().splitlines()
    events = [json.loads(line)["event"] for line in lines]
    assert "order.submit" in events and "fill" in events and "reconciliation" in events


def test_restart_against_a_fresh_exchange_refuses_then_accepts(tmp_path: Path) -> None:
    assert _run(tmp_path, "--max-candles", "600").returncode == 0
    # The in-process simulated exchange starts empty every run: the journal is ahead of it.
    refused = _run(tmp_path, "--max-candles", "10")
    assert refused.returncode == 3
    assert "refusing to trade" in refused.stderr
    assert "USDT wallet: exchange 10000, journal" in refused.stderr
    assert "--accept-exchange-state" in refused.stderr
    assert "Traceback" not in refused.stderr
    accepted = _run(tmp_path, "--max-candles", "10", "--accept-exchange-state")
    assert accepted.returncode == 0, accepted.stderr
    assert "(exchange state accepted)" in accepted.stdout
    reports = [
        json.loads(line)
        for line in (tmp_path / "data" / "gridbot.log").read_text().splitlines()
        if '"event":"reconciliation"' in line
    ]
    assert [r["ok"] for r in reports] == [True, False, True]


def test_planted_secrets_never_reach_the_database_or_the_logs(tmp_path: Path) -> None:
    assert _run(tmp_path, "--max-candles", "400").returncode == 0
    assert _run(tmp_path, "--max-candles", "5").returncode == 3  # a refusal is logged too
    files = [p for p in (tmp_path / "data").rglob("*") if p.is_file()]
    assert any(p.name.startswith("gridbot.db") for p in files)
    assert any(p.name.startswith("gridbot.log") for p in files)
    for path in files:
        blob = path.read_bytes()
        assert API_SECRET.encode() not in blob, path
        assert API_KEY.encode() not in blob, path


def test_sigterm_stops_cleanly_with_state_persisted(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bootstrap.cli",
            "run",
            "--config",
            str(_config(tmp_path)),
            "--speed",
            "3000",
        ],
        cwd=ROOT,
        env=_env(tmp_path / "data"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    log = tmp_path / "data" / "gridbot.log"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (
        log.exists() and '"event":"fill"' in log.read_text()
    ):
        time.sleep(0.1)  # waiting on a real subprocess, not on simulated time
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "stopped after" in out
    assert "stopped after 2,000 candles" not in out  # it stopped early, on the signal
    assert "flat confirmed by the exchange" in out
    # The journal alone says the same: no open order, no position.
    from adapters.persistence.factory import open_journal
    from application.session import rebuild_account
    from bootstrap.instruments import builtin_instrument
    from domain.enums import MarketType

    journal = open_journal(f"sqlite:///{tmp_path / 'data' / 'gridbot.db'}")
    try:
        assert journal.open_orders() == []
        instrument = builtin_instrument(MarketType.USDM_FUTURES, "BTCUSDT")
        account = rebuild_account(journal, instrument, Decimal("10000"))
        assert account.position.quantity == 0
    finally:
        journal.engine.dispose()


def _start(tmp_path: Path, config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bootstrap.cli", "run", "--config", str(config), "--speed", "3000"],
        cwd=ROOT,
        env=_env(tmp_path / "data"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_a_fill(tmp_path: Path) -> None:
    log = tmp_path / "data" / "gridbot.log"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (
        log.exists() and '"event":"fill"' in log.read_text()
    ):
        time.sleep(0.1)  # waiting on a real subprocess, not on simulated time


def test_flatten_on_exit_false_keeps_the_book(tmp_path: Path) -> None:
    config = tmp_path / "keep.json"
    config.write_text(
        json.dumps(
            {"backtest": {"generated": {"minutes": 2000}}, "shutdown": {"flatten_on_exit": False}}
        )
    )
    process = _start(tmp_path, config)
    _wait_for_a_fill(tmp_path)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "stopped after" in out and "flattened" not in out
    assert ", 0 open orders" not in out  # the grid was left resting


def test_a_second_signal_ends_the_run_without_a_traceback(tmp_path: Path) -> None:
    process = _start(tmp_path, _config(tmp_path))
    _wait_for_a_fill(tmp_path)
    process.send_signal(signal.SIGINT)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    # 130 when the second signal lands before the flatten finished, 0 when after it.
    assert process.returncode in (0, 130), err
    assert "Traceback" not in err
    assert ("aborted after" in out) == (process.returncode == 130)


def test_run_records_the_run_equity_curve_and_a_final_snapshot(tmp_path: Path) -> None:
    from adapters.persistence.factory import open_journal

    assert _run(tmp_path, "--max-candles", "300").returncode == 0
    journal = open_journal(f"sqlite:///{tmp_path / 'data' / 'gridbot.db'}")
    try:
        curve = journal.equity_curve()
        ((snapshot_time, payload),) = journal.snapshots()
        with journal.engine.connect() as conn:
            runs = conn.exec_driver_sql("SELECT prefix, symbol, market FROM runs").fetchall()
    finally:
        journal.engine.dispose()
    assert runs == [("gridbot", "BTCUSDT", "USDM_FUTURES")]
    assert len(curve) >= 5  # hourly points over 300 minutes, plus the final one
    snapshot = json.loads(payload)
    assert snapshot["bot"]["position"] == snapshot["exchange"]["positions"][0]["quantity"]
    assert curve[-1] == (snapshot_time, curve[-1][1])


def test_trades_after_an_accepted_restart_are_all_journaled(tmp_path: Path) -> None:
    from adapters.persistence.factory import open_journal

    assert _run(tmp_path, "--max-candles", "600").returncode == 0
    assert _run(tmp_path, "--max-candles", "600", "--accept-exchange-state").returncode == 0
    journal = open_journal(f"sqlite:///{tmp_path / 'data' / 'gridbot.db'}")
    try:
        fills = journal.fills()
        with journal.engine.connect() as conn:
            events = conn.exec_driver_sql(
                "SELECT COUNT(*) FROM order_events WHERE kind = 'OrderFilled'"
            ).scalar_one()
    finally:
        journal.engine.dispose()
    # The second, fresh simulated account's fills continue the trade ids: none is mistaken
    # for a duplicate of the first run's, so every fill event has its fill row.
    assert len({f.trade_id for f in fills}) == len(fills) == events


def test_console_option_prints_readable_lines(tmp_path: Path) -> None:
    result = _run(tmp_path, "--max-candles", "120", "--console")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if " order.submit " in line]
    assert lines, result.stderr[-2000:]
    assert lines[0].split()[1] == "INFO" and "client_order_id=" in lines[0]
    assert API_KEY not in result.stderr and API_SECRET not in result.stderr


def test_unreachable_exchange_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    config = tmp_path / "binance.json"
    config.write_text(
        json.dumps(
            {"exchange": {"kind": "binance", "base_url": "http://127.0.0.1:9", "retry_budget": 2}}
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "bootstrap.cli", "run", "--config", str(config)],
        cwd=ROOT,
        env=_env(tmp_path / "data"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    # The market line (issue 11, item 8), then the error: one line, no traceback.
    lines = result.stderr.splitlines()
    assert lines[0].startswith("market: BTCUSDT USD-M futures"), result.stderr
    assert len(lines) == 2 and lines[1].startswith("gridbot: exchange: "), result.stderr
    assert "Traceback" not in result.stderr


def test_sigterm_during_start_up_ends_the_process(tmp_path: Path) -> None:
    config = tmp_path / "binance.json"
    # A server that accepts the connection and never answers: start-up hangs there.
    import socket

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        config.write_text(
            json.dumps({"exchange": {"kind": "binance", "base_url": f"http://127.0.0.1:{port}"}})
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "bootstrap.cli", "run", "--config", str(config)],
            cwd=ROOT,
            env=_env(tmp_path / "data"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        connection, _ = server.accept()  # the bot is connecting: it is in start-up
        with connection:
            time.sleep(0.5)
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert "aborted; state is in the journal" in out
    assert "Traceback" not in err
