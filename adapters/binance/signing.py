"""Request signing for Binance SIGNED endpoints (HMAC-SHA256).

Binance verifies the signature over the parameters *exactly as they arrive*: the query
string concatenated with the form body (reference section 2). Anything that re-encodes the
parameters after signing (reordering, a different percent-encoding, ``+`` for spaces)
breaks the signature with -1022. So the query string is built once here, signed, and the
very same text is sent: the REST client never hands a params dict to httpx.

HMAC-SHA256 and Ed25519 keys are supported. An Ed25519 signature (which Binance recommends,
and which the WebSocket API's ``session.logon`` requires) is base64, so it is percent-encoded
where it is placed in the query (``+``, ``/`` and ``=`` would otherwise change meaning).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from decimal import Decimal
from enum import Enum
from typing import Protocol
from urllib.parse import quote

#: A parameter value as the adapter produces it before it is written on the wire.
ParamValue = str | int | Decimal | bool | Enum
#: Parameters in the order they are sent; a ``None`` value means "not sent".
Params = Mapping[str, ParamValue | None] | Iterable[tuple[str, ParamValue | None]]


class Signer(Protocol):
    """Turns the exact payload that will be sent into the ``signature`` parameter value."""

    def sign(self, payload: str) -> str:
        """Signature of ``payload`` (the query string plus body, byte for byte)."""
        ...


class HmacSha256Signer:
    """Binance's HMAC-SHA256 signature: hex digest keyed with the API secret.

    The secret is kept as bytes and never appears in ``repr`` (logs, tracebacks).
    """

    __slots__ = ("_key",)

    def __init__(self, api_secret: str) -> None:
        if not api_secret:
            raise ValueError("an API secret is required to sign requests")
        self._key = api_secret.encode("utf-8")

    def __repr__(self) -> str:
        return "HmacSha256Signer(<secret>)"

    def sign(self, payload: str) -> str:
        """Lower-case hex HMAC-SHA256 of ``payload`` (Binance accepts either case)."""
        return hmac.new(self._key, payload.encode("utf-8"), hashlib.sha256).hexdigest()


class Ed25519Signer:
    """Binance's Ed25519 signature: base64 of the Ed25519 signature of the payload.

    Args:
        private_key_pem: The PKCS#8 PEM private key registered with the API key.
        password: The PEM's password, if it is encrypted.

    Raises:
        ValueError: The PEM is not an Ed25519 private key.
    """

    __slots__ = ("_key",)

    def __init__(self, private_key_pem: bytes | str, password: bytes | None = None) -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        pem = (
            private_key_pem.encode("ascii") if isinstance(private_key_pem, str) else private_key_pem
        )
        key = load_pem_private_key(pem, password=password)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the private key is not an Ed25519 key")
        self._key = key

    def __repr__(self) -> str:
        return "Ed25519Signer(<private key>)"

    def sign(self, payload: str) -> str:
        """Base64 Ed25519 signature of ``payload`` (case-sensitive)."""
        return base64.b64encode(self._key.sign(payload.encode("utf-8"))).decode("ascii")


def format_value(value: ParamValue) -> str:
    """One parameter value as Binance expects it on the wire.

    Decimals are written in plain notation (``1E-7`` would be refused with -1100), booleans
    as ``true``/``false`` (futures ``reduceOnly``), enums by their value.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot send non-finite decimal {value}")
        return format(value, "f")
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


def encode_params(params: Params) -> str:
    """The query string for ``params``, in the given order, UTF-8 percent-encoded.

    ``None`` values are skipped so callers can pass optional parameters unconditionally.
    Every reserved character is escaped (a space becomes ``%20``, never ``+``), which is
    what Binance's signature check expects for non-ASCII values.
    """
    items = params.items() if isinstance(params, Mapping) else params
    return "&".join(
        f"{quote(str(key), safe='')}={quote(format_value(value), safe='')}"
        for key, value in items
        if value is not None
    )


def signed_query(params: Params, signer: Signer, body: str = "") -> str:
    """``params`` encoded with ``&signature=...`` appended, signed over query + ``body``.

    The signature goes last (the futures docs require it). ``body`` is the form body sent
    with the request, if any: Binance signs query and body concatenated with no separator.
    """
    query = encode_params(params)
    # Hex (HMAC) is unchanged by escaping; base64 (Ed25519) needs it.
    signature = quote(signer.sign(query + body), safe="")
    return f"{query}&signature={signature}" if query else f"signature={signature}"
