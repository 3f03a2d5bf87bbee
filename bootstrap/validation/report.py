"""The validation report: ``report.json``, a readable ``report.md`` and two PNG plots.

JSON for programs (every figure, every check with its evidence, the schedule and what each
step did), Markdown for people (the summary, the checks, the faults, the restarts), and
plots of equity (the emulator's, per candle, with the bot's journaled equity points) and
of the bot's resident memory over the run, restarts marked. Plots need matplotlib (the
``dev`` extra); without it the report says so instead of drawing them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bootstrap.validation.ground_truth import CheckResult
from bootstrap.validation.journal import JournalView
from bootstrap.validation.runner import RunResult

EQUITY_PNG = "equity.png"
RSS_PNG = "rss.png"


def build_report(
    result: RunResult,
    figures: dict[str, Any],
    checks: Sequence[CheckResult],
    journal: JournalView | None,
    command: str,
) -> dict[str, Any]:
    """The whole report as one JSON-ready object."""
    passed = all(c.passed for c in checks)
    return {
        "command": command,
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "passed": passed,
        "seed": result.plan.schedule.seed,
        "figures": figures,
        "checks": [c.to_json() for c in checks],
        "faults": [
            {
                "fault": r.step.fault,
                "count": r.step.count,
                "planned_candle": r.step.at_candle,
                "candle": r.candle,
                "process": r.life,
                "evidence": r.evidence,
                "survived": r.survived,
            }
            for r in result.faults
        ],
        "kills": [
            {
                "planned": k.step.mode.value,
                "struck": k.struck,
                "planned_candle": k.step.at_candle,
                "arm_candles": k.step.arm_candles,
                "candle": k.candle,
                "process": k.life,
            }
            for k in result.kills
        ],
        "processes": [
            {
                "index": life.index,
                "exit_code": life.exit_code,
                "ended_by": life.ended_by,
                "time_to_reconciled_s": None
                if life.time_to_reconciled is None
                else round(life.time_to_reconciled, 3),
                "reconciled": life.reconciled_line,
            }
            for life in result.lives
        ],
        "journal": None
        if journal is None
        else {
            "orders": len(journal.orders),
            "order_events": len(journal.events),
            "fills": len(journal.fills),
            "funding_payments": len(journal.funding),
            "reconciliations": len(journal.reconciliations),
            "runs": journal.runs,
        },
        "schedule": result.plan.schedule.to_json(),
        "series": {
            "equity": [[ms, str(e)] for _, ms, e in result.host.equity],
            "rss_mb": [
                [round(t - result.replay_started, 1), pid, round(v / (1024 * 1024), 1)]
                for t, pid, v in result.supervisor.rss
            ],
        },
    }


def write_report(
    out: Path, report: dict[str, Any], result: RunResult, journal: JournalView | None
) -> list[str]:
    """Write JSON, Markdown and the plots into ``out``; returns the file names written."""
    out.mkdir(parents=True, exist_ok=True)
    written = ["report.json", "report.md"]
    plots = _plots(out, result, journal)
    report["plots"] = plots
    (out / "report.json").write_text(json.dumps(report, indent=2, default=str) + "\n", "utf-8")
    (out / "report.md").write_text(markdown(report), "utf-8")
    return written + [p for p in plots.values() if p.endswith(".png")]


# ---------------------------------------------------------------------------- markdown
def _utc(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def summary_rows(report: dict[str, Any]) -> list[tuple[str, str]]:
    """The summary table: (figure, value)."""
    f = report["figures"]
    ttr = f["time_to_reconciled_s"]
    faults = f["faults"]
    injected = sum(v["injected"] for v in faults.values())
    survived = sum(v["survived"] for v in faults.values())
    critical = next((c for c in report["checks"] if c["name"] == "critical_errors"), None)
    lev = f["leverage"]
    rss = f["rss_mb"]
    return [
        ("result", "PASS" if report["passed"] else "FAIL"),
        ("market", f"{f['market']} {f['symbol']} ({f['data']})"),
        (
            "market hours covered",
            f"{f['market_hours_covered']:g} of {f['market_hours_requested']:g} "
            f"({_utc(f['first_candle_close_ms'])} -> {_utc(f['last_candle_close_ms'])})",
        ),
        (
            "wall time",
            f"{f['wall_seconds']:g} s ({f['replay_wall_seconds']:g} s of replay at "
            f"{f['speed_candles_per_s']:g} candles/s)",
        ),
        (
            "uptime (reconciled and trading)",
            f"{f['uptime_fraction'] * 100:.2f} % of the candles "
            f"({f.get('wall_uptime_fraction', 0) * 100:.2f} % of the replay's wall time: "
            "it is held while the bot is down)",
        ),
        (
            "restarts",
            f"{f['restarts']} ({f['kills']['done']} SIGKILLs: "
            + ", ".join(f"{m} {n}" for m, n in sorted(f["kills"]["by_mode"].items()))
            + ")",
        ),
        ("kills struck", kills_struck(f["kills"])),
        (
            "time to reconciled",
            f"p50 {ttr['restarts_p50']} s, max {ttr['restarts_max']} s over restarts "
            f"(first start {ttr['first_start']} s)",
        ),
        ("faults injected / survived", f"{injected} / {survived}"),
        (
            "API error rate",
            f"{f['api']['error_rate'] * 100:.3f} % ({f['api']['errors']} of "
            f"{f['api']['requests']} REST answers)",
        ),
        (
            "order fill rate",
            f"{f['orders']['fill_rate'] * 100:.2f} % ({f['orders']['filled_orders']} of "
            f"{f['orders']['exchange_orders']} exchange orders)",
        ),
        (
            "maker / taker",
            f"{f['trades']['maker']} / {f['trades']['taker']} "
            f"({f['trades']['maker_ratio'] * 100:.2f} % maker)",
        ),
        (
            "max leverage seen",
            f"{lev['max_effective']} effective (cap {lev['cap']}); worst case with every open "
            f"order filled {lev['worst_case_with_open_orders']}",
        ),
        ("RSS start / peak / end", f"{rss['start']} / {rss['peak']} / {rss['end']} MB"),
        (
            "critical errors",
            str(critical["evidence"]["count"]) if critical is not None else "-",
        ),
        ("equity start / end", f"{f['equity']['start']} / {f['equity']['end']}"),
    ]


def markdown(report: dict[str, Any]) -> str:
    """The readable summary."""
    f = report["figures"]
    lines = [
        f"# Validation: {f['market']} {f['symbol']}, {f['market_hours_requested']:g} h, "
        f"seed {report['seed']} - {'PASS' if report['passed'] else 'FAIL'}",
        "",
        "Produced by:",
        "",
        "```bash",
        report["command"],
        "```",
        "",
        f"Generated {report['generated_at']}. The bot ran as a separate process in live mode "
        "through the Binance adapter against the emulator, which replayed real klines at an "
        "accelerated clock while a seeded schedule injected faults and SIGKILLed the bot; a "
        "final SIGTERM flattened it. The checks compare the bot's journal and JSON log with "
        "the emulator's own books.",
        "",
        *_code_lines(report),
        "## Summary",
        "",
        "| figure | value |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in summary_rows(report)],
        "",
        "## Ground-truth checks",
        "",
        "| check | result | detail |",
        "|---|---|---|",
        *[
            f"| {c['name']} | {'pass' if c['passed'] else '**FAIL**'} | {_cell(c['detail'])} |"
            for c in report["checks"]
        ],
        "",
    ]
    lines += _adaptive_lines(report)
    failed = [c for c in report["checks"] if not c["passed"]]
    if failed:
        lines += ["### Evidence of the failed checks", ""]
        for c in failed:
            lines += [
                f"**{c['name']}**",
                "",
                "```json",
                json.dumps(c["evidence"], indent=2, default=str)[:4000],
                "```",
                "",
            ]
    lines += [
        "## Faults by type",
        "",
        "| fault | injected | survived |",
        "|---|---:|---:|",
        *[f"| {kind} | {v['injected']} | {v['survived']} |" for kind, v in f["faults"].items()],
        "",
        "Survived means: the process that received it did not end on its own, and a queued "
        "fault was consumed by its requests / a stream fault was followed by its reconnect "
        "log line / a clock skew by at least one -1021 answer.",
        "",
        "| planned candle | candle | fault | process | evidence | survived |",
        "|---:|---:|---|---:|---|---|",
        *[
            f"| {r.get('planned_candle', '')} | {r['candle']} | {r['fault']} x{r['count']} | "
            f"{r['process']} | "
            f"{_cell(r['evidence'])} | {'yes' if r['survived'] else '**no**'} |"
            for r in report["faults"]
        ],
        "",
        "## Kills",
        "",
        "An armed kill waits for its request up to the end of its window (its candle + its "
        "arming window, never past the next step); one that saw none fell back to a random "
        "kill, as its struck column says.",
        "",
        "| planned candle | planned | arming window (candles) | candle | struck | process |",
        "|---:|---|---:|---:|---|---:|",
        *[
            f"| {k['planned_candle']} | {k['planned']} | {k.get('arm_candles', '')} | "
            f"{k['candle']} | {_cell(k['struck'])} | {k['process']} |"
            for k in report["kills"]
        ],
        "",
        "## Restarts",
        "",
        "| process | ended by | exit code | time to reconciled (s) | reconciliation |",
        "|---:|---|---:|---:|---|",
        *[
            f"| {p['index']} | {p['ended_by'] or 'itself'} | {p['exit_code']} | "
            f"{p['time_to_reconciled_s']} | {_cell(p['reconciled'])} |"
            for p in report["processes"]
        ],
        "",
        "## Plots",
        "",
    ]
    plots = report.get("plots", {})
    for title, key in (("Equity", "equity"), ("Bot RSS", "rss")):
        value = plots.get(key, "")
        lines.append(f"![{title}]({value})" if value.endswith(".png") else f"{title}: {value}")
        lines.append("")
    return "\n".join(lines)


def _adaptive_lines(report: dict[str, Any]) -> list[str]:
    """The adaptive behaviours counted and the operational metrics against their targets."""
    lines: list[str] = []
    market = report.get("market_window")
    if market:
        lines += [
            "## Market",
            "",
            f"Replay from {_utc(market.get('start_ms'))}, after "
            f"{market.get('history_minutes')} minutes of the data served as history; "
            + (
                f"seeded market shock: prices fall {market['shock']['depth']} over "
                f"{market['shock']['ramp']} candles from replay candle "
                f"{market['shock']['at_candle']} and stay there."
                if market.get("shock")
                else "no market shock (the real data as it is)."
            ),
            "",
        ]
    counts = report.get("adaptive")
    if counts:
        lines += [
            "## Adaptive behaviour",
            "",
            "| behaviour | count |",
            "|---|---:|",
            *[f"| {k} | {_cell(str(v))} |" for k, v in counts.items()],
            "",
        ]
    targets = report.get("operational")
    if targets:
        lines += [
            "## Operational metrics against their targets",
            "",
            "| metric | value | target | met |",
            "|---|---:|---|---|",
            *[
                f"| {k} | {v['value']} | {v['target']} | {'yes' if v['met'] else '**no**'} |"
                for k, v in targets.items()
            ],
            "",
        ]
        detail = targets.get("api_error_rate_without_faults", {}).get("detail")
        if detail:
            lines += [f"API errors: {detail}.", ""]
    return lines


def _code_lines(report: dict[str, Any]) -> list[str]:
    code = report.get("code")
    if not code:
        return []
    start, end = code["at_start"], code["at_end"]
    lines = [f"Bot code: commit `{start['commit']}`"]
    if start["uncommitted"]:
        lines[0] += f" with uncommitted changes to {', '.join(start['uncommitted'])}"
    changed = code.get("bot_files_changed_during_run", [])
    if changed:
        lines.append(
            f"The bot's code changed during the run (at the end: commit `{end['commit']}`; "
            f"changed: {', '.join(changed)}): processes started later ran newer code."
        )
    elif end["commit"] != start["commit"]:
        lines[0] += (
            f" (the checkout moved to `{end['commit']}` during the run, with no change to "
            "the bot's packages)"
        )
    return [*lines, ""]


def kills_struck(kills: dict[str, Any]) -> str:
    """``submit_placed a/b, submit_dropped c/d, modify e/f`` and the requests they waited for.

    ``a/b``: of ``b`` kills armed for that request, ``a`` struck it (the rest fell back to a
    random kill when their window passed without one).
    """
    armed = kills.get("armed_struck", {})
    text = ", ".join(f"{mode} {n['struck']}/{n['planned']}" for mode, n in armed.items())
    sent = kills.get("order_requests")
    if sent is not None:
        text += (
            f" (the bot sent {sent['placements']} order placements and {sent['modifies']} "
            "modifies in the run)"
        )
    return text


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


# ---------------------------------------------------------------------------- plots
def _plots(out: Path, result: RunResult, journal: JournalView | None) -> dict[str, str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        reason = "not drawn: matplotlib is not installed (pip install -e '.[dev]')"
        return {"equity": reason, "rss": reason}
    start = result.replay_started or (result.lives[0].started if result.lives else 0.0)
    fig, ax = plt.subplots(figsize=(10, 4))
    equity = result.host.equity
    if equity:
        ax.plot(
            [datetime.fromtimestamp(ms / 1000, tz=UTC) for _, ms, _ in equity],
            [float(e) for _, _, e in equity],
            linewidth=0.8,
            label="exchange equity (emulator, every candle)",
        )
    # The bot stamps its final equity point with the wall clock, not market time: only the
    # points inside the replayed market period are comparable.
    first = equity[0][1] - 60_000 if equity else 0
    last = equity[-1][1] + 60_000 if equity else 0
    points = [] if journal is None else [(ms, e) for ms, e in journal.equity if first <= ms <= last]
    if points:
        ax.plot(
            [datetime.fromtimestamp(ms / 1000, tz=UTC) for ms, _ in points],
            [float(e) for _, e in points],
            "o",
            markersize=3,
            label="bot equity (journal)",
        )
    ax.set_title("Equity (quote asset) over market time; bot points: its hourly journal record")
    ax.set_xlabel("market time (UTC)")
    ax.legend(loc="best", fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(out / EQUITY_PNG, dpi=110)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(10, 4))
    rss = result.supervisor.rss
    pids: dict[int, list[tuple[float, int]]] = {}
    for t, pid, value in rss:
        pids.setdefault(pid, []).append((t - start, value))
    for i, points in enumerate(pids.values()):
        ax.plot(
            [t for t, _ in points],
            [v / (1024 * 1024) for _, v in points],
            color="tab:blue",
            linewidth=0.9,
            label="bot RSS" if i == 0 else None,
        )
    for k in result.kills:
        ax.axvline(k.wall - start, color="tab:red", alpha=0.3, linewidth=0.8)
    ax.set_title("Bot resident memory (MB); red lines: SIGKILL + restart")
    ax.set_xlabel("wall seconds since the replay started")
    ax.set_ylabel("MB")
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(out / RSS_PNG, dpi=110)
    plt.close(fig)
    return {"equity": EQUITY_PNG, "rss": RSS_PNG}
