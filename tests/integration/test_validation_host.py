"""The validation's emulator host steers the replay: it stops at the gate and while held.

This is what keeps every step of a validation schedule inside the run: the runner gates the
replay at the next step's candle and holds it while the bot is down, so the market does not
run away while restarts and evidence waits take wall time (issue 11, item 7).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal

from adapters.simulated.emulator import EmulatorState
from bootstrap.instruments import builtin_instrument
from bootstrap.validation.emulator_host import EmulatorHost
from domain.candles import Candle
from domain.enums import MarketType

T0 = 1_704_067_200_000
#: Fast enough that a gate which did not hold would let many candles through meanwhile.
SPEED = 400.0
#: How long "nothing more is fed" is watched: 40 candles' worth at SPEED.
QUIET_S = 0.1


def _candle(i: int) -> Candle:
    start = T0 + i * 60_000
    price = Decimal(40_000 + i)
    return Candle(
        start,
        price,
        price + 10,
        price - 10,
        price + 5,
        Decimal(100),
        start + 59_999,
        Decimal(4_000_000),
        1000,
        Decimal(50),
        Decimal(2_000_000),
    )


def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_the_replay_stops_at_the_gate_and_while_held() -> None:
    futures = builtin_instrument(MarketType.USDM_FUTURES, "BTCUSDT")
    state = EmulatorState(
        [futures],
        "key",
        "secret",
        [_candle(i) for i in range(300)],
        balances={MarketType.USDM_FUTURES: {"USDT": Decimal(10_000)}},
    )
    host = EmulatorHost(state, SPEED)
    host.start()
    try:
        host.set_gate(5)
        host.start_replay()
        _until(lambda: host.candles_fed == 5)
        time.sleep(QUIET_S)
        assert host.candles_fed == 5 and host.waiting_since > 0
        # The next step's gate: the replay goes on exactly that far.
        host.set_gate(12)
        _until(lambda: host.candles_fed == 12)
        # Held (the bot is down): no candle, even with the gate lifted.
        host.hold()
        held_at = host.candles_fed
        host.set_gate(None)
        time.sleep(QUIET_S)
        assert host.held and host.candles_fed == held_at == 12
        # Released: the pace starts afresh (no burst to catch up) and runs to the end.
        host.release()
        assert host.wait_replay(10)
        assert host.candles_fed == 300 and not host.held
    finally:
        host.stop()
