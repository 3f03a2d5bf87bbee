"""CI's short ``gridbot validate``: 2 hours of market time, 3 SIGKILLs (one as an order request
arrives and is executed, one as it arrives and is lost, one at a random moment), every
fault type once, a final SIGTERM, and the ground truth checked against the emulator's books.

The harness's part: the whole replay, every fault type injected, every kill done as planned,
all nine checks evaluated, the report written, the exit code following the verdicts. The
bot's part: every check passes (the defects earlier runs found are listed, with their
evidence, in ``docs/validation/findings.md``; all were fixed, so none is tolerated here).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bootstrap.cli import main
from bootstrap.validation.schedule import FAULT_KINDS

CHECKS = [
    "orders_known",
    "client_ids_unique",
    "order_events_once",
    "fills_identical",
    "position_and_balances",
    "pnl_matches_exchange",
    "leverage_within_cap",
    "log_line_per_event",
    "flat_after_sigterm",
    "critical_errors",
]


@pytest.mark.slow
def test_short_validation_run(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    started = time.monotonic()
    code = main(
        [
            "validate",
            "--hours",
            "2",
            "--kills",
            "3",
            "--seed",
            "7",
            "--speed",
            "1",
            "--data",
            str(shared_data / "klines/futures-um/BTCUSDT/BTCUSDT-1m-2025-01.csv.gz"),
            "--out",
            str(out),
        ]
    )
    seconds = time.monotonic() - started
    printed = capsys.readouterr().out
    report = json.loads((out / "report.json").read_text())
    figures = report["figures"]
    # The harness did everything it promised.
    assert figures["market_hours_covered"] == 2
    injected = {kind: v["injected"] for kind, v in figures["faults"].items()}
    assert set(injected) == set(FAULT_KINDS) and min(injected.values()) >= 1, injected
    assert figures["kills"]["done"] == 3 and figures["restarts"] >= 3
    assert [c["name"] for c in report["checks"]] == CHECKS
    for name in ("report.md", "equity.png", "rss.png"):
        assert (out / name).stat().st_size > 0, name
    markdown = (out / "report.md").read_text()
    assert "gridbot validate --hours 2" in markdown and "## Ground-truth checks" in markdown
    assert seconds < 240, f"the short validation took {seconds:.0f} s"
    # The verdicts: the exit code follows them, and every check holds.
    failed = {c["name"]: c["detail"] for c in report["checks"] if not c["passed"]}
    assert code == (1 if failed else 0), printed
    assert failed == {}, printed
    # Each fault was survived: the bot noticed it (or consumed it) and carried on.
    survived = {kind: v["survived"] for kind, v in figures["faults"].items()}
    assert survived == injected, printed
