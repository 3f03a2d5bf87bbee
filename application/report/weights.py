"""The signal's weights over time, from the weekly updates' summaries.

Each weekly update (:meth:`~domain.signals.learning.WeightUpdate.summary`, journaled as its
JSON and logged as ``signals.update``) carries the system weights before and after; the
report draws them as steps: the weights before the first update from the start of the
period, then those each update kept, from its boundary on. Beside them the report shows the
latest update's confidence calibration: its Brier score against the base rate's and its
reliability table (:func:`latest_calibration`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from application.ports.report import CalibrationReport, ReliabilityRow, WeightPoint


def weight_points(summaries: Iterable[Mapping[str, Any]], start: int) -> list[WeightPoint]:
    """The weights in use over time, oldest first (empty without updates).

    Args:
        summaries: The weekly updates' summaries, oldest first.
        start: When the period starts (Unix ms); the weights before the first update are
            placed there (or at the first boundary, if that is earlier).
    """
    points: list[WeightPoint] = []
    for summary in summaries:
        boundary = int(summary["boundary"])
        if not points:
            before = summary["system_weights_before"]
            points.append(WeightPoint(min(start, boundary), "start", _shares(before)))
        after = summary["system_weights_after"]
        points.append(WeightPoint(boundary, str(summary["source"]), _shares(after)))
    return points


def _shares(weights: Mapping[str, Any]) -> dict[str, float]:
    return {str(system): float(share) for system, share in weights.items()}


def latest_calibration(summaries: Iterable[Mapping[str, Any]]) -> CalibrationReport | None:
    """The calibration of the latest update that fitted one (None: no update did).

    An update's ``calibration`` is None when it was skipped; a summary journaled before the
    reliability table was added to it has none (its table is then empty).
    """
    latest: Mapping[str, Any] | None = None
    for summary in summaries:
        calibration = summary.get("calibration")
        if calibration:
            latest = {"boundary": summary["boundary"], **calibration}
    if latest is None:
        return None
    return CalibrationReport(
        fitted_at=int(latest.get("fitted_at", latest["boundary"])),
        method=str(latest["method"]),
        samples=int(latest["samples"]),
        base_rate=_float(latest.get("base_rate")),
        brier=_float(latest.get("brier")),
        brier_base_rate=_float(latest.get("brier_base_rate")),
        brier_previous=_float(latest.get("brier_previous_out_of_sample")),
        reliability=tuple(
            ReliabilityRow(
                float(b["low"]),
                float(b["high"]),
                int(b["count"]),
                _float(b.get("predicted")),
                _float(b.get("observed")),
            )
            for b in latest.get("reliability") or ()
        ),
    )


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
