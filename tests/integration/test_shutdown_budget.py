"""The shutdown's flatten waits out an unavailable exchange within its budget (issue 11, 4).

The Binance path in one process (the adapter over the emulator, the blocking port, the SQL
journal). The emulator answers the flatten's requests with HTTP 500s and a two-minute 418
ban; the blocking port and the REST client's rate limiter share a fake clock, so the ban is
waited out without sleeping.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.market_data.generated import GeneratedMarket
from application.live_engine import LiveEngine
from application.ports.exchange import ExchangeUnavailable
from tests.support.binance_rig import BinanceRig, binance_rig


@contextmanager
def _trading(tmp_path: Path) -> Iterator[tuple[BinanceRig, LiveEngine]]:
    candles = list(GeneratedMarket(minutes=20, seed=5, start_price=Decimal("42000")))
    with binance_rig(tmp_path, candles) as rig:
        engine = rig.engine()
        for _ in range(3):
            engine.on_candle(rig.candle())
        assert rig.open_on_exchange() >= 5
        engine.request_stop(flatten=True)
        yield rig, engine


def test_the_flatten_retries_5xx_and_waits_out_a_ban_then_ends_flat(tmp_path: Path) -> None:
    with _trading(tmp_path) as (rig, engine):
        # The emulator answers the 418 first: a two-minute ban on the cancel-all, then
        # three HTTP 500s (unknown outcomes) on its repeats and the flatten's next requests.
        rig.state.inject("http_500", 3)
        rig.state.inject("ban_418")
        rig.exchange.begin_shutdown(300)
        report = engine.finish()
        assert report is not None and report.flat
        assert rig.open_on_exchange() == 0
        assert 120 <= sum(rig.time.slept) < 300  # the ban, waited out on the fake clock


def test_without_the_shutdown_budget_one_500_on_the_cancel_all_gives_up(tmp_path: Path) -> None:
    """What the shutdown did before: an unknown outcome on a write is never retried."""
    with _trading(tmp_path) as (rig, engine):
        rig.state.inject("http_500")
        with pytest.raises(ExchangeUnavailable, match="cancel_all_orders: UnknownOutcome"):
            engine.finish()
        assert rig.open_on_exchange() >= 5


def test_a_ban_longer_than_the_budget_ends_the_shutdown_not_flat(tmp_path: Path) -> None:
    with _trading(tmp_path) as (rig, engine):
        rig.state.inject("ban_418")
        rig.exchange.begin_shutdown(60)
        with pytest.raises(ExchangeUnavailable, match="IpBanned"):
            engine.finish()
        assert sum(rig.time.slept) <= 60
