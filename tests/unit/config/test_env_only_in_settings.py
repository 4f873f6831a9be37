"""Every EVGATE_* variable is read in config/settings.py and nowhere else in the package.

Everything else gets its settings handed down (config/compose.py). Copying the environment
into a child process's (``{**os.environ, "EVGATE_...": ...}``, the demo) is not a read.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
ALLOWED = {Path("config/settings.py")}


def _packages() -> list[str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages: list[str] = meta["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    return packages


def _is_environ(node: ast.AST) -> bool:
    """``os.environ`` or a bare ``environ`` (``from os import environ``)."""
    if isinstance(node, ast.Attribute):
        return node.attr == "environ"
    return isinstance(node, ast.Name) and node.id == "environ"


def _is_getenv(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr in ("getenv", "getenvb")) or (
        isinstance(node, ast.Name) and node.id in ("getenv", "getenvb")
    )


def _names_evgate(node: ast.AST | None) -> bool:
    """A key that is "EVGATE_..." (or an f-string starting so)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.startswith("EVGATE_")
    if isinstance(node, ast.JoinedStr) and node.values:
        return _names_evgate(node.values[0])
    return False


def _reads_evgate(node: ast.AST) -> bool:
    """getenv("EVGATE_X"), environ.get/pop/setdefault("EVGATE_X"), environ["EVGATE_X"],
    "EVGATE_X" in environ."""
    if isinstance(node, ast.Call):
        func, key = node.func, node.args[0] if node.args else None
        return _names_evgate(key) and (
            _is_getenv(func)
            or isinstance(func, ast.Attribute)
            and _is_environ(func.value)
            and func.attr in ("get", "pop", "setdefault")
        )
    if isinstance(node, ast.Subscript):
        return _is_environ(node.value) and _names_evgate(node.slice)
    if isinstance(node, ast.Compare):
        return _names_evgate(node.left) and any(_is_environ(c) for c in node.comparators)
    return False


def env_reads(source: str) -> list[int]:
    """Lines that read the process environment for an EVGATE_* name, or read it whole
    (e.g. ``dict(os.environ)``) in a file that names an EVGATE_* variable."""
    tree = ast.parse(source)
    unpacked = {
        id(value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Dict)
        for key, value in zip(node.keys, node.values, strict=True)
        if key is None  # {**os.environ, ...}: a copy for a child process
    }
    whole = "EVGATE_" in source
    found = [
        node.lineno
        for node in ast.walk(tree)
        if _reads_evgate(node)
        or (whole and isinstance(node, ast.Attribute) and _is_environ(node))
        and id(node) not in unpacked
    ]
    return sorted(set(found))


def test_evgate_variables_are_read_only_in_settings() -> None:
    offenders = []
    for package in _packages():
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if relative in ALLOWED:
                continue
            for line in env_reads(path.read_text(encoding="utf-8")):
                offenders.append(f"{relative}:{line}")
    assert not offenders, (
        "EVGATE_* read outside config/settings.py (add a Settings field and hand it down "
        f"through config/compose.py): {', '.join(offenders)}"
    )


def test_the_check_sees_each_way_of_reading() -> None:
    reads = [
        'import os\nos.environ.get("EVGATE_DATABASE_URL")',
        'import os\nos.getenv("EVGATE_X", "")',
        'import os\nx = os.environ["EVGATE_X"]',
        'import os\nif "EVGATE_X" in os.environ: pass',
        'from os import environ\nenviron.get(f"EVGATE_{name}")',
        'import os\nenv = dict(os.environ)\nenv.get("EVGATE_X")',
    ]
    for source in reads:
        assert env_reads(source), source
    child_env = 'import os\nenv = {**os.environ, "EVGATE_DATABASE_URL": url}\nenv["EVGATE_X"]'
    assert env_reads(child_env) == []
    assert env_reads('import os\nos.environ.get("HOME")') == []
    assert _packages() and "services" in _packages()
