"""bench's own import graph, read with ast: the stage order of docs/development.md, no cycles, no private names
across modules, records stand alone, the command line through the API.

Every import statement counts, those inside functions too: a deferred import
(which keeps torch off the command line's path) still goes one way only, from
the factory down.
"""

from __future__ import annotations

import ast
from pathlib import Path

import re

import pytest

from conftest import REPO

PACKAGE = REPO / "bench"
DEVELOPMENT = REPO / "docs" / "development.md"


def module_name(path: Path, root: Path = REPO) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(package: Path = PACKAGE) -> dict[str, Path]:
    return {module_name(p, package.parent): p for p in sorted(package.rglob("*.py")) if "_bundled" not in p.parts}


def imports(path: Path, known: dict[str, Path], root: Path = REPO) -> list[tuple[str, list[str], int]]:
    """(imported bench module, names taken from it, line) for each import of a bench module in `path`."""
    out = []
    me = module_name(path, root)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, [], node.lineno) for a in node.names if a.name.split(".")[0] == "bench"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.split(".")[0] != "bench":
                continue
            names = []
            for a in node.names:
                sub = f"{target}.{a.name}"
                if sub in known:  # `from bench.models import baselines`: an import of the submodule
                    out.append((sub, [], node.lineno))
                else:
                    names.append(a.name)
            if names:  # names taken from the module itself (a package's __init__ included)
                out.append((target, names, node.lineno))
    return out


def graph() -> dict[str, set[str]]:
    known = modules()
    return {m: {t for t, _, _ in imports(p, known) if t in known and t != m} for m, p in known.items()}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(g[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return found


def test_the_graph_is_read():
    g = graph()
    assert "bench.cli.app" in g and "bench.errors" in g["bench.registry"]
    assert len(g) > 30


def test_no_import_cycle_among_bench_modules():
    assert cycles(graph()) == []


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_private_name_is_imported_from_another_module():
    known = modules()
    hits = [f"{p.relative_to(REPO)}:{line}: {name} from {target}"
            for m, p in known.items() for target, names, line in imports(p, known)
            for name in names if name.startswith("_") and not name.startswith("__")]
    assert hits == []


def test_records_import_nothing_from_the_rest_of_bench():
    known = modules()
    records = [m for m in known if m.rpartition(".")[2] == "records"]
    assert records, "no records module"
    hits = [f"{m} imports {target}" for m in records for target, _, _ in imports(known[m], known)]
    assert hits == []


# ------------------------------------------------------------------ the stage order


def floors(text: str) -> list[tuple[int, list[str]]]:
    """The floors of the table after the ``<!-- floors -->`` marker in docs/development.md: (floor, the paths in
    backticks on its row: ``bench/tasks/`` a package, ``bench/io.py`` a module)."""
    rows = text.split("<!-- floors -->", 1)[1].strip().split("\n\n", 1)[0].splitlines()
    out = []
    for row in rows:
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if cells and cells[0].isdigit():
            out.append((int(cells[0]), re.findall(r"`(bench/[^`]*)`", row)))
    return out


def floor_of(path: str, table: list[tuple[int, list[str]]]) -> int | None:
    """The floor of a module's path (`bench/metrics/catalog.py`): its own row's, or its longest package's."""
    best: tuple[int, int] | None = None
    for floor, paths in table:
        for p in paths:
            if path == p or (p.endswith("/") and path.startswith(p)):
                if best is None or len(p) > best[0]:
                    best = (len(p), floor)
    return None if best is None else best[1]


def upward_imports(table: list[tuple[int, list[str]]], package: Path = PACKAGE) -> list[str]:
    """Every import from a lower floor to a higher one, as ``file:line: module (floor a) imports module (floor
    b)``; a module on no floor is named too."""
    root = package.parent
    known = modules(package)
    out = []
    for m, p in known.items():
        rel = p.relative_to(root).as_posix()
        mine = floor_of(rel, table)
        if mine is None:
            out.append(f"{rel}: on no floor of docs/development.md")
            continue
        for target, _, line in imports(p, known, root):
            theirs = floor_of(known[target].relative_to(root).as_posix(), table) if target in known else None
            if theirs is not None and theirs > mine:
                out.append(f"{rel}:{line}: {m} (floor {mine}) imports {target} (floor {theirs})")
    return out


def test_the_floors_are_read_from_the_docs():
    table = floors(DEVELOPMENT.read_text(encoding="utf-8"))
    assert [f for f, _ in table] == sorted(f for f, _ in table) and len(table) >= 8
    assert floor_of("bench/errors.py", table) < floor_of("bench/tasks/records.py", table) \
        < floor_of("bench/metrics/catalog.py", table) < floor_of("bench/cli/app.py", table)


def test_no_import_runs_up_the_stages():
    assert upward_imports(floors(DEVELOPMENT.read_text(encoding="utf-8"))) == []


def test_an_upward_import_is_found_with_its_file_and_line(tmp_path):
    pkg = tmp_path / "bench"
    for rel, text in {"__init__.py": "", "errors.py": "", "tasks/__init__.py": "",
                      "tasks/records.py": "from bench.errors import X\n\n\nfrom bench.metrics import catalog\n",
                      "metrics/__init__.py": "", "metrics/catalog.py": "from bench.tasks.records import Task\n"}.items():
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_text(text)
    table = [(1, ["bench/errors.py"]), (2, ["bench/tasks/"]), (3, ["bench/metrics/", "bench/__init__.py"])]
    assert upward_imports(table, pkg) == [
        "bench/tasks/records.py:4: bench.tasks.records (floor 2) imports bench.metrics.catalog (floor 3)"]


# ------------------------------------------------------------------ the command line goes through the API

#: What modules under bench/cli/ may import of bench: the API, errors, the version, and each other.
CLI_MAY_IMPORT = ("bench.api", "bench.errors", "bench.version", "bench.cli")


@pytest.mark.parametrize("path", sorted((PACKAGE / "cli").glob("*.py")), ids=lambda p: p.name)
def test_the_command_line_imports_only_the_api(path):
    known = modules()
    hits = [f"{path.relative_to(REPO)}:{line}: {target}" for target, _, line in imports(path, known)
            if not any(target == m or target.startswith(m + ".") for m in CLI_MAY_IMPORT)]
    assert hits == []


# ------------------------------------------------------------------ the shape of the tree

#: The longest module bench keeps; a longer one is split by what its parts do.
MAX_MODULE_LINES = 500


def _python_files() -> list[Path]:
    skip = {".venv", "_bundled", "build", "dist"}
    return [p for top in ("bench", "tests", "benchmarks") for p in sorted((REPO / top).rglob("*.py"))
            if not skip & set(p.relative_to(REPO).parts)]


def test_no_two_modules_share_a_file_name():
    seen: dict[str, list[str]] = {}
    for p in _python_files():
        if p.name not in ("__init__.py", "__main__.py", "conftest.py"):
            seen.setdefault(p.name, []).append(p.relative_to(REPO).as_posix())
    assert {name: paths for name, paths in seen.items() if len(paths) > 1} == {}


def test_no_module_of_bench_is_over_500_lines():
    long = {p.relative_to(REPO).as_posix(): n for p in modules().values()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert long == {}
