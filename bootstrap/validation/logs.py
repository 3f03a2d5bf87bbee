"""The bot's JSON-lines event log, indexed across rotated files and restarts.

The log rotates by size (``gridbot.log.N`` oldest ... ``gridbot.log.1``, then
``gridbot.log``) and every restart appends to it under a new run id, so the index reads
every file, oldest first. It keeps what the checks need: which order and fill events were
logged for which client id or trade id, the reconnect messages (evidence that a stream
fault was noticed and healed), ERROR lines, and lines that are not JSON (a SIGKILL in the
middle of a write can leave at most one torn line per process).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

#: Log events that name one order by its client id.
ORDER_EVENTS = (
    "order.submit",
    "order.accepted",
    "order.cancel",
    "order.canceled",
    "order.expired",
    "order.rejected",
    "order.modify",
    "order.modified",
    "order.cancel_rejected",
    "order.modify_rejected",
    "risk.block",
)
RECONNECT = re.compile(r"reconnected|silent for|listen key renewed|reconnecting")


@dataclass
class LogIndex:
    """What the event log holds, for the checks and the report.

    Attributes:
        files: The files read, oldest first.
        lines: JSON lines read.
        torn: Lines that are not valid JSON.
        events: Lines per event name.
        by_order: (event, client order id) -> lines.
        fills: trade id -> ``fill`` lines.
        runs: Run ids in order of first appearance.
        errors: ERROR-level lines (their event and message).
        reconnects: (time ms, run id, message) of stream reconnect / silence lines.
        full: The last rotated file allowed by the config exists, so older lines may have
            been deleted.
    """

    files: list[str] = field(default_factory=list)
    lines: int = 0
    torn: int = 0
    events: Counter[str] = field(default_factory=Counter)
    by_order: Counter[tuple[str, str]] = field(default_factory=Counter)
    fills: Counter[int] = field(default_factory=Counter)
    runs: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    reconnects: list[tuple[int, str, str]] = field(default_factory=list)
    full: bool = False

    def add(self, record: dict[str, Any]) -> None:
        """Index one parsed line."""
        self.lines += 1
        event = str(record.get("event", ""))
        self.events[event] += 1
        run = str(record.get("run_id", ""))
        if run and run not in self.runs:
            self.runs.append(run)
        cid = record.get("client_order_id")
        if event in ORDER_EVENTS and isinstance(cid, str):
            self.by_order[(event, cid)] += 1
        if event == "fill" and record.get("trade_id") is not None:
            self.fills[int(record["trade_id"])] += 1
        if record.get("level") == "ERROR":
            self.errors.append(
                {
                    "event": event,
                    "message": str(record.get("message", "")),
                    "exception": str(record.get("exception", "") or ""),
                }
            )
        message = str(record.get("message", ""))
        if event.startswith("log.") and RECONNECT.search(message):
            self.reconnects.append((_ms(str(record.get("time", ""))), run, message))


def log_files(path: Path) -> list[Path]:
    """``path`` and its rotated copies, oldest first."""
    rotated = []
    for candidate in path.parent.glob(path.name + ".*"):
        suffix = candidate.name[len(path.name) + 1 :]
        if suffix.isdigit():
            rotated.append((int(suffix), candidate))
    ordered = [p for _, p in sorted(rotated, reverse=True)]
    if path.is_file():
        ordered.append(path)
    return ordered


def read_logs(path: Path, backups: int) -> LogIndex:
    """Index the log at ``path`` and its rotated files (``backups``: the config's count)."""
    index = LogIndex()
    files = log_files(path)
    index.full = backups > 0 and (path.parent / f"{path.name}.{backups}").is_file()
    for file in files:
        index.files.append(file.name)
        with file.open("rb") as lines:
            for raw in lines:
                try:
                    record = json.loads(raw)
                except ValueError:
                    index.torn += 1
                    continue
                if isinstance(record, dict):
                    index.add(record)
                else:
                    index.torn += 1
    return index


def _ms(iso: str) -> int:
    """Unix ms of the log's ``2024-01-01T00:00:00.000Z`` times (0 when unreadable)."""
    try:
        return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return 0
