"""Binance WebSocket payloads -> domain records, typed market records and control signals.

Pure functions over one WebSocket text frame, validated against the captured payloads in
``shared/data/binance-fixtures`` (reference sections 8 and 9). Every number is read from
Binance's decimal strings straight into :class:`~decimal.Decimal`.

A stream must survive anything the server sends: every malformed frame, unknown event type
or unrepresentable value surfaces as one typed :class:`StreamMessageError`, which the
connection logs with context before carrying on. A message lost that way is recovered by
the REST resync the live shell runs after reconnects, so refusing to guess (a fill with a
zero price, an order without a client id) is always safer than inventing a value.

Event types the bot knows but does not consume (``TRADE_LITE`` duplicates
``ORDER_TRADE_UPDATE``; balance and position pushes are re-read over REST) parse to a
:class:`UserEvents` with no events, so they are not reported as errors.

Futures ``ALGO_UPDATE`` (conditional orders, reference section 8) reports the algo order
itself, named by ``caid`` (the client id the adapter sent as ``clientAlgoId``) and ``aid``:
``NEW`` -> ``OrderAccepted`` (exchange id = ``aid``), ``CANCELED`` -> ``OrderCanceled``,
``EXPIRED`` -> ``OrderExpired``, ``REJECTED`` -> ``OrderRejected`` (message ``rm``).
``TRIGGERING`` / ``TRIGGERED`` / ``FINISHED`` produce nothing by themselves: the order
created at trigger time (``ai``) sends its own ``ORDER_TRADE_UPDATE`` NEW / TRADE, and
those carry the fills.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from domain.candles import Candle
from domain.enums import Liquidity, Side
from domain.events import (
    ExecutionEvent,
    FundingPaid,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderModified,
    OrderRejected,
    RejectReason,
)
from domain.orders import Fill

ZERO = Decimal(0)
Payload = Mapping[str, Any]
#: symbol -> (base asset, quote asset); needed to value a commission in the quote asset.
SymbolAssets = Mapping[str, tuple[str, str]]


class StreamMessageError(ValueError):
    """A frame could not be turned into a typed message; log it and keep reading.

    Attributes:
        reason: What was wrong.
        preview: The start of the offending frame, for the log line.
    """

    def __init__(self, reason: str, raw: object = None) -> None:
        self.reason = reason
        self.preview = _preview(raw)
        super().__init__(f"{reason}: {self.preview}" if self.preview else reason)


def _preview(raw: object) -> str:
    if raw is None:
        return ""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    return str(raw if isinstance(raw, str) else dict(raw) if isinstance(raw, Mapping) else raw)[
        :300
    ]


# ---------------------------------------------------------------------- records
class MarkPrice(NamedTuple):
    """A futures ``markPriceUpdate``: mark/index price and the coming funding."""

    symbol: str
    mark_price: Decimal
    index_price: Decimal
    funding_rate: Decimal
    next_funding_time: int
    event_time: int


class ClosedCandle(NamedTuple):
    """A final kline (``k.x`` true) with the symbol and interval the Candle does not carry."""

    symbol: str
    interval: str
    candle: Candle


class ListenKeyExpired(NamedTuple):
    """Futures listen key expired: the stream goes silent until a new key is connected."""

    listen_key: str
    event_time: int


class EventStreamTerminated(NamedTuple):
    """Spot WS API subscription ended (logout/unsubscribe): re-subscribe to get events."""

    event_time: int


class ServerShutdown(NamedTuple):
    """Spot market-stream server about to go away: reconnect proactively."""

    event_time: int


ControlSignal = ListenKeyExpired | EventStreamTerminated | ServerShutdown


class UserEvents(NamedTuple):
    """Execution events decoded from one user-data frame (possibly none)."""

    event_type: str
    event_time: int
    events: tuple[ExecutionEvent, ...]


class ApiResponse(NamedTuple):
    """A WS API / control answer (``{"id", "status", "result"|"error"}`` or ``{"result","id"}``)."""

    id: object
    status: int
    body: Payload


MarketMessage = ClosedCandle | MarkPrice | ControlSignal | ApiResponse | None
UserDataMessage = UserEvents | ControlSignal | ApiResponse


# ---------------------------------------------------------------------- primitives
def decode(raw: str | bytes | Payload) -> Payload:
    """One frame as a JSON object (already-decoded mappings pass through).

    Raises:
        StreamMessageError: Not JSON, or not a JSON object.
    """
    if isinstance(raw, Mapping):
        return raw
    try:
        value = json.loads(raw)
    except (ValueError, TypeError) as exc:
        raise StreamMessageError(f"malformed JSON ({exc})", raw) from exc
    if not isinstance(value, dict):
        raise StreamMessageError("frame is not a JSON object", raw)
    return value


def _dec(payload: Payload, key: str, default: Decimal | None = None) -> Decimal:
    raw = payload.get(key)
    if raw is None:
        if default is not None:
            return default
        raise StreamMessageError(f"missing {key!r}", payload)
    if isinstance(raw, float | bool):
        raise StreamMessageError(f"{key}={raw!r} is not a decimal string", payload)
    try:
        value = Decimal(str(raw))
    except InvalidOperation as exc:
        raise StreamMessageError(f"{key}={raw!r} is not a number", payload) from exc
    if not value.is_finite():
        raise StreamMessageError(f"{key}={raw!r} is not finite", payload)
    return value


def _int(payload: Payload, key: str, default: int | None = None) -> int:
    raw = payload.get(key)
    if raw is None and default is not None:
        return default
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise StreamMessageError(f"missing or non-integer {key!r}", payload)
    try:
        return int(raw)
    except ValueError as exc:
        raise StreamMessageError(f"{key}={raw!r} is not an integer", payload) from exc


def _text(payload: Payload, key: str) -> str:
    raw = payload.get(key)
    if not isinstance(raw, str) or not raw:
        raise StreamMessageError(f"missing {key!r}", payload)
    return raw


def _obj(payload: Payload, key: str) -> Payload:
    raw = payload.get(key)
    if not isinstance(raw, Mapping):
        raise StreamMessageError(f"missing object {key!r}", payload)
    return raw


def unwrap(message: Payload) -> Payload:
    """The event inside a combined-stream ``{"stream","data"}`` or WS API wrapper."""
    for key in ("data", "event"):
        inner = message.get(key)
        if isinstance(inner, Mapping) and ("stream" in message or "subscriptionId" in message):
            return inner
    return message


def _api_response(message: Payload) -> ApiResponse | None:
    if "id" in message and ("result" in message or "error" in message or "status" in message):
        status = message.get("status")
        if not isinstance(status, int):
            status = 400 if "error" in message else 200
        return ApiResponse(message.get("id"), status, message)
    return None


def _control(event: Payload, event_type: str) -> ControlSignal | None:
    if event_type == "listenKeyExpired":
        return ListenKeyExpired(str(event.get("listenKey") or ""), _int(event, "E", 0))
    if event_type == "eventStreamTerminated":
        return EventStreamTerminated(_int(event, "E", 0))
    if event_type == "serverShutdown":
        return ServerShutdown(_int(event, "E", 0))
    return None


# ---------------------------------------------------------------------- market streams
def parse_kline(event: Payload) -> Candle | None:
    """A kline event (bare or combined) -> the closed Candle, or None while still forming.

    Only ``k.x == true`` is final; the earlier updates of the same minute are partial and
    must never reach the decision core.
    """
    event = unwrap(event)
    k = _obj(event, "k")
    if k.get("x") is not True:
        return None
    return Candle(
        open_time=_int(k, "t"),
        open=_dec(k, "o"),
        high=_dec(k, "h"),
        low=_dec(k, "l"),
        close=_dec(k, "c"),
        volume=_dec(k, "v"),
        close_time=_int(k, "T"),
        quote_volume=_dec(k, "q") if "q" in k else None,
        trades=_int(k, "n") if "n" in k else None,
        taker_buy_base=_dec(k, "V") if "V" in k else None,
        taker_buy_quote=_dec(k, "Q") if "Q" in k else None,
    )


def parse_mark_price(event: Payload) -> MarkPrice:
    """A futures ``markPriceUpdate`` (bare or combined)."""
    event = unwrap(event)
    return MarkPrice(
        symbol=_text(event, "s"),
        mark_price=_dec(event, "p"),
        index_price=_dec(event, "i"),
        funding_rate=_dec(event, "r", ZERO),
        next_funding_time=_int(event, "T", 0),
        event_time=_int(event, "E"),
    )


def parse_market_message(raw: str | bytes | Payload) -> MarketMessage:
    """One market-stream frame -> closed candle, mark price, control signal or answer.

    Returns None for a kline that is not closed yet.

    Raises:
        StreamMessageError: Malformed frame or an event type this bot does not subscribe to.
    """
    message = decode(raw)
    response = _api_response(message)
    if response is not None:
        return response
    event = unwrap(message)
    event_type = event.get("e")
    if event_type == "kline":
        candle = parse_kline(event)
        if candle is None:
            return None
        k = _obj(event, "k")
        return ClosedCandle(_text(event, "s"), str(k.get("i") or ""), candle)
    if event_type == "markPriceUpdate":
        return parse_mark_price(event)
    signal = _control(event, str(event_type))
    if signal is not None:
        return signal
    raise StreamMessageError(f"unsupported market event type {event_type!r}", message)


# ---------------------------------------------------------------------- user data
_REJECT_REASONS = {
    "INSUFFICIENT_BALANCES": RejectReason.INSUFFICIENT_BALANCE,
    "WOULD_MATCH_IMMEDIATELY": RejectReason.POST_ONLY_WOULD_TAKE,
    "GTX_ORDER_REJECT": RejectReason.POST_ONLY_WOULD_TAKE,
    "STOP_PRICE_WOULD_TRIGGER_IMMEDIATELY": RejectReason.WOULD_TRIGGER_IMMEDIATELY,
}
#: Known user-data events the bot does not turn into execution events (see module doc).
_PASSIVE_EVENTS = frozenset(
    {
        "TRADE_LITE",
        "MARGIN_CALL",
        "ACCOUNT_CONFIG_UPDATE",
        "outboundAccountPosition",
        "balanceUpdate",
        "listStatus",
        "externalLockUpdate",
    }
)


def fee_in_quote(
    commission: Decimal, asset: str, price: Decimal, assets: tuple[str, str] | None
) -> Decimal | None:
    """The commission's quote value when the fill alone determines it.

    Quote-asset commission is its own value, base-asset commission is worth n x L. No
    commission at all is worth zero. A third asset (BNB) needs a price the frame does not
    carry: None, and the caller fills it in.
    """
    if not asset or not commission:
        return ZERO
    if assets is None:
        return None
    base, quote = assets
    if asset == quote:
        return commission
    if asset == base:
        return commission * price
    return None


def _order_events(
    o: Payload, event_time: int, symbol_assets: SymbolAssets | None, spot: bool
) -> tuple[ExecutionEvent, ...]:
    """Spot ``executionReport`` / futures ``ORDER_TRADE_UPDATE.o`` -> execution events."""
    exec_type = _text(o, "x")
    status = str(o.get("X") or "")
    ts = _int(o, "T", event_time) or event_time
    cid = str(o.get("c") or "")
    if spot and exec_type == "CANCELED" and o.get("C"):
        # Spot puts the cancel request's own id in c and the cancelled order's id in C.
        cid = str(o["C"])
    if not cid:
        raise StreamMessageError("order event without a client order id", o)
    if exec_type == "NEW":
        return (OrderAccepted(cid, _int(o, "i"), ts),)
    if exec_type in ("TRADE", "CALCULATED"):
        events: list[ExecutionEvent] = []
        quantity = _dec(o, "l", ZERO)
        if quantity > 0:
            events.append(OrderFilled(_fill(o, cid, quantity, ts, symbol_assets)))
        if status in ("CANCELED", "EXPIRED", "EXPIRED_IN_MATCH"):
            events.extend(_closing(cid, status, ts))
        return tuple(events)
    if exec_type == "CANCELED":
        if status == "PENDING_CANCEL":
            return ()
        return (OrderCanceled(cid, ts),)
    if exec_type == "EXPIRED":
        return (OrderExpired(cid, ts, in_match=status == "EXPIRED_IN_MATCH"),)
    if exec_type == "TRADE_PREVENTION":
        # The prevented quantity (l) never traded; only an expiry ends the order.
        if status in ("EXPIRED", "EXPIRED_IN_MATCH"):
            return (OrderExpired(cid, ts, in_match=True),)
        return ()
    if exec_type in ("AMENDMENT", "REPLACED"):
        return (OrderModified(cid, _dec(o, "p"), _dec(o, "q"), ts),)
    if exec_type == "REJECTED":
        raw_reason = str(o.get("r") or "")
        reason = _REJECT_REASONS.get(raw_reason, RejectReason.INVALID_REQUEST)
        return (OrderRejected(cid, reason, 0, raw_reason or "REJECTED", ts),)
    raise StreamMessageError(f"unknown execution type {exec_type!r}", o)


#: ``ALGO_UPDATE`` statuses that are steps of the trigger, not order events (module doc).
_ALGO_TRIGGER_STEPS = frozenset({"TRIGGERING", "TRIGGERED", "FINISHED"})


def _algo_events(o: Payload, event_time: int) -> tuple[ExecutionEvent, ...]:
    """Futures ``ALGO_UPDATE.o`` -> execution events of the conditional order (module doc)."""
    status = _text(o, "X")
    cid = str(o.get("caid") or "")
    if not cid:
        raise StreamMessageError("algo update without a client algo id", o)
    ts = event_time
    if status == "NEW":
        return (OrderAccepted(cid, _int(o, "aid"), ts),)
    if status == "CANCELED":
        return (OrderCanceled(cid, ts),)
    if status == "EXPIRED":
        return (OrderExpired(cid, ts),)
    if status == "REJECTED":
        message = str(o.get("rm") or "") or "REJECTED"
        return (OrderRejected(cid, RejectReason.INVALID_REQUEST, 0, message, ts),)
    if status in _ALGO_TRIGGER_STEPS:
        return ()
    raise StreamMessageError(f"unknown algo status {status!r}", o)


def _closing(cid: str, status: str, ts: int) -> tuple[ExecutionEvent, ...]:
    if status == "CANCELED":
        return (OrderCanceled(cid, ts),)
    return (OrderExpired(cid, ts, in_match=status == "EXPIRED_IN_MATCH"),)


def _fill(
    o: Payload, cid: str, quantity: Decimal, ts: int, symbol_assets: SymbolAssets | None
) -> Fill:
    price = _dec(o, "L")
    if price <= 0:
        raise StreamMessageError("fill with a non-positive last price", o)
    trade_id = _int(o, "t")
    if trade_id < 0:
        raise StreamMessageError("fill without a trade id", o)
    side_raw = o.get("S")
    if side_raw not in ("BUY", "SELL"):
        raise StreamMessageError(f"unknown side {side_raw!r}", o)
    commission = _dec(o, "n", ZERO)
    asset = str(o.get("N") or "")
    symbol = str(o.get("s") or "")
    assets = symbol_assets.get(symbol) if symbol_assets is not None else None
    return Fill(
        trade_id=trade_id,
        client_order_id=cid,
        side=Side(side_raw),
        quantity=quantity,
        price=price,
        fee=commission,
        fee_asset=asset,
        liquidity=Liquidity.MAKER if o.get("m") is True else Liquidity.TAKER,
        timestamp=ts,
        fee_quote=fee_in_quote(commission, asset, price, assets),
        realized_pnl=_dec(o, "rp") if "rp" in o else None,
    )


def _funding(event: Payload, margin_asset: str) -> tuple[ExecutionEvent, ...]:
    """ACCOUNT_UPDATE FUNDING_FEE -> FundingPaid (amount = ``bc`` of the margin asset).

    Cross margin carries only the balance (no position): symbol, rate, mark and position
    are then unknown and left empty/zero; the amount, which the account books, is exact.
    """
    a = _obj(event, "a")
    balances = [b for b in a.get("B") or () if isinstance(b, Mapping)]
    chosen = [b for b in balances if b.get("a") == margin_asset] or balances[:1]
    if not chosen:
        raise StreamMessageError("FUNDING_FEE update without a balance", event)
    positions = [p for p in a.get("P") or () if isinstance(p, Mapping)]
    symbol = str(positions[0].get("s") or "") if positions else ""
    position = _dec(positions[0], "pa", ZERO) if positions else ZERO
    ts = _int(event, "T", 0) or _int(event, "E")
    return (FundingPaid(symbol, _dec(chosen[0], "bc"), ZERO, ZERO, position, ts),)


def parse_user_data(
    raw: str | bytes | Payload,
    symbol_assets: SymbolAssets | None = None,
    margin_asset: str = "USDT",
) -> UserDataMessage:
    """One user-data frame (futures listenKey stream or spot WS API) -> typed message.

    Args:
        raw: The frame: bare event, combined ``{"stream","data"}`` or WS API
            ``{"subscriptionId","event"}``.
        symbol_assets: symbol -> (base, quote), to value commissions in the quote asset.
        margin_asset: Futures asset whose ``bc`` is the funding amount.

    Raises:
        StreamMessageError: Malformed frame, unknown event or execution type.
    """
    message = decode(raw)
    response = _api_response(message)
    if response is not None:
        return response
    event = unwrap(message)
    event_type = event.get("e")
    if not isinstance(event_type, str):
        raise StreamMessageError("frame without an event type", message)
    signal = _control(event, event_type)
    if signal is not None:
        return signal
    event_time = _int(event, "E", 0)
    if event_type == "ORDER_TRADE_UPDATE":
        events = _order_events(_obj(event, "o"), event_time, symbol_assets, spot=False)
    elif event_type == "executionReport":
        events = _order_events(event, event_time, symbol_assets, spot=True)
    elif event_type == "ALGO_UPDATE":
        events = _algo_events(_obj(event, "o"), _int(event, "T", 0) or event_time)
    elif event_type == "ACCOUNT_UPDATE":
        reason = _obj(event, "a").get("m")
        events = _funding(event, margin_asset) if reason == "FUNDING_FEE" else ()
    elif event_type in _PASSIVE_EVENTS:
        events = ()
    else:
        raise StreamMessageError(f"unknown user-data event type {event_type!r}", message)
    return UserEvents(event_type, event_time, events)
