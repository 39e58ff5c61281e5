"""bench: an evaluation harness for summarization and extractive QA models.

Data flows one way: fixture -> task -> examples -> model -> predictions ->
metrics -> run record -> results files -> comparison tables.

The package root stays light (no torch, transformers or datasets) so the
command line starts instantly; the public API is imported lazily.
"""

from __future__ import annotations

from bench.version import __version__

__all__ = ["__version__", "BenchError", "run", "score", "compare", "load_task", "list_tasks"]


def __getattr__(name: str):
    if name == "BenchError":
        from bench.errors import BenchError

        return BenchError
    if name in ("run", "score", "compare", "load_task", "list_tasks"):
        from bench import api

        return getattr(api, name)
    raise AttributeError(f"module 'bench' has no attribute {name!r}")
