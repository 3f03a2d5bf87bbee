"""The walk-forward evaluation use case: which windows to run, and what they add up to.

Tasks are laid out series by series, window by window (a worker decoding a series serves
its next windows from memory), handed to a :class:`~application.ports.task_runner.TaskRunner`
and their :class:`~application.evaluation.WindowResult` collected. Then, per fill model:

* every run (the configured strategy, each baseline) is summarised over its out-of-sample
  windows, per series and pooled, with the seed's KPIs;
* with a sweep, each parameter set is summarised too (labelled ``strategy[name]``), and the
  walk-forward choice ``strategy[chosen]`` takes, for each test window, the result of the
  set that did best on that series' *earlier* windows only
  (:func:`~application.walk_forward.choose`).
  Picking the best fixed set afterwards would be tuning on the data reported; the choice
  never does that.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from application.evaluation import WindowResult, kpi_verdicts, summarise
from application.ports.task_runner import TaskRunner
from application.walk_forward import Choice, Window, choose

T = TypeVar("T")

STRATEGY = "strategy"
CHOSEN = "chosen"


@dataclass(frozen=True, slots=True)
class TaskKey:
    """What a task runs: a window of a series, a run, a parameter set, a fill model."""

    series: str
    window: Window
    run: str
    variant: str
    fill_model: str


@dataclass
class EvaluationResult:
    """Every window result, the sweep's choices and the summaries."""

    results: list[WindowResult]
    choices: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)


def plan(
    series_windows: Mapping[str, Sequence[Window]],
    baselines: Sequence[str],
    variants: Sequence[str],
    fill_models: Sequence[str],
) -> list[TaskKey]:
    """The tasks, series by series and window by window.

    Window 0 (no past) is run only for a sweep, where it is the first training result;
    otherwise only test windows are run.
    """
    sweep = len(variants) > 1
    keys: list[TaskKey] = []
    for series, windows in series_windows.items():
        for window in windows:
            if not window.is_test and not sweep:
                continue
            for fill_model in fill_models:
                for variant in variants:
                    keys.append(TaskKey(series, window, STRATEGY, variant, fill_model))
                if window.is_test:
                    for baseline in baselines:
                        keys.append(TaskKey(series, window, baseline, "", fill_model))
    return keys


def label(result: WindowResult, sweep: bool) -> str:
    """How a result is listed: ``strategy``, a baseline, or ``strategy[variant]``."""
    if result.run == STRATEGY and sweep:
        return f"{STRATEGY}[{result.variant}]"
    return result.run


def chosen_results(
    results: Sequence[WindowResult], variants: Sequence[str]
) -> tuple[list[WindowResult], list[Choice], list[dict[str, Any]]]:
    """For every test window, the result of the variant chosen on that series' past windows."""
    table: dict[tuple[str, str], dict[str, dict[int, tuple[int, float]]]] = {}
    by_key: dict[tuple[str, str, str, int], WindowResult] = {}
    for r in results:
        if r.run != STRATEGY:
            continue
        table.setdefault((r.series, r.fill_model), {}).setdefault(r.variant, {})[r.start] = (
            r.end,
            r.total_return,
        )
        by_key[(r.series, r.fill_model, r.variant, r.start)] = r
    picked: list[WindowResult] = []
    choices: list[Choice] = []
    rows: list[dict[str, Any]] = []
    for r in results:
        if r.run != STRATEGY or not r.is_test or r.variant != variants[0]:
            continue
        choice = choose(table[(r.series, r.fill_model)], r.start, variants)
        chosen = by_key[(r.series, r.fill_model, choice.chosen, r.start)]
        picked.append(chosen)
        choices.append(choice)
        rows.append(
            {
                "series": r.series,
                "fill_model": r.fill_model,
                "window_start": r.start,
                "window_end": r.end,
                "chosen": choice.chosen,
                "training_windows": choice.training_windows,
                "training_return": choice.training_score,
                "test_return": chosen.total_return,
            }
        )
    return picked, choices, rows


def summaries(results: Sequence[WindowResult]) -> dict[str, Any]:
    """Pooled and per-series figures of out-of-sample results, with the KPI verdicts."""
    tests = [r for r in results if r.is_test]
    pooled = summarise(tests)
    per_series: dict[str, Any] = {}
    for key in sorted({r.series for r in tests}):
        series_summary = summarise([r for r in tests if r.series == key])
        per_series[key] = {**series_summary, "kpis": kpi_verdicts(series_summary)}
    return {"pooled": pooled, "kpis": kpi_verdicts(pooled), "series": per_series}


def evaluate(
    keys: Sequence[TaskKey],
    make_task: Callable[[TaskKey], T],
    run_task: Callable[[T], WindowResult],
    runner: TaskRunner,
    variants: Sequence[str],
    on_done: Callable[[int], None] | None = None,
) -> EvaluationResult:
    """Run every task and summarise.

    Args:
        keys: The plan (:func:`plan`).
        make_task: Builds the picklable task of a key.
        run_task: Runs one task (a module-level function, so it pickles by name).
        runner: Where the tasks run.
        variants: Parameter set names in sweep order (one name without a sweep).
        on_done: Progress callback (tasks done so far).
    """
    results = runner.map(run_task, [make_task(k) for k in keys], on_done)
    sweep = len(variants) > 1
    outcome = EvaluationResult(results)
    for fill_model in sorted({r.fill_model for r in results}):
        of_model = [r for r in results if r.fill_model == fill_model]
        groups: dict[str, list[WindowResult]] = {}
        for r in of_model:
            groups.setdefault(label(r, sweep), []).append(r)
        block = {name: summaries(rs) for name, rs in groups.items()}
        if sweep:
            picked, _, rows = chosen_results(of_model, variants)
            block[f"{STRATEGY}[{CHOSEN}]"] = summaries(picked)
            outcome.choices.extend(rows)
        outcome.summary[fill_model] = block
    return outcome
