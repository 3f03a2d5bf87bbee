"""What a Binance route is (:class:`Endpoint`) and what its handler gets (:class:`Call`).

Shared by the route tables of every market and by the request pipeline in :mod:`.app`.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from adapters.simulated.emulator.state import EmulatorState, Venue
from adapters.simulated.emulator.wire import ApiError, invalid_symbol, one_of_ids, opt_int, req_str
from domain.enums import MarketType

SPOT = MarketType.SPOT
FUTURES = MarketType.USDM_FUTURES
SIGNED_PARAMS = ("timestamp", "recvWindow", "signature")
_ID_ALPHABET = string.ascii_letters + string.digits
#: ``orderId`` / ``origClientOrderId`` addressing of one order.
ORDER_REF_PARAMS = ("symbol", "orderId", "origClientOrderId")
#: The trade-list queries (myTrades / userTrades).
TRADE_QUERY_PARAMS = ("symbol", "orderId", "startTime", "endTime", "fromId", "limit")


@dataclass(slots=True)
class Call:
    """One authenticated, parsed request as a handler sees it."""

    state: EmulatorState
    market: MarketType
    params: dict[str, str]
    ids: random.Random
    #: The order-rate limit (-1015) the request broke, when its endpoint handles that itself
    #: (cancel-replace with ``orderRateLimitExceededMode=CANCEL_ONLY``).
    order_limit: ApiError | None = None

    def venue(self) -> Venue:
        """The venue named by the mandatory ``symbol`` parameter.

        Raises:
            ApiError: -1102 no symbol, -1121 not listed on this market.
        """
        symbol = req_str(self.params, "symbol")
        venue = self.state.venue(self.market, symbol)
        if venue is None:
            raise invalid_symbol()
        return venue

    def venues(self) -> list[Venue]:
        """The venue of the optional ``symbol``, or every venue of the market."""
        if "symbol" in self.params:
            return [self.venue()]
        return self.state.venues_of(self.market)

    def new_id(self) -> str:
        """A client order id in Binance's auto-generated style (22 alphanumerics)."""
        return "".join(self.ids.choice(_ID_ALPHABET) for _ in range(22))

    def order_ref(self) -> tuple[int | None, str | None]:
        """``orderId`` / ``origClientOrderId``; at least one is mandatory.

        Raises:
            ApiError: -1102 when neither is sent, -1100 when orderId is malformed.
        """
        order_id = opt_int(self.params, "orderId")
        client_id = self.params.get("origClientOrderId") or None
        if order_id is None and client_id is None:
            raise one_of_ids()
        return order_id, client_id


Weight = int | Callable[[Mapping[str, str]], int]
Handler = Callable[[Call], object]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One Binance route: where it is, what it costs and who may call it."""

    method: str
    path: str
    market: MarketType
    handler: Handler
    weight: Weight = 1
    signed: bool = False
    new_order: bool = False
    params: tuple[str, ...] | None = None
    #: For these parameters the handler answers a broken order-rate limit (``Call.order_limit``)
    #: instead of the pipeline.
    handles_order_limit: Callable[[Mapping[str, str]], bool] | None = None
    #: ``USER_STREAM`` security: ``X-MBX-APIKEY`` required, no signature (listenKey routes).
    key_required: bool = False

    def weight_of(self, params: Mapping[str, str]) -> int:
        """Request weight for these parameters."""
        return self.weight if isinstance(self.weight, int) else self.weight(params)


def _signed(*names: str) -> tuple[str, ...]:
    return (*names, *SIGNED_PARAMS)
