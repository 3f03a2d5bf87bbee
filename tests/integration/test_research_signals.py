"""``gridbot research signals`` end to end on real BTCUSDT klines: a subprocess, real exit codes.

The checks are about the report being complete and consistent (one CSV row per ready
candle, the split, sample counts that exclude returns crossing it, finite ICs, a real PNG),
never about the ICs' values: whether the signals predict is what the command measures.
"""

from __future__ import annotations

import csv
import gzip
import itertools
import json
import math
import struct
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters.market_data.kline_csv import KlineCsvReader
from domain.signals import SignalWeights
from domain.signals.evaluation import SERIES
from domain.signals.history import candle_columns, history_features

REPO_ROOT = Path(__file__).resolve().parents[2]
MONTH = "klines/spot/BTCUSDT/BTCUSDT-1m-2025-06.csv.gz"  # 30 gap-free days
SHORT_MONTH = "klines/spot/BTCUSDT/BTCUSDT-1m-2025-05.csv.gz"  # 12 gap-free days
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def gridbot(*args: str | Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``python -m bootstrap.cli research signals ARGS`` from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "bootstrap.cli", "research", "signals", *map(str, args)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int, *parts: str) -> None:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    message = result.stderr.strip()
    assert message.startswith("gridbot: ") and "\n" not in message, result.stderr
    for part in parts:
        assert part in message, message


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def month_run(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One --json run over a month of spot BTCUSDT (about 3 s, and the backtest's 15 s)."""
    out = tmp_path_factory.mktemp("research") / "report"
    result = gridbot("--data", shared_data / MONTH, "--out", out, "--json", timeout=240)
    assert result.returncode == 0, result.stderr
    return {"out": out, "stdout": result.stdout, "stderr": result.stderr}


@pytest.fixture(scope="module")
def ready_rows(shared_data: Path) -> int:
    """Ready rows of the month, computed in-process from the candles (not from the report)."""
    columns = candle_columns(list(KlineCsvReader(shared_data / MONTH)))
    return int(history_features(columns, 1440, 4.0).ready.sum())


def test_every_file_is_written(month_run: dict[str, Any]) -> None:
    out: Path = month_run["out"]
    for name in ("signals.csv", "ic.csv", "fills.csv", "summary.json", "signals.png"):
        assert (out / name).is_file(), name
        assert (out / name).stat().st_size > 0, name


def test_json_output_is_the_summary_file(month_run: dict[str, Any]) -> None:
    printed = json.loads(month_run["stdout"])
    stored = json.loads((month_run["out"] / "summary.json").read_text(encoding="utf-8"))
    assert printed == stored
    assert stored["symbol"] == "BTCUSDT"
    assert stored["candles"] == 43_200 and stored["gaps"] == 0
    assert stored["horizons"] == [5, 15, 60]
    assert stored["settings"]["method"] == "spearman"


def test_signals_csv_has_one_row_per_ready_candle(
    month_run: dict[str, Any], ready_rows: int
) -> None:
    summary = json.loads((month_run["out"] / "summary.json").read_text(encoding="utf-8"))
    rows = read_rows(month_run["out"] / "signals.csv")
    assert len(rows) == ready_rows == summary["ready_rows"]
    assert summary["warmup_rows"] == 43_200 - ready_rows
    times = [int(r["open_time"]) for r in rows]
    assert all(b - a == 60_000 for a, b in itertools.pairwise(times))
    flags = [r["in_sample"] for r in rows]
    split_at = math.floor(ready_rows * 0.5)
    assert summary["split_at"] == split_at
    assert flags == ["1"] * split_at + ["0"] * (ready_rows - split_at)
    for r in rows[:: max(1, len(rows) // 500)]:
        assert 0.0 <= float(r["long"]) <= 1.0 and 0.0 <= float(r["short"]) <= 1.0
        for system in ("up", "down", "neutral"):
            assert -1.0 <= float(r[f"{system}_score"]) <= 1.0
            assert 0.0 <= float(r[f"{system}_confidence"]) <= 1.0
        assert r["regime"] in ("UP", "DOWN", "NEUTRAL")
        assert float(r["close"]) > 0.0


def test_ics_are_finite_and_counts_exclude_returns_crossing_the_split(
    month_run: dict[str, Any], ready_rows: int
) -> None:
    summary = json.loads((month_run["out"] / "summary.json").read_text(encoding="utf-8"))
    split_at = summary["split_at"]
    table = read_rows(month_run["out"] / "ic.csv")
    assert [(r["series"], int(r["horizon"]), r["sample"]) for r in table] == [
        (s, h, p) for s in SERIES for h in (5, 15, 60) for p in ("in", "out")
    ]
    for row, item in zip(table, summary["ics"], strict=True):
        ic, n, h = float(row["ic"]), int(row["n"]), int(row["horizon"])
        assert math.isfinite(ic) and -1.0 <= ic <= 1.0
        assert item["ic"] == pytest.approx(ic, abs=1e-12)
        expected = split_at - h if row["sample"] == "in" else ready_rows - split_at - h
        assert n == item["n"] == expected


def test_weights_are_reported_and_fitted_in_sample_only(month_run: dict[str, Any]) -> None:
    summary = json.loads((month_run["out"] / "summary.json").read_text(encoding="utf-8"))
    weights = SignalWeights.from_dict(summary["weights"])
    assert weights.horizon == 15 and weights.method == "spearman"
    # The fit saw the in-sample rows whose 15-minute return ends before the split.
    assert weights.samples == summary["split_at"] - 15
    brief = summary["weights_summary"]
    assert brief["fallback"] == weights.fallback
    assert sum(brief["system_weights"].values()) == pytest.approx(1.0)


def test_each_system_is_judged_on_its_own_job(month_run: dict[str, Any]) -> None:
    """Beside the IC: UP and DOWN on returns in their direction, NEUTRAL on the forward ER."""
    summary = json.loads(month_run["stdout"])
    jobs = summary["jobs"]
    horizons = summary["horizons"]
    keys = [(j["system"], j["horizon"], j["sample"]) for j in jobs["trend"]]
    assert sorted(keys) == sorted(
        (s, h, sample) for s in ("UP", "DOWN") for h in horizons for sample in ("in", "out")
    )
    for j in jobs["trend"]:
        assert 0 < j["rows_led"] <= summary["ready_rows"]
        assert 0.0 <= j["hit_rate"] <= 1.0
        assert j["edge_bps"] == pytest.approx(j["mean_bps"] - j["drift_bps"])
    # Over the same rows the two directions' drifts are each other's negative.
    drift = {(j["system"], j["horizon"], j["sample"]): j["drift_bps"] for j in jobs["trend"]}
    for h in horizons:
        for sample in ("in", "out"):
            assert drift[("UP", h, sample)] == pytest.approx(-drift[("DOWN", h, sample)])
    assert [(k["horizon"], k["sample"]) for k in jobs["neutral"]] == [
        (h, sample) for h in horizons for sample in ("in", "out")
    ]
    for k in jobs["neutral"]:
        assert -1.0 <= k["ic_confidence_vs_1_minus_er"] <= 1.0 and k["n"] > 1000
        assert 0.0 <= k["er_when_leading"] <= 1.0 and 0.0 <= k["er_otherwise"] <= 1.0


def test_plot_is_a_real_png(month_run: dict[str, Any]) -> None:
    data = (month_run["out"] / "signals.png").read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 800 and height >= 600
    assert len(data) > 20_000  # three drawn panels, not an empty canvas


def test_human_table_with_config_method_and_custom_horizons(
    shared_data: Path, tmp_path: Path
) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"signals": {"method": "pearson", "window": 720}}))
    out = tmp_path / "report"
    result = gridbot(
        "--data", shared_data / SHORT_MONTH, "--config", config, "--horizons", "30,1",
        "--split", "0.6", "--out", out, "--market", "spot", timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    header = next(line for line in lines if line.startswith("series"))
    assert header.split() == ["series", "h=1", "in", "h=1", "out", "h=30", "in", "h=30", "out"]
    for name in SERIES:
        row = next(line for line in lines if line.split()[:1] == [name])
        assert len(row.split()) == 5
    assert "IC (pearson)" in result.stdout
    assert "trend systems on forward returns in their direction" in result.stdout
    assert "NEUTRAL on the forward efficiency ratio" in result.stdout
    assert "the ensemble on realised P&L: adaptive_grid backtest (SPOT)" in result.stdout
    fill_rows = [line.split() for line in lines if line.split()[:1] in (["regime"], ["conviction"])]
    assert [r[1] for r in fill_rows] == ["UP", "DOWN", "NEUTRAL"] + [r[1] for r in fill_rows[3:]]
    assert [r[1] for r in fill_rows].count("all") == 2
    job_rows = [line.split() for line in lines if line.split()[:1] in (["UP"], ["DOWN"])]
    assert {(r[0], r[1], r[2]) for r in job_rows if len(r) == 8} == {
        (s, h, sample) for s in ("UP", "DOWN") for h in ("1", "30") for sample in ("in", "out")
    }
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["settings"]["source"] == "config"
    assert summary["settings"]["window"] == 720
    assert summary["weights"]["method"] == "pearson"
    assert summary["split_at"] == math.floor(summary["ready_rows"] * 0.6)
    assert {int(r["horizon"]) for r in read_rows(out / "ic.csv")} == {1, 30}


def test_a_missing_path_is_one_line_exit_1(tmp_path: Path) -> None:
    result = gridbot("--data", tmp_path / "nope", "--out", tmp_path / "out")
    assert_one_line_error(result, 1, "data error", "nope")
    assert not (tmp_path / "out").exists()


def test_a_history_without_ready_rows_is_one_line_exit_1(shared_data: Path, tmp_path: Path) -> None:
    with gzip.open(shared_data / MONTH, "rt", encoding="utf-8") as handle:
        lines = [next(handle) for _ in range(1001)]  # header + 1000 candles
    short = tmp_path / "BTCUSDT-1m-2025-06.csv"
    short.write_text("".join(lines), encoding="utf-8")
    result = gridbot("--data", short, "--out", tmp_path / "out")
    assert_one_line_error(result, 1, "data error", "none with ready features", "warm-up")


@pytest.mark.parametrize(
    ("flags", "fragment"),
    [
        (("--horizons", "5,x"), "--horizons"),
        (("--horizons", "0"), "--horizons"),
        (("--split", "1.0"), "--split"),
    ],
)
def test_bad_flags_are_one_line_exit_2(
    shared_data: Path, tmp_path: Path, flags: tuple[str, str], fragment: str
) -> None:
    result = gridbot("--data", shared_data / MONTH, "--out", tmp_path / "out", *flags)
    assert_one_line_error(result, 2, "usage error", fragment)


def test_the_ensemble_is_judged_on_the_backtests_realised_trades(
    month_run: dict[str, Any], shared_data: Path
) -> None:
    """The fills are those of ``gridbot backtest`` on the same data, every trade charged once."""
    doc = json.loads((month_run["out"] / "summary.json").read_text(encoding="utf-8"))
    fills = doc["fills"]
    assert fills["strategy"] == "adaptive_grid"
    assert fills["decisions"] > 0 and fills["fills"] > 0
    for grouping in ("by_regime", "by_conviction"):
        rows = fills[grouping]
        every = rows[-1]
        assert every["leader"] == "all"
        parts = rows[:-1]
        assert sum(r["trades"] for r in parts) == every["trades"] > 0
        assert sum(r["wins"] for r in parts) == every["wins"]
        assert sum(Decimal(r["pnl"]) for r in parts) == Decimal(every["pnl"])
        assert sum(Decimal(r["fees"]) for r in parts) == Decimal(every["fees"])
        for r in rows:
            if r["trades"]:
                assert r["hit_rate"] == pytest.approx(r["wins"] / r["trades"])
                assert Decimal(r["mean_pnl"]) == Decimal(r["pnl"]) / r["trades"]
    assert [r["leader"] for r in fills["by_regime"][:3]] == ["UP", "DOWN", "NEUTRAL"]
    assert {r["leader"] for r in fills["by_conviction"]} <= {"long", "short", "flat", "none", "all"}
    csv_rows = read_rows(month_run["out"] / "fills.csv")
    assert len(csv_rows) == len(fills["by_regime"]) + len(fills["by_conviction"])
    assert csv_rows[0]["pnl"] == fills["by_regime"][0]["pnl"]

    command = ["backtest", "--data", str(shared_data / MONTH), "--json", "--no-progress"]
    backtest = subprocess.run(
        [sys.executable, "-m", "bootstrap.cli", *command],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    trades = json.loads(backtest.stdout)["metrics"]["trades"]
    closed = fills["by_regime"][-1]
    assert closed["trades"] + fills["open_lots_left_out"] == trades["count"]
    assert fills["open_lots_left_out"] == trades["open_marked"]
    assert Decimal(closed["pnl"]) + Decimal(fills["open_lots_unrealised_pnl"]) == Decimal(
        trades["net_pnl"]
    )
    assert Decimal(fills["net_pnl_all_trades"]) == Decimal(trades["net_pnl"])
