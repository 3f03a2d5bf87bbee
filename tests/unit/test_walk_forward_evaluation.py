"""The walk-forward use case: the plan, the sweep's honest choice, the pooled figures and KPIs."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from application.evaluation import KPIS, TradeTally, WindowResult, kpi_verdicts, sharpe, summarise
from application.walk_forward import MINUTE_MS, Segment, Window, compounded, windows
from application.walk_forward_evaluation import TaskKey, evaluate, plan

DAY = 1440
T0 = 1_700_006_400_000 - 1_700_006_400_000 % (DAY * MINUTE_MS)


class InlineRunner:
    """Runs tasks in this process (the application never knows where tasks run)."""

    def __init__(self) -> None:
        self.seen: list[Any] = []

    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any], on_done: Any = None) -> list:
        self.seen.extend(tasks)
        out = [fn(t) for t in tasks]
        if on_done is not None:
            on_done(len(out))
        return out

    def close(self) -> None:
        pass


def result(key: TaskKey, ret: float, **kw: Any) -> WindowResult:
    w = key.window
    fields: dict[str, Any] = {
        "series": key.series,
        "market": "USDM_FUTURES",
        "symbol": "BTCUSDT",
        "segment": w.segment,
        "index": w.index,
        "start": w.start,
        "end": w.end,
        "is_test": w.is_test,
        "run": key.run,
        "variant": key.variant,
        "fill_model": key.fill_model,
        "candles": w.minutes,
        "initial_equity": 1000.0,
        "final_equity": 1000.0 * (1 + ret),
        "max_drawdown": 0.01,
        "max_drawdown_amount": 10.0,
        "daily_returns": (ret / 2, ret / 2),
        "equity_times": (w.start + MINUTE_MS * w.minutes,),
        "equity": (1000.0 * (1 + ret),),
        "orders": 10,
        "fills": 8,
        "maker_fills": 8,
        "taker_fills": 0,
        "cancels": 2,
        "filled_orders": 8,
        "ended_orders": 10,
        "fees": "0.5",
        "funding": "0",
        "trades": TradeTally(4, 3, 3.0, 1.0, 4 * 3_600_000),
        "turnover": 100.0,
        "signal": "",
        "seconds": 0.0,
    }
    fields.update(kw)
    return WindowResult(**fields)


# A doctored series of 4 one-day windows: "wide" wins every training window, "tight" wins
# the test windows by far. Tuning on everything would pick "tight"; walk-forward must not.
DOCTORED = {
    "tight": [-0.03, -0.02, -0.01, 0.40],
    "wide": [0.01, 0.01, 0.02, -0.05],
}


def doctored(task: TaskKey) -> WindowResult:
    if task.run != "strategy":
        return result(task, 0.001)
    return result(task, DOCTORED[task.variant][task.window.index])


def test_the_sweep_chooses_on_past_windows_and_reports_the_choice_out_of_window() -> None:
    segs = [Segment(T0, T0 + (4 * DAY - 1) * MINUTE_MS)]
    series_windows = {"futures-um/BTCUSDT": windows(segs, DAY)}
    variants = ["tight", "wide"]
    keys = plan(series_windows, ["buy_and_hold"], variants, ["normal"])
    outcome = evaluate(keys, lambda k: k, doctored, InlineRunner(), variants)
    # Choices: window 1 on window 0 (wide), window 2 on 0-1 (wide), window 3 on 0-2 (wide).
    assert [c["chosen"] for c in outcome.choices] == ["wide", "wide", "wide"]
    assert [c["training_windows"] for c in outcome.choices] == [1, 2, 3]
    chosen = outcome.summary["normal"]["strategy[chosen]"]["pooled"]
    expected = compounded(DOCTORED["wide"][1:])
    assert chosen["series_returns"]["futures-um/BTCUSDT"] == pytest.approx(expected)
    # The best-in-test set is visible as a fixed set but is not what the choice reports.
    tight = outcome.summary["normal"]["strategy[tight]"]["pooled"]
    assert tight["mean_series_return"] > chosen["mean_series_return"]
    # Baselines ran on the test windows only.
    assert outcome.summary["normal"]["buy_and_hold"]["pooled"]["windows"] == 3


def test_the_choice_flips_once_the_past_says_so() -> None:
    segs = [Segment(T0, T0 + (4 * DAY - 1) * MINUTE_MS)]
    flips = {"a": [0.05, -0.10, -0.10, 0.0], "b": [0.0, 0.0, 0.0, 0.0]}

    def run(task: TaskKey) -> WindowResult:
        return result(task, flips[task.variant][task.window.index])

    keys = plan({"s": windows(segs, DAY)}, [], ["a", "b"], ["normal"])
    outcome = evaluate(keys, lambda k: k, run, InlineRunner(), ["a", "b"])
    # After window 0 "a" leads (+5 %); after window 1 it is behind (-5.5 % vs 0).
    assert [c["chosen"] for c in outcome.choices] == ["a", "b", "b"]


def test_without_a_sweep_only_test_windows_run() -> None:
    segs = [Segment(T0, T0 + (3 * DAY - 1) * MINUTE_MS)]
    keys = plan({"s": windows(segs, DAY)}, ["buy_and_hold"], [""], ["normal", "pessimistic"])
    assert all(k.window.is_test for k in keys)
    assert len(keys) == 2 * 2 * 2  # 2 test windows x 2 fill models x (strategy + baseline)
    # Series by series, window by window: a worker's cached series serves the next tasks.
    assert [k.window.index for k in keys] == sorted(k.window.index for k in keys)


def test_pooled_figures_add_up_exactly() -> None:
    w1 = Window(0, 1, T0, T0 + DAY * MINUTE_MS, T0 + 2 * DAY * MINUTE_MS)
    w2 = Window(0, 2, T0, T0 + 2 * DAY * MINUTE_MS, T0 + 3 * DAY * MINUTE_MS)
    k1 = TaskKey("s", w1, "strategy", "", "normal")
    k2 = TaskKey("s", w2, "strategy", "", "normal")
    rs = [
        result(k1, 0.10, trades=TradeTally(2, 2, 4.0, 0.0, 2 * 3_600_000), taker_fills=2),
        result(k2, -0.05, trades=TradeTally(2, 0, 0.0, 2.0, 6 * 3_600_000)),
    ]
    s = summarise(rs)
    assert s["series_returns"]["s"] == pytest.approx(1.10 * 0.95 - 1)
    assert s["win_rate"] == 0.5
    assert s["profit_factor"] == 2.0
    assert s["average_trade_ms"] == 2 * 3_600_000
    assert s["maker_taker_ratio"] == 8.0
    assert s["sharpe"] == pytest.approx(sharpe([0.05, 0.05, -0.025, -0.025]))
    # Chained: +10 % then -5 % from the new peak.
    assert s["max_drawdown"] == pytest.approx(0.05)
    verdicts = {v["metric"]: v["met"] for v in kpi_verdicts(s)}
    assert verdicts["win_rate"] is False
    assert verdicts["profit_factor"] is True
    assert verdicts["maker_taker_ratio"] is True
    assert verdicts["average_trade_ms"] is True
    assert set(verdicts) == {k.metric for k in KPIS}


def test_a_kpi_without_a_value_is_neither_met_nor_failed() -> None:
    verdicts = {v["metric"]: v["met"] for v in kpi_verdicts({"sharpe": math.nan})}
    assert verdicts["sharpe"] is None
