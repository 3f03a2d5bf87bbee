"""``gridbot.v1.ControlService`` on top of the application's :class:`ControlPlane` port."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import grpc
from grpc import aio

from adapters.control_api.messages import (
    command_reply,
    flatten_reply,
    gap_event,
    status_message,
    telemetry_event,
)
from application.ports.control import KINDS, ControlPlane, ControlUnavailable
from application.ports.exchange import ExchangeUnavailable
from proto.gridbot.v1 import control_pb2 as pb
from proto.gridbot.v1 import control_pb2_grpc as pb_grpc

#: Records read from the hub per wake-up of a telemetry stream.
_BATCH = 500


async def _unavailable(
    context: aio.ServicerContext, exc: ControlUnavailable | ExchangeUnavailable
) -> None:
    await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))


class ControlServicer(pb_grpc.ControlServiceServicer):
    """Maps each RPC onto the control port.

    Args:
        plane: The running bot's control port.
        run_id: Identifies this bot process in telemetry events.
        closing: Set when the server shuts down; open telemetry streams then end.
    """

    def __init__(self, plane: ControlPlane, run_id: str, closing: asyncio.Event) -> None:
        self._plane = plane
        self._run_id = run_id
        self._closing = closing

    async def Start(
        self, request: pb.StartRequest, context: aio.ServicerContext
    ) -> pb.CommandReply:
        """Begin trading."""
        try:
            return command_reply(await self._plane.start())
        except (ControlUnavailable, ExchangeUnavailable) as exc:
            await _unavailable(context, exc)
            raise

    async def Stop(self, request: pb.StopRequest, context: aio.ServicerContext) -> pb.CommandReply:
        """Graceful stop (flattening when asked or configured)."""
        flatten = request.flatten if request.HasField("flatten") else None
        try:
            return command_reply(await self._plane.stop(flatten))
        except (ControlUnavailable, ExchangeUnavailable) as exc:
            await _unavailable(context, exc)
            raise

    async def Pause(
        self, request: pb.PauseRequest, context: aio.ServicerContext
    ) -> pb.CommandReply:
        """No new decisions."""
        try:
            return command_reply(await self._plane.pause())
        except (ControlUnavailable, ExchangeUnavailable) as exc:
            await _unavailable(context, exc)
            raise

    async def Resume(
        self, request: pb.ResumeRequest, context: aio.ServicerContext
    ) -> pb.CommandReply:
        """Lift a pause; ``acknowledge_halt`` also lifts the drawdown brake's HALTED."""
        try:
            if request.acknowledge_halt:
                return command_reply(await self._plane.resume(acknowledge_halt=True))
            return command_reply(await self._plane.resume())
        except (ControlUnavailable, ExchangeUnavailable) as exc:
            await _unavailable(context, exc)
            raise

    async def Flatten(
        self, request: pb.FlattenRequest, context: aio.ServicerContext
    ) -> pb.FlattenReply:
        """Cancel our orders and close the position."""
        try:
            state, report = await self._plane.flatten()
        except (ControlUnavailable, ExchangeUnavailable) as exc:
            await _unavailable(context, exc)
            raise
        return flatten_reply(state, report)

    async def GetStatus(
        self, request: pb.GetStatusRequest, context: aio.ServicerContext
    ) -> pb.Status:
        """The status snapshot."""
        try:
            view = await self._plane.status()
        except (ControlUnavailable, ExchangeUnavailable) as exc:
            await _unavailable(context, exc)
            raise
        return status_message(view, self._plane.telemetry.latest_seq)

    async def GetConfig(
        self, request: pb.GetConfigRequest, context: aio.ServicerContext
    ) -> pb.ConfigReply:
        """The effective configuration."""
        return pb.ConfigReply(config_json=self._plane.config_json())

    async def StreamTelemetry(
        self, request: pb.StreamTelemetryRequest, context: aio.ServicerContext
    ) -> AsyncIterator[pb.TelemetryEvent]:
        """Everything after ``after_seq``, then live events until the client or server leaves."""
        unknown = sorted(set(request.kinds) - KINDS)
        if unknown:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"unknown telemetry kinds {unknown}; known: {sorted(KINDS)}",
            )
        kinds = frozenset(request.kinds)
        hub = self._plane.telemetry
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()

        def listener() -> None:
            # The loop may close while the engine still publishes: nothing left to wake.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)

        hub.add_listener(listener)
        closing = asyncio.ensure_future(self._closing.wait())
        waiter: asyncio.Future[bool] | None = None
        after = request.after_seq
        try:
            while True:
                wake.clear()
                records, missing = hub.since(after, _BATCH)
                if missing and after:  # from 0 means "the oldest still buffered"
                    yield gap_event(after + 1, missing, records[0].time_ms, self._run_id)
                for record in records:
                    after = record.seq
                    if not kinds or record.kind in kinds:
                        yield telemetry_event(record, self._run_id)
                if records:
                    continue
                if self._closing.is_set():
                    return
                waiter = asyncio.ensure_future(wake.wait())
                await asyncio.wait({waiter, closing}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
        finally:
            closing.cancel()
            if waiter is not None:
                waiter.cancel()
            hub.remove_listener(listener)
