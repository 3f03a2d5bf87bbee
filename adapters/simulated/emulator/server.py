"""Running the emulator: in-process for tests, blocking for the ``gridbot emulator`` command.

The emulator serves fixed, well-known credentials and emulator-only control routes, so it
only ever listens on the loopback interface.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from aiohttp import web

from adapters.simulated.emulator.app import create_app
from adapters.simulated.emulator.limits import RateLimits
from adapters.simulated.emulator.state import EmulatorState
from adapters.simulated.settings import SimulationSettings
from domain.candles import Candle
from domain.enums import MarketType
from domain.instruments import Instrument

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def _check_loopback(host: str) -> None:
    if host not in LOOPBACK_HOSTS:
        raise ValueError(f"the emulator only listens on loopback, not {host!r}")


class NothingToReplay(ValueError):
    """The data holds no candle after the replay start."""


def _utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


async def start_emulator(
    state: EmulatorState, host: str = "127.0.0.1", port: int = 0
) -> tuple[web.AppRunner, str]:
    """Start serving ``state``; ``port=0`` picks a free port.

    Returns:
        The runner (``await runner.cleanup()`` stops the server and the replay task) and the
        base URL, e.g. ``http://127.0.0.1:54321`` (spot under ``/api``, futures under
        ``/fapi``).

    Raises:
        ValueError: ``host`` is not a loopback address.
    """
    _check_loopback(host)
    runner = web.AppRunner(create_app(state), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound_port = int(runner.addresses[0][1])
    return runner, _url(host, bound_port)


def serve(
    state: EmulatorState,
    host: str = "127.0.0.1",
    port: int = 0,
    print_fn: Callable[[str], None] = print,
    banner: str = "",
) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM), printing the base URL first."""

    async def main() -> None:
        stop = asyncio.Event()
        with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        runner, url = await start_emulator(state, host, port)
        try:
            print_fn(f"Binance emulator listening on {url}{banner}")
            print_fn(f"  spot {url}/api/v3  futures {url}/fapi  control {url}/_emulator/status")
            await stop.wait()
        finally:
            await runner.cleanup()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


def run_emulator(
    data_path: str | None,
    speed: float,
    port: int,
    api_key: str,
    api_secret: str,
    instruments: Sequence[Instrument],
    candles: Iterable[Candle] = (),
    *,
    balances: Mapping[MarketType, Mapping[str, Decimal]] | None = None,
    settings: SimulationSettings | None = None,
    spot_limits: RateLimits | None = None,
    futures_limits: RateLimits | None = None,
    wall_clock_auth: bool = False,
    host: str = "127.0.0.1",
    print_fn: Callable[[str], None] = print,
    history_minutes: int = 0,
    replay_start_ms: int | None = None,
) -> None:
    """Build an :class:`EmulatorState` and serve it until interrupted (the CLI entry point).

    Adapters may not import each other or bootstrap, so the caller reads the market data
    (``data_path``, e.g. with the kline CSV reader) and passes the ``candles`` and
    ``instruments``; ``data_path`` is only shown in the banner.

    Args:
        data_path: Where ``candles`` come from (for the banner), or None.
        speed: Candles replayed per real second; 0 replays only on ``/_emulator/advance``.
        port: TCP port on loopback; 0 picks a free one (the banner shows it).
        api_key: The API key clients must send in ``X-MBX-APIKEY``.
        api_secret: The HMAC secret they sign with.
        instruments: Spot and/or futures instruments to list and trade.
        candles: Closed 1m candles, oldest first.
        balances: Initial balances per market (default 10000 of each quote asset).
        settings: Simulated-exchange settings (fees, fill model, leverage, funding).
        spot_limits: Spot rate limits (Binance defaults when None).
        futures_limits: Futures rate limits (Binance defaults when None).
        wall_clock_auth: Check request timestamps against the wall clock (long sessions).
        host: Loopback address to bind.
        print_fn: Where the banner goes.
        history_minutes: Minutes of ``candles`` before the replay start served as the past.
        replay_start_ms: Replay start (default: the first candle + ``history_minutes``).

    Raises:
        NothingToReplay: The data ends before the replay start.
    """
    state = EmulatorState(
        instruments,
        api_key,
        api_secret,
        candles,
        balances=balances,
        settings=settings,
        speed=speed,
        spot_limits=spot_limits,
        futures_limits=futures_limits,
        wall_clock_auth=wall_clock_auth,
        history_minutes=history_minutes,
        replay_start_ms=replay_start_ms,
    )
    if state.exhausted and (history_minutes or replay_start_ms is not None):
        raise NothingToReplay(
            f"{data_path or 'the data'}: no candle left to replay after "
            f"{_utc(state.now_ms())} (history of {history_minutes} minutes before the replay "
            "start): pass a smaller --history-minutes or an earlier --replay-start"
        )
    source = f" replaying {data_path}" if data_path else ""
    if state.history:
        source += (
            f" from {_utc(state.now_ms())}, with {len(state.history)} minutes of history "
            f"from {_utc(state.history[0].open_time)}"
        )
    pace = f" at {speed:g} candles/s" if speed > 0 else " (advance with POST /_emulator/advance)"
    serve(state, host, port, print_fn, banner=source + pace)
