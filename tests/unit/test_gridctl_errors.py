"""gridctl's exit-code mapping, its one-line error messages, and the flatten prompt."""

from __future__ import annotations

import io

import grpc
import pytest

from adapters.control_client.errors import (
    EXIT_CODES_HELP,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_RPC_ERROR,
    EXIT_UNAUTHENTICATED,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    CliError,
    Refused,
    UsageError,
    rpc_error,
    rpc_exit_code,
)
from adapters.control_client.prompt import FLATTEN_QUESTION, confirm


class FakeRpcError(grpc.RpcError, grpc.Call):
    """What a failed unary call raises: an RpcError that is also a Call."""

    def __init__(self, code: grpc.StatusCode, details: str | None = "") -> None:
        self._code = code
        self._details = details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str | None:
        return self._details

    def initial_metadata(self) -> None:
        return None

    def trailing_metadata(self) -> None:
        return None

    def is_active(self) -> bool:
        return False

    def time_remaining(self) -> None:
        return None

    def cancel(self) -> bool:
        return False

    def add_callback(self, callback: object) -> bool:
        return False


EXPECTED = {
    grpc.StatusCode.UNAUTHENTICATED: EXIT_UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED: EXIT_UNAUTHENTICATED,
    grpc.StatusCode.UNAVAILABLE: EXIT_UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED: EXIT_UNAVAILABLE,
    grpc.StatusCode.INVALID_ARGUMENT: EXIT_USAGE,
    grpc.StatusCode.FAILED_PRECONDITION: EXIT_REFUSED,
}


@pytest.mark.parametrize("code", list(grpc.StatusCode))
def test_every_status_code_has_a_documented_exit_code(code: grpc.StatusCode) -> None:
    exit_code = rpc_exit_code(code)
    assert exit_code == EXPECTED.get(code, EXIT_RPC_ERROR)
    assert f"\n  {exit_code}  " in "\n" + EXIT_CODES_HELP


def test_exit_code_constants_are_distinct_and_as_documented() -> None:
    assert (EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_UNAUTHENTICATED) == (0, 1, 2, 3)
    assert (EXIT_UNAVAILABLE, EXIT_RPC_ERROR) == (4, 5)
    assert rpc_exit_code(None) == EXIT_RPC_ERROR


def test_cli_errors_carry_their_exit_code() -> None:
    assert UsageError("x").exit_code == EXIT_USAGE
    assert Refused("x").exit_code == EXIT_REFUSED
    assert CliError("x", 7).message == "x"


def test_rpc_errors_become_one_line_messages() -> None:
    unavailable = rpc_error(
        FakeRpcError(
            grpc.StatusCode.UNAVAILABLE,
            "failed to connect to all addresses;\n  last error: Connection refused",
        ),
        "127.0.0.1:1",
    )
    assert unavailable.exit_code == EXIT_UNAVAILABLE
    assert unavailable.message == (
        "the bot at 127.0.0.1:1 is unavailable (UNAVAILABLE: failed to connect to all "
        "addresses; last error: Connection refused)"
    )
    wrong = rpc_error(FakeRpcError(grpc.StatusCode.UNAUTHENTICATED, "invalid bearer token"), "h:1")
    assert wrong.exit_code == EXIT_UNAUTHENTICATED
    assert wrong.message == "the bot at h:1 refused the token (invalid bearer token)"
    denied = rpc_error(FakeRpcError(grpc.StatusCode.PERMISSION_DENIED, "no"), "h:1")
    assert denied.message == "the bot at h:1 denied the call (no)"
    late = rpc_error(FakeRpcError(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded"), "h:1")
    assert late.exit_code == EXIT_UNAVAILABLE
    assert "did not answer in time" in late.message
    other = rpc_error(FakeRpcError(grpc.StatusCode.INTERNAL, None), "h:1")
    assert (other.exit_code, other.message) == (EXIT_RPC_ERROR, "INTERNAL: no details")
    long = rpc_error(FakeRpcError(grpc.StatusCode.UNKNOWN, "x" * 1000), "h:1")
    assert len(long.message) < 330 and long.message.endswith("...")
    plain = rpc_error(grpc.RpcError(), "h:1")  # not a Call: no code to read
    assert (plain.exit_code, plain.message) == (EXIT_RPC_ERROR, "UNKNOWN: no details")


class Terminal(io.StringIO):
    """A stdin that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("y\n", True),
        ("YES\n", True),
        (" yes \n", True),
        ("\n", False),
        ("n\n", False),
        ("yep\n", False),
    ],
)
def test_flatten_prompt_answers(answer: str, expected: bool) -> None:
    err = io.StringIO()
    assert confirm(FLATTEN_QUESTION, Terminal(answer), err) is expected
    assert err.getvalue() == FLATTEN_QUESTION
    assert FLATTEN_QUESTION == "Flatten: cancel every open order and close the position? [y/N] "


def test_flatten_prompt_treats_eof_as_no_and_ends_the_line() -> None:
    err = io.StringIO()
    assert confirm(FLATTEN_QUESTION, Terminal(""), err) is False
    assert err.getvalue() == FLATTEN_QUESTION + "\n"


def test_flatten_prompt_refuses_to_wait_without_a_terminal() -> None:
    err = io.StringIO()
    with pytest.raises(UsageError, match="stdin is not a terminal: pass --yes"):
        confirm(FLATTEN_QUESTION, io.StringIO("y\n"), err)
    assert err.getvalue() == ""  # not even asked
