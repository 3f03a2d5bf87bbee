"""Exit codes of ``gridctl`` and how a failed call maps onto them.

Scripts and the Docker HEALTHCHECK branch on the exit code alone, so each code means one
kind of outcome: the bot said no, the caller got the command line wrong, the caller is not
allowed in, the bot cannot be reached, or something else went wrong on the wire.
"""

from __future__ import annotations

import grpc

#: The command did what was asked (or the bot already was in the requested state).
EXIT_OK = 0
#: The bot answered but refused, is not flat after a flatten, or is not healthy; also
#: when the operator declines the flatten prompt.
EXIT_REFUSED = 1
#: Bad flags, a missing token, or flatten without ``--yes`` when nobody can answer.
EXIT_USAGE = 2
#: The bot refused the credentials (UNAUTHENTICATED / PERMISSION_DENIED).
EXIT_UNAUTHENTICATED = 3
#: The bot cannot be reached or did not answer in time (UNAVAILABLE / DEADLINE_EXCEEDED).
EXIT_UNAVAILABLE = 4
#: Any other gRPC error.
EXIT_RPC_ERROR = 5
#: Interrupted by Ctrl+C (except ``watch``, for which Ctrl+C is the normal way out).
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = """\
exit codes:
  0  ok (or the bot already was in the requested state)
  1  the bot answered but refused, is not flat after a flatten, or is unhealthy;
     the flatten prompt was declined
  2  usage error: bad flags, missing token, flatten without --yes when stdin is not
     a terminal, a request the bot calls invalid (INVALID_ARGUMENT)
  3  UNAUTHENTICATED / PERMISSION_DENIED: missing or wrong token
  4  UNAVAILABLE / DEADLINE_EXCEEDED: cannot reach the bot, the bot is not ready
     (still starting, or stopping), or it did not answer in time
  5  any other gRPC error
  130 interrupted by Ctrl+C (watch exits 0: Ctrl+C is how it normally ends)"""

_BY_CODE: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.UNAUTHENTICATED: EXIT_UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED: EXIT_UNAUTHENTICATED,
    grpc.StatusCode.UNAVAILABLE: EXIT_UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED: EXIT_UNAVAILABLE,
    grpc.StatusCode.INVALID_ARGUMENT: EXIT_USAGE,
    grpc.StatusCode.FAILED_PRECONDITION: EXIT_REFUSED,
}


class CliError(Exception):
    """Ends the command with a one-line message on stderr and an exit code.

    Args:
        message: What went wrong, for the operator (no ``gridctl:`` prefix).
        exit_code: One of the ``EXIT_*`` constants.
    """

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class UsageError(CliError):
    """The command line (or its environment) cannot work; nothing was sent."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_USAGE)


class Refused(CliError):
    """The bot answered, but not with what was asked for."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_REFUSED)


def rpc_exit_code(code: grpc.StatusCode | None) -> int:
    """The exit code for a failed call's status code."""
    if code is None:
        return EXIT_RPC_ERROR
    return _BY_CODE.get(code, EXIT_RPC_ERROR)


def rpc_error(error: grpc.RpcError, address: str) -> CliError:
    """A one-line, operator-facing error for a failed call.

    gRPC's details for connection failures span several lines of resolver and socket
    diagnostics; only the first line is kept so the message stays one line.
    """
    code = error.code() if isinstance(error, grpc.Call) else None
    details = error.details() if isinstance(error, grpc.Call) else None
    detail = " ".join((details or "").split()) or "no details"
    if len(detail) > 300:
        detail = detail[:297] + "..."
    name = code.name if code is not None else "UNKNOWN"
    if code is grpc.StatusCode.UNAUTHENTICATED:
        text = f"the bot at {address} refused the token ({detail})"
    elif code is grpc.StatusCode.PERMISSION_DENIED:
        text = f"the bot at {address} denied the call ({detail})"
    elif code is grpc.StatusCode.UNAVAILABLE:
        # Either no connection (refused, TLS handshake, DNS) or the bot said it is not
        # ready (starting, stopping); the detail tells which.
        text = f"the bot at {address} is unavailable (UNAVAILABLE: {detail})"
    elif code is grpc.StatusCode.DEADLINE_EXCEEDED:
        text = f"the bot at {address} did not answer in time (DEADLINE_EXCEEDED)"
    else:
        text = f"{name}: {detail}"
    return CliError(text, rpc_exit_code(code))
