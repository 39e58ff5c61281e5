"""`bench list`: the tasks (type, size, metrics), models (kind, tasks they can do) and metrics there are."""

from __future__ import annotations

from bench.cli.options import TasksDirs
from bench.cli.output import cell, console


def list_tasks_and_models(tasks_dir: TasksDirs = None) -> None:
    """List tasks (type, size, metrics), models (kind, tasks they can do) and metrics (what they read, options).

    A task whose definition is broken gets a row with its problem, the other tasks are listed as usual, and
    the problems are reported at the end (exit 2).
    """
    from rich.table import Table

    from bench.errors import BenchError, BenchErrors, relpath

    from bench.models import MODELS, entry_point_models
    from bench.tasks.definition import discover_tasks, load_task
    from bench.tasks.examples import count_examples

    out = console()
    table = Table(title="tasks")
    for col in ("task", "type", "examples", "metrics", "version", "hash", "description"):
        table.add_column(col, justify="right" if col == "examples" else "left")
    problems: list[BenchError] = []
    for name, path in discover_tasks(tasks_dir or []).items():
        try:
            t = load_task(path)
        except BenchError as e:
            found = list(e.errors) if isinstance(e, BenchErrors) else [e]
            problems.extend(found)
            n = len(found)
            table.add_row(cell(name), "-", "-", "-", "-", "-",
                          cell(f"not loaded: {n} problem{'s' if n != 1 else ''} in {relpath(path)} (below)"))
            continue
        label = f"{name} (draft)" if t.draft else name
        table.add_row(cell(label), cell(t.type), str(count_examples(t)) if t.fixture else "?",
                      cell(", ".join(t.metrics)), str(t.version), cell(t.short_hash), cell(t.description, multiline=True))
    out.print(table)
    table = Table(title="models")
    for col in ("model", "kind", "tasks", "points to", "description"):
        table.add_column(col)
    specs = list(dict(MODELS.items()).values()) + list(entry_point_models().values())
    for s in specs:
        table.add_row(cell(s.name), cell(s.kind), cell(", ".join(s.task_types)), cell(s.target or ""),
                      cell(s.description, multiline=True))
    out.print(table)
    out.print("Any Hugging Face hub id (org/name) or local model directory also works as --model "
              "(needs the 'hf' extra), as does package.module:ClassName.")
    out.print(metrics_table())
    out.print("A metric of your own also works as --metric package.module:ClassName (or a bench.metrics entry "
              "point), and any metric the evaluate library loads offline as --metric evaluate:NAME_OR_PATH.")
    if problems:
        raise BenchErrors(problems)


def metrics_table():
    """The built-in metrics and those entry points register: what each reads, the task types it is for, its
    options (`--metric-opt NAME.key=value`) and what it is."""
    from dataclasses import MISSING, fields

    from rich.table import Table

    from bench.metrics import METRICS, entry_point_metrics
    from bench.metrics.model_based.judge import JUDGES

    table = Table(title="metrics")
    for col in ("metric", "reads", "tasks", "options", "description"):
        table.add_column(col)
    classes = {**dict(METRICS.items()), **{cls.name: cls for cls in JUDGES.values()}, **entry_point_metrics()}
    for name, cls in classes.items():
        options = []
        for f in fields(cls.Options):
            default = f.default if f.default is not MISSING else (
                f.default_factory() if f.default_factory is not MISSING else None)  # type: ignore[misc]
            options.append(f"{f.name}={default}")
        reads = ", ".join(n for n in ("prediction", "references", "document", "question", "no_answer_score")
                          if n in cls.needs)
        table.add_row(cell(name), cell(reads), cell(", ".join(cls.task_types) or "any"),
                      cell(", ".join(options) or "-", multiline=True), cell(cls.description, multiline=True))
    return table
