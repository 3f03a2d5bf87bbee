"""CI's short ``gridbot validate``: 2 hours of market time, 3 SIGKILLs (one as an order request
arrives and is executed, one as it arrives and is lost, one at a random moment), every
fault type once, a final SIGTERM, and the ground truth checked against the emulator's books.

The harness's part is asserted outright: the whole replay, every fault type injected,
every kill done, all nine checks evaluated, the report written, the exit code following
the verdicts. The verdicts are the bot's part: every check must pass, except for the bot
defects this validation found and reported (:data:`KNOWN_BOT_DEFECTS`), each tolerated
only with its exact signature so that anything else still fails the build. The
``gridbot validate`` command itself tolerates nothing: its report says FAIL while they
exist. When a defect is fixed, its entry and signature must go.
"""

from __future__ import annotations

import json
import re
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bootstrap.cli import main
from bootstrap.validation.schedule import FAULT_KINDS

#: Bot defects this validation found that are not fixed yet (reported; owned by application/,
#: adapters/ and bootstrap/run.py). A failed check is tolerated only when everything it shows
#: is one of these. Fixed since, and no longer tolerated: acks and cancel/modify answers
#: without a log line; the engine dying on a 429 / 418 / 5xx; the listen key renewed inside
#: the stream's message handler during a ban.
KNOWN_BOT_DEFECTS = {
    "startup_dies_on_rate_limit": "a 429 / 418 / 5xx answer to a start-up request (time "
    "sync, futures set-up, listenKey) ends the process before it reconciles: exit 1 (since "
    "cdd75a9 on purpose, as one line, when the exchange stays unavailable)",
    "rounding_refusal": "a restart refuses to trade (exit 3) on a wallet difference just above "
    "the 1e-8 tolerance: the journal's exact figures against the exchange's 8-decimal ones",
    "missed_fills": "a fill executed while the user-data stream was not connected is never "
    "booked (resyncs re-read trades only from ten minutes of exchange time before the newest "
    "journaled fill): whole trades missing from the journal, its position, wallet and fees "
    "off by exactly them, and every later restart refuses to trade (exit 3)",
    # Either refusal can last until the replay ends (the run restarts the bot with a
    # supervisor's back-off): the rest of the schedule is then skipped and no SIGTERM can
    # flatten the account.
}
_RATE_LIMIT = r"(RateLimited|IpBanned|UnknownOutcome|ServerBusy|ExchangeUnavailable): "
_STARTUP_FAILED = re.compile(rf"^gridbot: exchange: {_RATE_LIMIT}.*$")
_REFUSED = re.compile(r"^gridbot: refusing to trade: the exchange and the journal disagree: (.*)")
_WALLET = re.compile(r"^\S+ wallet: exchange (\S+), journal (\S+)$")


def _missing_whole_trades(checks: dict[str, dict[str, Any]]) -> bool:
    fills = checks["fills_identical"]["evidence"]
    return bool(fills["missing"]) and not fills["extra"] and not fills["differ"]


def _rounding_only(line: str) -> bool:
    """A refusal whose only difference is the wallet, by less than a millionth."""
    match = _REFUSED.match(line)
    if match is None:
        return False
    reasons = match.group(1).rsplit(" (pass --accept-exchange-state", 1)[0].split("; ")
    wallet = [_WALLET.match(r) for r in reasons]
    return all(wallet) and all(
        abs(Decimal(m.group(1)) - Decimal(m.group(2))) < Decimal("0.000001") for m in wallet if m
    )


def _critical_known(evidence: dict[str, Any], missing_trades: bool) -> bool:
    """Every critical error is one of the known defects (with its stderr to prove it)."""
    stderr = [line for lines in evidence["stderr"].values() for line in lines]
    for line in stderr:
        if not (
            _STARTUP_FAILED.match(line)
            or _rounding_only(line)
            or (missing_trades and _REFUSED.match(line))
        ):
            return False
    for problem in evidence["problems"]:
        if not re.fullmatch(r"process \d+ exited on its own with code [13]", problem):
            return False
    return bool(evidence["problems"]) and bool(stderr)


def _only_known_defect(check: dict[str, Any], checks: dict[str, dict[str, Any]]) -> bool:
    """True when a failed check shows nothing but known defects."""
    evidence = check["evidence"]
    name = check["name"]
    missing_trades = _missing_whole_trades(checks)
    if name == "critical_errors":
        return _critical_known(evidence, missing_trades)
    if name in ("fills_identical", "position_and_balances", "pnl_matches_exchange"):
        # Only whole missing trades, every journaled fill otherwise identical.
        return missing_trades
    if name == "flat_after_sigterm":
        # Only when the bot refused to start again (a known refusal), so no SIGTERM could
        # flatten it.
        return _refused_to_start(checks)
    return False


def _refused_to_start(checks: dict[str, dict[str, Any]]) -> bool:
    """The bot refused to start (exit 3) and every critical error is a known defect."""
    critical = checks["critical_errors"]
    problems = critical["evidence"]["problems"]
    refused = any(re.fullmatch(r"process \d+ exited on its own with code 3", p) for p in problems)
    return refused and _critical_known(critical["evidence"], _missing_whole_trades(checks))


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
    by_name = {c["name"]: c for c in report["checks"]}
    skipped = any("were skipped" in note for note in figures["notes"])
    # The harness did everything it promised: the whole replay, every fault, every kill;
    # unless the bot refused to start (a known defect) until the replay ended, which leaves
    # the rest of the schedule without a bot to act on.
    assert figures["market_hours_covered"] == 2
    injected = {kind: v["injected"] for kind, v in figures["faults"].items()}
    assert set(injected) == set(FAULT_KINDS)
    if skipped:
        assert _refused_to_start(by_name), printed
    else:
        assert min(injected.values()) >= 1, injected
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
    unexpected = {c["name"]: c["detail"] for c in failed if not _only_known_defect(c, by_name)}
    assert unexpected == {}, printed
    # No order of ours unknown or reused, the cap held, the account ended flat: always.
    passed = {c["name"] for c in report["checks"] if c["passed"]}
    assert {
        "orders_known",
        "client_ids_unique",
        "leverage_within_cap",
        "flat_after_sigterm",
    } <= passed
