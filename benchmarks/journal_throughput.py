"""Journal throughput on SQLite (WAL, synchronous=FULL): how fast can the bot write ahead?

Three measurements, each on a fresh database in ``<tmp>/data/gridbot.db`` (the layout the
bot uses), through :class:`~adapters.persistence.SqlJournal` exactly as the execution
service calls it:

* ``individual`` — N orders, each journaled as intent (``add_order``), ack
  (``update_order`` + OrderAccepted) and fill (``add_fill`` + ``update_order`` +
  OrderFilled). Every call commits on its own, so each is one fsync'd transaction: this is
  the live bot's cost per event.
* ``batched`` — the same events grouped ``--batch`` orders to a transaction
  (``journal.batch()``), as reconciliation does with fills found after a restart.
* ``rebuild`` — what a restart reads: a new engine (migration check included), then
  ``open_orders()``, ``fills()`` and ``funding_payments()`` from a journal holding
  ``--orders`` open orders with ``--fills`` fills and a year of funding.

An "event" is one of intent / ack / fill (3 per order); "commits" counts transactions.
The temporary folder is created under ``--dir`` (default: the system temp dir) — put it on
the disk the bot will use, since fsync cost is the whole story.

Usage::

    .venv/bin/python benchmarks/journal_throughput.py [--n 2000] [--batch 100] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adapters.persistence import SqlJournal, open_journal  # noqa: E402
from adapters.persistence.engine import sqlite_url  # noqa: E402
from domain.enums import Liquidity, OrderType, Side, TimeInForce  # noqa: E402
from domain.events import FundingPaid, OrderAccepted, OrderFilled  # noqa: E402
from domain.orders import Fill, Order, OrderTrigger  # noqa: E402

D = Decimal
T0 = 1_704_067_200_000
PRICE = D("42000.10")


def make_order(n: int, quantity: Decimal) -> Order:
    return Order(f"gb-{n}", "BTCUSDT", Side.BUY, OrderType.LIMIT, quantity, PRICE, TimeInForce.GTC)


def make_fill(trade_id: int, cid: str, quantity: Decimal) -> Fill:
    return Fill(
        trade_id,
        cid,
        Side.BUY,
        quantity,
        PRICE,
        D("0.00840000"),
        "USDT",
        Liquidity.MAKER,
        T0 + trade_id,
    )


def journal_order(journal: SqlJournal, n: int) -> int:
    """Intent, ack and one full fill of order ``n``; returns the commits it made."""
    order = make_order(n, D("0.00100000"))
    journal.add_order(order)
    order.apply(OrderTrigger.ACCEPT, exchange_order_id=n)
    journal.update_order(order, OrderAccepted(order.client_order_id, n, T0 + n))
    fill = make_fill(n, order.client_order_id, order.quantity)
    order.apply_fill(fill)
    journal.add_fill(fill)
    journal.update_order(order, OrderFilled(fill))
    return 4


def bench_individual(base: Path, n: int) -> dict[str, float]:
    journal = open_journal(sqlite_url(base / "individual"))
    try:
        started = time.perf_counter()
        commits = sum(journal_order(journal, i) for i in range(1, n + 1))
        elapsed = time.perf_counter() - started
    finally:
        journal.engine.dispose()
    return {
        "events": 3 * n,
        "commits": commits,
        "seconds": elapsed,
        "events_per_s": 3 * n / elapsed,
        "commits_per_s": commits / elapsed,
        "ms_per_commit": 1000 * elapsed / commits,
    }


def bench_batched(base: Path, n: int, batch: int) -> dict[str, float]:
    journal = open_journal(sqlite_url(base / "batched"))
    try:
        started = time.perf_counter()
        commits = 0
        for first in range(1, n + 1, batch):
            with journal.batch():
                for i in range(first, min(first + batch, n + 1)):
                    journal_order(journal, i)
            commits += 1
        elapsed = time.perf_counter() - started
    finally:
        journal.engine.dispose()
    return {
        "events": 3 * n,
        "commits": commits,
        "seconds": elapsed,
        "events_per_s": 3 * n / elapsed,
        "orders_per_batch": batch,
    }


def seed_for_rebuild(url: str, orders: int, fills: int) -> None:
    """``orders`` open (partially filled) orders sharing ``fills`` fills, a year of funding."""
    per_order = max(1, fills // orders)
    journal = open_journal(url)
    try:
        trade_id = 0
        for first in range(1, orders + 1, 100):
            with journal.batch():
                for n in range(first, min(first + 100, orders + 1)):
                    # Twice the filled quantity, so every order stays open.
                    order = make_order(n, D("0.00100000") * per_order * 2)
                    journal.add_order(order)
                    order.apply(OrderTrigger.ACCEPT, exchange_order_id=n)
                    journal.update_order(order, OrderAccepted(order.client_order_id, n, T0))
                    for _ in range(per_order):
                        trade_id += 1
                        fill = make_fill(trade_id, order.client_order_id, D("0.00100000"))
                        order.apply_fill(fill)
                        journal.add_fill(fill)
                        journal.update_order(order, OrderFilled(fill))
        with journal.batch():
            for k in range(3 * 365):
                journal.add_funding(
                    FundingPaid(
                        "BTCUSDT", D("-0.0125"), D("0.0001"), PRICE, D("0.01"), T0 + k * 28_800_000
                    )
                )
    finally:
        journal.engine.dispose()


def bench_rebuild(base: Path, orders: int, fills: int, repeats: int) -> dict[str, float]:
    url = sqlite_url(base / "rebuild")
    seed_for_rebuild(url, orders, fills)
    timings: list[tuple[float, float]] = []
    counts: tuple[int, int, int] = (0, 0, 0)
    for _ in range(repeats):
        started = time.perf_counter()
        journal = open_journal(url)  # new engine + migration check, as on a restart
        opened = time.perf_counter()
        open_orders = journal.open_orders()
        recorded_fills = journal.fills()
        funding = journal.funding_payments()
        timings.append((opened - started, time.perf_counter() - opened))
        journal.engine.dispose()
        counts = (len(open_orders), len(recorded_fills), len(funding))
    totals = [open_s + read_s for open_s, read_s in timings]
    return {
        "open_orders": counts[0],
        "fills": counts[1],
        "funding_payments": counts[2],
        "median_ms": 1000 * statistics.median(totals),
        "min_ms": 1000 * min(totals),
        "open_median_ms": 1000 * statistics.median(t for t, _ in timings),
        "read_median_ms": 1000 * statistics.median(t for _, t in timings),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="orders (3 events each)")
    parser.add_argument("--batch", type=int, default=100, help="orders per batch transaction")
    parser.add_argument("--orders", type=int, default=1000, help="stored orders for rebuild")
    parser.add_argument("--fills", type=int, default=10_000, help="stored fills for rebuild")
    parser.add_argument("--repeats", type=int, default=5, help="rebuild repetitions")
    parser.add_argument("--dir", type=Path, default=None, help="where the temp folder goes")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="gridbot-journal-", dir=args.dir) as tmp:
        base = Path(tmp) / "data"
        results = {
            "individual": bench_individual(base, args.n),
            "batched": bench_batched(base, args.n, args.batch),
            "rebuild": bench_rebuild(base, args.orders, args.fills, args.repeats),
        }
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    one, many, rebuild = results["individual"], results["batched"], results["rebuild"]
    print(f"SQLite WAL, synchronous=FULL, temp dir under {args.dir or tempfile.gettempdir()}")
    print(
        f"individual: {one['events']:.0f} events, {one['commits']:.0f} commits in "
        f"{one['seconds']:.2f} s -> {one['events_per_s']:,.0f} events/s "
        f"({one['commits_per_s']:,.0f} commits/s, {one['ms_per_commit']:.2f} ms/commit)"
    )
    print(
        f"batched:    {many['events']:.0f} events, {many['commits']:.0f} commits "
        f"({args.batch} orders each) in {many['seconds']:.2f} s -> "
        f"{many['events_per_s']:,.0f} events/s"
    )
    print(
        f"rebuild:    {rebuild['open_orders']:.0f} open orders + {rebuild['fills']:.0f} fills + "
        f"{rebuild['funding_payments']:.0f} funding payments: median "
        f"{rebuild['median_ms']:.0f} ms (open + migration check "
        f"{rebuild['open_median_ms']:.0f} ms, reads {rebuild['read_median_ms']:.0f} ms; "
        f"min {rebuild['min_ms']:.0f} ms, {args.repeats} runs, new engine each)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
