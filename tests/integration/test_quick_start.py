"""The seed's quick start, exactly: copy the template, run with --config, Ctrl+C is flat.

And the paper account it leaves behind resumes: a second run starts from the flattened
balances and continues the replay after the last candle, without any difference.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from tests.support.running_bot import ROOT


def _start(workdir: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "GRIDBOT_GRPC_ADDRESS": "127.0.0.1:0"}
    env.pop("GRIDBOT_DATA_DIR", None)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bootstrap.cli",
            "run",
            "--config",
            "config/config.json",
            "--speed",
            "3000",
        ],
        cwd=workdir,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _fills(workdir: Path) -> int:
    with sqlite3.connect(workdir / "data" / "gridbot.db") as db:
        return int(db.execute("select count(*) from fills").fetchone()[0])


def _interrupt_when_trading(process: subprocess.Popen[str], workdir: Path) -> tuple[str, str]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if (workdir / "data" / "gridbot.db").exists():
            try:
                if _fills(workdir) >= 5:
                    break
            except sqlite3.OperationalError:
                pass  # the schema is being created
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)  # Ctrl+C
    return process.communicate(timeout=60)


def test_template_copied_to_config_json_runs_and_ctrl_c_closes_everything(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    shutil.copy(ROOT / "config" / "config.template.json", tmp_path / "config" / "config.json")
    first = _start(tmp_path)
    out, err = _interrupt_when_trading(first, tmp_path)
    assert first.returncode == 0, out + err
    assert "Traceback" not in err
    assert "flat confirmed by the exchange" in out
    with sqlite3.connect(tmp_path / "data" / "gridbot.db") as db:
        open_orders = db.execute(
            "select count(*) from orders where status in ('NEW', 'PARTIALLY_FILLED')"
        ).fetchone()[0]
        (payload,) = db.execute("select payload from snapshots order by id desc limit 1").fetchone()
        (last_candle,) = db.execute(
            "select value from strategy_state where key = 'strategy'"
        ).fetchone()
    assert open_orders == 0
    snapshot = json.loads(payload)
    assert Decimal(snapshot["bot"]["position"]) == 0
    first_last = json.loads(last_candle)["last_candle"]
    fills_before = _fills(tmp_path)

    # The paper account resumes where it stopped.
    second = _start(tmp_path)
    out2, err2 = _interrupt_when_trading_more(second, tmp_path, fills_before)
    assert second.returncode == 0, out2 + err2
    assert "0 differences" in out2 and "refusing" not in err2
    log = [json.loads(line) for line in (tmp_path / "data" / "gridbot.log").open()]
    runs = [r["run_id"] for r in log if r["event"] == "reconciliation"]
    assert len(set(runs)) == 2
    second_candles = [r for r in log if r["run_id"] == runs[-1] and r["event"] == "order.submit"]
    assert second_candles, "the resumed run did not trade"
    with sqlite3.connect(tmp_path / "data" / "gridbot.db") as db:
        (state,) = db.execute("select value from strategy_state where key = 'strategy'").fetchone()
    assert json.loads(state)["last_candle"] > first_last


def _interrupt_when_trading_more(
    process: subprocess.Popen[str], workdir: Path, fills_before: int
) -> tuple[str, str]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _fills(workdir) < fills_before + 5:
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    return process.communicate(timeout=60)
