"""`bench fixture import`: fixtures and tasks from plain article files.

Imports nothing heavy: parsing and writing are plain Python.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bench.cli.options import BenchCommand
from bench.cli.output import echo
from bench.errors import relpath

#: The `bench fixture` command group.
fixture_app = typer.Typer(
    name="fixture", help="Make fixtures and task definitions from your own data.", no_args_is_help=True,
    add_completion=False, rich_markup_mode=None,
)


@fixture_app.command("import", cls=BenchCommand)
def import_(
    files: Annotated[list[Path], typer.Argument(
        metavar="FILE", help="Article files (line 1 headline, line 2 date YYYYMMDD, line 3 URL, then the body), "
             "or folders of .txt article files.", show_default=False)],
    name: Annotated[str, typer.Option("--name", "-n", metavar="NAME", help="Name of the fixtures and tasks: NAME-headline, "
                                      "NAME-summarization, NAME-qa.", show_default=False)],
    fixtures_dir: Annotated[Path, typer.Option("--fixtures-dir", metavar="DIR",
                                               help="Where the fixtures go.")] = Path("fixtures"),
    tasks_dir: Annotated[Path, typer.Option("--tasks-dir", metavar="DIR",
                                            help="Where the task definitions go.")] = Path("tasks"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
) -> None:
    """Make a headline task (ready to run) and summarization and QA tasks (to fill in) from articles."""
    from bench.api import import_articles

    articles, tasks = import_articles(files, name, fixtures_dir, tasks_dir, force=force)
    n = len(articles)
    echo(f"imported {n} article{'s' if n != 1 else ''} as {len(tasks)} tasks:")
    width = max(len(t.name) for t in tasks)
    fwidth = max(len(relpath(t.task_file)) for t in tasks)
    for t in tasks:
        echo(f"  {t.name:<{width}}  {relpath(t.task_file):<{fwidth}}  {relpath(t.fixture_file)}")
    td = relpath(tasks_dir)
    ready = [t for t in tasks if t.ready]
    todo = [t for t in tasks if not t.ready]
    echo("next:")
    for t in ready:
        echo(f"  bench validate {t.name} --tasks-dir {td}")
        echo(f"  bench run --model lead-3 --task {t.name} --tasks-dir {td}")
    for t in todo:
        what = "reference summaries" if t.name.endswith("-summarization") else "questions and answers"
        echo(f"  {t.name}: write {what} in {relpath(t.fixture_file)} (see the comments in "
                   f"{relpath(t.task_file)}); a draft until then, skipped by plain `bench run`: when "
                   f"`bench validate {t.name} --tasks-dir {td}` passes, delete its line 'draft: true'")
