"""Read a ``gridbot evaluate`` output directory's ``evaluation.json`` for a report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["EVALUATION_FILE", "EvaluationUnreadable", "read_evaluation"]

EVALUATION_FILE = "evaluation.json"


class EvaluationUnreadable(ValueError):
    """The directory holds no readable evaluation document."""


def read_evaluation(directory: Path) -> dict[str, Any]:
    """The parsed ``evaluation.json`` of ``directory`` (or the file itself, if given).

    Raises:
        EvaluationUnreadable: Missing, unreadable or not JSON.
    """
    path = directory / EVALUATION_FILE if directory.is_dir() else directory
    try:
        document = json.loads(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise EvaluationUnreadable(f"{directory}: no {EVALUATION_FILE} there") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EvaluationUnreadable(f"{path}: not a readable evaluation: {exc}") from exc
    if not isinstance(document, dict):
        raise EvaluationUnreadable(f"{path}: not an evaluation document")
    return document
