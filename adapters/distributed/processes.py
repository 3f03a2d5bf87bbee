"""Tasks on this machine's cores: a process pool from the standard library."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class ProcessTaskRunner:
    """A pool of worker processes; tasks are dispatched in the order given.

    Order matters to the caller: a worker keeps the last series it decoded, so tasks of one
    series given together are served from that cache.

    Args:
        workers: Worker processes (default: the machine's CPU count). 1 runs the tasks in
            this process, which profiles and debugs like a plain loop.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)
        self._pool: ProcessPoolExecutor | None = None

    def map(
        self,
        fn: Callable[[T], R],
        tasks: Sequence[T],
        on_done: Callable[[int], None] | None = None,
    ) -> list[R]:
        """Run ``fn`` over ``tasks``; results in task order."""
        if self.workers == 1:
            results = []
            for n, task in enumerate(tasks, 1):
                results.append(fn(task))
                if on_done is not None:
                    on_done(n)
            return results
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.workers)
        futures: list[Future[Any]] = [self._pool.submit(fn, task) for task in tasks]
        done_count = 0
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, timeout=0.5, return_when=FIRST_EXCEPTION)
                for future in done:
                    future.result()  # raises the task's exception here
                done_count += len(done)
                if done and on_done is not None:
                    on_done(done_count)
        except BaseException:
            for future in pending:
                future.cancel()
            raise
        return [f.result() for f in futures]

    def close(self) -> None:
        """Shut the pool down (waits for running tasks)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
