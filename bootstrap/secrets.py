"""Binance API credentials: read from the environment or a secrets file, never from the config.

The key and the secret travel as :class:`Secret` objects whose ``repr``/``str`` is ``***``, so
an accidental ``print(credentials)``, an f-string in a log line or a traceback's locals never
shows them; only the HTTP signing code calls :meth:`Secret.reveal`. Every error message here
names the variable, the file or the line number, never a value or a line's content.

Sources, first match wins:

1. ``BINANCE_API_KEY`` and ``BINANCE_API_SECRET`` in the environment (both or neither);
2. the file at ``credentials.secrets_file``: a JSON object
   ``{"api_key": "...", "api_secret": "..."}`` (a ``.json`` file, or any file whose text
   starts with ``{`` or ``[``) or else ``KEY=VALUE`` lines with
   ``BINANCE_API_KEY`` and ``BINANCE_API_SECRET`` (``#`` comments, blank lines, an
   ``export`` prefix and quotes around the value are allowed; other variables are ignored,
   so an existing ``.env`` file works).
"""

from __future__ import annotations

import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bootstrap.config import AppConfig

API_KEY_ENV = "BINANCE_API_KEY"
API_SECRET_ENV = "BINANCE_API_SECRET"
MASK = "***"


class CredentialsError(ValueError):
    """Credentials are configured but unusable (half-set, unreadable, malformed)."""


class MissingCredentials(CredentialsError):
    """The live exchange needs credentials and none are configured."""


class Secret:
    """A string that does not show itself: ``repr``/``str``/``format`` give ``***``.

    Equality compares values in constant time. Secrets are unhashable, so one cannot end up as
    a dict key or set member (where a debugger or a dump of the container would print it).
    """

    __slots__ = ("_value",)
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("a Secret holds a str")
        self._value = value

    def reveal(self) -> str:
        """The value itself: call it only where the value is used (request signing)."""
        return self._value

    def __repr__(self) -> str:
        return MASK

    def __str__(self) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class Credentials:
    """A Binance API key pair; ``source`` says where it came from (never the values)."""

    api_key: Secret
    api_secret: Secret
    source: str = field(default="", compare=False)

    def secret_values(self) -> tuple[str, str]:
        """Both values, for a log sink's redaction list (``JsonLinesSink(secrets=...)``)."""
        return self.api_key.reveal(), self.api_secret.reveal()


def _from_environment(environ: Mapping[str, str]) -> Credentials | None:
    key = environ.get(API_KEY_ENV, "").strip()
    secret = environ.get(API_SECRET_ENV, "").strip()
    if not key and not secret:
        return None
    if not key or not secret:
        present, missing = (API_KEY_ENV, API_SECRET_ENV) if key else (API_SECRET_ENV, API_KEY_ENV)
        raise CredentialsError(
            f"{present} is set but {missing} is not: set both environment variables or neither"
        )
    return Credentials(Secret(key), Secret(secret), source="environment")


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _parse_json(path: Path, text: str) -> tuple[Any, Any]:
    problem: str | None = None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        # exc.doc holds the whole file: keep the exception out of the one we raise.
        problem = f"invalid JSON at line {exc.lineno} column {exc.colno}"
    if problem is not None:
        raise CredentialsError(f"{path}: secrets file: {problem}")
    if not isinstance(data, dict):
        raise CredentialsError(f"{path}: secrets file: must be a JSON object")
    return data.get("api_key"), data.get("api_secret")


def _parse_lines(path: Path, text: str) -> tuple[Any, Any]:
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise CredentialsError(f"{path}: secrets file: line {number}: expected KEY=VALUE")
        values[name.strip()] = _unquote(value)
    return values.get(API_KEY_ENV), values.get(API_SECRET_ENV)


def read_secrets_file(path: str | Path) -> Credentials:
    """Credentials from a secrets file (JSON object or ``KEY=VALUE`` lines).

    Raises:
        CredentialsError: Unreadable, not UTF-8, malformed, or a value missing or empty; the
            message names the file and the key or line number, never the content.
    """
    p = Path(path)
    problem: str | None = None
    text = ""
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        problem = f"cannot read secrets file: {exc.strerror or type(exc).__name__}"
    except UnicodeDecodeError:
        # The decode error's message quotes the offending bytes: do not chain it.
        problem = "secrets file is not valid UTF-8"
    if problem is not None:
        raise CredentialsError(f"{p}: {problem}")
    is_json = p.suffix.lower() == ".json" or text.lstrip().startswith(("{", "["))
    key, secret = _parse_json(p, text) if is_json else _parse_lines(p, text)
    names = ("api_key", "api_secret") if is_json else (API_KEY_ENV, API_SECRET_ENV)
    for name, value in zip(names, (key, secret), strict=True):
        if value is None:
            raise CredentialsError(f"{p}: secrets file: {name} is missing")
        if not isinstance(value, str) or not value.strip():
            raise CredentialsError(f"{p}: secrets file: {name} must be a non-empty string")
    return Credentials(Secret(key.strip()), Secret(secret.strip()), source=str(p))


def load_credentials(
    config: AppConfig, environ: Mapping[str, str] | None = None
) -> Credentials | None:
    """The API key pair from the environment, else from ``credentials.secrets_file``.

    Returns ``None`` when neither is configured (fine for the simulated exchange).

    Raises:
        CredentialsError: Only one of the two environment variables is set, or the secrets
            file is unreadable or malformed.
    """
    environ = os.environ if environ is None else environ
    found = _from_environment(environ)
    if found is not None:
        return found
    if config.credentials.secrets_file is not None:
        return read_secrets_file(config.credentials.secrets_file)
    return None


def require_credentials(config: AppConfig, environ: Mapping[str, str] | None = None) -> Credentials:
    """Like :func:`load_credentials`, for the live exchange (``exchange.kind == "binance"``).

    Raises:
        MissingCredentials: Nothing is configured; the message says both ways to fix it.
        CredentialsError: As :func:`load_credentials`.
    """
    found = load_credentials(config, environ)
    if found is None:
        raise MissingCredentials(
            f"no Binance API credentials: set {API_KEY_ENV} and {API_SECRET_ENV} in the "
            f"environment, or set $.credentials.secrets_file in {config.source} to a file "
            "that holds them"
        )
    return found
