"""Tasks: a YAML definition (data, not code) over a fixture or a dataset.

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
have and turn one into an `Example`. Every example is validated before any
model loads, and every problem is reported at once with file:line and field.
Tasks that name a dataset run only when asked for by name (`runs_by_default`).
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import json
import math
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import EXIT_ENVIRONMENT, BenchError, BenchErrors, relpath
from bench.registry import Registry, did_you_mean

TASK_SCHEMA_KEYS = {
    "name", "version", "type", "description", "fixture", "dataset", "fields", "metrics",
    "summary_sentences", "generation", "prompt", "source",
}

#: Keys of a task's `dataset` mapping: the arguments of `datasets.load_dataset`.
DATASET_KEYS = ("path", "name", "split", "revision", "data_files", "data_dir")

#: `datasets` builders that read local files named by `data_files`.
LOCAL_BUILDERS = frozenset({"json", "csv", "parquet", "arrow"})


@dataclass(frozen=True)
class Example:
    """One input with its references, as a model and a metric see it."""

    id: str
    input: str
    """The document to summarize, or the context of a question."""
    references: tuple[str, ...]
    """Reference summaries, or acceptable answers (empty: unanswerable question)."""
    question: str | None = None
    answer_starts: tuple[int, ...] = ()
    """Character offset of each answer in `input` (QA)."""


@dataclass(frozen=True)
class TaskType:
    """What a fixture line of one task type must contain."""

    name: str
    fields: tuple[str, ...]
    """Logical fields, each mapped to a fixture field by the task's `fields`."""
    default_metrics: tuple[str, ...]


TASK_TYPES: Registry[TaskType] = Registry("task type")
TASK_TYPES.register("summarization", TaskType("summarization", ("id", "document", "references"), ("rouge",)))
TASK_TYPES.register("qa", TaskType("qa", ("id", "context", "question", "answers"), ("squad",)))


@dataclass(frozen=True)
class DatasetSource:
    """Where a task's examples come from when it names a dataset: `load_dataset` arguments."""

    path: str
    """Hub id (``abisee/cnn_dailymail``), packaged builder (``json``, ``parquet``, ...) or local directory."""
    split: str
    name: str | None = None
    """The configuration (``3.0.0``), `load_dataset`'s second argument."""
    revision: str | None = None
    data_files: str | tuple[str, ...] | Mapping[str, tuple[str, ...]] | None = None
    """Absolute paths or glob patterns (resolved against the task file)."""
    data_dir: str | None = None

    @property
    def is_local(self) -> bool:
        """True when the data is in local files (no Hub, no cache needed)."""
        return self.path in LOCAL_BUILDERS or os.path.isabs(self.path)

    def load_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"path": self.path, "split": self.split}
        if self.name is not None:
            kwargs["name"] = self.name
        if self.revision is not None:
            kwargs["revision"] = self.revision
        if self.data_files is not None:
            df = self.data_files
            kwargs["data_files"] = ({k: list(v) for k, v in df.items()} if isinstance(df, Mapping)
                                    else list(df) if isinstance(df, tuple) else df)
        if self.data_dir is not None:
            kwargs["data_dir"] = self.data_dir
        return kwargs

    def describe(self) -> str:
        """``'abisee/cnn_dailymail' (config '3.0.0', split 'test')``, for messages."""
        parts = [f"config {self.name!r}"] if self.name else []
        parts.append(f"split {self.split!r}")
        if self.revision:
            parts.append(f"revision {self.revision!r}")
        return f"{self.path!r} ({', '.join(parts)})"

    def load_call(self) -> str:
        """The Python call that loads this split, e.g. to fill the cache where the Hub is reachable."""
        args = [repr(self.path)] + ([repr(self.name)] if self.name else [])
        kw = self.load_kwargs()
        args += [f"{k}={kw[k]!r}" for k in ("split", "revision", "data_files", "data_dir") if k in kw]
        return f"datasets.load_dataset({', '.join(args)})"

    def local_files(self) -> list[Path]:
        """The local data files this source reads (globs expanded), sorted."""
        if self.data_files is None:
            return []
        df = self.data_files
        patterns = ([p for v in df.values() for p in v] if isinstance(df, Mapping)
                    else list(df) if isinstance(df, tuple) else [df])
        files: set[Path] = set()
        for p in patterns:
            files.update(Path(m) for m in glob.glob(p, recursive=True))
        return sorted(f for f in files if f.is_file())

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.load_kwargs().items()}


@dataclass(frozen=True)
class Task:
    name: str
    version: int
    type: str
    fixture: Path | None
    """The fixture file; None when the task names a `dataset`."""
    fields: Mapping[str, str]
    metrics: tuple[str, ...]
    path: Path
    """The YAML file that defines the task."""
    hash: str
    """sha256 of the definition (canonical JSON) and the fixture or local data bytes; for a
    dataset, once loaded (see `load`), also its `datasets` fingerprint."""
    description: str = ""
    summary_sentences: int = 3
    generation: Mapping[str, Any] = field(default_factory=dict)
    prompt: str | None = None
    dataset: DatasetSource | None = None
    """Set instead of `fixture` when the examples come from `datasets.load_dataset`."""
    fingerprint: str | None = None
    """The loaded dataset's `datasets` fingerprint (only on the task `load` returns)."""

    @property
    def short_hash(self) -> str:
        return self.hash[:12]

    @property
    def runs_by_default(self) -> bool:
        """Whether `bench run` without --task includes this task: fixture tasks only.

        Dataset tasks may need the Hub or a large download, so they run only when named.
        """
        return self.dataset is None

    def data_source(self) -> dict[str, Any]:
        """Where the examples come from, for run records."""
        if self.dataset is None:
            return {"fixture": str(self.fixture)}
        return {"dataset": self.dataset.as_dict(), "dataset_fingerprint": self.fingerprint}

    def count_examples(self) -> int | None:
        """Number of examples without validating them (for `bench list`); None for a dataset."""
        if self.fixture is None:
            return None
        if self.fixture.suffix == ".json":
            try:
                rows, _ = parse_squad_json(self.fixture)
            except BenchError:
                return None
            return len(rows)
        with self.fixture.open("rb") as f:
            return sum(1 for line in f if line.strip())

    def load_examples(self, limit: int | None = None, *, sample: int | None = None, seed: int = 0) -> list[Example]:
        """Validate, then load the examples (see `load`)."""
        return self.load(limit=limit, sample=sample, seed=seed)[1]

    def load(self, *, limit: int | None = None, sample: int | None = None,
             seed: int = 0) -> tuple[Task, list[Example]]:
        """Validate and load the examples; returns the task as loaded and its examples.

        `limit` keeps the first N examples, `sample` a seeded sample of N (see
        `select_indices`). A fixture is validated in full; a dataset is loaded with
        `datasets.load_dataset` and the selected rows are validated. The returned
        task's `hash` then also covers the dataset's fingerprint.
        """
        if self.dataset is not None:
            return _load_dataset_task(self, limit, sample, seed)
        rows = validate_fixture(self)
        if self.fixture is not None and self.fixture.suffix == ".json":
            examples = [self.example_from_row(row) for row in rows]
        else:
            assert self.fixture is not None
            dataset = _load_jsonl_dataset(self.fixture)
            if len(dataset) != len(rows):
                raise BenchError(
                    f"datasets read {len(dataset)} rows but the file has {len(rows)} non-empty lines",
                    where=relpath(self.fixture),
                )
            examples = [self.example_from_row(row) for row in dataset]
        chosen = select_indices(len(examples), limit, sample, seed)
        return self, examples if chosen is None else [examples[i] for i in chosen]

    def example_from_row(self, row: Mapping[str, Any]) -> Example:
        f = self.fields
        if self.type == "qa":
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
            references=(refs,) if isinstance(refs, str) else tuple(refs),
        )


def select_indices(n: int, limit: int | None = None, sample: int | None = None, seed: int = 0) -> list[int] | None:
    """Which of `n` examples to use: None for all, the first `limit`, or a seeded sample.

    The sample is the `sample` indices with the smallest sha256 of ``"{seed}:{index}"``,
    in their original order: the same for a given seed on any machine and Python
    version, and a larger sample contains every smaller one with the same seed.
    """
    if limit is not None and sample is not None:
        raise BenchError("--limit and --sample cannot be used together",
                         hint="--limit N takes the first N examples, --sample N a seeded random N; pick one")
    for opt, value in (("--limit", limit), ("--sample", sample)):
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


def _import_datasets():
    try:
        import datasets
    except ImportError as e:  # pragma: no cover - a core dependency
        raise BenchError("the 'datasets' package is missing", hint="pip install datasets",
                         exit_code=EXIT_ENVIRONMENT) from e
    datasets.logging.set_verbosity_error()
    datasets.disable_progress_bars()
    return datasets


def _load_jsonl_dataset(path: Path):
    datasets = _import_datasets()
    return datasets.load_dataset("json", data_files=str(path), split="train")


# ---------------------------------------------------------------- datasets


def _truthy_env(*names: str) -> bool:
    return any(os.environ.get(n, "").upper() in ("1", "ON", "YES", "TRUE") for n in names)


def load_dataset_split(task: Task):
    """The task's dataset split, through `datasets.load_dataset`; one clear BenchError when it cannot load."""
    src = task.dataset
    assert src is not None
    datasets = _import_datasets()
    try:
        return datasets.load_dataset(**src.load_kwargs())
    except Exception as e:  # datasets raises many types; each becomes one message naming the dataset
        raise _dataset_error(task, e) from None


def _dataset_error(task: Task, e: Exception) -> BenchError:
    src = task.dataset
    assert src is not None
    said = (str(e).strip().splitlines() or [type(e).__name__])[0]
    where = _key_where(task.path, "dataset")
    if src.is_local:
        return BenchError(
            f"cannot load dataset {src.describe()} for task {task.name!r}: {said}", where=where,
            hint="the 'dataset' mapping is passed to datasets.load_dataset; check its data_files and split "
                 "(data_files given as one file or a list load as split 'train')",
        )
    if isinstance(e, ValueError):  # unknown split or config
        return BenchError(f"cannot load dataset {src.describe()} for task {task.name!r}: {said}", where=where,
                          hint="fix 'name' (the config) or 'split' in the task's 'dataset' mapping")
    if isinstance(e, ConnectionError):
        offline = _truthy_env("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE")
        local_copy = (f"dataset: {{path: parquet, data_files: {{{src.split}: DIR/{src.split}-*.parquet}}, "
                      f"split: {src.split}}}")
        return BenchError(
            f"dataset {src.describe()} for task {task.name!r} is not in the local datasets cache, and the "
            "Hugging Face Hub " + ("is not asked (offline mode: HF_DATASETS_OFFLINE or HF_HUB_OFFLINE is set)"
                                   if offline else "cannot be reached"),
            where=where, exit_code=EXIT_ENVIRONMENT,
            hint=f"where the Hub is reachable, fill the cache once: "
                 f"python -c \"import datasets; {src.load_call()}\" (later runs, even with HF_DATASETS_OFFLINE=1, "
                 f"read the cache); or point the task at a local copy with load_dataset arguments, "
                 f"e.g. {local_copy}",
        )
    if isinstance(e, FileNotFoundError):
        return BenchError(f"dataset {src.describe()} for task {task.name!r} was not found: {said}", where=where,
                          hint="check the dataset id in 'path' (hub ids look like owner/name)")
    return BenchError(f"cannot load dataset {src.describe()} for task {task.name!r}: {type(e).__name__}: {said}",
                      where=where, exit_code=EXIT_ENVIRONMENT)


def _dataset_label(src: DatasetSource) -> str:
    if src.path in LOCAL_BUILDERS:
        files = src.local_files()
        base = relpath(files[0]) if len(files) == 1 else f"{src.path} files"
    else:
        base = relpath(src.path) if os.path.isabs(src.path) else src.path
    return f"{base}[{src.split}]"


def check_dataset(task: Task, indices: Sequence[int] | None = None,
                  ds=None) -> tuple[list[dict], list[BenchError], int]:
    """Validate a dataset task's rows (all, or those at `indices`); returns (good rows, problems, size)."""
    src = task.dataset
    assert src is not None
    if ds is None:
        ds = load_dataset_split(task)
    label = _dataset_label(src)
    present = list(ds.column_names)
    errors = _check_mapped_fields(task, present, f"dataset {label}", "column")
    if errors:
        return [], [e for _, e in errors], len(ds)
    needed = sorted(set(task.fields.values()))
    sub = ds.select_columns(needed)
    if indices is not None:
        sub = sub.select(indices)
    order = list(indices) if indices is not None else range(len(sub))
    rows = [_Row(f"{label}[{i}]", f"row {i}", i, obj) for i, obj in zip(order, sub)]
    good, problems = check_rows(task, rows, label)
    return good, [e for _, e in problems], len(ds)


def _load_dataset_task(task: Task, limit: int | None, sample: int | None, seed: int) -> tuple[Task, list[Example]]:
    select_indices(0, limit, sample, seed)  # option errors before the (slow) load
    ds = load_dataset_split(task)
    chosen = select_indices(len(ds), limit, sample, seed)
    rows, errors, _ = check_dataset(task, chosen, ds)
    if errors:
        raise BenchErrors(errors)
    fingerprint = str(getattr(ds, "_fingerprint", "") or "") or None
    digest = hashlib.sha256(f"{task.hash}\0{fingerprint}".encode()).hexdigest() if fingerprint else task.hash
    loaded = dataclasses.replace(task, hash=digest, fingerprint=fingerprint)
    return loaded, [loaded.example_from_row(r) for r in rows]


# ---------------------------------------------------------------- validation


def _where(path: Path, line: int | None = None, fieldname: str | None = None) -> str:
    w = relpath(path)
    if line is not None:
        w += f":{line}"
    if fieldname:
        w += f" (field {fieldname!r})"
    return w


def _has_nonfinite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_nonfinite(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_nonfinite(v) for v in value)
    return False


def parse_jsonl(path: Path) -> tuple[list[tuple[int, Any]], list[tuple[int, BenchError]]]:
    """Every line of a JSONL file: ((line, object) for good lines, (line, problem) for bad ones).

    Bad lines (invalid UTF-8 or JSON, not an object, NaN) do not stop the good
    ones from being parsed, so their fields can be checked too.
    """
    errors: list[tuple[int, BenchError]] = []
    rows: list[tuple[int, Any]] = []
    try:
        data = path.read_bytes()
    except OSError as e:
        raise BenchError(f"cannot read file: {e.strerror}", where=relpath(path)) from None
    if data.startswith(b"\xef\xbb\xbf"):
        errors.append((1, BenchError(
            "file starts with a UTF-8 byte-order mark", where=_where(path, 1),
            hint="save the file as UTF-8 without BOM",
        )))
        data = data[3:]
    if not data.strip():
        raise BenchError("file is empty", where=relpath(path), hint="write one JSON object per line")
    for lineno, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            errors.append((lineno, BenchError(
                f"not valid UTF-8 (byte {raw[e.start]:#04x} at column {e.start + 1})",
                where=_where(path, lineno), hint="re-encode the file as UTF-8",
            )))
            continue
        try:
            obj = json.loads(text, parse_constant=_reject_constant)
        except _NonFinite as e:
            errors.append((lineno, BenchError(f"{e} is not a valid number", where=_where(path, lineno),
                                              hint=_NONFINITE_HINT)))
            continue
        except json.JSONDecodeError as e:
            errors.append((lineno, BenchError(
                f"invalid JSON: {e.msg} (column {e.colno})", where=_where(path, lineno),
                hint="each line must be one complete JSON object",
            )))
            continue
        if not isinstance(obj, dict):
            errors.append((lineno, BenchError(
                f"expected a JSON object, got {_json_type(obj)}", where=_where(path, lineno),
                hint='each line is one example, a JSON object such as {"id": "a1", ...}',
            )))
            continue
        rows.append((lineno, obj))
    return rows, errors


def read_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed object) for each non-empty line; raises BenchErrors for all bad lines."""
    rows, errors = parse_jsonl(path)
    if errors:
        raise BenchErrors([e for _, e in errors])
    return iter(rows)


class _NonFinite(ValueError):
    pass


_NONFINITE_HINT = "JSON has no NaN or Infinity; write a finite number, or null"


def _reject_constant(name: str) -> Any:
    raise _NonFinite(name)


def parse_squad_json(path: Path) -> tuple[list[tuple[str, dict]], list[BenchError]]:
    """A JSON file in the official SQuAD layout, flattened to one row per question.

    Returns ((JSON path, row) for each question, problems). A row is
    ``{"id", "title", "context", "question", "answers": {"text": [...], "answer_start": [...]}}``;
    a question with ``"is_impossible": true`` has no answers (its ``plausible_answers`` are not used).
    """
    where0 = relpath(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise BenchError(f"cannot read file: {e.strerror}", where=where0) from None
    errors: list[BenchError] = []
    if data.startswith(b"\xef\xbb\xbf"):
        errors.append(BenchError("file starts with a UTF-8 byte-order mark", where=f"{where0}:1",
                                 hint="save the file as UTF-8 without BOM"))
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise BenchError(f"not valid UTF-8 (byte {data[e.start]:#04x})", where=f"{where0}:{line}",
                         hint="re-encode the file as UTF-8") from None
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except _NonFinite as e:
        raise BenchError(f"{e} is not a valid number", where=where0, hint=_NONFINITE_HINT) from None
    except json.JSONDecodeError as e:
        raise BenchError(f"invalid JSON: {e.msg} (column {e.colno})", where=f"{where0}:{e.lineno}",
                         hint="the file is cut short or not JSON; check it near this point") from None
    layout = ('SQuAD\'s layout: {"data": [{"title": ..., "paragraphs": [{"context": ..., '
              '"qas": [{"id", "question", "answers": [{"text", "answer_start"}]}]}]}]}')
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise BenchError('a .json fixture must be an object with a "data" list', where=where0,
                         hint=f"use {layout}, or JSONL (one example per line)")
    rows: list[tuple[str, dict]] = []

    def bad(ptr: str, msg: str) -> None:
        errors.append(BenchError(msg, where=f"{where0}:{ptr}", hint=f"expected {layout}"))

    for a, article in enumerate(doc["data"]):
        pa = f"data[{a}]"
        if not isinstance(article, dict) or not isinstance(article.get("paragraphs"), list):
            bad(pa, 'expected an object with a "paragraphs" list')
            continue
        title = article.get("title", "")
        for p, para in enumerate(article["paragraphs"]):
            pp = f"{pa}.paragraphs[{p}]"
            if not isinstance(para, dict) or not isinstance(para.get("qas"), list):
                bad(pp, 'expected an object with "context" and a "qas" list')
                continue
            context = para.get("context")
            for q, qa in enumerate(para["qas"]):
                pq = f"{pp}.qas[{q}]"
                if not isinstance(qa, dict):
                    bad(pq, f"expected a question object, got {_json_type(qa)}")
                    continue
                answers = qa.get("answers", [])
                if not isinstance(answers, list) or not all(isinstance(x, dict) for x in answers):
                    bad(pq + " (field 'answers')", 'expected a list of {"text", "answer_start"} objects')
                    continue
                impossible = qa.get("is_impossible", False)
                if not isinstance(impossible, bool):
                    bad(pq + " (field 'is_impossible')", f"expected true or false, got {_json_type(impossible)}")
                    continue
                if impossible and answers:
                    bad(pq + " (field 'answers')", "an impossible question (is_impossible: true) has answers")
                    continue
                row = {k: v for k, v in qa.items() if k not in ("answers", "is_impossible", "plausible_answers")}
                row["title"] = title
                row["context"] = context
                row["answers"] = {"text": [x.get("text") for x in answers],
                                  "answer_start": [x.get("answer_start") for x in answers]}
                rows.append((pq, row))
    if not rows and not errors:
        errors.append(BenchError("the file holds no questions", where=where0, hint=f"use {layout}"))
    return rows, errors


@dataclass(frozen=True)
class _Row:
    """One example to check, with where it came from."""

    where: str
    """``fixtures/x.jsonl:12``, ``dev.json:data[0].paragraphs[1].qas[2]`` or ``squad[validation][5]``."""
    label: str
    """``line 12``, ``data[0]...`` or ``row 5``: how a duplicate refers back to it."""
    order: int
    obj: dict


def _fixture_rows(path: Path) -> tuple[list[_Row], list[tuple[int, BenchError]]]:
    if path.suffix == ".json":
        parsed, errs = parse_squad_json(path)
        rows = [_Row(f"{relpath(path)}:{ptr}", ptr, k, obj) for k, (ptr, obj) in enumerate(parsed)]
        return rows, [(-1, e) for e in errs]
    lines, line_errors = parse_jsonl(path)
    return [_Row(_where(path, n), f"line {n}", n, obj) for n, obj in lines], line_errors


def check_fixture(task: Task) -> tuple[list[dict], list[BenchError]]:
    """Every problem of a fixture task's data, in file order: (good rows, problems)."""
    assert task.fixture is not None
    path = task.fixture
    rows, parse_errors = _fixture_rows(path)
    unit = "question" if path.suffix == ".json" else "line"
    present = sorted({k for r in rows for k in r.obj})
    field_errors = _check_mapped_fields(task, present, relpath(path), unit) if rows else []
    missing = {name for _, name in _missing_fields(task, present)} if rows else set()
    good, row_errors = check_rows(task, rows, relpath(path), skip_missing=missing)
    problems = sorted(field_errors + parse_errors + row_errors, key=lambda p: p[0])
    return good, [e for _, e in problems]


def validate_fixture(task: Task) -> list[dict]:
    """Check every example of the task's fixture; report all problems at once."""
    rows, errors = check_fixture(task)
    if errors:
        raise BenchErrors(errors)
    return rows


def _missing_fields(task: Task, present: Sequence[str]) -> list[tuple[str, str]]:
    have = set(present)
    return [(logical, name) for logical, name in task.fields.items() if name not in have]


def _check_mapped_fields(task: Task, present: Sequence[str], source: str, unit: str) -> list[tuple[int, BenchError]]:
    """The task's `fields` name fields the data has (checked once, not on every line)."""
    out = []
    where = _key_where(task.path, "fields") if task.path.suffix in (".yaml", ".yml") else source
    thing = "column" if unit == "column" else "field"
    for logical, name in _missing_fields(task, present):
        lacks = f"which {source} does not have" if unit == "column" else f"which no {unit} of {source} has"
        out.append((-1, BenchError(
            f"task field {logical!r} names {thing} {name!r}, {lacks}.{did_you_mean(name, list(present))}",
            where=f"{where} (field 'fields')",
            hint=f"{thing}s there: {', '.join(present) or '(none)'}; map it in the task's 'fields', "
                 f"e.g. fields: {{{logical}: <{thing}>}}",
        )))
    return out


def check_rows(task: Task, rows: Sequence[_Row], source: str, *,
               skip_missing: Iterable[str] = ()) -> tuple[list[dict], list[tuple[int, BenchError]]]:
    """Check each example's fields: types, unique ids, references, answer spans; (good rows, problems)."""
    f = task.fields
    skip = set(skip_missing)
    problems: list[tuple[int, BenchError]] = []
    good: list[dict] = []
    seen: dict[str, str] = {}
    # A file prepared by `bench fixture import` and not filled in yet gets one message, not one per line.
    unfilled = ""
    if rows and task.type == "summarization" and all(_no_references(r.obj.get(f["references"])) for r in rows):
        unfilled = "references"
        problems.append((-1, BenchError(
            f"task {task.name!r} has no references yet: fill in {f['references']!r} for "
            f"{'its example' if len(rows) == 1 else f'each of its {len(rows)} examples'}, then run",
            where=source,
            hint=f'write one or more reference summaries per example, e.g. "{f["references"]}": '
                 f'["First sentence.\\nSecond sentence."] (one sentence per line, for rougeLsum); '
                 f"then `bench validate {task.name}`",
        )))
    if rows and task.type == "qa" and all(r.obj.get(f["question"]) == "" for r in rows):
        unfilled = "question"
        problems.append((-1, BenchError(
            f"task {task.name!r} has no questions yet: write a question and its answers for "
            f"{'its example' if len(rows) == 1 else f'each of its {len(rows)} examples'} "
            "(copy a line for each further question), then run",
            where=source,
            hint='set "question", a unique "id", and "answers": {"text": [a span copied from the context], '
                 '"answer_start": [its character offset]} ({"text": [], "answer_start": []} if the context '
                 f"does not answer it); `bench validate {task.name}` tells you the offset of each answer text",
        )))
    for row in rows:
        obj, line_errors = row.obj, []

        def at(name: str | None = None) -> str:
            return f"{row.where} (field {name!r})" if name else row.where

        def need(logical: str, kind: type | tuple[type, ...], what: str) -> Any:
            name = f[logical]
            if name not in obj:
                if name not in skip:
                    line_errors.append(BenchError(
                        f"missing field {name!r}{did_you_mean(name, list(obj))}",
                        where=at(), hint=f"the task maps '{logical}' to field {name!r}",
                    ))
                return None
            value = obj[name]
            if not isinstance(value, kind) or isinstance(value, bool):
                line_errors.append(BenchError(f"expected {what}, got {_json_type(value)}", where=at(name)))
                return None
            return value

        ex_id = need("id", (str, int), "a string id")
        if ex_id is not None:
            ex_id = str(ex_id)
            if not ex_id.strip():
                line_errors.append(BenchError("id is empty", where=at(f["id"])))
            elif ex_id in seen:
                line_errors.append(BenchError(
                    f"duplicate id {ex_id!r} (first used on {seen[ex_id]})",
                    where=at(f["id"]), hint="ids must be unique within a task",
                ))
            else:
                seen[ex_id] = row.label
        if task.type == "summarization":
            doc = need("document", str, "a string")
            if doc is not None and not doc.strip():
                line_errors.append(BenchError("document is empty", where=at(f["document"]),
                                              hint="write the document, or remove this example"))
            refs = need("references", (list, str), "a list of reference strings")
            if refs is not None and unfilled:
                refs = None
            if refs is not None:
                refs_list = [refs] if isinstance(refs, str) else refs
                if not refs_list:
                    line_errors.append(BenchError(
                        "no references yet", where=at(f["references"]),
                        hint="a summarization example needs at least one non-empty reference",
                    ))
                for k, r in enumerate(refs_list):
                    if not isinstance(r, str):
                        line_errors.append(BenchError(
                            f"reference {k} is {_json_type(r)}, expected a string", where=at(f["references"]),
                        ))
                    elif not r.strip():
                        line_errors.append(BenchError(
                            f"reference {k} is empty", where=at(f["references"]),
                            hint="write the reference summary, or remove the empty string",
                        ))
        else:
            context = need("context", str, "a string")
            if context is not None and not context.strip():
                line_errors.append(BenchError("context is empty", where=at(f["context"])))
            question = need("question", str, "a string")
            if question is not None and not question.strip() and not unfilled:
                line_errors.append(BenchError("question is empty", where=at(f["question"]),
                                              hint="write the question, or remove this example"))
            answers = need("answers", dict, 'an object {"text": [...], "answer_start": [...]}')
            if answers is not None:
                line_errors.extend(_check_answers(answers, context, at(f["answers"])))
        if _has_nonfinite(obj):
            line_errors.append(BenchError("contains NaN or infinity", where=at(), hint=_NONFINITE_HINT))
        problems.extend((row.order, e) for e in line_errors)
        if not line_errors:
            good.append(obj)
    return good, problems


def _no_references(value: Any) -> bool:
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, list) and all(isinstance(r, str) and not r.strip() for r in value)


def _check_answers(answers: dict, context: str | None, where: str) -> list[BenchError]:
    errs: list[BenchError] = []
    texts, starts = answers.get("text"), answers.get("answer_start")
    if not isinstance(texts, list) or not isinstance(starts, list):
        return [BenchError(
            'answers must have lists "text" and "answer_start" ([] and [] for an unanswerable question)',
            where=where,
        )]
    if len(texts) != len(starts):
        return [BenchError(
            f'"text" has {len(texts)} answers but "answer_start" has {len(starts)}', where=where,
        )]
    for k, (text, start) in enumerate(zip(texts, starts)):
        if not isinstance(text, str) or not text.strip():
            errs.append(BenchError(f"answer {k} is not a non-empty string", where=where))
            continue
        if not isinstance(start, int) or isinstance(start, bool) or start < 0:
            errs.append(BenchError(
                f"answer_start {k} is {start!r}, expected a character offset >= 0", where=where
            ))
            continue
        if context is None:
            continue
        if context[start:start + len(text)] != text:
            found = list(_find_all(context, text))
            if found:
                near = min(found, key=lambda i: abs(i - start))
                hint = f"{text!r} occurs at answer_start {near}" + (
                    f" (also at {', '.join(map(str, sorted(set(found) - {near})[:5]))})" if len(found) > 1 else ""
                )
            else:
                hint = f"{text!r} does not occur in the context; answers must be exact spans of it"
            errs.append(BenchError(
                f"answer {k} {text!r} is not at answer_start {start} "
                f"(the context there reads {context[start:start + len(text)]!r})",
                where=where, hint=hint,
            ))
    return errs


def _find_all(haystack: str, needle: str) -> Iterator[int]:
    i = haystack.find(needle)
    while i != -1:
        yield i
        i = haystack.find(needle, i + 1)


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


# ---------------------------------------------------------------- definitions


def bundled_dir(kind: str) -> Path:
    """The bundled `tasks` or `fixtures` directory (repository checkout or installed wheel)."""
    pkg = Path(__file__).resolve().parent
    for candidate in (pkg / "_bundled" / kind, pkg.parent / kind):
        if candidate.is_dir():
            return candidate
    raise BenchError(f"bundled {kind} directory not found next to {pkg}", exit_code=3)


def _key_line(text: str, key: str) -> int | None:
    """The line number of a top-level `key:` in YAML text."""
    for n, line in enumerate(text.splitlines(), start=1):
        if line.split("#")[0].rstrip().startswith(f"{key}:"):
            return n
    return None


def _key_where(path: Path, key: str) -> str:
    """``tasks/x.yaml:7`` for the line of `key` in a task file (the file alone when not found)."""
    try:
        line = _key_line(path.read_text(encoding="utf-8"), key)
    except (OSError, UnicodeDecodeError):
        line = None
    return f"{relpath(path)}:{line}" if line else relpath(path)


def _parse_dataset(spec: Any, task_dir: Path, where: str) -> tuple[DatasetSource | None, list[BenchError]]:
    """A task's `dataset` mapping, checked; relative data_files and local paths resolved against `task_dir`."""
    example = "e.g. dataset: {path: abisee/cnn_dailymail, name: 3.0.0, split: test}"
    if not isinstance(spec, dict):
        return None, [BenchError("'dataset' must be a mapping of datasets.load_dataset arguments", where=where,
                                 hint=example)]
    errors: list[BenchError] = []
    for key in spec:
        if key not in DATASET_KEYS:
            extra = (" (the configuration goes in 'name', as in load_dataset)"
                     if key in ("config", "config_name") else "")
            errors.append(BenchError(
                f"unknown 'dataset' key {key!r}{extra}.{did_you_mean(str(key), DATASET_KEYS)}", where=where,
                hint=f"'dataset' keys: {', '.join(DATASET_KEYS)}",
            ))
    for key in ("path", "split"):
        if not isinstance(spec.get(key), str) or not spec.get(key):
            errors.append(BenchError(f"'dataset' needs {key!r} (a string)", where=where, hint=example))
    for key in ("name", "revision", "data_dir"):
        if spec.get(key) is not None and not isinstance(spec[key], str):
            errors.append(BenchError(f"'dataset' key {key!r} must be a string, got {_json_type(spec[key])}",
                                     where=where, hint=f"quote it: {key}: \"{spec[key]}\""))
    if errors:
        return None, errors

    def resolve(p: Any) -> str | None:
        if not isinstance(p, str) or not p:
            errors.append(BenchError(f"'data_files' entries must be file paths, got {p!r}", where=where))
            return None
        full = str(p) if os.path.isabs(p) else str(task_dir / p)
        if not glob.glob(full, recursive=True):
            errors.append(BenchError(f"data file not found: {relpath(full)}", where=where,
                                     hint="data_files are relative to the task file"))
        return full

    df = spec.get("data_files")
    data_files: str | tuple[str, ...] | dict[str, tuple[str, ...]] | None = None
    if isinstance(df, str):
        data_files = resolve(df)
    elif isinstance(df, list) and df:
        data_files = tuple(r for r in map(resolve, df) if r)
    elif isinstance(df, dict) and df:
        data_files = {str(k): tuple(r for r in map(resolve, v if isinstance(v, list) else [v]) if r)
                      for k, v in df.items()}
    elif df is not None:
        errors.append(BenchError("'data_files' must be a path, a list of paths, or split: paths", where=where))
    path = spec["path"]
    if path in LOCAL_BUILDERS and df is None:
        errors.append(BenchError(f"dataset path {path!r} reads local files: add 'data_files'", where=where,
                                 hint=f"e.g. dataset: {{path: {path}, data_files: {{test: data/test.{path}}}, "
                                      "split: test}"))
    if path.startswith((".", "/", "~")) or "\\" in path:
        local = (task_dir / Path(path).expanduser()).resolve()
        if not local.is_dir():
            errors.append(BenchError(f"dataset directory not found: {relpath(local)}", where=where,
                                     hint="a local 'path' is a directory relative to the task file"))
        path = str(local)
    if errors:
        return None, errors
    return DatasetSource(path=path, split=spec["split"], name=spec.get("name"), revision=spec.get("revision"),
                         data_files=data_files, data_dir=spec.get("data_dir")), []


#: Largest task definition read (YAML parsing is slow on megabytes; the data belongs in the fixture).
MAX_TASK_FILE = 1 << 20
#: What a task name may look like: it becomes a directory name under results/.
MAX_TASK_NAME = 100
TASK_NAME_PATTERN = re.compile(rf"[A-Za-z0-9_][A-Za-z0-9_.-]{{0,{MAX_TASK_NAME - 1}}}")


def _safe_load_unique_keys(text: str) -> Any:
    """`yaml.safe_load`, except that a key given twice in one mapping is an error (not: the last one wins)."""
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        pass

    def construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = loader.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node.start_mark.line)
            except TypeError:  # an unhashable key: SafeLoader reports it
                continue
            if first != key_node.start_mark.line:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice (first on line {first + 1}); keep one",
                    key_node.start_mark)
        return loader.construct_mapping(node, deep=True)

    UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    loader = UniqueKeyLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def load_task(path: Path) -> Task:
    """Read and check one task definition (`yaml.safe_load` only)."""
    import yaml

    where = relpath(path)
    try:
        raw = path.read_bytes()
        if len(raw) > MAX_TASK_FILE:
            raise BenchError(f"task definition is {len(raw) / 2**20:.1f} MiB; a task definition is a short YAML file",
                             where=where, hint="put the examples in the fixture file the task names")
        text = raw.decode("utf-8")
    except OSError as e:
        raise BenchError(f"cannot read task definition: {e.strerror}", where=where) from None
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise BenchError(f"task definition is not valid UTF-8 (byte {raw[e.start]:#04x})", where=f"{where}:{line}",
                         hint="re-encode the file as UTF-8") from None
    try:
        spec = _safe_load_unique_keys(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        loc = f"{where}:{mark.line + 1}" if mark else where
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        hint = ("a task definition is data: tags that make Python objects (!!python/...) are refused"
                if "python/" in problem else "indent with spaces, not tabs" if "\\t" in problem else
                "check the indentation and quoting on this line (quote a value that holds ': ' or starts with "
                "a special character)" if "key" not in problem else None)
        raise BenchError(f"invalid YAML: {problem}", where=loc, hint=hint) from None
    if not isinstance(spec, dict):
        raise BenchError("a task definition must be a YAML mapping (key: value lines)", where=where,
                         hint="e.g. name: my-task, version: 1, type: summarization, fixture: my_task.jsonl, "
                              "one per line")

    def line_of(key: str) -> str:
        n = _key_line(text, key)
        return f"{where}:{n}" if n else where

    errors: list[BenchError] = []
    for key in spec:
        if key not in TASK_SCHEMA_KEYS:
            errors.append(BenchError(
                f"unknown key {key!r}.{did_you_mean(str(key), sorted(TASK_SCHEMA_KEYS))}", where=line_of(str(key)),
                hint=f"task keys: {', '.join(sorted(TASK_SCHEMA_KEYS))}",
            ))
    name = spec.get("name", path.stem)
    if not isinstance(name, str) or not TASK_NAME_PATTERN.fullmatch(name) or ".." in name:
        from_file = "" if "name" in spec else " (from the file name; add a 'name' key)"
        errors.append(BenchError(f"invalid task name {name!r}{from_file}", where=line_of("name"),
                                 hint=f"use letters, digits, '-', '_' and '.', starting with a letter, digit or '_' "
                                      f"(no path separators, no '..'), at most {MAX_TASK_NAME} characters"))
    version = spec.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        errors.append(BenchError(f"'version' must be a positive integer, got {version!r}", where=line_of("version"),
                                 hint="add 'version: 1' and increase it whenever the task changes"))
    ttype_name = spec.get("type")
    ttype = None
    if ttype_name is None:
        errors.append(BenchError("missing 'type'", where=where,
                                 hint=f"add 'type: summarization' or 'type: qa' (task types: "
                                      f"{', '.join(TASK_TYPES.names())})"))
    elif ttype_name not in TASK_TYPES:
        errors.append(BenchError(
            f"unknown task type {ttype_name!r}.{did_you_mean(str(ttype_name), TASK_TYPES.names())}",
            where=line_of("type"), hint=f"task types: {', '.join(TASK_TYPES.names())}",
        ))
    else:
        ttype = TASK_TYPES.get(ttype_name)
    fixture = spec.get("fixture")
    fixture_path = None
    source = None
    if "dataset" in spec and fixture is not None:
        errors.append(BenchError("a task has a 'fixture' or a 'dataset', not both", where=line_of("dataset"),
                                 hint="remove one of them"))
    elif "dataset" in spec:
        source, dataset_errors = _parse_dataset(spec["dataset"], path.parent.resolve(), line_of("dataset"))
        errors.extend(dataset_errors)
    elif not isinstance(fixture, str) or not fixture:
        errors.append(BenchError(
            "'fixture' must name a JSONL file (relative to the task file)", where=line_of("fixture"),
            hint="or name a dataset instead: dataset: {path: ..., name: ..., split: ...} (load_dataset arguments)",
        ))
    else:
        fixture_path = (path.parent / fixture).resolve()
        if not fixture_path.is_file():
            errors.append(BenchError(f"fixture file not found: {relpath(fixture_path)}", where=line_of("fixture"),
                                     hint="'fixture' is a path relative to the task file"))
        elif fixture_path.suffix == ".json" and ttype is not None and ttype.name != "qa":
            errors.append(BenchError(
                "a .json fixture is read in SQuAD's layout, for qa tasks", where=line_of("fixture"),
                hint="write a summarization fixture as JSONL (.jsonl), one example per line",
            ))
    fields = spec.get("fields", {}) or {}
    if not isinstance(fields, dict) or not all(isinstance(v, str) for v in fields.values()):
        errors.append(BenchError("'fields' must map names to fixture field names", where=line_of("fields")))
        fields = {}
    if ttype is not None:
        for k in fields:
            if k not in ttype.fields:
                errors.append(BenchError(
                    f"'fields' has unknown key {k!r}.{did_you_mean(str(k), ttype.fields)}", where=line_of("fields"),
                    hint=f"a {ttype.name} task maps: {', '.join(ttype.fields)}",
                ))
        fields = {k: fields.get(k, k) for k in ttype.fields}
    metrics = spec.get("metrics")
    if metrics is None and ttype is not None:
        metrics = list(ttype.default_metrics)
    if isinstance(metrics, str):
        metrics = [metrics]
    from bench.metrics import METRICS

    if metrics is None:  # no 'metrics' key, and no type to take the defaults from (reported above)
        metrics = []
    if not isinstance(metrics, list):
        errors.append(BenchError("'metrics' must be a list of metric names", where=line_of("metrics")))
        metrics = []
    for m in metrics:
        if m not in METRICS:
            errors.append(BenchError(f"unknown metric {m!r}.{did_you_mean(str(m), METRICS.names())}",
                                     where=line_of("metrics"), hint=f"metrics: {', '.join(METRICS.names())}"))
        elif ttype is not None and ttype.name not in METRICS.get(m).task_types:
            errors.append(BenchError(f"metric {m!r} does not apply to {ttype.name} tasks", where=line_of("metrics"),
                                     hint=f"{ttype.name} tasks use: {', '.join(ttype.default_metrics)}"))
    sentences = spec.get("summary_sentences", 3)
    if not isinstance(sentences, int) or isinstance(sentences, bool) or sentences < 1:
        errors.append(BenchError(f"'summary_sentences' must be a positive integer, got {sentences!r}",
                                 where=line_of("summary_sentences"),
                                 hint="how many sentences an extractive summary has, e.g. summary_sentences: 3"))
    generation = spec.get("generation", {}) or {}
    if not isinstance(generation, dict):
        errors.append(BenchError("'generation' must be a mapping of generation settings", where=line_of("generation")))
    prompt = spec.get("prompt")
    if prompt is not None and not isinstance(prompt, str):
        errors.append(BenchError("'prompt' must be a string", where=line_of("prompt")))
    if errors:
        raise errors[0] if len(errors) == 1 else BenchErrors(errors)

    assert ttype is not None and (fixture_path is not None or source is not None)
    digest = hashlib.sha256()
    digest.update(json.dumps(spec, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8"))
    digest.update(b"\0")
    data_files = [fixture_path] if fixture_path is not None else source.local_files()  # type: ignore[union-attr]
    for k, data_file in enumerate(data_files):
        if k:  # one fixture: exactly the bytes (hashes of existing tasks stay the same)
            digest.update(b"\0" + data_file.name.encode("utf-8") + b"\0")
        with data_file.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return Task(
        name=name,
        version=version,
        type=ttype.name,
        fixture=fixture_path,
        fields=fields,
        metrics=tuple(metrics),
        path=path.resolve(),
        hash=digest.hexdigest(),
        description=str(spec.get("description", "")).strip(),
        summary_sentences=sentences,
        generation=dict(generation),
        prompt=prompt,
        dataset=source,
    )


def discover_tasks(task_dirs: Sequence[Path] = ()) -> dict[str, Path]:
    """Task name -> definition file, bundled tasks first, then each directory given."""
    found: dict[str, Path] = {}
    for d in [bundled_dir("tasks"), *task_dirs]:
        if not d.is_dir():
            raise BenchError(f"tasks directory not found: {relpath(d)}", hint="pass an existing directory to --tasks-dir")
        for p in sorted([*d.glob("*.yaml"), *d.glob("*.yml")]):
            name = _task_name(p)
            if name in found and found[name].resolve() != p.resolve():
                raise BenchError(
                    f"task {name!r} is defined twice: {relpath(found[name])} and {relpath(p)}",
                    hint="rename one of them (the 'name' key)",
                )
            found[name] = p
    return found


def _task_name(path: Path) -> str:
    """The task's `name` key, read without a full load (falls back to the file stem)."""
    import yaml

    try:
        if path.stat().st_size > MAX_TASK_FILE:
            return path.stem  # load_task refuses it
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return path.stem
    name = spec.get("name") if isinstance(spec, dict) else None
    return name if isinstance(name, str) and name else path.stem


def resolve_tasks(names: Sequence[str], task_dirs: Sequence[Path] = ()) -> list[Task]:
    """Tasks by name (or path to a .yaml file); all discovered tasks when `names` is empty.

    `bench run` without --task keeps only those that `runs_by_default`.
    """
    known = discover_tasks(task_dirs)
    if not names:
        return [load_task(p) for p in known.values()]
    tasks = []
    for n in names:
        p = Path(n)
        if p.suffix in (".yaml", ".yml") and p.is_file():
            tasks.append(load_task(p))
        elif n in known:
            tasks.append(load_task(known[n]))
        else:
            raise BenchError(
                f"unknown task {n!r}.{did_you_mean(n, list(known))}",
                hint=f"known tasks: {', '.join(known)} (or pass a path to a task .yaml file; see `bench list`)",
            )
    return tasks
