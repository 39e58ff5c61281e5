"""bench's own import graph, read with ast: no cycles, no private names across modules, records stand alone.

Every import statement counts, those inside functions too: a deferred import
(which keeps torch off the command line's path) still goes one way only, from
the factory down.
"""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "bench"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "_bundled" not in p.parts}


def imports(path: Path, known: dict[str, Path]) -> list[tuple[str, list[str], int]]:
    """(imported bench module, names taken from it, line) for each import of a bench module in `path`."""
    out = []
    me = module_name(path)
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
