"""A Binance-compatible REST and WebSocket emulator over the simulated exchange (loopback only).

It lets the real Binance adapter be tested end to end, signatures, rate limits, error codes
and faults included, without a network or a testnet account. :mod:`.app` holds the request
pipeline and the route table; the handlers live in the ``*_routes`` modules, the
``/_emulator`` control endpoints in :mod:`.control_routes`.
"""

from adapters.simulated.emulator.app import STATE_KEY, create_app, endpoints
from adapters.simulated.emulator.limits import RateLimits
from adapters.simulated.emulator.server import run_emulator, serve, start_emulator
from adapters.simulated.emulator.state import FAULTS, EmulatorState, Venue
from adapters.simulated.emulator.wire import ApiError, sign

__all__ = [
    "FAULTS",
    "STATE_KEY",
    "ApiError",
    "EmulatorState",
    "RateLimits",
    "Venue",
    "create_app",
    "endpoints",
    "run_emulator",
    "serve",
    "sign",
    "start_emulator",
]
