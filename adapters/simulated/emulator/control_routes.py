"""The ``/_emulator/*`` control routes: advance the replay, queue faults, reset, status.

Emulator-only: no Binance equivalent, no key, neither rate-limited nor subject to faults.
"""

from __future__ import annotations

from aiohttp import web

from adapters.simulated.emulator import payloads as pl
from adapters.simulated.emulator.http_bodies import _form_body, _json
from adapters.simulated.emulator.state import EmulatorState
from adapters.simulated.emulator.wire import ApiError, parse_params


async def _control_params(request: web.Request) -> dict[str, str]:
    raw_body = await _form_body(request)
    try:
        return parse_params(request.raw_path.partition("?")[2], raw_body)
    except ApiError as exc:
        raise web.HTTPBadRequest(text=exc.msg) from exc


def _status(state: EmulatorState) -> dict[str, object]:
    return {
        "serverTime": state.server_time_ms(),
        "simTime": state.now_ms(),
        "candlesFed": state.candles_fed,
        "historyStart": state.history_start_ms,
        "exhausted": state.exhausted,
        "speed": state.speed,
        "faults": state.pending_faults(),
        "venues": [
            {
                "market": v.market.value,
                "symbol": v.symbol,
                "lastPrice": pl.money(v.mark_price),
                "openOrders": len(v.open_orders()),
                "trades": len(v.trades),
            }
            for v in state.venues.values()
        ],
    }


def _control_routes(state: EmulatorState) -> list[web.RouteDef]:
    async def advance(request: web.Request) -> web.Response:
        params = await _control_params(request)
        try:
            n = int(params.get("n", "1"))
        except ValueError:
            return _json({"error": "n must be an integer"}, 400)
        fed = state.advance(max(n, 0))
        return _json({"advanced": fed, **_status(state)})

    async def fault(request: web.Request) -> web.Response:
        params = await _control_params(request)
        try:
            state.inject(params.get("name", ""), int(params.get("count", "1")))
        except ValueError as exc:
            return _json({"error": str(exc)}, 400)
        return _json({"faults": state.pending_faults()})

    async def reset(request: web.Request) -> web.Response:
        state.reset_faults()
        return _json({"faults": state.pending_faults()})

    async def status(request: web.Request) -> web.Response:
        return _json(_status(state))

    return [
        web.post("/_emulator/advance", advance),
        web.post("/_emulator/fault", fault),
        web.post("/_emulator/reset", reset),
        web.get("/_emulator/status", status),
    ]
