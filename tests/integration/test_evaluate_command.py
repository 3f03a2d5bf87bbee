"""``gridbot evaluate`` on a small slice of real data: a subprocess, real exit codes and files.

The slice is spot BTCUSDT 2024-07 (7,785 gap-free minutes, 5.4 days) with one-day windows:
five windows, the first of which is training only, and a 0.4-day tail left untested.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from application.walk_forward import Window
from application.walk_forward_evaluation import evaluate, plan
from bootstrap.config import load_config
from bootstrap.evaluation.series import SeriesSpec, default_funding_dir, discover, scan
from bootstrap.evaluation.window_run import run_window, window_task
from domain.enums import MarketType

REPO_ROOT = Path(__file__).resolve().parents[2]
SLICE = "klines/spot/BTCUSDT/BTCUSDT-1m-2024-07.csv.gz"


def gridbot(*args: str | Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bootstrap.cli", "evaluate", *map(str, args)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_evaluate_a_real_slice_with_a_sweep_and_both_fill_models(
    shared_data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ev"
    config = tmp_path / "static.json"  # the sweep varies the static grid's spacing
    config.write_text(json.dumps({"strategy": {"name": "static_grid"}}), encoding="utf-8")
    result = gridbot(
        "--data",
        shared_data / SLICE,
        "--config",
        config,
        "--window",
        "1d",
        "--sweep",
        "strategy.spacing=0.002,0.004",
        "--fill-model",
        "both",
        "--workers",
        "2",
        "--out",
        out,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "strategy[chosen]" in result.stdout and "NOT met" in result.stdout
    doc = json.loads((out / "evaluation.json").read_text())
    assert doc["schema"] == "gridbot.evaluation/1"
    [series] = doc["series"]
    assert series["candles"] == 7785 and len(series["segments"]) == 1
    assert series["test_windows"] == 4
    assert doc["sweep"]["variants"] == ["spacing=0.002", "spacing=0.004"]
    for model in ("normal", "pessimistic"):
        block = doc["summary"][model]
        assert set(block) >= {
            "strategy[spacing=0.002]",
            "strategy[spacing=0.004]",
            "strategy[chosen]",
        }
        assert block["strategy[chosen]"]["pooled"]["windows"] == 4
        assert {k["kpi"] for k in block["strategy[chosen]"]["kpis"]} >= {"Sharpe", "fill rate"}
    # Each choice was made on windows that ended before the one it trades.
    for choice in doc["choices"]:
        assert choice["training_windows"] >= 1
    runs = {(w["run"], w["variant"], w["fill_model"], w["index"]) for w in doc["windows"]}
    assert ("strategy", "spacing=0.004", "pessimistic", 0) in runs  # training window ran
    with (out / "windows.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(doc["windows"])
    # The pessimistic model fills less than the normal one over the same windows.
    totals = {"normal": 0, "pessimistic": 0}
    for r in rows:
        if r["run"] == "strategy":
            totals[r["fill_model"]] += int(r["fills"])
    assert 0 < totals["pessimistic"] < totals["normal"]
    assert (out / "summary.csv").is_file()
    markdown = (out / "summary.md").read_text()
    assert "| strategy[chosen] |" in markdown and "| Sharpe > 1.5 |" in markdown


def test_bad_flags_are_one_line(shared_data: Path, tmp_path: Path) -> None:
    for args, code, part in (
        (("--window", "7x"), 2, "--window"),
        (("--sweep", "strategy.levels=5,5"), 2, "--sweep"),
        (("--sweep", "strategy.levels=0,5"), 2, "$.strategy.levels"),
        (("--baselines", "nope"), 2, "--baselines"),
    ):
        result = gridbot("--data", shared_data / SLICE, "--out", tmp_path / "x", *args)
        assert result.returncode == code, (args, result.stderr)
        message = result.stderr.strip()
        assert "Traceback" not in message and "\n" not in message and part in message, message
    missing = gridbot("--data", tmp_path / "absent", "--out", tmp_path / "x")
    assert missing.returncode == 1 and "does not exist" in missing.stderr


def _one_series(shared_data: Path) -> tuple[SeriesSpec, list[Window]]:
    from application.walk_forward import windows

    [spec] = discover([str(shared_data / SLICE)], MarketType.SPOT, None)
    return spec, windows(scan(spec).segments, 1440)


def test_the_same_tasks_run_on_a_local_ray_instance(shared_data: Path) -> None:
    ray = pytest.importorskip("ray", reason="ray is not installed (the distributed extra)")
    from adapters.distributed.processes import ProcessTaskRunner
    from adapters.distributed.ray_cluster import RayTaskRunner

    spec, wins = _one_series(shared_data)
    config = load_config(None)
    keys = plan({spec.key: wins[:3]}, ["buy_and_hold", "neutral_grid"], [""], ["normal"])

    def make(key):  # type: ignore[no-untyped-def]
        return window_task(spec, key.window, key.run, key.variant, config, key.fill_model, False)

    local = evaluate(keys, make, run_window, ProcessTaskRunner(1), [""])
    runner = RayTaskRunner("local", num_cpus=1)
    try:
        assert ray.is_initialized()
        done: list[int] = []
        remote = evaluate(keys, make, run_window, runner, [""], done.append)
    finally:
        runner.close()
    assert done and done[-1] == len(keys)
    assert [r.final_equity for r in remote.results] == [r.final_equity for r in local.results]
    assert [r.fills for r in remote.results] == [r.fills for r in local.results]


def test_series_discovery_reads_market_and_funding(shared_data: Path) -> None:
    specs = discover(
        [str(shared_data / "klines")],
        MarketType.USDM_FUTURES,
        default_funding_dir([str(shared_data / "klines")]),
    )
    keys = {s.key: s for s in specs}
    assert keys["spot/BTCUSDT"].market is MarketType.SPOT
    assert keys["spot/BTCUSDT"].funding_file is None
    assert keys["futures-um/ETHUSDT"].funding_file.endswith("funding/ETHUSDT.csv")
    assert keys["futures-um/NEARUSDT"].funding_file is None  # constant rate, said so
