"""The synchronous exchange port over an asynchronous adapter, patient with the venue.

The trading session is synchronous (the same core as the backtest); the Binance adapter
is asynchronous. Each port call is run on the I/O loop and waited for, so the session on
the main thread sees an ordinary blocking exchange while HTTP and WebSockets share one
event loop.

Transient refusals are waited out here, within a time budget: a read is repeated after a
429 / 418 (as long as Binance asked), a -1008 / 503 overload, a timeout or a broken
connection; a write only after an answer that proves nothing was executed (429, 418,
overload) — an unknown outcome is never retried blindly. When the budget is spent, or a
write's outcome stays unknown, the call raises
:class:`~application.ports.exchange.ExchangeUnavailable`: the engine keeps running and
reconciles once the venue answers again.

Shutdown is different: the bot must leave the account flat, and the flatten's writes are
safe to repeat (a cancel-all, a cancel, a reduce-only close under its own client id: a
second one finds nothing left to cancel or to reduce). :meth:`BlockingExchange.begin_shutdown`
gives every call from then on one shared deadline and lets those writes be repeated after
an unknown outcome too, so a 5xx or a two-minute ban is waited out instead of leaving the
book open.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from adapters.binance.errors import (
    IpBanned,
    OutcomeUnresolved,
    RateLimited,
    ServerBusy,
    UnknownOutcome,
)
from application.ports.exchange import (
    AccountSnapshot,
    AsyncExchangePort,
    ExchangeUnavailable,
    OrderRequest,
    OrderSnapshot,
)
from domain.events import ExecutionEvent, FundingPaid
from domain.instruments import Instrument
from domain.orders import Fill

#: A port call that takes longer than this is a hung connection, not a slow exchange (the
#: adapter's own HTTP timeout and unknown-outcome resolution come well before it).
CALL_TIMEOUT = 120.0
#: How long one port call may keep waiting out transient refusals.
RETRY_BUDGET = 60.0

T = TypeVar("T")
log = logging.getLogger(__name__)
#: Refusals after which nothing was executed: any call may be repeated.
_NOT_EXECUTED: tuple[type[BaseException], ...] = (RateLimited, ServerBusy)
#: Failures after which a read may be repeated (a write's outcome would be unknown).
_READ_AGAIN: tuple[type[BaseException], ...] = (
    *_NOT_EXECUTED,
    UnknownOutcome,
    OSError,
    TimeoutError,
)
_UNKNOWN: tuple[type[BaseException], ...] = (UnknownOutcome, OutcomeUnresolved)


class CoroutineRunner(Protocol):
    """An event loop on another thread that runs a coroutine and waits for its result."""

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = ...) -> T:
        """Run ``coroutine`` on the loop; its result, or its exception, after ``timeout``."""
        ...


class BlockingExchange:
    """:class:`~application.ports.exchange.ExchangePort` over an ``AsyncExchangePort``.

    Args:
        exchange: The asynchronous adapter.
        loop: The I/O loop it runs on.
        budget: Seconds one call may spend waiting out transient refusals.
        sleep: How to wait (tests pass a fake).
        monotonic: Clock for the budget (tests pass a fake).
    """

    def __init__(
        self,
        exchange: AsyncExchangePort,
        loop: CoroutineRunner,
        budget: float = RETRY_BUDGET,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._exchange = exchange
        self._loop = loop
        self._budget = budget
        self._sleep = sleep
        self._monotonic = monotonic
        self._shutdown_deadline: float | None = None

    def begin_shutdown(self, budget: float) -> None:
        """From now on every call shares one deadline, ``budget`` seconds away.

        Writes that are safe to repeat (see the module docstring) are then also repeated
        after an unknown outcome: the shutdown gives up only when the budget is spent.
        """
        self._shutdown_deadline = self._monotonic() + budget

    def call(
        self,
        name: str,
        make: Callable[[], Coroutine[Any, Any, T]],
        write: bool = False,
        idempotent: bool = False,
    ) -> T:
        """Run one call on the I/O loop, waiting out transient refusals within the budget.

        The port methods go through here; so do the adapter's own start-up requests (time
        sync, futures set-up), which a ban at start must not turn into an exit.

        Args:
            name: For messages.
            make: Makes the coroutine (once per attempt).
            write: It changes the exchange: repeated only when nothing was executed.
            idempotent: A write whose repetition changes nothing more: during shutdown it
                is repeated after an unknown outcome as well.

        Raises:
            ExchangeUnavailable: The budget is spent, or a write's outcome stays unknown.
        """
        shutdown = self._shutdown_deadline
        again = _NOT_EXECUTED if write else _READ_AGAIN
        if shutdown is not None and (idempotent or not write):
            again = (*_READ_AGAIN, *_UNKNOWN)
        deadline = self._monotonic() + self._budget if shutdown is None else shutdown
        attempt = 0
        while True:
            try:
                return self._loop.run(make(), CALL_TIMEOUT)
            except again as exc:
                wait = self._wait(exc, attempt)
                if self._monotonic() + wait > deadline:
                    raise ExchangeUnavailable(f"{name}: {type(exc).__name__}: {exc}") from exc
                log.warning(
                    "%s: %s: %s; trying again in %.1f s", name, type(exc).__name__, exc, wait
                )
                self._sleep(wait)
                attempt += 1
            except _UNKNOWN as exc:  # a write whose outcome the adapter could not settle
                raise ExchangeUnavailable(f"{name}: {type(exc).__name__}: {exc}") from exc

    @staticmethod
    def _wait(exc: BaseException, attempt: int) -> float:
        """Seconds to wait: what Binance asked for, else exponential from 0.5 s to 10 s."""
        if isinstance(exc, RateLimited) and exc.retry_after:
            return max(float(exc.retry_after), 0.1)
        if isinstance(exc, IpBanned):
            return 1.0
        return min(0.5 * 2**attempt, 10.0)

    def instrument(self, symbol: str) -> Instrument:
        """See :meth:`ExchangePort.instrument`."""
        return self.call("instrument", lambda: self._exchange.instrument(symbol))

    def place_order(self, request: OrderRequest) -> list[ExecutionEvent]:
        """See :meth:`ExchangePort.place_order` (a reduce-only order is safe to repeat)."""
        return self.call(
            "place_order",
            lambda: self._exchange.place_order(request),
            write=True,
            idempotent=request.reduce_only,
        )

    def modify_order(
        self, symbol: str, client_order_id: str, price: Decimal, quantity: Decimal
    ) -> list[ExecutionEvent]:
        """See :meth:`ExchangePort.modify_order`."""
        return self.call(
            "modify_order",
            lambda: self._exchange.modify_order(symbol, client_order_id, price, quantity),
            write=True,
        )

    def replace_order(
        self,
        symbol: str,
        client_order_id: str,
        new_client_order_id: str,
        price: Decimal,
        quantity: Decimal,
    ) -> list[ExecutionEvent]:
        """See :meth:`ExchangePort.replace_order`."""
        return self.call(
            "replace_order",
            lambda: self._exchange.replace_order(
                symbol, client_order_id, new_client_order_id, price, quantity
            ),
            write=True,
        )

    def cancel_order(self, symbol: str, client_order_id: str) -> list[ExecutionEvent]:
        """See :meth:`ExchangePort.cancel_order`."""
        return self.call(
            "cancel_order",
            lambda: self._exchange.cancel_order(symbol, client_order_id),
            write=True,
            idempotent=True,
        )

    def cancel_all_orders(self, symbol: str) -> list[ExecutionEvent]:
        """See :meth:`ExchangePort.cancel_all_orders`."""
        return self.call(
            "cancel_all_orders",
            lambda: self._exchange.cancel_all_orders(symbol),
            write=True,
            idempotent=True,
        )

    def query_order(self, symbol: str, client_order_id: str) -> OrderSnapshot | None:
        """See :meth:`ExchangePort.query_order`."""
        return self.call("query_order", lambda: self._exchange.query_order(symbol, client_order_id))

    def open_orders(self, symbol: str) -> list[OrderSnapshot]:
        """See :meth:`ExchangePort.open_orders`."""
        return self.call("open_orders", lambda: self._exchange.open_orders(symbol))

    def account(self) -> AccountSnapshot:
        """See :meth:`ExchangePort.account`."""
        return self.call("account", self._exchange.account)

    def trades_since(self, symbol: str, after_trade_id: int) -> list[Fill]:
        """See :meth:`ExchangePort.trades_since`."""
        return self.call(
            "trades_since", lambda: self._exchange.trades_since(symbol, after_trade_id)
        )

    def funding_since(self, symbol: str, after_ms: int) -> list[FundingPaid]:
        """See :meth:`ExchangePort.funding_since`."""
        return self.call("funding_since", lambda: self._exchange.funding_since(symbol, after_ms))
