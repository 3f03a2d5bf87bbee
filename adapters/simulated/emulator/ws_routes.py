"""Wires the WebSocket side of the emulator into its aiohttp application.

Kept apart from :mod:`.app` so the REST module only gains a few registration lines: the
streams attach to the state's hooks (events, candles, faults) here, and detach when the
application shuts down so a state outliving one server does not feed dead connections.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from aiohttp import web

from adapters.simulated.emulator.state import EmulatorState
from adapters.simulated.emulator.ws_conn import ConnectionSet
from adapters.simulated.emulator.ws_market import MarketStreams
from adapters.simulated.emulator.ws_user import UserStreams


@dataclass(frozen=True, slots=True)
class KeyRoute:
    """A REST route that needs only the API key (``USER_STREAM`` security type)."""

    method: str
    path: str
    handler: Callable[[Mapping[str, str]], object]
    weight: int = 1


def install_streams(app: web.Application, state: EmulatorState) -> list[KeyRoute]:
    """Add the WebSocket routes to ``app`` and hook them to ``state``.

    Returns:
        The listenKey REST routes, for the caller to serve through its request pipeline
        (API key check, weights, faults).
    """
    conns = ConnectionSet()
    market = MarketStreams(state, conns)
    user = UserStreams(state, conns)

    def on_fault(name: str) -> None:
        if name == "ws_drop":
            conns.drop_all()
        elif name == "ws_stall":
            conns.stall_all()
        elif name == "listen_key_expired":
            user.expire_all()

    state.listeners.append(user.on_events)
    state.candle_listeners.append(market.on_candle)
    state.fault_listeners.append(on_fault)

    async def detach(app: web.Application) -> None:
        with contextlib.suppress(ValueError):
            state.listeners.remove(user.on_events)
        with contextlib.suppress(ValueError):
            state.candle_listeners.remove(market.on_candle)
        with contextlib.suppress(ValueError):
            state.fault_listeners.remove(on_fault)
        await conns.close_all()

    app.add_routes(user.routes())
    app.add_routes(market.routes(fallback=user.serve_key))
    app.cleanup_ctx.append(user.lifespan)
    app.on_shutdown.append(detach)
    return [
        KeyRoute("POST", "/fapi/v1/listenKey", user.post_key),
        KeyRoute("PUT", "/fapi/v1/listenKey", user.put_key),
        KeyRoute("DELETE", "/fapi/v1/listenKey", user.delete_key),
    ]
