"""Wiring of the gRPC control plane: the token, TLS files and the server on the I/O loop."""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
from collections.abc import Mapping

from adapters.control_api.server import ControlServer, TlsFiles, start_control_server
from adapters.live_runtime.loop_thread import LoopThread
from application.ports.control import ControlPlane
from bootstrap.config import AppConfig
from bootstrap.token_location import token_path

#: Environment variable holding the bearer token (server and gridctl).
TOKEN_ENV = "GRIDBOT_API_TOKEN"


class TokenError(ValueError):
    """The configured token file is missing, unreadable or empty."""


def resolve_token(config: AppConfig, environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """The bearer token and where it came from (never the value itself).

    ``GRIDBOT_API_TOKEN`` wins; then ``control.token_file``; else ``<data_dir>/api-token``,
    created with 32 random bytes (mode 0600) when it does not exist yet.

    Raises:
        TokenError: A configured token file cannot be read or is empty.
    """
    env = os.environ if environ is None else environ
    token = env.get(TOKEN_ENV, "").strip()
    if token:
        return token, f"${TOKEN_ENV}"
    path = token_path(config)
    if config.control.token_file is not None:
        try:
            token = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise TokenError(f"{path}: cannot read the API token file: {exc.strerror}") from exc
        if not token:
            raise TokenError(f"{path}: the API token file is empty")
        return token, str(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(32) + "\n")
    token = path.read_text(encoding="utf-8").strip()
    if not token:
        raise TokenError(f"{path}: the API token file is empty")
    return token, str(path)


def config_json(config: AppConfig) -> str:
    """The effective configuration as JSON (it never holds secrets: they are refused)."""
    return json.dumps(dataclasses.asdict(config), default=str, indent=2, sort_keys=True)


def tls_files(config: AppConfig) -> TlsFiles | None:
    """The configured TLS files, if any."""
    control = config.control
    if control.tls_cert_file is None or control.tls_key_file is None:
        return None
    return TlsFiles(control.tls_cert_file, control.tls_key_file, control.tls_client_ca_file)


def serve_control(
    loop: LoopThread, plane: ControlPlane, config: AppConfig, token: str, run_id: str
) -> ControlServer:
    """Start the server on the I/O loop and return it once it listens.

    Raises:
        InsecureRemoteAddress: Non-loopback without TLS and without consent.
        OSError: The address cannot be bound or a TLS file cannot be read.
    """
    control = config.control
    return loop.run(
        start_control_server(
            plane,
            address=control.address,
            token=token,
            run_id=run_id,
            tls=tls_files(config),
            allow_insecure_remote=control.allow_insecure_remote,
        )
    )
