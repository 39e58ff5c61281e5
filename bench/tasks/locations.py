"""Where a top-level key sits in a task definition file, so that a message can point at ``file:line``."""

from __future__ import annotations

from pathlib import Path

from bench.errors import relpath


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
