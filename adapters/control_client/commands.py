"""One function per ``gridctl`` command: call the bot, print the answer, pick the exit code.

A command that asks for a state (start, pause, resume, stop) succeeds when the bot ends
up in that state, whether or not this call changed it: scripts can repeat a command
safely. A reply in any other state is a refusal (exit 1), printed with the bot's reason.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from adapters.control_client.channel import auth_metadata
from adapters.control_client.errors import EXIT_OK, EXIT_REFUSED, EXIT_RPC_ERROR, CliError, Refused
from adapters.control_client.prompt import FLATTEN_QUESTION, confirm
from adapters.control_client.render import (
    dumps,
    event_dict,
    message_dict,
    render_command_reply,
    render_config,
    render_event,
    render_flatten_reply,
    render_status,
)
from adapters.control_client.settings import ClientSettings
from adapters.control_client.watch import TelemetryFollower
from proto.gridbot.v1 import control_pb2 as pb
from proto.gridbot.v1 import control_pb2_grpc as pb_grpc

#: States in which each state-changing command counts as done.
TARGET_STATES: dict[str, frozenset[str]] = {
    "start": frozenset({"RUNNING"}),
    "pause": frozenset({"PAUSED"}),
    "resume": frozenset({"RUNNING"}),
    "stop": frozenset({"STOPPING", "STOPPED"}),
}


@dataclass
class Context:
    """What every command needs: settings, the open channel and the terminal streams."""

    settings: ClientSettings
    channel: grpc.Channel
    stdin: TextIO
    stdout: TextIO
    stderr: TextIO

    @property
    def stub(self) -> pb_grpc.ControlServiceStub:
        """The ControlService client on the channel."""
        return pb_grpc.ControlServiceStub(self.channel)

    @property
    def timeout(self) -> float:
        """Seconds each unary call may take."""
        return self.settings.timeout

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        """The bearer token entry."""
        return auth_metadata(self.settings.token)

    def out(self, text: str) -> None:
        """One block of output on stdout."""
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def note(self, text: str) -> None:
        """One ``gridctl:`` line on stderr (never mixed into --json output)."""
        self.stderr.write(f"gridctl: {text}\n")
        self.stderr.flush()

    def show(self, data: dict[str, Any], human: str) -> None:
        """Print ``data`` as one JSON object with --json, else the human rendering."""
        self.out(dumps(data) if self.settings.json else human)


Command = Callable[[Context, argparse.Namespace], int]


def _state_reply(ctx: Context, name: str, reply: pb.CommandReply) -> int:
    """Print a state command's reply; done when the bot is in the state asked for."""
    ctx.show(message_dict(reply), render_command_reply(reply))
    if reply.changed or reply.state in TARGET_STATES[name]:
        return EXIT_OK
    raise Refused(f"{name} refused in state {reply.state}: {reply.message or 'no reason'}")


def cmd_start(ctx: Context, args: argparse.Namespace) -> int:
    """``gridctl start``: trade from STANDBY or FLATTENED (the grid is built anew)."""
    reply = ctx.stub.Start(pb.StartRequest(), metadata=ctx.metadata, timeout=ctx.timeout)
    return _state_reply(ctx, "start", reply)


def cmd_pause(ctx: Context, args: argparse.Namespace) -> int:
    """``gridctl pause``: no new decisions; open orders stay and fills are recorded."""
    reply = ctx.stub.Pause(pb.PauseRequest(), metadata=ctx.metadata, timeout=ctx.timeout)
    return _state_reply(ctx, "pause", reply)


#: How the bot answers a resume that a HALTED drawdown brake refuses.
HALTED_REPLY = "HALTED"


def cmd_resume(ctx: Context, args: argparse.Namespace) -> int:
    """``gridctl resume``: lift a pause; ``--ack`` also lifts the drawdown brake's HALTED.

    Without ``--ack`` a halted bot stays halted and the command fails (exit 3), even
    though the bot's state may read RUNNING: the brake, not the state, keeps it out.
    """
    request = pb.ResumeRequest(acknowledge_halt=bool(args.ack))
    reply = ctx.stub.Resume(request, metadata=ctx.metadata, timeout=ctx.timeout)
    if not reply.changed and reply.message.startswith(HALTED_REPLY):
        ctx.show(message_dict(reply), render_command_reply(reply))
        raise Refused(f"resume refused: {reply.message}")
    return _state_reply(ctx, "resume", reply)


def cmd_stop(ctx: Context, args: argparse.Namespace) -> int:
    """``gridctl stop``: the bot stops (flattening as asked, else as configured) and exits."""
    request = pb.StopRequest() if args.flatten is None else pb.StopRequest(flatten=args.flatten)
    reply = ctx.stub.Stop(request, metadata=ctx.metadata, timeout=ctx.timeout)
    return _state_reply(ctx, "stop", reply)


def cmd_flatten(ctx: Context, args: argparse.Namespace) -> int:
    """``gridctl flatten``: after confirmation, cancel all orders and close the position."""
    if not args.yes and not confirm(FLATTEN_QUESTION, ctx.stdin, ctx.stderr):
        raise CliError("flatten cancelled: nothing was sent", EXIT_REFUSED)
    reply = ctx.stub.Flatten(pb.FlattenRequest(), metadata=ctx.metadata, timeout=ctx.timeout)
    ctx.show(message_dict(reply), render_flatten_reply(reply))
    if not reply.flat:
        still = ", ".join(reply.still_open) or "none listed"
        raise Refused(f"NOT FLAT: exchange position {reply.exchange_position}, still open: {still}")
    return EXIT_OK


def cmd_status(ctx: Context, args: argparse.Namespace) -> int:
    """``gridctl status``."""
    status = ctx.stub.GetStatus(pb.GetStatusRequest(), metadata=ctx.metadata, timeout=ctx.timeout)
    ctx.show(message_dict(status), render_status(status))
    return EXIT_OK


def cmd_config(ctx: Context, args: argparse.Namespace) -> int:
    """``gridctl config``: the effective configuration (the object itself with --json)."""
    reply = ctx.stub.GetConfig(pb.GetConfigRequest(), metadata=ctx.metadata, timeout=ctx.timeout)
    try:
        config = json.loads(reply.config_json)
    except json.JSONDecodeError as exc:
        message = f"the bot sent a configuration that is not JSON: {exc}"
        raise CliError(message, EXIT_RPC_ERROR) from exc
    if not isinstance(config, dict):
        raise CliError("the bot sent a configuration that is not a JSON object", EXIT_RPC_ERROR)
    ctx.show(config, render_config(config))
    return EXIT_OK


def cmd_watch(ctx: Context, args: argparse.Namespace) -> int:
    """``gridctl watch``: follow telemetry until --limit, or print the backlog with --once."""

    def emit(event: pb.TelemetryEvent) -> None:
        ctx.out(dumps(event_dict(event)) if ctx.settings.json else render_event(event))

    follower = TelemetryFollower(
        ctx.stub,
        ctx.metadata,
        timeout=ctx.settings.timeout,
        emit=emit,
        notice=ctx.note,
        after_seq=args.after_seq,
        kinds=args.kinds,
    )
    try:
        if args.once:
            follower.dump(args.limit)
        else:
            follower.follow(args.limit)
    finally:
        follower.stop()
    return EXIT_OK


def cmd_health(ctx: Context, args: argparse.Namespace) -> int:
    """``gridctl health``: grpc.health.v1 Check, no token; exit 0 only when SERVING."""
    stub = health_pb2_grpc.HealthStub(ctx.channel)
    reply = stub.Check(health_pb2.HealthCheckRequest(service=args.service), timeout=ctx.timeout)
    name = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    ctx.show({"service": args.service, "status": name}, name)
    return EXIT_OK if reply.status == health_pb2.HealthCheckResponse.SERVING else EXIT_REFUSED


COMMANDS: dict[str, Command] = {
    "start": cmd_start,
    "stop": cmd_stop,
    "pause": cmd_pause,
    "resume": cmd_resume,
    "flatten": cmd_flatten,
    "status": cmd_status,
    "watch": cmd_watch,
    "config": cmd_config,
    "health": cmd_health,
}
