"""Following the bot's telemetry across dropped connections and bot restarts.

The bot numbers its telemetry events (``seq``, strictly increasing within one process,
identified by ``run_id``) and keeps the recent ones, so a client that loses the stream
asks again with ``after_seq`` = the last number it saw and gets exactly what it missed:
no event lost, none twice. The follower relies on that:

* On ``UNAVAILABLE`` (the connection dropped, the bot is restarting) or a clean end of
  the stream (the bot is shutting down) it waits with exponential backoff, asks for the
  status again and reopens the stream after the last seq it printed.
* A restarted bot is a new process with a new ``run_id`` whose numbering starts again at
  1, so a seq from the old run means nothing to it. Each reconnect first reads the status:
  when its ``run_id`` differs from the one being followed, ``after_seq`` is reset to 0 and
  the new run is followed from its oldest buffered event. Should the bot restart between
  that status call and the stream (the first event then carries yet another ``run_id``
  and does not start the run's history), the stream is reopened from 0 for that run.
* A ``gap`` event (the bot no longer buffers some of the events asked for) is passed on
  like any other, so the operator sees that history is missing instead of a silent hole.
* The very first connection is retried only for ``connect_timeout`` (the bot may still be
  reconciling, which it answers with UNAVAILABLE); a bot never reached is reported as an
  error rather than waited for forever, since it is more likely a wrong address.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import grpc

from proto.gridbot.v1 import control_pb2 as pb
from proto.gridbot.v1 import control_pb2_grpc as pb_grpc

GAP_KIND = "gap"
#: Failures after which reconnecting can help: the bot is gone for now, or busy starting.
RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


class _Outcome(enum.Enum):
    """How one telemetry stream ended."""

    LIMIT = "limit"  # enough events
    REOPEN = "reopen"  # a restart was detected mid-stream: ask the new run from 0
    ENDED = "ended"  # the server ended it, or stop() cancelled it


@dataclass(frozen=True)
class Backoff:
    """Exponential reconnect delays (seconds): ``initial``, doubled, capped at ``maximum``."""

    initial: float = 0.25
    maximum: float = 2.0
    factor: float = 2.0

    def next(self, delay: float) -> float:
        """The delay after ``delay``."""
        return min(self.maximum, delay * self.factor)


def _code(error: grpc.RpcError) -> grpc.StatusCode | None:
    return error.code() if isinstance(error, grpc.Call) else None


def _describe(error: grpc.RpcError) -> str:
    code = _code(error)
    if code is None:
        return type(error).__name__
    details = error.details() if isinstance(error, grpc.Call) else None
    first = (details or "").strip().splitlines()[:1]
    return f"{code.name}: {first[0]}" if first else code.name


class TelemetryFollower:
    """Prints (through ``emit``) every telemetry event of the bot, reconnecting as needed.

    Args:
        stub: A ControlService stub; its channel may outlive several bot processes.
        metadata: Call metadata (the bearer token).
        timeout: Seconds for each status call (the stream itself has no deadline).
        emit: Called with each event, in seq order, gap notices included.
        notice: Called with one-line messages about reconnects and restarts.
        after_seq: Resume point within the run the bot is in at the first connect.
        kinds: Only these kinds (gap notices always arrive); empty = all.
        backoff: Reconnect delays.
        connect_timeout: How long the first status call is retried while the bot is
            unavailable (default ``timeout``).
    """

    def __init__(
        self,
        stub: pb_grpc.ControlServiceStub,
        metadata: Sequence[tuple[str, str]],
        *,
        timeout: float,
        emit: Callable[[pb.TelemetryEvent], None],
        notice: Callable[[str], None],
        after_seq: int = 0,
        kinds: Sequence[str] = (),
        backoff: Backoff | None = None,
        connect_timeout: float | None = None,
    ) -> None:
        self._stub = stub
        self._metadata = tuple(metadata)
        self._timeout = timeout
        self._emit = emit
        self._notice = notice
        self._kinds = tuple(kinds)
        self._backoff = backoff or Backoff()
        self._connect_timeout = timeout if connect_timeout is None else connect_timeout
        #: Events emitted so far (gap notices not counted).
        self.emitted = 0
        self._progress = False
        self.after_seq = after_seq
        self.run_id: str | None = None
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._call: grpc.Call | None = None

    def stop(self) -> None:
        """End :meth:`follow` / :meth:`dump` from another thread (the open call is cancelled)."""
        self._stopped.set()
        with self._lock:
            if self._call is not None:
                self._call.cancel()

    def _open(self, after_seq: int, kinds: Sequence[str]) -> grpc.Call | None:
        call = self._stub.StreamTelemetry(
            pb.StreamTelemetryRequest(after_seq=after_seq, kinds=list(kinds)),
            metadata=self._metadata,
        )
        with self._lock:
            self._call = call
        if self._stopped.is_set():
            call.cancel()
            return None
        return call

    def _status(self) -> pb.Status:
        return self._stub.GetStatus(
            pb.GetStatusRequest(), metadata=self._metadata, timeout=self._timeout
        )

    def _adopt_run(self, run_id: str) -> None:
        if self.run_id is not None and run_id != self.run_id:
            self._notice(
                f"the bot restarted (run {self.run_id} -> {run_id}): following the new run "
                "from its oldest buffered event"
            )
            self.after_seq = 0
        self.run_id = run_id

    def _connect(self) -> pb.Status | None:
        """The first status, retried while the bot is unavailable, for ``connect_timeout``.

        A bot that is starting (still reconciling) answers UNAVAILABLE for a moment, so
        the first call is retried; but only for a bounded time, because a bot that stays
        unreachable is more likely a wrong address than a restart and deserves an error.

        Returns:
            The status, or None when :meth:`stop` was called meanwhile.

        Raises:
            grpc.RpcError: Not retryable, or still failing when the time is up.
        """
        deadline = time.monotonic() + self._connect_timeout
        delay = self._backoff.initial
        waiting = False
        while True:
            try:
                return self._status()
            except grpc.RpcError as error:
                if self._stopped.is_set():
                    return None
                if _code(error) not in RETRYABLE or time.monotonic() + delay > deadline:
                    raise
                if not waiting:
                    self._notice(
                        f"the bot is not available ({_describe(error)}); retrying for up to "
                        f"{self._connect_timeout:g} s"
                    )
                    waiting = True
            if self._stopped.wait(delay):
                return None
            delay = self._backoff.next(delay)

    def _stream(self, limit: int | None) -> _Outcome:
        """Emit events from one stream after ``after_seq`` until it ends or ``limit``."""
        call = self._open(self.after_seq, self._kinds)
        if call is None:
            return _Outcome.ENDED
        for event in call:
            if event.run_id != self.run_id:
                # The bot restarted between the status call and this stream: a stream
                # asked from a seq of the old run may have skipped the new run's first
                # events, unless this one is the first.
                reopen = self.after_seq > 0 and event.seq > 1
                self._adopt_run(event.run_id)
                if reopen:
                    call.cancel()
                    return _Outcome.REOPEN
            if event.seq <= self.after_seq:
                continue  # never print an event twice
            self.after_seq = event.seq
            self._progress = True
            self._emit(event)
            if event.kind != GAP_KIND:
                self.emitted += 1
                if limit is not None and self.emitted >= limit:
                    call.cancel()
                    return _Outcome.LIMIT
        return _Outcome.ENDED

    def follow(self, limit: int | None = None) -> int:
        """Stream until ``limit`` events (gap notices not counted) or :meth:`stop`.

        Returns:
            How many events were emitted (gap notices not counted).

        Raises:
            grpc.RpcError: The first connect failed (see :meth:`_connect`), or a failure
                reconnecting cannot fix (e.g. UNAUTHENTICATED after the bot restarted
                with another token).
        """
        pending = self._connect()
        if pending is None:
            return self.emitted
        self.run_id = pending.run_id
        delay = self._backoff.initial
        outage = False
        while not self._stopped.is_set():
            try:
                status = pending if pending is not None else self._status()
                pending = None
                if outage and status.run_id == self.run_id:
                    self._notice(f"reconnected; resuming after seq {self.after_seq}")
                self._adopt_run(status.run_id)
                outage = False
                outcome = self._stream(limit)
                if outcome is _Outcome.LIMIT:
                    return self.emitted
                if outcome is _Outcome.REOPEN:
                    continue
                if self._stopped.is_set():
                    break
                self._notice("the bot ended the stream (shutting down?); reconnecting")
                outage = True
            except grpc.RpcError as error:
                if self._stopped.is_set():
                    break
                if _code(error) not in RETRYABLE:
                    raise
                if not outage:
                    self._notice(f"connection lost ({_describe(error)}); reconnecting")
                    outage = True
            if self._progress:  # events came through: this is a new outage, start small
                delay = self._backoff.initial
                self._progress = False
            if self._stopped.wait(delay):
                break
            delay = self._backoff.next(delay)
        return self.emitted

    def dump(self, limit: int | None = None) -> int:
        """Emit the buffered events after ``after_seq`` up to the newest one now, then return.

        The stream is read unfiltered and filtered here: only then does the client see
        every seq and know when it has passed the newest event of the moment (a filtered
        stream would leave it waiting for the next matching event). No reconnect: a
        snapshot that spans two bot processes would not mean anything.

        Returns:
            How many events were emitted (gap notices not counted).

        Raises:
            grpc.RpcError: The bot cannot be reached or refuses the call.
        """
        status = self._connect()
        if status is None:
            return 0
        self.run_id = status.run_id
        newest = status.telemetry_seq
        if newest <= self.after_seq:
            return 0
        call = self._open(self.after_seq, ())
        if call is None:
            return 0
        count = 0
        try:
            for event in call:
                if event.run_id != self.run_id:
                    self._notice("the bot restarted while reading its telemetry")
                    break
                if event.seq <= self.after_seq:
                    continue
                self.after_seq = event.seq
                if event.kind == GAP_KIND or not self._kinds or event.kind in self._kinds:
                    self._emit(event)
                    if event.kind != GAP_KIND:
                        count += 1
                if event.seq >= newest or (limit is not None and count >= limit):
                    break
        except grpc.RpcError:
            if not self._stopped.is_set():
                raise
        finally:
            call.cancel()
        return count
