"""`bench validate`: check tasks and fixtures before anything runs.

Imports nothing heavy for fixture tasks; `datasets` only to load a dataset task that is named.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from bench.cli.options import Bundled, TasksDirs
from bench.cli.output import echo


def validate(
    targets: Annotated[Optional[list[str]], typer.Argument(
        metavar="TARGET", help="Task names, task .yaml files, folders of them, or fixture files. Default: every task (those of "
             "--tasks-dir when given).",
        show_default=False)] = None,
    tasks_dir: TasksDirs = None,
    bundled: Bundled = False,
) -> None:
    """Check task definitions and fixtures; report every problem with file:line (exit 2)."""
    from bench.api import validate as check

    lines, problems = check(targets or [], tasks_dir or [], bundled=bundled)
    for line in lines:
        echo(line)
    if problems is not None:
        raise problems
