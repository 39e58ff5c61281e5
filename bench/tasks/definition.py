"""Task definitions: a YAML file (data, not code) over a fixture or a dataset, read, checked and found by name.

A task definition names its type, where its examples come from, which fields
hold the id, input and references, the metrics, and generation settings::

    name: seed-summarization
    version: 1
    type: summarization            # or: qa
    fixture: ../fixtures/seed_summarization.jsonl   # relative to this file
    fields: {id: id, document: document, references: references}
    metrics: [rouge]
    summary_sentences: 3           # how long an extractive summary should be
    generation: {max_new_tokens: 142}

Instead of `fixture`, a task may name a dataset, given as the arguments of
`datasets.load_dataset` (a Hugging Face hub id, or a packaged builder such as
``json``/``parquet`` over local ``data_files``, relative to the task file)::

    dataset: {path: abisee/cnn_dailymail, name: 3.0.0, split: test}
    fields: {id: id, document: article, references: highlights}

A fixture is JSONL (one example per line), or, for QA, a JSON file in the
official SQuAD layout (``{"data": [{"title", "paragraphs": [{"context",
"qas": [...]}]}]}``), which is flattened to one example per question.

Task *types* are Python (`TASK_TYPES`); they say which fields an example must
have. This module reads and checks a definition (`load_task`: read the file,
parse its YAML, check each key group, hash the definition and its data) and
finds definitions by name (`discover_tasks`, `resolve_tasks`). Every problem of
a definition is reported at once with file:line. Its examples are checked and
loaded by `bench.tasks.examples`. Tasks that name a dataset
(`bench.tasks.datasets`) run only when asked for by name (`runs_by_default`).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import BenchError, BenchErrors, relpath
from bench.io import NO_SUCH_FILE, SURROGATE_HINT, lone_surrogate, not_a_regular_file, resolved, surrogate_name
from bench.registry import DIRECTORY_NAME_RULE, MAX_DIRECTORY_NAME, Registry, did_you_mean, is_directory_name
from bench.tasks.datasets import local_files, parse_dataset, unreadable_files
from bench.tasks.locations import key_line
from bench.tasks.records import DatasetSource, Task, TaskType
from bench.tasks.task_yaml import parse_task_yaml, read_task_text

#: Checks one metric a task names, given its options and the task's type: the problem (a `BenchError` whose
#: place `load_task` fills in), or None. Tasks know no metric: the metric catalog's check
#: (`bench.metrics.catalog.task_metric_problem`) is passed in by whoever loads a task to run or validate it.
MetricCheck = Callable[[str, Mapping[str, Any], "TaskType | None"], "BenchError | None"]

TASK_SCHEMA_KEYS = {
    "name", "version", "type", "description", "fixture", "dataset", "fields", "metrics",
    "summary_sentences", "generation", "prompt", "source", "draft",
}

TASK_TYPES: Registry[TaskType] = Registry("task type")
TASK_TYPES.register("summarization", TaskType("summarization", ("id", "document", "references"), ("rouge", "extractiveness")))
TASK_TYPES.register("qa", TaskType("qa", ("id", "context", "question", "answers"), ("squad",)))


#: A task name becomes a directory name under results/ (`bench.registry.is_directory_name`).
MAX_TASK_NAME = MAX_DIRECTORY_NAME


def task_hash(definition: bytes, data_files: Sequence[Path]) -> str:
    """sha256 of the definition file's bytes and the bytes of its data files.

    The definition is hashed as written (never a serialisation of the parsed
    document, which could be far larger than the file); one data file (a fixture)
    follows as exactly its bytes, further files each preceded by their name.
    """
    digest = hashlib.sha256()
    digest.update(definition)
    digest.update(b"\0")
    for k, data_file in enumerate(data_files):
        if k:
            digest.update(b"\0" + data_file.name.encode("utf-8") + b"\0")
        with data_file.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------- checking


def load_task(path: Path, metric_check: MetricCheck | None = None) -> Task:
    """Read and check one task definition (`yaml.safe_load` only); every problem is reported at once.

    `metric_check` checks each metric the task names (that it exists, applies to the task's type and takes the
    options given); without it only the shape of the 'metrics' key is checked.
    """
    text = read_task_text(path)
    tf = _TaskFile(path, text, parse_task_yaml(text, relpath(path)))
    errors: list[BenchError] = []
    _check_text(tf, errors)
    _check_keys(tf, errors)
    name = _check_name(tf, errors)
    version = _check_version(tf, errors)
    ttype = _check_type(tf, errors)
    fixture_path, source = _check_data(tf, ttype, errors)
    fields = _check_fields(tf, ttype, errors)
    metrics, metric_settings = _check_metrics(tf, ttype, errors, metric_check)
    sentences, generation, prompt = _check_settings(tf, errors)
    draft = _check_draft(tf, errors)
    if errors:
        raise errors[0] if len(errors) == 1 else BenchErrors(errors)

    assert ttype is not None and (fixture_path is not None or source is not None)
    data_files = [fixture_path] if fixture_path is not None else local_files(source)  # type: ignore[arg-type]
    return Task(
        name=name,
        version=version,
        type=ttype.name,
        fixture=fixture_path,
        fields=fields,
        metrics=metrics,
        metric_settings=metric_settings,
        path=resolved(path),
        hash=task_hash(text.encode("utf-8"), data_files),
        description=str(tf.spec.get("description", "")).strip(),
        summary_sentences=sentences,
        generation=generation,
        prompt=prompt,
        dataset=source,
        draft=draft,
    )


@dataclass(frozen=True)
class _TaskFile:
    """A task definition as read: the file, its text and its YAML mapping."""

    path: Path
    text: str
    spec: dict[Any, Any]

    @property
    def where(self) -> str:
        return relpath(self.path)

    def at(self, key: str) -> str:
        """``tasks/x.yaml:7``, the line of `key` (the file alone when the key is not there)."""
        n = key_line(self.text, key)
        return f"{self.where}:{n}" if n else self.where


def _check_text(tf: _TaskFile, errors: list[BenchError]) -> None:
    """No unpaired surrogate escape (``"\\ud800"``) anywhere: it is not text, and no file can hold it."""
    for key, value in tf.spec.items():
        found = lone_surrogate(key) or lone_surrogate(value)
        if found:
            errors.append(BenchError(f"{surrogate_name(found)} under {str(key)!r}: not valid Unicode text",
                                     where=tf.at(str(key)), hint=SURROGATE_HINT))


def _check_keys(tf: _TaskFile, errors: list[BenchError]) -> None:
    """Every key is one of `TASK_SCHEMA_KEYS`."""
    for key in tf.spec:
        if key not in TASK_SCHEMA_KEYS:
            errors.append(BenchError(
                f"unknown key {key!r}.{did_you_mean(str(key), sorted(TASK_SCHEMA_KEYS))}", where=tf.at(str(key)),
                hint=f"task keys: {', '.join(sorted(TASK_SCHEMA_KEYS))}",
            ))


def _check_name(tf: _TaskFile, errors: list[BenchError]) -> Any:
    """The task name (the file stem when there is no 'name' key): it becomes a directory name."""
    name = tf.spec.get("name", tf.path.stem)
    if not is_directory_name(name):
        from_file = "" if "name" in tf.spec else " (from the file name; add a 'name' key)"
        errors.append(BenchError(f"invalid task name {name!r}{from_file}", where=tf.at("name"),
                                 hint=DIRECTORY_NAME_RULE))
    return name


def _check_version(tf: _TaskFile, errors: list[BenchError]) -> Any:
    """A positive integer 'version'."""
    version = tf.spec.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        errors.append(BenchError(f"'version' must be a positive integer, got {version!r}", where=tf.at("version"),
                                 hint="add 'version: 1' and increase it whenever the task changes"))
    return version


def _check_type(tf: _TaskFile, errors: list[BenchError]) -> TaskType | None:
    """The task type named by 'type' (None when missing or unknown)."""
    ttype_name = tf.spec.get("type")
    if ttype_name is None:
        errors.append(BenchError("missing 'type'", where=tf.where,
                                 hint=f"add 'type: summarization' or 'type: qa' (task types: "
                                      f"{', '.join(TASK_TYPES.names())})"))
        return None
    if ttype_name not in TASK_TYPES:
        errors.append(BenchError(
            f"unknown task type {ttype_name!r}.{did_you_mean(str(ttype_name), TASK_TYPES.names())}",
            where=tf.at("type"), hint=f"task types: {', '.join(TASK_TYPES.names())}",
        ))
        return None
    return TASK_TYPES.get(ttype_name)


def _check_data(tf: _TaskFile, ttype: TaskType | None,
                errors: list[BenchError]) -> tuple[Path | None, DatasetSource | None]:
    """Where the examples come from: a 'fixture' file or a 'dataset' (exactly one); (fixture path, dataset)."""
    spec = tf.spec
    fixture = spec.get("fixture")
    if "dataset" in spec and fixture is not None:
        errors.append(BenchError("a task has a 'fixture' or a 'dataset', not both", where=tf.at("dataset"),
                                 hint="remove one of them"))
        return None, None
    if "dataset" in spec:
        source, dataset_errors = parse_dataset(spec["dataset"], tf.path.parent.resolve(), tf.at("dataset"))
        errors.extend(dataset_errors)
        if source is not None:
            errors.extend(BenchError(f"cannot read data file {relpath(path)}: {why}", where=tf.at("dataset"),
                                     hint="'data_files' name regular files (or globs of them)")
                          for path, why in unreadable_files(source))
        return None, source
    if not isinstance(fixture, str) or not fixture:
        errors.append(BenchError(
            "'fixture' must name a JSONL file (relative to the task file)", where=tf.at("fixture"),
            hint="or name a dataset instead: dataset: {path: ..., name: ..., split: ...} (load_dataset arguments)",
        ))
        return None, None
    fixture_path = resolved(tf.path.parent / fixture)
    problem = not_a_regular_file(fixture_path)
    if problem == NO_SUCH_FILE:
        errors.append(BenchError(f"fixture file not found: {relpath(fixture_path)}", where=tf.at("fixture"),
                                 hint="'fixture' is a path relative to the task file"))
    elif problem:
        errors.append(BenchError(f"cannot read fixture {relpath(fixture_path)}: {problem}", where=tf.at("fixture"),
                                 hint="'fixture' names a regular file: JSONL, or a SQuAD-layout .json for qa"))
    elif fixture_path.suffix == ".json" and ttype is not None and ttype.name != "qa":
        errors.append(BenchError(
            "a .json fixture is read in SQuAD's layout, for qa tasks", where=tf.at("fixture"),
            hint="write a summarization fixture as JSONL (.jsonl), one example per line",
        ))
    return fixture_path, None


def _check_fields(tf: _TaskFile, ttype: TaskType | None, errors: list[BenchError]) -> dict[str, str]:
    """'fields': logical field -> data field, for every field of the type (unmapped ones keep their name)."""
    fields = tf.spec.get("fields", {}) or {}
    if not isinstance(fields, dict) or not all(isinstance(v, str) for v in fields.values()):
        errors.append(BenchError("'fields' must map names to fixture field names", where=tf.at("fields")))
        fields = {}
    if ttype is None:
        return fields
    for k in fields:
        if k not in ttype.fields:
            errors.append(BenchError(
                f"'fields' has unknown key {k!r}.{did_you_mean(str(k), ttype.fields)}", where=tf.at("fields"),
                hint=f"a {ttype.name} task maps: {', '.join(ttype.fields)}",
            ))
    return {k: fields.get(k, k) for k in ttype.fields}


def _check_metrics(tf: _TaskFile, ttype: TaskType | None, errors: list[BenchError],
                   metric_check: MetricCheck | None) -> tuple[tuple[str, ...], dict[str, dict[str, Any]]]:
    """'metrics' (a name or a list; the type's defaults when absent) and each metric's options.

    An entry is a name (``rouge``) or a one-key mapping of a name to its
    options (``bertscore: {model: ./encoder, layer: 4}``); `metric_check` says
    whether the metric can be what the task asks of it.
    """
    metrics = tf.spec.get("metrics")
    if metrics is None and ttype is not None:
        metrics = list(ttype.default_metrics)
    if isinstance(metrics, (str, dict)):
        metrics = [metrics]
    if metrics is None:  # no 'metrics' key, and no type to take the defaults from (reported already)
        metrics = []
    if not isinstance(metrics, list):
        errors.append(BenchError("'metrics' must be a list of metric names", where=tf.at("metrics"),
                                 hint="e.g. metrics: [rouge, extractiveness]"))
        metrics = []
    names: list[str] = []
    settings: dict[str, dict[str, Any]] = {}
    entry_hint = "an entry is a metric name, or a name with its options: `- bertscore: {model: ./encoder}`"
    for m in metrics:
        options: Any = {}
        if isinstance(m, dict):
            if len(m) != 1:
                errors.append(BenchError(f"a 'metrics' entry with {len(m)} keys", where=tf.at("metrics"),
                                         hint=entry_hint))
                continue
            (m, options), = m.items()
            options = {} if options is None else options
            if not isinstance(options, dict) or not all(isinstance(k, str) for k in options):
                errors.append(BenchError(f"the options of metric {m!r} must be a mapping of option names to values",
                                         where=tf.at("metrics"), hint=entry_hint))
                continue
        if not isinstance(m, str) or not m.strip():
            errors.append(BenchError(f"a metric name must be a string, got {m!r}", where=tf.at("metrics"),
                                     hint=entry_hint))
            continue
        if m in names:
            errors.append(BenchError(f"metric {m!r} is listed twice", where=tf.at("metrics"),
                                     hint="list each metric once, with all its options"))
            continue
        problem = metric_check(m, options, ttype) if metric_check is not None else None
        if problem is not None:
            errors.append(BenchError(problem.message, where=tf.at("metrics"), hint=problem.hint))
            continue
        names.append(m)
        if options:
            settings[m] = dict(options)
    return tuple(names), settings


def _check_settings(tf: _TaskFile, errors: list[BenchError]) -> tuple[Any, dict[str, Any], Any]:
    """'summary_sentences', 'generation' and 'prompt': (summary sentences, generation settings, prompt)."""
    spec = tf.spec
    sentences = spec.get("summary_sentences", 3)
    if not isinstance(sentences, int) or isinstance(sentences, bool) or sentences < 1:
        errors.append(BenchError(f"'summary_sentences' must be a positive integer, got {sentences!r}",
                                 where=tf.at("summary_sentences"),
                                 hint="how many sentences an extractive summary has, e.g. summary_sentences: 3"))
    generation = spec.get("generation", {}) or {}
    if not isinstance(generation, dict):
        errors.append(BenchError("'generation' must be a mapping of generation settings",
                                 where=tf.at("generation")))
        generation = {}
    odd = _not_json_data(generation)
    if odd:
        errors.append(BenchError(
            f"'generation' holds {odd}: a setting is text, a number, true/false, null, a list or a mapping",
            where=tf.at("generation"),
            hint="quote a value to make it text (YAML reads 2020-01-01 as a date); write numbers as finite numbers"))
    prompt = spec.get("prompt")
    if prompt is not None and not isinstance(prompt, str):
        errors.append(BenchError("'prompt' must be a string", where=tf.at("prompt")))
    return sentences, dict(generation), prompt


def _check_draft(tf: _TaskFile, errors: list[BenchError]) -> bool:
    """'draft': true or false (absent: false)."""
    draft = tf.spec.get("draft", False)
    if not isinstance(draft, bool):
        errors.append(BenchError(f"'draft' must be true or false, got {draft!r}", where=tf.at("draft"),
                                 hint="draft: true keeps a task out of plain `bench run` and `bench validate` "
                                      "until it is filled in; remove the line when it is"))
        return False
    return draft


def _not_json_data(value: Any) -> str:
    """What in `value` is not JSON data (a date, bytes, a set, NaN, ...), for messages; "" when all of it is.

    Generation settings go into results.json and the prediction cache's key, which hold JSON only.
    """
    if value is None or isinstance(value, (str, bool, int)):
        return ""
    if isinstance(value, float):
        return "" if math.isfinite(value) else f"the number {value!r}"
    if isinstance(value, dict):
        return next((odd for v in value.values() if (odd := _not_json_data(v))), "")
    if isinstance(value, list):
        return next((odd for v in value if (odd := _not_json_data(v))), "")
    kinds = {"date": "a date", "datetime": "a date and time", "bytes": "binary data", "set": "a set"}
    shown = str(value) if type(value).__name__ in ("date", "datetime") else repr(value)
    return f"{kinds.get(type(value).__name__, 'a ' + type(value).__name__)} ({shown})"
