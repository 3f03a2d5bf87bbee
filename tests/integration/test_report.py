"""``gridbot report`` end to end: a journal read beside its writer, the page in a real browser.

The journal is written through ``SqlJournal`` exactly as a bot writes it
(:mod:`tests.support.report_journal`). The browser test opens the written page in Debian's
headless chromium: the screenshot must not be blank and every section title must be in
the DOM the browser built (not merely in the file).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from adapters.persistence.journal_reader import JournalUnreadable, journal_url, read_journal
from adapters.reporting.html_report import SECTION_TITLES
from application.report.journal import gather_journal
from bootstrap.instruments import builtin_instrument
from domain.enums import MarketType
from tests.support.report_journal import (
    CASH,
    HOURS,
    MONDAYS,
    START,
    WEIGHTS,
    write_journal,
    write_klines,
)

ROOT = Path(__file__).resolve().parents[2]
ZERO = Decimal(0)


def _instrument(market: str, symbol: str):  # type: ignore[no-untyped-def]
    return builtin_instrument(MarketType(market), symbol)


def test_journal_report_adds_up_to_what_the_journal_holds(tmp_path: Path) -> None:
    journal, account = write_journal(tmp_path / "data")
    try:
        history = read_journal(journal_url(str(tmp_path / "data")))
    finally:
        journal.engine.dispose()
    data = gather_journal(history, _instrument, "test journal")
    assert data.initial_equity == CASH
    final = history.equity_curve()[-1][1]
    assert sum((w.pnl for w in data.weeks), ZERO) == final - CASH
    assert sum((w.fees for w in data.weeks), ZERO) == account.fees_quote
    assert sum((w.funding for w in data.weeks), ZERO) == account.position.funding
    assert [w.label for w in data.weeks] == ["2024-W04", "2024-W05", "2024-W06"]
    for week in data.weeks:
        assert week.trading == week.pnl + week.fees - week.funding
    assert len(data.fills) == len(history.fills()) > 100
    still_open = [s for s in data.levels if s.end == data.end]
    assert len(still_open) == 1 and len(data.levels) == HOURS
    assert data.convictions[0].time == START and len(data.convictions) == HOURS * 4
    assert not data.prices and not data.baselines
    assert any("--data" in note for note in data.notes)
    # The weights over time: those before the first update from the start, then each update's.
    assert [(p.time, p.source, dict(p.weights)) for p in data.weights] == [
        (START, "start", WEIGHTS[0]),
        (MONDAYS[0], "refit", WEIGHTS[1]),
        (MONDAYS[1], "heuristic", WEIGHTS[2]),
    ]


def test_with_klines_the_replayed_equity_matches_what_the_bot_recorded(tmp_path: Path) -> None:
    from adapters.market_data.kline_csv import KlineCsvReader

    journal, _ = write_journal(tmp_path / "data")
    journal.engine.dispose()
    history = read_journal(journal_url(str(tmp_path / "data")))
    klines = write_klines(tmp_path / "BTCUSDT-1m-2024-01.csv")
    data = gather_journal(history, _instrument, "x", list(KlineCsvReader(str(klines))))
    replayed = {p.time: p.equity for p in data.equity}
    recorded = history.equity_curve()[1:]  # the first is the start, before any candle
    compared = [(t, e) for t, e in recorded if t + 59_999 in replayed]
    assert len(compared) >= HOURS - 1
    for t, e in compared:
        assert replayed[t + 59_999] == e, t
    assert sum((w.pnl for w in data.weeks), ZERO) == data.equity[-1].equity - CASH
    metrics = {row[0]: row[1] for row in data.tables[0].rows}
    assert metrics["fills"] == f"{len(history.fills()):,}"
    assert metrics["fill rate"] != "n/a" and len(data.kpis) == 7
    assert data.strategy_name == "bot" and "buy-and-hold" in next(iter(data.baselines))


def test_a_postgresql_journal_reads_like_sqlite(tmp_path: Path) -> None:
    from tests.integration.test_migrations import postgres_schema_url

    sqlite_journal, _ = write_journal(tmp_path / "data")
    sqlite_journal.engine.dispose()
    expected = gather_journal(read_journal(journal_url(str(tmp_path / "data"))), _instrument, "x")
    with postgres_schema_url() as url:
        journal, _ = write_journal(url)
        try:
            # A bot mid-transaction holding a row lock: the reader neither waits nor sees it.
            with journal.engine.connect() as writer, writer.begin():
                writer.exec_driver_sql(
                    f"UPDATE equity_curve SET equity = '1' WHERE timestamp = {START}"
                )
                got = gather_journal(read_journal(url), _instrument, "x")
        finally:
            journal.engine.dispose()
    assert got.weeks == expected.weeks
    assert got.equity == expected.equity and got.fills == expected.fills
    assert got.levels == expected.levels and got.convictions == expected.convictions


def test_reading_never_blocks_the_writer_nor_writes(tmp_path: Path) -> None:
    journal, _ = write_journal(tmp_path / "data")
    journal.engine.dispose()
    db = tmp_path / "data" / "gridbot.db"
    # A bot in the middle of a write transaction: the reader neither waits nor sees it.
    writer = sqlite3.connect(db, isolation_level=None, timeout=0.1)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO equity_curve VALUES (?, ?)", (START + 10**9, "1"))
    started = time.monotonic()
    history = read_journal(journal_url(str(db)))
    assert time.monotonic() - started < 5
    assert all(t < START + 10**9 for t, _ in history.equity_curve())
    # ...and the writer is not blocked by the reader: it commits at once.
    writer.execute("COMMIT")
    writer.close()
    assert read_journal(journal_url(str(db))).equity_curve()[-1][0] == START + 10**9
    # Reading changes nothing: the database is byte-identical, and the write-ahead log
    # (which SQLite may open, empty, for a reader of a closed journal) holds no frame.
    before = db.read_bytes()
    read_journal(journal_url(str(db)))
    assert db.read_bytes() == before
    wal = db.with_name("gridbot.db-wal")
    assert not wal.exists() or wal.stat().st_size == 0


def test_unreadable_journals_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(JournalUnreadable, match="no journal there"):
        journal_url(str(tmp_path / "missing"))
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(JournalUnreadable, match="cannot read the journal"):
        read_journal(journal_url(str(other)))
    result = _cli(tmp_path, "--journal", str(tmp_path / "missing"))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bootstrap.cli", "report", *args],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=300,
    )


def _browser(chromium: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(chromium),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_page_renders(chromium: Path, page: Path, tmp_path: Path) -> None:
    """Screenshot the page in chromium (non-blank) and check the titles in its DOM."""
    import matplotlib.image

    shot = tmp_path / "screenshot.png"
    url = page.resolve().as_uri()
    result = _browser(
        chromium, tmp_path / "profile-1", f"--screenshot={shot}", "--window-size=1400,3000", url
    )
    assert shot.is_file(), result.stderr[-2000:]
    pixels = np.asarray(matplotlib.image.imread(shot))
    assert pixels.shape[0] >= 2000 and pixels.shape[1] >= 1000
    rgb = pixels[..., :3]
    # Not blank, and the charts really loaded: the page without its PNGs (text and tables
    # only) measures a pixel deviation of about 0.09 and 0.4 % coloured pixels; with its
    # charts about 0.17 and 4 %.
    assert float(rgb.std()) > 0.12
    assert float(((rgb.max(axis=2) - rgb.min(axis=2)) > 0.3).mean()) > 0.015
    dom = _browser(chromium, tmp_path / "profile-2", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    for title in SECTION_TITLES:
        assert f"<h2>{title}</h2>" in dom.stdout
    assert "naturalWidth" not in dom.stdout  # the page runs no script


def test_journal_report_in_a_real_browser(tmp_path: Path, chromium: Path) -> None:
    journal, _ = write_journal(tmp_path / "data")
    try:
        klines = write_klines(tmp_path / "BTCUSDT-1m-2024-01.csv")
        out = tmp_path / "report"
        result = _cli(
            tmp_path, "--journal", str(tmp_path / "data"), "--data", str(klines), "--out", str(out)
        )
    finally:
        journal.engine.dispose()
    assert result.returncode == 0, result.stderr
    page = out / "report.html"
    html = page.read_text()
    assert "<script" not in html and "http://" not in html and "https://" not in html
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == [
        "conviction.png",
        "equity.png",
        "price_2024-01.png",
        "price_2024-02.png",
        "price_overview.png",
        "weekly.png",
        "weights.png",
    ]
    for name in pngs:
        assert f'src="{name}"' in html
    assert "buy-and-hold" in html
    # The weights chart has data: its table lists every update with the system shares.
    assert "Weights per update (3)" in html
    assert "<td>heuristic</td><td>0.250</td><td>0.250</td><td>0.500</td>" in html
    assert_page_renders(chromium, page, tmp_path)


def _generated_config(tmp_path: Path, minutes: int) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"backtest": {"generated": {"minutes": minutes}}}))
    return path


def test_backtest_report_adds_up_exactly(tmp_path: Path) -> None:
    from bootstrap.config import load_config
    from bootstrap.report import _backtest_report

    config = load_config(str(_generated_config(tmp_path, 4000)))
    args = argparse.Namespace(data=None, no_progress=True, baselines=False)
    data = _backtest_report(args, config, io.StringIO())
    final = data.equity[-1].equity
    assert len(data.equity) == len(data.prices) == 4000
    assert sum((w.pnl for w in data.weeks), ZERO) == final - data.initial_equity
    metrics = dict((row[0], row[1]) for row in data.tables[0].rows)
    assert metrics["final equity"] == f"{final.quantize(Decimal('0.01')):,}"
    assert metrics["fills"] == f"{len(data.fills):,}" and data.fills
    assert data.levels and all(s.start <= s.end <= data.end for s in data.levels)
    # Every maker fill happened at a level the chart draws (a taker fill crossed the book).
    makers = {f.price for f in data.fills if f.liquidity == "MAKER"}
    assert makers and makers <= {s.price for s in data.levels}
    assert data.convictions and len(data.kpis) == 7
    assert data.start < data.prices[0].time


def test_backtest_report_in_a_real_browser(tmp_path: Path, chromium: Path) -> None:
    out = tmp_path / "report"
    config = _generated_config(tmp_path, 3000)
    result = _cli(tmp_path, "--backtest", "--config", str(config), "--out", str(out))
    assert result.returncode == 0, result.stderr
    html = (out / "report.html").read_text()
    for title in ("Sharpe", "profit factor", "win rate", "met", "best"):
        assert title in html
    for baseline in ("buy_and_hold", "neutral_grid", "volatility_grid"):
        assert f"<th>{baseline}</th>" in html
    assert_page_renders(chromium, out / "report.html", tmp_path)


def test_evaluation_report_in_a_real_browser(
    tmp_path: Path, chromium: Path, shared_data: Path
) -> None:
    month = shared_data / "klines" / "futures-um" / "BTCUSDT" / "BTCUSDT-1m-2023-07.csv.gz"
    evaluation = tmp_path / "evaluation"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "bootstrap.cli",
            "evaluate",
            "--data",
            str(month),
            "--window",
            "3d",
            "--workers",
            "1",
            "--no-progress",
            "--out",
            str(evaluation),
        ],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    out = tmp_path / "report"
    result = _cli(tmp_path, "--evaluation", str(evaluation), "--out", str(out))
    assert result.returncode == 0, result.stderr
    html = (out / "report.html").read_text()
    assert "Pooled out-of-sample results" in html
    assert "&gt; 95 %" in html  # the KPI targets, escaped
    assert (out / "price_2023-07.png").is_file()
    assert_page_renders(chromium, out / "report.html", tmp_path)
    bad = _cli(tmp_path, "--evaluation", str(tmp_path / "nothing"), "--out", str(out))
    assert bad.returncode == 1 and "no evaluation.json there" in bad.stderr


def test_bad_backtest_inputs_are_one_line(tmp_path: Path) -> None:
    missing = _cli(tmp_path, "--backtest", "--data", str(tmp_path / "none.csv"))
    assert missing.returncode == 1
    assert missing.stderr.startswith("gridbot: data error:") and missing.stderr.count("\n") == 1
    bad = tmp_path / "bad.json"
    bad.write_text('{"strategy": {"levels": 0}}')
    config = _cli(tmp_path, "--backtest", "--config", str(bad))
    assert config.returncode == 2 and "$.strategy.levels" in config.stderr
    assert "Traceback" not in missing.stderr + config.stderr
    usage = _cli(tmp_path, "--backtest", "--journal", "x")
    assert usage.returncode == 2 and "not allowed with argument" in usage.stderr
