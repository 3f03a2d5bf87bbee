"""Resolution of Binance requests whose outcome is unknown.

A timeout, dropped connection, 5xx or -1000/-1006/-1007 on place, modify or cancel may hide
an executed request. It is never resent: the client order id is queried (retrying the query
with back-off) until the order shows the effect, or until the request's ``recvWindow`` has
certainly passed: Binance re-checks the timestamp right before the matching engine, so a
request not executed by then never will be. The answer is the events the queried state
implies (for a new order: ``NEW`` -> accepted; ``FILLED`` -> accepted plus the fills from the
trade history; not found -> ``OrderRejected`` with reason ``NEVER_SENT``). If even the
queries keep failing, :class:`~adapters.binance.errors.OutcomeUnresolved` is raised and the
intent stays pending for reconciliation.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal

from adapters.binance.errors import (
    BinanceError,
    IpBanned,
    OutcomeUnresolved,
    RateLimited,
    ServerBusy,
    UnknownOutcome,
)
from adapters.binance.order_events import OrderEvents
from adapters.binance.rest import BinanceRestClient
from application.ports.exchange import OrderRequest, OrderSnapshot
from domain.events import (
    CancelRejected,
    ExecutionEvent,
    ModifyRejected,
    OrderCanceled,
    OrderRejected,
    RejectReason,
)

_log = logging.getLogger(__name__)

#: Reads the order with a client id (None: unknown to the exchange).
QueryOrder = Callable[[str, str], Awaitable[OrderSnapshot | None]]
#: Reads the open orders of a symbol.
OpenOrders = Callable[[str], Awaitable[list[OrderSnapshot]]]


class OutcomeResolver:
    """Settles place, cancel and modify requests of unknown outcome by querying the order.

    Args:
        client: The REST client of the market (server clock, recvWindow, sleep).
        events: Turns the settled state into events.
        query_order: Reads an order by client id.
        open_orders: Reads the open orders of a symbol.
        query_attempts: Failed queries tolerated before giving up with
            :class:`OutcomeUnresolved`.
        backoff_initial: First pause between queries, seconds (doubles).
        backoff_max: Longest pause between queries, seconds.
        grace_ms: Added to ``recvWindow`` before "not found" counts as final.
    """

    def __init__(
        self,
        client: BinanceRestClient,
        events: OrderEvents,
        *,
        query_order: QueryOrder,
        open_orders: OpenOrders,
        query_attempts: int,
        backoff_initial: float,
        backoff_max: float,
        grace_ms: int,
    ) -> None:
        self._client = client
        self._events = events
        self._query_order = query_order
        self._open_orders = open_orders
        self._query_attempts = query_attempts
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._grace_ms = grace_ms

    def _now(self) -> int:
        return self._client.server_time_ms()

    async def place(self, request: OrderRequest, cause: UnknownOutcome) -> list[ExecutionEvent]:
        """A new order: the events of the order found, or ``NEVER_SENT`` if none is."""
        cid = request.client_order_id
        _log.warning("place %s: outcome unknown (%s); querying", cid, cause)
        snapshot = await self.settle(request.symbol, cid, lambda s: s is not None, cause)
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
        return await self._events.from_snapshot(snapshot, accepted=True)

    async def cancel(self, symbol: str, cid: str, cause: UnknownOutcome) -> list[ExecutionEvent]:
        """A cancel: the closing events if the order is closed, else ``CancelRejected``."""
        _log.warning("cancel %s: outcome unknown (%s); querying", cid, cause)
        snapshot = await self.settle(
            symbol, cid, lambda s: s is None or s.status.is_terminal, cause
        )
        if snapshot is None:
            return [
                CancelRejected(
                    cid, RejectReason.UNKNOWN_ORDER, -2013, "Order does not exist.", self._now()
                )
            ]
        if snapshot.status.is_terminal:
            return await self._events.from_snapshot(snapshot, accepted=False)
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

    async def modify_futures(
        self, symbol: str, cid: str, price: Decimal, quantity: Decimal, cause: UnknownOutcome
    ) -> list[ExecutionEvent]:
        """A futures in-place modify: applied when the order shows the new price and size."""
        _log.warning("modify %s: outcome unknown (%s); querying", cid, cause)

        def settled(s: OrderSnapshot | None) -> bool:
            return s is None or s.status.is_terminal or (s.price, s.quantity) == (price, quantity)

        snapshot = await self.settle(symbol, cid, settled, cause)
        if snapshot is None:
            return [
                ModifyRejected(
                    cid, RejectReason.UNKNOWN_ORDER, -2013, "Order does not exist.", self._now()
                )
            ]
        if (snapshot.price, snapshot.quantity) == (price, quantity):
            return await self._events.after_modify(snapshot, price, quantity)
        if snapshot.status.is_terminal:
            return await self._events.from_snapshot(snapshot, accepted=False)
        return [self._modify_not_applied(cid, cause)]

    async def cancel_replace(
        self, symbol: str, cid: str, new_cid: str, cause: UnknownOutcome
    ) -> list[ExecutionEvent]:
        """A spot cancel-replace: applied when the replacement ``new_cid`` exists.

        STOP_ON_FAILURE places the new order only after the cancel succeeded, so a
        replacement found means the old order is cancelled. None found once the request can
        no longer execute: the old order's own state says whether the cancel happened.
        """
        _log.warning("cancel-replace %s -> %s: outcome unknown (%s); querying", cid, new_cid, cause)
        replacement = await self.settle(symbol, new_cid, lambda s: s is not None, cause)
        if replacement is not None:
            canceled = OrderCanceled(cid, replacement.update_time or self._now())
            return [canceled, *await self._events.from_snapshot(replacement, accepted=True)]
        never = OrderRejected(
            new_cid,
            RejectReason.NEVER_SENT,
            cause.code,
            f"cancel-replace outcome unknown ({cause.message}); the replacement was not found "
            "on the exchange after its recvWindow passed, so it was never placed",
            self._now(),
        )
        old = await self.settle(symbol, cid, lambda s: True, cause)
        if old is None:
            refused = CancelRejected(
                cid, RejectReason.UNKNOWN_ORDER, -2013, "Order does not exist.", self._now()
            )
            return [refused, never]
        if old.status.is_terminal:
            return [*await self._events.from_snapshot(old, accepted=False), never]
        return [
            CancelRejected(
                cid,
                RejectReason.NEVER_SENT,
                cause.code,
                f"cancel-replace outcome unknown ({cause.message}); the order is still open "
                "and no replacement exists, so nothing was applied",
                self._now(),
            ),
            never,
        ]

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

    async def settle(
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
                snapshot = await self._query_order(symbol, cid)
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
