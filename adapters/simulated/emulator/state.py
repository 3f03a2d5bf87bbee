"""Everything the emulator serves, and the bookkeeping Binance clients need on top.

One simulated exchange per market and symbol, a replay clock, the candle source,
credentials, rate limiters and the faults queued by tests.

The simulated exchange keys orders by client id and reports venue-neutral events. Binance
clients also need order ids, trade lists with order ids and realized PnL, income history and
the wire names of order types (spot ``LIMIT_MAKER`` is the simulator's GTX). :class:`Venue`
keeps exactly that, fed by the events of every call it forwards, so nothing here depends on
the simulator's internals (only on its public methods).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from adapters.simulated.emulator.audit import VenueAudit
from adapters.simulated.emulator.limits import RateLimiter, RateLimits
from adapters.simulated.exchange import SimulatedExchange
from adapters.simulated.settings import SimulationSettings
from application.ports.exchange import OrderRequest, OrderSnapshot
from domain.candles import Candle
from domain.enums import Liquidity, MarketType, Side
from domain.events import (
    ExecutionEvent,
    FundingPaid,
    OrderAccepted,
    OrderFilled,
    OrderRejected,
)
from domain.instruments import Instrument
from domain.positions import Position

ZERO = Decimal(0)
DEFAULT_QUOTE_BALANCE = Decimal(10_000)
_RECORD_RETENTION = 20_000

#: Fault names accepted by :meth:`EmulatorState.inject` (``delay_ms`` / ``clock_skew_ms``
#: take a value after a colon).
FAULTS = (
    "http_500",
    "unknown_after_place",
    "rate_limit_429",
    "ban_418",
    "delay_ms:<n>",
    "clock_skew_ms:<n>",
    "ws_drop",
    "ws_stall",
    "listen_key_expired",
)
_COUNTED_FAULTS = frozenset({"http_500", "unknown_after_place", "rate_limit_429", "ban_418"})
#: Faults that act at once on the WebSocket side (handed to ``fault_listeners``).
STREAM_FAULTS = frozenset({"ws_drop", "ws_stall", "listen_key_expired"})


def _wall_ms() -> float:
    return time.time() * 1000


@dataclass(slots=True)
class OrderMeta:
    """What Binance reports about an order that the simulator does not keep.

    Attributes:
        order_id: Binance ``orderId`` (the simulator's exchange order id).
        client_order_id: ``clientOrderId``.
        wire_type: Binance order type as sent (``LIMIT_MAKER``, ``STOP_LOSS``...).
        time_in_force: Binance ``timeInForce`` as reported (spot LIMIT_MAKER reports GTC).
        created: Acceptance time (``time`` / ``workingTime``), exchange clock.
        stp_mode: ``selfTradePreventionMode`` echoed back.
    """

    order_id: int
    client_order_id: str
    wire_type: str
    time_in_force: str
    created: int
    stp_mode: str = "NONE"


@dataclass(frozen=True, slots=True)
class TradeRecord:
    """One of our executions as myTrades / userTrades report it."""

    trade_id: int
    order_id: int
    side: Side
    price: Decimal
    quantity: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    maker: bool
    realized_pnl: Decimal


@dataclass(frozen=True, slots=True)
class IncomeRecord:
    """One row of the futures income history."""

    income_type: str
    income: Decimal
    asset: str
    time: int
    tran_id: int
    trade_id: str


@dataclass(frozen=True, slots=True)
class _Pending:
    wire_type: str
    time_in_force: str
    stp_mode: str
    algo: bool = False


class Venue:
    """One symbol on one market: the simulated exchange plus Binance's extra bookkeeping."""

    def __init__(self, instrument: Instrument, exchange: SimulatedExchange, leverage: int) -> None:
        self.instrument = instrument
        self.exchange = exchange
        self.market = instrument.market
        self.symbol = instrument.symbol
        self.leverage = leverage
        #: Futures margin type as set by ``POST /fapi/v1/marginType`` (recorded only: the
        #: margin figures stay cross-margin).
        self.margin_type = "CROSSED"
        self.position = Position(instrument.symbol)  # futures: realized PnL per trade
        self.trades: deque[TradeRecord] = deque(maxlen=_RECORD_RETENTION)
        self.income: deque[IncomeRecord] = deque(maxlen=_RECORD_RETENTION)
        #: Funding settlements applied here: (funding time, rate, mark price).
        self.funding_rates: deque[tuple[int, Decimal, Decimal]] = deque(maxlen=_RECORD_RETENTION)
        self._orders: OrderedDict[int, OrderMeta] = OrderedDict()
        self._order_of_client: dict[str, int] = {}
        # Final state of closed orders whose client id was reused (cancel-replace keeps the
        # id): the simulator then only answers for the newest order under that id.
        self._superseded: dict[int, OrderSnapshot] = {}
        self._pending: dict[str, _Pending] = {}
        self._tran_ids = itertools.count(1)
        self.updated = 0
        #: Futures algo (conditional) orders: algoId -> orderId of the simulated stop order.
        self.algo_orders: dict[int, int] = {}
        self._algo_of_order: dict[int, int] = {}
        self._algo_ids = itertools.count(1_000_000_001)
        #: Unbounded ground truth for validation runs: every client id, exact accounting,
        #: the highest effective leverage (see :mod:`.audit`).
        wallet = exchange.account().balances.get(instrument.quote_asset, (ZERO, ZERO))[0]
        self.audit = VenueAudit(self.market.is_futures, wallet if self.market.is_futures else ZERO)

    def _new_algo(self, order_id: int) -> int:
        """Register the simulated order behind a new algo order; its ``algoId``.

        Done when the order is recorded as accepted, so listeners (the user-data stream)
        already see it as an algo order in the events of its placement.
        """
        algo_id = next(self._algo_ids)
        self.algo_orders[algo_id] = order_id
        self._algo_of_order[order_id] = algo_id
        return algo_id

    def algo_of(self, order_id: int) -> int | None:
        """The ``algoId`` of the algo order behind simulated order ``order_id``, if any."""
        return self._algo_of_order.get(order_id)

    def untriggered_algo(self, meta: OrderMeta) -> bool:
        """True when ``meta`` is an algo order's simulated stop that never triggered.

        Binance keeps such orders in the Algo service: the regular order endpoints do not
        see them (open, cancelled or expired) unless they triggered.
        """
        if meta.order_id not in self._algo_of_order:
            return False
        snap = self.snapshot(meta)
        return snap is None or not snap.executed_quantity

    # ------------------------------------------------------------- commands
    def place(
        self,
        request: OrderRequest,
        wire_type: str,
        time_in_force: str,
        stp_mode: str = "NONE",
        *,
        algo: bool = False,
    ) -> list[ExecutionEvent]:
        """Forward a new order, remembering its wire details for when it is accepted.

        ``algo``: the order stands for a futures algo (conditional) order; it gets its
        ``algoId`` when accepted (:meth:`algo_of`).
        """
        self._keep_closed(request.client_order_id)
        self._pending[request.client_order_id] = _Pending(wire_type, time_in_force, stp_mode, algo)
        return self.record(self.exchange.place_order(request))

    def modify(
        self, client_order_id: str, price: Decimal, quantity: Decimal
    ) -> list[ExecutionEvent]:
        """Forward a futures modify."""
        return self.record(
            self.exchange.modify_order(self.symbol, client_order_id, price, quantity)
        )

    def cancel(self, client_order_id: str) -> list[ExecutionEvent]:
        """Forward a cancel."""
        return self.record(self.exchange.cancel_order(self.symbol, client_order_id))

    def cancel_all(self) -> list[ExecutionEvent]:
        """Forward a cancel-all of the regular orders.

        Untriggered algo orders live in Binance's Algo service, which the regular cancel-all
        (``DELETE /fapi/v1/allOpenOrders``) leaves alone: when there are any, the other
        open orders are cancelled one by one instead.
        """
        if not any(self.untriggered_algo(meta) for meta, _ in self.open_orders()):
            return self.record(self.exchange.cancel_all_orders(self.symbol))
        return self._cancel_each(lambda meta: not self.untriggered_algo(meta))

    def cancel_algos(self) -> list[ExecutionEvent]:
        """Cancel every open untriggered algo order (``DELETE /fapi/v1/algoOpenOrders``)."""
        return self._cancel_each(self.untriggered_algo)

    def _cancel_each(self, chosen: Callable[[OrderMeta], bool]) -> list[ExecutionEvent]:
        events: list[ExecutionEvent] = []
        for meta, _ in self.open_orders():
            if chosen(meta):
                events += self.cancel(meta.client_order_id)
        return events

    def on_candle(self, candle: Candle) -> list[ExecutionEvent]:
        """Feed one closed candle."""
        events = self.record(self.exchange.on_candle(candle))
        self.audit.candle_closed(candle.close, candle.close_time)
        return events

    # -------------------------------------------------------------- queries
    def meta(self, order_id: int) -> OrderMeta | None:
        """Wire details of an order by ``orderId``."""
        return self._orders.get(order_id)

    def order_id_of(self, client_order_id: str) -> int | None:
        """The latest ``orderId`` that carried ``client_order_id``."""
        return self._order_of_client.get(client_order_id)

    def lookup(self, order_id: int | None, client_order_id: str | None) -> OrderMeta | None:
        """Resolve ``orderId`` / ``origClientOrderId`` (orderId first; both must agree)."""
        if order_id is not None:
            meta = self._orders.get(order_id)
            if meta is None:
                return None
            if client_order_id is not None and meta.client_order_id != client_order_id:
                return None
            return meta
        if client_order_id is None:
            return None
        found = self._order_of_client.get(client_order_id)
        return None if found is None else self._orders.get(found)

    def snapshot(self, meta: OrderMeta) -> OrderSnapshot | None:
        """The simulator's current view of the order (None once it forgot it).

        A closed order whose client id was reused by a later order keeps its final state.
        """
        snap = self.exchange.query_order(self.symbol, meta.client_order_id)
        if snap is None or snap.exchange_order_id != meta.order_id:
            return self._superseded.get(meta.order_id)
        return snap

    def open_orders(self) -> list[tuple[OrderMeta, OrderSnapshot]]:
        """Open orders with their wire details, oldest first."""
        out = []
        for snap in self.exchange.open_orders(self.symbol):
            meta = self._orders.get(snap.exchange_order_id)
            if meta is not None:
                out.append((meta, snap))
        return out

    def set_leverage(self, leverage: int) -> None:
        """Change the futures leverage used for the margin check and reported back."""
        self.leverage = leverage
        ledger = getattr(self.exchange, "ledger", None)
        if ledger is not None and hasattr(ledger, "leverage"):
            ledger.leverage = leverage

    @property
    def mark_price(self) -> Decimal:
        """Mark price: the last close (the simulator's convention), 0 before any candle."""
        return self.exchange.last_price or ZERO

    def _keep_closed(self, client_order_id: str) -> None:
        """Before a new order may reuse ``client_order_id``, keep its closed order's state."""
        order_id = self._order_of_client.get(client_order_id)
        if order_id is None or order_id in self._superseded:
            return
        snap = self.exchange.query_order(self.symbol, client_order_id)
        if snap is not None and snap.exchange_order_id == order_id and snap.status.is_terminal:
            self._superseded[order_id] = snap

    # ------------------------------------------------------------ recording
    def record(self, events: list[ExecutionEvent]) -> list[ExecutionEvent]:
        """Learn order ids, trades and income from events; returns them unchanged."""
        for event in events:
            if isinstance(event, OrderAccepted):
                self._accepted(event)
            elif isinstance(event, OrderFilled):
                self._filled(event)
            elif isinstance(event, OrderRejected):
                self._pending.pop(event.client_order_id, None)
            elif isinstance(event, FundingPaid):
                self._income("FUNDING_FEE", event.amount, event.timestamp, "")
                self.audit.funded(event.amount)
                self.funding_rates.append((event.timestamp, event.rate, event.mark_price))
            ts = getattr(event, "timestamp", None)
            if isinstance(ts, int):
                self.updated = max(self.updated, ts)
        return events

    def _accepted(self, event: OrderAccepted) -> None:
        cid = event.client_order_id
        pending = self._pending.pop(cid, None) or _Pending("LIMIT", "GTC", "NONE")
        meta = OrderMeta(
            event.exchange_order_id,
            cid,
            pending.wire_type,
            pending.time_in_force,
            event.timestamp,
            pending.stp_mode,
        )
        self._orders[meta.order_id] = meta
        if pending.algo:
            self._new_algo(meta.order_id)
        self._order_of_client[cid] = meta.order_id
        self.audit.accepted(cid, meta.order_id)
        while len(self._orders) > _RECORD_RETENTION:
            _, old = self._orders.popitem(last=False)
            self._superseded.pop(old.order_id, None)
            if self._order_of_client.get(old.client_order_id) == old.order_id:
                del self._order_of_client[old.client_order_id]

    def _filled(self, event: OrderFilled) -> None:
        fill = event.fill
        order_id = self._order_of_client.get(fill.client_order_id, -1)
        realized = ZERO
        futures = self.market.is_futures
        if futures:
            realized = self.position.apply_fill(fill.side, fill.quantity, fill.price)
        self.trades.append(
            TradeRecord(
                fill.trade_id,
                order_id,
                fill.side,
                fill.price,
                fill.quantity,
                fill.fee,
                fill.fee_asset,
                fill.timestamp,
                fill.liquidity is Liquidity.MAKER,
                realized,
            )
        )
        self.audit.filled(
            fill.side,
            fill.quantity,
            fill.price,
            fill.fee,
            fill.fee_asset,
            realized,
            fill.timestamp,
        )
        if futures:
            if realized:
                self._income("REALIZED_PNL", realized, fill.timestamp, str(fill.trade_id))
            if fill.fee:
                self._income("COMMISSION", -fill.fee, fill.timestamp, str(fill.trade_id))

    def _income(self, kind: str, amount: Decimal, ts: int, trade_id: str) -> None:
        self.income.append(
            IncomeRecord(
                kind, amount, self.instrument.quote_asset, ts, next(self._tran_ids), trade_id
            )
        )


@dataclass(frozen=True, slots=True)
class StreamTimings:
    """WebSocket connection rules (reference section 9), in ms so tests can shrink them.

    Attributes:
        spot_ping_ms: Server ping interval on spot streams and the spot WS API (20 s).
        spot_pong_timeout_ms: Spot disconnects when no pong arrived for this long (1 min).
        futures_ping_ms: Server ping interval on futures streams (3 min).
        futures_pong_timeout_ms: Futures disconnect after this long without a pong (10 min).
        listen_key_ttl_ms: A futures listenKey expires this long (wall time) after its last
            keepalive (60 min).
    """

    spot_ping_ms: int = 20_000
    spot_pong_timeout_ms: int = 60_000
    futures_ping_ms: int = 180_000
    futures_pong_timeout_ms: int = 600_000
    listen_key_ttl_ms: int = 3_600_000


@dataclass(slots=True)
class _Faults:
    counted: dict[str, int] = field(default_factory=dict)
    delays: deque[list[int]] = field(default_factory=deque)


class EmulatorState:
    """The emulated Binance account: venues, clock, candles, credentials, limits and faults.

    Args:
        instruments: One simulated exchange is created per instrument (spot and/or futures).
            Adapters must not read bootstrap's definitions, so the caller passes them.
        api_key: The only API key accepted on signed endpoints.
        api_secret: Its HMAC secret.
        candles: Closed 1m candles replayed to every venue, oldest first.
        balances: Initial balances per market; default 10000 of each quote asset.
        settings: Simulated-exchange settings (fees, fill model, leverage, funding).
        speed: Candles per real second for the background replay; 0 replays only on
            :meth:`advance` (tests and the ``/_emulator/advance`` control endpoint).
        start_time_ms: Initial exchange clock; default the replay start (the first candle's
            open time, or the close of the last history candle + 1 ms).
        spot_limits: Spot rate limits (Binance defaults when None).
        futures_limits: Futures rate limits (Binance defaults when None).
        wall_clock_auth: Check ``timestamp`` (and serve ``/time``) against the real wall
            clock instead of the replay clock, for long paper sessions at high ``speed``
            where the replay clock jumps a minute per candle.
        real_ms: Real-time clock in ms (tests pass a fake one).
        history: Closed candles kept for ``/klines``.
        stream_timings: WebSocket ping / pong / listenKey timings (Binance's by default).
        history_minutes: How much of ``candles`` is served as the past before the replay
            starts: the candles opening in the ``history_minutes`` before the replay start
            are closed history at start-up (``/klines``, ``/fundingRate``, the mark price),
            as on Binance, where a client starting up sees the past. 0: the replay starts
            at the first candle with no past.
        replay_start_ms: Where the replay starts; default the first candle's open time +
            ``history_minutes`` (so the history comes from the same data). Candles opening
            before ``replay_start_ms - history_minutes`` are skipped.
    """

    def __init__(
        self,
        instruments: Iterable[Instrument],
        api_key: str,
        api_secret: str,
        candles: Iterable[Candle] = (),
        *,
        balances: Mapping[MarketType, Mapping[str, Decimal]] | None = None,
        settings: SimulationSettings | None = None,
        speed: float = 0.0,
        start_time_ms: int | None = None,
        spot_limits: RateLimits | None = None,
        futures_limits: RateLimits | None = None,
        wall_clock_auth: bool = False,
        real_ms: Callable[[], float] = _wall_ms,
        history: int = 50_000,
        stream_timings: StreamTimings | None = None,
        history_minutes: int = 0,
        replay_start_ms: int | None = None,
    ) -> None:
        if speed < 0:
            raise ValueError(f"speed must be >= 0, got {speed}")
        if history_minutes < 0:
            raise ValueError(f"history_minutes must be >= 0, got {history_minutes}")
        self.api_key = api_key
        self.api_secret = api_secret
        self.speed = speed
        self.settings = settings or SimulationSettings()
        self.wall_clock_auth = wall_clock_auth
        self._real_ms = real_ms
        self._candles: Iterator[Candle] = iter(candles)
        self._peeked: Candle | None = None
        self._exhausted = False
        self._history: list[Candle] = []
        self._history_size = max(history, history_minutes)
        self.candles_fed = 0
        self._preload(history_minutes, replay_start_ms)
        if self._history and start_time_ms is None:
            start_time_ms = self._history[-1].close_time + 1
        if start_time_ms is None:
            first = self._peek()
            start_time_ms = first.open_time if first is not None else int(real_ms())
        self._sim_anchor = start_time_ms
        self._real_anchor = real_ms()
        self.clock_skew_ms = 0
        self._faults = _Faults()
        self.limiters = {
            MarketType.SPOT: RateLimiter(spot_limits or RateLimits.spot(), False, real_ms),
            MarketType.USDM_FUTURES: RateLimiter(
                futures_limits or RateLimits.futures(), True, real_ms
            ),
        }
        #: Futures position mode (``/fapi/v1/positionSide/dual``): False = one-way. Hedge mode
        #: is recorded, but every new order is then refused with -4061 (not modelled).
        self.dual_side_position = False
        self.venues: dict[tuple[MarketType, str], Venue] = {}
        for inst in instruments:
            key = (inst.market, inst.symbol)
            if key in self.venues:
                raise ValueError(f"duplicate instrument {inst.market.value} {inst.symbol}")
            initial = dict((balances or {}).get(inst.market) or {})
            if not initial:
                initial = {inst.quote_asset: DEFAULT_QUOTE_BALANCE}
            exchange = SimulatedExchange(inst, initial, self.settings, start_time_ms)
            if self._history:  # the mark price and funding clock stand at the replay start
                exchange.on_candle(self._history[-1])
            self.venues[key] = Venue(inst, exchange, self.settings.leverage)
        self.stream_timings = stream_timings or StreamTimings()
        #: Called with every venue's execution events as they happen (user-data streams).
        self.listeners: list[Callable[[Venue, list[ExecutionEvent]], None]] = []
        #: Called with each replayed candle once every venue has processed it and the clock
        #: stands at its close (kline / markPrice streams).
        self.candle_listeners: list[Callable[[Candle], None]] = []
        #: Called with the name of a WebSocket fault (:data:`STREAM_FAULTS`) when injected.
        self.fault_listeners: list[Callable[[str], None]] = []
        #: Called as each REST request arrives, before faults, limits or the endpoint, with
        #: the method, the path and whether it places a new order (a validation run kills the
        #: client in the middle of an order submission here). A listener that returns False
        #: drops the request: it is not executed and answered 503 -1007, as a request lost
        #: on its way to the matching engine would be.
        self.request_listeners: list[Callable[[str, str, bool], bool]] = []
        #: Called with the method, path, HTTP status and Binance error code (None on
        #: success) of every REST answer (a validation run's API error rate).
        self.response_listeners: list[Callable[[str, str, int, int | None], None]] = []

    def answered(self, method: str, path: str, status: int, code: int | None) -> None:
        """Tell the response listeners how a request was answered."""
        for listener in list(self.response_listeners):
            listener(method, path, status, code)

    def admit(self, method: str, path: str, new_order: bool) -> bool:
        """Tell the request listeners a request arrived; False when one of them drops it."""
        admitted = True
        for listener in list(self.request_listeners):
            if listener(method, path, new_order) is False:
                admitted = False
        return admitted

    # ----------------------------------------------------------------- venues
    def venue(self, market: MarketType, symbol: str) -> Venue | None:
        """The venue trading ``symbol`` on ``market``."""
        return self.venues.get((market, symbol))

    def venues_of(self, market: MarketType) -> list[Venue]:
        """Every venue of ``market`` in symbol order."""
        return sorted(
            (v for (m, _), v in self.venues.items() if m is market), key=lambda v: v.symbol
        )

    def notify(self, venue: Venue, events: list[ExecutionEvent]) -> None:
        """Hand events to listeners (the user-data stream will subscribe here)."""
        if events:
            for listener in self.listeners:
                listener(venue, events)

    # ------------------------------------------------------------------ clock
    def now_ms(self) -> int:
        """The simulated clock.

        It stands at the last candle's close + 1 ms after each candle and runs at real speed
        between candles, so a client that synchronised with ``/time`` keeps valid timestamps
        until the next candle jumps the clock forward. It never goes backwards. Includes
        the ``clock_skew_ms`` fault.
        """
        return self._replay_ms() + self.clock_skew_ms

    def server_time_ms(self) -> int:
        """The clock ``/time`` reports and ``timestamp`` is checked against."""
        if self.wall_clock_auth:
            return int(self._real_ms()) + self.clock_skew_ms
        return self.now_ms()

    def _replay_ms(self) -> int:
        return int(self._sim_anchor + (self._real_ms() - self._real_anchor))

    # ---------------------------------------------------------------- candles
    def _peek(self) -> Candle | None:
        if self._peeked is None and not self._exhausted:
            try:
                self._peeked = next(self._candles)
            except StopIteration:
                self._exhausted = True
        return self._peeked

    def _preload(self, minutes: int, replay_start_ms: int | None) -> None:
        """Take the candles before the replay start off the replay, as closed history."""
        if minutes <= 0 and replay_start_ms is None:
            return
        first = self._peek()
        if first is None:
            return
        start = first.open_time + minutes * 60_000 if replay_start_ms is None else replay_start_ms
        earliest = start - minutes * 60_000
        while (candle := self._peek()) is not None and candle.open_time < start:
            self._peeked = None
            if candle.open_time >= earliest:
                self._history.append(candle)

    @property
    def history_start_ms(self) -> int | None:
        """Open time of the oldest candle served as history (None before any candle)."""
        return self._history[0].open_time if self._history else None

    @property
    def exhausted(self) -> bool:
        """No candle is left to replay."""
        return self._peek() is None

    @property
    def history(self) -> list[Candle]:
        """Candles replayed so far (oldest first, at most ``history`` of them)."""
        return self._history

    def advance(self, n: int = 1) -> int:
        """Feed the next ``n`` candles to every venue; returns how many were available."""
        fed = 0
        for _ in range(n):
            candle = self._peek()
            if candle is None:
                break
            self._peeked = None
            for venue in self.venues.values():
                self.notify(venue, venue.on_candle(candle))
            self._history.append(candle)
            if len(self._history) > 2 * self._history_size:
                del self._history[: len(self._history) - self._history_size]
            exchange_now = candle.close_time + 1
            current = self._replay_ms()
            self._sim_anchor = max(exchange_now, current)
            self._real_anchor = self._real_ms()
            for on_candle in self.candle_listeners:
                on_candle(candle)
            fed += 1
        self.candles_fed += fed
        return fed

    async def run_replay(self) -> None:
        """Replay at ``speed`` candles per real second until the candles run out."""
        if self.speed <= 0:
            return
        loop = asyncio.get_running_loop()
        start = loop.time()
        done = 0
        tick = min(1.0 / self.speed, 0.05)
        while True:
            await asyncio.sleep(tick)
            due = int((loop.time() - start) * self.speed) - done
            if due <= 0:
                continue
            due = min(due, 1000)  # never block the event loop for long
            fed = self.advance(due)
            done += due
            if fed < due:
                return

    # ----------------------------------------------------------------- faults
    def inject(self, fault: str, count: int = 1) -> None:
        """Queue a fault for the next ``count`` requests (see :data:`FAULTS`).

        ``http_500``: the next requests answer 500 without being processed.
        ``unknown_after_place``: the next new orders are placed but answered 503 -1007.
        ``rate_limit_429`` / ``ban_418``: the next requests answer 429 / 418 with Retry-After
        (1 s / the ban length); unlike a real ban, the 418 ends after ``count`` requests.
        ``delay_ms:<n>``: the next requests are answered ``n`` ms late.
        ``clock_skew_ms:<n>``: from now on the server clock is off by ``n`` ms (``count``
        is ignored; ``clock_skew_ms:0`` removes it).
        ``ws_drop`` / ``ws_stall`` / ``listen_key_expired``: act at once on the WebSocket
        side (close every connection / silence existing connections / expire every
        listenKey); ``count`` is ignored.

        Raises:
            ValueError: Unknown fault, bad value or negative count.
        """
        if count < 0:
            raise ValueError(f"fault count must be >= 0, got {count}")
        name, _, value = fault.partition(":")
        if name in STREAM_FAULTS and not value:
            for listener in self.fault_listeners:
                listener(name)
            return
        if name in _COUNTED_FAULTS and not value:
            self._faults.counted[name] = self._faults.counted.get(name, 0) + count
            return
        if name in ("delay_ms", "clock_skew_ms") and value:
            try:
                amount = int(value)
            except ValueError as exc:
                raise ValueError(f"fault {fault!r}: {value!r} is not an integer") from exc
            if name == "clock_skew_ms":
                self.clock_skew_ms = amount
            elif amount < 0:
                raise ValueError(f"fault {fault!r}: delay must be >= 0")
            elif count:
                self._faults.delays.append([amount, count])
            return
        raise ValueError(f"unknown fault {fault!r}; known: {', '.join(FAULTS)}")

    def take_fault(self, name: str) -> bool:
        """Consume one pending ``name`` fault; True when there was one."""
        left = self._faults.counted.get(name, 0)
        if left <= 0:
            return False
        self._faults.counted[name] = left - 1
        return True

    def take_delay_ms(self) -> int:
        """Consume one pending delay; 0 when none is queued."""
        delays = self._faults.delays
        if not delays:
            return 0
        entry = delays[0]
        entry[1] -= 1
        if entry[1] <= 0:
            delays.popleft()
        return entry[0]

    def pending_faults(self) -> dict[str, object]:
        """Queued faults, for the control endpoint."""
        out: dict[str, object] = {k: v for k, v in self._faults.counted.items() if v > 0}
        if self._faults.delays:
            out["delay_ms"] = [list(d) for d in self._faults.delays]
        if self.clock_skew_ms:
            out["clock_skew_ms"] = self.clock_skew_ms
        return out

    def reset_faults(self) -> None:
        """Drop queued faults, the clock skew, and every rate-limit counter and ban."""
        self._faults = _Faults()
        self.clock_skew_ms = 0
        for limiter in self.limiters.values():
            limiter.reset()
