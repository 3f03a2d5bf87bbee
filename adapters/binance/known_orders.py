"""The orders the Binance adapter has seen, remembered in bounded memory.

Trade rows name orders only by exchange id and a modify needs an order's side, type and
time in force, so every order snapshot the adapter reads is remembered here.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import TypeVar

from application.ports.exchange import OrderSnapshot
from domain.enums import OrderType, Side, TimeInForce

_K = TypeVar("_K")
_V = TypeVar("_V")


@dataclass(frozen=True, slots=True)
class OrderInfo:
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


class KnownOrders:
    """Orders by client id, and client ids by (symbol, exchange order id).

    Args:
        size: Orders remembered in each index; the oldest are forgotten first.
    """

    def __init__(self, size: int) -> None:
        self._orders: _Lru[str, OrderInfo] = _Lru(size)
        self._by_exchange_id: _Lru[tuple[str, int], str] = _Lru(size)

    def get(self, client_order_id: str) -> OrderInfo | None:
        """The remembered order with this client id, or None."""
        return self._orders.get(client_order_id)

    def __getitem__(self, client_order_id: str) -> OrderInfo:
        return self._orders[client_order_id]

    def remember(self, snapshot: OrderSnapshot) -> None:
        """Remember the order a snapshot describes under both its ids."""
        info = OrderInfo(
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

    def client_id(self, symbol: str, exchange_order_id: int) -> str | None:
        """The client id of a remembered exchange order id, or None."""
        return self._by_exchange_id.get((symbol, exchange_order_id))

    def link(self, symbol: str, exchange_order_id: int, client_order_id: str) -> None:
        """Remember only the client id of an exchange order id (no snapshot available)."""
        self._by_exchange_id.put((symbol, exchange_order_id), client_order_id)
