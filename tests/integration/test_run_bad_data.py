"""``gridbot run`` on a kline file that goes bad: one line, logged, flattened, exit 1.

The replay reads the file while the bot trades; a malformed row in the middle used to kill
the replay thread with a traceback on stderr and leave the bot waiting (or, after a signal,
exiting 0). Now the engine is told, flattens as on a stop, logs the error in ``gridbot.log``
and exits 1 with one line naming the file, the line and the field.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.test_cli_backtest import HEADER, kline_rows

ROOT = Path(__file__).resolve().parent.parent.parent
EXIT_DATA_ERROR = 1


def _run(tmp_path: Path, data: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, GRIDBOT_DATA_DIR=str(tmp_path / "data"))
    return subprocess.run(
        [sys.executable, "-m", "bootstrap.cli", "run", "--data", str(data), "--speed", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _csv(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "BTCUSDT-1m-2025-01.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def _wrong_column_count(tmp_path: Path) -> tuple[Path, tuple[str, ...]]:
    rows = kline_rows(300)
    rows[199] = rows[199].rsplit(",", 1)[0]
    return _csv(tmp_path, rows), ("line 201", "expected 12 columns, found 11")


def _text_in_a_number(tmp_path: Path) -> tuple[Path, tuple[str, ...]]:
    rows = kline_rows(300)
    fields = rows[200].split(",")
    fields[4] = "12x.5"
    rows[200] = ",".join(fields)
    return _csv(tmp_path, rows), ("line 202", "field close", "'12x.5'")


def _backwards(tmp_path: Path) -> tuple[Path, tuple[str, ...]]:
    rows = kline_rows(300)
    rows[200], rows[201] = rows[201], rows[200]
    return _csv(tmp_path, rows), ("line 203", "field open_time", "not monotonic")


def _truncated_gzip(tmp_path: Path) -> tuple[Path, tuple[str, ...]]:
    path = tmp_path / "BTCUSDT-1m-2025-01.csv.gz"
    whole = gzip.compress(("\n".join([HEADER, *kline_rows(3000)]) + "\n").encode())
    path.write_bytes(whole[: len(whole) // 2])
    return path, ("truncated",)


@pytest.mark.parametrize(
    "make", [_wrong_column_count, _text_in_a_number, _backwards, _truncated_gzip]
)
def test_bad_row_mid_replay_flattens_logs_and_exits_1(tmp_path: Path, make) -> None:  # type: ignore[no-untyped-def]
    data, fragments = make(tmp_path)

    result = _run(tmp_path, data)

    assert result.returncode == EXIT_DATA_ERROR, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("gridbot: ")]
    assert len(errors) == 1, result.stderr
    message = errors[0]
    assert message.startswith("gridbot: data error: ")
    for fragment in (str(data), *fragments):
        assert fragment in message, (fragment, message)
    # Traded up to the bad row, then stopped cleanly: orders cancelled, flat confirmed.
    assert "stopped after" in result.stdout
    assert "flat confirmed by the exchange" in result.stdout
    records = [
        json.loads(line) for line in (tmp_path / "data" / "gridbot.log").read_text().splitlines()
    ]
    logged = [r for r in records if r["event"] == "log.error" and "data error" in r["message"]]
    assert logged and str(data) in logged[0]["message"]


def test_bad_first_row_is_one_line_logged_and_exit_1(tmp_path: Path) -> None:
    rows = kline_rows(10)
    rows[0] = rows[0].replace(",12.345,", ",lots,")
    data = _csv(tmp_path, rows)

    result = _run(tmp_path, data)

    assert result.returncode == EXIT_DATA_ERROR, result.stderr
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "Traceback" not in result.stderr
    assert "field volume" in result.stderr and "line 2" in result.stderr
    assert "data error" in (tmp_path / "data" / "gridbot.log").read_text()


def test_empty_file_is_a_data_error(tmp_path: Path) -> None:
    data = tmp_path / "BTCUSDT-1m-2025-01.csv"
    data.write_text("")

    result = _run(tmp_path, data)

    assert result.returncode == EXIT_DATA_ERROR, (result.stdout, result.stderr)
    assert result.stderr.splitlines()[-1] == f"gridbot: data error: {data}: no candles in the data"
    assert "Traceback" not in result.stderr
    assert "no candles in the data" in (tmp_path / "data" / "gridbot.log").read_text()
