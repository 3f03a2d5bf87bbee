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
import json
import signal
import time
import uuid
from dataclasses import replace
from decimal import Decimal
from types import FrameType
from typing import TextIO

from adapters.logging.jsonl_sink import JsonLinesSink
from adapters.persistence.factory import open_journal
from adapters.persistence.repository import SqlJournal
from adapters.simulated.exchange import SimulatedExchange
from application.reconciliation import ReconciliationFailed, UnknownOrderPolicy
from application.session import FlattenReport, TradingSession
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
EXIT_NOT_FLAT = 4
EXIT_ABORTED = 130
EQUITY_EVERY_MS = 3_600_000  # one equity point per hour of market time
ZERO = Decimal(0)


class _Abort(BaseException):
    """A second SIGINT / SIGTERM: leave at once (every step is already journaled)."""


class _StopFlag:
    """The first SIGINT / SIGTERM stops after the candle in hand; a second one aborts."""

    def __init__(self) -> None:
        self.stop = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.stop:
            raise _Abort
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
        # The in-process simulated account is new on every run; its ids continue after the
        # journal's, as a real exchange's ids only ever grow.
        settings = replace(simulation_settings(config), first_id=journal.last_trade_id() + 1)
        exchange = SimulatedExchange(instrument, dict(config.initial_balances), settings)
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
        journal.start_run(
            first.open_time if first is not None else 0,
            config.client_order_id_prefix,
            config.symbol,
            config.market.value,
            config.source,
        )
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
        return _trade(session, exchange, candles, args, config, journal, out)
    finally:
        journal.engine.dispose()
        sink.close()


def _trade(
    session: TradingSession,
    exchange: SimulatedExchange,
    candles: PeekedCandles,
    args: argparse.Namespace,
    config: AppConfig,
    journal: SqlJournal,
    out: TextIO,
) -> int:
    stop = _StopFlag()
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    interval = 60.0 / args.speed if args.speed > 0 else 0.0
    processed = 0
    flattened: FlattenReport | None = None
    try:
        next_at = time.monotonic()
        for candle in candles:
            if stop.stop or (args.max_candles and processed >= args.max_candles):
                break
            session.observe_price(candle.close)
            session.process_events(exchange.on_candle(candle))
            session.on_candle(candle)
            processed += 1
            if candle.open_time % EQUITY_EVERY_MS == 0:
                journal.record_equity(
                    candle.close_time + 1, session.execution.account.equity(candle.close)
                )
            if interval:
                next_at += interval
                delay = next_at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
        if stop.stop and config.shutdown.flatten_on_exit:
            # Stop deciding; cancel, close reduce-only, confirm flat from the exchange.
            flattened = session.flatten(keep_base=_starting_base(config, session))
    except _Abort:
        out.write(f"aborted after {processed:,} candles; state is in the journal\n")
        return EXIT_ABORTED
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    account = session.execution.account
    mark = exchange.last_price or ZERO
    now = exchange.now_ms()
    journal.record_equity(now, account.equity(mark))
    journal.record_snapshot(now, _snapshot(session, exchange, mark))
    out.write(
        f"stopped after {processed:,} candles: equity "
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


def _starting_base(config: AppConfig, session: TradingSession) -> Decimal:
    """Spot base the account started with: the user's, so flattening never sells it."""
    instrument = session.execution.instrument
    if instrument.is_futures:
        return ZERO
    return config.initial_balances.get(instrument.base_asset, ZERO)


def _snapshot(session: TradingSession, exchange: SimulatedExchange, mark: Decimal) -> str:
    """Balances and position as the bot and the exchange see them, for the journal."""
    account = session.execution.account
    venue = exchange.account()
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
                "balances": {a: [str(f), str(lk)] for a, (f, lk) in venue.balances.items()},
                "positions": [
                    {"symbol": p.symbol, "quantity": str(p.quantity), "entry": str(p.entry_price)}
                    for p in venue.positions
                ],
            },
            "open_orders": len(session.open_orders()),
        },
        sort_keys=True,
    )
