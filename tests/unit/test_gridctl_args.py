"""gridctl's command line: parsing, flags over environment, token sources, TLS, usage errors."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest

from adapters.control_client.channel import auth_metadata, channel_credentials, open_channel
from adapters.control_client.cli import build_parser, parse_kinds, run
from adapters.control_client.errors import EXIT_OK, EXIT_USAGE, UsageError
from adapters.control_client.settings import (
    DEFAULT_ADDRESS,
    DEFAULT_TIMEOUT,
    ClientSettings,
    TlsSettings,
    resolve_settings,
)


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


COMMAND_NAMES = {
    "start",
    "stop",
    "pause",
    "resume",
    "flatten",
    "status",
    "watch",
    "config",
    "health",
}


def settings(
    *argv: str, env: dict[str, str] | None = None, need_token: bool = True
) -> ClientSettings:
    """Resolve the settings of ``argv`` (``status`` appended when it names no command)."""
    words = list(argv) if COMMAND_NAMES & set(argv) else [*argv, "status"]
    return resolve_settings(parse(*words), env or {}, need_token=need_token)


def invoke(*argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), env or {}, io.StringIO(), out, err)
    return code, out.getvalue(), err.getvalue()


def test_commands_and_their_options_parse() -> None:
    assert parse("status").command == "status"
    assert parse("stop").flatten is None
    assert parse("stop", "--flatten").flatten is True
    assert parse("stop", "--no-flatten").flatten is False
    assert parse("flatten").yes is False
    assert parse("flatten", "--yes").yes is True
    assert parse("flatten", "-y").yes is True
    watch = parse("watch", "--after-seq", "42", "--kinds", "candle, order,candle", "--limit", "3")
    assert (watch.after_seq, watch.kinds, watch.limit, watch.once) == (
        42,
        ("candle", "order"),
        3,
        False,
    )
    assert parse("watch", "--once").once is True
    assert parse("watch").kinds == ()
    assert parse("health").service == ""
    assert parse("health", "--service", "gridbot.v1.ControlService").service.endswith("Service")


def test_global_options_work_before_and_after_the_command() -> None:
    before = parse("--json", "--address", "h:1", "--timeout", "3", "status")
    after = parse("status", "--json", "--address", "h:1", "--timeout", "3")
    for args in (before, after):
        assert (args.json, args.address, args.timeout) == (True, "h:1", "3")
    # An option before the command is not reset by the command's own copy of it.
    mixed = parse("--address", "h:1", "status", "--json")
    assert (mixed.address, mixed.json) == ("h:1", True)
    assert parse("status").json is False and parse("status").address is None


def test_bad_flags_are_usage_errors() -> None:
    for argv in (
        [],
        ["bogus"],
        ["stop", "--flatten", "--no-flatten"],
        ["watch", "--limit", "0"],
        ["watch", "--after-seq", "-1"],
        ["watch", "--after-seq", "x"],
        ["watch", "--kinds", "candle,nope"],
        ["status", "--frobnicate"],
    ):
        code, out, err = invoke(*argv, env={"GRIDBOT_API_TOKEN": "t"})
        assert code == EXIT_USAGE, argv
        assert out == ""
        assert err.startswith("gridctl: ") and err.count("\n") == 1, (argv, err)
        assert "Traceback" not in err


def test_parse_kinds_rejects_unknown_kinds_by_name() -> None:
    assert parse_kinds("fill") == ("fill",)
    assert parse_kinds(" , ") == ()
    with pytest.raises(argparse.ArgumentTypeError, match="unknown kind\\(s\\) nope, gap"):
        parse_kinds("order,nope,gap")


def test_help_documents_the_exit_codes_and_environment(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--help"], {}, io.StringIO(), io.StringIO(), io.StringIO()) == EXIT_OK
    text = capsys.readouterr().out
    for needle in (
        "exit codes:",
        "3  UNAUTHENTICATED",
        "4  UNAVAILABLE",
        "GRIDBOT_GRPC_ADDRESS",
        "GRIDBOT_API_TOKEN_FILE",
        "--token-file",
        "watch",
        "health",
    ):
        assert needle in text


def test_defaults_without_flags_or_environment() -> None:
    resolved = settings(need_token=False)
    assert resolved == ClientSettings(address=DEFAULT_ADDRESS, timeout=DEFAULT_TIMEOUT)
    assert resolved.token is None and resolved.tls is None and resolved.json is False


def test_environment_fills_what_the_flags_leave_open(tmp_path: Path) -> None:
    env = {
        "GRIDBOT_GRPC_ADDRESS": "bot:7000",
        "GRIDBOT_API_TOKEN": " env-token \n",
        "GRIDBOT_GRPC_TIMEOUT": "2.5",
        "GRIDCTL_JSON": "yes",
        "GRIDBOT_GRPC_SERVER_NAME": "bot.internal",
    }
    resolved = settings("status", env=env)
    assert resolved.address == "bot:7000"
    assert resolved.token == "env-token"
    assert resolved.timeout == 2.5
    assert resolved.json is True
    assert resolved.tls == TlsSettings(server_name="bot.internal")


def test_flags_win_over_the_environment(tmp_path: Path) -> None:
    env = {
        "GRIDBOT_GRPC_ADDRESS": "bot:7000",
        "GRIDBOT_API_TOKEN": "env-token",
        "GRIDBOT_GRPC_TIMEOUT": "2.5",
    }
    resolved = settings("--address", "flag:1", "--token", "flag-token", "--timeout", "4", env=env)
    assert (resolved.address, resolved.token, resolved.timeout) == ("flag:1", "flag-token", 4.0)
    token_file = tmp_path / "token"
    token_file.write_text("file-token\n")
    assert settings("--token-file", str(token_file), env=env).token == "file-token"


def test_token_sources_in_order(tmp_path: Path) -> None:
    env_file = tmp_path / "env-token-file"
    env_file.write_text("  from-env-file  \n")
    assert settings(env={"GRIDBOT_API_TOKEN_FILE": str(env_file)}).token == "from-env-file"
    both = {"GRIDBOT_API_TOKEN": "from-env", "GRIDBOT_API_TOKEN_FILE": str(env_file)}
    assert settings(env=both).token == "from-env"
    flag_file = tmp_path / "flag-token-file"
    flag_file.write_text("from-flag-file")
    assert settings("--token-file", str(flag_file), env=both).token == "from-flag-file"
    assert settings("--token", "t", "--token-file", str(flag_file), env=both).token == "t"


def test_a_missing_token_names_both_ways_to_give_one() -> None:
    with pytest.raises(UsageError) as caught:
        settings("status", env={"GRIDBOT_API_TOKEN": "   "})
    assert "GRIDBOT_API_TOKEN" in caught.value.message
    assert "--token-file" in caught.value.message
    assert caught.value.exit_code == EXIT_USAGE
    code, out, err = invoke("status")
    assert code == EXIT_USAGE and out == ""
    assert "GRIDBOT_API_TOKEN" in err and "--token-file" in err


def test_health_needs_no_token() -> None:
    assert settings("health", need_token=False).token is None


@pytest.mark.parametrize("content", ["", "  \n\t\n"])
def test_an_empty_token_file_is_a_usage_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "token"
    path.write_text(content)
    with pytest.raises(UsageError, match="token file is empty"):
        settings("--token-file", str(path))


def test_an_unreadable_token_file_is_a_usage_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(UsageError, match="cannot read the token file"):
        settings("--token-file", str(missing))
    with pytest.raises(UsageError, match=r"\$GRIDBOT_API_TOKEN_FILE .*cannot read"):
        settings(env={"GRIDBOT_API_TOKEN_FILE": str(missing)})
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe\x00token")
    with pytest.raises(UsageError, match="not UTF-8"):
        settings("--token-file", str(binary))


@pytest.mark.parametrize("value", ["0", "-1", "abc", "nan", "inf"])
def test_a_bad_timeout_is_a_usage_error(value: str) -> None:
    with pytest.raises(UsageError, match="--timeout"):
        settings("--timeout", value, need_token=False)
    with pytest.raises(UsageError, match="GRIDBOT_GRPC_TIMEOUT"):
        settings(env={"GRIDBOT_GRPC_TIMEOUT": value}, need_token=False)


def test_a_bad_boolean_variable_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="GRIDCTL_JSON"):
        settings(env={"GRIDCTL_JSON": "maybe"}, need_token=False)
    assert settings(env={"GRIDCTL_JSON": "0"}, need_token=False).json is False


def test_tls_settings(tmp_path: Path) -> None:
    assert settings(need_token=False).tls is None
    assert settings("--tls", need_token=False).tls == TlsSettings()
    assert settings(env={"GRIDBOT_GRPC_TLS": "true"}, need_token=False).tls == TlsSettings()
    assert settings(env={"GRIDBOT_GRPC_TLS": "off"}, need_token=False).tls is None
    # A CA bundle alone implies TLS: it would make no sense over plaintext.
    assert settings("--ca-file", "ca.pem", need_token=False).tls == TlsSettings(ca_file="ca.pem")
    mutual = settings(
        "--cert-file", "c.pem", "--key-file", "k.pem", "--server-name", "bot", need_token=False
    )
    assert mutual.tls == TlsSettings(None, "c.pem", "k.pem", "bot")
    env = {"GRIDBOT_GRPC_CERT_FILE": "c.pem", "GRIDBOT_GRPC_KEY_FILE": "k.pem"}
    assert settings(env=env, need_token=False).tls == TlsSettings(None, "c.pem", "k.pem")
    with pytest.raises(UsageError, match="both --cert-file and --key-file"):
        settings("--cert-file", "c.pem", need_token=False)
    with pytest.raises(UsageError, match="both --cert-file and --key-file"):
        settings(env={"GRIDBOT_GRPC_KEY_FILE": "k.pem"}, need_token=False)


def test_unreadable_tls_files_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"--ca-file .*cannot read"):
        channel_credentials(TlsSettings(ca_file=str(tmp_path / "missing.pem")))
    code, _, err = invoke("--ca-file", str(tmp_path / "missing.pem"), "health")
    assert code == EXIT_USAGE and "--ca-file" in err


def test_channels_and_metadata() -> None:
    plain = open_channel(ClientSettings(address="127.0.0.1:1"))
    plain.close()
    secure = open_channel(ClientSettings(address="127.0.0.1:1", tls=TlsSettings(server_name="x")))
    secure.close()
    assert auth_metadata("abc") == (("authorization", "Bearer abc"),)
    assert auth_metadata(None) == ()


def test_settings_repr_hides_the_token() -> None:
    resolved = settings("--token", "s3cr3t-value")
    assert "s3cr3t-value" not in repr(resolved)
    assert resolved.token == "s3cr3t-value"
