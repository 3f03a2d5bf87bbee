"""How often the CME gap filled within 24 h in the shared kline data, per series.

Feeds every 1m candle of each series through the domain's :class:`CmeGapTracker` (the same
code the adaptive grid's gap bias reads) and counts, per series, the gaps recorded at a CME
reopen and how many of them Binance traded back through within the fill window. A gap
whose window the data does not cover is left out of both counts; a hole in the data is
never taken for a gap (see :mod:`domain.calendar.gaps`).

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/cme_gap_fill_rate.py
[--data /work/shared/data/klines] [--hours 24] [--no-early-halts] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from adapters.market_data.kline_csv import KlineCsvReader
from domain.calendar import CmeGapTracker, CmeSchedule, CmeScheduleSettings

DEFAULT_DATA = Path("/work/shared/data/klines")


def series_dirs(root: Path) -> list[Path]:
    """Every directory under ``root`` that holds kline files, sorted."""
    found = {p.parent for p in root.rglob("*.csv.gz")} | {p.parent for p in root.rglob("*.csv")}
    return sorted(found)


def measure(path: Path, hours: int, early_halts: bool) -> dict[str, object]:
    """Gap statistics of one series."""
    schedule = CmeSchedule(CmeScheduleSettings(early_halts=early_halts))
    tracker = CmeGapTracker(schedule, fill_window_ms=hours * 3_600_000)
    candles = 0
    for candle in KlineCsvReader(path):
        tracker.on_candle(candle.open_time, candle.open, candle.high, candle.low, candle.close)
        candles += 1
    filled, settled = tracker.fill_rate()
    sizes = [abs(g.relative) for g in tracker.gaps]
    hours_to_fill = sorted(
        (g.filled_ms - g.reopen_ms) / 3_600_000 for g in tracker.gaps if g.filled_ms is not None
    )
    return {
        "series": f"{path.parent.name}/{path.name}",
        "candles": candles,
        "gaps": len(tracker.gaps),
        "settled": settled,
        "filled": filled,
        "fill_rate": filled / settled if settled else None,
        "median_abs_gap": float(sorted(sizes)[len(sizes) // 2]) if sizes else None,
        "median_hours_to_fill": hours_to_fill[len(hours_to_fill) // 2] if hours_to_fill else None,
        "first_gap": _iso(tracker.gaps[0].reopen_ms) if tracker.gaps else None,
        "last_gap": _iso(tracker.gaps[-1].reopen_ms) if tracker.gaps else None,
    }


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--hours", type=int, default=24, help="fill window after the reopen")
    parser.add_argument(
        "--no-early-halts", action="store_true", help="ignore the 12:00 CT holiday halts"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"error: {args.data} is not a directory", file=sys.stderr)
        return 2
    rows = [measure(p, args.hours, not args.no_early_halts) for p in series_dirs(args.data)]
    filled = sum(int(str(r["filled"])) for r in rows)
    settled = sum(int(str(r["settled"])) for r in rows)
    if args.json:
        print(json.dumps({"series": rows, "filled": filled, "settled": settled}, indent=2))
        return 0
    print(
        f"{'series':<22} {'gaps':>5} {'settled':>8} {'filled':>7} {'rate':>6} "
        f"{'med |gap|':>10} {'med h':>6}  first .. last reopen"
    )
    for r in rows:
        rate = "-" if r["fill_rate"] is None else f"{float(str(r['fill_rate'])):.0%}"
        size = "-" if r["median_abs_gap"] is None else f"{float(str(r['median_abs_gap'])):.2%}"
        med_h = r["median_hours_to_fill"]
        hours = "-" if med_h is None else f"{float(str(med_h)):.1f}"
        print(
            f"{r['series']:<22} {r['gaps']:>5} {r['settled']:>8} {r['filled']:>7} {rate:>6} "
            f"{size:>10} {hours:>6}  {r['first_gap']} .. {r['last_gap']}"
        )
    total = Decimal(filled) / Decimal(settled) if settled else Decimal(0)
    print(f"{'all':<22} {'':>5} {settled:>8} {filled:>7} {float(total):>6.0%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
