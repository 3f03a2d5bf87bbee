"""``gridbot run``: the live shell around the decision core, crash-safe and steerable.

The process lifecycle of live and paper trading. :class:`~bootstrap.containers.LiveContainer`
wires the venue ``exchange.kind`` names (the in-process simulated exchange, or the Binance
adapter against Binance, its testnet or the emulator), the journal (SQLite in the data
directory by default), the JSON-lines event log, telemetry and the engine; this module
resolves them in order, serves the gRPC control plane, then

1. rebuilds the bot's state from the journal and reconciles with the exchange (refusing
   to trade while they disagree, unless ``--accept-exchange-state``);
2. trades on every closed 1m candle with the same decision core as the backtest, on the
   main thread, one input at a time (:mod:`adapters.live_runtime.engine_loop`), while
   I/O and the control plane run on an asyncio loop thread;
3. stops on SIGINT / SIGTERM or the control plane's Stop: no new decisions, cancel our
   orders, close the position reduce-only, confirm flat from the exchange, persist,
   exit 0. A second signal exits at once.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import time
import uuid
from decimal import Decimal
from types import FrameType
from typing import TextIO

from adapters.binance.errors import BinanceError
from adapters.control_api.server import ControlServer, InsecureRemoteAddress
from adapters.live_runtime.engine_loop import Aborted, EngineLoop
from adapters.logging.python_logging import forward_python_logging
from adapters.market_data.kline_csv import KlineFormatError
from adapters.persistence.repository import SqlJournal
from adapters.simulated.funding import FundingFileError
from application.live_engine import LiveEngine
from application.ports.exchange import ExchangeUnavailable
from application.ports.venue import LiveVenue, ReplayFailed
from application.reconciliation import ReconciliationFailed
from application.session import FlattenReport
from bootstrap.config import AppConfig
from bootstrap.containers import LiveContainer
from bootstrap.control_plane import TokenError, resolve_token, serve_control
from bootstrap.secrets import load_credentials, require_credentials

EXIT_FAILED = 1
EXIT_REFUSED = 3
EXIT_NOT_FLAT = 4
EXIT_ABORTED = 130
ZERO = Decimal(0)
#: What a live venue may fail with while connecting or reconciling (exit 1, one line).
_EXCHANGE_FAILURES: tuple[type[Exception], ...] = (
    BinanceError,
    ExchangeUnavailable,
    OSError,
    TimeoutError,
)


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
    config.storage.data_dir.mkdir(parents=True, exist_ok=True)
    run_id = uuid.uuid4().hex[:12]
    container = LiveContainer(config=config)
    container.run_id.override(run_id)
    container.credentials.override(credentials)
    container.data.override(args.data)
    container.speed.override(args.speed)
    container.max_candles.override(args.max_candles)
    container.standby.override(args.standby)
    container.console.override(bool(getattr(args, "console", False)))
    log = container.log()
    sink = container.sink()
    io = container.io()
    journal = container.journal()
    venue: LiveVenue | None = None
    server: ControlServer | None = None
    unhook = forward_python_logging(sink, lambda: time.time_ns() // 1_000_000)
    try:
        # A paper venue's OSError is a data file's (a user error, reported by the caller).
        failures = _EXCHANGE_FAILURES if config.exchange.kind == "binance" else ()
        try:
            venue = container.venue()
        except failures as exc:
            err.write(f"gridbot: exchange: {type(exc).__name__}: {exc}\n")
            return EXIT_FAILED
        except (KlineFormatError, FundingFileError, FileNotFoundError) as exc:
            logging.getLogger("gridbot.data").error("data error: %s", exc)
            raise  # the CLI prints it as one line, exit 1
        unhook()
        unhook = forward_python_logging(sink, venue.clock.now_ms)
        history = container.history()
        signals, weights_source = container.signal_setup()
        engine = container.engine()
        loop = container.loop()
        if config.control.enabled:
            try:
                token, token_source = resolve_token(config)
                server = serve_control(io, container.gateway(), config, token, run_id)
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
        venue.start(container.inputs())
        try:
            report = engine.start(args.accept_exchange_state, reference)
        except ReconciliationFailed as exc:
            err.write(f"gridbot: {exc}\n")
            return EXIT_REFUSED
        except _EXCHANGE_FAILURES as exc:
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
    data_error: ReplayFailed | None = None
    try:
        try:
            loop.run()
        except ReplayFailed as exc:
            # Bad data mid-replay: stop as on a signal (flattening as configured), then
            # report the data error; never exit 0 on data that could not be read.
            logging.getLogger("gridbot.data").error("data error: %s", exc)
            data_error = exc
            engine.request_stop()
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
        venue.shutdown(config.shutdown.budget_seconds)
        try:
            flattened = engine.finish()
        except ExchangeUnavailable as exc:
            err.write(
                "gridbot: could not flatten within the shutdown budget "
                f"({config.shutdown.budget_seconds} s), the exchange is unavailable: {exc}\n"
            )
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
        if not flattened.flat:
            return EXIT_NOT_FLAT
    if data_error is not None:
        err.write(f"gridbot: data error: {data_error}\n")
        return EXIT_FAILED
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
