"""``gridbot run``: the trading session on the configured exchange, crash-safe.

Today the exchange is the in-process simulated exchange replaying the configured kline file or
the built-in generated market, at a chosen speed; the Binance adapter plugs in here later. The
journal (SQLite in the data directory by default) and the JSON-lines event log live in the
data directory, so a stopped or killed bot resumes from where it was: it rebuilds its state
from the journal and reconciles with the exchange before it trades again, and refuses to
trade while they disagree unless the operator passes ``--accept-exchange-state``.
"""

from __future__ import annotations

import argparse
import signal
import time
import uuid
from decimal import Decimal
from types import FrameType
from typing import TextIO

from adapters.logging.jsonl_sink import JsonLinesSink
from adapters.persistence.factory import open_journal
from adapters.simulated.exchange import SimulatedExchange
from application.reconciliation import ReconciliationFailed, UnknownOrderPolicy
from application.session import TradingSession
from bootstrap.config import AppConfig
from bootstrap.containers import (
    PeekedCandles,
    candle_source,
    pre_trade_risk,
    simulation_settings,
    static_grid,
)
from bootstrap.instruments import builtin_instrument
from bootstrap.secrets import load_credentials

EXIT_REFUSED = 3
ZERO = Decimal(0)


class _StopFlag:
    """Set by SIGINT / SIGTERM: the loop finishes the candle in hand, then stops."""

    def __init__(self) -> None:
        self.stop = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.stop = True


def run_session(config: AppConfig, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Start (rebuild + reconcile), then trade every candle until the data ends or a signal.

    Returns:
        0 after a clean stop, 3 when reconciliation refuses to trade.
    """
    if config.exchange.kind != "simulated":
        err.write(
            "gridbot: config error: $.exchange.kind: only 'simulated' is available in this "
            "release (the Binance adapter is not built yet)\n"
        )
        return 2
    credentials = load_credentials(config)
    secrets = credentials.secret_values() if credentials is not None else ()
    config.storage.data_dir.mkdir(parents=True, exist_ok=True)
    run_id = uuid.uuid4().hex[:12]
    sink = JsonLinesSink(
        config.log_path,
        run_id,
        secrets=secrets,
        max_bytes=config.logging.max_bytes,
        backups=config.logging.backups,
        level=config.logging.level,
    )
    journal = open_journal(config.database_url_resolved)
    try:
        candles = PeekedCandles(candle_source(config, args.data))
        instrument = builtin_instrument(config.market, config.symbol)
        exchange = SimulatedExchange(
            instrument, dict(config.initial_balances), simulation_settings(config)
        )
        session = TradingSession(
            exchange,
            instrument,
            journal,
            static_grid(config),
            config.client_order_id_prefix,
            sink,
            exchange,
            dict(config.initial_balances),
            UnknownOrderPolicy(config.reconciliation.unknown_orders),
            pre_trade_risk(config, instrument),
        )
        first = candles.first
        try:
            report = session.start(
                accept_exchange_state=args.accept_exchange_state,
                reference_price=first.open if first is not None else ZERO,
            )
        except ReconciliationFailed as exc:
            err.write(f"gridbot: {exc}\n")
            return EXIT_REFUSED
        out.write(
            f"reconciled: {len(report.adopted_intents)} adopted, {len(report.never_sent)} never "
            f"sent, {len(report.missed_fills)} missed fills applied, "
            f"{len(report.differences)} differences"
            + (" (exchange state accepted)" if report.differences else "")
            + "\n"
        )
        return _trade(session, exchange, candles, args, config, journal.engine.url, out)
    finally:
        journal.engine.dispose()
        sink.close()


def _trade(
    session: TradingSession,
    exchange: SimulatedExchange,
    candles: PeekedCandles,
    args: argparse.Namespace,
    config: AppConfig,
    journal_url: object,
    out: TextIO,
) -> int:
    stop = _StopFlag()
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    interval = 60.0 / args.speed if args.speed > 0 else 0.0
    processed = 0
    try:
        next_at = time.monotonic()
        for candle in candles:
            if stop.stop or (args.max_candles and processed >= args.max_candles):
                break
            session.observe_price(candle.close)
            session.process_events(exchange.on_candle(candle))
            session.on_candle(candle)
            processed += 1
            if interval:
                next_at += interval
                delay = next_at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    account = session.execution.account
    mark = exchange.last_price or ZERO
    out.write(
        f"stopped after {processed:,} candles: equity {account.equity(mark)}, position "
        f"{account.position.quantity}, {len(session.open_orders())} open orders; "
        f"journal {journal_url}, log {config.log_path}\n"
    )
    return 0
