"""Gathering an evaluation document: windows chained, costs scaled alike, weeks adding up."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from application.report.evaluation import SCHEMA, EvaluationUnusable, gather_evaluation

D = Decimal
T0 = 1_704_067_200_000  # Monday 2024-01-01
DAY = 86_400_000


def _window(run: str, index: int, initial: float, final: float, fees: str) -> dict[str, Any]:
    start = T0 + index * 7 * DAY
    return {
        "series": "futures-um/BTCUSDT",
        "market": "USDM_FUTURES",
        "symbol": "BTCUSDT",
        "index": index,
        "start": start,
        "end": start + 7 * DAY,
        "is_test": index > 0,
        "run": run,
        "fill_model": "normal",
        "initial_equity": initial,
        "final_equity": final,
        "equity_times": [start + DAY],
        "equity": [(initial + final) / 2],
        "fills": 3,
        "fees": fees,
        "funding": "-0.5",
        "total_return": final / initial - 1,
        "max_drawdown": 0.01,
    }


def _document() -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "fill_models": ["normal"],
        "series": [],
        "windows": [
            _window("strategy", 0, 100.0, 500.0, "9"),  # training only: never drawn
            _window("strategy", 1, 100.0, 110.0, "1"),
            _window("strategy", 2, 100.0, 90.0, "2"),
            _window("buy-and-hold", 1, 100.0, 105.0, "0.1"),
            _window("buy-and-hold", 2, 100.0, 100.0, "0.1"),
        ],
        "summary": {
            "normal": {
                "strategy": {
                    "pooled": {"windows": 2, "sharpe": 0.5, "win_rate": None},
                    "kpis": [
                        {
                            "kpi": "Sharpe",
                            "metric": "sharpe",
                            "target": "> 1.5",
                            "value": 0.5,
                            "met": False,
                        }
                    ],
                },
                "buy-and-hold": {"pooled": {"windows": 2, "sharpe": 1.0}},
            }
        },
    }


def test_test_windows_are_chained_and_costs_scaled_alike() -> None:
    data = gather_evaluation(_document(), "eval")
    assert data.initial_equity == D(100)
    assert data.equity[-1].equity == D(99)  # 100 x 1.10 x 0.90
    assert [p.equity for p in data.baselines["buy-and-hold"]][-1] == D(105)
    assert sum(w.pnl for w in data.weeks) == D(-1)
    assert sum(w.fees for w in data.weeks) == D(1) + D(2) * D(110) / D(100)
    assert [(k.name, k.value, k.met) for k in data.kpis] == [("Sharpe", "0.500", False)]
    pooled = data.tables[0]
    assert pooled.columns == ("metric", "strategy", "buy-and-hold")
    assert ("win rate", "n/a", "n/a") in pooled.rows
    assert not data.fills and not data.convictions


def test_wrong_documents_are_refused() -> None:
    with pytest.raises(EvaluationUnusable, match=r"not a gridbot\.evaluation/1"):
        gather_evaluation({"schema": "other"}, "eval")
    with pytest.raises(EvaluationUnusable, match="no tested series"):
        gather_evaluation(_document(), "eval", series="spot/ETHUSDT")
    with pytest.raises(EvaluationUnusable, match="no fill model"):
        gather_evaluation(_document(), "eval", fill_model="pessimistic")


def test_a_sweep_draws_the_variant_chosen_for_each_window() -> None:
    document = _document()
    windows = [w for w in document["windows"] if w["run"] != "strategy"]
    for variant, finals in (("a", (110.0, 80.0)), ("b", (50.0, 120.0))):
        for index, final in enumerate(finals, start=1):
            windows.append({**_window("strategy", index, 100.0, final, "1"), "variant": variant})
    document["windows"] = windows
    document["choices"] = [
        {
            "series": "futures-um/BTCUSDT",
            "fill_model": "normal",
            "window_start": T0 + 7 * DAY,
            "chosen": "a",
        },
        {
            "series": "futures-um/BTCUSDT",
            "fill_model": "normal",
            "window_start": T0 + 14 * DAY,
            "chosen": "b",
        },
    ]
    data = gather_evaluation(document, "eval")
    assert data.strategy_name == "strategy[chosen]"
    assert data.equity[-1].equity == D(132)  # 100 x 1.10 (a) x 1.20 (b)
    assert list(data.baselines) == ["buy-and-hold"]
