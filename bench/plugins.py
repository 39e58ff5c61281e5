"""User code named on the command line (``package.module:Class``) or registered as an entry point: importing it,
and fingerprinting its source.

Shared by models and metrics: a user's class is identified by its source
files, so a changed class never reuses predictions or scores made by the old one.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.errors import EXIT_ENVIRONMENT, BenchError


def import_user_module(module_name: str):
    """Import a user's module; a module in the working directory is found too (as `python -m` would)."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        cwd = os.getcwd()
        if e.name != module_name.split(".")[0] or cwd in sys.path or "" in sys.path:
            raise
    sys.path.append(cwd)
    return importlib.import_module(module_name)


def code_fingerprint(cls: type, module_name: str | None = None) -> str | None:
    """sha256 of the source files a user's class (model or metric) comes from: the module it was named by, and the
    module of the class and of each of its own base classes (bench's are covered by bench's version).
    None when no source file can be found (a class made at run time)."""
    modules = {module_name} if module_name else set()
    modules |= {c.__module__ for c in getattr(cls, "__mro__", (cls,))
                if c is not object and not c.__module__.startswith(("bench.", "builtins"))}
    files = {}
    for name in sorted(m for m in modules if m):
        module = sys.modules.get(name)
        path = getattr(module, "__file__", None)
        if path and path.endswith(".py") and os.path.isfile(path):
            files[name] = path
    if not files:
        return None
    digest = hashlib.sha256()
    for name, path in sorted(files.items()):
        try:
            data = Path(path).read_bytes()
        except OSError as e:
            raise BenchError(f"cannot read the source of module {name!r}: {e.strerror}", where=path,
                             exit_code=EXIT_ENVIRONMENT) from None
        digest.update(f"{name}\0{len(data)}\0".encode() + data)
    return digest.hexdigest()[:16]


def import_named(name: str, kind: str, missing_hint: str | None = None) -> Any:
    """The object ``package.module:Attribute`` names, for a `kind` ("model", "metric") asked for by `name`."""
    module_name, _, attr = name.partition(":")
    try:
        module = import_user_module(module_name)
    except ImportError as e:
        raise BenchError(f"cannot import module {module_name!r} for {kind} {name!r}: {e}",
                         hint="is the package installed, or its directory on PYTHONPATH?") from None
    obj = getattr(module, attr, None)
    if obj is None:
        raise BenchError(f"module {module_name!r} has no attribute {attr!r}", hint=missing_hint)
    return obj


def entry_points(group: str, kind: str) -> list[tuple[str, str, Any]]:
    """(name, value, loaded object) of each entry point of `group`; one that fails to load is an error."""
    found = []
    for ep in metadata.entry_points(group=group):
        try:
            obj = ep.load()
        except Exception as e:
            raise BenchError(f"cannot load {kind} entry point {ep.name!r} ({ep.value}): {e}",
                             exit_code=EXIT_ENVIRONMENT) from None
        found.append((ep.name, ep.value, obj))
    return found
