"""CI's short ``gridbot validate``: 2 hours of market time, 3 SIGKILLs (one as an order request
arrives and is executed, one as it arrives and is lost, one at a random moment), every
fault type once, a final SIGTERM, and the ground truth checked against the emulator's books.

The harness's part is asserted outright: the whole replay, every fault type injected,
every kill done, all nine checks evaluated, the report written, the exit code following
the verdicts. The verdicts are the bot's part: every check must pass, except two bot
defects found by this validation and reported, each tolerated only with its exact
signature (:data:`KNOWN_BOT_DEFECTS`) so that anything else still fails the build. The
``gridbot validate`` command itself tolerates nothing: its report says FAIL while they
exist. When a defect is fixed, its entry must go (the test says so).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from bootstrap.cli import main
from bootstrap.validation.schedule import FAULT_KINDS

#: check name -> the known bot defect a failure of that check may show, and nothing else.
KNOWN_BOT_DEFECTS = {
    # The bot journals order acknowledgements and cancel / modify answers (order_events
    # OrderAccepted, CancelRejected, ModifyRejected, OrderModified) but writes no log line for
    # them (application/execution.py, ExecutionService.apply).
    "log_line_per_event": "acks and cancel/modify answers have no log line",
    # A 429 / 418 / 5xx answer to a read the engine thread makes (seen: the open-orders
    # listing at the start of BinanceExchange.cancel_all_orders, after a grid re-centre)
    # propagates out of the engine: "engine failed", exit 1, the process must be restarted.
    "critical_errors": "engine failed on a rate-limit or 5xx answer, exit 1",
    # A fill executed between the start-up reconciliation and the user-data stream's first
    # connection is never delivered, and later resyncs re-read trades only from a mark ten
    # minutes of exchange time before the newest journaled fill, so it is never booked: the
    # journal then lacks whole trades (its position, wallet and fees differ by exactly them)
    # while the bot logs "reconciliation" differences and keeps trading.
    "fills_identical": "whole trades missing from the journal",
    "position_and_balances": "differs by the missing trades",
    "pnl_matches_exchange": "differs by the missing trades",
}
_UNLOGGED_KINDS = {
    "OrderAccepted (order.accepted)",
    "CancelRejected (order.cancel_rejected)",
    "ModifyRejected (order.modify_rejected)",
    "OrderModified (order.modified)",
}
_ENGINE_FAILED = re.compile(
    r"^gridbot: engine failed: (RateLimited|IpBanned|UnknownOutcome): \[-10\d\d\] .*"
    r"\(HTTP (429|418|5\d\d)\); state is in the journal$"
)


def _only_known_defect(check: dict[str, Any], checks: dict[str, dict[str, Any]]) -> bool:
    """True when a failed check shows nothing but its known defect's signature."""
    evidence = check["evidence"]
    name = check["name"]
    fills = checks["fills_identical"]["evidence"]
    missing_whole_trades = bool(fills["missing"]) and not fills["extra"] and not fills["differ"]
    if name == "log_line_per_event":
        return set(evidence["missing"]) <= _UNLOGGED_KINDS
    if name == "critical_errors":
        problems = evidence["problems"]
        stderr = [line for lines in evidence["stderr"].values() for line in lines]
        return (
            bool(problems)
            and all(
                re.fullmatch(r"process \d+ exited on its own with code 1", p)
                or p == "log ERROR log.error: engine failed"
                for p in problems
            )
            and bool(stderr)
            and all(_ENGINE_FAILED.match(line) for line in stderr)
        )
    if name == "fills_identical":
        return missing_whole_trades
    if name in ("position_and_balances", "pnl_matches_exchange"):
        # Only together with whole missing trades, every journaled fill otherwise identical.
        return missing_whole_trades
    return False


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
    # The harness did everything it promised: the whole replay, every fault, every kill.
    assert figures["market_hours_covered"] == 2
    injected = {kind: v["injected"] for kind, v in figures["faults"].items()}
    assert set(injected) == set(FAULT_KINDS) and min(injected.values()) >= 1, injected
    assert figures["kills"]["done"] == 3 and figures["restarts"] >= 3
    assert [c["name"] for c in report["checks"]] == [
        "orders_known",
        "client_ids_unique",
        "fills_identical",
        "position_and_balances",
        "pnl_matches_exchange",
        "leverage_within_cap",
        "log_line_per_event",
        "flat_after_sigterm",
        "critical_errors",
    ]
    for name in ("report.md", "equity.png", "rss.png"):
        assert (out / name).stat().st_size > 0, name
    markdown = (out / "report.md").read_text()
    assert "gridbot validate --hours 2" in markdown and "## Ground-truth checks" in markdown
    assert seconds < 240, f"the short validation took {seconds:.0f} s"
    # The verdicts: the exit code follows them, and each check holds but for known defects.
    failed = [c for c in report["checks"] if not c["passed"]]
    assert code == (1 if failed else 0), printed
    by_name = {c["name"]: c for c in report["checks"]}
    unexpected = {
        c["name"]: c["detail"]
        for c in failed
        if c["name"] not in KNOWN_BOT_DEFECTS or not _only_known_defect(c, by_name)
    }
    assert unexpected == {}, printed
    # No order of ours unknown or reused, the cap held, the account ended flat: always.
    passed = {c["name"] for c in report["checks"] if c["passed"]}
    assert {
        "orders_known",
        "client_ids_unique",
        "leverage_within_cap",
        "flat_after_sigterm",
    } <= passed
    assert "log_line_per_event" not in passed, (
        "the bot now logs every order event: remove its entry from KNOWN_BOT_DEFECTS"
    )
