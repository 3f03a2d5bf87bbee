"""Where the bot is and how to prove who we are: flags, then the environment, then the bot's.

The bot and ``gridctl`` read the same variables (``GRIDBOT_GRPC_ADDRESS``,
``GRIDBOT_API_TOKEN``), so one environment configures both sides. A flag given on the
command line always wins over the environment, because it is the more deliberate choice.
Last comes what the bot itself would use (its configuration, the default one unless
``--config`` names another): its ``control.address`` and the token file it writes on its
first start, so ``gridctl status`` next to a freshly started bot needs no flag at all.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from adapters.control_client.errors import UsageError

DEFAULT_ADDRESS = "127.0.0.1:50051"
DEFAULT_TIMEOUT = 10.0

ADDRESS_ENV = "GRIDBOT_GRPC_ADDRESS"
TOKEN_ENV = "GRIDBOT_API_TOKEN"
TOKEN_FILE_ENV = "GRIDBOT_API_TOKEN_FILE"
TLS_ENV = "GRIDBOT_GRPC_TLS"
CA_FILE_ENV = "GRIDBOT_GRPC_CA_FILE"
CERT_FILE_ENV = "GRIDBOT_GRPC_CERT_FILE"
KEY_FILE_ENV = "GRIDBOT_GRPC_KEY_FILE"
SERVER_NAME_ENV = "GRIDBOT_GRPC_SERVER_NAME"
TIMEOUT_ENV = "GRIDBOT_GRPC_TIMEOUT"
JSON_ENV = "GRIDCTL_JSON"

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


@dataclass(frozen=True)
class BotLocation:
    """Where a bot's own configuration says it listens and keeps its token.

    Attributes:
        address: Its control-plane address (``control.address``, environment applied).
        token_file: The file it reads its token from, or writes one to on first start.
    """

    address: str
    token_file: Path


#: Finds the bot's location from the ``--config`` path (None: the default configuration).
LocateBot = Callable[[str | None], BotLocation]


@dataclass(frozen=True)
class TlsSettings:
    """TLS for the channel: system roots unless ``ca_file``; a client pair for mutual TLS."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    server_name: str | None = None


@dataclass(frozen=True)
class ClientSettings:
    """Everything needed to talk to one bot.

    The token is excluded from ``repr`` so a settings object can be logged or shown in a
    failing test without leaking it.
    """

    address: str
    token: str | None = field(default=None, repr=False)
    tls: TlsSettings | None = None
    timeout: float = DEFAULT_TIMEOUT
    json: bool = False


def _flag(value: str, name: str) -> bool:
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise UsageError(f"{name}={value!r}: expected 1/0, true/false, yes/no or on/off")


def _pick(flag_value: str | None, environ: Mapping[str, str], name: str) -> str | None:
    if flag_value:
        return flag_value
    value = environ.get(name, "").strip()
    return value or None


def read_token_file(path: str, origin: str) -> str:
    """The stripped content of a token file.

    Raises:
        UsageError: The file cannot be read or holds nothing but whitespace.
    """
    resolved = Path(path).expanduser()
    try:
        token = resolved.read_text(encoding="utf-8").strip()
    except OSError as exc:
        message = f"{origin} {resolved}: cannot read the token file: {exc.strerror}"
        raise UsageError(message) from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"{origin} {resolved}: the token file is not UTF-8 text") from exc
    if not token:
        raise UsageError(f"{origin} {resolved}: the token file is empty")
    return token


def resolve_token(
    args: argparse.Namespace, environ: Mapping[str, str], bot_token_file: Path | None = None
) -> str | None:
    """The bearer token: flags, then the environment, then the bot's own token file.

    In order: ``--token``, ``--token-file``, the two environment variables, then the file
    the bot writes its token to (``bot_token_file``) when it exists.
    """
    if args.token and args.token.strip():
        return str(args.token).strip()
    if args.token_file:
        return read_token_file(args.token_file, "--token-file")
    token = environ.get(TOKEN_ENV, "").strip()
    if token:
        return token
    path = environ.get(TOKEN_FILE_ENV, "").strip()
    if path:
        return read_token_file(path, f"${TOKEN_FILE_ENV}")
    if bot_token_file is not None and bot_token_file.exists():
        return read_token_file(str(bot_token_file), "the bot's token file")
    return None


def resolve_tls(args: argparse.Namespace, environ: Mapping[str, str]) -> TlsSettings | None:
    """TLS settings, or None for a plaintext channel.

    Any TLS-only option (a CA file, a client pair, a name override) turns TLS on: asking
    for them over plaintext would silently send the token in clear text.

    Raises:
        UsageError: Only one half of the client certificate pair is given.
    """
    ca_file = _pick(args.ca_file, environ, CA_FILE_ENV)
    cert_file = _pick(args.cert_file, environ, CERT_FILE_ENV)
    key_file = _pick(args.key_file, environ, KEY_FILE_ENV)
    server_name = _pick(args.server_name, environ, SERVER_NAME_ENV)
    if (cert_file is None) != (key_file is None):
        raise UsageError("mutual TLS needs both --cert-file and --key-file")
    wanted = bool(args.tls) or _flag(environ.get(TLS_ENV, ""), TLS_ENV)
    if not (wanted or ca_file or cert_file or server_name):
        return None
    return TlsSettings(ca_file, cert_file, key_file, server_name)


def resolve_timeout(args: argparse.Namespace, environ: Mapping[str, str]) -> float:
    """Seconds each call may take.

    Raises:
        UsageError: Not a positive number.
    """
    raw: object = args.timeout
    origin = "--timeout"
    if raw is None:
        raw = environ.get(TIMEOUT_ENV, "").strip() or DEFAULT_TIMEOUT
        origin = f"${TIMEOUT_ENV}"
    try:
        timeout = float(str(raw))
    except ValueError:
        raise UsageError(f"{origin}: {raw!r} is not a number of seconds") from None
    if not timeout > 0 or timeout == float("inf"):
        raise UsageError(f"{origin}: the timeout must be a positive number of seconds")
    return timeout


def resolve_settings(
    args: argparse.Namespace,
    environ: Mapping[str, str],
    *,
    need_token: bool,
    locate: LocateBot | None = None,
) -> ClientSettings:
    """Combine flags, environment and the bot's own configuration into one invocation's.

    Args:
        args: The parsed flags.
        environ: The environment.
        need_token: False for calls that need none (health).
        locate: Where the bot listens and keeps its token, from ``--config`` (None: only
            flags and environment count).

    Raises:
        UsageError: Inconsistent or unreadable settings, or no token where one is needed.
    """
    config = getattr(args, "config", None)
    bot = locate(config) if locate is not None else None
    address = (
        _pick(args.address, environ, ADDRESS_ENV)
        or (bot.address if bot is not None else None)
        or DEFAULT_ADDRESS
    )
    json_output = bool(args.json) or _flag(environ.get(JSON_ENV, ""), JSON_ENV)
    token = resolve_token(args, environ, bot.token_file if bot is not None else None)
    if need_token and token is None:
        where = (
            f"the bot writes one to {bot.token_file} on its first start (none there yet)"
            if bot is not None
            else "the bot's token is in <data_dir>/api-token unless configured"
        )
        raise UsageError(
            f"no API token: set {TOKEN_ENV}, pass --token-file (or ${TOKEN_FILE_ENV}), "
            f"or --token; {where}"
        )
    return ClientSettings(
        address=address,
        token=token,
        tls=resolve_tls(args, environ),
        timeout=resolve_timeout(args, environ),
        json=json_output,
    )
