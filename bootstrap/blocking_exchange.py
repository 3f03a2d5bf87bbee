"""The synchronous exchange port over an asynchronous adapter.

The trading session is synchronous (the same core as the backtest); the Binance adapter
is asynchronous. Each port call is run on the I/O loop and waited for, so the session on
the main thread sees an ordinary blocking exchange while HTTP and WebSockets share one
event loop.
"""

from __future__ import annotations

from decimal import Decimal

from application.ports.exchange import (
    AccountSnapshot,
    AsyncExchangePort,
    OrderRequest,
    OrderSnapshot,
)
from bootstrap.loop_thread import LoopThread
from domain.events import ExecutionEvent, FundingPaid
from domain.instruments import Instrument
from domain.orders import Fill

#: A port call that takes longer than this is a hung connection, not a slow exchange (the
#: adapter's own HTTP timeout and unknown-outcome resolution come well before it).
CALL_TIMEOUT = 120.0


class BlockingExchange:
    """:class:`~application.ports.exchange.ExchangePort` over an ``AsyncExchangePort``."""

    def __init__(self, exchange: AsyncExchangePort, loop: LoopThread) -> None:
        self._exchange = exchange
        self._loop = loop

    def instrument(self, symbol: str) -> Instrument:
        """See :meth:`ExchangePort.instrument`."""
        return self._loop.run(self._exchange.instrument(symbol), CALL_TIMEOUT)

    def place_order(self, request: OrderRequest) -> list[ExecutionEvent]:
        """See :meth:`ExchangePort.place_order`."""
        return self._loop.run(self._exchange.place_order(request), CALL_TIMEOUT)

    def modify_order(
        self, symbol: str, client_order_id: str, price: Decimal, quantity: Decimal
    ) -> list[ExecutionEvent]:
        """See :meth:`ExchangePort.modify_order`."""
        return self._loop.run(
            self._exchange.modify_order(symbol, client_order_id, price, quantity), CALL_TIMEOUT
        )

    def cancel_order(self, symbol: str, client_order_id: str) -> list[ExecutionEvent]:
        """See :meth:`ExchangePort.cancel_order`."""
        return self._loop.run(self._exchange.cancel_order(symbol, client_order_id), CALL_TIMEOUT)

    def cancel_all_orders(self, symbol: str) -> list[ExecutionEvent]:
        """See :meth:`ExchangePort.cancel_all_orders`."""
        return self._loop.run(self._exchange.cancel_all_orders(symbol), CALL_TIMEOUT)

    def query_order(self, symbol: str, client_order_id: str) -> OrderSnapshot | None:
        """See :meth:`ExchangePort.query_order`."""
        return self._loop.run(self._exchange.query_order(symbol, client_order_id), CALL_TIMEOUT)

    def open_orders(self, symbol: str) -> list[OrderSnapshot]:
        """See :meth:`ExchangePort.open_orders`."""
        return self._loop.run(self._exchange.open_orders(symbol), CALL_TIMEOUT)

    def account(self) -> AccountSnapshot:
        """See :meth:`ExchangePort.account`."""
        return self._loop.run(self._exchange.account(), CALL_TIMEOUT)

    def trades_since(self, symbol: str, after_trade_id: int) -> list[Fill]:
        """See :meth:`ExchangePort.trades_since`."""
        return self._loop.run(self._exchange.trades_since(symbol, after_trade_id), CALL_TIMEOUT)

    def funding_since(self, symbol: str, after_ms: int) -> list[FundingPaid]:
        """See :meth:`ExchangePort.funding_since`."""
        return self._loop.run(self._exchange.funding_since(symbol, after_ms), CALL_TIMEOUT)
