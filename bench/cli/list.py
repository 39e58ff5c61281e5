"""`bench list`: the tasks (type, size, metrics), models (kind, tasks they can do) and metrics there are."""

from __future__ import annotations

from bench.cli.options import Bundled, TasksDirs
from bench.cli.output import cell, console


def list_tasks_and_models(tasks_dir: TasksDirs = None, bundled: Bundled = False) -> None:
    """List tasks (type, size, metrics), models (kind, tasks they can do) and metrics (what they read, options).

    A task whose definition is broken gets a row with its problem, the other tasks are listed as usual, and
    the problems are reported at the end (exit 2).
    """
    from rich.table import Table

    from bench.api import describe_catalog
    from bench.errors import BenchError, BenchErrors, relpath

    catalog = describe_catalog(tasks_dir or [], bundled=bundled)
    out = console()
    table = Table(title="tasks")
    for col in ("task", "type", "examples", "metrics", "version", "hash", "description"):
        table.add_column(col, justify="right" if col == "examples" else "left")
    problems: list[BenchError] = []
    for row in catalog["tasks"]:
        name, t = row["name"], row["task"]
        if t is None:
            problems.extend(row["problems"])
            n = len(row["problems"])
            table.add_row(cell(name), "-", "-", "-", "-", "-",
                          cell(f"not loaded: {n} problem{'s' if n != 1 else ''} in {relpath(row['path'])} (below)"))
            continue
        label = f"{name} (draft)" if t.draft else name
        table.add_row(cell(label), cell(t.type), str(row["examples"]) if row["examples"] is not None else "?",
                      cell(", ".join(t.metrics)), str(t.version), cell(t.short_hash), cell(t.description, multiline=True))
    out.print(table)
    table = Table(title="models")
    for col in ("model", "kind", "tasks", "points to", "description"):
        table.add_column(col)
    for s in catalog["models"]:
        table.add_row(cell(s.name), cell(s.kind), cell(", ".join(s.task_types)), cell(s.target or ""),
                      cell(s.description, multiline=True))
    out.print(table)
    out.print("Any Hugging Face hub id (org/name) or local model directory also works as --model "
              "(needs the 'hf' extra), as does package.module:ClassName.")
    out.print(metrics_table(catalog["metrics"]))
    out.print("A metric of your own also works as --metric package.module:ClassName (or a bench.metrics entry "
              "point), and any metric the evaluate library loads offline as --metric evaluate:NAME_OR_PATH.")
    if problems:
        raise BenchErrors(problems)


def metrics_table(metrics: list[dict]):
    """The built-in metrics and those entry points register (`bench.api.describe_catalog`): what each reads, the
    task types it is for, its options (`--metric-opt NAME.key=value`) and what it is."""
    from rich.table import Table

    table = Table(title="metrics")
    for col in ("metric", "reads", "tasks", "options", "description"):
        table.add_column(col)
    for m in metrics:
        options = ", ".join(f"{k}={v}" for k, v in m["options"].items())
        table.add_row(cell(m["name"]), cell(", ".join(m["reads"])), cell(", ".join(m["task_types"]) or "any"),
                      cell(options or "-", multiline=True), cell(m["description"], multiline=True))
    return table
