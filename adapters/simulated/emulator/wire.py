"""Binance's wire conventions: error payloads, parameter parsing, signatures, number formats.

Everything here is what a Binance client sees regardless of the endpoint: how parameters
travel (query string and/or form body, the query winning), how they are signed, what a
malformed parameter is answered with, and how decimals are printed. Keeping it apart from
the endpoint handlers lets each handler read like the Binance documentation of that endpoint.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qsl

ZERO = Decimal(0)

#: Binance's pattern for DECIMAL parameters, quoted verbatim in its -1100 message.
DECIMAL_RANGE = r"^([0-9]{1,20})(\.[0-9]{1,20})?$"
_DECIMAL_RE = re.compile(DECIMAL_RANGE)
_LONG_RANGE = r"^[0-9]{1,20}$"
_LONG_RE = re.compile(_LONG_RANGE)
_RECV_WINDOW_RE = re.compile(r"^[0-9]{1,20}(\.[0-9]{1,3})?$")

MAX_RECV_WINDOW_MS = 60_000
DEFAULT_RECV_WINDOW_MS = 5_000


class ApiError(Exception):
    """A Binance error answer: ``{"code": code, "msg": msg}`` with an HTTP status.

    Raised anywhere below a handler; the request pipeline turns it into the JSON response,
    so handlers can stop at the first problem exactly as Binance does. A few answers carry a
    ``data`` object after ``msg`` (cancel-replace's -2021/-2022 report both legs there).
    """

    def __init__(
        self,
        code: int,
        msg: str,
        status: int = 400,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(f"{code} {msg}")
        self.code = code
        self.msg = msg
        self.status = status
        self.headers = dict(headers or {})
        self.data = None if data is None else dict(data)

    def payload(self) -> dict[str, object]:
        """The JSON body Binance sends."""
        body: dict[str, object] = {"code": self.code, "msg": self.msg}
        if self.data is not None:
            body["data"] = self.data
        return body


# ----------------------------------------------------------------------- common errors
def mandatory(name: str) -> ApiError:
    """-1102 for a missing or empty mandatory parameter."""
    return ApiError(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def not_required(name: str) -> ApiError:
    """-1106 for a parameter this kind of request must not carry."""
    return ApiError(-1106, f"Parameter '{name}' sent when not required.")


def illegal_chars(name: str, legal_range: str) -> ApiError:
    """-1100 for a value outside the parameter's syntax."""
    return ApiError(
        -1100, f"Illegal characters found in parameter '{name}'; legal range is '{legal_range}'."
    )


def invalid_value(name: str) -> ApiError:
    """-1130 for a well-formed value the endpoint does not accept."""
    return ApiError(-1130, f"Data sent for parameter '{name}' is not valid.")


def invalid_symbol() -> ApiError:
    """-1121: the symbol is not listed on this market."""
    return ApiError(-1121, "Invalid symbol.")


def one_of_ids() -> ApiError:
    """-1102 when neither ``orderId`` nor ``origClientOrderId`` was sent."""
    return ApiError(
        -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!"
    )


# ------------------------------------------------------------------------- parameters
def parse_params(raw_query: str, raw_body: bytes) -> dict[str, str]:
    """Merge query-string and form-body parameters the way Binance does.

    A parameter sent in both places takes the query string's value; the same name twice in
    one place is -1101.

    Raises:
        ApiError: -1101 duplicate parameter, -1100 undecodable characters.
    """
    try:
        body_text = raw_body.decode("utf-8")
        query_pairs = parse_qsl(raw_query, keep_blank_values=True, errors="strict")
        body_pairs = parse_qsl(body_text, keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(-1100, "Illegal characters found in a parameter.") from exc
    params: dict[str, str] = {}
    for pairs in (body_pairs, query_pairs):
        seen: set[str] = set()
        for name, value in pairs:
            if name in seen:
                raise ApiError(-1101, "Duplicate values for a parameter detected.")
            seen.add(name)
            params[name] = value
    return params


def check_known(params: Mapping[str, str], allowed: Iterable[str]) -> None:
    """-1104 when a parameter is not one the endpoint reads (catches client typos).

    Raises:
        ApiError: An unknown parameter was sent.
    """
    allowed_set = set(allowed)
    read = sum(1 for name in params if name in allowed_set)
    if read != len(params):
        raise ApiError(
            -1104,
            f"Not all sent parameters were read; read '{read}' parameter(s) "
            f"but was sent '{len(params)}'.",
        )


def req_str(params: Mapping[str, str], name: str) -> str:
    """A mandatory non-empty string parameter.

    Raises:
        ApiError: -1102 when missing or empty.
    """
    value = params.get(name, "")
    if not value:
        raise mandatory(name)
    return value


def opt_decimal(params: Mapping[str, str], name: str) -> Decimal | None:
    """An optional DECIMAL parameter (None when absent).

    Raises:
        ApiError: -1102 when empty, -1100 when not a plain decimal.
    """
    if name not in params:
        return None
    value = params[name]
    if not value:
        raise mandatory(name)
    if not _DECIMAL_RE.match(value):
        raise illegal_chars(name, DECIMAL_RANGE)
    return Decimal(value)


def req_decimal(params: Mapping[str, str], name: str) -> Decimal:
    """A mandatory DECIMAL parameter.

    Raises:
        ApiError: -1102 when missing or empty, -1100 when malformed.
    """
    value = opt_decimal(params, name)
    if value is None:
        raise mandatory(name)
    return value


def opt_int(params: Mapping[str, str], name: str) -> int | None:
    """An optional LONG/INT parameter (None when absent).

    Raises:
        ApiError: -1102 when empty, -1100 when not a non-negative integer.
    """
    if name not in params:
        return None
    value = params[name]
    if not value:
        raise mandatory(name)
    if not _LONG_RE.match(value):
        raise illegal_chars(name, _LONG_RANGE)
    return int(value)


def opt_bool(params: Mapping[str, str], name: str) -> bool | None:
    """An optional ``"true"``/``"false"`` parameter (Binance's STRING booleans).

    Raises:
        ApiError: -1130 for any other value.
    """
    if name not in params:
        return None
    value = params[name].lower()
    if value not in ("true", "false"):
        raise invalid_value(name)
    return value == "true"


# ------------------------------------------------------------------------- signatures
def sign(secret: str, payload: bytes | str) -> str:
    """HMAC-SHA256 of ``payload`` with ``secret``, lowercase hex (Binance's HMAC keys)."""
    data = payload.encode("utf-8") if isinstance(payload, str) else payload
    return hmac.new(secret.encode("utf-8"), data, hashlib.sha256).hexdigest()


def _without_signature(raw: bytes) -> bytes:
    if not raw:
        return raw
    kept = [part for part in raw.split(b"&") if not part.startswith(b"signature=")]
    return b"&".join(kept)


def signed_payload(raw_query: str, raw_body: bytes) -> bytes:
    """Binance's *totalParams*: the query string as sent followed directly by the body.

    The ``signature`` parameter itself is removed from wherever it was sent; nothing is
    decoded or re-ordered, so a client that signs something other than what it sends fails.
    """
    return _without_signature(raw_query.encode("utf-8")) + _without_signature(raw_body)


def signature_matches(secret: str, payload: bytes, signature: str) -> bool:
    """Constant-time check; HMAC signatures are case-insensitive hex."""
    expected = sign(secret, payload)
    return hmac.compare_digest(expected.encode("ascii"), signature.lower().encode("ascii"))


def check_timestamp(params: Mapping[str, str], server_ms: int, *, microseconds: bool) -> None:
    """Binance's timing security: reject requests from the future or older than recvWindow.

    Args:
        params: Request parameters (``timestamp`` and optional ``recvWindow``).
        server_ms: The server clock in ms.
        microseconds: Accept µs timestamps (spot does, futures does not).

    Raises:
        ApiError: -1102 missing/too-large parameters, -1100 malformed, -1021 out of window.
    """
    timestamp = opt_int(params, "timestamp")
    if timestamp is None:
        raise mandatory("timestamp")
    if microseconds and timestamp >= 10**15:
        timestamp //= 1000
    window = Decimal(DEFAULT_RECV_WINDOW_MS)
    if "recvWindow" in params:
        raw = params["recvWindow"]
        if not raw:
            raise mandatory("recvWindow")
        if not _RECV_WINDOW_RE.match(raw):
            raise illegal_chars("recvWindow", DECIMAL_RANGE)
        window = Decimal(raw)
        if window > MAX_RECV_WINDOW_MS:
            raise ApiError(
                -1102,
                f"'recvWindow' contains unexpected value. Cannot be greater than "
                f"{MAX_RECV_WINDOW_MS}.",
            )
    if timestamp >= server_ms + 1000:
        raise ApiError(-1021, "Timestamp for this request was 1000ms ahead of the server's time.")
    if server_ms - timestamp > window:
        raise ApiError(-1021, "Timestamp for this request is outside of the recvWindow.")


# -------------------------------------------------------------------------- decimals
def places_of(step: Decimal, default: int = 8) -> int:
    """Decimal places a filter step is written with (``"0.10"`` -> 2, ``"0.01000000"`` -> 8).

    Binance prints an instrument's prices and quantities with as many places as its tick and
    step sizes are written with; a disabled step (0) falls back to ``default``.
    """
    if not step:
        return default
    exponent = step.as_tuple().exponent
    if not isinstance(exponent, int):
        return default
    return max(0, -exponent)


def fmt(value: Decimal | None, places: int) -> str:
    """A decimal as Binance prints it: fixed point, exactly ``places`` decimals, no ``-0``."""
    number = ZERO if value is None else value
    try:
        quantized = number.quantize(Decimal(1).scaleb(-places))
    except InvalidOperation:
        quantized = number
    if not quantized:
        quantized = abs(quantized)
    return format(quantized, "f")


def fmt_exact(value: Decimal, places: int) -> str:
    """Like :func:`fmt`, with more digits only when ``places`` would round ``value``.

    The emulator's wallet moves by exact amounts; a figure the client books (realized PnL)
    must therefore be sent whole, not rounded to Binance's usual decimals.
    """
    text = fmt(value, places)
    return text if Decimal(text) == value else format(value, "f")


def plain(value: Decimal | None) -> str:
    """A decimal in fixed point exactly as it was written (filters, candle prices)."""
    number = ZERO if value is None else value
    return format(number, "f")
