"""Issue 11 item 8: the market, fee and funding model are stated first; data under the other
market's directory is warned about; ``--market`` overrides ``market.type``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from tests.integration.test_cli_backtest import gridbot, kline_rows, parse_human, write_csv

ROOT = Path(__file__).resolve().parent.parent.parent


def _spot_data(tmp_path: Path) -> Path:
    directory = tmp_path / "klines" / "spot" / "BTCUSDT"
    directory.mkdir(parents=True)
    return write_csv(directory, kline_rows(600))


def test_spot_data_with_the_default_futures_config_is_warned_and_stated(tmp_path: Path) -> None:
    data = _spot_data(tmp_path)

    result = gridbot("--data", data.parent, "--no-progress")

    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith(f"gridbot: warning: {data.parent} looks like spot data ")
    assert "pass --market spot" in result.stderr
    first = result.stdout.splitlines()[:3]
    assert first[0].split()[0] == "market" and "USD-M futures (from market.type)" in first[0]
    assert first[1].startswith("fee model") and "maker 0.02 % / taker 0.05 %" in first[1]
    assert first[2].startswith("funding model") and "constant 0.01 % every 8 h" in first[2]


def test_market_flag_trades_spot_without_funding(tmp_path: Path) -> None:
    data = _spot_data(tmp_path)

    result = gridbot("--data", data.parent, "--market", "spot", "--json")

    assert result.returncode == 0, result.stderr
    assert "looks like" not in result.stderr
    report = json.loads(result.stdout)
    assert report["market"] == "SPOT"
    assert Decimal(report["funding"]) == 0
    assert report["funding_model"] == "none (spot has no funding)"
    assert report["fee_model"].startswith("maker 0.1 % / taker 0.1 %")


def test_futures_data_traded_as_spot_is_warned(tmp_path: Path) -> None:
    directory = tmp_path / "futures-um" / "BTCUSDT"
    directory.mkdir(parents=True)
    data = write_csv(directory, kline_rows(100))
    config = tmp_path / "spot.json"
    config.write_text(json.dumps({"market": {"type": "SPOT", "symbol": "BTCUSDT"}}))

    result = gridbot("--config", config, "--data", data, "--no-progress")

    assert "looks like USD-M futures data but this run trades spot" in result.stderr
    rows = parse_human(result.stdout)
    assert rows["market"] == "BTCUSDT spot (from market.type)"
    assert rows["funding model"] == "none (spot has no funding)"


def test_run_states_the_market_and_takes_the_flag(tmp_path: Path) -> None:
    data = _spot_data(tmp_path)
    result = subprocess.run(
        [
            *(sys.executable, "-m", "bootstrap.cli", "run", "--data", str(data)),
            *("--speed", "0", "--max-candles", "50", "--market", "spot"),
        ],
        cwd=ROOT,
        env=dict(os.environ, GRIDBOT_DATA_DIR=str(tmp_path / "data")),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "market: BTCUSDT spot (from --market)" in result.stderr
    assert "funding model: none (spot has no funding)" in result.stderr
    assert "looks like" not in result.stderr
    assert result.stdout.startswith("control plane: ")
