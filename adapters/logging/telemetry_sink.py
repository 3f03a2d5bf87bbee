"""Feeds the telemetry hub from the event sink, with the log's redaction rules.

Telemetry leaves the process (gRPC clients), so it gets exactly the treatment of the JSON
log: fields converted to JSON-ready values, secrets masked by name and by value.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from adapters.logging.records import Redactor
from application.telemetry import TelemetryHub


class TelemetrySink:
    """An event sink that publishes every event, redacted, to a :class:`TelemetryHub`.

    Args:
        hub: Where clients read from.
        secrets: Values that must never leave the process.
    """

    def __init__(self, hub: TelemetryHub, secrets: Iterable[str] = ()) -> None:
        self._hub = hub
        self._redactor = Redactor(secrets)

    def emit(self, event: str, timestamp: int, **fields: Any) -> None:
        """Publish one event."""
        redact = self._redactor
        self._hub.publish(
            event, timestamp, {key: redact.field(key, value) for key, value in fields.items()}
        )
