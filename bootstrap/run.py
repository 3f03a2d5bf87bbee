"""``gridbot run``: the live shell around the decision core, crash-safe and steerable.

The composition root for live and paper trading: it wires the configured venue (the
in-process simulated exchange, or the Binance adapter against Binance, its testnet or the
emulator), the journal (SQLite in the data directory by default), the JSON-lines event
log, telemetry and the gRPC control plane, then

1. rebuilds the bot's state from the journal and reconciles with the exchange (refusing
   to trade while they disagree, unless ``--accept-exchange-state``);
2. trades on every closed 1m candle with the same decision core as the backtest, on the
   main thread, one input at a time (:mod:`bootstrap.engine_loop`), while I/O and the
   control plane run on an asyncio loop thread;
3. stops on SIGINT / SIGTERM or the control plane's Stop: no new decisions, cancel our
   orders, close the position reduce-only, confirm flat from the exchange, persist,
   exit 0. A second signal exits at once.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal
from types import FrameType
from typing import Any, TextIO

from adapters.binance.errors import BinanceError
from adapters.control_api.server import ControlServer, InsecureRemoteAddress
from adapters.logging.console import HumanConsoleSink
from adapters.logging.jsonl_sink import JsonLinesSink
from adapters.logging.python_logging import forward_python_logging
from adapters.logging.telemetry_sink import TelemetrySink
from adapters.persistence.factory import open_journal
from adapters.persistence.repository import SqlJournal
from application.live_engine import EngineIdentity, LiveEngine
from application.ports.exchange import ExchangeUnavailable
from application.reconciliation import ReconciliationFailed, UnknownOrderPolicy
from application.session import FlattenReport, TradingSession
from application.signals import SignalTracker, signal_tracker
from application.telemetry import FanOutSink, TelemetryHub
from bootstrap.config import AppConfig
from bootstrap.containers import (
    configured_strategy,
    market_facts,
    pre_trade_risk,
    signal_settings,
)
from bootstrap.control_plane import TokenError, config_json, resolve_token, serve_control
from bootstrap.engine_loop import Aborted, EngineGateway, EngineLoop
from bootstrap.live_venues import LiveVenue, binance_venue, simulated_venue
from bootstrap.loop_thread import LoopThread
from bootstrap.secrets import load_credentials, require_credentials
from domain.candles import Candle

EXIT_FAILED = 1
EXIT_REFUSED = 3
EXIT_NOT_FLAT = 4
EXIT_ABORTED = 130
EQUITY_EVERY_MS = 3_600_000  # one equity point per hour of market time
ZERO = Decimal(0)


def run_session(config: AppConfig, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Start (rebuild + reconcile), trade until the data ends, a signal or a Stop.

    A signal during start-up (connecting, reconciling) ends the process at once: nothing
    has been decided yet, and every step taken is in the journal. Without this, SIGTERM
    would be ignored there when the bot is a container's PID 1.

    Returns:
        0 after a clean stop, 1 when the engine failed or the exchange cannot be reached, 3
        when reconciliation refuses to trade, 4 when a flatten could not confirm the account
        flat, 130 on abort.
    """
    previous = {s: signal.signal(s, _abort_start) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _run_session(config, args, out, err)
    except Aborted:
        out.write("aborted; state is in the journal\n")
        return EXIT_ABORTED
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _abort_start(signum: int, frame: FrameType | None) -> None:
    raise Aborted


def _run_session(config: AppConfig, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    credentials = (
        require_credentials(config)
        if config.exchange.kind == "binance"
        else load_credentials(config)
    )
    secrets = credentials.secret_values() if credentials is not None else ()
    config.storage.data_dir.mkdir(parents=True, exist_ok=True)
    run_id = uuid.uuid4().hex[:12]
    log = JsonLinesSink(
        config.log_path,
        run_id,
        secrets=secrets,
        max_bytes=config.logging.max_bytes,
        backups=config.logging.backups,
        level=config.logging.level,
    )
    hub = TelemetryHub(config.control.telemetry_buffer)
    sinks: list[Any] = [log, TelemetrySink(hub, secrets)]
    if config.logging.console or getattr(args, "console", False):
        sinks.append(HumanConsoleSink(sys.stderr, level=config.logging.level, secrets=secrets))
    sink = FanOutSink(*sinks)
    io = LoopThread()
    journal = open_journal(config.database_url_resolved)
    venue: LiveVenue | None = None
    server: ControlServer | None = None
    unhook = forward_python_logging(sink, lambda: time.time_ns() // 1_000_000)
    try:
        if config.exchange.kind == "binance":
            assert credentials is not None
            try:
                venue = binance_venue(config, credentials, io)
            except (BinanceError, ExchangeUnavailable, OSError, TimeoutError) as exc:
                err.write(f"gridbot: exchange: {type(exc).__name__}: {exc}\n")
                return EXIT_FAILED
        else:
            venue = simulated_venue(config, args.data, journal, args.speed, args.max_candles)
        unhook()
        unhook = forward_python_logging(sink, venue.clock.now_ms)
        signals = None
        weights_source = ""
        history: list[Candle] = []
        if config.signals.enabled:
            history = venue.history(config.signals.history_minutes)
            signals, weights_source = signal_tracker(
                signal_settings(config), sink, journal, history
            )
        engine = _engine(config, venue, journal, sink, run_id, args, signals, history)
        loop = EngineLoop(engine)
        if config.control.enabled:
            try:
                token, token_source = resolve_token(config)
                server = serve_control(
                    io, EngineGateway(loop, hub, config_json(config)), config, token, run_id
                )
            except (TokenError, InsecureRemoteAddress, OSError) as exc:
                err.write(f"gridbot: control plane: {exc}\n")
                return 2
            host = config.control.address.rsplit(":", 1)[0]
            out.write(f"control plane: {host}:{server.port} (token from {token_source})\n")
            out.flush()
        journal.start_run(
            venue.first_open_time,
            config.client_order_id_prefix,
            config.symbol,
            config.market.value,
            venue.source,
        )
        reference = venue.reference_price
        if not reference:
            recent = history[-1:] if signals is not None and history else venue.history(1)
            reference = recent[-1].close if recent else ZERO
        # Subscribe before reconciling: what happens meanwhile (an order of ours filling)
        # waits in the engine's queue and is applied after the snapshot, never lost.
        venue.start(loop, _candle_handler(engine, journal))
        try:
            report = engine.start(args.accept_exchange_state, reference)
        except ReconciliationFailed as exc:
            err.write(f"gridbot: {exc}\n")
            return EXIT_REFUSED
        except (BinanceError, ExchangeUnavailable, OSError, TimeoutError) as exc:
            err.write(f"gridbot: exchange: {type(exc).__name__}: {exc}\n")
            return EXIT_FAILED
        out.write(
            f"reconciled: {len(report.adopted_intents)} adopted, {len(report.never_sent)} never "
            f"sent, {len(report.missed_fills)} missed fills applied, "
            f"{len(report.differences)} differences"
            + (" (exchange state accepted)" if report.differences else "")
            + f"; {engine.state}\n"
        )
        if weights_source:
            out.write(f"signal weights: {weights_source}\n")
        out.flush()
        return _trade(loop, venue, journal, config, out, err)
    finally:
        unhook()
        if server is not None:
            io.run(server.stop(), timeout=10)
        if venue is not None:
            venue.stop()
            try:
                venue.close()
            except Exception as exc:
                err.write(f"gridbot: closing the exchange connection: {exc}\n")
        io.stop()
        journal.engine.dispose()
        log.close()


def _engine(
    config: AppConfig,
    venue: LiveVenue,
    journal: SqlJournal,
    sink: FanOutSink,
    run_id: str,
    args: argparse.Namespace,
    signals: SignalTracker | None = None,
    history: Sequence[Candle] = (),
) -> LiveEngine:
    instrument = venue.instrument
    facts = market_facts(config)
    facts.warm_up(history)  # the signal's look-back: the windows start full
    session = TradingSession(
        venue.exchange,
        instrument,
        journal,
        configured_strategy(config),
        config.client_order_id_prefix,
        sink,
        venue.clock,
        venue.initial_balances,
        UnknownOrderPolicy(config.reconciliation.unknown_orders),
        pre_trade_risk(config, instrument),
        market=facts,
    )
    keep_base = ZERO
    if not instrument.is_futures:
        keep_base = venue.initial_balances.get(instrument.base_asset, ZERO)
    return LiveEngine(
        session,
        sink,
        venue.clock,
        EngineIdentity(run_id, venue.name, config.market.value, instrument.symbol),
        replay=venue.replay,
        keep_base=keep_base,
        flatten_on_exit=config.shutdown.flatten_on_exit,
        standby=args.standby,
        max_leverage=config.risk.max_leverage,
        kill_switch=config.risk.kill_switch,
        signals=signals,
    )


def _candle_handler(engine: LiveEngine, journal: SqlJournal) -> Callable[[Candle], None]:
    """The engine's candle input, plus an hourly point of the journal's equity curve."""

    def on_candle(candle: Candle) -> None:
        engine.on_candle(candle)
        if candle.open_time % EQUITY_EVERY_MS == 0:
            journal.record_equity(
                candle.close_time + 1, engine.session.execution.account.equity(candle.close)
            )

    return on_candle


def _trade(
    loop: EngineLoop,
    venue: LiveVenue,
    journal: SqlJournal,
    config: AppConfig,
    out: TextIO,
    err: TextIO,
) -> int:
    engine = loop.engine
    restore = loop.install_signals()
    flattened: FlattenReport | None = None
    try:
        try:
            loop.run()
        except Exception as exc:
            logging.getLogger("gridbot").exception("engine failed")
            err.write(
                f"gridbot: engine failed: {type(exc).__name__}: {exc}; state is in the journal\n"
            )
            return EXIT_FAILED
        venue.stop()
        loop.drain()
        if not engine.stop_requested:
            engine.stop_flatten = False  # the data ended: keep the book as it is
        try:
            flattened = engine.finish()
        except ExchangeUnavailable as exc:
            err.write(f"gridbot: could not flatten, the exchange is unavailable: {exc}\n")
            return EXIT_NOT_FLAT
    except Aborted:
        out.write(f"aborted after {engine.candles:,} candles; state is in the journal\n")
        return EXIT_ABORTED
    finally:
        restore()
    session = engine.session
    account = session.execution.account
    mark = venue.last_price() or (engine.last_candle.close if engine.last_candle else ZERO)
    now = venue.clock.now_ms()
    journal.record_equity(now, account.equity(mark))
    journal.record_snapshot(now, _snapshot(engine, venue, mark))
    out.write(
        f"stopped after {engine.candles:,} candles: equity "
        f"{account.equity(mark).quantize(Decimal('0.00000001'))}, position "
        f"{account.position.quantity}, {len(session.open_orders())} open orders; "
        f"journal {journal.engine.url}, log {config.log_path}\n"
    )
    if flattened is not None:
        out.write(
            f"flattened: {flattened.canceled} open orders cancelled, "
            f"{flattened.closed_quantity} closed; exchange position "
            f"{flattened.exchange_position}, "
            + ("flat confirmed by the exchange" if flattened.flat else "NOT FLAT")
            + "\n"
        )
        return 0 if flattened.flat else EXIT_NOT_FLAT
    return 0


def _snapshot(engine: LiveEngine, venue: LiveVenue, mark: Decimal) -> str:
    """Balances and position as the bot and the exchange see them, for the journal."""
    session = engine.session
    account = session.execution.account
    snapshot = venue.exchange.account()
    return json.dumps(
        {
            "mark_price": str(mark),
            "bot": {
                "cash": str(account.cash),
                "position": str(account.position.quantity),
                "entry_price": str(account.position.entry_price),
                "realized_pnl": str(account.position.realized_pnl),
                "fees_quote": str(account.fees_quote),
                "funding": str(account.position.funding),
                "equity": str(account.equity(mark)),
            },
            "exchange": {
                "balances": {a: [str(f), str(lk)] for a, (f, lk) in snapshot.balances.items()},
                "positions": [
                    {"symbol": p.symbol, "quantity": str(p.quantity), "entry": str(p.entry_price)}
                    for p in snapshot.positions
                ],
            },
            "open_orders": len(session.open_orders()),
        },
        sort_keys=True,
    )
