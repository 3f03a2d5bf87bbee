"""The signal's weights over time, from the weekly updates' summaries.

Each weekly update (:meth:`~domain.signals.learning.WeightUpdate.summary`, journaled as its
JSON and logged as ``signals.update``) carries the system weights before and after; the
report draws them as steps: the weights before the first update from the start of the
period, then those each update kept, from its boundary on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from application.ports.report import WeightPoint


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
