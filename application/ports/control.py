"""Control port: what an operator-facing adapter (the gRPC service) may ask of the bot.

Asynchronous because its callers live on an event loop; the live shell implements it by
handing each command to the engine's thread and awaiting the answer, so a command never
runs concurrently with a candle or a fill.
"""

from __future__ import annotations

from typing import Protocol

from application.live_engine import BotState, CommandResult, StatusView
from application.session import FlattenReport
from application.telemetry import TelemetryHub


class ControlUnavailable(RuntimeError):
    """The bot cannot take commands right now (still reconciling, or stopping)."""


class ControlPlane(Protocol):
    """Operator commands, status, configuration and telemetry of one running bot."""

    async def start(self) -> CommandResult:
        """Begin trading (from STANDBY or FLATTENED)."""
        ...

    async def stop(self, flatten: bool | None) -> CommandResult:
        """Graceful stop; ``flatten`` None = the configured default."""
        ...

    async def pause(self) -> CommandResult:
        """No new decisions until resumed."""
        ...

    async def resume(self) -> CommandResult:
        """Lift a pause."""
        ...

    async def flatten(self) -> tuple[BotState, FlattenReport]:
        """Cancel all our orders and close the position; the state afterwards."""
        ...

    async def status(self) -> StatusView:
        """A consistent status snapshot."""
        ...

    def config_json(self) -> str:
        """The effective configuration as JSON, without secrets."""
        ...

    @property
    def telemetry(self) -> TelemetryHub:
        """The numbered event history clients follow."""
        ...
