"""Signal-weight journal port: the history of weekly weight and calibration updates.

Every weekly re-examination is appended (accepted or not), so the journal shows how the
weights moved, why, and how the calibration scored; a restart reads the latest entry to
continue where the bot left off instead of learning again from nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class WeightUpdateEntry:
    """One weekly update as stored.

    Attributes:
        boundary: The weekly boundary (ms) the update was made at.
        source: Where the weights in use came from (``refit``, ``current``, ``heuristic``,
            ``skipped``).
        changed: Whether the weights in use changed.
        weights: The weights in use from the boundary on (JSON of ``SignalWeights``).
        calibration: The confidence calibration in use from the boundary on (JSON), or
            None when there is none.
        summary: Before / after system weights and validation scores (JSON).
    """

    boundary: int
    source: str
    changed: bool
    weights: str
    calibration: str | None
    summary: str


class SignalWeightJournal(Protocol):
    """Appends and reads the weekly updates of one bot."""

    def add_weight_update(self, entry: WeightUpdateEntry) -> None:
        """Append one update (committed before returning)."""
        ...

    def weight_updates(self) -> list[WeightUpdateEntry]:
        """Every update, oldest first."""
        ...
