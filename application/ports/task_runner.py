"""Task-runner port: run independent tasks somewhere (local processes, a cluster) and report each.

The evaluation's windows are independent, so where they run is a deployment choice: the
application hands over a picklable function and its tasks and gets the results back in the
same order, with a callback as each finishes (for a progress bar).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class TaskRunner(Protocol):
    """Runs ``fn`` over ``tasks`` in parallel."""

    def map(
        self,
        fn: Callable[[T], R],
        tasks: Sequence[T],
        on_done: Callable[[int], None] | None = None,
    ) -> list[R]:
        """Results in task order; ``on_done(n)`` after each of the ``n`` tasks done so far.

        Raises:
            Exception: The first task failure, re-raised in the caller.
        """
        ...

    def close(self) -> None:
        """Release the workers."""
        ...
