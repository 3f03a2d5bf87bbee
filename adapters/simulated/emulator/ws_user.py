"""Binance user-data streams derived from the simulator's execution events (reference §8).

Futures: one listenKey per account (``POST/PUT/DELETE /fapi/v1/listenKey``), valid for
``listen_key_ttl_ms`` of wall time after the last keepalive; the stream is served at
``/private/ws/<listenKey>`` (and the legacy ``/ws/<listenKey>``). Events:
``ORDER_TRADE_UPDATE`` (x = NEW / TRADE / CANCELED / EXPIRED / AMENDMENT) and, after fills
or funding, ``ACCOUNT_UPDATE`` (m = ORDER / FUNDING_FEE). Expiry sends
``listenKeyExpired`` and closes the connection.

Futures algo (conditional) orders report through ``ALGO_UPDATE`` as on Binance: ``NEW`` on
placement, ``CANCELED`` / ``EXPIRED`` while untriggered, and no ``ORDER_TRADE_UPDATE`` for
the untriggered order. When its stop fires: ``TRIGGERING``, ``TRIGGERED`` (``ai`` = the
triggered order's id), then the triggered order's ``ORDER_TRADE_UPDATE`` NEW and TRADE(s),
then ``FINISHED`` (``ap`` / ``aq`` = its average price and executed quantity) once that
order is done. Deviation: the simulator's triggered order is the stop order itself, so it
keeps the algo's client id and the ``STOP_MARKET`` / ``TAKE_PROFIT_MARKET`` type.

Spot: the WS API at ``/ws-api/v3``; ``userDataStream.subscribe.signature`` (HMAC over the
alphabetically sorted params, as the WS API signs) starts a subscription and events arrive
as ``{"subscriptionId": N, "event": {...}}``: ``executionReport`` (x = NEW / TRADE /
CANCELED / EXPIRED / REPLACED / TRADE_PREVENTION) and ``outboundAccountPosition`` after
anything that moves balances.

Events come from ``EmulatorState.listeners`` in the order the simulator produced them, so
NEW precedes TRADE and balance / position events follow the fills of the same call. The
simulator reports cumulative figures only through snapshots taken after a whole call, so
per-order progress (executed quantity and quote) is tracked here event by event.

Deviation: for a cancel, Binance puts the cancel request's own client id in ``c`` and the
order's in ``C``; the simulator does not know the former, so both carry the order's id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import string
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from decimal import Decimal

from aiohttp import web

from adapters.simulated.emulator.state import EmulatorState, OrderMeta, Venue
from adapters.simulated.emulator.wire import (
    ApiError,
    check_timestamp,
    fmt,
    fmt_exact,
    places_of,
    signature_matches,
)
from adapters.simulated.emulator.ws_conn import ConnectionSet, StreamConnection
from domain.enums import Liquidity, MarketType
from domain.events import (
    ExecutionEvent,
    FundingPaid,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderModified,
)
from domain.orders import OrderStatus

ZERO = Decimal(0)
_MONEY = 8
_KEY_ALPHABET = string.ascii_letters + string.digits


def _unknown_key() -> ApiError:
    return ApiError(-1125, "This listenKey does not exist.")


# ================================================================================ listenKey
class ListenKeys:
    """The futures account's listenKey: Binance keeps one per account.

    ``POST`` returns the active key (extending it) or creates one; ``PUT`` extends it;
    ``DELETE`` closes it. Expiry is measured in wall time, as on Binance, not replay time.
    """

    def __init__(self, ttl_ms: int) -> None:
        self.ttl_s = ttl_ms / 1000
        self.key: str | None = None
        self.expires_at = 0.0

    def active(self, key: str) -> bool:
        """``key`` is the account's current, unexpired key."""
        return key == self.key and time.monotonic() < self.expires_at

    def create(self) -> str:
        """POST: the active key, extended; a fresh one when there is none."""
        if self.key is None or time.monotonic() >= self.expires_at:
            self.key = "".join(secrets.choice(_KEY_ALPHABET) for _ in range(64))
        self.expires_at = time.monotonic() + self.ttl_s
        return self.key

    def keepalive(self, key: str | None) -> str:
        """PUT: extend the active key (``key``, when sent, must be it).

        Raises:
            ApiError: -1125 no active key or a different one.
        """
        current = self._current(key)
        self.expires_at = time.monotonic() + self.ttl_s
        return current

    def delete(self, key: str | None) -> str:
        """DELETE: close the active key; returns it so its streams can be closed.

        Raises:
            ApiError: -1125 no active key or a different one.
        """
        current = self._current(key)
        self.key = None
        return current

    def due(self) -> str | None:
        """The key when it has just run out (it is forgotten), else None."""
        if self.key is not None and time.monotonic() >= self.expires_at:
            expired, self.key = self.key, None
            return expired
        return None

    def expire(self) -> str | None:
        """The ``listen_key_expired`` fault: forget the key now; returns it."""
        expired, self.key = self.key, None
        return expired

    def _current(self, key: str | None) -> str:
        if self.key is None or time.monotonic() >= self.expires_at:
            raise _unknown_key()
        if key is not None and key != self.key:
            raise _unknown_key()
        return self.key


# ================================================================================ payloads
@dataclass(slots=True)
class _Progress:
    """What Binance reports cumulatively about an order, kept event by event."""

    quantity: Decimal
    price: Decimal
    executed: Decimal = ZERO
    quote: Decimal = ZERO
    status: OrderStatus = OrderStatus.NEW
    #: Algo orders: the stop has fired (ALGO_UPDATE TRIGGERED was sent), at this time.
    triggered_at: int | None = None


@dataclass(frozen=True, slots=True)
class _Exec:
    """One execution-report-worthy change of one order."""

    venue: Venue
    meta: OrderMeta
    progress: _Progress
    exec_type: str
    status: str
    timestamp: int
    fill: OrderFilled | None = None
    in_match: bool = False


def _places(venue: Venue) -> tuple[int, int, int]:
    inst = venue.instrument
    price = places_of(inst.price_filter.tick_size)
    qty = places_of(inst.lot_size.step_size)
    return price, qty, price + qty if venue.market.is_futures else price


class UserStreams:
    """Futures listenKey streams and the spot WS API, fed by the state's event hook.

    Args:
        state: The emulated exchange.
        conns: Shared registry of open connections (faults, shutdown).
    """

    def __init__(self, state: EmulatorState, conns: ConnectionSet) -> None:
        self._state = state
        self._conns = conns
        self.keys = ListenKeys(state.stream_timings.listen_key_ttl_ms)
        self._futures: dict[StreamConnection, str] = {}
        self._spot: dict[StreamConnection, int] = {}
        self._next_sub: dict[StreamConnection, int] = {}
        self._progress: dict[tuple[MarketType, str, int], _Progress] = {}
        self._execution_ids = 0

    # ----------------------------------------------------------- REST (futures)
    def post_key(self, params: Mapping[str, str]) -> object:
        """``POST /fapi/v1/listenKey``."""
        return {"listenKey": self.keys.create()}

    def put_key(self, params: Mapping[str, str]) -> object:
        """``PUT /fapi/v1/listenKey`` (keepalive)."""
        return {"listenKey": self.keys.keepalive(params.get("listenKey") or None)}

    def delete_key(self, params: Mapping[str, str]) -> object:
        """``DELETE /fapi/v1/listenKey``: the key's streams are closed."""
        key = self.keys.delete(params.get("listenKey") or None)
        for conn, conn_key in list(self._futures.items()):
            if conn_key == key:
                conn.close_after_pending()
        return {}

    # ------------------------------------------------------------- expiry
    def expire_all(self) -> None:
        """Expire the listenKey now: ``listenKeyExpired``, then close its streams."""
        self._expired(self.keys.expire())

    def _expired(self, key: str | None) -> None:
        if key is None:
            return
        event = {"e": "listenKeyExpired", "E": self._state.now_ms(), "listenKey": key}
        for conn, conn_key in list(self._futures.items()):
            if conn_key == key:
                conn.send(event)
                conn.close_after_pending()

    async def expiry_task(self) -> None:
        """Check the listenKey's wall-time expiry until cancelled."""
        period = max(0.005, min(self.keys.ttl_s / 4, 1.0))
        while True:
            await asyncio.sleep(period)
            self._expired(self.keys.due())

    async def lifespan(self, app: web.Application) -> AsyncIterator[None]:
        """Cleanup context (aiohttp) running :meth:`expiry_task`."""
        task = asyncio.create_task(self.expiry_task())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    # ------------------------------------------------------------- routes
    def routes(self) -> list[web.RouteDef]:
        """``/private/ws/<listenKey>`` and the spot WS API ``/ws-api/v3``."""

        async def private(request: web.Request) -> web.StreamResponse:
            answer = await self.serve_key(request, request.match_info["key"])
            if answer is None:
                raise web.HTTPBadRequest(text="This listenKey does not exist.")
            return answer

        return [
            web.get("/private/ws/{key}", private),
            web.get("/private/ws", self._private_query),
            web.get("/ws-api/v3", self._ws_api),
        ]

    async def _private_query(self, request: web.Request) -> web.StreamResponse:
        answer = await self.serve_key(request, request.query.get("listenKey", ""))
        if answer is None:
            raise web.HTTPBadRequest(text="This listenKey does not exist.")
        return answer

    async def serve_key(self, request: web.Request, key: str) -> web.StreamResponse | None:
        """Serve a futures user-data stream; None when ``key`` is not the active key."""
        if not self.keys.active(key):
            return None
        timings = self._state.stream_timings
        conn = await self._conns.accept(
            request, timings.futures_ping_ms, timings.futures_pong_timeout_ms
        )
        self._futures[conn] = key
        try:
            await conn.serve()
        finally:
            self._futures.pop(conn, None)
            self._conns.forget(conn)
        return conn.ws

    async def _ws_api(self, request: web.Request) -> web.StreamResponse:
        timings = self._state.stream_timings
        conn = await self._conns.accept(request, timings.spot_ping_ms, timings.spot_pong_timeout_ms)
        try:
            await conn.serve(self._ws_api_request)
        finally:
            self._spot.pop(conn, None)
            self._next_sub.pop(conn, None)
            self._conns.forget(conn)
        return conn.ws

    # --------------------------------------------------------------- WS API
    def _ws_api_request(self, conn: StreamConnection, text: str) -> None:
        try:
            request = json.loads(text)
        except ValueError:
            request = None
        if not isinstance(request, dict):
            conn.send({"id": None, "status": 400, "error": {"code": -1102, "msg": "Bad request"}})
            return
        rid = request.get("id")
        params = request.get("params") or {}
        try:
            if not isinstance(params, dict):
                raise ApiError(-1102, "Parameter 'params' was empty or malformed.")
            result = self._ws_api_call(conn, str(request.get("method", "")), params)
        except ApiError as exc:
            conn.send({"id": rid, "status": exc.status, "error": exc.payload()})
            return
        conn.send({"id": rid, "status": 200, "result": result})

    def _ws_api_call(
        self, conn: StreamConnection, method: str, params: Mapping[str, object]
    ) -> object:
        if method == "ping":
            return {}
        if method == "time":
            return {"serverTime": self._state.server_time_ms()}
        if method == "userDataStream.subscribe.signature":
            self._check_signature(params)
            if conn in self._spot:  # one subscription per account per connection
                return {"subscriptionId": self._spot[conn]}
            sub_id = self._next_sub.get(conn, 0)
            self._next_sub[conn] = sub_id + 1
            self._spot[conn] = sub_id
            return {"subscriptionId": sub_id}
        if method == "userDataStream.unsubscribe":
            if conn in self._spot:
                sub_id = self._spot.pop(conn)
                event = {"e": "eventStreamTerminated", "E": self._state.now_ms()}
                conn.send({"subscriptionId": sub_id, "event": event})
            return {}
        raise ApiError(-1020, "This operation is not supported.")

    def _check_signature(self, params: Mapping[str, object]) -> None:
        """WS API signing: HMAC-SHA256 over ``k=v`` of all params but ``signature``, sorted."""
        text = {k: _param_text(v) for k, v in params.items()}
        for name in ("apiKey", "timestamp", "signature"):
            if not text.get(name):
                raise ApiError(-1102, f"Mandatory parameter '{name}' was not sent.")
        if text["apiKey"] != self._state.api_key:
            raise ApiError(-2015, "Invalid API-key, IP, or permissions for action.", status=401)
        payload = "&".join(f"{k}={text[k]}" for k in sorted(text) if k != "signature")
        if not signature_matches(self._state.api_secret, payload.encode(), text["signature"]):
            raise ApiError(-1022, "Signature for this request is not valid.")
        check_timestamp(text, self._state.server_time_ms(), microseconds=True)

    # --------------------------------------------------------------- events
    def on_events(self, venue: Venue, events: list[ExecutionEvent]) -> None:
        """Listener hook: turn one call's execution events into stream events."""
        futures = venue.market.is_futures
        execs: list[_Exec] = []
        funding: list[FundingPaid] = []
        for event in events:
            if isinstance(event, FundingPaid):
                funding.append(event)
                continue
            item = self._track(venue, event)
            if item is not None:
                execs.append(item)
        if futures:
            if not self._futures:
                return
            out = [self._funding_update(venue, f) for f in funding]
            for e in execs:
                out += self._futures_order_messages(e)
            fills = [e for e in execs if e.fill is not None]
            if fills:
                out.append(self._account_update(venue, "ORDER", fills[-1].timestamp))
            for conn in list(self._futures):
                for message in out:
                    conn.send(message)
        else:
            if not self._spot or not execs:
                return
            out = [self._execution_report(e) for e in execs]
            out.append(self._account_position(venue, max(e.timestamp for e in execs)))
            for conn, sub_id in list(self._spot.items()):
                for message in out:
                    conn.send({"subscriptionId": sub_id, "event": message})

    def _track(self, venue: Venue, event: ExecutionEvent) -> _Exec | None:
        """Advance the order's tracked progress; the change to report, if any."""
        cid = getattr(event, "client_order_id", None)
        if cid is None:
            return None
        if isinstance(event, OrderAccepted):
            order_id: int | None = event.exchange_order_id
        else:
            order_id = venue.order_id_of(cid)
        meta = venue.meta(order_id) if order_id is not None else None
        if meta is None:
            return None
        key = (venue.market, venue.symbol, meta.order_id)
        progress = self._progress.get(key)
        if progress is None:
            snap = venue.snapshot(meta)
            if snap is None:
                return None
            progress = _Progress(snap.quantity, snap.price or ZERO)
            self._progress[key] = progress
        futures = venue.market.is_futures
        item: _Exec | None
        if isinstance(event, OrderAccepted):
            item = _Exec(venue, meta, progress, "NEW", "NEW", event.timestamp)
        elif isinstance(event, OrderFilled):
            fill = event.fill
            progress.executed += fill.quantity
            progress.quote += fill.quantity * fill.price
            done = progress.executed >= progress.quantity
            progress.status = OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED
            item = _Exec(
                venue, meta, progress, "TRADE", progress.status.value, fill.timestamp, event
            )
        elif isinstance(event, OrderCanceled):
            progress.status = OrderStatus.CANCELED
            item = _Exec(venue, meta, progress, "CANCELED", "CANCELED", event.timestamp)
        elif isinstance(event, OrderExpired):
            status = "EXPIRED_IN_MATCH" if event.in_match else "EXPIRED"
            exec_type = "TRADE_PREVENTION" if event.in_match and not futures else "EXPIRED"
            progress.status = OrderStatus(status)
            item = _Exec(
                venue, meta, progress, exec_type, status, event.timestamp, in_match=event.in_match
            )
        elif isinstance(event, OrderModified):
            progress.price, progress.quantity = event.price, event.quantity
            exec_type = "AMENDMENT" if futures else "REPLACED"
            item = _Exec(venue, meta, progress, exec_type, progress.status.value, event.timestamp)
        else:
            return None
        if progress.status.is_terminal:
            del self._progress[key]
        return item

    # ..................................................................... futures
    def _futures_order_messages(self, e: _Exec) -> list[dict[str, object]]:
        """ORDER_TRADE_UPDATE of a regular order; ALGO_UPDATE steps of an algo order."""
        algo_id = e.venue.algo_of(e.meta.order_id)
        if algo_id is None:
            return [self._order_trade_update(e)]
        prog = e.progress
        out: list[dict[str, object]] = []
        if prog.triggered_at is None:
            if e.fill is None:
                status = _ALGO_STATUS.get(e.exec_type)
                return [] if status is None else [self._algo_update(e, algo_id, status)]
            prog.triggered_at = e.timestamp
            out.append(self._algo_update(e, algo_id, "TRIGGERING"))
            out.append(self._algo_update(e, algo_id, "TRIGGERED"))
            fresh = _Progress(prog.quantity, prog.price)
            out.append(
                self._order_trade_update(_Exec(e.venue, e.meta, fresh, "NEW", "NEW", e.timestamp))
            )
        out.append(self._order_trade_update(e))
        if OrderStatus(e.status).is_terminal:
            out.append(self._algo_update(e, algo_id, "FINISHED"))
        return out

    def _algo_update(self, e: _Exec, algo_id: int, status: str) -> dict[str, object]:
        """A futures ``ALGO_UPDATE`` (field names and shapes as captured, reference §8)."""
        venue, meta, prog = e.venue, e.meta, e.progress
        price_p, qty_p, quote_p = _places(venue)
        snap = venue.snapshot(meta)
        fired = status in ("TRIGGERED", "FINISHED")
        avg = prog.quote / prog.executed if prog.executed and status == "FINISHED" else ZERO
        executed = prog.executed if status == "FINISHED" else ZERO
        order: dict[str, object] = {
            "caid": meta.client_order_id,
            "aid": algo_id,
            "at": "CONDITIONAL",
            "o": meta.wire_type,
            "s": venue.symbol,
            "S": snap.side.value if snap else "BUY",
            "ps": "BOTH",
            "f": "GTC",
            "q": fmt(prog.quantity, qty_p),
            "X": status,
            "ai": str(meta.order_id) if fired else "",
        }
        if status != "TRIGGERING":
            order["ap"] = fmt(avg, quote_p)
            order["aq"] = fmt(executed, qty_p)
            order["act"] = "MARKET" if fired else "0"
        order.update(
            {
                "tp": fmt(snap.stop_price if snap else None, price_p),
                "p": "0",
                "V": meta.stp_mode,
                "wt": "CONTRACT_PRICE",
                "pm": "NONE",
                "cp": False,
                "pP": False,
                "R": bool(snap and snap.reduce_only),
                "tt": prog.triggered_at or 0,
                "gtd": 0,
            }
        )
        return {"e": "ALGO_UPDATE", "T": e.timestamp, "E": e.timestamp, "o": order}

    def _order_trade_update(self, e: _Exec) -> dict[str, object]:
        venue, meta, prog = e.venue, e.meta, e.progress
        price_p, qty_p, quote_p = _places(venue)
        snap = venue.snapshot(meta)
        fill = e.fill.fill if e.fill is not None else None
        avg = prog.quote / prog.executed if prog.executed else ZERO
        bids, asks = _open_notional(venue)
        order: dict[str, object] = {
            "s": venue.symbol,
            "c": meta.client_order_id,
            "S": snap.side.value if snap else (fill.side.value if fill else "BUY"),
            "o": meta.wire_type,
            "f": meta.time_in_force,
            "q": fmt(prog.quantity, qty_p),
            "p": fmt(prog.price, price_p),
            "ap": fmt(avg, quote_p),
            "sp": fmt(snap.stop_price if snap else None, price_p),
            "x": e.exec_type,
            "X": e.status,
            "i": meta.order_id,
            "l": fmt(fill.quantity if fill else ZERO, qty_p),
            "z": fmt(prog.executed, qty_p),
            "L": fmt(fill.price if fill else ZERO, price_p),
        }
        if fill is not None and fill.fee:
            order["N"] = fill.fee_asset
            order["n"] = fmt(fill.fee, _MONEY)
        order.update(
            {
                "T": e.timestamp,
                "t": fill.trade_id if fill else 0,
                "b": fmt(bids, _MONEY),
                "a": fmt(asks, _MONEY),
                "m": bool(fill and fill.liquidity is Liquidity.MAKER),
                "R": bool(snap and snap.reduce_only),
                "wt": "CONTRACT_PRICE",
                "ot": meta.wire_type,
                "ps": "BOTH",
                "cp": False,
                "AP": "0",
                "cr": "0",
                "pP": False,
                "si": 0,
                "ss": 0,
                # Exact: the emulator's wallet moves by the exact figure (Binance prints 8
                # decimals, and its wallet moves by those).
                "rp": fmt_exact(_realized(venue, fill.trade_id) if fill else ZERO, _MONEY),
                "V": meta.stp_mode,
                "pm": "NONE",
                "gtd": 0,
                "er": _expiry_reason(e),
            }
        )
        return {"e": "ORDER_TRADE_UPDATE", "T": e.timestamp, "E": e.timestamp, "o": order}

    def _wallets(self, asset: str) -> Decimal:
        total = ZERO
        for v in self._state.venues_of(MarketType.USDM_FUTURES):
            if v.instrument.quote_asset == asset:
                total += v.exchange.account().balances.get(asset, (ZERO, ZERO))[0]
        return total

    def _balance_row(self, venue: Venue, change: Decimal = ZERO) -> dict[str, object]:
        """A balance entry; ``bc`` is the change that is not trading (funding)."""
        asset = venue.instrument.quote_asset
        wallet = fmt(self._wallets(asset), _MONEY)
        return {"a": asset, "wb": wallet, "cw": wallet, "bc": fmt_exact(change, _MONEY)}

    def _account_update(self, venue: Venue, reason: str, ts: int) -> dict[str, object]:
        price_p, qty_p, _ = _places(venue)
        account = venue.exchange.account()
        pos = account.positions[0] if account.positions else None
        qty = pos.quantity if pos else ZERO
        entry = pos.entry_price if pos else ZERO
        position = {
            "s": venue.symbol,
            "pa": fmt(qty, qty_p),
            "ep": fmt(entry, price_p + 3),
            "bep": fmt(entry, price_p + 3),
            "cr": fmt(venue.position.realized_pnl, _MONEY),
            "up": fmt(pos.unrealized_pnl if pos else ZERO, _MONEY),
            "mt": "cross",
            "iw": "0",
            "ps": "BOTH",
        }
        return {
            "e": "ACCOUNT_UPDATE",
            "E": ts,
            "T": ts,
            "a": {"m": reason, "B": [self._balance_row(venue)], "P": [position]},
        }

    def _funding_update(self, venue: Venue, paid: FundingPaid) -> dict[str, object]:
        """Cross margin: FUNDING_FEE carries the balance only, no positions."""
        return {
            "e": "ACCOUNT_UPDATE",
            "E": paid.timestamp,
            "T": paid.timestamp,
            "a": {"m": "FUNDING_FEE", "B": [self._balance_row(venue, paid.amount)], "P": []},
        }

    # ........................................................................ spot
    def _execution_report(self, e: _Exec) -> dict[str, object]:
        venue, meta, prog = e.venue, e.meta, e.progress
        price_p, qty_p, quote_p = _places(venue)
        snap = venue.snapshot(meta)
        fill = e.fill.fill if e.fill is not None else None
        self._execution_ids += 1
        on_book = meta.wire_type != "MARKET" and e.status in ("NEW", "PARTIALLY_FILLED")
        canceled = e.exec_type == "CANCELED"
        last_quote = fill.quantity * fill.price if fill else ZERO
        return {
            "e": "executionReport",
            "E": e.timestamp,
            "s": venue.symbol,
            "c": meta.client_order_id,
            "S": snap.side.value if snap else (fill.side.value if fill else "BUY"),
            "o": meta.wire_type,
            "f": meta.time_in_force,
            "q": fmt(prog.quantity, qty_p),
            "p": fmt(prog.price, price_p),
            "P": fmt(snap.stop_price if snap else None, price_p),
            "F": fmt(ZERO, qty_p),
            "g": -1,
            "C": meta.client_order_id if canceled else "",
            "x": e.exec_type,
            "X": e.status,
            "r": "NONE",
            "i": meta.order_id,
            "l": fmt(fill.quantity if fill else ZERO, qty_p),
            "z": fmt(prog.executed, qty_p),
            "L": fmt(fill.price if fill else ZERO, price_p),
            "n": fmt(fill.fee, _MONEY) if fill else "0",
            "N": fill.fee_asset if fill and fill.fee else None,
            "T": e.timestamp,
            "t": fill.trade_id if fill else -1,
            "I": self._execution_ids,
            "w": on_book,
            "m": bool(fill and fill.liquidity is Liquidity.MAKER),
            "M": False,
            "O": meta.created,
            "Z": fmt(prog.quote, quote_p),
            "Y": fmt(last_quote, quote_p),
            "Q": fmt(ZERO, quote_p),
            "W": meta.created,
            "V": meta.stp_mode,
        }

    def _account_position(self, venue: Venue, ts: int) -> dict[str, object]:
        """Balances of the venue's two assets, summed over spot venues like /account."""
        assets = (venue.instrument.base_asset, venue.instrument.quote_asset)
        totals = {a: [ZERO, ZERO] for a in assets}
        for v in self._state.venues_of(MarketType.SPOT):
            for asset, (free, locked) in v.exchange.account().balances.items():
                if asset in totals:
                    totals[asset][0] += free
                    totals[asset][1] += locked
        rows = [
            {"a": a, "f": fmt(f, _MONEY), "l": fmt(lk, _MONEY)} for a, (f, lk) in totals.items()
        ]
        return {"e": "outboundAccountPosition", "E": ts, "u": ts, "B": rows}


#: Execution type of an untriggered algo order's simulated stop -> its ALGO_UPDATE status
#: (an AMENDMENT cannot happen: the Algo service has no modify).
_ALGO_STATUS = {"NEW": "NEW", "CANCELED": "CANCELED", "EXPIRED": "EXPIRED"}


def _param_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _realized(venue: Venue, trade_id: int) -> Decimal:
    for trade in reversed(venue.trades):
        if trade.trade_id == trade_id:
            return trade.realized_pnl
    return ZERO


def _open_notional(venue: Venue) -> tuple[Decimal, Decimal]:
    """Bid / ask notional of the open orders (``b`` / ``a`` of ORDER_TRADE_UPDATE)."""
    bids = asks = ZERO
    for _, snap in venue.open_orders():
        value = (snap.quantity - snap.executed_quantity) * (snap.price or ZERO)
        if snap.side.value == "BUY":
            bids += value
        else:
            asks += value
    return bids, asks


def _expiry_reason(e: _Exec) -> str:
    """Futures ``er``: 1 STP, 9 market remainder, 2 IOC remainder, else 0."""
    if e.exec_type != "EXPIRED":
        return "0"
    if e.in_match:
        return "1"
    if e.meta.wire_type == "MARKET":
        return "9"
    return "2" if e.meta.time_in_force in ("IOC", "FOK") else "0"
