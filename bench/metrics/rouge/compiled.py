"""bench's ROUGE engine in C, `bench.metrics.rouge._engine`, where it was built; None elsewhere.

It is compiled from bench/metrics/rouge/_engine.c when bench is installed
(hatch_build.py) and is optional: bench's Python scorer
(`bench.metrics.rouge.lib_rouge`) gives the same numbers bit for bit, checked by
tests/metrics/test_c_engine.py. Not used:

- where ``BENCH_NO_NATIVE`` is set (to anything but 0) when bench runs, as when
  it is installed: bench then scores as if the module had not been built;
- an editable install whose _engine.c changed since it was compiled (its
  results could differ); `pip install -e .` rebuilds it.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from functools import lru_cache
from pathlib import Path

#: Set (to anything but "" or "0") at build time, nothing is compiled; at run time, the module is not loaded.
DISABLE_ENV = "BENCH_NO_NATIVE"
SOURCE = Path(__file__).with_name("_engine.c")


def disabled() -> bool:
    """Whether BENCH_NO_NATIVE turns compiled code off."""
    return os.environ.get(DISABLE_ENV, "").strip() not in ("", "0")


@lru_cache(maxsize=1)
def module():
    """The validated extension module, or None."""
    if disabled():
        return None
    try:
        mod = importlib.import_module("bench.metrics.rouge._engine")
    except ImportError:
        return None
    return mod if built_from(mod, SOURCE) else None


def built_from(mod, source: Path) -> bool:
    """Whether `mod` was compiled from `source` as it is now (True where the source is not installed)."""
    try:
        current = hashlib.sha256(source.read_bytes()).hexdigest()
    except OSError:  # an installation without the source: the module is what was built
        return True
    if mod.SOURCE_SHA256 == current:
        return True
    import warnings

    warnings.warn(f"bench's compiled ROUGE engine was built from an older {source.name} and is not used; "
                  "rebuild it with `pip install -e .`", RuntimeWarning, stacklevel=3)
    return False
