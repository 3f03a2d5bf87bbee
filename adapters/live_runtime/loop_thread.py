"""An asyncio event loop on its own thread: where the live shell's I/O runs.

The decision core is synchronous and runs on the main thread; the gRPC server, the
Binance HTTP client and its WebSockets live on this loop. :meth:`LoopThread.run` lets the
main thread call a coroutine and wait for its result.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    """Starts a loop on a daemon thread; :meth:`stop` ends it."""

    def __init__(self, name: str = "gridbot-io") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def spawn(self, coroutine: Coroutine[Any, Any, T]) -> Future[T]:
        """Schedule ``coroutine`` on the loop; returns a future for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = 60.0) -> T:
        """Run ``coroutine`` on the loop and wait for its result (from another thread)."""
        return self.spawn(coroutine).result(timeout)

    def stop(self) -> None:
        """Cancel what is left on the loop, stop it and join the thread."""
        if not self.loop.is_running():
            return

        async def cancel_all() -> None:
            current = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not current]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            self.run(cancel_all(), timeout=10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)
            if not self.loop.is_running():
                self.loop.close()
