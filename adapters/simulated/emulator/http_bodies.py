"""Form-encoded request bodies in, compact JSON responses out (Binance's HTTP conventions)."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping

from aiohttp import web

_dumps = functools.partial(json.dumps, separators=(",", ":"))


async def _form_body(request: web.Request) -> bytes:
    """The body when it carries form parameters (Binance reads no other kind of body)."""
    if not request.can_read_body:
        return b""
    content_type = request.headers.get("Content-Type", "")
    if content_type and not content_type.startswith("application/x-www-form-urlencoded"):
        return b""
    return await request.read()


def _json(
    payload: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.json_response(payload, status=status, headers=dict(headers or {}), dumps=_dumps)
