"""API credentials: where they are read from, and that no message or repr ever shows them."""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
from pathlib import Path
from typing import Any

import pytest

from bootstrap.config import AppConfig, CredentialsConfig
from bootstrap.secrets import (
    API_KEY_ENV,
    API_SECRET_ENV,
    Credentials,
    CredentialsError,
    MissingCredentials,
    Secret,
    load_credentials,
    read_secrets_file,
    require_credentials,
)

KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"


def _config(secrets_file: str | Path | None = None) -> AppConfig:
    path = None if secrets_file is None else str(secrets_file)
    return AppConfig(source="conf.json", credentials=CredentialsConfig(secrets_file=path))


def _env(**values: str) -> dict[str, str]:
    return {"PATH": "/usr/bin", **values}


def _assert_no_values(text: str) -> None:
    assert KEY not in text
    assert SECRET not in text
    assert KEY[:12] not in text and SECRET[-12:] not in text


# --------------------------------------------------------------------------- Secret
def test_secret_hides_its_value() -> None:
    secret = Secret(SECRET)
    assert repr(secret) == "***"
    assert str(secret) == "***"
    assert f"{secret}" == "***"
    assert f"{secret!r}" == "***"
    assert str([secret, {"k": secret}]) == "[***, {'k': ***}]"
    assert secret.reveal() == SECRET


def test_secret_equality_is_by_value() -> None:
    assert Secret(SECRET) == Secret(SECRET)
    assert Secret(SECRET) != Secret(KEY)
    assert Secret(SECRET) != SECRET  # never equal to a plain string: no accidental reveal
    assert bool(Secret("x")) and not bool(Secret(""))


def test_secret_is_not_hashable() -> None:
    with pytest.raises(TypeError):
        hash(Secret(SECRET))
    with pytest.raises(TypeError):
        {Secret(SECRET)}


def test_secret_holds_only_strings() -> None:
    with pytest.raises(TypeError):
        Secret(b"bytes")  # type: ignore[arg-type]


def test_credentials_repr_shows_no_value() -> None:
    credentials = Credentials(Secret(KEY), Secret(SECRET), source="environment")
    text = repr(credentials) + str(credentials) + f"{credentials}"
    _assert_no_values(text)
    assert text.count("***") == 6
    assert "source='environment'" in text
    assert str(dataclasses.asdict(credentials)).count("***") == 2  # asdict keeps the Secrets
    _assert_no_values(str(dataclasses.asdict(credentials)))


def test_credentials_equality_ignores_the_source() -> None:
    a = Credentials(Secret(KEY), Secret(SECRET), source="environment")
    b = Credentials(Secret(KEY), Secret(SECRET), source="/etc/gridbot/secrets.env")
    assert a == b
    assert a.secret_values() == (KEY, SECRET)


def test_pickle_round_trip_keeps_hiding() -> None:
    # A secret that ends up in a pickle (a multiprocessing queue) is still a Secret.
    restored = pickle.loads(pickle.dumps(Credentials(Secret(KEY), Secret(SECRET))))
    assert restored.api_secret.reveal() == SECRET
    _assert_no_values(repr(restored))


# --------------------------------------------------------------------------- environment
def test_environment_variables() -> None:
    found = load_credentials(_config(), _env(**{API_KEY_ENV: KEY, API_SECRET_ENV: SECRET}))
    assert found == Credentials(Secret(KEY), Secret(SECRET))
    assert found is not None and found.source == "environment"


def test_environment_values_are_stripped() -> None:
    environ = _env(**{API_KEY_ENV: f" {KEY}\n", API_SECRET_ENV: f"{SECRET}\n"})
    found = load_credentials(_config(), environ)
    assert found is not None and found.secret_values() == (KEY, SECRET)


def test_environment_wins_over_the_file(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps({"api_key": "file-key", "api_secret": "file-secret"}))
    found = load_credentials(_config(path), _env(**{API_KEY_ENV: KEY, API_SECRET_ENV: SECRET}))
    assert found is not None and found.secret_values() == (KEY, SECRET)


def test_environment_default_is_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(API_KEY_ENV, KEY)
    monkeypatch.setenv(API_SECRET_ENV, SECRET)
    found = load_credentials(_config())
    assert found is not None and found.api_key.reveal() == KEY
    assert require_credentials(_config()) == found
    assert os.environ[API_KEY_ENV] == KEY


@pytest.mark.parametrize(
    ("environ", "present", "missing"),
    [
        ({API_KEY_ENV: KEY}, API_KEY_ENV, API_SECRET_ENV),
        ({API_SECRET_ENV: SECRET}, API_SECRET_ENV, API_KEY_ENV),
        ({API_KEY_ENV: KEY, API_SECRET_ENV: ""}, API_KEY_ENV, API_SECRET_ENV),
        ({API_KEY_ENV: "  ", API_SECRET_ENV: SECRET}, API_SECRET_ENV, API_KEY_ENV),
    ],
)
def test_half_set_environment_is_an_error(
    tmp_path: Path, environ: dict[str, str], present: str, missing: str
) -> None:
    # Even with a valid secrets file: a half-set environment is a mistake, not a fallback.
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps({"api_key": "file-key", "api_secret": "file-secret"}))
    with pytest.raises(CredentialsError) as info:
        load_credentials(_config(path), _env(**environ))
    message = str(info.value)
    assert message == (
        f"{present} is set but {missing} is not: set both environment variables or neither"
    )
    _assert_no_values(message)
    assert not isinstance(info.value, MissingCredentials)


def test_empty_environment_variables_count_as_unset() -> None:
    assert load_credentials(_config(), _env(**{API_KEY_ENV: "", API_SECRET_ENV: ""})) is None


# --------------------------------------------------------------------------- secrets file
def test_json_secrets_file(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps({"_comment": "testnet keys", "api_key": KEY, "api_secret": SECRET}))
    found = load_credentials(_config(path), _env())
    assert found == Credentials(Secret(KEY), Secret(SECRET))
    assert found is not None and found.source == str(path)


def test_key_value_secrets_file(tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"
    path.write_text(
        "# gridbot testnet keys\n"
        "\n"
        f"export {API_KEY_ENV}={KEY}\n"
        "OTHER_TOOL_TOKEN=ignored\n"
        f'  {API_SECRET_ENV} = "{SECRET}"  \n'
    )
    found = load_credentials(_config(path), _env())
    assert found is not None and found.secret_values() == (KEY, SECRET)


def test_key_value_file_with_single_quotes_and_a_bom(tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"
    path.write_text(f"\ufeff{API_KEY_ENV}='{KEY}'\r\n{API_SECRET_ENV}={SECRET}\r\n")
    assert read_secrets_file(path).secret_values() == (KEY, SECRET)


def test_no_credentials_anywhere() -> None:
    assert load_credentials(_config(), _env()) is None


def test_missing_credentials_message(tmp_path: Path) -> None:
    with pytest.raises(MissingCredentials) as info:
        require_credentials(_config(), _env())
    message = str(info.value)
    assert API_KEY_ENV in message and API_SECRET_ENV in message
    assert "$.credentials.secrets_file" in message and "conf.json" in message
    assert isinstance(info.value, CredentialsError)


BAD_FILES: list[tuple[str, str | bytes, str]] = [
    ("bad.json", '{"api_key": "' + KEY + '", "api_secret": }', "invalid JSON at line 1 column"),
    ("list.json", json.dumps([KEY, SECRET]), "must be a JSON object"),
    ("nokey.json", json.dumps({"api_secret": SECRET}), "api_key is missing"),
    ("nosecret.json", json.dumps({"api_key": KEY}), "api_secret is missing"),
    ("empty.json", json.dumps({"api_key": KEY, "api_secret": " "}), "api_secret must be a non-"),
    ("number.json", json.dumps({"api_key": 12345, "api_secret": SECRET}), "api_key must be a"),
    ("half.env", f"{API_KEY_ENV}={KEY}\n", f"{API_SECRET_ENV} is missing"),
    ("noeq.env", f"{API_KEY_ENV}={KEY}\n{SECRET}\n", "line 2: expected KEY=VALUE"),
    ("noname.env", f"={SECRET}\n", "line 1: expected KEY=VALUE"),
    ("empty.env", "", f"{API_KEY_ENV} is missing"),
    ("latin1.env", f"{API_KEY_ENV}={KEY}é\n".encode("latin-1"), "not valid UTF-8"),
]


@pytest.mark.parametrize(("name", "content", "problem"), BAD_FILES)
def test_malformed_secrets_file(
    tmp_path: Path, name: str, content: str | bytes, problem: str
) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(CredentialsError) as info:
        load_credentials(_config(path), _env())
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert problem in message
    _assert_no_values(message)
    # Nothing chained either: a traceback would print the content of the cause.
    assert info.value.__cause__ is None
    _assert_no_values(repr(info.value.__context__))


def test_unreadable_secrets_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.env"
    with pytest.raises(CredentialsError) as info:
        load_credentials(_config(path), _env())
    assert str(info.value) == f"{path}: cannot read secrets file: No such file or directory"


def test_secrets_file_that_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError) as info:
        read_secrets_file(tmp_path)
    assert str(info.value).startswith(f"{tmp_path}: cannot read secrets file: ")


def test_require_credentials_passes_file_errors_through(tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"
    path.write_text(f"{API_KEY_ENV}={KEY}\n")
    with pytest.raises(CredentialsError) as info:
        require_credentials(_config(path), _env())
    assert not isinstance(info.value, MissingCredentials)


def test_error_messages_for_every_failure_are_free_of_values(tmp_path: Path) -> None:
    """One sweep over every failure path, grepping all messages for the planted values."""
    messages: list[str] = []
    cases: list[tuple[Any, dict[str, str]]] = [
        (_config(), _env(**{API_KEY_ENV: KEY})),
        (_config(), _env(**{API_SECRET_ENV: SECRET})),
        (_config(), _env()),
    ]
    for name, content, _ in BAD_FILES:
        path = tmp_path / f"sweep-{name}"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        cases.append((_config(path), _env()))
    for config, environ in cases:
        with pytest.raises(CredentialsError) as info:
            require_credentials(config, environ)
        messages.append(str(info.value))
    assert len(messages) == len(BAD_FILES) + 3
    _assert_no_values("\n".join(messages))
