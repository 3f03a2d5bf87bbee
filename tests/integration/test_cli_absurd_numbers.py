"""Absurd numbers in a config end in one line and exit 2, in ``backtest`` and in ``run``.

Issue 11: ``strategy.quote_per_level`` 1e40 / 1e104 / 1e400 crashed with a
DivisionImpossible traceback from the instrument's rounding, and a balance of 1e999999
passed validation and crashed at the end of the run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent

CASES = [
    ('{"strategy": {"quote_per_level": 1e40}}', "$.strategy.quote_per_level"),
    ('{"strategy": {"quote_per_level": 1e104}}', "$.strategy.quote_per_level"),
    ('{"strategy": {"quote_per_level": 1e400}}', "$.strategy.quote_per_level"),
    ('{"account": {"initial_balances": {"USDT": 1e999999}}}', "$.account.initial_balances.USDT"),
]


@pytest.mark.parametrize("command", ["backtest", "run"])
@pytest.mark.parametrize(("document", "json_path"), CASES)
def test_absurd_number_is_one_line_and_exit_2(
    tmp_path: Path, command: str, document: str, json_path: str
) -> None:
    config = tmp_path / "config.json"
    config.write_text(document, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bootstrap.cli", command, "--config", str(config)],
        cwd=ROOT,
        env=dict(os.environ, GRIDBOT_DATA_DIR=str(tmp_path / "data")),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"gridbot: config error: {config}: {json_path}: must be <= ")
    assert result.stdout == ""
