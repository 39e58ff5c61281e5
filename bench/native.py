"""bench's C extension, `bench._native`, where it was built; None elsewhere.

It is compiled when bench is installed (hatch_build.py) and is optional: every
function in it has a Python equivalent in bench that gives the same results bit
for bit (ROUGE: `bench.metrics.rouge.lib_rouge`, checked by tests/metrics/test_native.py;
the bootstrap's means: numpy, same file; the usual JSON line: json, checked by
tests/test_io_native.py). An editable install whose bench/_native.c changed
since it was compiled is not used (its results could differ); `pip install -e .`
rebuilds it.
"""

from __future__ import annotations

import hashlib
import importlib
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def module():
    """The validated extension module, or None."""
    try:
        mod = importlib.import_module("bench._native")
    except ImportError:
        return None
    return mod if built_from(mod, Path(__file__).with_name("_native.c")) else None


def built_from(mod, source: Path) -> bool:
    """Whether `mod` was compiled from `source` as it is now (True where the source is not installed)."""
    try:
        current = hashlib.sha256(source.read_bytes()).hexdigest()
    except OSError:  # an installation without the source: the module is what was built
        return True
    if mod.SOURCE_SHA256 == current:
        return True
    import warnings

    warnings.warn(f"bench's C extension was built from an older {source.name} and is not used; "
                  "rebuild it with `pip install -e .`", RuntimeWarning, stacklevel=3)
    return False
