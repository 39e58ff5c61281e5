"""Provenance of a run: which bench, packages, commit, machine and command made it, and when.

Recorded in the ``provenance`` block of every results.json, so that a number
can be traced back to the software and hardware that produced it.
"""

from __future__ import annotations

import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.version import __version__

#: Packages whose versions can change a run's numbers (those not installed are left out).
PACKAGES = ("numpy", "datasets", "rouge-score-rs", "rouge_score", "nltk", "nupunkt", "spacy", "evaluate", "PyYAML",
            "typer", "torch", "transformers", "tokenizers", "accelerate", "sentencepiece")

#: The checkout bench runs from, when it runs from one: bench/results/provenance.py -> the repository root.
SOURCE_ROOT = Path(__file__).resolve().parents[2]


def package_versions() -> dict[str, str]:
    """bench's version and that of each installed package in `PACKAGES`."""
    out = {"bench": __version__}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            pass
    return out


def git_info(root: Path = SOURCE_ROOT) -> dict[str, Any]:
    """The commit of bench's own source when it runs from a git checkout ({} otherwise)."""
    if not (root / ".git").exists():
        return {}
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"git_commit": commit or None, "git_dirty": bool(dirty)}


def command_line(argv: list[str] | None = None) -> str | None:
    """The `bench ...` command that made the run (None when called from Python).

    `argv` defaults to `sys.argv`; both the `bench` script and `python -m bench` count.
    """
    argv = sys.argv if argv is None else argv
    argv0 = Path(argv[0]) if argv and argv[0] else None
    if argv0 is None or not (argv0.name == "bench" or argv0.parts[-2:] == ("bench", "__main__.py")):
        return None
    return " ".join(["bench", *argv[1:]])


def iso_time(ts: float) -> str:
    """A POSIX timestamp as UTC ISO 8601 to the second (``2026-01-01T00:00:00Z``)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def rouge_engine_name() -> str:
    """The engine that scores ROUGE with the default tokenizer (`c`, `rouge-score-rs-X.Y.Z` or `python`): the
    numbers are the same with each, and this says which one ran."""
    from bench.metrics.rouge import engines as rouge_engine

    return rouge_engine.name("default")


def provenance(device: str = "cpu") -> dict[str, Any]:
    """The provenance block of a run record (the caller adds ``started_at`` and ``finished_at``)."""
    return {
        "bench_version": __version__,
        "packages": package_versions(),
        "rouge_engine": rouge_engine_name(),
        **git_info(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "device": device,
        "command": command_line(),
    }
