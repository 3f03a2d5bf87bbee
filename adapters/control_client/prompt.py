"""The confirmation a destructive command asks for before anything is sent.

Flatten cancels every order and closes the position at market: one mistyped command
should not do that. When nobody can answer (stdin is a pipe, a cron job, a container
without a terminal) waiting for an answer would hang the caller forever, so the prompt
refuses instead and tells the caller to say ``--yes``.
"""

from __future__ import annotations

from typing import TextIO

from adapters.control_client.errors import UsageError

FLATTEN_QUESTION = "Flatten: cancel every open order and close the position? [y/N] "
_YES = frozenset({"y", "yes"})


def confirm(question: str, stdin: TextIO, stderr: TextIO) -> bool:
    """Ask on the terminal; True only for an explicit yes (EOF and Enter mean no).

    The question goes to stderr so stdout stays clean for ``--json`` consumers.

    Raises:
        UsageError: stdin is not a terminal.
    """
    if not stdin.isatty():
        raise UsageError(
            "flatten needs confirmation but stdin is not a terminal: pass --yes to flatten"
        )
    stderr.write(question)
    stderr.flush()
    answer = stdin.readline()
    if not answer.endswith("\n"):
        stderr.write("\n")  # EOF (Ctrl+D): end the prompt's line
    return answer.strip().lower() in _YES
