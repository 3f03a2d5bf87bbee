"""Bearer-token authentication for every control-plane call.

The token is compared in constant time (``hmac.compare_digest``) so its value cannot be
guessed from response timing. The standard health service is exempt: probes and load
balancers cannot carry a token, and it reveals nothing but SERVING / NOT_SERVING.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from grpc import aio

#: Methods reachable without a token.
PUBLIC_PREFIXES = ("/grpc.health.v1.Health/",)


def bearer_token(metadata: Any) -> str | None:
    """The token of an ``authorization: Bearer <token>`` metadata entry, if any."""
    for key, value in metadata or ():
        if key.lower() == "authorization":
            text = value.decode() if isinstance(value, bytes) else str(value)
            scheme, _, token = text.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


def _deny(message: str) -> tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]:
    """Unary and server-streaming handlers that refuse the call with ``message``."""

    async def abort(request: Any, context: aio.ServicerContext) -> Any:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    async def abort_stream(request: Any, context: aio.ServicerContext) -> Any:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)
        yield  # pragma: no cover - abort raises

    return grpc.unary_unary_rpc_method_handler(abort), grpc.unary_stream_rpc_method_handler(
        abort_stream
    )


class BearerTokenInterceptor(aio.ServerInterceptor):
    """Refuses (UNAUTHENTICATED) any call without the right bearer token.

    Args:
        token: The expected token (non-empty).
    """

    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("the API token must not be empty")
        self._token = token.encode()
        self._missing = _deny("missing bearer token (authorization: Bearer <GRIDBOT_API_TOKEN>)")
        self._wrong = _deny("invalid bearer token")

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        """Let the call through only with the right token (health checks always pass)."""
        method = handler_call_details.method
        if method.startswith(PUBLIC_PREFIXES):
            return await continuation(handler_call_details)
        token = bearer_token(handler_call_details.invocation_metadata)
        if token is None:
            denied = self._missing
        elif hmac.compare_digest(token.encode(), self._token):
            return await continuation(handler_call_details)
        else:
            denied = self._wrong
        handler = await continuation(handler_call_details)
        if handler is not None and handler.response_streaming:
            return denied[1]
        return denied[0]
