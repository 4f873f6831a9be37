"""Imports go one way: config -> services -> (gateway, billing, store, tariffs).

An entry point may use a use case; a use case never reaches back into an entry point, and
the rooms below never know the use cases or the entry points exist.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# room -> top-level packages it may not import
FORBIDDEN = {
    "services": {"config"},
    "gateway": {"config", "services"},
    "billing": {"config", "services"},
    "store": {"config", "services"},
    "tariffs": {"config", "services", "store", "gateway", "billing"},  # pure
}


def imported(source: str) -> set[str]:
    """Top-level packages a module imports, anywhere in it (function-level imports too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_imports_go_one_way() -> None:
    wrong = []
    for room, forbidden in FORBIDDEN.items():
        for path in sorted((ROOT / room).rglob("*.py")):
            bad = imported(path.read_text(encoding="utf-8")) & forbidden
            if bad:
                wrong.append(f"{path.relative_to(ROOT)} imports {', '.join(sorted(bad))}")
    assert not wrong, wrong


def test_the_check_sees_late_imports() -> None:
    assert imported("def f():\n    from config.settings import Settings\n") == {"config"}
    assert imported("import services.sites as s\n") == {"services"}
