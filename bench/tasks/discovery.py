"""Finding task definitions: the bundled tasks and those in the directories given, by name or path; drafts
(``draft: true``) skipped by plain runs and refused when named to run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.errors import BenchError, BenchErrors, BenchWarning, relpath
from bench.io import IS_A_DIRECTORY, NO_SUCH_FILE, not_a_regular_file
from bench.registry import did_you_mean
from bench.tasks.definition import MetricCheck, load_task
from bench.tasks.locations import bundled_dir, key_line, validate_command
from bench.tasks.records import Task
from bench.tasks.task_yaml import MAX_TASK_FILE, AliasRefused, read_task_text, safe_load_unique_keys


def discover_tasks(task_dirs: Sequence[Path] = ()) -> dict[str, Path]:
    """Task name -> definition file, bundled tasks first, then each directory given."""
    found: dict[str, Path] = {}
    for d in [bundled_dir("tasks"), *task_dirs]:
        problem = not_a_regular_file(d)
        if problem in (NO_SUCH_FILE, ""):  # nothing there, or a file
            raise BenchError(f"tasks directory not found: {relpath(d)}",
                             hint="pass an existing directory to --tasks-dir")
        if problem != IS_A_DIRECTORY:
            raise BenchError(f"cannot read tasks directory: {problem}", where=relpath(d),
                             hint="pass an existing directory to --tasks-dir")
        for p in sorted([*d.glob("*.yaml"), *d.glob("*.yml")]):
            name = _task_name(p)
            if name in found and found[name].resolve() != p.resolve():
                raise BenchError(
                    f"task {name!r} is defined twice: {relpath(found[name])} and {relpath(p)}",
                    hint="rename one of them (the 'name' key)",
                )
            found[name] = p
    return found


def default_tasks(known: dict[str, Path], task_dirs: Sequence[Path] = (), *, bundled: bool = False,
                  ) -> dict[str, Path]:
    """The tasks a command takes when none is named: those of the directories given (and the bundled ones as
    well with `bundled`), or the bundled ones when no directory is given. A bundled task is found by name in
    every case (`known` holds them all)."""
    if not task_dirs:
        return dict(known)
    dirs = {Path(d).resolve() for d in task_dirs}
    if bundled:
        dirs.add(bundled_dir("tasks").resolve())
    return {name: p for name, p in known.items() if p.parent.resolve() in dirs}


def _peek(path: Path) -> dict[Any, Any]:
    """A task file's YAML mapping read without any check; {} when it cannot be read (load_task reports why)."""
    import yaml

    try:
        if not_a_regular_file(path) or path.stat().st_size > MAX_TASK_FILE:
            return {}
        spec = safe_load_unique_keys(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, AliasRefused):
        return {}
    return spec if isinstance(spec, dict) else {}


def _task_name(path: Path) -> str:
    """The task's `name` key, read without a full load (falls back to the file stem)."""
    name = _peek(path).get("name")
    return name if isinstance(name, str) and name else path.stem


def is_draft(path: Path) -> bool:
    """Whether a task file says ``draft: true``, read without a full load (so a broken draft blocks nothing)."""
    return _peek(path).get("draft") is True


def draft_note(name: str, path: Path) -> str:
    """What plain `bench run` and `bench validate` say about a draft task they skip."""
    return (f"skipped draft task {name!r} ({relpath(path)}): fill in its fixture, check it with "
            f"`{validate_command(name, path)}`, then remove 'draft: true' to run it")


def refuse_draft(task: Task) -> None:
    """A draft task named to run: refused with what to do, and what its data still lacks.

    `bench validate NAME` checks a draft like any task; only running it waits until
    its line ``draft: true`` is removed.
    """
    if not task.draft:
        return
    from bench.tasks.fixtures import check_fixture

    line = key_line(read_task_text(task.path), "draft")
    missing: list[BenchError] = []
    if task.fixture is not None:
        try:
            missing = check_fixture(task)[1]
        except BenchError as e:
            missing = list(e.errors) if isinstance(e, BenchErrors) else [e]
    then = (f"fill in what is missing (below), check it with `{validate_command(task.name, task.path)}`, then "
            "remove the line" if missing else "it validates: remove the line")
    refusal = BenchError(
        f"task {task.name!r} is a draft and does not run yet: {then} 'draft: true' "
        "from its file",
        where=f"{relpath(task.path)}:{line}" if line else relpath(task.path),
        hint="plain `bench run` and `bench validate` skip drafts; `bench validate NAME` checks one",
    )
    raise BenchErrors([refusal, *missing]) if missing else refusal


def resolve_tasks(names: Sequence[str], task_dirs: Sequence[Path] = (), metric_check: MetricCheck | None = None,
                  *, bundled: bool = False) -> list[Task]:
    """Tasks by name (or path to a .yaml file); when `names` is empty, those of `task_dirs` (with the bundled
    ones too when `bundled`), or the bundled ones when no directory is given (`default_tasks`).

    Each is read by `load_task` with `metric_check`.

    `bench run` without --task keeps only those that `runs_by_default`. Without
    names, draft tasks (``draft: true``) are skipped, each with a `BenchWarning`
    naming it; a draft named is refused (`refuse_draft`).
    """
    known = discover_tasks(task_dirs)
    if not names:
        import warnings

        tasks = []
        for name, p in default_tasks(known, task_dirs, bundled=bundled).items():
            if is_draft(p):
                warnings.warn(draft_note(name, p), BenchWarning, stacklevel=2)
            else:
                tasks.append(load_task(p, metric_check))
        return tasks
    tasks = []
    for n in names:
        p = Path(n)
        if p.suffix in (".yaml", ".yml") and not_a_regular_file(p) != NO_SUCH_FILE:  # load_task says what is wrong
            tasks.append(load_task(p, metric_check))
            refuse_draft(tasks[-1])
        elif n in known:
            tasks.append(load_task(known[n], metric_check))
            refuse_draft(tasks[-1])
        else:
            raise BenchError(
                f"unknown task {n!r}.{did_you_mean(n, list(known))}",
                hint=f"known tasks: {', '.join(known)} (or pass a path to a task .yaml file; see `bench list`)",
            )
    return tasks
