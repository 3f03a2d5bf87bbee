"""The telemetry follower's resume logic against a scripted stub (no network, no sleeping).

Each test scripts what the bot answers to each status call and each stream, in order,
and checks which ``after_seq`` the follower asks for and which events it prints: none
lost, none twice, across drops, clean stream ends and bot restarts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from adapters.control_client.watch import Backoff, TelemetryFollower
from proto.gridbot.v1 import control_pb2 as pb

FAST = Backoff(initial=0.001, maximum=0.002)
METADATA = (("authorization", "Bearer t"),)


class RpcFailure(grpc.RpcError, grpc.Call):
    def __init__(self, code: grpc.StatusCode, details: str = "") -> None:
        self._code = code
        self._details = details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def initial_metadata(self) -> None:
        return None

    def trailing_metadata(self) -> None:
        return None

    def is_active(self) -> bool:
        return False

    def time_remaining(self) -> None:
        return None

    def cancel(self) -> bool:
        return False

    def add_callback(self, callback: object) -> bool:
        return False


UNAVAILABLE = RpcFailure(grpc.StatusCode.UNAVAILABLE)


class Stream:
    """A server stream: yields its items, raises the exceptions among them, can block."""

    def __init__(self, items: list[Any], block: bool = False) -> None:
        self.items = items
        self.block = block
        self.cancelled = threading.Event()

    def __iter__(self) -> Iterator[pb.TelemetryEvent]:
        for item in self.items:
            if self.cancelled.is_set():
                raise RpcFailure(grpc.StatusCode.CANCELLED)
            if isinstance(item, Exception):
                raise item
            yield item
        if self.block:
            self.cancelled.wait(5)
            raise RpcFailure(grpc.StatusCode.CANCELLED)

    def cancel(self) -> bool:
        self.cancelled.set()
        return True


class Stub:
    """Answers status calls and streams from scripts; records the requests."""

    def __init__(self, statuses: list[Any], streams: list[Stream]) -> None:
        self.statuses = list(statuses)
        self.streams = list(streams)
        self.requests: list[pb.StreamTelemetryRequest] = []
        self.opened: list[Stream] = []

    def GetStatus(self, request: pb.GetStatusRequest, metadata: Any, timeout: float) -> pb.Status:
        assert metadata == METADATA and timeout == 3
        answer = self.statuses.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def StreamTelemetry(self, request: pb.StreamTelemetryRequest, metadata: Any) -> Stream:
        assert metadata == METADATA
        self.requests.append(request)
        stream = self.streams.pop(0)
        self.opened.append(stream)
        return stream


def status(run_id: str, newest: int = 0) -> pb.Status:
    return pb.Status(run_id=run_id, telemetry_seq=newest)


def ev(seq: int, run_id: str = "A", kind: str = "candle") -> pb.TelemetryEvent:
    return pb.TelemetryEvent(seq=seq, kind=kind, event=kind, run_id=run_id, fields_json="{}")


def gap(seq: int, run_id: str = "A") -> pb.TelemetryEvent:
    return pb.TelemetryEvent(seq=seq, kind="gap", event="telemetry.gap", run_id=run_id)


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, int]] = []
        self.notices: list[str] = []

    def follower(self, stub: Stub, **kwargs: Any) -> TelemetryFollower:
        kwargs.setdefault("connect_timeout", 0)  # no retry of the first call unless asked
        return TelemetryFollower(
            stub,  # type: ignore[arg-type]
            METADATA,
            timeout=3,
            emit=lambda event: self.events.append((event.run_id, event.seq)),
            notice=self.notices.append,
            backoff=FAST,
            **kwargs,
        )


def test_a_dropped_stream_resumes_after_the_last_seq() -> None:
    stub = Stub(
        [status("A"), UNAVAILABLE, UNAVAILABLE, status("A")],
        [Stream([ev(1), ev(2), UNAVAILABLE]), Stream([ev(3), ev(4)], block=True)],
    )
    rec = Recorder()
    assert rec.follower(stub).follow(limit=4) == 4
    assert rec.events == [("A", 1), ("A", 2), ("A", 3), ("A", 4)]
    assert [r.after_seq for r in stub.requests] == [0, 2]
    # One notice per outage, however many attempts it takes.
    assert rec.notices == [
        "connection lost (UNAVAILABLE); reconnecting",
        "reconnected; resuming after seq 2",
    ]
    assert stub.opened[1].cancelled.is_set()  # the limit ends the open call


def test_kinds_and_the_resume_point_are_sent() -> None:
    stub = Stub([status("A")], [Stream([ev(8, kind="order")])])
    rec = Recorder()
    rec.follower(stub, after_seq=7, kinds=("order", "fill")).follow(limit=1)
    assert stub.requests[0].after_seq == 7
    assert list(stub.requests[0].kinds) == ["order", "fill"]


def test_a_clean_end_of_stream_is_a_reconnect() -> None:
    stub = Stub(
        [status("A"), status("A")],
        [Stream([ev(1), ev(2)]), Stream([ev(3)])],
    )
    rec = Recorder()
    rec.follower(stub).follow(limit=3)
    assert [seq for _, seq in rec.events] == [1, 2, 3]
    assert [r.after_seq for r in stub.requests] == [0, 2]
    assert rec.notices == [
        "the bot ended the stream (shutting down?); reconnecting",
        "reconnected; resuming after seq 2",
    ]


def test_a_restarted_bot_is_followed_from_its_first_event() -> None:
    stub = Stub(
        [status("A"), UNAVAILABLE, status("B")],
        [Stream([ev(1), ev(2), ev(3), UNAVAILABLE]), Stream([ev(1, "B"), ev(2, "B")])],
    )
    rec = Recorder()
    follower = rec.follower(stub)
    assert follower.follow(limit=5) == 5
    assert rec.events == [("A", 1), ("A", 2), ("A", 3), ("B", 1), ("B", 2)]
    assert [r.after_seq for r in stub.requests] == [0, 0]
    assert rec.notices[-1] == (
        "the bot restarted (run A -> B): following the new run from its oldest buffered event"
    )
    assert follower.run_id == "B" and follower.after_seq == 2


def test_a_restart_between_status_and_stream_reopens_from_zero() -> None:
    # The status still says A; the stream already comes from B and starts after seq 3,
    # so B's seqs 1..3 would be lost: the follower drops that event and asks B from 0.
    stub = Stub(
        [status("A"), UNAVAILABLE, status("A"), status("B")],
        [
            Stream([ev(1), ev(2), ev(3), UNAVAILABLE]),
            Stream([ev(4, "B"), ev(5, "B")]),
            Stream([ev(1, "B"), ev(2, "B"), ev(3, "B"), ev(4, "B")]),
        ],
    )
    rec = Recorder()
    rec.follower(stub).follow(limit=7)
    assert rec.events == [("A", 1), ("A", 2), ("A", 3)] + [("B", s) for s in (1, 2, 3, 4)]
    assert [r.after_seq for r in stub.requests] == [0, 3, 0]
    assert stub.opened[1].cancelled.is_set()
    assert any("run A -> B" in notice for notice in rec.notices)


def test_a_new_run_starting_at_seq_1_needs_no_reopen() -> None:
    stub = Stub(
        [status("A"), status("A")],
        [Stream([ev(1), ev(2)]), Stream([ev(1, "B"), ev(2, "B")])],
    )
    rec = Recorder()
    rec.follower(stub).follow(limit=4)
    assert rec.events == [("A", 1), ("A", 2), ("B", 1), ("B", 2)]
    assert len(stub.requests) == 2


def test_events_are_never_printed_twice() -> None:
    stub = Stub([status("A")], [Stream([ev(1), ev(2), ev(2), ev(1), ev(3)])])
    rec = Recorder()
    rec.follower(stub).follow(limit=3)
    assert [seq for _, seq in rec.events] == [1, 2, 3]


def test_gap_notices_pass_through_and_do_not_count() -> None:
    stub = Stub([status("A")], [Stream([gap(40), ev(41), ev(42)])])
    rec = Recorder()
    follower = rec.follower(stub)
    assert follower.follow(limit=2) == 2
    assert [seq for _, seq in rec.events] == [40, 41, 42]
    assert follower.after_seq == 42


def test_an_unreachable_bot_at_first_connect_is_an_error() -> None:
    stub = Stub([UNAVAILABLE], [])
    with pytest.raises(grpc.RpcError) as caught:
        Recorder().follower(stub).follow()
    assert caught.value is UNAVAILABLE


def test_a_bot_that_is_still_starting_is_waited_for() -> None:
    starting = RpcFailure(grpc.StatusCode.UNAVAILABLE, "the bot is starting\nsecond line")
    stub = Stub([starting, starting, status("A")], [Stream([ev(1)])])
    rec = Recorder()
    assert rec.follower(stub, connect_timeout=5).follow(limit=1) == 1
    assert rec.notices == [
        "the bot is not available (UNAVAILABLE: the bot is starting); retrying for up to 5 s"
    ]
    stub = Stub([starting, status("A", newest=1)], [Stream([ev(1)])])
    assert Recorder().follower(stub, connect_timeout=5).dump() == 1


def test_the_first_connect_gives_up_after_its_time() -> None:
    stub = Stub([UNAVAILABLE] * 100_000, [])
    started = time.monotonic()
    with pytest.raises(grpc.RpcError) as caught:
        Recorder().follower(stub, connect_timeout=0.05).follow()
    assert caught.value is UNAVAILABLE
    assert time.monotonic() - started < 2
    assert len(stub.statuses) < 100_000 - 2  # it did retry
    denied = RpcFailure(grpc.StatusCode.UNAUTHENTICATED)
    stub = Stub([denied, status("A")], [])
    with pytest.raises(grpc.RpcError) as caught:
        Recorder().follower(stub, connect_timeout=5).follow()
    assert caught.value is denied  # not retried: waiting cannot fix a wrong token


def test_stop_while_waiting_for_the_first_connect() -> None:
    stub = Stub([UNAVAILABLE] * 100_000, [])
    rec = Recorder()
    follower = rec.follower(stub, connect_timeout=60)
    thread = threading.Thread(target=follower.follow)
    thread.start()
    while not rec.notices:
        thread.join(0.01)
    follower.stop()
    thread.join(5)
    assert not thread.is_alive() and stub.requests == []


def test_errors_reconnecting_cannot_fix_end_the_watch() -> None:
    denied = RpcFailure(grpc.StatusCode.UNAUTHENTICATED)
    stub = Stub([status("A"), denied], [Stream([ev(1), UNAVAILABLE])])
    rec = Recorder()
    with pytest.raises(grpc.RpcError) as caught:
        rec.follower(stub).follow()
    assert caught.value is denied
    assert rec.events == [("A", 1)]
    invalid = RpcFailure(grpc.StatusCode.INVALID_ARGUMENT)
    with pytest.raises(grpc.RpcError):
        Recorder().follower(Stub([status("A")], [Stream([invalid])])).follow()


def test_stop_from_another_thread_ends_a_waiting_watch() -> None:
    stream = Stream([ev(1)], block=True)
    stub = Stub([status("A")], [stream])
    rec = Recorder()
    follower = rec.follower(stub)
    counted: list[int] = []
    thread = threading.Thread(target=lambda: counted.append(follower.follow()))
    thread.start()
    while not rec.events:
        thread.join(0.01)
    follower.stop()
    thread.join(5)
    assert not thread.is_alive()
    assert counted == [1] and stream.cancelled.is_set()


def test_stop_during_the_backoff_ends_the_watch() -> None:
    stub = Stub([status("A"), *([UNAVAILABLE] * 1000)], [Stream([ev(1), UNAVAILABLE])])
    rec = Recorder()
    follower = TelemetryFollower(
        stub,  # type: ignore[arg-type]
        METADATA,
        timeout=3,
        emit=lambda event: rec.events.append((event.run_id, event.seq)),
        notice=rec.notices.append,
        backoff=Backoff(initial=0.05, maximum=0.05),
    )
    thread = threading.Thread(target=follower.follow)
    thread.start()
    while not rec.notices:
        thread.join(0.01)
    follower.stop()
    thread.join(5)
    assert not thread.is_alive()
    assert len(stub.statuses) > 900  # it stopped retrying at once


def test_backoff_doubles_up_to_its_cap() -> None:
    backoff = Backoff(initial=0.25, maximum=2.0)
    delays = [backoff.initial]
    for _ in range(5):
        delays.append(backoff.next(delays[-1]))
    assert delays == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]


def test_dump_prints_what_is_buffered_now_and_returns() -> None:
    stream = Stream(
        [ev(3), ev(4, kind="order"), gap(9), ev(10, kind="order"), ev(11, kind="order")]
    )
    stub = Stub([status("A", newest=10)], [stream])
    rec = Recorder()
    count = rec.follower(stub, after_seq=2, kinds=("order",)).dump()
    assert count == 2
    assert [seq for _, seq in rec.events] == [4, 9, 10]  # the gap shows, seq 11 is "later"
    request = stub.requests[0]
    assert request.after_seq == 2 and list(request.kinds) == []  # filtered client-side
    assert stream.cancelled.is_set()


def test_dump_with_nothing_new_opens_no_stream() -> None:
    stub = Stub([status("A", newest=5)], [])
    assert Recorder().follower(stub, after_seq=5).dump() == 0
    assert stub.requests == []


def test_dump_respects_the_limit_and_stops_at_a_restart() -> None:
    stub = Stub([status("A", newest=10)], [Stream([ev(1), ev(2), ev(3)])])
    rec = Recorder()
    assert rec.follower(stub).dump(limit=2) == 2
    assert [seq for _, seq in rec.events] == [1, 2]
    stub = Stub([status("A", newest=10)], [Stream([ev(1), ev(2, "B")])])
    rec = Recorder()
    assert rec.follower(stub).dump() == 1
    assert rec.notices == ["the bot restarted while reading its telemetry"]


def test_dump_does_not_reconnect() -> None:
    stub = Stub([status("A", newest=10)], [Stream([ev(1), UNAVAILABLE])])
    rec = Recorder()
    with pytest.raises(grpc.RpcError):
        rec.follower(stub).dump()
    assert rec.events == [("A", 1)]
