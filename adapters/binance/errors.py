"""Binance error answers -> typed exceptions and the venue-neutral :class:`RejectReason`.

The one distinction that matters most is *definite* versus *unknown* outcome:

* :class:`ExchangeRejected` and its subclasses: Binance answered and refused; nothing was
  executed. For an order request the adapter turns it into a rejection event.
* :class:`UnknownOutcome`: the request may or may not have been executed (timeouts,
  dropped connections, 5xx, -1000/-1006/-1007). An order-mutating call that ends like this
  must never be resent blindly; the exchange adapter resolves it by querying the client
  order id (reference sections 3 and 10).

Codes are market specific in places (-2021, -2022 and -2026 mean different things on spot
and USD-M futures), and spot packs many refusals under -2010 whose only distinguishing
mark is the message, so the mapping looks at the market, the code and the message.
"""

from __future__ import annotations

from typing import Any

from domain.enums import MarketType
from domain.events import RejectReason

#: Codes whose answer says nothing about whether the request was executed.
UNKNOWN_OUTCOME_CODES = frozenset({-1000, -1006, -1007})
#: Codes that refuse a request because of request weight or order-count limits.
RATE_LIMIT_CODES = frozenset({-1003, -1015})
#: Overload answers documented as definite failures (nothing executed; retry later).
BUSY_CODES = frozenset({-1001, -1008})
#: Key, permission and signature problems: configuration errors, never transient.
AUTH_CODES = frozenset({-1002, -1022, -2014, -2015})
INVALID_TIMESTAMP = -1021

_FUTURES_FILTER_CODES = frozenset(
    {
        -1111,  # BAD_PRECISION
        *range(-4014, -4000),  # -4001..-4014: price/qty/stop bounds and tick size
        -4016,  # price above the mark-price multiplier cap
        -4023,  # quantity not a multiple of the step size
        -4024,  # price below the mark-price multiplier floor
        -4131,  # market order: best counter price breaks PERCENT_PRICE
        -4164,  # MIN_NOTIONAL
        -4183,
        -4184,
        -4210,
        -4211,
        -5029,  # modify below min notional
    }
)
_FUTURES_REASONS: dict[int, RejectReason] = {
    -2010: RejectReason.INVALID_REQUEST,
    -2011: RejectReason.UNKNOWN_ORDER,
    -2013: RejectReason.UNKNOWN_ORDER,
    -2018: RejectReason.INSUFFICIENT_BALANCE,
    -2019: RejectReason.INSUFFICIENT_MARGIN,
    -2021: RejectReason.WOULD_TRIGGER_IMMEDIATELY,
    -2022: RejectReason.REDUCE_ONLY,
    -2024: RejectReason.REDUCE_ONLY,  # position not sufficient
    -2025: RejectReason.MAX_OPEN_ORDERS,
    -2026: RejectReason.REDUCE_ONLY,  # order type not supported with reduceOnly
    -2027: RejectReason.INSUFFICIENT_MARGIN,  # above the max position at this leverage
    -2028: RejectReason.INSUFFICIENT_MARGIN,
    -4045: RejectReason.MAX_OPEN_ORDERS,  # max stop orders
    -4062: RejectReason.REDUCE_ONLY,
    -4116: RejectReason.DUPLICATE_CLIENT_ID,
    -4118: RejectReason.REDUCE_ONLY,  # reduce-only margin check failed
    -4142: RejectReason.WOULD_TRIGGER_IMMEDIATELY,
    -5021: RejectReason.FOK_UNFILLABLE,
    -5022: RejectReason.POST_ONLY_WOULD_TAKE,
}
#: Spot -2010/-2011 messages (errors.md, "Messages for -1010, -2010, -2011 and -2038").
_SPOT_MESSAGES: tuple[tuple[str, RejectReason], ...] = (
    ("insufficient balance", RejectReason.INSUFFICIENT_BALANCE),
    ("would immediately match and take", RejectReason.POST_ONLY_WOULD_TAKE),
    ("would trigger immediately", RejectReason.WOULD_TRIGGER_IMMEDIATELY),
    ("duplicate order sent", RejectReason.DUPLICATE_CLIENT_ID),
    ("unknown order sent", RejectReason.UNKNOWN_ORDER),
    # The order exists but is not in the status cancelRestrictions asked for.
    ("cancel restrictions", RejectReason.INVALID_REQUEST),
)


def reject_reason(code: int, message: str, market: MarketType) -> RejectReason:
    """The venue-neutral reason for a Binance refusal with ``code`` and ``message``."""
    if code in RATE_LIMIT_CODES or code in BUSY_CODES:
        return RejectReason.RANDOM_FAULT
    if market.is_futures:
        if code in _FUTURES_FILTER_CODES:
            return RejectReason.FILTER
        if code == -1013:
            return RejectReason.FILTER
        return _FUTURES_REASONS.get(code, RejectReason.INVALID_REQUEST)
    lowered = message.lower()
    if code == -1013:
        # Spot filter failures: "Filter failure: <FILTER_NAME>".
        if "max_num_orders" in lowered or "max_num_algo_orders" in lowered:
            return RejectReason.MAX_OPEN_ORDERS
        return RejectReason.FILTER
    if code == -1111:
        return RejectReason.FILTER
    if code in (-2010, -2011, -2038):
        for fragment, reason in _SPOT_MESSAGES:
            if fragment in lowered:
                return reason
        return RejectReason.UNKNOWN_ORDER if code == -2011 else RejectReason.INVALID_REQUEST
    if code in (-2013, -2026):  # no such order / archived
        return RejectReason.UNKNOWN_ORDER
    return RejectReason.INVALID_REQUEST


# ------------------------------------------------------------------------- exceptions
class BinanceError(Exception):
    """Base of every error the Binance adapter raises.

    Attributes:
        code: Binance's error code, or 0 when there is none (transport errors, local).
        message: Binance's ``msg`` verbatim, or a description of the local failure.
        status: HTTP status, when a response arrived.
        payload: The decoded error body (spot cancel-replace puts both halves in ``data``).
    """

    def __init__(
        self,
        code: int,
        message: str,
        status: int | None = None,
        payload: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"[{code}] {message}" + (f" (HTTP {status})" if status else ""))
        self.code = code
        self.message = message
        self.status = status
        self.payload = payload or {}


class UnknownOutcome(BinanceError):
    """The request may have been executed or not: never resend an order blindly.

    Raised for timeouts, broken connections, 5xx answers other than the documented definite
    ones, and -1000/-1006/-1007.
    """


class OutcomeUnresolved(BinanceError):
    """The adapter could not learn the outcome of an order request (queries kept failing).

    The order stays pending in the journal; restart reconciliation (or the user data
    stream) settles it. Carries the client order id concerned.
    """

    def __init__(self, client_order_id: str, message: str) -> None:
        super().__init__(0, message)
        self.client_order_id = client_order_id


class BinanceParseError(BinanceError, ValueError):
    """A payload lacked a field or held a value the adapter cannot represent."""

    def __init__(self, message: str) -> None:
        super().__init__(0, message)


class ExchangeRejected(BinanceError):
    """Binance answered and refused; nothing was executed.

    Attributes:
        reason: The venue-neutral reason, for rejection events.
    """

    def __init__(
        self,
        code: int,
        message: str,
        reason: RejectReason,
        status: int | None = None,
        payload: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(code, message, status, payload)
        self.reason = reason


class InsufficientFunds(ExchangeRejected):
    """Not enough free balance (spot) or available margin (futures)."""


class FilterFailure(ExchangeRejected):
    """The order breaks an exchangeInfo filter (price/lot/notional/percent price/precision)."""


class PostOnlyRejected(ExchangeRejected):
    """A post-only order (spot LIMIT_MAKER, futures GTX) would have taken liquidity."""


class ReduceOnlyRejected(ExchangeRejected):
    """A futures reduce-only order would not reduce the position."""


class UnknownOrder(ExchangeRejected):
    """The order is unknown, or already closed (-2011 on cancel, -2013 on query)."""


class DuplicateClientOrderId(ExchangeRejected):
    """The client order id belongs to an order that is still open."""


class RateLimited(ExchangeRejected):
    """HTTP 429 / -1003 / -1015: a request weight or order-count limit was broken.

    Attributes:
        retry_after: Seconds Binance asked us to wait (``Retry-After``), if it said.
    """

    def __init__(
        self,
        code: int,
        message: str,
        retry_after: float | None = None,
        status: int | None = None,
        payload: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(code, message, RejectReason.RANDOM_FAULT, status, payload)
        self.retry_after = retry_after


class IpBanned(RateLimited):
    """HTTP 418: the IP is banned; no request may be sent until the ban ends.

    Also raised locally, without sending anything, for every request made during the ban.
    """


class ServerBusy(ExchangeRejected):
    """-1001/-1008 or 503 "Service Unavailable.": refused under load, nothing executed."""


class TimestampRejected(ExchangeRejected):
    """-1021: the timestamp is outside recvWindow (the clock offset needs a resync)."""


class AuthenticationFailed(ExchangeRejected):
    """Bad API key, permissions, IP whitelist or signature: a configuration error."""


_REASON_CLASSES: dict[RejectReason, type[ExchangeRejected]] = {
    RejectReason.INSUFFICIENT_BALANCE: InsufficientFunds,
    RejectReason.INSUFFICIENT_MARGIN: InsufficientFunds,
    RejectReason.FILTER: FilterFailure,
    RejectReason.MAX_OPEN_ORDERS: FilterFailure,
    RejectReason.POST_ONLY_WOULD_TAKE: PostOnlyRejected,
    RejectReason.REDUCE_ONLY: ReduceOnlyRejected,
    RejectReason.UNKNOWN_ORDER: UnknownOrder,
    RejectReason.DUPLICATE_CLIENT_ID: DuplicateClientOrderId,
}

#: 503 messages that the futures docs call definite failures (not executed).
_DEFINITE_503 = ("service unavailable",)


def error_from_response(
    status: int,
    body: Any,
    market: MarketType,
    retry_after: float | None = None,
) -> BinanceError:
    """The typed error for a non-2xx answer (``body`` is the decoded JSON or raw text).

    Args:
        status: HTTP status.
        body: ``{"code": ..., "msg": ...}`` when Binance sent JSON, else the text.
        market: Spot or futures (codes differ).
        retry_after: Parsed ``Retry-After`` header, seconds.
    """
    payload: dict[str, Any] = body if isinstance(body, dict) else {}
    raw_code = payload.get("code", 0)
    code = raw_code if isinstance(raw_code, int) else 0
    message = str(payload.get("msg", "")) if payload else str(body or "")[:500]
    if status == 418:
        return IpBanned(code or -1003, message or "IP banned", retry_after, status, payload)
    if status == 429 or code in RATE_LIMIT_CODES:
        return RateLimited(code or -1003, message or "rate limited", retry_after, status, payload)
    if code in UNKNOWN_OUTCOME_CODES:
        return UnknownOutcome(code, message, status, payload)
    if code in BUSY_CODES or (status == 503 and any(m in message.lower() for m in _DEFINITE_503)):
        return ServerBusy(code, message, RejectReason.RANDOM_FAULT, status, payload)
    if status >= 500 or status == 408:
        # Binance's side failed or timed out after possibly executing (futures 503 "Unknown
        # error", 408 "timeout waiting for backend").
        return UnknownOutcome(code, message or f"HTTP {status}", status, payload)
    if code == INVALID_TIMESTAMP:
        return TimestampRejected(code, message, RejectReason.INVALID_REQUEST, status, payload)
    if code in AUTH_CODES:
        return AuthenticationFailed(code, message, RejectReason.INVALID_REQUEST, status, payload)
    reason = reject_reason(code, message, market)
    cls = _REASON_CLASSES.get(reason, ExchangeRejected)
    return cls(code, message or f"HTTP {status}", reason, status, payload)
