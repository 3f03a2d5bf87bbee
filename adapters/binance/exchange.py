"""The Binance exchange adapter: :class:`AsyncExchangePort` over the REST API.

One :class:`BinanceExchange` serves one market (spot or USD-M futures) through one
:class:`~adapters.binance.rest.BinanceRestClient`. Its rules:

* **Refusals are events.** Any definite refusal of an order request (Binance answered with
  an error, or a local check stopped it) comes back as ``OrderRejected`` /
  ``CancelRejected`` / ``ModifyRejected`` with Binance's code and message, never as an
  exception: a rejected order is a normal outcome the strategy must see.
* **Unknown outcomes are resolved, never resent.** A timeout, dropped connection, 5xx or
  -1000/-1006/-1007 on place, modify or cancel may hide an executed request. The adapter then
  queries the client order id (retrying the query with back-off) until the order shows the
  effect, or until the request's ``recvWindow`` has certainly passed: Binance re-checks the
  timestamp right before the matching engine, so a request not executed by then never will
  be. The answer is the events the queried state implies (for a new order: ``NEW`` ->
  accepted; ``FILLED`` -> accepted plus the fills from the trade history; not found ->
  ``OrderRejected`` with reason ``NEVER_SENT``). If even the queries keep failing,
  :class:`~adapters.binance.errors.OutcomeUnresolved` is raised and the intent stays pending
  for reconciliation.
* **Spot modify is cancel-replace** (``POST /api/v3/order/cancelReplace``, mode
  STOP_ON_FAILURE, ``cancelRestrictions=ONLY_NEW``, new order under the same client id).
  Success returns ``OrderModified`` followed by ``OrderAccepted`` carrying the *new*
  exchange order id (cancel-replace creates a new order; the journal must learn its id).
  If the cancel went through but the new order was refused, the answer is
  ``OrderCanceled`` + ``ModifyRejected``: the order is gone and the caller learns why.
  ``ONLY_NEW`` keeps a partially filled order from being replaced by a full-size one (the
  domain's modify quantity is the new *total*); such a modify is refused by Binance with
  -2011 and comes back as ``ModifyRejected``. Futures modify in place (``PUT
  /fapi/v1/order``).
* **Futures conditional orders** now live in the Algo Order API (``POST
  /fapi/v1/algoOrder``; ``/fapi/v1/order`` answers -4120). That API is not implemented:
  STOP_MARKET / TAKE_PROFIT_MARKET on futures are refused locally, nothing is sent.

Trade rows name orders only by exchange id, so the adapter remembers every
order it sees (client id, side, type, exchange id) and looks up unknown ids with one query.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from adapters.binance.errors import (
    BinanceError,
    BinanceParseError,
    ExchangeRejected,
    IpBanned,
    OutcomeUnresolved,
    RateLimited,
    ServerBusy,
    UnknownOrder,
    UnknownOutcome,
    reject_reason,
)
from adapters.binance.exchange_info import instrument_from_exchange_info
from adapters.binance.parsers import (
    canceled_client_ids,
    event_time,
    integer,
    order_events,
    parse_cancel_replace,
    parse_funding_income,
    parse_futures_balances,
    parse_order,
    parse_position_risk,
    parse_response_fills,
    parse_spot_account,
    parse_trade,
    status_events,
    text,
)
from adapters.binance.rate_limits import rate_limits_from_exchange_info
from adapters.binance.rest import BinanceRestClient
from application.ports.exchange import AccountSnapshot, OrderRequest, OrderSnapshot
from domain.enums import OrderType, Side, TimeInForce
from domain.events import (
    CancelRejected,
    ExecutionEvent,
    FundingPaid,
    ModifyRejected,
    OrderAccepted,
    OrderCanceled,
    OrderModified,
    OrderRejected,
    RejectReason,
)
from domain.instruments import Instrument
from domain.orders import Fill, OrderStatus

_log = logging.getLogger(__name__)

#: Binance's page size for trade and income history.
PAGE = 1000

_K = TypeVar("_K")
_V = TypeVar("_V")


@dataclass(frozen=True, slots=True)
class _Endpoints:
    """Paths and request weights of one market (reference section 4)."""

    order: str
    open_orders: str
    trades: str
    exchange_info: str
    w_place: int
    w_query: int
    w_cancel: int
    w_open_orders: int
    w_trades: int
    w_trades_by_order: int
    w_exchange_info: int


_SPOT = _Endpoints(
    order="/api/v3/order",
    open_orders="/api/v3/openOrders",
    trades="/api/v3/myTrades",
    exchange_info="/api/v3/exchangeInfo",
    w_place=1,
    w_query=4,
    w_cancel=1,
    w_open_orders=6,
    w_trades=20,
    w_trades_by_order=5,
    w_exchange_info=20,
)
_FUTURES = _Endpoints(
    order="/fapi/v1/order",
    open_orders="/fapi/v1/openOrders",
    trades="/fapi/v1/userTrades",
    exchange_info="/fapi/v1/exchangeInfo",
    w_place=1,  # 0 IP weight per the docs; 1 keeps a margin
    w_query=1,
    w_cancel=1,
    w_open_orders=1,
    w_trades=5,
    w_trades_by_order=5,
    w_exchange_info=1,
)

_FUTURES_ALGO_ONLY = (
    "local check, nothing sent: conditional orders (STOP_MARKET/TAKE_PROFIT_MARKET) on "
    "USD-M futures must go through the Algo Order API (POST /fapi/v1/algoOrder; "
    "/fapi/v1/order answers -4120 STOP_ORDER_SWITCH_ALGO), which this adapter does not "
    "implement yet"
)


@dataclass(frozen=True, slots=True)
class _OrderInfo:
    """What a modify or a trade lookup needs to know about an order we have seen."""

    client_order_id: str
    exchange_order_id: int
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce | None


class _Lru(OrderedDict[_K, _V]):
    """A dict that forgets its oldest entries beyond ``size`` (bounded memory in a long run)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self._size = size

    def put(self, key: _K, value: _V) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self._size:
            self.popitem(last=False)


class BinanceExchange:
    """:class:`~application.ports.exchange.AsyncExchangePort` for Binance spot or USD-M.

    Args:
        client: The REST client of the market to trade.
        query_attempts: Failed queries tolerated while resolving an unknown outcome before
            giving up with :class:`OutcomeUnresolved`.
        backoff_initial: First pause between resolution queries, seconds (doubles).
        backoff_max: Longest pause between resolution queries, seconds.
        resolve_grace_ms: Added to ``recvWindow`` before "not found" counts as final,
            covering the error of the measured clock offset.
        cache_size: Orders remembered for modifies and trade lookups.
    """

    def __init__(
        self,
        client: BinanceRestClient,
        *,
        query_attempts: int = 8,
        backoff_initial: float = 0.25,
        backoff_max: float = 4.0,
        resolve_grace_ms: int = 1000,
        cache_size: int = 10_000,
    ) -> None:
        self._client = client
        self._market = client.market_type
        self._futures = self._market.is_futures
        self._ep = _FUTURES if self._futures else _SPOT
        self._query_attempts = query_attempts
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._grace_ms = resolve_grace_ms
        self._instruments: dict[str, Instrument] = {}
        self._orders: _Lru[str, _OrderInfo] = _Lru(cache_size)
        self._by_exchange_id: _Lru[tuple[str, int], str] = _Lru(cache_size)

    @property
    def client(self) -> BinanceRestClient:
        """The REST client (time sync, limiter)."""
        return self._client

    async def aclose(self) -> None:
        """Close the REST client."""
        await self._client.aclose()

    def _now(self) -> int:
        return self._client.server_time_ms()

    # ================================================================== reads
    async def instrument(self, symbol: str) -> Instrument:
        """Filters and assets of ``symbol`` from exchangeInfo (cached).

        exchangeInfo's ``rateLimits`` replace the limiter's defaults on the way.

        Raises:
            KeyError: Binance does not list the symbol.
        """
        cached = self._instruments.get(symbol)
        if cached is not None:
            return cached
        params = () if self._futures else (("symbol", symbol),)
        info = await self._client.public(
            "GET", self._ep.exchange_info, params, weight=self._ep.w_exchange_info
        )
        limits = rate_limits_from_exchange_info(info.get("rateLimits", ()))
        if limits:
            self._client.limiter.set_limits(limits)
        entry = next((s for s in info.get("symbols", ()) if s.get("symbol") == symbol), None)
        if entry is None:
            raise KeyError(f"{symbol} is not listed on Binance {self._market.value}")
        instrument = instrument_from_exchange_info(entry, self._market)
        self._instruments[symbol] = instrument
        return instrument

    async def query_order(self, symbol: str, client_order_id: str) -> OrderSnapshot | None:
        """The order with this client id, or None (-2013; spot -2026 archived alike).

        An archived spot order was cancelled or expired without fills more than 90 days
        ago, so for the journal it is equivalent to an order that never executed.
        """
        try:
            payload = await self._client.signed(
                "GET",
                self._ep.order,
                (("symbol", symbol), ("origClientOrderId", client_order_id)),
                weight=self._ep.w_query,
            )
        except UnknownOrder:
            return None
        snapshot = parse_order(payload, self._market)
        self._remember(snapshot)
        return snapshot

    async def open_orders(self, symbol: str) -> list[OrderSnapshot]:
        """All open orders on ``symbol``.

        Orders of types the bot never places (trailing stops, stop-limits...) cannot be
        represented as snapshots; they are skipped with a warning (they are not ours).
        """
        rows = await self._client.signed(
            "GET", self._ep.open_orders, (("symbol", symbol),), weight=self._ep.w_open_orders
        )
        out: list[OrderSnapshot] = []
        for row in rows:
            try:
                snapshot = parse_order(row, self._market)
            except BinanceParseError as exc:
                _log.warning("skipping open order %s: %s", row.get("clientOrderId"), exc)
                continue
            self._remember(snapshot)
            out.append(snapshot)
        return out

    async def account(self) -> AccountSnapshot:
        """Spot: free/locked balances. Futures: wallet balances and non-flat positions."""
        if not self._futures:
            payload = await self._client.signed(
                "GET", "/api/v3/account", (("omitZeroBalances", True),), weight=20
            )
            return parse_spot_account(payload)
        balances = await self._client.signed("GET", "/fapi/v2/balance", weight=5)
        positions = await self._client.signed("GET", "/fapi/v2/positionRisk", weight=5)
        return AccountSnapshot(
            balances=parse_futures_balances(balances), positions=parse_position_risk(positions)
        )

    async def trades_since(self, symbol: str, after_trade_id: int) -> list[Fill]:
        """Our fills with trade id above ``after_trade_id``, oldest first (paged by 1000).

        A commission paid in a third asset (BNB) leaves ``fee_quote`` None: its quote value
        needs that asset's price at trade time, which the caller supplies.
        """
        instrument = await self.instrument(symbol)
        from_id = max(after_trade_id + 1, 0)
        fills: list[Fill] = []
        while True:
            rows = await self._client.signed(
                "GET",
                self._ep.trades,
                (("symbol", symbol), ("fromId", from_id), ("limit", PAGE)),
                weight=self._ep.w_trades,
            )
            for row in rows:
                cid = await self._client_id(symbol, integer(row, "orderId"))
                fills.append(parse_trade(row, cid, instrument))
            if len(rows) < PAGE:
                break
            from_id = integer(rows[-1], "id") + 1
        fills.sort(key=lambda f: f.trade_id)
        return [f for f in fills if f.trade_id > after_trade_id]

    async def funding_since(self, symbol: str, after_ms: int) -> list[FundingPaid]:
        """Futures funding settlements after ``after_ms`` (income type FUNDING_FEE).

        Amounts come from the income history; rate, mark price and position are matched
        from the public funding-rate history (see :func:`parse_funding_income`). Binance
        keeps income for three months; with ``after_ms < 0`` the last seven days are read.
        Spot has no funding: always empty, no request.
        """
        if not self._futures:
            return []
        rows: list[dict[str, Any]] = []
        start = after_ms + 1 if after_ms >= 0 else None
        while True:
            page = await self._client.signed(
                "GET",
                "/fapi/v1/income",
                (
                    ("symbol", symbol),
                    ("incomeType", "FUNDING_FEE"),
                    ("startTime", start),
                    ("limit", PAGE),
                ),
                weight=30,
            )
            rows.extend(page)
            if len(page) < PAGE:
                break
            start = integer(page[-1], "time") + 1
        rows = [r for r in rows if r.get("symbol") == symbol and integer(r, "time") > after_ms]
        if not rows:
            return []
        times = [integer(r, "time") for r in rows]
        rates = await self._client.public(
            "GET",
            "/fapi/v1/fundingRate",
            (
                ("symbol", symbol),
                ("startTime", min(times) - 60_000),
                ("endTime", max(times) + 60_000),
                ("limit", PAGE),
            ),
        )
        step = (await self.instrument(symbol)).lot_size.step_size
        out = [parse_funding_income(r, rates, step) for r in rows]
        out.sort(key=lambda f: f.timestamp)
        return out

    # ================================================================== place
    async def place_order(self, request: OrderRequest) -> list[ExecutionEvent]:
        """Send a new order; its ack or reject, immediate fills and closing status.

        Spot asks for the FULL answer (fills included); futures for RESULT, whose fills are
        read from the trade history when the order executed on arrival.
        """
        cid = request.client_order_id
        local = self._local_problem(request)
        if local is not None:
            code, message = local
            return [OrderRejected(cid, RejectReason.INVALID_REQUEST, code, message, self._now())]
        refused = await self._prefetch_instrument(request.symbol)
        if refused is not None:
            code, message = refused
            reason = RejectReason.INVALID_REQUEST if code == -1121 else RejectReason.RANDOM_FAULT
            return [OrderRejected(cid, reason, code, message, self._now())]
        params = self._futures_params(request) if self._futures else self._spot_params(request)
        try:
            payload = await self._client.signed(
                "POST", self._ep.order, params, weight=self._ep.w_place, orders=1
            )
        except ExchangeRejected as exc:
            return [OrderRejected(cid, exc.reason, exc.code, exc.message, self._now())]
        except UnknownOutcome as exc:
            return await self._resolve_place(request, exc)
        return await self._answer_events(payload, accepted=True)

    async def _prefetch_instrument(self, symbol: str) -> tuple[int, str] | None:
        """Load the instrument before sending, so no answer is lost to a failing read later.

        Returns ``(code, message)`` when it cannot be loaded (nothing is sent then).
        """
        try:
            await self.instrument(symbol)
        except KeyError:
            return -1121, "Invalid symbol."
        except BinanceError as exc:
            return exc.code, f"local: exchangeInfo unavailable, nothing sent: {exc.message}"
        return None

    def _local_problem(self, request: OrderRequest) -> tuple[int, str] | None:
        """Requests Binance would refuse that are cheaper to refuse here (code, message)."""
        if self._futures and request.order_type.is_conditional:
            return -4120, _FUTURES_ALGO_ONLY
        if not self._futures and request.reduce_only:
            return -1106, "local check, nothing sent: parameter 'reduceOnly' is futures-only"
        return None

    @staticmethod
    def _spot_params(request: OrderRequest) -> list[tuple[str, Any]]:
        otype = request.order_type
        tif = request.time_in_force
        if otype is OrderType.LIMIT:
            wire_type = "LIMIT_MAKER" if tif is TimeInForce.GTX else "LIMIT"
            tif = None if tif is TimeInForce.GTX else tif
        else:
            wire_type = {
                OrderType.MARKET: "MARKET",
                OrderType.STOP_MARKET: "STOP_LOSS",
                OrderType.TAKE_PROFIT_MARKET: "TAKE_PROFIT",
            }[otype]
            tif = None
        return [
            ("symbol", request.symbol),
            ("side", request.side),
            ("type", wire_type),
            ("timeInForce", tif),
            ("quantity", request.quantity),
            ("price", request.price),
            ("stopPrice", request.stop_price),
            ("newClientOrderId", request.client_order_id),
            ("newOrderRespType", "FULL"),
        ]

    @staticmethod
    def _futures_params(request: OrderRequest) -> list[tuple[str, Any]]:
        limit = request.order_type is OrderType.LIMIT
        return [
            ("symbol", request.symbol),
            ("side", request.side),
            ("type", request.order_type),
            ("timeInForce", request.time_in_force if limit else None),
            ("quantity", request.quantity),
            ("price", request.price),
            ("reduceOnly", True if request.reduce_only else None),
            ("newClientOrderId", request.client_order_id),
            ("newOrderRespType", "RESULT"),
        ]

    async def _resolve_place(
        self, request: OrderRequest, cause: UnknownOutcome
    ) -> list[ExecutionEvent]:
        cid = request.client_order_id
        _log.warning("place %s: outcome unknown (%s); querying", cid, cause)
        snapshot = await self._settle(request.symbol, cid, lambda s: s is not None, cause)
        if snapshot is None:
            return [
                OrderRejected(
                    cid,
                    RejectReason.NEVER_SENT,
                    cause.code,
                    f"outcome unknown ({cause.message}); the order was not found on the "
                    "exchange after its recvWindow passed, so it was never executed",
                    self._now(),
                )
            ]
        return await self._snapshot_events(snapshot, accepted=True)

    # ================================================================== cancel
    async def cancel_order(self, symbol: str, client_order_id: str) -> list[ExecutionEvent]:
        """Cancel one order; an unknown or closed order yields CancelRejected (-2011)."""
        cid = client_order_id
        try:
            payload = await self._client.signed(
                "DELETE",
                self._ep.order,
                (("symbol", symbol), ("origClientOrderId", cid)),
                weight=self._ep.w_cancel,
            )
        except ExchangeRejected as exc:
            return [CancelRejected(cid, exc.reason, exc.code, exc.message, self._now())]
        except UnknownOutcome as exc:
            return await self._resolve_cancel(symbol, cid, exc)
        canceled: list[ExecutionEvent] = [OrderCanceled(cid, event_time(payload, self._now()))]
        try:
            snapshot = parse_order(payload, self._market)
        except BinanceParseError:
            return canceled  # a foreign order type: the cancel itself succeeded
        self._remember(snapshot)
        return status_events(snapshot) or canceled

    async def _resolve_cancel(
        self, symbol: str, cid: str, cause: UnknownOutcome
    ) -> list[ExecutionEvent]:
        _log.warning("cancel %s: outcome unknown (%s); querying", cid, cause)
        snapshot = await self._settle(
            symbol, cid, lambda s: s is None or s.status.is_terminal, cause
        )
        if snapshot is None:
            return [
                CancelRejected(
                    cid, RejectReason.UNKNOWN_ORDER, -2013, "Order does not exist.", self._now()
                )
            ]
        if snapshot.status.is_terminal:
            return await self._snapshot_events(snapshot, accepted=False)
        return [
            CancelRejected(
                cid,
                RejectReason.NEVER_SENT,
                cause.code,
                f"cancel outcome unknown ({cause.message}); the order is still open after the "
                "request's recvWindow passed, so the cancel was not applied",
                self._now(),
            )
        ]

    async def cancel_all_orders(self, symbol: str) -> list[ExecutionEvent]:
        """Cancel every open order on ``symbol``; one event per order.

        The open orders are listed first, so that every order gets an answer even when the
        bulk cancel's own answer does not name them (futures answers only "done") or its
        outcome is unknown: each order not reported cancelled is then queried.
        """
        before = await self.open_orders(symbol)
        if not before:
            return []
        path = "/fapi/v1/allOpenOrders" if self._futures else "/api/v3/openOrders"
        reported: list[tuple[str, int]] = []
        failure: BinanceError | None = None
        try:
            payload = await self._client.signed("DELETE", path, (("symbol", symbol),), weight=1)
        except UnknownOrder:
            pass  # spot -2011: nothing left to cancel (filled meanwhile); queries tell
        except ExchangeRejected as exc:
            now = self._now()
            return [
                CancelRejected(s.client_order_id, exc.reason, exc.code, exc.message, now)
                for s in before
            ]
        except UnknownOutcome as exc:
            failure = exc
        else:
            if isinstance(payload, list):
                reported = canceled_client_ids(payload)
        events: list[ExecutionEvent] = [OrderCanceled(cid, ts) for cid, ts in reported]
        done = {cid for cid, _ in reported}
        for snap in before:
            if snap.client_order_id in done:
                continue
            if failure is not None:
                cause = UnknownOutcome(failure.code, failure.message)
                events += await self._resolve_cancel(symbol, snap.client_order_id, cause)
                continue
            now_snap = await self.query_order(symbol, snap.client_order_id)
            if now_snap is not None and now_snap.status.is_terminal:
                events += await self._snapshot_events(now_snap, accepted=False)
            elif now_snap is not None:
                events.append(
                    CancelRejected(
                        snap.client_order_id,
                        RejectReason.INVALID_REQUEST,
                        0,
                        "still open after cancel-all",
                        self._now(),
                    )
                )
        return events

    # ================================================================== modify
    async def modify_order(
        self, symbol: str, client_order_id: str, price: Decimal, quantity: Decimal
    ) -> list[ExecutionEvent]:
        """Change a resting LIMIT order: futures in place, spot by cancel-replace.

        ``quantity`` is the new total quantity. See the module docstring for the events
        each outcome produces.
        """
        cid = client_order_id
        refused = await self._prefetch_instrument(symbol)
        if refused is not None:
            code, message = refused
            reason = RejectReason.INVALID_REQUEST if code == -1121 else RejectReason.RANDOM_FAULT
            return [ModifyRejected(cid, reason, code, message, self._now())]
        info = self._orders.get(cid)
        if info is None:
            try:
                snapshot = await self.query_order(symbol, cid)
            except BinanceError as exc:
                # Nothing was sent: the modify is definitely not applied.
                reason = getattr(exc, "reason", RejectReason.RANDOM_FAULT)
                message = f"local: order lookup failed, nothing sent: {exc.message}"
                return [ModifyRejected(cid, reason, exc.code, message, self._now())]
            if snapshot is None:
                return [
                    ModifyRejected(
                        cid, RejectReason.UNKNOWN_ORDER, -2013, "Order does not exist.", self._now()
                    )
                ]
            info = self._orders[cid]
        if info.order_type is not OrderType.LIMIT:
            return [
                ModifyRejected(
                    cid,
                    RejectReason.INVALID_REQUEST,
                    -5025 if self._futures else 0,
                    "local check, nothing sent: only LIMIT orders can be modified",
                    self._now(),
                )
            ]
        if self._futures:
            return await self._modify_futures(symbol, info, price, quantity)
        return await self._cancel_replace(symbol, info, price, quantity)

    async def _modify_futures(
        self, symbol: str, info: _OrderInfo, price: Decimal, quantity: Decimal
    ) -> list[ExecutionEvent]:
        cid = info.client_order_id
        params = (
            ("symbol", symbol),
            ("origClientOrderId", cid),
            ("side", info.side),
            ("quantity", quantity),
            ("price", price),
        )
        try:
            payload = await self._client.signed("PUT", "/fapi/v1/order", params, 1, orders=1)
        except ExchangeRejected as exc:
            return [ModifyRejected(cid, exc.reason, exc.code, exc.message, self._now())]
        except UnknownOutcome as exc:
            return await self._resolve_modify_futures(symbol, cid, price, quantity, exc)
        snapshot = parse_order(payload, self._market)
        self._remember(snapshot)
        return await self._modified_events(snapshot, price, quantity)

    async def _modified_events(
        self, snapshot: OrderSnapshot, price: Decimal, quantity: Decimal
    ) -> list[ExecutionEvent]:
        """After a futures modify: canceled (quantity at or below executed), or modified."""
        if snapshot.status is OrderStatus.CANCELED:
            return status_events(snapshot)
        modified = OrderModified(
            snapshot.client_order_id,
            snapshot.price or price,
            snapshot.quantity or quantity,
            snapshot.update_time or self._now(),
        )
        return [modified, *await self._snapshot_events(snapshot, accepted=False)]

    async def _resolve_modify_futures(
        self, symbol: str, cid: str, price: Decimal, quantity: Decimal, cause: UnknownOutcome
    ) -> list[ExecutionEvent]:
        _log.warning("modify %s: outcome unknown (%s); querying", cid, cause)

        def settled(s: OrderSnapshot | None) -> bool:
            return s is None or s.status.is_terminal or (s.price, s.quantity) == (price, quantity)

        snapshot = await self._settle(symbol, cid, settled, cause)
        if snapshot is None:
            return [
                ModifyRejected(
                    cid, RejectReason.UNKNOWN_ORDER, -2013, "Order does not exist.", self._now()
                )
            ]
        if (snapshot.price, snapshot.quantity) == (price, quantity):
            return await self._modified_events(snapshot, price, quantity)
        if snapshot.status.is_terminal:
            return await self._snapshot_events(snapshot, accepted=False)
        return [self._modify_not_applied(cid, cause)]

    def _modify_not_applied(
        self, cid: str, cause: BinanceError, detail: str = ""
    ) -> ModifyRejected:
        return ModifyRejected(
            cid,
            RejectReason.NEVER_SENT,
            cause.code,
            f"modify outcome unknown ({cause.message}); "
            + (detail or "the order is unchanged after the request's recvWindow passed")
            + ", so the modify was not applied",
            self._now(),
        )

    async def _cancel_replace(
        self, symbol: str, info: _OrderInfo, price: Decimal, quantity: Decimal
    ) -> list[ExecutionEvent]:
        cid = info.client_order_id
        post_only = info.time_in_force is TimeInForce.GTX
        params = (
            ("symbol", symbol),
            ("side", info.side),
            ("type", "LIMIT_MAKER" if post_only else "LIMIT"),
            ("timeInForce", None if post_only else (info.time_in_force or TimeInForce.GTC)),
            ("quantity", quantity),
            ("price", price),
            ("cancelReplaceMode", "STOP_ON_FAILURE"),
            ("cancelOrigClientOrderId", cid),
            ("cancelRestrictions", "ONLY_NEW"),
            ("newClientOrderId", cid),
            ("newOrderRespType", "FULL"),
        )
        try:
            body = await self._client.signed(
                "POST", "/api/v3/order/cancelReplace", params, weight=1, orders=1
            )
        except ExchangeRejected as exc:
            data = exc.payload.get("data")
            if exc.code not in (-2021, -2022) or not isinstance(data, dict):
                return [ModifyRejected(cid, exc.reason, exc.code, exc.message, self._now())]
            body = data
        except UnknownOutcome as exc:
            return await self._resolve_cancel_replace(symbol, info, price, quantity, exc)
        outcome = parse_cancel_replace(body)
        if outcome.new_order is not None:
            return await self._replaced_events(outcome.new_order, cid, price, quantity)
        events: list[ExecutionEvent] = []
        if outcome.canceled:
            events.append(OrderCanceled(cid, outcome.cancel_time or self._now()))
        code, message = outcome.failure or (0, "cancel-replace failed")
        reason = reject_reason(code, message, self._market)
        events.append(ModifyRejected(cid, reason, code, message, self._now()))
        return events

    async def _replaced_events(
        self, new_order: Any, cid: str, price: Decimal, quantity: Decimal
    ) -> list[ExecutionEvent]:
        """The new leg of a successful cancel-replace: modified, then the new order's ack."""
        timestamp = event_time(new_order, self._now())
        events: list[ExecutionEvent] = [OrderModified(cid, price, quantity, timestamp)]
        if "status" in new_order:
            events += await self._answer_events(new_order, accepted=True)
        else:  # an ACK-only answer
            events.append(OrderAccepted(cid, integer(new_order, "orderId"), timestamp))
        return events

    async def _resolve_cancel_replace(
        self,
        symbol: str,
        info: _OrderInfo,
        price: Decimal,
        quantity: Decimal,
        cause: UnknownOutcome,
    ) -> list[ExecutionEvent]:
        cid = info.client_order_id
        old_id = info.exchange_order_id
        _log.warning("cancel-replace %s: outcome unknown (%s); querying", cid, cause)

        def settled(s: OrderSnapshot | None) -> bool:
            return s is None or s.exchange_order_id != old_id or s.status.is_terminal

        snapshot = await self._settle(symbol, cid, settled, cause)
        if snapshot is not None and snapshot.exchange_order_id == old_id:
            if not snapshot.status.is_terminal:
                return [self._modify_not_applied(cid, cause)]
            # The old order is closed; a replacement under the same client id may exist but
            # the query can still answer with the old one: the open orders settle it.
            replacement = next(
                (
                    s
                    for s in await self.open_orders(symbol)
                    if s.client_order_id == cid and s.exchange_order_id != old_id
                ),
                None,
            )
            if replacement is None:
                closing = await self._snapshot_events(snapshot, accepted=False)
                detail = f"the order is {snapshot.status.value} and no replacement was found"
                return [*closing, self._modify_not_applied(cid, cause, detail)]
            snapshot = replacement
        if snapshot is None:
            return [
                ModifyRejected(
                    cid, RejectReason.UNKNOWN_ORDER, -2013, "Order does not exist.", self._now()
                )
            ]
        modified = OrderModified(cid, price, quantity, snapshot.update_time or self._now())
        return [modified, *await self._snapshot_events(snapshot, accepted=True)]

    # ================================================================== helpers
    async def _answer_events(self, payload: Any, accepted: bool) -> list[ExecutionEvent]:
        """Events of a new-order answer: ack, fills (FULL, or trade history), closing status."""
        snapshot = parse_order(payload, self._market)
        self._remember(snapshot)
        if "fills" in payload:
            instrument = await self.instrument(snapshot.symbol)
            fills = parse_response_fills(payload, snapshot.side, instrument)
            if sum((f.quantity for f in fills), Decimal(0)) == snapshot.executed_quantity:
                return order_events(snapshot, fills, accepted)
        return await self._snapshot_events(snapshot, accepted)

    async def _snapshot_events(
        self, snapshot: OrderSnapshot, accepted: bool
    ) -> list[ExecutionEvent]:
        """Events a queried state implies, with fills read from the trade history.

        The order's answer must not be lost to a failing trade read: the fills are then left
        out (with a warning) and arrive later through the trade history or user stream.
        """
        fills: list[Fill] = []
        if snapshot.executed_quantity:
            try:
                fills = await self._order_fills(snapshot)
            except BinanceError as exc:
                _log.warning("fills of %s not read: %s", snapshot.client_order_id, exc)
        return order_events(snapshot, fills, accepted)

    async def _order_fills(self, snapshot: OrderSnapshot) -> list[Fill]:
        """The fills of one order (``myTrades``/``userTrades`` with ``orderId``)."""
        instrument = await self.instrument(snapshot.symbol)
        rows = await self._client.signed(
            "GET",
            self._ep.trades,
            (("symbol", snapshot.symbol), ("orderId", snapshot.exchange_order_id)),
            weight=self._ep.w_trades_by_order,
        )
        return [parse_trade(row, snapshot.client_order_id, instrument) for row in rows]

    async def _settle(
        self,
        symbol: str,
        cid: str,
        settled: Callable[[OrderSnapshot | None], bool],
        cause: BinanceError,
    ) -> OrderSnapshot | None:
        """Query ``cid`` until ``settled`` holds or the request can no longer execute.

        The request carried a timestamp no later than now, and Binance drops a request
        whose timestamp is older than recvWindow when it reaches the matching engine, so
        once now + recvWindow (+ grace) has passed on the server clock the state is final.

        Raises:
            OutcomeUnresolved: The queries themselves kept failing.
        """
        deadline = self._now() + self._client.recv_window + self._grace_ms
        sleep = self._client.sleep
        delay = self._backoff_initial
        failures = 0
        while True:
            try:
                snapshot = await self.query_order(symbol, cid)
            except (UnknownOutcome, ServerBusy, RateLimited) as exc:
                failures += 1
                if isinstance(exc, IpBanned) or failures >= self._query_attempts:
                    raise OutcomeUnresolved(
                        cid,
                        f"outcome of the request for {cid} is unknown ({cause.message}) and "
                        f"{failures} queries failed, the last with: {exc}",
                    ) from exc
                await sleep(delay)
                delay = min(delay * 2, self._backoff_max)
                continue
            except BinanceError as exc:
                raise OutcomeUnresolved(
                    cid, f"outcome of the request for {cid} is unknown; query refused: {exc}"
                ) from exc
            now = self._now()
            if settled(snapshot) or now >= deadline:
                return snapshot
            await sleep(min(delay, (deadline - now) / 1000))
            delay = min(delay * 2, self._backoff_max)

    def _remember(self, snapshot: OrderSnapshot) -> None:
        info = _OrderInfo(
            snapshot.client_order_id,
            snapshot.exchange_order_id,
            snapshot.side,
            snapshot.order_type,
            snapshot.time_in_force,
        )
        self._orders.put(snapshot.client_order_id, info)
        self._by_exchange_id.put(
            (snapshot.symbol, snapshot.exchange_order_id), info.client_order_id
        )

    async def _client_id(self, symbol: str, exchange_order_id: int) -> str:
        """The client id of an exchange order id (trade rows carry only the latter)."""
        cid = self._by_exchange_id.get((symbol, exchange_order_id))
        if cid is not None:
            return cid
        payload = await self._client.signed(
            "GET",
            self._ep.order,
            (("symbol", symbol), ("orderId", exchange_order_id)),
            weight=self._ep.w_query,
        )
        cid = text(payload, "clientOrderId")
        try:
            self._remember(parse_order(payload, self._market))
        except BinanceParseError:
            self._by_exchange_id.put((symbol, exchange_order_id), cid)
        return cid
