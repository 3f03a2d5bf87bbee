"""History reads of the Binance adapter: our trades and futures funding, paged.

Trade rows name orders only by exchange id; :meth:`HistoryReader.client_id` maps them to
client ids through the remembered orders, or one order query for an unknown id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from adapters.binance.errors import BinanceParseError
from adapters.binance.known_orders import KnownOrders
from adapters.binance.parsers import integer, parse_funding_income, parse_order, parse_trade, text
from adapters.binance.requests import Endpoints
from adapters.binance.rest import BinanceRestClient
from domain.events import FundingPaid
from domain.instruments import Instrument
from domain.orders import Fill

#: Binance's page size for trade and income history.
PAGE = 1000


class HistoryReader:
    """Trade and funding history of one market.

    Args:
        client: The REST client of the market.
        endpoints: Paths and weights of that market.
        instrument: Loads the (cached) instrument of a symbol.
        known: The remembered orders (client ids of trade rows).
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

    async def trades_since(self, symbol: str, after_trade_id: int) -> list[Fill]:
        """Our fills with trade id above ``after_trade_id``, oldest first (paged by 1000).

        A commission paid in a third asset (BNB) leaves ``fee_quote`` None: its quote value
        needs that asset's price at trade time, which the caller supplies.
        """
        instrument = await self._instrument(symbol)
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
                cid = await self.client_id(symbol, integer(row, "orderId"))
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
        if not self._market.is_futures:
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
        step = (await self._instrument(symbol)).lot_size.step_size
        out = [parse_funding_income(r, rates, step) for r in rows]
        out.sort(key=lambda f: f.timestamp)
        return out

    async def client_id(self, symbol: str, exchange_order_id: int) -> str:
        """The client id of an exchange order id (trade rows carry only the latter)."""
        cid = self._known.client_id(symbol, exchange_order_id)
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
            self._known.remember(parse_order(payload, self._market))
        except BinanceParseError:
            self._known.link(symbol, exchange_order_id, cid)
        return cid
