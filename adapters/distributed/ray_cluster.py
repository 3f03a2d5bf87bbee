"""Tasks on a Ray cluster (the optional ``distributed`` extra): the same tasks, more machines.

``address`` is what ``ray.init`` takes: ``auto`` (a cluster this machine joined), a
``ray://host:10001`` client address, or ``local`` (a fresh single-machine instance, as the
tests use). Every node must see the data files at the same paths; the code is shipped
with the tasks when the cluster is remote.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: The project's packages, shipped to a remote cluster's workers.
_PACKAGES = ("domain", "application", "adapters", "bootstrap", "proto")


class RayUnavailable(RuntimeError):
    """Ray is not installed (``pip install 'gridbot[distributed]'``)."""


class RayTaskRunner:
    """Runs each task as a Ray task; results come back in task order.

    Args:
        address: Cluster address for ``ray.init``.
        num_cpus: CPUs of a ``local`` instance (None: all of this machine's).
    """

    def __init__(self, address: str, num_cpus: int | None = None) -> None:
        try:
            import ray
        except ImportError as exc:
            raise RayUnavailable(
                "--ray needs the ray package: pip install 'gridbot[distributed]'"
            ) from exc
        self._ray = ray
        self._owns = not ray.is_initialized()
        if self._owns:
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if address == "local":
                kwargs["num_cpus"] = num_cpus
            else:
                kwargs["address"] = address
                root = Path(__file__).resolve().parents[2]
                kwargs["runtime_env"] = {
                    "py_modules": [str(root / name) for name in _PACKAGES if (root / name).is_dir()]
                }
            ray.init(**kwargs)
        self.workers = int(ray.cluster_resources().get("CPU", 1))

    def map(
        self,
        fn: Callable[[T], R],
        tasks: Sequence[T],
        on_done: Callable[[int], None] | None = None,
    ) -> list[R]:
        """Submit every task, collect as they finish, results in task order."""
        ray = self._ray
        remote = ray.remote(fn)
        refs = [remote.remote(task) for task in tasks]
        index = {ref: i for i, ref in enumerate(refs)}
        results: list[Any] = [None] * len(refs)
        pending = list(refs)
        done_count = 0
        while pending:
            ready, pending = ray.wait(pending, num_returns=len(pending), timeout=0.5)
            for ref in ready:
                results[index[ref]] = ray.get(ref)
            done_count += len(ready)
            if ready and on_done is not None:
                on_done(done_count)
        return results

    def close(self) -> None:
        """Disconnect (and stop a local instance this runner started)."""
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()
