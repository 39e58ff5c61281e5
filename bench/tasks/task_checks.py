"""Check task definitions and their data before anything runs.

`validate_targets` takes task names, task files, folders of task files, or
fixture files, and checks each: the definition (keys, types, metrics, field
mapping), then every example (JSON syntax, UTF-8, required fields and types,
unique ids, non-empty references, answers that are exact spans of their
context at `answer_start`). It returns one summary line per clean task and
every problem found, so they can all be reported at once. `bench run` runs
the same checks (`bench.tasks.examples.load_examples`) before any model loads.

A task that names a Hub dataset is only loaded when it is named explicitly;
otherwise its definition alone is checked. A draft task (``draft: true``) is
checked when it is named or its file or folder is given; with no target it is
skipped with a note (a "skip" line), so a half-done task never fails the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.errors import EXIT_USAGE, BenchError, BenchErrors, relpath
from bench.io import IS_A_DIRECTORY, NO_SUCH_FILE, not_a_regular_file, parse_jsonl
from bench.registry import did_you_mean
from bench.tasks.datasets import check_dataset
from bench.tasks.definition import TASK_TYPES, MetricCheck, load_task
from bench.tasks.discovery import default_tasks, discover_tasks, is_draft
from bench.tasks.fixtures import check_fixture
from bench.tasks.locations import validate_command
from bench.tasks.records import Task


@dataclass(frozen=True)
class Target:
    """A task to check, as a name, a file or a folder given to `bench validate` resolved to it."""

    task: Task
    load_data: bool
    """False: a Hub dataset task checked by its definition only."""
    label: str = ""
    """What to call it in the summary (the task name, or a fixture's path)."""


def _errors_of(e: BenchError) -> list[BenchError]:
    return list(e.errors) if isinstance(e, BenchErrors) else [e]


def _fixture_task(path: Path) -> tuple[Task | None, list[BenchError]]:
    """A task over a fixture no task definition uses, with the default field names of its type."""
    if path.suffix == ".json":
        type_name = "qa"
    else:
        rows, errors = parse_jsonl(path)
        keys = {k for _, obj in rows for k in obj}
        if not rows:
            return None, [e for _, e in errors]
        if keys & {"context", "question", "answers"}:
            type_name = "qa"
        elif keys & {"document", "references"}:
            type_name = "summarization"
        else:
            return None, [BenchError(
                "cannot tell whether this is a summarization fixture (document, references) or a QA fixture "
                "(context, question, answers)", where=relpath(path),
                hint="validate it through a task definition that uses it: bench validate TASK",
            )]
    ttype = TASK_TYPES.get(type_name)
    full = path.resolve()
    return Task(name=path.stem, version=1, type=type_name, fixture=full, fields={f: f for f in ttype.fields},
                metrics=ttype.default_metrics, path=full, hash=""), []


def _resolve(targets: Sequence[str], task_dirs: Sequence[Path], metric_check: MetricCheck | None,
             bundled: bool = False) -> tuple[list[Target], list[BenchError], list[str]]:
    """(tasks to check, problems, notes about draft tasks skipped)."""
    errors: list[BenchError] = []
    out: list[Target] = []
    notes: list[str] = []
    known = discover_tasks(task_dirs)

    def load(path: Path, explicit: bool, label: str = "") -> None:
        try:
            task = load_task(path, metric_check)
        except BenchError as e:
            errors.extend(_errors_of(e))
            return
        load_data = explicit or task.dataset is None or task.dataset.is_local
        out.append(Target(task, load_data, label or task.name))

    if not targets:
        for name, path in default_tasks(known, task_dirs, bundled=bundled).items():
            if is_draft(path):
                notes.append(f"skip  {name}: a draft (draft: true in {relpath(path)}); "
                             f"`{validate_command(name, path)}` checks it")
            else:
                load(path, explicit=False)
        return out, errors, notes
    for target in targets:
        p = Path(target)
        problem = not_a_regular_file(p)
        if problem not in ("", NO_SUCH_FILE, IS_A_DIRECTORY):  # a FIFO, a device, a link loop, a bad name
            errors.append(BenchError(f"cannot read file: {problem}", where=relpath(p),
                                     hint="give a task name, a task .yaml, a folder of them, or a fixture file"))
        elif target in known and not p.is_file():
            load(known[target], explicit=True)
        elif p.is_dir():
            files = sorted([*p.glob("*.yaml"), *p.glob("*.yml")])
            if not files:
                errors.append(BenchError("folder has no task definitions (.yaml)", where=relpath(p)))
            for f in files:
                load(f, explicit=False)
        elif p.is_file() and p.suffix in (".yaml", ".yml"):
            load(p, explicit=True)
        elif p.is_file():
            users = []
            for path in known.values():
                try:
                    t = load_task(path, metric_check)
                except BenchError:
                    continue
                if t.fixture is not None and t.fixture == p.resolve():
                    users.append(t)
            if users:
                out.extend(Target(t, True, t.name) for t in users)
            else:
                task, errs = _fixture_task(p)
                errors.extend(errs)
                if task is not None:
                    out.append(Target(task, True, relpath(p)))
        else:
            errors.append(BenchError(
                f"no task or file {target!r}.{did_you_mean(target, list(known))}",
                hint=f"known tasks: {', '.join(known)}; or give a task .yaml, a folder of them, or a fixture file",
            ))
    return out, errors, notes


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def check_target(target: Target) -> tuple[str | None, list[BenchError]]:
    """(summary line when clean, problems) for one task."""
    task = target.task
    kind = f"{task.type}, metrics {', '.join(task.metrics)}" + (f", hash {task.short_hash}" if task.hash else "")
    if task.dataset is not None and not target.load_data:
        return (f"ok  {target.label}: definition only ({task.type}, dataset {task.dataset.describe()}; "
                f"name the task to load and check its data)"), []
    try:
        if task.dataset is not None:
            _, errors, n = check_dataset(task)
            source = f"dataset {task.dataset.describe()}"
        else:
            rows, errors = check_fixture(task)
            n = len(rows)
            source = relpath(task.fixture) if task.fixture else ""
    except BenchError as e:
        return None, _errors_of(e)
    if errors:
        return None, errors
    draft = "; a draft: remove 'draft: true' from its file to run it" if task.draft else ""
    return f"ok  {target.label}: {_plural(n, 'example')} ({kind}) from {source}{draft}", []


def validate_targets(targets: Sequence[str], task_dirs: Sequence[Path] = (),
                     metric_check: MetricCheck | None = None, *, bundled: bool = False,
                     ) -> tuple[list[str], list[BenchError]]:
    """Check the tasks named by `targets` (when empty: those of `task_dirs`, with the bundled ones too when
    `bundled`, or the bundled ones when no directory is given): (summary lines, problems).

    `metric_check` checks the metrics each task names (`bench.api.load_task`).
    """
    resolved, errors, lines = _resolve(targets, task_dirs, metric_check, bundled)
    for target in resolved:
        line, problems = check_target(target)
        if line:
            lines.append(line)
        errors.extend(problems)
    return lines, errors


def raise_problems(errors: list[BenchError]) -> None:
    """One BenchErrors for every problem: exit 2 when any is bad input, else the environment's code."""
    if errors:
        codes = {e.exit_code for e in errors}
        raise BenchErrors(errors, exit_code=EXIT_USAGE if EXIT_USAGE in codes else max(codes))
