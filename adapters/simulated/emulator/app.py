"""The Binance REST surface of the emulator: spot ``/api/v3`` and USD-M ``/fapi``.

Every route goes through one pipeline: first the request listeners (``EmulatorState.admit``,
a validation run's hook, which may drop the request), then in Binance's order: IP ban (418),
queued faults, request weight (429, then 418 for clients that keep going), parameter parsing,
API key (-2014/-2015, HTTP 401), HMAC signature over the raw query string + body (-1022),
timing window (-1021), the order-rate limit for new orders (-1015; cancel-replace with
``orderRateLimitExceededMode=CANCEL_ONLY`` answers it itself), then the endpoint. Every
answer carries ``X-MBX-USED-WEIGHT-1M``; order endpoints add ``X-MBX-ORDER-COUNT-*``.

``/_emulator/*`` routes are emulator-only controls (advance the replay, queue faults, reset,
status) so separate processes can drive a running emulator. They have no Binance
equivalent, need no key, and are neither rate-limited nor subject to faults.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

from aiohttp import web

from adapters.simulated.emulator.control_routes import _control_routes
from adapters.simulated.emulator.endpoint import FUTURES, Call, Endpoint
from adapters.simulated.emulator.futures_account_routes import futures_account_endpoints
from adapters.simulated.emulator.futures_algo_routes import futures_algo_endpoints
from adapters.simulated.emulator.futures_routes import futures_endpoints
from adapters.simulated.emulator.http_bodies import _form_body, _json
from adapters.simulated.emulator.spot_routes import spot_endpoints
from adapters.simulated.emulator.state import EmulatorState
from adapters.simulated.emulator.wire import (
    ApiError,
    check_known,
    check_timestamp,
    mandatory,
    parse_params,
    signature_matches,
    signed_payload,
)
from adapters.simulated.emulator.ws_routes import install_streams

log = logging.getLogger(__name__)

STATE_KEY = web.AppKey("emulator_state", EmulatorState)


def endpoints() -> list[Endpoint]:
    """Every Binance route the emulator serves, with its weight (reference 4.1 / 4.2)."""
    return [
        *spot_endpoints(),
        *futures_endpoints(),
        *futures_algo_endpoints(),
        *futures_account_endpoints(),
    ]


# ================================================================================ pipeline
def _check_key(state: EmulatorState, request: web.Request) -> None:
    key = request.headers.get("X-MBX-APIKEY")
    if not key:
        raise ApiError(-2014, "API-key format invalid.", status=401)
    if key != state.api_key:
        raise ApiError(-2015, "Invalid API-key, IP, or permissions for action.", status=401)


def _authenticate(
    state: EmulatorState,
    ep: Endpoint,
    request: web.Request,
    raw_query: str,
    raw_body: bytes,
    params: dict[str, str],
) -> None:
    _check_key(state, request)
    if ep.params is not None:
        check_known(params, ep.params)
    signature = params.get("signature", "")
    if not signature:
        raise mandatory("signature")
    if not signature_matches(state.api_secret, signed_payload(raw_query, raw_body), signature):
        raise ApiError(-1022, "Signature for this request is not valid.")
    check_timestamp(params, state.server_time_ms(), microseconds=not ep.market.is_futures)


def _wrap(
    state: EmulatorState, ep: Endpoint, ids: random.Random
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The Binance request pipeline (see the module docstring) around ``ep``'s handler."""
    limiter = state.limiters[ep.market]

    async def handle(request: web.Request) -> web.StreamResponse:
        ip = request.remote or "unknown"
        headers: dict[str, str] = {}
        try:
            if not state.admit(ep.method, ep.path, ep.new_order):
                raise ApiError(
                    -1007,
                    "Timeout waiting for response from backend server. Send status unknown; "
                    "execution status unknown.",
                    status=503,
                )
            limiter.check_ban(ip)
            delay = state.take_delay_ms()
            if delay:
                await asyncio.sleep(delay / 1000)
            if state.take_fault("ban_418"):
                raise limiter.ban_answer()
            if state.take_fault("rate_limit_429"):
                raise limiter.too_many_requests(1)
            if state.take_fault("http_500"):
                raise ApiError(
                    -1000, "An unknown error occured while processing the request.", status=500
                )
            raw_query = request.raw_path.partition("?")[2]
            raw_body = await _form_body(request)
            parse_error: ApiError | None = None
            try:
                params = parse_params(raw_query, raw_body)
            except ApiError as exc:
                params, parse_error = {}, exc
            limiter.add_weight(ip, ep.weight_of(params))
            if parse_error is not None:
                raise parse_error
            if ep.signed:
                _authenticate(state, ep, request, raw_query, raw_body, params)
            elif ep.key_required:
                _check_key(state, request)
                if ep.params is not None:
                    check_known(params, ep.params)
            order_limit: ApiError | None = None
            if ep.new_order:
                try:
                    limiter.add_order()
                except ApiError as exc:
                    if ep.handles_order_limit is None or not ep.handles_order_limit(params):
                        raise
                    order_limit = exc
            payload = ep.handler(Call(state, ep.market, params, ids, order_limit))
            status = 200
        except ApiError as exc:
            payload, status = exc.payload(), exc.status
            headers.update(exc.headers)
        except Exception:  # a bug in the emulator must still look like a Binance 5xx
            log.exception("emulator error on %s %s", ep.method, ep.path)
            payload = {
                "code": -1000,
                "msg": "An unknown error occured while processing the request.",
            }
            status = 500
        code = payload.get("code") if status != 200 and isinstance(payload, dict) else None
        state.answered(ep.method, ep.path, status, code if isinstance(code, int) else None)
        headers["X-MBX-USED-WEIGHT-1M"] = str(limiter.used_weight(ip))
        if ep.new_order:
            headers.update(limiter.order_headers())
        return _json(payload, status, headers)

    return handle


async def _replay(app: web.Application) -> AsyncIterator[None]:
    """Run the background replay for the application's lifetime (speed > 0 only)."""
    state = app[STATE_KEY]
    task = asyncio.create_task(state.run_replay()) if state.speed > 0 else None
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _params_only(handler: Callable[[Mapping[str, str]], object], call: Call) -> object:
    """Adapts a handler that needs only the parameters (listenKey routes) to a ``Call``."""
    return handler(call.params)


def create_app(state: EmulatorState, seed: int = 0) -> web.Application:
    """The aiohttp application serving ``state`` through Binance's REST paths.

    Args:
        state: The emulated account.
        seed: Seed of auto-generated client order ids (reproducible runs).
    """
    app = web.Application()
    app[STATE_KEY] = state
    ids = random.Random(seed)
    for ep in endpoints():
        app.router.add_route(ep.method, ep.path, _wrap(state, ep, ids))
    for route in install_streams(app, state):  # WebSocket streams + listenKey REST routes
        key_ep = Endpoint(
            route.method,
            route.path,
            FUTURES,
            functools.partial(_params_only, route.handler),
            route.weight,
            key_required=True,
            params=("listenKey",),
        )
        app.router.add_route(key_ep.method, key_ep.path, _wrap(state, key_ep, ids))
    app.add_routes(_control_routes(state))
    app.cleanup_ctx.append(_replay)
    return app
