"""Binance REST payloads -> domain records (snapshots, fills, events, account state).

Pure functions over decoded JSON, validated against captured payloads in
``shared/data/binance-fixtures``. Every number is read from Binance's decimal strings into
:class:`~decimal.Decimal` directly, never through float.

Spot and USD-M futures name the same things differently (``cummulativeQuoteQty`` vs
``cumQuote``, ``isBuyer``/``isMaker`` vs ``side``/``maker``, ``LIMIT_MAKER`` vs GTX); each
parser accepts both spellings so the exchange adapter has one code path per operation.
Order types the bot does not use (trailing stops, stop-limits, GTD...) raise
:class:`BinanceParseError` instead of being mapped to something they are not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext
from typing import Any

from adapters.binance.errors import BinanceParseError
from application.ports.exchange import AccountSnapshot, OrderSnapshot, PositionSnapshot
from domain.enums import Liquidity, MarketType, OrderType, Side, TimeInForce
from domain.events import (
    ExecutionEvent,
    FundingPaid,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    RejectReason,
)
from domain.instruments import Instrument
from domain.orders import Fill, OrderStatus

ZERO = Decimal(0)
Payload = Mapping[str, Any]

#: How far an income row's time may lie from its funding time and still be matched.
FUNDING_MATCH_TOLERANCE_MS = 60_000


# ---------------------------------------------------------------------- primitives
def dec(payload: Payload, key: str, default: Decimal | None = None) -> Decimal:
    """``payload[key]`` as an exact Decimal (Binance sends decimals as strings).

    Raises:
        BinanceParseError: The key is missing (and no default) or not a number.
    """
    raw = payload.get(key)
    if raw is None:
        if default is not None:
            return default
        raise BinanceParseError(f"missing {key!r} in {_brief(payload)}")
    if isinstance(raw, float):
        raise BinanceParseError(f"{key}={raw!r} arrived as a float; refusing a lossy value")
    try:
        value = Decimal(str(raw))
    except InvalidOperation as exc:
        raise BinanceParseError(f"{key}={raw!r} is not a number") from exc
    if not value.is_finite():
        raise BinanceParseError(f"{key}={raw!r} is not finite")
    return value


def integer(payload: Payload, key: str) -> int:
    """``payload[key]`` as an int (ids and millisecond times)."""
    raw = payload.get(key)
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise BinanceParseError(f"missing or non-integer {key!r} in {_brief(payload)}")
    try:
        return int(raw)
    except ValueError as exc:
        raise BinanceParseError(f"{key}={raw!r} is not an integer") from exc


def text(payload: Payload, key: str) -> str:
    """``payload[key]`` as a non-empty string."""
    raw = payload.get(key)
    if not isinstance(raw, str) or not raw:
        raise BinanceParseError(f"missing {key!r} in {_brief(payload)}")
    return raw


def _brief(payload: Payload) -> str:
    return repr(dict(payload))[:200]


def event_time(payload: Payload, default: int = 0) -> int:
    """The most specific time an order payload carries, Unix ms.

    ``updateTime`` (query/futures answers) first, then ``transactTime`` (new/cancel
    answers), ``workingTime`` and ``time``.
    """
    for key in ("updateTime", "transactTime", "workingTime", "time"):
        raw = payload.get(key)
        if isinstance(raw, int) and not isinstance(raw, bool) and raw > 0:
            return raw
    return default


def server_time(payload: Payload) -> int:
    """``GET /api/v3/time`` or ``/fapi/v1/time`` -> server time, Unix ms."""
    return integer(payload, "serverTime")


# ---------------------------------------------------------------------- orders
def parse_side(raw: str) -> Side:
    """BUY or SELL."""
    try:
        return Side(raw)
    except ValueError as exc:
        raise BinanceParseError(f"unknown side {raw!r}") from exc


def parse_status(raw: str) -> OrderStatus:
    """Binance's order status (the domain uses Binance's own names)."""
    try:
        return OrderStatus(raw)
    except ValueError as exc:
        raise BinanceParseError(f"unknown order status {raw!r}") from exc


_SPOT_TYPES = {
    "LIMIT": OrderType.LIMIT,
    "LIMIT_MAKER": OrderType.LIMIT,
    "MARKET": OrderType.MARKET,
    "STOP_LOSS": OrderType.STOP_MARKET,
    "TAKE_PROFIT": OrderType.TAKE_PROFIT_MARKET,
}
_FUTURES_TYPES = {
    "LIMIT": OrderType.LIMIT,
    "MARKET": OrderType.MARKET,
    "STOP_MARKET": OrderType.STOP_MARKET,
    "TAKE_PROFIT_MARKET": OrderType.TAKE_PROFIT_MARKET,
}


def parse_order_type(
    raw_type: str, raw_tif: str | None, market: MarketType
) -> tuple[OrderType, TimeInForce | None]:
    """Binance ``type`` (+ ``timeInForce``) -> domain order type and time in force.

    Spot's post-only is a type (LIMIT_MAKER) and becomes LIMIT + GTX, futures' is GTX.
    Only LIMIT orders carry a time in force; Binance echoes ``GTC`` on market and stop
    orders, where it means nothing.

    Raises:
        BinanceParseError: A type or time in force the bot does not use.
    """
    table = _FUTURES_TYPES if market.is_futures else _SPOT_TYPES
    order_type = table.get(raw_type)
    if order_type is None:
        raise BinanceParseError(f"unsupported {market.value} order type {raw_type!r}")
    if order_type is not OrderType.LIMIT:
        return order_type, None
    if raw_type == "LIMIT_MAKER":
        return order_type, TimeInForce.GTX
    try:
        return order_type, TimeInForce(raw_tif or "GTC")
    except ValueError as exc:
        raise BinanceParseError(f"unsupported time in force {raw_tif!r}") from exc


def _positive_or_none(payload: Payload, key: str) -> Decimal | None:
    value = dec(payload, key, ZERO)
    return value if value > 0 else None


def parse_order(payload: Payload, market: MarketType) -> OrderSnapshot:
    """An order answer (new with RESULT/FULL, query, open orders, cancel, futures modify).

    Spot prices and stop prices of ``0`` mean "not set" and become None. A negative spot
    ``cummulativeQuoteQty`` ("not available" for some historical orders) becomes 0.

    Raises:
        BinanceParseError: A required field is missing or the type is unsupported.
    """
    order_type, tif = parse_order_type(text(payload, "type"), payload.get("timeInForce"), market)
    quote_key = "cumQuote" if "cumQuote" in payload else "cummulativeQuoteQty"
    executed_quote = dec(payload, quote_key, ZERO)
    reduce_only = payload.get("reduceOnly", False)
    # Spot cancel answers name the order by ``origClientOrderId``; their ``clientOrderId``
    # is the cancel request's own id.
    cid_key = "origClientOrderId" if payload.get("origClientOrderId") else "clientOrderId"
    return OrderSnapshot(
        client_order_id=text(payload, cid_key),
        exchange_order_id=integer(payload, "orderId"),
        symbol=text(payload, "symbol"),
        side=parse_side(text(payload, "side")),
        order_type=order_type,
        status=parse_status(text(payload, "status")),
        quantity=dec(payload, "origQty"),
        executed_quantity=dec(payload, "executedQty", ZERO),
        executed_quote=executed_quote if executed_quote > 0 else ZERO,
        price=_positive_or_none(payload, "price"),
        stop_price=_positive_or_none(payload, "stopPrice"),
        time_in_force=tif,
        reduce_only=reduce_only is True or reduce_only == "true",
        update_time=event_time(payload),
    )


def fee_in_quote(
    commission: Decimal, commission_asset: str, price: Decimal, instrument: Instrument
) -> Decimal | None:
    """The commission's value in the quote asset, when it follows from the fill alone.

    Quote-asset commission is its own value; base-asset commission (spot buys) is worth
    commission x price. A third asset (BNB) needs that asset's price at trade time, which
    the fill does not carry: None, and the caller supplies it.
    """
    if commission_asset == instrument.quote_asset:
        return commission
    if commission_asset == instrument.base_asset:
        return commission * price
    if not commission:
        return ZERO
    return None


def parse_response_fills(payload: Payload, side: Side, instrument: Instrument) -> list[Fill]:
    """The ``fills`` of a spot FULL new-order answer as domain fills.

    Fills reported in the placement answer happened on arrival, so the order was the
    taker; they carry no time of their own and take the answer's ``transactTime``.
    """
    cid = text(payload, "clientOrderId")
    timestamp = event_time(payload)
    fills: list[Fill] = []
    for raw in payload.get("fills") or ():
        price = dec(raw, "price")
        commission = dec(raw, "commission", ZERO)
        asset = str(raw.get("commissionAsset") or "")
        fills.append(
            Fill(
                trade_id=integer(raw, "tradeId"),
                client_order_id=cid,
                side=side,
                quantity=dec(raw, "qty"),
                price=price,
                fee=commission,
                fee_asset=asset,
                liquidity=Liquidity.TAKER,
                timestamp=timestamp,
                fee_quote=fee_in_quote(commission, asset, price, instrument),
            )
        )
    return fills


def parse_trade(payload: Payload, client_order_id: str, instrument: Instrument) -> Fill:
    """One ``GET /api/v3/myTrades`` or ``GET /fapi/v1/userTrades`` row as a fill.

    Trade rows name the order only by ``orderId``; the caller resolves the client id.
    """
    if "side" in payload:
        side = parse_side(text(payload, "side"))
    else:
        side = Side.BUY if payload.get("isBuyer") else Side.SELL
    maker = payload.get("isMaker", payload.get("maker"))
    price = dec(payload, "price")
    commission = dec(payload, "commission", ZERO)
    asset = str(payload.get("commissionAsset") or "")
    return Fill(
        trade_id=integer(payload, "id"),
        client_order_id=client_order_id,
        side=side,
        quantity=dec(payload, "qty"),
        price=price,
        fee=commission,
        fee_asset=asset,
        liquidity=Liquidity.MAKER if maker else Liquidity.TAKER,
        timestamp=integer(payload, "time"),
        fee_quote=fee_in_quote(commission, asset, price, instrument),
        realized_pnl=dec(payload, "realizedPnl") if "realizedPnl" in payload else None,
    )


def status_events(snapshot: OrderSnapshot, timestamp: int | None = None) -> list[ExecutionEvent]:
    """The closing event a snapshot's status implies (none for open or filled orders).

    Fills are not derivable from a snapshot (it has totals, not trades); the caller adds
    them from the trade history.
    """
    cid = snapshot.client_order_id
    ts = snapshot.update_time if timestamp is None else timestamp
    status = snapshot.status
    if status is OrderStatus.CANCELED:
        return [OrderCanceled(cid, ts)]
    if status is OrderStatus.EXPIRED:
        return [OrderExpired(cid, ts)]
    if status is OrderStatus.EXPIRED_IN_MATCH:
        return [OrderExpired(cid, ts, in_match=True)]
    if status is OrderStatus.REJECTED:
        return [
            OrderRejected(
                cid, RejectReason.INVALID_REQUEST, 0, "the exchange reports status REJECTED", ts
            )
        ]
    return []


def order_events(
    snapshot: OrderSnapshot, fills: Sequence[Fill], accepted: bool = True
) -> list[ExecutionEvent]:
    """Events an order answer implies, in lifecycle order: ack, fills, closing status.

    Args:
        snapshot: The order as Binance reported it.
        fills: Its executions (from the FULL answer or the trade history).
        accepted: Start with an :class:`OrderAccepted` (new orders and resolved unknown
            outcomes; not for an already-acknowledged order being modified).
    """
    events: list[ExecutionEvent] = []
    if accepted and snapshot.status is not OrderStatus.REJECTED:
        cid, order_id = snapshot.client_order_id, snapshot.exchange_order_id
        events.append(OrderAccepted(cid, order_id, snapshot.update_time))
    events.extend(OrderFilled(f) for f in sorted(fills, key=lambda f: f.trade_id))
    events.extend(status_events(snapshot))
    return events


def canceled_client_ids(payload: Iterable[Payload]) -> list[tuple[str, int]]:
    """``DELETE /api/v3/openOrders`` answer -> ``(client order id, time)`` of each cancel.

    Single orders carry their id as ``origClientOrderId`` (``clientOrderId`` is the cancel
    request's own id); order lists nest their legs under ``orderReports``.
    """
    out: list[tuple[str, int]] = []
    for entry in payload:
        reports = entry.get("orderReports")
        for report in reports if isinstance(reports, list) else (entry,):
            if report.get("status") == OrderStatus.CANCELED.value:
                out.append((text(report, "origClientOrderId"), event_time(report)))
    return out


@dataclass(frozen=True, slots=True)
class CancelReplaceOutcome:
    """What ``POST /api/v3/order/cancelReplace`` did, from its success or error body.

    Attributes:
        canceled: The old order was cancelled.
        cancel_time: Time of the cancel, when it happened.
        new_order: The new order's answer when it was placed, else None.
        failure: ``(code, message)`` of the half that failed (the cancel's when the cancel
            failed, else the new order's), or None when both succeeded.
    """

    canceled: bool
    cancel_time: int
    new_order: Payload | None
    failure: tuple[int, str] | None


def parse_cancel_replace(body: Payload) -> CancelReplaceOutcome:
    """A cancel-replace answer: the 200 body, or the ``data`` of a -2021/-2022 error.

    Raises:
        BinanceParseError: ``cancelResult``/``newOrderResult`` are missing.
    """
    cancel_result = text(body, "cancelResult")
    new_result = text(body, "newOrderResult")
    cancel = body.get("cancelResponse") or {}
    new = body.get("newOrderResponse") or {}
    canceled = cancel_result == "SUCCESS"
    placed = new_result == "SUCCESS"
    failure: tuple[int, str] | None = None
    if not canceled:
        failure = (int(cancel.get("code", 0)), str(cancel.get("msg", "cancel failed")))
    elif not placed:
        failure = (int(new.get("code", 0)), str(new.get("msg", f"new order {new_result}")))
    return CancelReplaceOutcome(
        canceled=canceled,
        cancel_time=event_time(cancel) if canceled else 0,
        new_order=new if placed else None,
        failure=failure,
    )


# ---------------------------------------------------------------------- account
def parse_spot_account(payload: Payload) -> AccountSnapshot:
    """``GET /api/v3/account`` -> balances ``{asset: (free, locked)}``, no positions."""
    balances = {
        text(b, "asset"): (dec(b, "free"), dec(b, "locked")) for b in payload.get("balances", ())
    }
    return AccountSnapshot(balances=balances)


def parse_futures_balances(payload: Iterable[Payload]) -> dict[str, tuple[Decimal, Decimal]]:
    """``GET /fapi/v3/balance`` (or v2) -> ``{asset: (wallet balance, 0)}``.

    The port reports a futures wallet balance as "free": margin in use is not a locked
    balance, it is what the position and orders require of the wallet.
    """
    return {text(b, "asset"): (dec(b, "balance"), ZERO) for b in payload}


def parse_futures_account_balances(payload: Payload) -> dict[str, tuple[Decimal, Decimal]]:
    """``GET /fapi/v3/account`` (or v2) ``assets`` -> ``{asset: (walletBalance, 0)}``."""
    return {text(a, "asset"): (dec(a, "walletBalance"), ZERO) for a in payload.get("assets", ())}


def parse_position_risk(payload: Iterable[Payload]) -> list[PositionSnapshot]:
    """``GET /fapi/v3/positionRisk`` (or v2) -> the non-flat positions.

    Flat entries are dropped (v3 lists symbols with open orders, v2 without a symbol
    filter every contract). In hedge mode the LONG and SHORT legs come as separate
    snapshots with signed quantities (SHORT negative, as Binance reports them), so a sum
    per symbol is the net position. v3 rows carry no ``leverage``: it is the notional over
    the position's initial margin (Binance computes that margin as notional / leverage).
    """
    out: list[PositionSnapshot] = []
    for p in payload:
        quantity = dec(p, "positionAmt")
        if not quantity:
            continue
        out.append(
            PositionSnapshot(
                symbol=text(p, "symbol"),
                quantity=quantity,
                entry_price=dec(p, "entryPrice"),
                mark_price=dec(p, "markPrice", ZERO),
                unrealized_pnl=dec(p, "unRealizedProfit", ZERO),
                leverage=_position_leverage(p),
            )
        )
    return out


def _position_leverage(row: Payload) -> int:
    """v2's ``leverage``, else v3's ``|notional| / positionInitialMargin`` (0: unknown)."""
    if "leverage" in row:
        return int(dec(row, "leverage", ZERO))
    margin = dec(row, "positionInitialMargin", ZERO)
    if not margin:
        return 0
    return int((abs(dec(row, "notional", ZERO)) / margin).to_integral_value())


# ---------------------------------------------------------------------- funding
def parse_funding_income(
    row: Payload,
    rates: Iterable[Payload] = (),
    step_size: Decimal | None = None,
) -> FundingPaid:
    """One ``GET /fapi/v1/income`` FUNDING_FEE row as a :class:`FundingPaid`.

    The income row carries only the signed amount. Rate and mark price come from the
    ``GET /fapi/v1/fundingRate`` row nearest in time (within a minute); the position is then
    derived from Binance's formula ``amount = -position x mark x rate`` and rounded to the
    lot step. Without a matching rate row they are 0: the amount, the only figure the
    account books, is always exact.

    Raises:
        BinanceParseError: The row is not a FUNDING_FEE row or lacks a field.
    """
    if row.get("incomeType") != "FUNDING_FEE":
        raise BinanceParseError(f"not a FUNDING_FEE income row: {_brief(row)}")
    amount = dec(row, "income")
    timestamp = integer(row, "time")
    nearest: Payload | None = None
    best = FUNDING_MATCH_TOLERANCE_MS + 1
    for rate_row in rates:
        distance = abs(integer(rate_row, "fundingTime") - timestamp)
        if distance < best:
            nearest, best = rate_row, distance
    rate = mark = position = ZERO
    if nearest is not None:
        rate = dec(nearest, "fundingRate")
        mark = dec(nearest, "markPrice", ZERO)
        if rate and mark:
            with localcontext() as ctx:
                ctx.prec = 50
                position = -amount / (mark * rate)
                if step_size:
                    steps = (position / step_size).to_integral_value(ROUND_HALF_EVEN)
                    position = steps * step_size
    return FundingPaid(
        symbol=text(row, "symbol"),
        amount=amount,
        rate=rate,
        mark_price=mark,
        position_quantity=position,
        timestamp=timestamp,
    )


#: Futures ``algoStatus`` -> the order status it stands for (TRIGGERED/FINISHED: the
#: triggered order's own status is more precise when it can be read).
_ALGO_STATUSES = {
    "NEW": OrderStatus.NEW,
    "TRIGGERING": OrderStatus.NEW,
    "TRIGGERED": OrderStatus.FILLED,
    "FINISHED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELED,
    "EXPIRED": OrderStatus.EXPIRED,
    "REJECTED": OrderStatus.REJECTED,
}


def parse_algo_order(payload: Payload, market: MarketType) -> OrderSnapshot:
    """A futures algo (conditional) order answer as an order snapshot.

    The exchange order id is the ``algoId``; the client id the ``clientAlgoId``. A triggered
    order counts as filled at ``actualPrice`` (its own order tells more, see
    :func:`algo_triggered_order_id`).

    Raises:
        BinanceParseError: A required field is missing, or the type or status is unknown.
    """
    raw_type = payload.get("orderType") or payload.get("type")
    order_type, _ = parse_order_type(str(raw_type or ""), None, market)
    raw_status = text(payload, "algoStatus")
    status = _ALGO_STATUSES.get(raw_status)
    if status is None:
        raise BinanceParseError(f"unknown algo status {raw_status!r}")
    quantity = dec(payload, "quantity")
    executed = quantity if status is OrderStatus.FILLED else ZERO
    actual = dec(payload, "actualPrice", ZERO) if payload.get("actualPrice") else ZERO
    reduce_only = payload.get("reduceOnly", False)
    return OrderSnapshot(
        client_order_id=text(payload, "clientAlgoId"),
        exchange_order_id=integer(payload, "algoId"),
        symbol=text(payload, "symbol"),
        side=parse_side(text(payload, "side")),
        order_type=order_type,
        status=status,
        quantity=quantity,
        executed_quantity=executed,
        executed_quote=executed * actual,
        price=None,
        stop_price=_positive_or_none(payload, "triggerPrice"),
        time_in_force=None,
        reduce_only=reduce_only is True or reduce_only == "true",
        update_time=event_time(payload),
    )


def algo_triggered_order_id(payload: Payload) -> int | None:
    """``actualOrderId`` of a triggered algo order (None before its trigger)."""
    raw = payload.get("actualOrderId")
    if isinstance(raw, bool) or not isinstance(raw, int | str) or raw in ("", "0", 0):
        return None
    try:
        return int(raw)
    except ValueError:
        return None
