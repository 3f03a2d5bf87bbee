"""A restart after a clean, flattening stop trades again on its first candle (issue 11, 1).

Through the Binance path (the adapter over the emulator) and the real SQL journal: the
first engine builds its grid, stops with a flatten the exchange confirms flat; a second
engine on the same journal must build a fresh book on its very first candle instead of
waiting for price to leave the old grid's band.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from adapters.market_data.generated import GeneratedMarket
from tests.support.binance_rig import binance_rig


def test_a_restart_after_a_flattening_stop_builds_a_fresh_book_on_its_first_candle(
    tmp_path: Path,
) -> None:
    candles = list(GeneratedMarket(minutes=40, seed=3, start_price=Decimal("42000")))
    with binance_rig(tmp_path, candles) as rig:
        first = rig.engine()
        for _ in range(5):
            first.on_candle(rig.candle())
        assert rig.open_on_exchange() >= 5
        first.request_stop(flatten=True)
        report = first.finish()
        assert report is not None and report.flat
        assert rig.open_on_exchange() == 0

        second = rig.engine()
        second.on_candle(rig.candle())
        assert rig.open_on_exchange() >= 5, "the restarted bot placed no orders"
        assert len(second.session.open_orders()) == rig.open_on_exchange()
