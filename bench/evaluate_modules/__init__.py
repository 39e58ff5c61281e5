"""bench's ROUGE and SQuAD as `evaluate` modules, which give bench's exact numbers offline.

    import evaluate
    from bench.evaluate_modules import path

    rouge = evaluate.load(path("rouge"))
    rouge.compute(predictions=["a cat sat"], references=[["the cat sat"]])

Each module is a directory holding a script of its name (as `evaluate.load`
expects), whose `_compute` calls `bench.api.score`: the numbers are bench's,
with bench's defaults (stemming and sentence splitting on for ROUGE), and
nothing is downloaded. ``python -m bench.evaluate_modules rouge`` prints a
module's path.
"""

from __future__ import annotations

from pathlib import Path

#: The modules shipped, by name.
NAMES = ("rouge", "squad")


def path(name: str) -> str:
    """The directory `evaluate.load` reads bench's module `name` from (one of NAMES)."""
    if name not in NAMES:
        from bench.errors import BenchError

        raise BenchError(f"bench ships no evaluate module {name!r}", hint=f"its modules: {', '.join(NAMES)}")
    return str(Path(__file__).resolve().parent / name)


__all__ = ["NAMES", "path"]
