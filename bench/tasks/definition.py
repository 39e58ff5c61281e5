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
model loads (`bench.tasks.fixtures`), and every problem is reported at once with
file:line and field. Tasks that name a dataset (`bench.tasks.datasets`) run only
when asked for by name (`runs_by_default`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.tasks.datasets import DatasetSource, _load_dataset_task, _load_jsonl_dataset, _parse_dataset
from bench.errors import BenchError, BenchErrors, relpath
from bench.tasks.fixtures import _key_line, parse_squad_json, select_indices, validate_fixture
from bench.registry import Registry, did_you_mean

TASK_SCHEMA_KEYS = {
    "name", "version", "type", "description", "fixture", "dataset", "fields", "metrics",
    "summary_sentences", "generation", "prompt", "source",
}



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


# ---------------------------------------------------------------- definitions


def bundled_dir(kind: str) -> Path:
    """The bundled `tasks` or `fixtures` directory (repository checkout or installed wheel)."""
    pkg = Path(__file__).resolve().parent.parent
    for candidate in (pkg / "_bundled" / kind, pkg.parent / kind):
        if candidate.is_dir():
            return candidate
    raise BenchError(f"bundled {kind} directory not found next to {pkg}", exit_code=3)


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
