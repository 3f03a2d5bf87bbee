"""Public market-data handlers both markets serve: ping, time, exchangeInfo, klines."""

from __future__ import annotations

import json
from collections.abc import Mapping

from adapters.simulated.emulator import payloads as pl
from adapters.simulated.emulator.endpoint import Call
from adapters.simulated.emulator.venue_orders import _limit
from adapters.simulated.emulator.wire import (
    ApiError,
    invalid_symbol,
    invalid_value,
    mandatory,
    opt_int,
)


def _ping(call: Call) -> object:
    return {}


def _time(call: Call) -> object:
    return {"serverTime": call.state.server_time_ms()}


def _exchange_info(call: Call) -> object:
    state = call.state
    venues = state.venues_of(call.market)
    params = call.params
    wanted: list[str] | None = None
    if "symbol" in params:
        wanted = [params["symbol"]]
    elif "symbols" in params:
        try:
            parsed = json.loads(params["symbols"])
        except ValueError as exc:
            raise invalid_value("symbols") from exc
        if not isinstance(parsed, list) or not all(isinstance(s, str) for s in parsed):
            raise invalid_value("symbols")
        wanted = parsed
    if wanted is not None:
        known = {v.symbol: v for v in venues}
        if any(s not in known for s in wanted):
            raise invalid_symbol()
        venues = [known[s] for s in wanted]
    limits = state.limiters[call.market].limits
    return pl.exchange_info(
        call.market, [v.instrument for v in venues], limits, state.server_time_ms()
    )


def _klines(call: Call) -> object:
    params = call.params
    call.venue()
    interval = params.get("interval", "")
    if not interval:
        raise mandatory("interval")
    tz = params.get("timeZone")
    if tz is not None and tz not in ("0", "+0", "-0", "00:00", "+00:00", "-00:00"):
        raise invalid_value("timeZone")
    start = opt_int(params, "startTime")
    end = opt_int(params, "endTime")
    if start is not None and end is not None and start > end:
        raise ApiError(-1023, "Start time is greater than end time.")
    maximum = 1500 if call.market.is_futures else 1000
    return pl.klines(call.state.history, interval, start, end, _limit(params, 500, maximum))


def _futures_klines_weight(params: Mapping[str, str]) -> int:
    try:
        limit = int(params.get("limit", "500"))
    except ValueError:
        return 1
    if limit < 100:
        return 1
    if limit < 500:
        return 2
    return 5 if limit <= 1000 else 10
