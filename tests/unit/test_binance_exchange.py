"""BinanceExchange over httpx.MockTransport against a small hand-written fake Binance.

The fake keeps orders and trades, checks every signature and timestamp like Binance, answers
with Binance's field names and error codes, and can be told to fail a given request: lose
the answer after executing it (timeout, 503, -1007), fail before executing, or answer
429/418. Time is a fake clock that moves only when the code under test sleeps, so back-off,
recvWindow waits and bans run instantly.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections import defaultdict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import httpx
import pytest

from adapters.binance.errors import AuthenticationFailed, IpBanned, OutcomeUnresolved
from adapters.binance.exchange import BinanceExchange
from adapters.binance.rest import BinanceRestClient
from application.ports.exchange import OrderRequest
from domain.enums import Liquidity, OrderType, Side, TimeInForce
from domain.events import (
    CancelRejected,
    FundingPaid,
    ModifyRejected,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderModified,
    OrderRejected,
    RejectReason,
)
from domain.orders import OrderStatus

D = Decimal
SYMBOL = "BTCUSDT"
KEY, SECRET = "test-key", "test-secret"
LAST = D("50000")
T = TypeVar("T")


# ====================================================================== fakes
class FakeClock:
    """Monotonic and wall time that move only on (fake) sleeps."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.t

    def wall_ms(self) -> int:
        return 1_700_000_000_000 + round(self.t * 1000)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


@dataclass
class Fault:
    """How the fake mishandles one request.

    ``execute``: process the request before failing (the answer is lost or replaced).
    ``kind``: ``timeout``, ``connect`` or ``status`` (answer ``status`` with ``body``).
    """

    kind: str
    execute: bool = True
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def respond(self, request: httpx.Request) -> httpx.Response:
        if self.kind == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        if self.kind == "connect":
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(self.status, json=self.body, headers=self.headers)


class BinanceError(Exception):
    def __init__(self, status: int, code: int, msg: str, data: Any = None) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg, self.data = status, code, msg, data


class FakeBinance:
    """Just enough of Binance spot / USD-M futures for the adapter's REST calls."""

    def __init__(self, market: str, clock: FakeClock) -> None:
        self.futures = market == "futures"
        self.clock = clock
        self.prefix = "/fapi/v1" if self.futures else "/api/v3"
        self.orders: dict[int, dict[str, Any]] = {}
        self.trades: list[dict[str, Any]] = []
        self.income: list[dict[str, Any]] = []
        self.funding_rates: list[dict[str, Any]] = []
        self.log: list[tuple[str, str, dict[str, str]]] = []
        self.faults: dict[tuple[str, str], list[Fault]] = defaultdict(list)
        self.skew_ms = 0
        self.next_order_id = 100
        self.next_trade_id = 5000
        self.weight = 0
        self.algos: dict[str, dict[str, Any]] = {}  # futures algo orders by clientAlgoId

    # ------------------------------------------------------------------ plumbing
    def now(self) -> int:
        return self.clock.wall_ms() + self.skew_ms

    def fail(self, method: str, path: str, *faults: Fault) -> None:
        self.faults[(method, path)].extend(faults)

    def requests(self, method: str, path: str) -> list[dict[str, str]]:
        return [params for m, p, params in self.log if (m, p) == (method, path)]

    def handler(self, request: httpx.Request) -> httpx.Response:
        method, path = request.method, request.url.path
        raw = request.url.query.decode("ascii")
        params = dict(parse_qsl(raw, keep_blank_values=True))
        self.log.append((method, path, params))
        queue = self.faults.get((method, path))
        fault = queue.pop(0) if queue else None
        if fault is not None and not fault.execute:
            return fault.respond(request)
        self.weight += 1
        headers = {"X-MBX-USED-WEIGHT-1M": str(self.weight)}
        try:
            if "signature" in params:
                self._authenticate(request, raw, params)
            body = self.route(method, path, params)
            response = httpx.Response(200, json=body, headers=headers)
        except BinanceError as exc:
            error: dict[str, Any] = {"code": exc.code, "msg": exc.msg}
            if exc.data is not None:
                error["data"] = exc.data
            response = httpx.Response(exc.status, json=error, headers=headers)
        if fault is not None:
            return fault.respond(request)
        return response

    def _authenticate(self, request: httpx.Request, raw: str, params: dict[str, str]) -> None:
        if request.headers.get("X-MBX-APIKEY") != KEY:
            raise BinanceError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        head, signature = raw.rsplit("&signature=", 1)
        expected = hmac.new(SECRET.encode(), head.encode(), hashlib.sha256).hexdigest()
        if signature != expected:
            raise BinanceError(400, -1022, "Signature for this request is not valid.")
        timestamp, window = int(params["timestamp"]), int(params.get("recvWindow", 5000))
        if timestamp >= self.now() + 1000 or self.now() - timestamp > window:
            raise BinanceError(
                400, -1021, "Timestamp for this request is outside of the recvWindow."
            )

    # ------------------------------------------------------------------ routes
    def route(self, method: str, path: str, p: dict[str, str]) -> Any:
        pre = self.prefix
        if path == f"{pre}/time":
            return {"serverTime": self.now()}
        if path == f"{pre}/exchangeInfo":
            return exchange_info(self.futures)
        if (method, path) == ("POST", f"{pre}/order"):
            order, fills = self.new_order(p)
            return self.answer(order, fills, p.get("newOrderRespType"))
        if (method, path) == ("GET", f"{pre}/order"):
            return self.find(p)
        if (method, path) == ("DELETE", f"{pre}/order"):
            return self.cancel(self.find(p, open_only=True, code=-2011))
        if (method, path) == ("GET", f"{pre}/openOrders"):
            return [o for o in self.orders.values() if o["status"] in ("NEW", "PARTIALLY_FILLED")]
        if (method, path) == ("GET", "/fapi/v1/openAlgoOrders"):
            return []  # this fake holds no conditional orders
        if (method, path) == ("DELETE", "/api/v3/openOrders"):
            open_ = [o for o in self.orders.values() if o["status"] == "NEW"]
            if not open_:
                raise BinanceError(400, -2011, "Unknown order sent.")
            return [self.cancel(o) for o in open_]
        if (method, path) == ("DELETE", "/fapi/v1/allOpenOrders"):
            for o in list(self.orders.values()):
                if o["status"] == "NEW":
                    self.cancel(o)
            return {"code": 200, "msg": "The operation of cancel all open order is done."}
        if (method, path) == ("PUT", "/fapi/v1/order"):
            return self.modify(p)
        if (method, path) == ("POST", "/api/v3/order/cancelReplace"):
            return self.cancel_replace(p)
        if path in ("/api/v3/myTrades", "/fapi/v1/userTrades"):
            rows = [t for t in self.trades if t["symbol"] == p["symbol"]]
            if "orderId" in p:
                rows = [t for t in rows if t["orderId"] == int(p["orderId"])]
            if "fromId" in p:
                rows = [t for t in rows if t["id"] >= int(p["fromId"])]
            return rows[: int(p.get("limit", 500))]
        if path == "/api/v3/account":
            return {
                "balances": [
                    {"asset": "BTC", "free": "1.5", "locked": "0.25"},
                    {"asset": "USDT", "free": "1000.00", "locked": "0"},
                ]
            }
        if path == "/fapi/v3/balance":
            return [{"asset": "USDT", "balance": "1234.5", "crossWalletBalance": "1234.5"}]
        if path == "/fapi/v3/positionRisk":  # v3 rows: no leverage, margin figures instead
            return [
                {
                    "symbol": "BTCUSDT",
                    "positionAmt": "0.010",
                    "entryPrice": "49000.0",
                    "markPrice": "50000.0",
                    "unRealizedProfit": "10.0",
                    "notional": "500.0",
                    "positionInitialMargin": "100.0",
                },
                {
                    "symbol": "ETHUSDT",
                    "positionAmt": "0",
                    "entryPrice": "0.0",
                    "markPrice": "3000",
                    "unRealizedProfit": "0",
                    "notional": "0",
                    "positionInitialMargin": "0",
                },
            ]
        if path == "/fapi/v1/income":
            start = int(p.get("startTime", 0))
            return [r for r in self.income if r["time"] >= start]
        if path == "/fapi/v1/fundingRate":
            return self.funding_rates
        if path == "/fapi/v1/algoOrder":
            return self.algo(method, p)
        raise BinanceError(404, -1000, f"fake has no route {method} {path}")

    def algo(self, method: str, p: dict[str, str]) -> dict[str, Any]:
        """A minimal Algo service: place, query and cancel by clientAlgoId."""
        if method == "POST":
            self.next_order_id += 1
            order = {
                "algoId": 900_000 + self.next_order_id,
                "clientAlgoId": p["clientAlgoId"],
                "algoType": p["algoType"],
                "orderType": p["type"],
                "symbol": p["symbol"],
                "side": p["side"],
                "quantity": p["quantity"],
                "triggerPrice": p["triggerPrice"],
                "workingType": p["workingType"],
                "reduceOnly": p.get("reduceOnly") == "true",
                "algoStatus": "NEW",
                "updateTime": self.now(),
            }
            self.algos[p["clientAlgoId"]] = order
            return order
        order = self.algos.get(p["clientAlgoId"])
        if method == "GET":
            if order is None:
                raise BinanceError(400, -2013, "Order does not exist.")
            return order
        if order is None or order["algoStatus"] != "NEW":
            raise BinanceError(400, -2011, "Unknown order sent.")
        order["algoStatus"] = "CANCELED"
        return order

    # ------------------------------------------------------------------ orders
    def new_order(self, p: dict[str, str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        cid, side, wire_type = p["newClientOrderId"], p["side"], p["type"]
        if any(
            o["clientOrderId"] == cid and o["status"] in ("NEW", "PARTIALLY_FILLED")
            for o in self.orders.values()
        ):
            if self.futures:
                raise BinanceError(400, -4116, "clientOrderId is duplicated")
            raise BinanceError(400, -2010, "Duplicate order sent.")
        if self.futures and wire_type not in ("LIMIT", "MARKET"):
            raise BinanceError(400, -4120, "Order type not supported for this endpoint.")
        price = D(p["price"]) if "price" in p else None
        qty = D(p["quantity"])
        crosses = wire_type == "MARKET" or (
            price is not None and (price >= LAST if side == "BUY" else price <= LAST)
        )
        post_only = wire_type == "LIMIT_MAKER" or p.get("timeInForce") == "GTX"
        if crosses and post_only:
            if self.futures:
                raise BinanceError(
                    400,
                    -5022,
                    "Due to the order could not be executed as "
                    "maker, the Post Only order will be rejected.",
                )
            raise BinanceError(400, -2010, "Order would immediately match and take.")
        self.next_order_id += 1
        now = self.now()
        order: dict[str, Any] = {
            "symbol": p["symbol"],
            "orderId": self.next_order_id,
            "orderListId": -1,
            "clientOrderId": cid,
            "price": str(price or D("0")),
            "origQty": str(qty),
            "executedQty": "0",
            "status": "NEW",
            "timeInForce": p.get("timeInForce", "GTC"),
            "type": wire_type,
            "side": side,
            "stopPrice": p.get("stopPrice", "0"),
            "time": now,
            "updateTime": now,
        }
        if self.futures:
            order.update(cumQuote="0", reduceOnly=p.get("reduceOnly") == "true")
        else:
            order["cummulativeQuoteQty"] = "0"
        self.orders[order["orderId"]] = order
        fills = self.fill(order, qty) if crosses else []
        return order, fills

    def fill(self, order: dict[str, Any], qty: Decimal) -> list[dict[str, Any]]:
        self.next_trade_id += 1
        commission = qty * LAST * D("0.001")
        row: dict[str, Any] = {
            "symbol": order["symbol"],
            "id": self.next_trade_id,
            "orderId": order["orderId"],
            "price": str(LAST),
            "qty": str(qty),
            "quoteQty": str(qty * LAST),
            "commission": str(commission),
            "commissionAsset": "USDT",
            "time": self.now(),
        }
        if self.futures:
            row.update(side=order["side"], buyer=order["side"] == "BUY", maker=False)
        else:
            row.update(isBuyer=order["side"] == "BUY", isMaker=False, isBestMatch=True)
        self.trades.append(row)
        executed = D(order["executedQty"]) + qty
        order["executedQty"] = str(executed)
        order["cumQuote" if self.futures else "cummulativeQuoteQty"] = str(executed * LAST)
        order["status"] = "FILLED" if executed == D(order["origQty"]) else "PARTIALLY_FILLED"
        return [
            {
                "price": row["price"],
                "qty": row["qty"],
                "commission": row["commission"],
                "commissionAsset": "USDT",
                "tradeId": row["id"],
            }
        ]

    def answer(
        self, order: dict[str, Any], fills: list[dict[str, Any]], resp_type: str | None
    ) -> dict[str, Any]:
        if self.futures:
            return dict(order)
        body = {k: v for k, v in order.items() if k not in ("time", "updateTime", "stopPrice")}
        body["transactTime"] = order["updateTime"]
        if resp_type == "FULL":
            body["fills"] = fills
        return body

    def find(self, p: dict[str, str], open_only: bool = False, code: int = -2013) -> dict[str, Any]:
        if "orderId" in p:
            candidates = [self.orders.get(int(p["orderId"]))]
        else:
            cid = p.get("origClientOrderId") or p.get("cancelOrigClientOrderId")
            candidates = sorted(
                (o for o in self.orders.values() if o["clientOrderId"] == cid),
                key=lambda o: o["orderId"],
                reverse=True,
            )
        for order in candidates:
            if order is not None and (not open_only or order["status"] in ("NEW",)):
                return order
        if code == -2011:
            raise BinanceError(400, -2011, "Unknown order sent.")
        raise BinanceError(400, -2013, "Order does not exist.")

    def cancel(self, order: dict[str, Any]) -> dict[str, Any]:
        order["status"] = "CANCELED"
        order["updateTime"] = self.now()
        if self.futures:
            return dict(order)
        body = {k: v for k, v in order.items() if k not in ("time", "updateTime", "stopPrice")}
        body.update(
            origClientOrderId=order["clientOrderId"],
            clientOrderId=f"cancel-{order['orderId']}",
            transactTime=order["updateTime"],
        )
        return body

    def modify(self, p: dict[str, str]) -> dict[str, Any]:
        order = self.find(p, open_only=True)
        if order["side"] != p["side"]:
            raise BinanceError(400, -1102, "side does not match")
        order.update(price=p["price"], origQty=p["quantity"], updateTime=self.now())
        return dict(order)

    def cancel_replace(self, p: dict[str, str]) -> dict[str, Any]:
        try:
            old = self.find(p, open_only=True, code=-2011)
        except BinanceError as exc:
            raise BinanceError(
                400,
                -2022,
                "Order cancel-replace failed.",
                {
                    "cancelResult": "FAILURE",
                    "newOrderResult": "NOT_ATTEMPTED",
                    "cancelResponse": {"code": exc.code, "msg": exc.msg},
                    "newOrderResponse": None,
                },
            ) from exc
        cancel_response = self.cancel(old)
        try:
            order, fills = self.new_order(p)
        except BinanceError as exc:
            raise BinanceError(
                409,
                -2021,
                "Order cancel-replace partially failed.",
                {
                    "cancelResult": "SUCCESS",
                    "newOrderResult": "FAILURE",
                    "cancelResponse": cancel_response,
                    "newOrderResponse": {"code": exc.code, "msg": exc.msg},
                },
            ) from exc
        return {
            "cancelResult": "SUCCESS",
            "newOrderResult": "SUCCESS",
            "cancelResponse": cancel_response,
            "newOrderResponse": self.answer(order, fills, p.get("newOrderRespType")),
        }


def exchange_info(futures: bool) -> dict[str, Any]:
    limits = [
        {
            "rateLimitType": "REQUEST_WEIGHT",
            "interval": "MINUTE",
            "intervalNum": 1,
            "limit": 2400 if futures else 6000,
        },
        {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300},
    ]
    return {
        "rateLimits": limits,
        "symbols": [
            {
                "symbol": SYMBOL,
                "baseAsset": "BTC",
                "quoteAsset": "USDT",
                "filters": [
                    {
                        "filterType": "PRICE_FILTER",
                        "minPrice": "0.01",
                        "maxPrice": "1000000",
                        "tickSize": "0.01",
                    },
                    {
                        "filterType": "LOT_SIZE",
                        "minQty": "0.00001",
                        "maxQty": "9000",
                        "stepSize": "0.00001",
                    },
                ],
            }
        ],
    }


@dataclass
class Harness:
    fake: FakeBinance
    exchange: BinanceExchange
    clock: FakeClock

    @property
    def order_path(self) -> str:
        return f"{self.fake.prefix}/order"

    def run(self, coro_fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
        return asyncio.run(coro_fn())


def make(market: str = "spot") -> Harness:
    clock = FakeClock()
    fake = FakeBinance(market, clock)
    http = httpx.AsyncClient(transport=httpx.MockTransport(fake.handler))
    client = BinanceRestClient(
        "futures" if market == "futures" else "spot",
        "https://fake.binance.test",
        KEY,
        SECRET,
        5000,
        http,
        monotonic=clock.monotonic,
        sleep=clock.sleep,
        wall_ms=clock.wall_ms,
    )
    return Harness(fake, BinanceExchange(client), clock)


def limit(
    cid: str = "c1", side: Side = Side.BUY, price: str = "49000", qty: str = "0.01", **kw: Any
) -> OrderRequest:
    return OrderRequest(
        cid, SYMBOL, side, OrderType.LIMIT, D(qty), D(price), kw.pop("tif", TimeInForce.GTC), **kw
    )


def market_order(cid: str = "m1", side: Side = Side.BUY, qty: str = "0.01") -> OrderRequest:
    return OrderRequest(cid, SYMBOL, side, OrderType.MARKET, D(qty))


MARKETS = pytest.mark.parametrize("market", ["spot", "futures"])


# ====================================================================== success paths
@MARKETS
def test_resting_limit_is_accepted_and_queryable(market: str) -> None:
    h = make(market)
    ex = h.exchange

    async def scenario() -> None:
        [ack] = await ex.place_order(limit())
        assert isinstance(ack, OrderAccepted) and ack.client_order_id == "c1"
        snap = await ex.query_order(SYMBOL, "c1")
        assert snap is not None
        assert (snap.status, snap.exchange_order_id) == (OrderStatus.NEW, ack.exchange_order_id)
        assert (snap.price, snap.quantity, snap.time_in_force) == (
            D("49000"),
            D("0.01"),
            TimeInForce.GTC,
        )
        assert [s.client_order_id for s in await ex.open_orders(SYMBOL)] == ["c1"]

    h.run(scenario)
    [sent] = h.fake.requests("POST", h.order_path)
    assert sent["newOrderRespType"] == ("RESULT" if market == "futures" else "FULL")
    assert (sent["type"], sent["timeInForce"], sent["price"]) == ("LIMIT", "GTC", "49000")
    assert len(h.fake.requests("GET", f"{h.fake.prefix}/time")) == 1  # synced once


def test_spot_post_only_is_sent_as_limit_maker() -> None:
    h = make("spot")
    [ack] = h.run(lambda: h.exchange.place_order(limit(tif=TimeInForce.GTX)))
    assert isinstance(ack, OrderAccepted)
    [sent] = h.fake.requests("POST", "/api/v3/order")
    assert sent["type"] == "LIMIT_MAKER" and "timeInForce" not in sent
    snap = h.run(lambda: h.exchange.query_order(SYMBOL, "c1"))
    assert snap is not None and snap.time_in_force is TimeInForce.GTX


@MARKETS
def test_post_only_that_would_take_is_rejected(market: str) -> None:
    h = make(market)
    [rejected] = h.run(lambda: h.exchange.place_order(limit(price="51000", tif=TimeInForce.GTX)))
    assert isinstance(rejected, OrderRejected)
    assert rejected.reason is RejectReason.POST_ONLY_WOULD_TAKE
    assert rejected.code == (-5022 if market == "futures" else -2010)


@MARKETS
def test_market_order_reports_its_fills_and_trades_since_lists_them(market: str) -> None:
    h = make(market)
    ex = h.exchange

    async def scenario() -> None:
        events = await ex.place_order(market_order())
        assert [type(e) for e in events] == [OrderAccepted, OrderFilled]
        fill = events[1].fill  # type: ignore[union-attr]
        assert (fill.client_order_id, fill.quantity, fill.price) == ("m1", D("0.01"), LAST)
        assert fill.liquidity is Liquidity.TAKER
        assert fill.fee == D("0.5") and fill.fee_quote == D("0.5")
        assert await ex.trades_since(SYMBOL, 0) == [fill]
        assert await ex.trades_since(SYMBOL, fill.trade_id) == []

    h.run(scenario)
    # Futures RESULT answers carry no fills: they are read by orderId.
    by_order = [p for p in h.fake.requests("GET", _trades(h)) if "orderId" in p]
    assert len(by_order) == (1 if market == "futures" else 0)


def _trades(h: Harness) -> str:
    return "/fapi/v1/userTrades" if h.fake.futures else "/api/v3/myTrades"


def test_trades_of_orders_placed_elsewhere_are_named_by_a_lookup() -> None:
    h = make("spot")
    h.run(lambda: h.exchange.place_order(market_order("elsewhere")))
    fresh = make("spot")  # another process on the same account: its cache is empty
    fresh.fake.orders, fresh.fake.trades = h.fake.orders, h.fake.trades
    [fill] = fresh.run(lambda: fresh.exchange.trades_since(SYMBOL, 0))
    assert fill.client_order_id == "elsewhere"
    assert [p for p in fresh.fake.requests("GET", "/api/v3/order") if "orderId" in p]


def test_futures_reduce_only_is_sent_and_conditional_orders_go_to_the_algo_service() -> None:
    h = make("futures")
    h.run(lambda: h.exchange.place_order(limit(side=Side.SELL, price="51000", reduce_only=True)))
    [sent] = h.fake.requests("POST", "/fapi/v1/order")
    assert sent["reduceOnly"] == "true"
    stop = OrderRequest(
        "s1", SYMBOL, Side.SELL, OrderType.STOP_MARKET, D("0.01"), stop_price=D("45000")
    )
    [accepted] = h.run(lambda: h.exchange.place_order(stop))
    assert isinstance(accepted, OrderAccepted) and accepted.client_order_id == "s1"
    assert len(h.fake.requests("POST", "/fapi/v1/order")) == 1  # not sent as a regular order
    [algo] = h.fake.requests("POST", "/fapi/v1/algoOrder")
    assert algo["algoType"] == "CONDITIONAL" and algo["type"] == "STOP_MARKET"
    assert (algo["clientAlgoId"], algo["triggerPrice"], algo["quantity"]) == ("s1", "45000", "0.01")
    assert algo["workingType"] == "CONTRACT_PRICE" and "reduceOnly" not in algo
    assert accepted.exchange_order_id == h.fake.algos["s1"]["algoId"]
    snap = h.run(lambda: h.exchange.query_order(SYMBOL, "s1"))
    assert snap is not None and snap.status is OrderStatus.NEW
    assert snap.order_type is OrderType.STOP_MARKET and snap.stop_price == D("45000")
    [canceled] = h.run(lambda: h.exchange.cancel_order(SYMBOL, "s1"))
    assert isinstance(canceled, OrderCanceled)
    assert h.fake.requests("DELETE", "/fapi/v1/order") == []  # known algo: straight there
    [again] = h.run(lambda: h.exchange.cancel_order(SYMBOL, "s1"))
    assert isinstance(again, CancelRejected) and again.code == -2011
    snap = h.run(lambda: h.exchange.query_order(SYMBOL, "s1"))
    assert snap is not None and snap.status is OrderStatus.CANCELED


def test_spot_stop_is_sent_as_stop_loss() -> None:
    h = make("spot")
    stop = OrderRequest(
        "s1", SYMBOL, Side.SELL, OrderType.STOP_MARKET, D("0.01"), stop_price=D("45000")
    )
    [ack] = h.run(lambda: h.exchange.place_order(stop))
    assert isinstance(ack, OrderAccepted)
    [sent] = h.fake.requests("POST", "/api/v3/order")
    assert (sent["type"], sent["stopPrice"]) == ("STOP_LOSS", "45000")
    assert "timeInForce" not in sent and "price" not in sent


@MARKETS
def test_duplicate_client_id_is_rejected(market: str) -> None:
    h = make(market)
    h.run(lambda: h.exchange.place_order(limit()))
    [rejected] = h.run(lambda: h.exchange.place_order(limit(price="48000")))
    assert isinstance(rejected, OrderRejected)
    assert rejected.reason is RejectReason.DUPLICATE_CLIENT_ID


# ====================================================================== clock sync
@MARKETS
def test_timestamp_rejection_resyncs_the_clock_and_retries_once(market: str) -> None:
    h = make(market)
    h.run(lambda: h.exchange.place_order(limit("c0", price="48000")))
    h.fake.skew_ms = 20_000  # the server's clock jumps ahead: our timestamps are now stale
    [ack] = h.run(lambda: h.exchange.place_order(limit()))
    assert isinstance(ack, OrderAccepted)
    posts = h.fake.requests("POST", h.order_path)
    assert [p["newClientOrderId"] for p in posts] == ["c0", "c1", "c1"]
    assert int(posts[-1]["timestamp"]) - int(posts[-2]["timestamp"]) >= 20_000
    assert len(h.fake.requests("GET", f"{h.fake.prefix}/time")) == 2
    assert len([o for o in h.fake.orders.values() if o["clientOrderId"] == "c1"]) == 1


def test_a_second_timestamp_rejection_is_returned_as_a_rejection() -> None:
    h = make("spot")
    stale = Fault(
        "status",
        execute=False,
        status=400,
        body={"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."},
    )
    h.fake.fail("POST", "/api/v3/order", stale, stale)
    [rejected] = h.run(lambda: h.exchange.place_order(limit()))
    assert isinstance(rejected, OrderRejected) and rejected.code == -1021
    assert len(h.fake.requests("POST", "/api/v3/order")) == 2


# ====================================================================== rate limits
def test_429_is_a_rejection_and_later_requests_wait_retry_after() -> None:
    h = make("spot")
    h.run(lambda: h.exchange.instrument(SYMBOL))
    too_many = Fault(
        "status",
        execute=False,
        status=429,
        headers={"Retry-After": "7"},
        body={
            "code": -1015,
            "msg": "Too many new orders; current limit is 100 orders per 10 SECOND.",
        },
    )
    h.fake.fail("POST", "/api/v3/order", too_many)
    [rejected] = h.run(lambda: h.exchange.place_order(limit()))
    assert isinstance(rejected, OrderRejected)
    assert (rejected.code, rejected.reason) == (-1015, RejectReason.RANDOM_FAULT)
    assert h.clock.sleeps == []
    h.run(lambda: h.exchange.open_orders(SYMBOL))
    assert h.clock.sleeps == [7.0]  # held back until Retry-After passed


def test_418_ban_stops_every_request_until_it_ends() -> None:
    h = make("futures")
    h.run(lambda: h.exchange.instrument(SYMBOL))
    banned = Fault(
        "status",
        execute=False,
        status=418,
        headers={"Retry-After": "120"},
        body={"code": -1003, "msg": "Way too many requests; IP banned until 1700000120000."},
    )
    h.fake.fail("GET", "/fapi/v1/openOrders", banned)
    with pytest.raises(IpBanned):
        h.run(lambda: h.exchange.open_orders(SYMBOL))
    sent = len(h.fake.log)
    with pytest.raises(IpBanned):
        h.run(lambda: h.exchange.account())
    [rejected] = h.run(lambda: h.exchange.place_order(limit()))
    assert isinstance(rejected, OrderRejected) and rejected.reason is RejectReason.RANDOM_FAULT
    assert len(h.fake.log) == sent  # nothing reached the exchange during the ban
    h.clock.t += 120
    assert h.run(lambda: h.exchange.open_orders(SYMBOL)) == []


def test_ban_end_is_read_from_the_message_when_retry_after_is_missing() -> None:
    h = make("spot")
    h.run(lambda: h.exchange.instrument(SYMBOL))
    until = h.clock.wall_ms() + 300_000
    banned = Fault(
        "status",
        execute=False,
        status=418,
        body={"code": -1003, "msg": f"Way too much request weight used; IP banned until {until}."},
    )
    h.fake.fail("GET", "/api/v3/openOrders", banned)
    with pytest.raises(IpBanned):
        h.run(lambda: h.exchange.open_orders(SYMBOL))
    assert h.exchange.client.limiter.banned_for == pytest.approx(300, abs=0.01)


def test_exchange_info_rate_limits_replace_the_defaults() -> None:
    h = make("spot")
    h.run(lambda: h.exchange.instrument(SYMBOL))
    limits = h.exchange.client.limiter.limits
    assert [(lim.header, lim.limit) for lim in limits] == [
        ("x-mbx-used-weight-1m", 6000),
        ("x-mbx-order-count-10s", 300),
    ]


# ====================================================================== unknown outcomes
UNKNOWN_AFTER_EXECUTION = {
    "timeout": Fault("timeout"),
    "503": Fault(
        "status",
        status=503,
        body={"code": -1000, "msg": "Unknown error, please check your request or try again later."},
    ),
    "-1007": Fault(
        "status",
        status=408,
        body={
            "code": -1007,
            "msg": "Timeout waiting for response from backend "
            "server. Send status unknown; execution status unknown.",
        },
    ),
    "-1006": Fault(
        "status",
        status=500,
        body={
            "code": -1006,
            "msg": "An unexpected response was received from the "
            "message bus. Execution status unknown.",
        },
    ),
    "connection": Fault("connect"),
}


@MARKETS
@pytest.mark.parametrize("fault", sorted(UNKNOWN_AFTER_EXECUTION))
def test_unknown_outcome_on_place_is_resolved_by_query_without_resending(
    market: str, fault: str
) -> None:
    h = make(market)
    h.fake.fail("POST", h.order_path, UNKNOWN_AFTER_EXECUTION[fault])
    events = h.run(lambda: h.exchange.place_order(limit()))
    [order] = h.fake.orders.values()
    assert events == [OrderAccepted("c1", order["orderId"], order["updateTime"])]
    assert len(h.fake.requests("POST", h.order_path)) == 1  # exactly ONE POST
    queries = h.fake.requests("GET", h.order_path)
    assert [q["origClientOrderId"] for q in queries] == ["c1"]


@MARKETS
def test_unknown_outcome_of_a_filled_order_reports_the_fills(market: str) -> None:
    h = make(market)
    h.fake.fail("POST", h.order_path, Fault("timeout"))
    events = h.run(lambda: h.exchange.place_order(market_order()))
    assert [type(e) for e in events] == [OrderAccepted, OrderFilled]
    [trade] = h.fake.trades
    assert events[1].fill.trade_id == trade["id"]  # type: ignore[union-attr]
    assert len(h.fake.requests("POST", h.order_path)) == 1


@MARKETS
def test_request_that_never_executed_is_rejected_as_never_sent(market: str) -> None:
    h = make(market)
    h.fake.fail("POST", h.order_path, Fault("timeout", execute=False))
    [rejected] = h.run(lambda: h.exchange.place_order(limit()))
    assert isinstance(rejected, OrderRejected)
    assert rejected.reason is RejectReason.NEVER_SENT
    assert "never executed" in rejected.message
    assert len(h.fake.requests("POST", h.order_path)) == 1
    assert len(h.fake.requests("GET", h.order_path)) > 1  # polled until the window passed
    assert sum(h.clock.sleeps) * 1000 >= 5000  # at least recvWindow


def test_order_appearing_late_is_found_by_a_later_query() -> None:
    h = make("spot")
    h.fake.fail("POST", "/api/v3/order", Fault("timeout", execute=False))
    not_yet = Fault(
        "status", execute=False, status=400, body={"code": -2013, "msg": "Order does not exist."}
    )
    h.fake.fail("GET", "/api/v3/order", not_yet, not_yet)
    original = h.fake.route

    def route(method: str, path: str, p: dict[str, str]) -> Any:
        if (method, path) == ("GET", "/api/v3/order") and not h.fake.orders:
            # The delayed request reaches the matching engine between two queries.
            h.fake.new_order({**_first_post(h), "newOrderRespType": "FULL"})
        return original(method, path, p)

    h.fake.route = route  # type: ignore[method-assign]
    events = h.run(lambda: h.exchange.place_order(limit()))
    assert [type(e) for e in events] == [OrderAccepted]
    assert len(h.fake.requests("GET", "/api/v3/order")) == 3
    assert h.clock.sleeps == [0.25, 0.5]


def _first_post(h: Harness) -> dict[str, str]:
    return h.fake.requests("POST", "/api/v3/order")[0]


def test_queries_failing_too_long_raise_outcome_unresolved() -> None:
    h = make("spot")
    h.run(lambda: h.exchange.instrument(SYMBOL))
    h.fake.fail("POST", "/api/v3/order", Fault("timeout"))
    h.fake.fail("GET", "/api/v3/order", *(Fault("timeout", execute=False) for _ in range(8)))
    with pytest.raises(OutcomeUnresolved) as caught:
        h.run(lambda: h.exchange.place_order(limit()))
    assert caught.value.client_order_id == "c1"
    assert len(h.fake.requests("POST", "/api/v3/order")) == 1
    assert len(h.fake.requests("GET", "/api/v3/order")) == 8


def test_definite_overload_is_a_rejection_not_an_unknown_outcome() -> None:
    h = make("futures")
    throttled = {"code": -1008, "msg": "Request throttled by system-level protection."}
    busy = Fault("status", execute=False, status=503, body=throttled)
    h.fake.fail("POST", "/fapi/v1/order", busy)
    [rejected] = h.run(lambda: h.exchange.place_order(limit()))
    assert isinstance(rejected, OrderRejected)
    assert (rejected.code, rejected.reason) == (-1008, RejectReason.RANDOM_FAULT)
    assert h.fake.requests("GET", "/fapi/v1/order") == []


# ====================================================================== cancel
@MARKETS
def test_cancel_closes_the_order_and_a_second_cancel_is_rejected(market: str) -> None:
    h = make(market)
    ex = h.exchange

    async def scenario() -> None:
        await ex.place_order(limit())
        [canceled] = await ex.cancel_order(SYMBOL, "c1")
        assert isinstance(canceled, OrderCanceled) and canceled.client_order_id == "c1"
        snap = await ex.query_order(SYMBOL, "c1")
        assert snap is not None and snap.status is OrderStatus.CANCELED
        [again] = await ex.cancel_order(SYMBOL, "c1")
        assert isinstance(again, CancelRejected)
        assert (again.code, again.reason) == (-2011, RejectReason.UNKNOWN_ORDER)
        assert again.message == "Unknown order sent."

    h.run(scenario)


@MARKETS
def test_cancel_of_an_unknown_order_and_query_of_it(market: str) -> None:
    h = make(market)
    [rejected] = h.run(lambda: h.exchange.cancel_order(SYMBOL, "never"))
    assert isinstance(rejected, CancelRejected)
    assert (rejected.code, rejected.reason) == (-2011, RejectReason.UNKNOWN_ORDER)
    assert h.run(lambda: h.exchange.query_order(SYMBOL, "never")) is None  # -2013


@MARKETS
def test_cancel_with_unknown_outcome_is_resolved_by_query(market: str) -> None:
    h = make(market)
    h.run(lambda: h.exchange.place_order(limit()))
    h.fake.fail("DELETE", h.order_path, Fault("status", status=502, body="<html>502</html>"))
    [canceled] = h.run(lambda: h.exchange.cancel_order(SYMBOL, "c1"))
    assert isinstance(canceled, OrderCanceled)
    assert len(h.fake.requests("DELETE", h.order_path)) == 1


def test_cancel_that_never_executed_says_so() -> None:
    h = make("spot")
    h.run(lambda: h.exchange.place_order(limit()))
    h.fake.fail("DELETE", "/api/v3/order", Fault("timeout", execute=False))
    [rejected] = h.run(lambda: h.exchange.cancel_order(SYMBOL, "c1"))
    assert isinstance(rejected, CancelRejected)
    assert rejected.reason is RejectReason.NEVER_SENT
    assert len(h.fake.requests("DELETE", "/api/v3/order")) == 1


@MARKETS
def test_cancel_all_reports_each_order(market: str) -> None:
    h = make(market)
    ex = h.exchange

    async def scenario() -> None:
        assert await ex.cancel_all_orders(SYMBOL) == []
        for i, price in enumerate(("48000", "47000", "46000")):
            await ex.place_order(limit(f"c{i}", price=price))
        events = await ex.cancel_all_orders(SYMBOL)
        assert all(isinstance(e, OrderCanceled) for e in events)
        assert sorted(e.client_order_id for e in events) == ["c0", "c1", "c2"]
        assert await ex.open_orders(SYMBOL) == []

    h.run(scenario)
    path = "/fapi/v1/allOpenOrders" if market == "futures" else "/api/v3/openOrders"
    assert len(h.fake.requests("DELETE", path)) == 1  # none sent while nothing was open


# ====================================================================== modify
def test_spot_modify_is_a_cancel_replace_under_a_new_client_id() -> None:
    # The replacement is a new exchange order: it must not reuse the cancelled order's
    # client id (docs/validation/findings.md, entry 17).
    h = make("spot")
    ex = h.exchange

    async def scenario() -> None:
        [ack] = await ex.place_order(limit())
        assert isinstance(ack, OrderAccepted)
        events = await ex.replace_order(SYMBOL, "c1", "c2", D("48500"), D("0.02"))
        assert [type(e) for e in events] == [OrderCanceled, OrderAccepted]
        canceled, new_ack = events
        assert canceled.client_order_id == "c1"
        assert isinstance(new_ack, OrderAccepted) and new_ack.client_order_id == "c2"
        assert new_ack.exchange_order_id != ack.exchange_order_id  # a new order on Binance
        [listed] = await ex.open_orders(SYMBOL)
        assert (listed.client_order_id, listed.exchange_order_id) == (
            "c2",
            new_ack.exchange_order_id,
        )
        assert (listed.price, listed.quantity) == (D("48500"), D("0.02"))
        old = await ex.query_order(SYMBOL, "c1")
        assert old is not None and old.status is OrderStatus.CANCELED
        assert old.exchange_order_id == ack.exchange_order_id

    h.run(scenario)
    [sent] = h.fake.requests("POST", "/api/v3/order/cancelReplace")
    assert sent["cancelReplaceMode"] == "STOP_ON_FAILURE"
    assert sent["cancelRestrictions"] == "ONLY_NEW"
    assert (sent["cancelOrigClientOrderId"], sent["newClientOrderId"]) == ("c1", "c2")
    assert (sent["side"], sent["type"], sent["timeInForce"]) == ("BUY", "LIMIT", "GTC")


def test_spot_modify_order_is_refused_locally() -> None:
    h = make("spot")
    h.run(lambda: h.exchange.place_order(limit()))
    [rejected] = h.run(lambda: h.exchange.modify_order(SYMBOL, "c1", D("48500"), D("0.01")))
    assert isinstance(rejected, ModifyRejected)
    assert rejected.reason is RejectReason.INVALID_REQUEST
    assert h.fake.requests("POST", "/api/v3/order/cancelReplace") == []


def test_spot_replace_whose_new_order_fails_reports_the_cancel_and_the_reason() -> None:
    h = make("spot")
    h.run(lambda: h.exchange.place_order(limit(tif=TimeInForce.GTX)))
    events = h.run(lambda: h.exchange.replace_order(SYMBOL, "c1", "c2", D("51000"), D("0.01")))
    assert [type(e) for e in events] == [OrderCanceled, OrderRejected]
    assert events[0].client_order_id == "c1"
    rejected = events[1]
    assert isinstance(rejected, OrderRejected) and rejected.client_order_id == "c2"
    assert (rejected.code, rejected.reason) == (-2010, RejectReason.POST_ONLY_WOULD_TAKE)
    [sent] = h.fake.requests("POST", "/api/v3/order/cancelReplace")
    assert sent["type"] == "LIMIT_MAKER" and "timeInForce" not in sent


def test_spot_replace_whose_cancel_fails_changes_nothing() -> None:
    h = make("spot")
    h.run(lambda: h.exchange.place_order(limit()))
    h.run(lambda: h.exchange.cancel_order(SYMBOL, "c1"))
    events = h.run(lambda: h.exchange.replace_order(SYMBOL, "c1", "c2", D("48000"), D("0.01")))
    assert [type(e) for e in events] == [CancelRejected, OrderRejected]
    refused, never = events
    assert isinstance(refused, CancelRejected) and refused.client_order_id == "c1"
    assert (refused.code, refused.reason) == (-2011, RejectReason.UNKNOWN_ORDER)
    assert never.client_order_id == "c2"


def test_spot_replace_with_unknown_outcome_finds_the_replacement() -> None:
    h = make("spot")
    h.run(lambda: h.exchange.place_order(limit()))
    h.fake.fail("POST", "/api/v3/order/cancelReplace", Fault("timeout"))
    events = h.run(lambda: h.exchange.replace_order(SYMBOL, "c1", "c2", D("48500"), D("0.01")))
    assert [(type(e), e.client_order_id) for e in events] == [
        (OrderCanceled, "c1"),
        (OrderAccepted, "c2"),
    ]
    assert len(h.fake.requests("POST", "/api/v3/order/cancelReplace")) == 1


def test_spot_replace_that_never_executed_is_not_applied() -> None:
    h = make("spot")
    h.run(lambda: h.exchange.place_order(limit()))
    h.fake.fail("POST", "/api/v3/order/cancelReplace", Fault("timeout", execute=False))
    events = h.run(lambda: h.exchange.replace_order(SYMBOL, "c1", "c2", D("48500"), D("0.01")))
    assert [type(e) for e in events] == [CancelRejected, OrderRejected]
    assert all(e.reason is RejectReason.NEVER_SENT for e in events)  # type: ignore[union-attr]
    snap = h.run(lambda: h.exchange.query_order(SYMBOL, "c1"))
    assert snap is not None and snap.status is OrderStatus.NEW


@MARKETS
def test_modify_of_an_unknown_order_is_rejected(market: str) -> None:
    h = make(market)
    if market == "spot":
        refused, never = h.run(
            lambda: h.exchange.replace_order(SYMBOL, "never", "n2", LAST, D("0.01"))
        )
        assert isinstance(refused, CancelRejected) and isinstance(never, OrderRejected)
        assert refused.reason is never.reason is RejectReason.UNKNOWN_ORDER
        return
    [rejected] = h.run(lambda: h.exchange.modify_order(SYMBOL, "never", LAST, D("0.01")))
    assert isinstance(rejected, ModifyRejected)
    assert rejected.reason is RejectReason.UNKNOWN_ORDER


def test_futures_modify_keeps_the_order_id() -> None:
    h = make("futures")
    ex = h.exchange

    async def scenario() -> None:
        [ack] = await ex.place_order(limit())
        assert isinstance(ack, OrderAccepted)
        [modified] = await ex.modify_order(SYMBOL, "c1", D("48500"), D("0.02"))
        assert isinstance(modified, OrderModified)
        assert (modified.price, modified.quantity) == (D("48500"), D("0.02"))
        snap = await ex.query_order(SYMBOL, "c1")
        assert snap is not None and snap.exchange_order_id == ack.exchange_order_id

    h.run(scenario)
    [sent] = h.fake.requests("PUT", "/fapi/v1/order")
    assert (sent["origClientOrderId"], sent["side"], sent["price"], sent["quantity"]) == (
        "c1",
        "BUY",
        "48500",
        "0.02",
    )


def test_futures_modify_with_unknown_outcome_is_resolved_by_query() -> None:
    h = make("futures")
    h.run(lambda: h.exchange.place_order(limit()))
    h.fake.fail(
        "PUT",
        "/fapi/v1/order",
        Fault("status", status=408, body={"code": -1007, "msg": "Timeout waiting for response"}),
    )
    [modified] = h.run(lambda: h.exchange.modify_order(SYMBOL, "c1", D("48500"), D("0.01")))
    assert isinstance(modified, OrderModified) and modified.price == D("48500")
    assert len(h.fake.requests("PUT", "/fapi/v1/order")) == 1


def test_modifying_a_market_order_is_refused_locally() -> None:
    h = make("futures")
    h.run(lambda: h.exchange.place_order(market_order()))
    [rejected] = h.run(lambda: h.exchange.modify_order(SYMBOL, "m1", LAST, D("0.01")))
    assert isinstance(rejected, ModifyRejected)
    assert rejected.reason is RejectReason.INVALID_REQUEST
    assert h.fake.requests("PUT", "/fapi/v1/order") == []


# ====================================================================== account, funding
def test_spot_account() -> None:
    h = make("spot")
    snapshot = h.run(lambda: h.exchange.account())
    assert snapshot.balances == {"BTC": (D("1.5"), D("0.25")), "USDT": (D("1000"), D("0"))}
    assert snapshot.positions == []
    [sent] = h.fake.requests("GET", "/api/v3/account")
    assert sent["omitZeroBalances"] == "true"


def test_futures_account_has_wallet_balance_and_open_positions() -> None:
    h = make("futures")
    snapshot = h.run(lambda: h.exchange.account())
    assert snapshot.balances == {"USDT": (D("1234.5"), D("0"))}
    [position] = snapshot.positions
    assert (position.symbol, position.quantity, position.entry_price) == (
        SYMBOL,
        D("0.010"),
        D("49000"),
    )
    assert (position.mark_price, position.unrealized_pnl, position.leverage) == (
        D("50000"),
        D("10"),
        5,
    )


def test_funding_since_reads_income_and_matches_rates() -> None:
    h = make("futures")
    t0 = 1_704_067_200_000
    h.fake.income = [
        {
            "symbol": SYMBOL,
            "incomeType": "FUNDING_FEE",
            "income": "-0.50000000",
            "asset": "USDT",
            "info": "FUNDING_FEE",
            "time": t0 + 4,
            "tranId": 1,
            "tradeId": "",
        },
        {
            "symbol": SYMBOL,
            "incomeType": "FUNDING_FEE",
            "income": "0.25000000",
            "asset": "USDT",
            "info": "FUNDING_FEE",
            "time": t0 + 28_800_003,
            "tranId": 2,
            "tradeId": "",
        },
    ]
    h.fake.funding_rates = [
        {
            "symbol": SYMBOL,
            "fundingRate": "0.00010000",
            "fundingTime": t0,
            "markPrice": "50000.00000000",
        },
        {
            "symbol": SYMBOL,
            "fundingRate": "-0.00005000",
            "fundingTime": t0 + 28_800_000,
            "markPrice": "50000.00000000",
        },
    ]
    paid = h.run(lambda: h.exchange.funding_since(SYMBOL, t0))
    assert paid == [
        FundingPaid(SYMBOL, D("-0.5"), D("0.0001"), D("50000"), D("0.10000"), t0 + 4),
        FundingPaid(SYMBOL, D("0.25"), D("-0.00005"), D("50000"), D("0.10000"), t0 + 28_800_003),
    ]
    [income] = h.fake.requests("GET", "/fapi/v1/income")
    assert (income["incomeType"], income["startTime"]) == ("FUNDING_FEE", str(t0 + 1))
    [rates] = h.fake.requests("GET", "/fapi/v1/fundingRate")
    assert "signature" not in rates  # public endpoint


def test_spot_has_no_funding_and_sends_nothing() -> None:
    h = make("spot")
    assert h.run(lambda: h.exchange.funding_since(SYMBOL, 0)) == []
    assert h.fake.log == []


def test_unknown_symbol_is_a_rejection_not_a_request() -> None:
    h = make("spot")
    request = OrderRequest(
        "x1", "NOPEUSDT", Side.BUY, OrderType.LIMIT, D("1"), D("1"), TimeInForce.GTC
    )
    [rejected] = h.run(lambda: h.exchange.place_order(request))
    assert isinstance(rejected, OrderRejected) and rejected.code == -1121
    assert h.fake.requests("POST", "/api/v3/order") == []


def test_bad_credentials_surface_as_a_rejection_with_the_binance_code() -> None:
    h = make("spot")
    h.run(lambda: h.exchange.instrument(SYMBOL))
    h.exchange.client._api_key = "wrong"
    [rejected] = h.run(lambda: h.exchange.place_order(limit()))
    assert isinstance(rejected, OrderRejected) and rejected.code == -2015
    with pytest.raises(AuthenticationFailed):  # reads raise the typed error
        h.run(lambda: h.exchange.account())


def test_cancel_all_with_unknown_outcome_resolves_each_order() -> None:
    h = make("futures")
    for i, price in enumerate(("48000", "47000")):
        h.run(lambda cid=f"c{i}", price=price: h.exchange.place_order(limit(cid, price=price)))
    h.fake.fail("DELETE", "/fapi/v1/allOpenOrders", Fault("timeout"))
    events = h.run(lambda: h.exchange.cancel_all_orders(SYMBOL))
    assert sorted((type(e).__name__, e.client_order_id) for e in events) == [
        ("OrderCanceled", "c0"),
        ("OrderCanceled", "c1"),
    ]
    assert len(h.fake.requests("DELETE", "/fapi/v1/allOpenOrders")) == 1


def test_cancel_all_refused_answers_every_open_order() -> None:
    h = make("spot")
    for i, price in enumerate(("48000", "47000")):
        h.run(lambda cid=f"c{i}", price=price: h.exchange.place_order(limit(cid, price=price)))
    busy = Fault("status", execute=False, status=429, body={"code": -1003, "msg": "Too many"})
    h.fake.fail("DELETE", "/api/v3/openOrders", busy)
    events = h.run(lambda: h.exchange.cancel_all_orders(SYMBOL))
    assert [(type(e), e.client_order_id) for e in events] == [
        (CancelRejected, "c0"),
        (CancelRejected, "c1"),
    ]
    assert all(e.code == -1003 for e in events if isinstance(e, CancelRejected))


def test_cancel_lost_to_a_fill_reports_the_fill() -> None:
    h = make("spot")
    h.run(lambda: h.exchange.place_order(limit()))
    [order] = h.fake.orders.values()
    h.fake.fill(order, D("0.01"))  # the order fills while the cancel is in flight
    h.fake.fail("DELETE", "/api/v3/order", Fault("timeout", execute=False))
    events = h.run(lambda: h.exchange.cancel_order(SYMBOL, "c1"))
    assert [type(e) for e in events] == [OrderFilled]
    assert events[0].fill.quantity == D("0.01")  # type: ignore[union-attr]
