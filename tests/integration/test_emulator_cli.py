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
        match = re.search(r"http://127\.0\.0\.1:\d+", banner)
        assert match, banner
        base = match.group(0)
        with urllib.request.urlopen(f"{base}/api/v3/time", timeout=10) as response:
            assert "serverTime" in json.loads(response.read())
        with urllib.request.urlopen(f"{base}/fapi/v1/exchangeInfo", timeout=10) as response:
            symbols = [s["symbol"] for s in json.loads(response.read())["symbols"]]
        assert symbols == ["BTCUSDT"]
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert process.returncode == 0


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
