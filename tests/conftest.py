"""Shared fixtures. Real market data is found through one fixture, ``shared_data``.

``GRIDBOT_TEST_DATA`` points at the data directory (default ``../shared/data`` beside the
checkout). Where it is absent (a user's fresh clone) the tests that need it skip with the
reason; with ``GRIDBOT_REQUIRE_DATA=1`` (set by ``.ci/run``) they fail instead, so CI never
skips them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """Where the real data is expected (used where a path is needed at import time)."""
    configured = os.environ.get("GRIDBOT_TEST_DATA")
    if configured:
        return Path(configured).expanduser().resolve()
    return (REPO_ROOT.parent / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real-data directory (Binance klines, funding, fixtures)."""
    path = data_dir()
    if not (path / "klines").is_dir():
        reason = f"real market data not found at {path} (set GRIDBOT_TEST_DATA)"
        if os.environ.get("GRIDBOT_REQUIRE_DATA") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@pytest.fixture(autouse=True)
def _control_plane_on_a_free_port(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``gridbot run`` serves its control plane; tests never collide on the default port.

    The config tests see the real environment: they check the defaults themselves.
    """
    if request.module.__name__.endswith("test_config"):
        monkeypatch.delenv("GRIDBOT_GRPC_ADDRESS", raising=False)
        return
    monkeypatch.setenv("GRIDBOT_GRPC_ADDRESS", "127.0.0.1:0")


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's headless chromium, for tests that look at a page in a real browser.

    Absent (a user's machine) the tests skip with the reason; with
    ``GRIDBOT_REQUIRE_BROWSER=1`` (set by ``.ci/run``, which installs it) they fail instead.
    """
    import shutil

    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        reason = "chromium not found (apt-get install chromium)"
        if os.environ.get("GRIDBOT_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return Path(found)
