"""The architecture is part of the product: layering, purity and static checks run as tests."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    found = BIN / name
    if found.exists():
        return str(found)
    located = shutil.which(name)
    if located is None:
        pytest.fail(f"{name} is not installed; install the dev extra: pip install -e '.[dev]'")
    return located


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_import_linter_contracts_hold() -> None:
    result = _run(_tool("lint-imports"), "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" in result.stdout and " 0 broken" in result.stdout


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_domain_imports_only_stdlib_and_numpy() -> None:
    allowed = set(sys.stdlib_module_names) | {"numpy", "domain", "__future__"}
    forbidden_stdlib = {
        "asyncio",
        "logging",
        "socket",
        "time",
        "os",
        "random",
        "subprocess",
        "threading",
        "sqlite3",
        "http",
        "urllib",
    }
    offenders = []
    for path in sorted((ROOT / "domain").rglob("*.py")):
        for root in _imported_roots(path):
            if root not in allowed or root in forbidden_stdlib:
                offenders.append(f"{path.relative_to(ROOT)} imports {root}")
    assert not offenders, "\n".join(offenders)


def test_domain_never_reads_the_clock() -> None:
    offenders = []
    for path in sorted((ROOT / "domain").rglob("*.py")):
        text = path.read_text()
        for needle in ("datetime.now(", "datetime.utcnow(", "date.today(", "time.time("):
            if needle in text:
                offenders.append(f"{path.relative_to(ROOT)}: {needle}")
    assert not offenders, "\n".join(offenders)


def test_order_status_is_only_assigned_in_the_order_module() -> None:
    offenders = []
    for package in ("domain", "application"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == ROOT / "domain" / "orders.py":
                continue
            for lineno, line in enumerate(path.read_text().splitlines(), start=1):
                if ".status =" in line:
                    offenders.append(f"{path.relative_to(ROOT)}:{lineno}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_ruff_lint_is_clean() -> None:
    result = _run(_tool("ruff"), "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean() -> None:
    result = _run(_tool("ruff"), "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_on_domain_and_application() -> None:
    result = _run(_tool("mypy"), "--no-incremental", "domain", "application")
    assert result.returncode == 0, result.stdout + result.stderr


def test_top_level_folders_are_those_of_the_design() -> None:
    """Code lives in the layers; nothing grows a new top-level home beside them."""
    design = {
        "domain",
        "application",
        "adapters",
        "proto",
        "bootstrap",
        "tests",
        "benchmarks",
        "docs",
        "config",
        "docker",
    }
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    folders = {path.split("/", 1)[0] for path in tracked if "/" in path}
    extra = sorted(f for f in folders - design if not f.startswith("."))
    assert not extra, f"top-level folders outside the design: {extra}"


def test_bootstrap_holds_configuration_and_composition_only() -> None:
    """No thread, event loop or socket is run from bootstrap/ itself: those are adapters'.

    The validation harness is the exception by design (it supervises the bot as a process
    and hosts the emulator), and it is reached only through its entry point (import-linter).
    """
    runtime = {"asyncio", "threading", "socket", "queue"}
    offenders = []
    for path in sorted((ROOT / "bootstrap").rglob("*.py")):
        if "validation" in path.relative_to(ROOT / "bootstrap").parts:
            continue
        for root in _imported_roots(path) & runtime:
            offenders.append(f"{path.relative_to(ROOT)} imports {root}")
    assert not offenders, "\n".join(offenders)
