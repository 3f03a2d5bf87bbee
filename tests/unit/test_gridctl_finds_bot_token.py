"""``gridctl`` finds the token the bot wrote, the way the bot resolves it: no flag needed.

The bot-side code (:func:`bootstrap.control_plane.resolve_token`) writes the token on a
first start; ``gridctl``'s settings (through :func:`bootstrap.gridctl.locate_bot`) must read
that very file: ``./data/api-token`` by default, ``GRIDBOT_DATA_DIR`` applied, or where a
config's ``storage.data_dir`` / ``control.token_file`` put it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.control_client.cli import build_parser
from adapters.control_client.errors import UsageError
from adapters.control_client.settings import ClientSettings, resolve_settings
from bootstrap.config import load_config
from bootstrap.control_plane import resolve_token
from bootstrap.gridctl import locate_bot

_BOT_VARIABLES = ("GRIDBOT_API_TOKEN", "GRIDBOT_API_TOKEN_FILE", "GRIDBOT_DATA_DIR")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (*_BOT_VARIABLES, "GRIDBOT_GRPC_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def gridctl_settings(*argv: str, environ: dict[str, str] | None = None) -> ClientSettings:
    args = build_parser().parse_args([*argv, "status"])
    return resolve_settings(args, environ or {}, need_token=True, locate=locate_bot)


def test_default_data_dir_token_is_found_without_a_flag(tmp_path: Path) -> None:
    token, origin = resolve_token(load_config(None, {}), {})  # the bot's first start
    assert Path(origin) == tmp_path / "data" / "api-token"

    settings = gridctl_settings()

    assert settings.token == token


def test_data_dir_variable_is_applied_on_both_sides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRIDBOT_DATA_DIR", str(tmp_path / "elsewhere"))
    token, origin = resolve_token(load_config(None), {})
    assert Path(origin) == tmp_path / "elsewhere" / "api-token"

    assert gridctl_settings().token == token


def test_the_bots_config_locates_data_dir_token_file_and_address(tmp_path: Path) -> None:
    config = tmp_path / "bot.json"
    config.write_text(
        json.dumps({"storage": {"data_dir": "state"}, "control": {"address": "127.0.0.1:6001"}}),
        encoding="utf-8",
    )
    token, origin = resolve_token(load_config(config), {})
    assert Path(origin) == tmp_path / "state" / "api-token"

    settings = gridctl_settings("--config", str(config))

    assert settings.token == token
    assert settings.address == "127.0.0.1:6001"


def test_a_configured_token_file_is_read_from_the_same_place(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("operator-token\n", encoding="utf-8")
    config = tmp_path / "bot.json"
    config.write_text(json.dumps({"control": {"token_file": "secret"}}), encoding="utf-8")

    assert gridctl_settings("--config", str(config)).token == "operator-token"


def test_flags_and_environment_still_win(tmp_path: Path) -> None:
    resolve_token(load_config(None, {}), {})

    assert gridctl_settings("--token", "flag").token == "flag"
    environ = {"GRIDBOT_API_TOKEN": "env"}
    assert gridctl_settings(environ=environ).token == "env"


def test_no_token_yet_names_the_file_the_bot_will_write(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as error:
        gridctl_settings()

    assert str(tmp_path / "data" / "api-token") in error.value.message
    assert "first start" in error.value.message


def test_a_bad_config_is_one_usage_error(tmp_path: Path) -> None:
    config = tmp_path / "bad.json"
    config.write_text("{", encoding="utf-8")

    with pytest.raises(UsageError) as error:
        gridctl_settings("--config", str(config))

    assert error.value.message.startswith(f"config error: {config}: invalid JSON")
