"""Name -> object registries with a duplicate check and a did-you-mean on a miss."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import Generic, TypeVar

from bench.errors import BenchError

T = TypeVar("T")


#: What a name that becomes a directory under results/ may look like (a task's, or a model's given with --name).
#: It starts and ends with a letter or digit, because a directory name drops leading and trailing '.', '_' and
#: '-' (so 'x.', '_x' and 'x' would share one results directory).
MAX_DIRECTORY_NAME = 100
DIRECTORY_NAME_PATTERN = re.compile(rf"[A-Za-z0-9](?:[A-Za-z0-9_.-]{{0,{MAX_DIRECTORY_NAME - 2}}}[A-Za-z0-9])?")
#: How to write such a name, for a hint.
DIRECTORY_NAME_RULE = (f"use letters, digits, '-', '_' and '.', starting and ending with a letter or digit (no path "
                       f"separators, no '..'), at most {MAX_DIRECTORY_NAME} characters")


def is_directory_name(name: object) -> bool:
    """Whether `name` can be a directory name under results/ as it is (`DIRECTORY_NAME_PATTERN`, no '..')."""
    return isinstance(name, str) and DIRECTORY_NAME_PATTERN.fullmatch(name) is not None and ".." not in name


def did_you_mean(name: str, choices: list[str] | tuple[str, ...]) -> str:
    """A ' Did you mean ...?' suffix for an unknown `name`, or '' when nothing is close."""
    close = difflib.get_close_matches(name, list(choices), n=3, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in choices}
        close = [lowered[c] for c in difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=0.6)]
    if not close:
        return ""
    return " Did you mean " + " or ".join(repr(c) for c in close) + "?"


class Registry(Generic[T]):
    """An ordered dict of named things of one `kind` ("model", "task", "metric")."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, item: T) -> T:
        if name in self._items:
            raise BenchError(f"{self.kind} {name!r} is registered twice")
        self._items[name] = item
        return item

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            known = list(self._items)
            raise BenchError(
                f"unknown {self.kind} {name!r}.{did_you_mean(name, known)}",
                hint=f"known {self.kind}s: {', '.join(known) or '(none)'}",
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def items(self):
        return self._items.items()

    def names(self) -> list[str]:
        return list(self._items)
