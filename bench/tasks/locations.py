"""Where things are, for messages: a top-level key in a task definition file (``file:line``), the bundled tasks
and fixtures, and the `bench validate` command that finds a task from where the user is."""

from __future__ import annotations

from pathlib import Path

from bench.errors import BenchError, relpath


def key_line(text: str, key: str) -> int | None:
    """The line number of a top-level `key:` in YAML text; None when no line starts with it."""
    for n, line in enumerate(text.splitlines(), start=1):
        if line.split("#")[0].rstrip().startswith(f"{key}:"):
            return n
    return None


def key_where(path: Path, key: str) -> str:
    """``tasks/x.yaml:7`` for the line of `key` in a task file (the file alone when not found)."""
    try:
        line = key_line(path.read_text(encoding="utf-8"), key)
    except (OSError, UnicodeDecodeError):
        line = None
    return f"{relpath(path)}:{line}" if line else relpath(path)


def bundled_dir(kind: str) -> Path:
    """The bundled `tasks` or `fixtures` directory (repository checkout or installed wheel)."""
    pkg = Path(__file__).resolve().parent.parent
    for candidate in (pkg / "_bundled" / kind, pkg.parent / kind):
        if candidate.is_dir():
            return candidate
    raise BenchError(f"bundled {kind} directory not found next to {pkg}", exit_code=3)


def validate_command(name: str, path: Path) -> str:
    """The `bench validate` command that checks task `name` (defined in `path`) from the working directory: by
    name for a bundled task, by its file's path for any other (a name alone is found only with --tasks-dir)."""
    try:
        bundled = Path(path).resolve().parent == bundled_dir("tasks").resolve()
    except BenchError:
        bundled = False
    return f"bench validate {name}" if bundled else f"bench validate {relpath(path)}"
