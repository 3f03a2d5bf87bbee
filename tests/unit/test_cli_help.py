"""Help texts say what a command does, in the user's words: no project jargon.

The project's milestones (Phase A, M5, ...) mean nothing to a user reading ``--help``.
"""

from __future__ import annotations

import re

import pytest

from adapters.control_client.cli import build_parser as gridctl_parser
from bootstrap.cli import main

_JARGON = re.compile(r"\bPhase\b|\bM\d+\b|\bmilestone", re.IGNORECASE)

_GRIDBOT = [
    [],
    ["backtest"],
    ["run"],
    ["research"],
    ["research", "signals"],
    ["validate"],
    ["evaluate"],
    ["report"],
    ["emulator"],
]


@pytest.mark.parametrize("command", _GRIDBOT, ids=lambda c: " ".join(c) or "gridbot")
def test_gridbot_help_has_no_jargon(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])

    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: gridbot")
    assert _JARGON.search(text) is None, _JARGON.search(text)


def test_validate_is_described_by_what_it_does(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])

    text = " ".join(capsys.readouterr().out.split())
    assert "Phase" not in text
    assert "validate test the bot end to end" in text


def test_gridctl_help_has_no_jargon() -> None:
    text = gridctl_parser().format_help()

    assert _JARGON.search(text) is None, _JARGON.search(text)
