"""``gridctl``: steer and observe a running ``gridbot run`` over its gRPC control plane.

Usage: ``gridctl [global options] <command> [options]``; global options may also follow
the command (``gridctl status --json``).

Commands:
    start               begin trading (from STANDBY, or FLATTENED: the grid is built anew)
    stop                graceful stop; the bot exits (``--flatten`` / ``--no-flatten``
                        override the configured ``shutdown.flatten_on_exit``)
    pause, resume       stop / resume taking new decisions (open orders stay);
                        resume --ack also lifts the drawdown brake's HALTED
    flatten             cancel every open order and close the position (asks first unless
                        ``--yes``; refuses without ``--yes`` when stdin is not a terminal)
    status              state, position, PnL, risk, conviction, open orders, balances
    watch               follow telemetry, reconnecting and resuming after the last seq
                        (see :mod:`adapters.control_client.watch`); ``--once`` prints
                        what is buffered and exits, ``--limit N`` stops after N events
    config              the bot's effective configuration (secrets are never part of it)
    health              grpc.health.v1 check, no token needed (the Docker HEALTHCHECK)

Each global option falls back to an environment variable (the flag wins): ``--address``
``GRIDBOT_GRPC_ADDRESS`` (default 127.0.0.1:50051), ``--token`` ``GRIDBOT_API_TOKEN``,
``--token-file`` ``GRIDBOT_API_TOKEN_FILE``, ``--tls`` ``GRIDBOT_GRPC_TLS``,
``--ca-file`` ``GRIDBOT_GRPC_CA_FILE``, ``--cert-file`` / ``--key-file``
``GRIDBOT_GRPC_CERT_FILE`` / ``GRIDBOT_GRPC_KEY_FILE``, ``--server-name``
``GRIDBOT_GRPC_SERVER_NAME``, ``--timeout`` ``GRIDBOT_GRPC_TIMEOUT`` (default 10 s),
``--json`` ``GRIDCTL_JSON``. The token is never printed. Without an address or a token
from flags or environment, ``gridctl`` uses what the bot itself would (through the entry
point ``bootstrap.gridctl``): ``control.address`` and the token file the bot writes on its
first start (``control.token_file``, else ``<data_dir>/api-token``, ``GRIDBOT_DATA_DIR``
applied), from the default configuration or the one ``--config`` names.

Exit codes:
    0   ok (or the bot already was in the requested state)
    1   the bot answered but refused, is not flat after a flatten, or is unhealthy; the
        flatten prompt was declined
    2   usage error: bad flags, missing token, flatten without ``--yes`` when stdin is not
        a terminal, a request the bot calls invalid (INVALID_ARGUMENT)
    3   UNAUTHENTICATED / PERMISSION_DENIED: missing or wrong token
    4   UNAVAILABLE / DEADLINE_EXCEEDED: cannot reach the bot, the bot is not ready
        (still starting, or stopping), or no answer in time
    5   any other gRPC error
    130 interrupted by Ctrl+C (``watch`` exits 0: Ctrl+C is how it normally ends)

Errors are one line on stderr, prefixed ``gridctl:``; never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from typing import NoReturn, TextIO

import grpc

from adapters.control_client.channel import open_channel
from adapters.control_client.commands import COMMANDS, Context
from adapters.control_client.errors import (
    EXIT_CODES_HELP,
    EXIT_INTERRUPTED,
    EXIT_OK,
    CliError,
    UsageError,
    rpc_error,
)
from adapters.control_client.settings import (
    ADDRESS_ENV,
    CA_FILE_ENV,
    CERT_FILE_ENV,
    DEFAULT_ADDRESS,
    JSON_ENV,
    KEY_FILE_ENV,
    SERVER_NAME_ENV,
    TIMEOUT_ENV,
    TLS_ENV,
    TOKEN_ENV,
    TOKEN_FILE_ENV,
    LocateBot,
    resolve_settings,
)

#: Telemetry kinds a client may filter on, as listed in ``StreamTelemetryRequest``.
KINDS = ("candle", "decision", "order", "fill", "pnl", "risk", "state", "system")

EPILOG = f"""\
environment (a flag wins over its variable):
  {ADDRESS_ENV} (default {DEFAULT_ADDRESS}), {TOKEN_ENV}, {TOKEN_FILE_ENV},
  {TLS_ENV}, {CA_FILE_ENV}, {CERT_FILE_ENV}, {KEY_FILE_ENV},
  {SERVER_NAME_ENV}, {TIMEOUT_ENV}, {JSON_ENV}

{EXIT_CODES_HELP}
"""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors become one ``gridctl:`` line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        """Raise instead of printing usage and exiting, so :func:`run` reports it."""
        raise UsageError(f"{message} (see gridctl --help)")


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def _positive(text: str) -> int:
    value = _non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def parse_kinds(text: str) -> tuple[str, ...]:
    """``candle,order`` -> ``("candle", "order")``, each one a known telemetry kind."""
    kinds = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown kind(s) {', '.join(unknown)}; known: {', '.join(KINDS)}"
        )
    return kinds


def _add_globals(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """The connection and output options; ``suppress`` for the copies after the command.

    The copies on each command default to ``SUPPRESS`` so an option given before the
    command is not reset by the command's parser.
    """

    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    group = parser.add_argument_group("connection and output")
    group.add_argument(
        "--address",
        metavar="HOST:PORT",
        default=default(None),
        help=f"the bot's control plane (${ADDRESS_ENV}, default {DEFAULT_ADDRESS})",
    )
    group.add_argument(
        "--token",
        metavar="TOKEN",
        default=default(None),
        help=f"bearer token (${TOKEN_ENV}); visible to other local users in the process "
        "list, so prefer the variable or --token-file",
    )
    group.add_argument(
        "--token-file",
        metavar="PATH",
        default=default(None),
        help=f"file holding the token (${TOKEN_FILE_ENV}); default: the file the bot writes, "
        "<data_dir>/api-token (./data/api-token unless configured)",
    )
    group.add_argument(
        "--config",
        metavar="FILE",
        default=default(None),
        help="the bot's JSON config: its control.address, control.token_file and "
        "storage.data_dir say where the bot listens and keeps its token (default: the "
        "embedded default config, as for gridbot run)",
    )
    group.add_argument(
        "--tls",
        action="store_true",
        default=default(False),
        help=f"use TLS with the default root certificates (${TLS_ENV}=1)",
    )
    group.add_argument(
        "--ca-file",
        metavar="PEM",
        default=default(None),
        help=f"CA bundle to verify the bot's certificate; implies --tls (${CA_FILE_ENV})",
    )
    group.add_argument(
        "--cert-file",
        metavar="PEM",
        default=default(None),
        help=f"client certificate chain for mutual TLS; implies --tls (${CERT_FILE_ENV})",
    )
    group.add_argument(
        "--key-file",
        metavar="PEM",
        default=default(None),
        help=f"client private key for mutual TLS (${KEY_FILE_ENV})",
    )
    group.add_argument(
        "--server-name",
        metavar="NAME",
        default=default(None),
        help=f"expect this name in the bot's certificate; implies --tls (${SERVER_NAME_ENV})",
    )
    group.add_argument(
        "--timeout",
        metavar="SECONDS",
        default=default(None),
        help=f"deadline of each call (${TIMEOUT_ENV}, default 10)",
    )
    group.add_argument(
        "--json",
        action="store_true",
        default=default(False),
        help=f"machine output: one JSON object (one per line for watch) (${JSON_ENV}=1)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``gridctl`` command line."""
    parser = _Parser(
        prog="gridctl",
        description="Steer and observe a running gridbot over its gRPC control plane.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_globals(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", metavar="<command>", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=EXIT_CODES_HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _add_globals(sub, suppress=True)
        return sub

    command("start", "begin trading (from STANDBY, or FLATTENED: the grid is built anew)")
    stop = command("stop", "graceful stop; the bot process exits once done")
    choice = stop.add_mutually_exclusive_group()
    choice.add_argument(
        "--flatten",
        dest="flatten",
        action="store_true",
        default=None,
        help="cancel orders and close the position before exiting",
    )
    choice.add_argument(
        "--no-flatten",
        dest="flatten",
        action="store_false",
        help="exit keeping orders and position (default: the bot's shutdown.flatten_on_exit)",
    )
    command("pause", "stop taking new decisions; open orders stay, fills are recorded")
    resume = command("resume", "lift a pause (--ack: also lift the drawdown brake's HALTED)")
    resume.add_argument(
        "--ack",
        action="store_true",
        help="acknowledge the drawdown brake's halt: lift HALTED, resetting its peak to "
        "the equity now (logged); without it a halted bot stays halted",
    )
    flatten = command("flatten", "cancel every open order and close the position")
    flatten.add_argument(
        "-y", "--yes", action="store_true", help="do not ask (needed when stdin is no terminal)"
    )
    command("status", "state, position, PnL, risk, conviction, open orders, balances")
    watch = command("watch", "follow telemetry, reconnecting and resuming without loss")
    watch.add_argument(
        "--after-seq",
        type=_non_negative,
        default=0,
        metavar="N",
        help="start after this seq of the current run (default 0: oldest buffered event)",
    )
    watch.add_argument(
        "--kinds",
        type=parse_kinds,
        default=(),
        metavar="K1,K2",
        help=f"only these kinds ({','.join(KINDS)}); gap notices always show",
    )
    watch.add_argument(
        "--limit", type=_positive, default=None, metavar="N", help="exit after N events"
    )
    watch.add_argument(
        "--once",
        action="store_true",
        help="print the events buffered now (after --after-seq) and exit; no reconnect",
    )
    command("config", "the bot's effective configuration")
    health = command("health", "grpc.health.v1 check, no token needed; exit 0 when SERVING")
    health.add_argument(
        "--service", default="", help="service name to check (default: the whole server)"
    )
    return parser


def _secrets(argv: Sequence[str], environ: Mapping[str, str]) -> list[str]:
    """Token values that may show up in an error, to be masked before printing."""
    found = [environ.get(TOKEN_ENV, "").strip()]
    for i, arg in enumerate(argv):
        if arg == "--token" and i + 1 < len(argv):
            found.append(argv[i + 1].strip())
        elif arg.startswith("--token="):
            found.append(arg.partition("=")[2].strip())
    return [secret for secret in found if secret]


def _fail(stderr: TextIO, error: CliError, secrets: Sequence[str]) -> int:
    message = error.message
    for secret in secrets:
        message = message.replace(secret, "***")
    stderr.write(f"gridctl: {message}\n")
    stderr.flush()
    return error.exit_code


def run(
    argv: Sequence[str],
    environ: Mapping[str, str],
    stdin: TextIO,
    stdout: TextIO,
    stderr: TextIO,
    locate: LocateBot | None = None,
) -> int:
    """Parse ``argv``, run the command, and map every outcome to an exit code.

    ``locate`` finds where the bot listens and keeps its token from its configuration
    (bootstrap supplies it); without it only flags and environment count.
    """
    secrets = _secrets(argv, environ)
    address = DEFAULT_ADDRESS
    command = ""
    try:
        args = build_parser().parse_args(argv)
        command = args.command
        settings = resolve_settings(args, environ, need_token=command != "health", locate=locate)
        if settings.token:
            secrets.append(settings.token)
        address = settings.address
        channel = open_channel(settings)
        try:
            return COMMANDS[command](Context(settings, channel, stdin, stdout, stderr), args)
        finally:
            channel.close()
    except CliError as error:
        return _fail(stderr, error, secrets)
    except grpc.RpcError as error:
        return _fail(stderr, rpc_error(error, address), secrets)
    except KeyboardInterrupt:
        return EXIT_OK if command == "watch" else EXIT_INTERRUPTED
    except SystemExit as exit_:  # --help
        return exit_.code if isinstance(exit_.code, int) else EXIT_OK
    except BrokenPipeError:
        return EXIT_OK  # the reader went away (``gridctl watch | head``): nothing to say


def main(argv: Sequence[str] | None = None, locate: LocateBot | None = None) -> int:
    """Entry point; the ``gridctl`` console script is ``bootstrap.gridctl``.

    That one passes ``locate``: where the bot's configuration puts the bot and its token.
    """
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        code = run(arguments, os.environ, sys.stdin, sys.stdout, sys.stderr, locate)
    except BrokenPipeError:
        code = EXIT_OK
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        # Python flushes stdout again at exit; point it at /dev/null so that flush is quiet.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return code


if __name__ == "__main__":
    sys.exit(main())
