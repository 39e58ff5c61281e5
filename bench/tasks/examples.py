"""From a task to its examples: check the data, select the rows, make one `Example` per row.

`load_examples` validates a task's data in full (a fixture) or the selected
rows (a dataset) before anything else happens, so a bad example stops a run
before any model loads. `--limit` and `--sample` choose the examples
(`select_indices`); `count_examples` counts a fixture's examples for `bench list`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.errors import BenchError, BenchErrors, BenchWarning
from bench.tasks.datasets import check_dataset, dataset_fingerprint, load_dataset_split
from bench.tasks.fixtures import parse_squad_json, validate_fixture
from bench.tasks.records import Example, Task, as_references

if TYPE_CHECKING:
    from bench.tasks.definition import MetricCheck


def select_indices(n: int, limit: int | None = None, sample: int | None = None, seed: int = 0) -> list[int] | None:
    """Which of `n` examples to use: None for all, the first `limit`, or a seeded sample.

    The sample is the `sample` indices with the smallest sha256 of ``"{seed}:{index}"``,
    in their original order: the same for a given seed on any machine and Python
    version, and a larger sample contains every smaller one with the same seed.
    """
    if limit is not None and sample is not None:
        raise BenchError("limit and sample cannot be used together",
                         hint="limit=N takes the first N examples, sample=N a seeded random N; pick one")
    for opt, value in (("limit", limit), ("sample", sample)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise BenchError(f"{opt} must be a positive integer, got {value!r}")
    if sample is not None:
        if sample >= n:
            return list(range(n))

        def key(i: int) -> bytes:
            return hashlib.sha256(f"{seed}:{i}".encode()).digest()

        return sorted(sorted(range(n), key=key)[:sample])
    if limit is not None:
        return list(range(min(limit, n)))
    return None


def example_from_row(task: Task, row: Mapping[str, Any]) -> Example:
    """One checked row of the task's data as an `Example`, through the task's field mapping."""
    f = task.fields
    if task.type == "qa":
        answers = row[f["answers"]]
        return Example(
            id=str(row[f["id"]]),
            input=row[f["context"]],
            question=row[f["question"]],
            references=tuple(answers["text"]),
            answer_starts=tuple(int(s) for s in answers["answer_start"]),
        )
    refs = row[f["references"]]
    return Example(
        id=str(row[f["id"]]),
        input=row[f["document"]],
        # One string is one reference (CNN/DailyMail's highlights keep their "\n" between sentences).
        references=tuple(as_references(refs)),
    )


def count_examples(task: Task) -> int | None:
    """Number of examples without validating them (for `bench list`); None for a dataset."""
    if task.fixture is None:
        return None
    if task.fixture.suffix == ".json":
        try:
            rows, _ = parse_squad_json(task.fixture)
        except BenchError:
            return None
        return len(rows)
    with task.fixture.open("rb") as f:
        return sum(1 for line in f if line.strip())


def load_examples(task: Task, *, limit: int | None = None, sample: int | None = None,
                  seed: int = 0) -> tuple[Task, list[Example]]:
    """Validate and load the examples; returns the task as loaded and its examples.

    `limit` keeps the first N examples, `sample` a seeded sample of N (see
    `select_indices`). A fixture is validated in full; a dataset is loaded with
    `datasets.load_dataset` and the selected rows are validated. The returned
    task's `hash` then also covers the dataset's fingerprint.
    """
    if task.dataset is not None:
        return _load_dataset_examples(task, limit, sample, seed)
    examples = _fixture_examples(task)
    chosen = select_indices(len(examples), limit, sample, seed)
    warn_if_all_used(task, len(examples), limit, sample)
    return task, examples if chosen is None else [examples[i] for i in chosen]


def documents_of(task_path: str | None, task_hash: str | None, ids: Sequence[str], *, where: str | None,
                 hint: str, metric_check: MetricCheck | None = None) -> list[str]:
    """The documents (each example's input) of the examples `ids` of a run, from the task definition at
    `task_path` (a run's ``config.task.path``), which must still be there and hash as `task_hash` did.

    Documents from an edited task would not be the ones the predictions were made from. `where` and `hint`
    go into the messages (the run that asks, and what the caller needs them for); `metric_check` checks the
    metrics the task names (`bench.tasks.definition.load_task`).
    """
    from bench.tasks.definition import load_task

    if not task_path or not Path(task_path).is_file():
        raise BenchError(f"cannot find the task definition of this run ({task_path or 'none recorded'})",
                         where=where, hint=hint)
    task, examples = load_examples(load_task(Path(task_path), metric_check))
    if task.hash != task_hash:
        raise BenchError(f"task {task.name!r} has changed since this run was made (its hash is "
                         f"{task.short_hash}, the run's {str(task_hash)[:12]})", where=where, hint=hint)
    by_id = {ex.id: ex.input for ex in examples}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise BenchError(f"example {missing[0]!r} of this run is not in task {task.name!r}", where=where, hint=hint)
    return [by_id[i] for i in ids]


def warn_if_all_used(task: Task, n: int, limit: int | None, sample: int | None) -> None:
    """A `BenchWarning` when `limit` or `sample` asks for more examples than the task has (all are used)."""
    import warnings

    for option, value in (("limit", limit), ("sample", sample)):
        if value is not None and value > n:
            warnings.warn(f"{option} {value} is more than the {n} example{'s' if n != 1 else ''} of task "
                          f"{task.name!r}: all {n} are used", BenchWarning, stacklevel=3)


def _fixture_examples(task: Task) -> list[Example]:
    """Every example of a fixture task, from the rows `validate_fixture` read and checked (no second reading).

    A JSONL fixture was once read a second time, by `datasets.load_dataset("json")`,
    for the same examples (about a second of importing `datasets` alone). Its
    Arrow columns gave the same Example for every row bench accepts (the mapped
    fields are present on each checked row, so Arrow's None for a missing key
    never reached one), with one exception, now gone: an integer id beyond 64
    bits became a float there ('1.2345678901234568e+29', two such ids the same
    one; or an error, "Value is too big!", beside string ids), where it is now
    its digits, as the duplicate-id check and `bench score` read it.
    """
    assert task.fixture is not None
    return [example_from_row(task, row) for row in validate_fixture(task)]


def _load_dataset_examples(task: Task, limit: int | None, sample: int | None,
                           seed: int) -> tuple[Task, list[Example]]:
    """The selected rows of a dataset task, validated; the task's hash then covers the dataset's fingerprint."""
    select_indices(0, limit, sample, seed)  # option errors before the (slow) load
    ds = load_dataset_split(task)
    chosen = select_indices(len(ds), limit, sample, seed)
    warn_if_all_used(task, len(ds), limit, sample)
    rows, errors, _ = check_dataset(task, chosen, ds)
    if errors:
        raise BenchErrors(errors)
    fingerprint = dataset_fingerprint(ds)
    digest = hashlib.sha256(f"{task.hash}\0{fingerprint}".encode()).hexdigest() if fingerprint else task.hash
    loaded = dataclasses.replace(task, hash=digest, fingerprint=fingerprint)
    return loaded, [example_from_row(loaded, r) for r in rows]
