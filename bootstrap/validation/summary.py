"""The figures of a finished run: survival of each fault, uptime, restarts, rates, memory.

Survival is judged per injection from what the bot did, not from the fact that it was
sent: the process that received the fault must not have ended on its own, a queued fault
must have been consumed by the bot's requests, and a stream fault must be followed by the
bot's own reconnect (or silence) log line in that process's run; a clock skew by at least
one -1021 answer after it (the bot's requests hit the skew, resynced and carried on).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from decimal import Decimal
from typing import Any

from bootstrap.validation.bot_process import Life
from bootstrap.validation.ground_truth import ProcessOutcome
from bootstrap.validation.logs import LogIndex
from bootstrap.validation.runner import STREAM_EVIDENCE, RunResult
from bootstrap.validation.schedule import COUNTED_KINDS, FAULT_KINDS, STREAM_KINDS, KillMode

_MB = 1024 * 1024


def outcomes(lives: list[Life]) -> list[ProcessOutcome]:
    """Each process's ending, for the critical-error check."""
    return [
        ProcessOutcome(
            life.index,
            life.exit_code,
            life.ended_by,
            life.tracebacks,
            life.reconciled_at is not None,
            tuple(life.stderr[-20:]),
        )
        for life in lives
    ]


def judge_faults(result: RunResult, logs: LogIndex) -> None:
    """Set ``evidence`` and ``survived`` on every fault record."""
    lives = result.lives
    runs = logs.runs if len(logs.runs) == len(lives) else []
    rejections = result.host.api.timestamp_rejections
    for record in result.faults:
        life = lives[record.life] if 0 <= record.life < len(lives) else None
        alive = life is not None and (life.ended_by is not None or life.ended is None)
        end = life.ended if life is not None and life.ended is not None else result.finished
        kind = record.step.kind
        if record.step.restores:
            record.evidence = "skew removed"
            record.survived = alive
        elif kind in COUNTED_KINDS:
            record.evidence = (
                "consumed by the bot's requests" if record.consumed else "never consumed"
            )
            record.survived = alive and bool(record.consumed)
        elif kind == "clock_skew_ms":
            hits = [t for t in rejections if record.wall <= t <= end]
            record.evidence = f"{len(hits)} -1021 answer(s) afterwards"
            record.survived = alive and bool(hits)
        elif kind in STREAM_KINDS:
            if not result.books.futures and kind == "listen_key_expired":
                record.evidence = "not applicable: spot user data uses the WebSocket API"
                record.survived = alive
                continue
            run = runs[record.life] if runs else None
            since = record.wall * 1000 - 2000  # log times are the bot's estimate of server time
            seen = [
                msg
                for t, r, msg in logs.reconnects
                if (run is None or r == run)
                and t >= since
                and any(w in msg for w in STREAM_EVIDENCE[kind])
            ]
            record.evidence = seen[0][:160] if seen else "no reconnect line afterwards"
            record.survived = alive and bool(seen)


def market_uptime(candle_walls: list[float], up: list[tuple[float, float]]) -> float:
    """Share of the replayed candles that a reconciled bot process saw (market-time uptime).

    The replay is held while the bot is down, so the wall-clock share of up time mostly
    measures how long restarts took; this one says how much of the market the bot missed.

    Args:
        candle_walls: Wall time each candle was fed.
        up: (reconciled, ended) wall times of each process that reconciled.
    """
    if not candle_walls:
        return 0.0
    seen = sum(1 for t in candle_walls if any(a <= t < b for a, b in up))
    return round(seen / len(candle_walls), 4)


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def figures(result: RunResult, logs: LogIndex) -> dict[str, Any]:
    """Every figure of the report, as plain JSON values."""
    plan = result.plan
    books = result.books
    lives = result.lives
    start, end = result.replay_started, result.replay_ended
    span = max(end - start, 1e-9)
    up = 0.0
    spans: list[tuple[float, float]] = []
    for life in lives:
        if life.reconciled_at is None:
            continue
        a = max(life.reconciled_at, start)
        b = min(life.ended if life.ended is not None else end, end)
        up += max(0.0, b - a)
        spans.append((life.reconciled_at, life.ended if life.ended is not None else math.inf))
    restarts = [life.time_to_reconciled for life in lives[1:] if life.time_to_reconciled]
    first = lives[0].time_to_reconciled if lives else None
    injected: Counter[str] = Counter()
    survived: Counter[str] = Counter()
    for record in result.faults:
        if record.step.restores:
            continue
        injected[record.step.kind] += 1
        survived[record.step.kind] += record.survived
    api = result.host.api
    ours = {cid: ids for cid, ids in books.client_orders.items() if cid.startswith(_prefix(result))}
    order_ids = {i for ids in ours.values() for i in ids}
    filled = {t.order_id for t in books.trades if t.order_id in order_ids}
    maker = sum(1 for t in books.trades if t.maker)
    taker = len(books.trades) - maker
    rss = [r for _, _, r in result.supervisor.rss]
    equity = result.host.equity
    return {
        "market": plan.market.value,
        "symbol": plan.symbol,
        "data": str(plan.data),
        "market_hours_requested": plan.candles / 60,
        "market_hours_covered": result.host.candles_fed / 60,
        "first_candle_close_ms": equity[0][1] if equity else None,
        "last_candle_close_ms": equity[-1][1] if equity else None,
        "speed_candles_per_s": plan.speed,
        "wall_seconds": round(result.finished - (lives[0].started if lives else start), 1),
        "replay_wall_seconds": round(span, 1),
        "uptime_fraction": market_uptime([wall for wall, _, _ in result.host.equity], spans),
        "wall_uptime_fraction": round(up / span, 4),
        "processes": len(lives),
        "restarts": len(lives) - 1,
        "kills": {
            "planned": len(plan.schedule.kills),
            "done": len(result.kills),
            "by_mode": dict(Counter(k.struck.split(" ")[0] for k in result.kills)),
            "armed_struck": armed_struck(result),
            "order_requests": {
                "placements": result.requests.placements,
                "modifies": result.requests.modifies,
            },
        },
        "time_to_reconciled_s": {
            "first_start": None if first is None else round(first, 3),
            "restarts_p50": _round(statistics.median(restarts) if restarts else None),
            "restarts_max": _round(max(restarts) if restarts else None),
            "each": [round(x, 3) for x in restarts],
        },
        "faults": {
            kind: {"injected": injected[kind], "survived": survived[kind]} for kind in FAULT_KINDS
        },
        "api": {
            "requests": api.requests,
            "errors": api.errors,
            "error_rate": round(api.errors / api.requests, 5) if api.requests else 0.0,
            "by_status": {str(k): v for k, v in sorted(api.by_status.items())},
            "by_code": {str(k): v for k, v in sorted(api.by_code.items())},
        },
        "orders": {
            "exchange_orders": len(order_ids),
            "filled_orders": len(filled),
            "fill_rate": round(len(filled) / len(order_ids), 4) if order_ids else 0.0,
            "journal_orders": None,
        },
        "trades": {
            "count": len(books.trades),
            "maker": maker,
            "taker": taker,
            "maker_ratio": round(maker / len(books.trades), 4) if books.trades else 0.0,
        },
        "leverage": {
            "max_effective": _dec(books.max_leverage),
            "at_ms": books.max_leverage_at,
            "worst_case_with_open_orders": _dec(books.worst_case_leverage),
            "cap": str(plan.bot_config.get("risk", {}).get("max_leverage", "")),
        },
        "rss_mb": {
            "start": round(rss[0] / _MB, 1) if rss else None,
            "peak": round(max(rss) / _MB, 1) if rss else None,
            "end": round(rss[-1] / _MB, 1) if rss else None,
            "samples": len(rss),
        },
        "equity": {
            "start": str(equity[0][2]) if equity else None,
            "end": str(equity[-1][2]) if equity else None,
        },
        "log": {
            "lines": logs.lines,
            "files": len(logs.files),
            "runs": len(logs.runs),
            "torn_lines": logs.torn,
        },
        "notes": list(result.notes),
    }


def armed_struck(result: RunResult) -> dict[str, dict[str, int]]:
    """Per armed mode: kills planned in it and how many struck its request (not random)."""
    out = {m.value: {"planned": 0, "struck": 0} for m in KillMode if m is not KillMode.RANDOM}
    for kill in result.kills:
        if kill.step.armed:
            tally = out[kill.step.mode.value]
            tally["planned"] += 1
            tally["struck"] += kill.struck == kill.step.mode.value
    return out


def _prefix(result: RunResult) -> str:
    return str(result.config.client_order_id_prefix) + "-"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(Decimal("0.000001")))
