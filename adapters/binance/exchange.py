"""The Binance exchange adapter: :class:`AsyncExchangePort` over the REST API.

One :class:`BinanceExchange` serves one market (spot or USD-M futures) through one
:class:`~adapters.binance.rest.BinanceRestClient`. Its rules:

* **Refusals are events.** Any definite refusal of an order request (Binance answered with
  an error, or a local check stopped it) comes back as ``OrderRejected`` /
  ``CancelRejected`` / ``ModifyRejected`` with Binance's code and message, never as an
  exception: a rejected order is a normal outcome the strategy must see.
* **Unknown outcomes are resolved, never resent.** A timeout, dropped connection, 5xx or
  -1000/-1006/-1007 on place, modify or cancel may hide an executed request; the client
  order id is queried until the state is final (see :mod:`adapters.binance.outcomes`). If
  even the queries keep failing, :class:`~adapters.binance.errors.OutcomeUnresolved` is
  raised and the intent stays pending for reconciliation.
* **Spot modify is cancel-replace** (:meth:`BinanceExchange.replace_order`, ``POST
  /api/v3/order/cancelReplace``, mode STOP_ON_FAILURE, ``cancelRestrictions=ONLY_NEW``).
  The replacement is a new exchange order, so it goes under the *new* client id the caller
  gives (reusing the old one would let one client id stand for several orders, and a query
  by client id sees only the latest). Success returns ``OrderCanceled`` for the old id and
  the new order's ``OrderAccepted``; the cancel done but the new order refused,
  ``OrderCanceled`` + ``OrderRejected`` (new id); nothing done, ``CancelRejected`` +
  ``OrderRejected``. ``ONLY_NEW`` keeps a partially filled order from being replaced by a
  full-size one (the domain's modify quantity is the new *total*); Binance refuses such a
  replace with -2011. Futures modify in place (``PUT /fapi/v1/order``), keeping the id.
* **Futures conditional orders** live in the Algo Order API (``/fapi/v1/order`` answers
  -4120): STOP_MARKET / TAKE_PROFIT_MARKET go to ``POST /fapi/v1/algoOrder`` with
  ``clientAlgoId`` = the client order id (``OrderAccepted`` carries the ``algoId``), are
  cancelled by ``DELETE /fapi/v1/algoOrder`` and, when the order query does not know the
  client id (-2013), queried by ``GET /fapi/v1/algoOrder``. Once triggered, the order they
  create fills like any other and its trades are read from the trade history. Untriggered
  ones are listed by ``open_orders`` too (``GET /fapi/v1/openAlgoOrders``: exchange id =
  algoId, stop price = triggerPrice) and ``cancel_all_orders`` also cancels them (``DELETE
  /fapi/v1/algoOpenOrders``; the regular cancel-all leaves them alone).

Trade rows name orders only by exchange id, so the adapter remembers every
order it sees (client id, side, type, exchange id) and looks up unknown ids with one query.

Collaborators: :mod:`adapters.binance.requests` builds the request parameters,
:mod:`adapters.binance.order_events` turns answers into events,
:mod:`adapters.binance.outcomes` resolves unknown outcomes and
:mod:`adapters.binance.known_orders` remembers the orders seen.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from decimal import Decimal

from adapters.binance.errors import (
    BinanceError,
    BinanceParseError,
    ExchangeRejected,
    UnknownOrder,
    UnknownOutcome,
    reject_reason,
)
from adapters.binance.exchange_info import instrument_from_exchange_info
from adapters.binance.history import PAGE as PAGE
from adapters.binance.history import HistoryReader
from adapters.binance.known_orders import KnownOrders, OrderInfo
from adapters.binance.order_events import OrderEvents
from adapters.binance.outcomes import OutcomeResolver
from adapters.binance.parsers import (
    algo_triggered_order_id,
    canceled_client_ids,
    event_time,
    parse_algo_order,
    parse_cancel_replace,
    parse_futures_balances,
    parse_order,
    parse_position_risk,
    parse_spot_account,
    status_events,
)
from adapters.binance.rate_limits import rate_limits_from_exchange_info
from adapters.binance.requests import (
    FUTURES,
    FUTURES_ALGO_ORDER,
    FUTURES_CANCEL_ALGO_ORDERS,
    FUTURES_OPEN_ALGO_ORDERS,
    SPOT,
    cancel_replace_params,
    futures_algo_params,
    futures_modify_params,
    futures_order_params,
    is_futures_algo,
    local_problem,
    spot_order_params,
)
from adapters.binance.rest import BinanceRestClient
from application.ports.exchange import AccountSnapshot, OrderRequest, OrderSnapshot
from domain.enums import OrderType
from domain.events import (
    CancelRejected,
    ExecutionEvent,
    FundingPaid,
    ModifyRejected,
    OrderAccepted,
    OrderCanceled,
    OrderRejected,
    RejectReason,
)
from domain.instruments import Instrument
from domain.orders import Fill, OrderStatus

_log = logging.getLogger(__name__)


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
        self._ep = FUTURES if self._futures else SPOT
        self._instruments: dict[str, Instrument] = {}
        self._known = KnownOrders(cache_size)
        self._history = HistoryReader(client, self._ep, self.instrument, self._known)
        self._events = OrderEvents(client, self._ep, self.instrument, self._known)
        self._outcomes = OutcomeResolver(
            client,
            self._events,
            query_order=self.query_order,
            open_orders=self.open_orders,
            query_attempts=query_attempts,
            backoff_initial=backoff_initial,
            backoff_max=backoff_max,
            grace_ms=resolve_grace_ms,
        )

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
            if self._futures:
                return await self._query_algo(symbol, client_order_id)
            return None
        snapshot = parse_order(payload, self._market)
        self._remember(snapshot)
        return snapshot

    async def _query_algo(self, symbol: str, client_order_id: str) -> OrderSnapshot | None:
        """The futures algo order with this ``clientAlgoId``, or None (-2013).

        A triggered one is reported as its triggered order when that can be read (under
        the algo order's client id).
        """
        try:
            payload = await self._client.signed(
                "GET", FUTURES_ALGO_ORDER, (("clientAlgoId", client_order_id),), weight=1
            )
        except UnknownOrder:
            return None
        snapshot = parse_algo_order(payload, self._market)
        triggered = algo_triggered_order_id(payload)
        if triggered is not None and snapshot.status is OrderStatus.FILLED:
            try:
                order = await self._client.signed(
                    "GET",
                    self._ep.order,
                    (("symbol", symbol), ("orderId", triggered)),
                    weight=self._ep.w_query,
                )
            except UnknownOrder:
                pass
            else:
                snapshot = replace(
                    parse_order(order, self._market), client_order_id=client_order_id
                )
        self._remember(snapshot)
        return snapshot

    async def open_orders(self, symbol: str) -> list[OrderSnapshot]:
        """All open orders on ``symbol``.

        Orders of types the bot never places (trailing stops, stop-limits...) cannot be
        represented as snapshots; they are skipped with a warning (they are not ours).
        Futures: the untriggered conditional (algo) orders follow the regular ones.
        """
        out = await self._open_regular(symbol)
        if self._futures:
            out += await self._open_algos(symbol)
        return out

    async def _open_algos(self, symbol: str) -> list[OrderSnapshot]:
        """Futures untriggered algo orders on ``symbol`` (``GET /fapi/v1/openAlgoOrders``)."""
        rows = await self._client.signed(
            "GET", FUTURES_OPEN_ALGO_ORDERS, (("symbol", symbol),), weight=1
        )
        out: list[OrderSnapshot] = []
        for row in rows:
            try:
                snapshot = parse_algo_order(row, self._market)
            except BinanceParseError as exc:
                _log.warning("skipping open algo order %s: %s", row.get("clientAlgoId"), exc)
                continue
            self._remember(snapshot)
            out.append(snapshot)
        return out

    async def _open_regular(self, symbol: str) -> list[OrderSnapshot]:
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
        # The v3 routes are the ones Binance documents as current (v2 is kept for old clients).
        balances = await self._client.signed("GET", "/fapi/v3/balance", weight=5)
        positions = await self._client.signed("GET", "/fapi/v3/positionRisk", weight=5)
        return AccountSnapshot(
            balances=parse_futures_balances(balances), positions=parse_position_risk(positions)
        )

    async def trades_since(self, symbol: str, after_trade_id: int) -> list[Fill]:
        """Our fills with trade id above ``after_trade_id``, oldest first (paged by 1000).

        A commission paid in a third asset (BNB) leaves ``fee_quote`` None: its quote value
        needs that asset's price at trade time, which the caller supplies.
        """
        return await self._history.trades_since(symbol, after_trade_id)

    async def funding_since(self, symbol: str, after_ms: int) -> list[FundingPaid]:
        """Futures funding settlements after ``after_ms`` (income type FUNDING_FEE).

        See :meth:`adapters.binance.history.HistoryReader.funding_since`. Spot has no
        funding: always empty, no request.
        """
        return await self._history.funding_since(symbol, after_ms)

    # ================================================================== place
    async def place_order(self, request: OrderRequest) -> list[ExecutionEvent]:
        """Send a new order; its ack or reject, immediate fills and closing status.

        Spot asks for the FULL answer (fills included); futures for RESULT, whose fills are
        read from the trade history when the order executed on arrival.
        """
        cid = request.client_order_id
        local = local_problem(request, self._futures)
        if local is not None:
            code, message = local
            return [OrderRejected(cid, RejectReason.INVALID_REQUEST, code, message, self._now())]
        refused = await self._prefetch_instrument(request.symbol)
        if refused is not None:
            code, message = refused
            reason = RejectReason.INVALID_REQUEST if code == -1121 else RejectReason.RANDOM_FAULT
            return [OrderRejected(cid, reason, code, message, self._now())]
        if is_futures_algo(request, self._futures):
            return await self._place_algo(request)
        params = futures_order_params(request) if self._futures else spot_order_params(request)
        try:
            payload = await self._client.signed(
                "POST", self._ep.order, params, weight=self._ep.w_place, orders=1
            )
        except ExchangeRejected as exc:
            return [OrderRejected(cid, exc.reason, exc.code, exc.message, self._now())]
        except UnknownOutcome as exc:
            return await self._outcomes.place(request, exc)
        return await self._events.from_answer(payload, accepted=True)

    async def _place_algo(self, request: OrderRequest) -> list[ExecutionEvent]:
        """A futures conditional order through ``POST /fapi/v1/algoOrder``."""
        cid = request.client_order_id
        try:
            payload = await self._client.signed(
                "POST", FUTURES_ALGO_ORDER, futures_algo_params(request), weight=1, orders=1
            )
        except ExchangeRejected as exc:
            return [OrderRejected(cid, exc.reason, exc.code, exc.message, self._now())]
        except UnknownOutcome as exc:
            return await self._outcomes.place(request, exc)
        snapshot = parse_algo_order(payload, self._market)
        self._remember(snapshot)
        return [OrderAccepted(cid, snapshot.exchange_order_id, event_time(payload, self._now()))]

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

    # ================================================================== cancel
    async def cancel_order(self, symbol: str, client_order_id: str) -> list[ExecutionEvent]:
        """Cancel one order; an unknown or closed order yields CancelRejected (-2011).

        Futures conditional orders are cancelled in the Algo service: directly when the
        order is known to be one, else after the order endpoint does not know it (-2011).
        """
        cid = client_order_id
        info = self._known.get(cid)
        if self._futures and info is not None and info.order_type.is_conditional:
            return await self._cancel_algo(symbol, cid, None)
        try:
            payload = await self._client.signed(
                "DELETE",
                self._ep.order,
                (("symbol", symbol), ("origClientOrderId", cid)),
                weight=self._ep.w_cancel,
            )
        except UnknownOrder as exc:
            if self._futures:
                return await self._cancel_algo(symbol, cid, exc)
            return [CancelRejected(cid, exc.reason, exc.code, exc.message, self._now())]
        except ExchangeRejected as exc:
            return [CancelRejected(cid, exc.reason, exc.code, exc.message, self._now())]
        except UnknownOutcome as exc:
            return await self._outcomes.cancel(symbol, cid, exc)
        canceled: list[ExecutionEvent] = [OrderCanceled(cid, event_time(payload, self._now()))]
        try:
            snapshot = parse_order(payload, self._market)
        except BinanceParseError:
            return canceled  # a foreign order type: the cancel itself succeeded
        self._remember(snapshot)
        return status_events(snapshot) or canceled

    async def _cancel_algo(
        self, symbol: str, cid: str, unknown: UnknownOrder | None
    ) -> list[ExecutionEvent]:
        """``DELETE /fapi/v1/algoOrder`` by ``clientAlgoId``.

        ``unknown`` is the order endpoint's -2011 for this id, reported if the Algo service
        does not know the id either.
        """
        try:
            payload = await self._client.signed(
                "DELETE", FUTURES_ALGO_ORDER, (("clientAlgoId", cid),), weight=1
            )
        except ExchangeRejected as exc:
            first = unknown or exc
            return [CancelRejected(cid, first.reason, first.code, first.message, self._now())]
        except UnknownOutcome as exc:
            return await self._outcomes.cancel(symbol, cid, exc)
        return [OrderCanceled(cid, event_time(payload, self._now()))]

    async def cancel_all_orders(self, symbol: str) -> list[ExecutionEvent]:
        """Cancel every open order on ``symbol``; one event per order.

        The open orders are listed first, so that every order gets an answer even when the
        bulk cancel's own answer does not name them (futures answers only "done") or its
        outcome is unknown: each order not reported cancelled is then queried.
        """
        regular = await self._open_regular(symbol)
        algos = await self._open_algos(symbol) if self._futures else []
        before = regular + algos
        if not before:
            return []
        events: list[ExecutionEvent] = []
        done: set[str] = set()
        failed: dict[str, BinanceError] = {}
        bulk = [(regular, "/fapi/v1/allOpenOrders" if self._futures else "/api/v3/openOrders")]
        bulk.append((algos, FUTURES_CANCEL_ALGO_ORDERS))
        for snaps, path in bulk:
            if not snaps:
                continue
            try:
                payload = await self._client.signed("DELETE", path, (("symbol", symbol),), weight=1)
            except UnknownOrder:
                continue  # spot -2011: nothing left to cancel (filled meanwhile); queries tell
            except ExchangeRejected as exc:
                now = self._now()
                for s in snaps:
                    events.append(
                        CancelRejected(s.client_order_id, exc.reason, exc.code, exc.message, now)
                    )
                    done.add(s.client_order_id)
                continue
            except UnknownOutcome as exc:
                failed |= {s.client_order_id: exc for s in snaps}
                continue
            if isinstance(payload, list):
                reported = canceled_client_ids(payload)
                events += [OrderCanceled(cid, ts) for cid, ts in reported]
                done |= {cid for cid, _ in reported}
        for snap in before:
            if snap.client_order_id in done:
                continue
            failure = failed.get(snap.client_order_id)
            if failure is not None:
                cause = UnknownOutcome(failure.code, failure.message)
                events += await self._outcomes.cancel(symbol, snap.client_order_id, cause)
                continue
            now_snap = await self.query_order(symbol, snap.client_order_id)
            if now_snap is not None and now_snap.status.is_terminal:
                events += await self._events.from_snapshot(now_snap, accepted=False)
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
        """Change a resting futures LIMIT order in place (``PUT /fapi/v1/order``).

        ``quantity`` is the new total quantity. A spot order is changed by
        :meth:`replace_order` instead (a new order, so a new client id); asked here, it is
        refused locally and nothing is sent.
        """
        cid = client_order_id
        if not self._futures:
            return [
                ModifyRejected(
                    cid,
                    RejectReason.INVALID_REQUEST,
                    0,
                    "local check, nothing sent: a spot order is modified by cancel-replace "
                    "under a new client id (replace_order)",
                    self._now(),
                )
            ]
        found = await self._modifiable(symbol, cid)
        if not isinstance(found, OrderInfo):
            reason, code, message = found
            return [ModifyRejected(cid, reason, code, message, self._now())]
        return await self._modify_futures(symbol, found, price, quantity)

    async def replace_order(
        self,
        symbol: str,
        client_order_id: str,
        new_client_order_id: str,
        price: Decimal,
        quantity: Decimal,
    ) -> list[ExecutionEvent]:
        """Spot modify: cancel-replace, the new order under ``new_client_order_id``.

        See the module docstring and :meth:`ExchangePort.replace_order` for the events.
        """
        cid, new_cid = client_order_id, new_client_order_id
        if self._futures:
            found: OrderInfo | tuple[RejectReason, int, str] = (
                RejectReason.INVALID_REQUEST,
                0,
                "local check, nothing sent: futures modify in place (modify_order)",
            )
        else:
            found = await self._modifiable(symbol, cid)
        if not isinstance(found, OrderInfo):
            return self._not_replaced(cid, new_cid, *found)
        return await self._cancel_replace(symbol, found, new_cid, price, quantity)

    async def _modifiable(self, symbol: str, cid: str) -> OrderInfo | tuple[RejectReason, int, str]:
        """The order a modify or replace acts on, or why nothing may be sent."""
        refused = await self._prefetch_instrument(symbol)
        if refused is not None:
            code, message = refused
            reason = RejectReason.INVALID_REQUEST if code == -1121 else RejectReason.RANDOM_FAULT
            return reason, code, message
        info = self._known.get(cid)
        if info is None:
            try:
                snapshot = await self.query_order(symbol, cid)
            except BinanceError as exc:
                # Nothing was sent: the modify is definitely not applied.
                reason = getattr(exc, "reason", RejectReason.RANDOM_FAULT)
                return reason, exc.code, f"local: order lookup failed, nothing sent: {exc.message}"
            if snapshot is None:
                return RejectReason.UNKNOWN_ORDER, -2013, "Order does not exist."
            info = self._known[cid]
        if info.order_type is not OrderType.LIMIT:
            return (
                RejectReason.INVALID_REQUEST,
                -5025 if self._futures else 0,
                "local check, nothing sent: only LIMIT orders can be modified",
            )
        return info

    def _not_replaced(
        self, cid: str, new_cid: str, reason: RejectReason, code: int, message: str
    ) -> list[ExecutionEvent]:
        """Nothing was cancelled and nothing placed: the old order stays, the new one never is."""
        now = self._now()
        return [
            CancelRejected(cid, reason, code, message, now),
            OrderRejected(new_cid, reason, code, f"not placed: {message}", now),
        ]

    async def _modify_futures(
        self, symbol: str, info: OrderInfo, price: Decimal, quantity: Decimal
    ) -> list[ExecutionEvent]:
        cid = info.client_order_id
        params = futures_modify_params(symbol, cid, info.side, price, quantity)
        try:
            payload = await self._client.signed("PUT", "/fapi/v1/order", params, 1, orders=1)
        except ExchangeRejected as exc:
            return [ModifyRejected(cid, exc.reason, exc.code, exc.message, self._now())]
        except UnknownOutcome as exc:
            return await self._outcomes.modify_futures(symbol, cid, price, quantity, exc)
        snapshot = parse_order(payload, self._market)
        self._remember(snapshot)
        return await self._events.after_modify(snapshot, price, quantity)

    async def _cancel_replace(
        self, symbol: str, info: OrderInfo, new_cid: str, price: Decimal, quantity: Decimal
    ) -> list[ExecutionEvent]:
        cid = info.client_order_id
        params = cancel_replace_params(
            symbol, cid, new_cid, info.side, info.time_in_force, price, quantity
        )
        try:
            body = await self._client.signed(
                "POST", "/api/v3/order/cancelReplace", params, weight=1, orders=1
            )
        except ExchangeRejected as exc:
            data = exc.payload.get("data")
            if exc.code not in (-2021, -2022) or not isinstance(data, dict):
                return self._not_replaced(cid, new_cid, exc.reason, exc.code, exc.message)
            body = data
        except UnknownOutcome as exc:
            return await self._outcomes.cancel_replace(symbol, cid, new_cid, exc)
        outcome = parse_cancel_replace(body)
        code, message = outcome.failure or (0, "cancel-replace failed")
        reason = reject_reason(code, message, self._market)
        if not outcome.canceled:
            return self._not_replaced(cid, new_cid, reason, code, message)
        events: list[ExecutionEvent] = [OrderCanceled(cid, outcome.cancel_time or self._now())]
        if outcome.new_order is not None:
            events += await self._events.after_replace(outcome.new_order, new_cid)
        else:
            events.append(OrderRejected(new_cid, reason, code, message, self._now()))
        return events

    # ================================================================== helpers
    def _remember(self, snapshot: OrderSnapshot) -> None:
        self._known.remember(snapshot)
