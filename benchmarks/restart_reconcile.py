"""Restart-to-reconciled time with a realistic journal (issue 3's target: < 1 s).

Trades the static grid through a :class:`TradingSession` on the simulated exchange with a
durable SQLite journal (WAL, synchronous=FULL) until at least 1,000 orders and 10,000 fills
are stored (a small per-candle volume share makes every order fill in many parts), then
drops all process state and times a fresh session's start: open the journal (migration
check), rebuild the account and open orders from it alone, restore the strategy, reconcile
with the exchange, ready to trade. Prints the figures; run it with::

    .venv/bin/python benchmarks/restart_reconcile.py [--orders 1000] [--fills 10000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adapters.market_data.generated import GeneratedMarket  # noqa: E402
from adapters.memory.sinks import CountingSink  # noqa: E402
from adapters.persistence.factory import open_journal  # noqa: E402
from adapters.simulated.exchange import SimulatedExchange  # noqa: E402
from adapters.simulated.settings import SimulationSettings  # noqa: E402
from application.session import TradingSession  # noqa: E402
from bootstrap.instruments import builtin_instrument  # noqa: E402
from domain.enums import MarketType  # noqa: E402
from domain.grid.static_grid import StaticGrid, StaticGridParams  # noqa: E402

CASH = Decimal("100000000")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000)
    parser.add_argument("--fills", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    instrument = builtin_instrument(MarketType.USDM_FUTURES, "BTCUSDT")
    settings = SimulationSettings(
        max_volume_share=Decimal("0.004"),
        leverage=20,
        closed_order_retention=10**6,
        trade_history_retention=10**6,
    )
    exchange = SimulatedExchange(instrument, {"USDT": CASH}, settings)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'gridbot.db'}"

        def session() -> tuple[TradingSession, object]:
            journal = open_journal(url)
            grid = StaticGrid(
                "BTCUSDT", StaticGridParams(10, Decimal("0.002"), Decimal("40000"), Decimal("0.01"))
            )
            return (
                TradingSession(
                    exchange,
                    instrument,
                    journal,
                    grid,
                    "bench",
                    CountingSink(),
                    exchange,
                    {"USDT": CASH},
                ),
                journal,
            )

        live, journal = session()
        live.start()
        started = time.perf_counter()
        candles = 0
        for candle in GeneratedMarket(minutes=500_000, seed=5, start_price=Decimal("42000")):
            live.process_events(exchange.on_candle(candle))
            live.on_candle(candle)
            candles += 1
            if candles % 200 == 0:
                orders = len(journal.order_ids())  # type: ignore[attr-defined]
                fills = journal.last_trade_id()  # type: ignore[attr-defined]
                if orders >= args.orders and fills >= args.fills:
                    break
        fill_seconds = time.perf_counter() - started
        orders = len(journal.order_ids())  # type: ignore[attr-defined]
        fills = len(journal.fills())  # type: ignore[attr-defined]
        open_orders = len(journal.open_orders())  # type: ignore[attr-defined]
        journal.engine.dispose()  # type: ignore[attr-defined]
        print(
            f"journal: {orders:,} orders ({open_orders} open), {fills:,} fills after "
            f"{candles:,} candles ({fill_seconds:.1f} s of live trading with durable commits)"
        )
        timings = []
        for _ in range(args.repeat):
            begin = time.perf_counter()
            restarted, journal = session()
            report = restarted.start()
            timings.append(time.perf_counter() - begin)
            assert report.ok and not report.differences, report
            journal.engine.dispose()  # type: ignore[attr-defined]
        print(
            f"restart to reconciled: median {statistics.median(timings) * 1000:.0f} ms, "
            f"max {max(timings) * 1000:.0f} ms over {args.repeat} restarts "
            "(journal open + migration check, rebuild, strategy restore, reconciliation)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
