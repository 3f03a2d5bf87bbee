"""The control-plane server: ``grpc.aio`` with auth, health checking and reflection.

Loopback by default. A non-loopback address without TLS is refused unless the operator
explicitly allows it (then a warning is logged): the token would cross the network in
clear text. TLS and mutual TLS come from PEM files.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc import aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from adapters.control_api.auth import BearerTokenInterceptor
from adapters.control_api.servicer import ControlServicer
from application.ports.control import ControlPlane
from proto.gridbot.v1 import control_pb2 as pb
from proto.gridbot.v1 import control_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ControlService"].full_name


class InsecureRemoteAddress(ValueError):
    """A non-loopback address without TLS and without explicit consent."""


@dataclass(frozen=True)
class TlsFiles:
    """PEM files: server chain and key, and (mutual TLS) the client CA bundle."""

    cert_file: str
    key_file: str
    client_ca_file: str | None = None


def is_loopback(address: str) -> bool:
    """Whether ``host:port`` listens on loopback only (``localhost`` counts)."""
    host = address.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def _credentials(tls: TlsFiles) -> grpc.ServerCredentials:
    chain = Path(tls.cert_file).read_bytes()
    key = Path(tls.key_file).read_bytes()
    roots = Path(tls.client_ca_file).read_bytes() if tls.client_ca_file else None
    return grpc.ssl_server_credentials(
        [(key, chain)], root_certificates=roots, require_client_auth=roots is not None
    )


class ControlServer:
    """A started server; :meth:`stop` ends it (health turns NOT_SERVING first)."""

    def __init__(
        self,
        server: aio.Server,
        port: int,
        health: health.aio.HealthServicer,
        closing: asyncio.Event,
    ) -> None:
        self.server = server
        self.port = port
        self._health = health
        self._closing = closing

    async def stop(self, grace: float = 2.0) -> None:
        """Refuse new calls, end telemetry streams, and wait up to ``grace`` seconds."""
        await self._health.enter_graceful_shutdown()
        self._closing.set()
        await self.server.stop(grace)


async def start_control_server(
    plane: ControlPlane,
    *,
    address: str,
    token: str,
    run_id: str,
    tls: TlsFiles | None = None,
    allow_insecure_remote: bool = False,
) -> ControlServer:
    """Serve ``gridbot.v1.ControlService`` plus health and reflection on ``address``.

    Returns:
        The running server (``port`` is the bound one; useful with port 0).

    Raises:
        InsecureRemoteAddress: Non-loopback without TLS and without consent.
        OSError: The address cannot be bound.
    """
    if tls is None and not is_loopback(address):
        if not allow_insecure_remote:
            raise InsecureRemoteAddress(
                f"refusing to serve the control plane on {address} without TLS: set "
                "control.tls_cert_file / tls_key_file, or control.allow_insecure_remote "
                "to accept that the token travels in clear text"
            )
        log.warning(
            "control plane listening on %s WITHOUT TLS: the API token crosses the network "
            "in clear text",
            address,
        )
    closing = asyncio.Event()
    server = aio.server(interceptors=[BearerTokenInterceptor(token)])
    pb_grpc.add_ControlServiceServicer_to_server(ControlServicer(plane, run_id, closing), server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    if tls is None:
        port = server.add_insecure_port(address)
    else:
        port = server.add_secure_port(address, _credentials(tls))
    if port == 0:
        raise OSError(f"cannot listen on {address}")
    await server.start()
    for name in ("", SERVICE_NAME):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return ControlServer(server, port, health_servicer, closing)
