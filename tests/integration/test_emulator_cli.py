"""``gridbot emulator`` as a separate process: prints its URL, serves Binance's paths, stops."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_emulator_serves_binance_paths_on_loopback(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"backtest": {"generated": {"minutes": 100}}}))
    env = dict(os.environ, BINANCE_API_KEY="k", BINANCE_API_SECRET="s")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bootstrap.cli",
            "emulator",
            "--config",
            str(config),
            "--port",
            "0",
            "--history-minutes",
            "60",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", banner)
        assert match, banner
        base = match.group(0)
        with urllib.request.urlopen(f"{base}/api/v3/time", timeout=10) as response:
            assert "serverTime" in json.loads(response.read())
        with urllib.request.urlopen(f"{base}/fapi/v1/exchangeInfo", timeout=10) as response:
            symbols = [s["symbol"] for s in json.loads(response.read())["symbols"]]
        assert symbols == ["BTCUSDT"]
        # The first 60 minutes are the past a client sees at start-up, nothing after it.
        query = "symbol=BTCUSDT&interval=1m&limit=1000"
        with urllib.request.urlopen(f"{base}/api/v3/klines?{query}", timeout=10) as response:
            klines = json.loads(response.read())
        assert len(klines) == 60
        assert "with 60 minutes of history" in banner
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert process.returncode == 0


def test_emulator_history_longer_than_the_data_is_a_data_error(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"backtest": {"generated": {"minutes": 100}}}))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bootstrap.cli",
            "emulator",
            "--config",
            str(config),
            "--history-minutes",
            "100",
        ],
        cwd=ROOT,
        env=dict(os.environ, BINANCE_API_KEY="k", BINANCE_API_SECRET="s"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    # An explicit history of 100 minutes leaves nothing of 100 minutes to replay.
    assert result.returncode == 1, result.stderr
    assert "no candle left to replay" in result.stderr and "--history-minutes" in result.stderr
    assert "Traceback" not in result.stderr


def test_emulator_default_history_shrinks_to_half_of_short_data(tmp_path: Path) -> None:
    """The default history (five weeks) is a wish: a 100-minute file starts, half as past."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"backtest": {"generated": {"minutes": 100}}}))
    env = dict(os.environ, BINANCE_API_KEY="k", BINANCE_API_SECRET="s")
    process = subprocess.Popen(
        [sys.executable, "-m", "bootstrap.cli", "emulator", "--config", str(config), "--port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert "with 50 minutes of history" in banner, banner
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "serving its first 50 minutes as history" in stderr


def test_emulator_without_credentials_is_a_config_error() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BINANCE_")}
    result = subprocess.run(
        [sys.executable, "-m", "bootstrap.cli", "emulator"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "BINANCE_API_KEY" in result.stderr and "Traceback" not in result.stderr
