"""Opening the gRPC channel to the bot, plaintext or (mutual) TLS.

The channel's own reconnect backoff is shortened (gRPC's default grows to two minutes):
``gridctl watch`` keeps one channel across a bot restart and should notice the new
process within seconds, not minutes.
"""

from __future__ import annotations

from pathlib import Path

import grpc

from adapters.control_client.errors import UsageError
from adapters.control_client.settings import ClientSettings, TlsSettings

#: Reconnect backoff of the channel itself (milliseconds).
CHANNEL_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.initial_reconnect_backoff_ms", 250),
    ("grpc.min_reconnect_backoff_ms", 250),
    ("grpc.max_reconnect_backoff_ms", 2_000),
)


def _read_pem(path: str, flag: str) -> bytes:
    try:
        return Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise UsageError(f"{flag} {path}: cannot read: {exc.strerror}") from exc


def channel_credentials(tls: TlsSettings) -> grpc.ChannelCredentials:
    """TLS credentials: the given CA bundle (else gRPC's default roots), a client pair.

    Raises:
        UsageError: A PEM file cannot be read.
    """
    roots = _read_pem(tls.ca_file, "--ca-file") if tls.ca_file else None
    key = _read_pem(tls.key_file, "--key-file") if tls.key_file else None
    chain = _read_pem(tls.cert_file, "--cert-file") if tls.cert_file else None
    return grpc.ssl_channel_credentials(
        root_certificates=roots, private_key=key, certificate_chain=chain
    )


def open_channel(settings: ClientSettings) -> grpc.Channel:
    """A channel to ``settings.address`` (nothing is sent until the first call).

    Raises:
        UsageError: A TLS file cannot be read.
    """
    options: list[tuple[str, int | str]] = list(CHANNEL_OPTIONS)
    if settings.tls is None:
        return grpc.insecure_channel(settings.address, options=options)
    if settings.tls.server_name:
        options.append(("grpc.ssl_target_name_override", settings.tls.server_name))
    return grpc.secure_channel(settings.address, channel_credentials(settings.tls), options=options)


def auth_metadata(token: str | None) -> tuple[tuple[str, str], ...]:
    """The ``authorization: Bearer`` entry the bot checks (none without a token)."""
    if not token:
        return ()
    return (("authorization", f"Bearer {token}"),)
