"""`<results>/leaderboard.md` and `<results>/leaderboard.csv`, regenerated from every run.

After each `bench run` both files are rebuilt from all runs in the results
directory: the latest run of each model on each task, with runs that cannot
share a column (another task hash, size or metric signature) in tables of
their own, exactly as `bench compare` shows them. Each file is written whole
or not at all (`bench.io.atomic_write`), under an exclusive `fcntl.flock` on
`<results>/.leaderboard.lock`, so concurrent `bench run`s leave both files
complete and built from the same set of runs.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.comparison.render_data import render_csv
from bench.comparison.render_markdown import render_markdown
from bench.comparison.select import build_sections, collect_runs, latest_runs
from bench.errors import BenchError, relpath
from bench.io import atomic_write

MARKDOWN = "leaderboard.md"
CSV = "leaderboard.csv"
LOCK = ".leaderboard.lock"


@contextmanager
def locked(results_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on `results_dir`/.leaderboard.lock (blocks until free)."""
    path = results_dir / LOCK
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise BenchError(f"cannot open the leaderboard lock file: {e.strerror}", where=relpath(path)) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def render_leaderboard(results_dir: Path) -> tuple[str, str]:
    """(leaderboard.md, leaderboard.csv) text for every run under `results_dir`."""
    sections = build_sections(latest_runs(collect_runs([results_dir])))
    md = ("# Leaderboard\n\n"
          "Regenerated after every `bench run` from all runs in this directory: the latest run of each model on "
          "each task. Runs that cannot share a column (another task hash, number of examples or metric "
          "signature) are in tables of their own. Every metric is shown; an arrow after a column's name says "
          "which way it is better (↑ higher, ↓ lower; none: a statistic that describes the outputs, with no best), "
          "and a `reference` row gives the same statistics for the task's references. "
          "`bench compare --baseline MODEL` adds paired significance tests.\n\n" + render_markdown(sections))
    return md, render_csv(sections)


def update_leaderboard(results_dir: str | Path) -> tuple[Path, Path]:
    """Rebuild both leaderboard files of `results_dir` atomically; returns their paths.

    A damaged results.json in the directory is a `BenchError` naming it (the
    runs themselves are already written; only the leaderboard is not updated).
    """
    root = Path(results_dir)
    md_path, csv_path = root / MARKDOWN, root / CSV
    with locked(root):
        try:
            md, csv_text = render_leaderboard(root)
        except BenchError as e:
            raise BenchError(f"{e.message} (the runs were written; {MARKDOWN} and {CSV} were not updated)",
                             where=e.where, hint=e.hint, exit_code=e.exit_code) from None
        atomic_write(md_path, md)
        atomic_write(csv_path, csv_text)
    return md_path, csv_path
