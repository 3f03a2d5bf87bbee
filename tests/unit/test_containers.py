"""The containers choose what the config names: the venue by exchange.kind, the strategy by
strategy.name, and backtest and live share the decision container."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adapters.live_runtime.engine_inputs import QueuedInputs
from adapters.simulated.paper_venue import PaperVenue
from bootstrap.config import AppConfig, parse_config
from bootstrap.containers import BacktestContainer, LiveContainer
from bootstrap.secrets import MissingCredentials
from domain.grid.adaptive_grid import AdaptiveGrid


def _config(tmp_path: Path, **exchange: Any) -> AppConfig:
    data = {
        "storage": {"data_dir": str(tmp_path / "data")},
        "backtest": {"generated": {"minutes": 120}},
        "exchange": {"kind": "simulated", **exchange},
        "signals": {"enabled": False},
        "control": {"enabled": False},
    }
    return parse_config(data, "test", environ={})


def _live(config: AppConfig) -> LiveContainer:
    config.storage.data_dir.mkdir(parents=True, exist_ok=True)
    container = LiveContainer(config=config)
    container.run_id.override("test-run")
    container.speed.override(0.0)
    return container


def test_simulated_kind_wires_a_paper_run_around_the_configured_strategy(tmp_path: Path) -> None:
    container = _live(_config(tmp_path))
    try:
        venue = container.venue()
        assert isinstance(venue, PaperVenue)
        assert venue.replay is venue.exchange  # the engine shows it every candle first
        assert venue.reference_price > 0
        engine = container.engine()
        assert engine.session is container.session()
        assert isinstance(container.decision.strategy(), AdaptiveGrid)  # the default
        assert isinstance(container.inputs(), QueuedInputs)
        assert container.loop().engine is engine
        assert container.signal_setup() == (None, "")
    finally:
        container.journal().engine.dispose()
        container.log().close()


def test_binance_kind_selects_the_binance_venue(tmp_path: Path) -> None:
    """Without credentials the Binance branch refuses before any connection is tried."""
    container = _live(_config(tmp_path, kind="binance", base_url="http://127.0.0.1:9"))
    try:
        with pytest.raises(MissingCredentials):
            container.venue()
    finally:
        container.journal().engine.dispose()
        container.log().close()
        container.io().stop()


def test_backtest_and_live_decide_with_the_same_strategy_and_risk(tmp_path: Path) -> None:
    config = _config(tmp_path)
    backtest = BacktestContainer(config=config)
    live = _live(config)
    try:
        live.venue()
        ours, theirs = backtest.strategy(), live.decision.strategy()
        assert type(ours) is type(theirs)
        assert ours.params == theirs.params
        assert backtest.decision.risk().limits == live.decision.risk().limits
    finally:
        live.journal().engine.dispose()
        live.log().close()
