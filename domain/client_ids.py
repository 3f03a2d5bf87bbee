"""Deterministic client order ids.

Binance de-duplicates on ``newClientOrderId`` (futures -4116 for a duplicate open id, spot
"Duplicate order sent."), so an id fixed at intent time and reused on every retry means a
repeated request can never create a second order. The id is a pure function of the bot's
prefix and the intent's sequence number, which the journal persists.

Format: ``<prefix>-<sequence in base 36>``, within ``[A-Za-z0-9_-]{1,36}`` — the intersection of
the spot and futures charsets (futures also allow ``.:/``, spot reportedly rejects ``.``).
"""

from __future__ import annotations

import re

from domain.errors import InvalidClientOrderId

MAX_LENGTH = 36
MAX_PREFIX_LENGTH = 16
_PREFIX = re.compile(r"[A-Za-z0-9_]{1,16}")
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def validate_prefix(prefix: str) -> str:
    """Return ``prefix`` if it may start our ids; raise otherwise.

    The prefix may not contain ``-`` so that the separator is unambiguous.

    Raises:
        InvalidClientOrderId: Empty, too long, or outside ``[A-Za-z0-9_]``.
    """
    if not _PREFIX.fullmatch(prefix):
        raise InvalidClientOrderId(
            f"client order id prefix {prefix!r} must be 1-{MAX_PREFIX_LENGTH} characters of "
            "A-Z, a-z, 0-9 or _"
        )
    return prefix


def client_order_id(prefix: str, sequence: int) -> str:
    """The client order id of intent number ``sequence`` of the bot with ``prefix``.

    Raises:
        InvalidClientOrderId: Negative sequence or an invalid prefix.
    """
    validate_prefix(prefix)
    if sequence < 0:
        raise InvalidClientOrderId(f"sequence must be >= 0, got {sequence}")
    cid = f"{prefix}-{_base36(sequence)}"
    if len(cid) > MAX_LENGTH:
        raise InvalidClientOrderId(f"client order id {cid!r} exceeds {MAX_LENGTH} characters")
    return cid


def _base36(value: int) -> str:
    digits = []
    while True:
        value, rem = divmod(value, 36)
        digits.append(_DIGITS[rem])
        if not value:
            return "".join(reversed(digits))


def parse_sequence(prefix: str, cid: str) -> int | None:
    """The sequence number inside one of our ids, or None if ``cid`` is not ours.

    Orders without our prefix belong to the user or another bot and are never touched.
    """
    head, sep, tail = cid.rpartition("-")
    if not sep or head != prefix or not tail or len(cid) > MAX_LENGTH:
        return None
    if (tail[0] == "0" and len(tail) > 1) or any(c not in _DIGITS for c in tail):
        # Only the canonical form we issue: lower-case base 36, no leading zeros.
        return None
    return int(tail, 36)


class ClientOrderIdSequence:
    """Hands out consecutive ids for one bot, starting after the last journaled sequence."""

    __slots__ = ("_next", "_prefix")

    def __init__(self, prefix: str, next_sequence: int = 0) -> None:
        self._prefix = validate_prefix(prefix)
        self._next = next_sequence

    @property
    def prefix(self) -> str:
        """The bot's prefix."""
        return self._prefix

    @property
    def next_sequence(self) -> int:
        """The sequence the next id will carry (persist it to resume after a restart)."""
        return self._next

    def next_id(self) -> str:
        """Allocate the next id (the prefix was validated once, at construction)."""
        cid = f"{self._prefix}-{_base36(self._next)}"
        if len(cid) > MAX_LENGTH:
            raise InvalidClientOrderId(f"client order id {cid!r} exceeds {MAX_LENGTH} characters")
        self._next += 1
        return cid

    def is_ours(self, cid: str) -> bool:
        """Whether ``cid`` was issued under this bot's prefix."""
        return parse_sequence(self._prefix, cid) is not None
