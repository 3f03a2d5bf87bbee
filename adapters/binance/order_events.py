"""Execution events from Binance's order answers and queried order states.

An answer to a new order, a modify or a query is a state; the strategy needs the events
that state implies: accepted, the fills (from the answer's FULL ``fills``, or read from the
trade history), and the closing status.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from adapters.binance.errors import BinanceError
from adapters.binance.known_orders import KnownOrders
from adapters.binance.parsers import (
    event_time,
    integer,
    order_events,
    parse_order,
    parse_response_fills,
    parse_trade,
    status_events,
)
from adapters.binance.requests import Endpoints
from adapters.binance.rest import BinanceRestClient
from application.ports.exchange import OrderSnapshot
from domain.events import ExecutionEvent, OrderAccepted, OrderModified
from domain.instruments import Instrument
from domain.orders import Fill, OrderStatus

_log = logging.getLogger(__name__)


class OrderEvents:
    """Turns order answers and snapshots of one market into execution events.

    Args:
        client: The REST client of the market (trade history, server clock).
        endpoints: Paths and weights of that market.
        instrument: Loads the (cached) instrument of a symbol.
        known: Where every parsed order is remembered.
    """

    def __init__(
        self,
        client: BinanceRestClient,
        endpoints: Endpoints,
        instrument: Callable[[str], Awaitable[Instrument]],
        known: KnownOrders,
    ) -> None:
        self._client = client
        self._market = client.market_type
        self._ep = endpoints
        self._instrument = instrument
        self._known = known

    def _now(self) -> int:
        return self._client.server_time_ms()

    async def from_answer(self, payload: Any, accepted: bool) -> list[ExecutionEvent]:
        """Events of a new-order answer: ack, fills (FULL, or trade history), closing status."""
        snapshot = parse_order(payload, self._market)
        self._known.remember(snapshot)
        if "fills" in payload:
            instrument = await self._instrument(snapshot.symbol)
            fills = parse_response_fills(payload, snapshot.side, instrument)
            if sum((f.quantity for f in fills), Decimal(0)) == snapshot.executed_quantity:
                return order_events(snapshot, fills, accepted)
        return await self.from_snapshot(snapshot, accepted)

    async def from_snapshot(self, snapshot: OrderSnapshot, accepted: bool) -> list[ExecutionEvent]:
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

    async def after_modify(
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
        return [modified, *await self.from_snapshot(snapshot, accepted=False)]

    async def after_replace(self, new_order: Any, new_cid: str) -> list[ExecutionEvent]:
        """The new leg of a successful cancel-replace: the new order's ack (and any fills).

        The new order has its own client id; the old one's cancellation is the caller's.
        """
        if "status" in new_order:
            return await self.from_answer(new_order, accepted=True)
        # An ACK-only answer.
        timestamp = event_time(new_order, self._now())
        return [OrderAccepted(new_cid, integer(new_order, "orderId"), timestamp)]

    async def _order_fills(self, snapshot: OrderSnapshot) -> list[Fill]:
        """The fills of one order (``myTrades``/``userTrades`` with ``orderId``)."""
        instrument = await self._instrument(snapshot.symbol)
        rows = await self._client.signed(
            "GET",
            self._ep.trades,
            (("symbol", snapshot.symbol), ("orderId", snapshot.exchange_order_id)),
            weight=self._ep.w_trades_by_order,
        )
        return [parse_trade(row, snapshot.client_order_id, instrument) for row in rows]
