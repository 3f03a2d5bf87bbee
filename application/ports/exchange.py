"""Exchange port: how the application places, changes and inspects orders on a venue.

Every state-changing call returns the execution events it produced (an ack, a reject, an
immediate fill...), so a simulated venue, the Binance adapter and a test fake are driven
and observed the same way. Rejections are events, not exceptions: a rejected order is a
normal outcome the strategy must see.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple, Protocol

from domain.candles import Candle
from domain.enums import OrderType, Side, TimeInForce
from domain.events import ExecutionEvent, FundingPaid
from domain.instruments import Instrument
from domain.orders import Fill, OrderStatus
from domain.records import typed_equality


@typed_equality
class OrderRequest(NamedTuple):
    """A new-order request as it leaves the process (client order id already fixed)."""

    client_order_id: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None = None
    time_in_force: TimeInForce | None = None
    stop_price: Decimal | None = None
    reduce_only: bool = False


@dataclass(frozen=True, slots=True)
class OrderSnapshot:
    """The exchange's view of one order (query / open-orders answers)."""

    client_order_id: str
    exchange_order_id: int
    symbol: str
    side: Side
    order_type: OrderType
    status: OrderStatus
    quantity: Decimal
    executed_quantity: Decimal
    executed_quote: Decimal
    price: Decimal | None
    stop_price: Decimal | None
    time_in_force: TimeInForce | None
    reduce_only: bool
    update_time: int


@dataclass(frozen=True, slots=True)
class PositionSnapshot:
    """The exchange's view of a futures position (one-way mode)."""

    symbol: str
    quantity: Decimal
    entry_price: Decimal
    mark_price: Decimal
    unrealized_pnl: Decimal
    leverage: int


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """Balances ``{asset: (free, locked)}`` (futures: wallet balance as free) and positions."""

    balances: dict[str, tuple[Decimal, Decimal]]
    positions: list[PositionSnapshot] = field(default_factory=list)


class ExchangeUnavailable(Exception):
    """The venue could not be used for now (unreachable, rate-limited, banned, overloaded).

    For a read, nothing was read. For a write, its outcome is unknown: the order stays as
    journaled (pending) and the next reconciliation settles it, exactly as after a crash.
    The caller carries on and reconciles once the venue answers again.
    """


class ExchangePort(Protocol):
    """Orders and account state on one venue account."""

    def instrument(self, symbol: str) -> Instrument:
        """Filters and assets of ``symbol``."""
        ...

    def place_order(self, request: OrderRequest) -> list[ExecutionEvent]:
        """Send a new order; returns its ack or reject and any immediate fills."""
        ...

    def modify_order(
        self, symbol: str, client_order_id: str, price: Decimal, quantity: Decimal
    ) -> list[ExecutionEvent]:
        """Change a resting LIMIT order in place (queue priority is lost)."""
        ...

    def replace_order(
        self,
        symbol: str,
        client_order_id: str,
        new_client_order_id: str,
        price: Decimal,
        quantity: Decimal,
    ) -> list[ExecutionEvent]:
        """Spot's modify: cancel a resting LIMIT order and place its replacement at once.

        Binance spot cannot amend a price, so a modify is one cancel-replace request
        (STOP_ON_FAILURE, only an order with nothing executed). The replacement is a new
        exchange order and carries its own client id, ``new_client_order_id``, so one client
        id never stands for two orders. Answers: success ``OrderCanceled(old)`` then the new
        order's ``OrderAccepted`` (and any immediate fill); the cancel done but the new order
        refused ``OrderCanceled(old)`` + ``OrderRejected(new)``; nothing done
        ``CancelRejected(old)`` + ``OrderRejected(new)``.
        """
        ...

    def cancel_order(self, symbol: str, client_order_id: str) -> list[ExecutionEvent]:
        """Cancel one order; an unknown or closed order yields a CancelRejected."""
        ...

    def cancel_all_orders(self, symbol: str) -> list[ExecutionEvent]:
        """Cancel every open order on ``symbol``."""
        ...

    def query_order(self, symbol: str, client_order_id: str) -> OrderSnapshot | None:
        """The order with this client id, or None if the exchange never saw it."""
        ...

    def open_orders(self, symbol: str) -> list[OrderSnapshot]:
        """All open orders on ``symbol``."""
        ...

    def account(self) -> AccountSnapshot:
        """Balances and positions."""
        ...

    def trades_since(self, symbol: str, after_trade_id: int) -> list[Fill]:
        """Our fills with trade id greater than ``after_trade_id``, oldest first."""
        ...

    def funding_since(self, symbol: str, after_ms: int) -> list[FundingPaid]:
        """Funding settlements of our position after ``after_ms`` (Binance: income history)."""
        ...


class ReplayVenue(ExchangePort, Protocol):
    """An exchange whose market is advanced candle by candle (the simulated exchange).

    The backtest loop feeds it each closed candle; it matches resting orders along the
    candle's path, settles funding, and returns the resulting events.
    """

    def on_candle(self, candle: Candle) -> list[ExecutionEvent]:
        """Advance the market by one closed candle."""
        ...


class AsyncExchangePort(Protocol):
    """The exchange port for venues reached over the network (the Binance adapter).

    Same operations and the same answers as :class:`ExchangePort`, as coroutines: the live
    shell awaits them, while the decision core stays synchronous (it prepares requests and
    applies the answers). An outcome that is unknown (timeout, 5xx, -1007) is resolved inside
    the adapter by querying the client order id, never by resending blindly.
    """

    async def instrument(self, symbol: str) -> Instrument:
        """Filters and assets of ``symbol`` (from exchangeInfo)."""
        ...

    async def place_order(self, request: OrderRequest) -> list[ExecutionEvent]:
        """Send a new order; returns its ack or reject and any immediate fills."""
        ...

    async def modify_order(
        self, symbol: str, client_order_id: str, price: Decimal, quantity: Decimal
    ) -> list[ExecutionEvent]:
        """Change a resting LIMIT order in place (futures; spot uses :meth:`replace_order`)."""
        ...

    async def replace_order(
        self,
        symbol: str,
        client_order_id: str,
        new_client_order_id: str,
        price: Decimal,
        quantity: Decimal,
    ) -> list[ExecutionEvent]:
        """Spot cancel-replace under a new client id (see :meth:`ExchangePort.replace_order`)."""
        ...

    async def cancel_order(self, symbol: str, client_order_id: str) -> list[ExecutionEvent]:
        """Cancel one order; an unknown or closed order yields a CancelRejected."""
        ...

    async def cancel_all_orders(self, symbol: str) -> list[ExecutionEvent]:
        """Cancel every open order on ``symbol``."""
        ...

    async def query_order(self, symbol: str, client_order_id: str) -> OrderSnapshot | None:
        """The order with this client id, or None if the exchange never saw it."""
        ...

    async def open_orders(self, symbol: str) -> list[OrderSnapshot]:
        """All open orders on ``symbol``."""
        ...

    async def account(self) -> AccountSnapshot:
        """Balances and positions."""
        ...

    async def trades_since(self, symbol: str, after_trade_id: int) -> list[Fill]:
        """Our fills with trade id greater than ``after_trade_id``, oldest first."""
        ...

    async def funding_since(self, symbol: str, after_ms: int) -> list[FundingPaid]:
        """Funding settlements after ``after_ms``."""
        ...
