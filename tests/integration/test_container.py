"""The Docker image and compose file, checked without a Docker engine.

What the image does is tested piece by piece here, in the normal suite:

* the ``Dockerfile`` is parsed: two stages from a slim Python base, ``pip install .`` of the
  build context in the builder, only the venv (and the container config) in the runtime, a
  non-root user, the volumes, environment, port, stop signal, HEALTHCHECK and entrypoint;
* ``.dockerignore`` keeps what the build copies and drops the rest (.git, .venv, data, ...);
* the wheel that ``pip install .`` builds from exactly that context holds every package, the
  package data (instrument defaults, migrations) and both console scripts;
* the image's ENTRYPOINT + CMD run as a process with the image's environment and its baked
  config, the image's HEALTHCHECK command passes against it, and SIGTERM ends it flat, exit 0;
* ``compose.yaml`` parses, keeps secrets out, publishes on loopback only, and the emulator
  profile's two commands run against each other with their config files.

``.ci/container-check`` builds and runs the real image with podman.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import tomllib
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from bootstrap.config import load_config

ROOT = Path(__file__).resolve().parent.parent.parent
BIN = Path(sys.executable).parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
_CONTROL = re.compile(r"control plane: \S+:(\d+)")
_EMULATOR_URL = re.compile(r"http://127\.0\.0\.1:\d+")


# ---------------------------------------------------------------------------- Dockerfile
@dataclass(frozen=True)
class Instruction:
    stage: str  # "" before the first FROM
    keyword: str
    rest: str

    @property
    def exec_form(self) -> list[str]:
        value = json.loads(self.rest)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value), self.rest
        return value


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions in order, continuation lines joined and comment lines dropped."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "a continuation line ends the file"
    instructions: list[Instruction] = []
    stage = ""
    for line in logical:
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        rest = rest.strip()
        if keyword == "FROM":
            parts = rest.split()
            stage = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else parts[0]
        instructions.append(Instruction(stage, keyword, rest))
    return instructions


DOCKERFILE = parse_dockerfile((ROOT / "Dockerfile").read_text(encoding="utf-8"))


def _stage(name: str) -> list[Instruction]:
    return [i for i in DOCKERFILE if i.stage == name]


def _one(stage: str, keyword: str) -> Instruction:
    found = [i for i in _stage(stage) if i.keyword == keyword]
    assert len(found) == 1, f"{keyword} in stage {stage}: {found}"
    return found[0]


def _env(stage: str) -> dict[str, str]:
    """The ENV of a stage (``ENV A=1 B=2`` form), ``$PATH`` left as written."""
    env: dict[str, str] = {}
    for instruction in _stage(stage):
        if instruction.keyword == "ENV":
            for pair in shlex.split(instruction.rest):
                key, sep, value = pair.partition("=")
                assert sep, f"ENV without '=': {instruction.rest}"
                env[key] = value
    return env


def _copies(stage: str) -> list[tuple[list[str], str, str | None]]:
    """(sources, destination, --from stage) of every COPY in a stage."""
    result = []
    for instruction in _stage(stage):
        if instruction.keyword == "COPY":
            words = instruction.rest.split()
            flags = [w for w in words if w.startswith("--")]
            paths = [w for w in words if not w.startswith("--")]
            origin = next((f.split("=", 1)[1] for f in flags if f.startswith("--from=")), None)
            result.append((paths[:-1], paths[-1], origin))
    return result


def _healthcheck() -> list[str]:
    rest = _one("runtime", "HEALTHCHECK").rest
    options, sep, command = rest.partition("CMD ")
    assert sep, rest
    assert all(o.startswith("--") for o in options.split()), options
    return json.loads(command)


def _args_value(args: list[str], flag: str) -> str:
    assert flag in args, f"{flag} not in {args}"
    return args[args.index(flag) + 1]


def test_dockerfile_builds_in_a_builder_stage_and_ships_only_the_venv() -> None:
    base_arg = next(i for i in DOCKERFILE if i.keyword == "ARG" and i.stage == "")
    name, _, default = base_arg.rest.partition("=")
    assert re.fullmatch(r"python:3\.1[12]-slim", default), default
    froms = [i.rest for i in DOCKERFILE if i.keyword == "FROM"]
    assert froms == [f"${{{name}}} AS builder", f"${{{name}}} AS runtime"]

    builder_runs = " && ".join(i.rest for i in _stage("builder") if i.keyword == "RUN")
    assert "python -m venv /opt/venv" in builder_runs
    assert re.search(r"/opt/venv/bin/pip install \.(\s|$)", builder_runs), builder_runs
    # the installed scripts start in the builder already, before anything is shipped
    assert "/opt/venv/bin/gridbot --help" in builder_runs
    assert "/opt/venv/bin/gridctl --help" in builder_runs

    runtime_runs = " ".join(i.rest for i in _stage("runtime") if i.keyword == "RUN")
    assert "pip" not in runtime_runs, "the runtime stage installs nothing itself"
    from_builder = [c for c in _copies("runtime") if c[2] is not None]
    assert from_builder == [(["/opt/venv"], "/opt/venv", "builder")]
    assert _env("runtime")["PATH"].startswith("/opt/venv/bin:")


def test_dockerfile_copies_what_the_package_needs_and_dockerignore_keeps_it() -> None:
    copied = {src for sources, _, origin in _copies("builder") for src in sources if not origin}
    packages = set(PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"])
    top_level = {p.rstrip("*").rstrip(".") for p in packages}
    assert top_level <= copied, f"packages not copied into the build: {top_level - copied}"
    assert {"pyproject.toml", PYPROJECT["project"]["readme"]} <= copied
    context = [*copied, *(s for ss, _, o in _copies("runtime") if o is None for s in ss)]
    ignore = _dockerignore()
    for source in context:
        assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"
        assert not ignore(source), f"COPY {source}: excluded by .dockerignore"
    for package in top_level:
        kept = [p for p in (ROOT / package).rglob("*.py") if "__pycache__" not in p.parts]
        assert kept and not any(ignore(str(p.relative_to(ROOT))) for p in kept), package
    for path in (
        ".git/HEAD",
        ".venv/bin/python",
        "data/gridbot.db",
        "tests/conftest.py",
        "config/config.json",
        "adapters/__pycache__/x.cpython-311.pyc",
        ".pytest_cache/v",
        "gridbot.egg-info/PKG-INFO",
        "build/lib/x.py",
        ".coverage",
    ):
        assert ignore(path), f"{path} would be sent to the Docker build"


def _dockerignore() -> Any:
    """A matcher with Docker's rules: last matching pattern wins, ``!`` re-includes, a
    pattern that matches a directory matches everything below it, ``**`` any depth."""
    rules: list[tuple[bool, str]] = []
    for raw in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.lstrip("!").strip().strip("/")
        rules.append((negate, pattern))

    def matches(pattern: str, path: str) -> bool:
        parts = PurePosixPath(path).parts
        candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        variants = {pattern}
        if pattern.startswith("**/"):
            variants.add(pattern[3:])
        for variant in variants:
            depth = variant.count("/") + 1
            for candidate in candidates:
                same_depth = "**" in variant or candidate.count("/") + 1 == depth
                if same_depth and fnmatch.fnmatchcase(candidate, variant):
                    return True
        return False

    def excluded(path: str) -> bool:
        result = False
        for negate, pattern in rules:
            if matches(pattern, path):
                result = not negate
        return result

    return excluded


def test_runtime_runs_as_a_non_root_user_with_volumes_port_and_healthcheck() -> None:
    user = _one("runtime", "USER").rest
    uid, _, gid = user.partition(":")
    assert uid == "10001" and gid == "10001", "numeric non-root user (runAsNonRoot can check it)"
    runs = " ".join(i.rest for i in _stage("runtime") if i.keyword == "RUN")
    assert "useradd --system --uid 10001" in runs and "groupadd --system --gid 10001" in runs
    assert "chown gridbot:gridbot /data" in runs, "the data volume must be writable by the user"
    assert _one("runtime", "VOLUME").exec_form == ["/config", "/data"]
    env = _env("runtime")
    assert env["GRIDBOT_DATA_DIR"] == "/data"
    assert env["GRIDBOT_GRPC_ADDRESS"] == "0.0.0.0:50051"
    assert env["PYTHONUNBUFFERED"] == "1", "log lines must not wait in a buffer"
    assert _one("runtime", "EXPOSE").rest == env["GRIDBOT_GRPC_ADDRESS"].rsplit(":", 1)[1]
    assert _one("runtime", "STOPSIGNAL").rest == "SIGTERM"
    health = _healthcheck()
    assert health[0] == "gridctl" and health[-1] == "health"
    port = env["GRIDBOT_GRPC_ADDRESS"].rsplit(":", 1)[1]
    assert _args_value(health, "--address") == f"127.0.0.1:{port}"
    # exec form: gridbot itself is PID 1 and receives SIGTERM (no shell in between)
    assert _one("runtime", "ENTRYPOINT").exec_form == ["gridbot"]
    scripts = PYPROJECT["project"]["scripts"]
    assert {"gridbot", "gridctl"} <= scripts.keys()


def _baked_config() -> Path:
    """The repository file the image's default CMD reads (via its COPY)."""
    cmd = _one("runtime", "CMD").exec_form
    assert cmd[0] == "run"
    target = _args_value(cmd, "--config")
    sources = [s for ss, dest, o in _copies("runtime") if o is None and dest == target for s in ss]
    assert len(sources) == 1, f"the default CMD's config {target} is not copied into the image"
    return ROOT / sources[0]


def _image_environ(data_dir: Path) -> dict[str, str]:
    """The image's environment with the test's data dir and a free port."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRIDBOT_", "BINANCE_"))}
    for key, value in _env("runtime").items():
        if key != "PATH":
            env[key] = value
    env["GRIDBOT_DATA_DIR"] = str(data_dir)
    env["GRIDBOT_GRPC_ADDRESS"] = "0.0.0.0:0"
    env["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    return env


def test_baked_config_is_the_simulated_default_serving_on_all_interfaces(tmp_path: Path) -> None:
    env = _image_environ(tmp_path / "data")
    env["GRIDBOT_GRPC_ADDRESS"] = _env("runtime")["GRIDBOT_GRPC_ADDRESS"]
    config = load_config(_baked_config(), env)
    default = load_config(None, env)
    assert config.exchange == default.exchange and config.exchange.kind == "simulated"
    assert config.backtest == default.backtest, "the built-in generated market"
    assert config.strategy == default.strategy and config.market == default.market
    assert config.control.address == "0.0.0.0:50051"
    assert config.control.allow_insecure_remote, "0.0.0.0 without TLS is refused otherwise"
    assert config.control.token_file is None, "token: $GRIDBOT_API_TOKEN or /data/api-token"
    assert config.storage.data_dir == tmp_path / "data"
    assert config.storage.database_url is None, "SQLite in the data volume"


# ---------------------------------------------------------------------------- the wheel
def test_the_images_pip_install_builds_a_wheel_with_packages_data_and_scripts(
    tmp_path: Path,
) -> None:
    """``pip install .`` in the builder sees only what the Dockerfile copies: build that."""
    context = tmp_path / "context"
    for sources, _, origin in _copies("builder"):
        for source in sources:
            if origin is None:
                _copy_tree(ROOT / source, context / source)
    sources = {
        str(p.relative_to(context))
        for p in context.rglob("*.py")
        if p.parent != context and "__pycache__" not in p.parts
    }
    assert sources, "nothing copied"  # (before pip builds in-tree)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "-q", "-w", str(tmp_path)],
        cwd=context,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("gridbot-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        scripts = archive.read(entry_points).decode()
    assert sources <= names, f"modules missing from the wheel: {sorted(sources - names)[:5]}"
    data = {
        "bootstrap/defaults/instruments.json",
        "adapters/persistence/migrations/env.py",
        "adapters/persistence/migrations/script.py.mako",
    }
    assert data <= names, data - names
    migrations = {
        str(p.relative_to(ROOT))
        for p in (ROOT / "adapters/persistence/migrations/versions").glob("*.py")
    }
    assert migrations and migrations <= names
    assert not any(n.startswith(("tests/", "benchmarks/")) for n in names)
    for name, target in PYPROJECT["project"]["scripts"].items():
        assert f"{name} = {target}" in scripts, scripts


def _copy_tree(source: Path, target: Path) -> None:
    if source.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source.read_bytes())
        return
    for path in source.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts and ".egg-info" not in str(path):
            _copy_tree(path, target / path.relative_to(source))


# ---------------------------------------------------------------------------- processes
@dataclass
class Process:
    process: subprocess.Popen[str]
    lines: list[str]

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_line(self, pattern: re.Pattern[str], timeout: float = 30.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                match = pattern.search(line)
                if match:
                    return match
            if self.process.poll() is not None:
                time.sleep(0.2)  # the reader thread may still be appending
                match = next((m for m in map(pattern.search, self.lines) if m), None)
                if match:
                    return match
                break
            time.sleep(0.05)
        raise AssertionError(f"no line matching {pattern.pattern!r}:\n{self.output}")


@contextmanager
def _spawn(argv: list[str], env: dict[str, str], cwd: Path) -> Iterator[Process]:
    process = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)

    threading.Thread(target=pump, daemon=True).start()
    try:
        yield Process(process, lines)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def _resolve(command: list[str]) -> list[str]:
    """A console script of the image resolved in this interpreter's environment."""
    script = BIN / command[0]
    assert script.exists(), f"console script {command[0]} not installed (pip install -e .)"
    return [str(script), *command[1:]]


def _probe(
    command: list[str], address: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    argv = list(command)
    argv[argv.index("--address") + 1] = address
    return subprocess.run(_resolve(argv), env=env, capture_output=True, text=True, timeout=30)


def _until_healthy(
    command: list[str], address: str, env: dict[str, str], bot: Process
) -> subprocess.CompletedProcess[str]:
    deadline = time.monotonic() + 30
    while True:
        probe = _probe(command, address, env)
        if probe.returncode == 0 or time.monotonic() > deadline:
            return probe
        assert bot.process.poll() is None, f"the bot exited:\n{bot.output}"
        time.sleep(0.2)


def test_image_entrypoint_serves_the_healthcheck_and_stops_flat_on_sigterm(
    tmp_path: Path,
) -> None:
    """ENTRYPOINT + default CMD with the image's ENV; HEALTHCHECK against it; SIGTERM."""
    data = tmp_path / "data"
    env = _image_environ(data)
    entrypoint = _one("runtime", "ENTRYPOINT").exec_form
    cmd = _one("runtime", "CMD").exec_form
    config_at = cmd.index("--config") + 1
    cmd = [*cmd[:config_at], str(_baked_config()), *cmd[config_at + 1 :]]
    health = _healthcheck()
    with _spawn(_resolve([*entrypoint, *cmd]), env, cwd=tmp_path) as bot:
        port = bot.wait_line(_CONTROL).group(1)
        address = f"127.0.0.1:{port}"
        probe = _until_healthy(health, address, env, bot)
        assert probe.returncode == 0, probe.stdout + probe.stderr
        assert "SERVING" in probe.stdout
        assert "0.0.0.0" in bot.output, "the container config listens on every interface"
        bot.wait_line(re.compile(r"reconciled: .*RUNNING"))
        # The default strategy (the adaptive grid) sizes its step from ATR(60): on the
        # generated market there is no history to warm it, so the first grid comes after 60
        # candles, a minute at the default speed of a candle a second.
        status = _status(address, env, lambda s: s["open_orders"], bot, wait=120)
        assert status["exchange"] == "simulated" and status["state"] == "RUNNING"
        bot.process.send_signal(signal.SIGTERM)
        assert bot.process.wait(30) == 0, bot.output
        flattened = bot.wait_line(re.compile(r"flattened: (\d+) open orders cancelled"))
        assert int(flattened.group(1)) > 0
        bot.wait_line(re.compile(r"flat confirmed by the exchange"))
    # the same check fails once the bot is gone: the HEALTHCHECK can report unhealthy
    after = _probe(health, address, env)
    assert after.returncode != 0, after.stdout
    token = data / "api-token"
    assert token.stat().st_mode & 0o777 == 0o600, "generated token readable by the user only"
    assert (data / "gridbot.db").stat().st_size > 0
    log = [json.loads(line) for line in (data / "gridbot.log").read_text().splitlines()]
    assert log, "no JSON log lines in the data dir"
    assert token.read_text().strip() not in (data / "gridbot.log").read_text()


# ---------------------------------------------------------------------------- compose
COMPOSE_TEXT = (ROOT / "compose.yaml").read_text(encoding="utf-8")
COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_TEXT)
SERVICES: dict[str, Any] = COMPOSE["services"]
_SECRETISH = re.compile(r"TOKEN|KEY|SECRET|PASSWORD", re.IGNORECASE)
_INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(:-)?\}")


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """container path -> host path (or volume name) of the short-syntax volumes."""
    result = {}
    for volume in service.get("volumes", []):
        spec, _, mode = volume.rpartition(":")
        if mode not in ("ro", "rw"):
            spec = volume
        host, _, container = spec.rpartition(":")  # the host part may hold ${VAR:-default}
        result[container] = host
    return result


def test_compose_builds_the_image_and_runs_it_like_the_dockerfile_says() -> None:
    assert set(SERVICES) == {"gridbot", "emulator", "gridbot-paper"}
    for name, service in SERVICES.items():
        assert service["build"] == {"context": ".", "dockerfile": "Dockerfile"}, name
        assert service["image"] == SERVICES["gridbot"]["image"], "one image for all services"
        assert service["stop_signal"] == "SIGTERM"
    bot = SERVICES["gridbot"]
    assert "profiles" not in bot, "the bot starts with a plain `docker compose up`"
    assert bot["ports"] == ["127.0.0.1:50051:50051"], "plaintext gRPC on the host's loopback"
    assert bot["healthcheck"]["test"] == ["CMD", *_healthcheck()]
    assert SERVICES["gridbot-paper"]["healthcheck"]["test"] == ["CMD", *_healthcheck()]
    mounts = _mounts(bot)
    assert mounts["/data"] in COMPOSE["volumes"], "named volume for the journal and log"
    assert mounts["/config"] == "./config/compose"
    assert "./config/compose:/config:ro" in bot["volumes"], "config mounted read-only"
    config = _compose_config(bot)
    assert config.exchange.kind == "simulated"
    assert config.control.allow_insecure_remote and config.control.address == "0.0.0.0:50051"
    assert bot["stop_grace_period"] in ("60s", "1m"), "flattening on SIGTERM takes time"


def test_compose_keeps_secrets_out_and_interpolates_every_variable_with_a_default() -> None:
    assert ":?" not in COMPOSE_TEXT, "Compose interpolates inactive profiles too: no ${VAR:?}"
    for name, service in SERVICES.items():
        for key, value in service.get("environment", {}).items():
            if _SECRETISH.search(key):
                match = _INTERPOLATION.fullmatch(str(value))
                assert match and match.group(2), f"{name}.{key} must be ${{VAR:-}}: {value}"
    for variable in _INTERPOLATION.finditer(COMPOSE_TEXT):
        assert variable.group(2), f"${{{variable.group(1)}}} without a default"
    assert SERVICES["gridbot"]["environment"]["GRIDBOT_API_TOKEN"] == "${GRIDBOT_API_TOKEN:-}"


def test_compose_emulator_profile_shares_the_emulators_network_namespace() -> None:
    emulator, paper = SERVICES["emulator"], SERVICES["gridbot-paper"]
    assert emulator["profiles"] == paper["profiles"] == ["emulator"]
    assert emulator["command"][0] == "emulator"
    assert _args_value(emulator["command"], "--data") == "/market"
    assert "/market" in _mounts(emulator)
    # the emulator binds loopback only: the paper bot joins its network namespace
    assert paper["network_mode"] == "service:emulator"
    assert paper["depends_on"]["emulator"]["condition"] == "service_healthy"
    assert "ports" not in paper
    port = _args_value(emulator["command"], "--port")
    assert f"127.0.0.1:{port}/" in emulator["healthcheck"]["test"][-1]
    config = _compose_config(paper)
    assert config.exchange.kind == "binance"
    assert config.exchange.base_url == f"http://127.0.0.1:{port}"
    assert config.control.address == paper["environment"]["GRIDBOT_GRPC_ADDRESS"]
    assert config.control.address.startswith("127.0.0.1:"), "loopback in the shared namespace"
    assert not config.control.allow_insecure_remote
    assert paper["environment"]["BINANCE_API_KEY"] == emulator["environment"]["BINANCE_API_KEY"]
    assert _mounts(paper)["/data"] != _mounts(SERVICES["gridbot"])["/data"], "own journal"


def _compose_config(service: dict[str, Any], data_dir: str = "/data") -> Any:
    """The service's --config file, found through its /config mount, as the bot loads it."""
    path = _args_value(service["command"], "--config")
    host_dir = ROOT / _mounts(service)["/config"]
    file = host_dir / PurePosixPath(path).relative_to("/config")
    assert file.is_file(), f"{service['command']}: {file} missing"
    environ = {"GRIDBOT_DATA_DIR": data_dir}
    address = service.get("environment", {}).get("GRIDBOT_GRPC_ADDRESS")
    environ["GRIDBOT_GRPC_ADDRESS"] = address or _env("runtime")["GRIDBOT_GRPC_ADDRESS"]
    return load_config(file, environ)


def test_compose_emulator_profile_commands_trade_against_each_other(
    shared_data: Path, tmp_path: Path
) -> None:
    """The emulator and gridbot-paper commands of compose.yaml, as processes, with the
    mounted paths and ports mapped to the test's: the paper bot trades and ends flat."""
    emulator, paper = SERVICES["emulator"], SERVICES["gridbot-paper"]
    market = tmp_path / "market"
    market.mkdir()
    # A week of the data is served as the past before the replay start (the default
    # history): 2025-01-27 .. 2025-02-26 leaves three weeks to replay.
    for month in ("2025-01", "2025-02"):
        source = shared_data / "klines" / "futures-um" / "BTCUSDT" / f"BTCUSDT-1m-{month}.csv.gz"
        (market / source.name).write_bytes(source.read_bytes())
    credentials = {"GRIDBOT_EMULATOR_API_KEY": "compose-key", "GRIDBOT_EMULATOR_API_SECRET": "s"}

    def environment(service: dict[str, Any]) -> dict[str, str]:
        env = _image_environ(tmp_path / f"{service['command'][0]}-data")
        for key, value in service.get("environment", {}).items():
            match = _INTERPOLATION.fullmatch(str(value))
            env[key] = credentials.get(match.group(1), "") if match else str(value)
        return env

    emulator_argv = list(emulator["command"])
    emulator_argv[emulator_argv.index("--data") + 1] = str(market)
    emulator_argv[emulator_argv.index("--port") + 1] = "0"
    emulator_argv[emulator_argv.index("--speed") + 1] = "20"
    with _spawn(_resolve(["gridbot", *emulator_argv]), environment(emulator), tmp_path) as emu:
        url = emu.wait_line(_EMULATOR_URL).group(0)
        ping = [*emulator["healthcheck"]["test"][1:]]
        ping[-1] = ping[-1].replace("http://127.0.0.1:8080", url)
        assert ping[0] == "python"
        assert subprocess.run([sys.executable, *ping[1:]], timeout=30).returncode == 0

        config_file = tmp_path / "paper.json"
        original = ROOT / _mounts(paper)["/config"] / "paper.json"
        document = json.loads(original.read_text())
        assert document["exchange"]["base_url"].startswith("http://127.0.0.1:")
        document["exchange"]["base_url"] = url
        config_file.write_text(json.dumps(document))
        argv = list(paper["command"])
        argv[argv.index("--config") + 1] = str(config_file)
        env = environment(paper)
        env["GRIDBOT_GRPC_ADDRESS"] = "127.0.0.1:0"
        env["GRIDBOT_DATA_DIR"] = str(tmp_path / "paper-data")
        with _spawn(_resolve(["gridbot", *argv]), env, tmp_path) as bot:
            port = bot.wait_line(_CONTROL).group(1)
            health = paper["healthcheck"]["test"][1:]
            probe = _until_healthy(health, f"127.0.0.1:{port}", env, bot)
            assert probe.returncode == 0, probe.stdout + probe.stderr + bot.output
            assert "0 differences" in bot.wait_line(re.compile(r"reconciled: .*")).string
            status = _status(f"127.0.0.1:{port}", env, lambda s: s["open_orders"], bot)
            assert status["exchange"] == "binance"
            bot.process.send_signal(signal.SIGTERM)
            assert bot.process.wait(60) == 0, bot.output
            bot.wait_line(re.compile(r"flat confirmed by the exchange"))
        emu.process.send_signal(signal.SIGTERM)
        assert emu.process.wait(30) == 0, emu.output


def _status(
    address: str, env: dict[str, str], done: Any, bot: Process, wait: float = 30
) -> dict[str, Any]:
    """``gridctl --json status`` until ``done(status)``, with the token from the data dir."""
    env = dict(env, GRIDBOT_API_TOKEN_FILE=str(Path(env["GRIDBOT_DATA_DIR"]) / "api-token"))
    deadline = time.monotonic() + wait
    while True:
        result = subprocess.run(
            _resolve(["gridctl", "--address", address, "--json", "status"]),
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr + bot.output
        status: dict[str, Any] = json.loads(result.stdout)
        if done(status):
            return status
        assert time.monotonic() < deadline, f"not reached: {status}\n{bot.output}"
        time.sleep(0.3)


@pytest.mark.parametrize(
    "path",
    [
        "docker/config.json",
        *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "config/compose").glob("*.json")),
    ],
)
def test_every_container_config_loads(path: str, tmp_path: Path) -> None:
    config = load_config(ROOT / path, {"GRIDBOT_DATA_DIR": str(tmp_path)})
    assert config.storage.data_dir == tmp_path
    assert config.source.endswith(PurePosixPath(path).name)
