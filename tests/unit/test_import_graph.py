"""The house rule on imports: no circles between our modules, and each room imports only down.

Every module of our packages is parsed with `ast` (nothing is imported), so the test sees
module-level and function-level imports alike, including those a test run never executes.
Our packages are the wheel's packages in pyproject.toml plus what mypy checks (bench/).
A module loaded by name (importlib, as config/cli.py's GROUPS does) is not an edge: that is
how the shell keeps `evgate simulate` free of the server side.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The rooms and whom each may import (besides itself). A new top-level package must be
# added here before its first import of ours passes.
SERVER = frozenset(
    {"gateway", "tariffs", "store", "billing", "config", "metering", "services", "mail", "portal"}
)
ALLOWED: dict[str, frozenset[str]] = {
    # pure cores and the storage room: none of ours
    "tariffs": frozenset(),
    "store": frozenset(),
    # the mails' words and messages (pure): none of ours
    "mail": frozenset(),
    # the metering core hands the tariff engine its trace (tariffs.SessionTrace)
    "metering": frozenset({"tariffs"}),
    # the simulators speak OCPP over the wire: nothing of the server side
    "simulators": frozenset(),
    "billing": frozenset({"tariffs", "store", "metering", "mail"}),
    "gateway": frozenset({"tariffs", "store", "metering"}),
    "services": frozenset({"gateway", "billing", "store", "tariffs", "metering", "mail"}),
    # the web portal: pages over the same use cases as the API (services), the store's reads
    # as the API's GET routes do, and billing's views, forms and estimate; nothing imports it
    # but config's composition (config.compose installs it on the API app)
    "portal": frozenset({"services", "store", "billing"}),
    # the shell: anything shipped but the simulators (whose `simulate` group config/cli.py
    # names as a string in GROUPS and loads with importlib only when asked for)
    "config": SERVER - {"config"},
    # the benchmark harness drives everything, and ships in no wheel
    "bench": SERVER | {"simulators"},
}


def our_packages() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wheel = project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    checked = project["tool"]["mypy"]["files"]
    return sorted(set(wheel) | set(checked))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def our_modules() -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for package in our_packages():
        for path in sorted((ROOT / package).rglob("*.py")):
            modules[module_name(path)] = path
    return modules


def _imported(node: ast.AST, module: str, is_package: bool, ours: set[str]) -> Iterator[str]:
    """The modules of ours one import statement loads (the named module, not its parents)."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name in ours:
                yield alias.name
        return
    assert isinstance(node, ast.ImportFrom)
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join([*base, *([node.module] if node.module else [])])
    else:
        target = node.module or ""
    for alias in node.names:
        sub = f"{target}.{alias.name}"
        if sub in ours:  # `from store import schema`: the submodule
            yield sub
        elif target in ours:  # `from store.schema import sessions`: the module
            yield target


def import_graph() -> dict[str, set[str]]:
    modules = our_modules()
    ours = set(modules)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):  # every level: module, function, class, if-blocks
            if isinstance(node, ast.Import | ast.ImportFrom):
                graph[name].update(t for t in _imported(node, name, is_package, ours) if t != name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle per strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_circle_in(graph, c) for c in components]


def _circle_in(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A concrete circle through the component's first module (breadth-first, shortest)."""
    start = min(component)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & component):
                if w == start:
                    return [*paths[v], start]
                if w not in paths:
                    paths[w] = [*paths[v], w]
                    nxt.append(w)
        frontier = nxt
    raise AssertionError(f"no circle in {component}")  # pragma: no cover


def test_every_package_has_a_room() -> None:
    missing = [p for p in our_packages() if p not in ALLOWED]
    assert not missing, f"add {missing} to ALLOWED in {Path(__file__).name}: whom may it import?"


def test_no_import_circles() -> None:
    found = cycles(import_graph())
    assert not found, "import circles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_rooms_import_only_what_the_house_rule_allows() -> None:
    wrong = sorted(
        f"{src} imports {dst}"
        for src, targets in import_graph().items()
        for dst in targets
        if (a := src.split(".")[0]) != (b := dst.split(".")[0]) and b not in ALLOWED.get(a, ())
    )
    assert not wrong, "imports against the rooms' direction:\n" + "\n".join(wrong)


def test_only_the_composition_imports_the_portal() -> None:
    wrong = sorted(
        f"{src} imports {dst}"
        for src, targets in import_graph().items()
        for dst in targets
        if dst.split(".")[0] == "portal"
        and src.split(".")[0] != "portal"
        and src != "config.compose"
    )
    assert not wrong, "only config.compose may import the portal:\n" + "\n".join(wrong)


def test_the_simulate_group_is_loaded_lazily_by_name() -> None:
    """config may reach the simulators only through the `simulate` entry of GROUPS."""
    tree = ast.parse((ROOT / "config" / "cli.py").read_text())
    names = [
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]
    assert "simulators.cli" in names


def test_the_graph_sees_what_it_must() -> None:
    """The parser itself: relative, function-level and `from package import submodule`."""
    graph = {
        "a": {"a.b"},
        "a.b": {"a.c"},
        "a.c": {"a"},
        "d": set(),
    }
    assert cycles(graph) == [["a", "a.b", "a.c", "a"]]
    ours = {"p", "p.q", "p.r", "p.r.s"}
    tree = ast.parse("def f():\n    from . import q\n    from .r import s, t\n")
    got = {
        t
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for t in _imported(node, "p.x", False, ours)
    }
    assert got == {"p.q", "p.r.s", "p.r"}
