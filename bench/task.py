"""Tasks: a YAML definition (data, not code) over a JSONL fixture.

A task definition names its type, the fixture file, which fixture fields hold
the id, input and references, the metrics, and generation settings::

    name: seed-summarization
    version: 1
    type: summarization            # or: qa
    fixture: ../fixtures/seed_summarization.jsonl   # relative to this file
    fields: {id: id, document: document, references: references}
    metrics: [rouge]
    summary_sentences: 3           # how long an extractive summary should be
    generation: {max_new_tokens: 142}

Task *types* are Python (`TASK_TYPES`); they say which fields a fixture line
must have and turn a line into an `Example`. Every fixture is validated line
by line before any model loads, and every problem is reported with file:line.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import BenchError, BenchErrors, relpath
from bench.registry import Registry, did_you_mean

TASK_SCHEMA_KEYS = {
    "name", "version", "type", "description", "fixture", "fields", "metrics",
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
    fixture: Path
    fields: Mapping[str, str]
    metrics: tuple[str, ...]
    path: Path
    """The YAML file that defines the task."""
    hash: str
    """sha256 of the definition (canonical JSON) and the fixture bytes."""
    description: str = ""
    summary_sentences: int = 3
    generation: Mapping[str, Any] = field(default_factory=dict)
    prompt: str | None = None

    @property
    def short_hash(self) -> str:
        return self.hash[:12]

    def count_examples(self) -> int:
        """Number of examples without parsing them (for `bench list`)."""
        with self.fixture.open("rb") as f:
            return sum(1 for line in f if line.strip())

    def load_examples(self, limit: int | None = None) -> list[Example]:
        """Validate the fixture, load it through `datasets`, and build examples."""
        rows = validate_fixture(self)
        dataset = _load_jsonl_dataset(self.fixture)
        if len(dataset) != len(rows):
            raise BenchError(
                f"datasets read {len(dataset)} rows but the file has {len(rows)} non-empty lines",
                where=relpath(self.fixture),
            )
        examples = [self.example_from_row(row) for row in dataset]
        return examples[:limit] if limit is not None else examples

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
            references=(refs,) if isinstance(refs, str) else tuple(refs),
        )


def _load_jsonl_dataset(path: Path):
    try:
        import datasets
    except ImportError as e:  # pragma: no cover - a core dependency
        raise BenchError("the 'datasets' package is missing", hint="pip install datasets", exit_code=3) from e
    datasets.logging.set_verbosity_error()
    datasets.disable_progress_bars()
    return datasets.load_dataset("json", data_files=str(path), split="train")


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


def read_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed object) for each non-empty line; raises BenchErrors for all bad lines."""
    errors: list[BenchError] = []
    rows: list[tuple[int, Any]] = []
    try:
        data = path.read_bytes()
    except OSError as e:
        raise BenchError(f"cannot read file: {e.strerror}", where=relpath(path)) from None
    if data.startswith(b"\xef\xbb\xbf"):
        errors.append(BenchError(
            "file starts with a UTF-8 byte-order mark", where=_where(path, 1),
            hint="save the file as UTF-8 without BOM",
        ))
        data = data[3:]
    if not data.strip():
        raise BenchError("file is empty", where=relpath(path), hint="a fixture has one JSON object per line")
    for lineno, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            errors.append(BenchError(
                f"not valid UTF-8 (byte {raw[e.start]:#04x} at column {e.start + 1})",
                where=_where(path, lineno), hint="re-encode the file as UTF-8",
            ))
            continue
        try:
            obj = json.loads(text, parse_constant=_reject_constant)
        except _NonFinite as e:
            errors.append(BenchError(f"{e} is not a valid number", where=_where(path, lineno)))
            continue
        except json.JSONDecodeError as e:
            errors.append(BenchError(
                f"invalid JSON: {e.msg} (column {e.colno})", where=_where(path, lineno),
                hint="each line must be one complete JSON object",
            ))
            continue
        if not isinstance(obj, dict):
            errors.append(BenchError(
                f"expected a JSON object, got {type(obj).__name__}", where=_where(path, lineno)
            ))
            continue
        rows.append((lineno, obj))
    if errors:
        raise BenchErrors(errors)
    return iter(rows)


class _NonFinite(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _NonFinite(name)


def validate_fixture(task: Task) -> list[dict]:
    """Check every line of the task's fixture; report all problems at once."""
    path = task.fixture
    errors: list[BenchError] = []
    rows: list[dict] = []
    seen: dict[str, int] = {}
    f = task.fields
    for lineno, obj in read_jsonl(path):
        line_errors: list[BenchError] = []

        def need(logical: str, kind: type | tuple[type, ...], what: str) -> Any:
            name = f[logical]
            if name not in obj:
                line_errors.append(BenchError(
                    f"missing field {name!r}{did_you_mean(name, list(obj))}",
                    where=_where(path, lineno), hint=f"the task maps '{logical}' to fixture field {name!r}",
                ))
                return None
            value = obj[name]
            if not isinstance(value, kind) or isinstance(value, bool):
                line_errors.append(BenchError(
                    f"expected {what}, got {_json_type(value)}", where=_where(path, lineno, name)
                ))
                return None
            return value

        ex_id = need("id", (str, int), "a string id")
        if ex_id is not None:
            ex_id = str(ex_id)
            if ex_id in seen:
                line_errors.append(BenchError(
                    f"duplicate id {ex_id!r} (first used on line {seen[ex_id]})",
                    where=_where(path, lineno, f["id"]), hint="ids must be unique within a fixture",
                ))
            else:
                seen[ex_id] = lineno
        if task.type == "summarization":
            doc = need("document", str, "a string")
            if doc is not None and not doc.strip():
                line_errors.append(BenchError("document is empty", where=_where(path, lineno, f["document"])))
            refs = need("references", (list, str), "a list of reference strings")
            if refs is not None:
                refs_list = [refs] if isinstance(refs, str) else refs
                if not refs_list:
                    line_errors.append(BenchError(
                        "no references", where=_where(path, lineno, f["references"]),
                        hint="a summarization example needs at least one non-empty reference",
                    ))
                for k, r in enumerate(refs_list):
                    if not isinstance(r, str):
                        line_errors.append(BenchError(
                            f"reference {k} is {_json_type(r)}, expected a string",
                            where=_where(path, lineno, f["references"]),
                        ))
                    elif not r.strip():
                        line_errors.append(BenchError(
                            f"reference {k} is empty", where=_where(path, lineno, f["references"]),
                            hint="write the reference summary, or remove the empty string",
                        ))
        else:
            context = need("context", str, "a string")
            if context is not None and not context.strip():
                line_errors.append(BenchError("context is empty", where=_where(path, lineno, f["context"])))
            question = need("question", str, "a string")
            if question is not None and not question.strip():
                line_errors.append(BenchError("question is empty", where=_where(path, lineno, f["question"])))
            answers = need("answers", dict, 'an object {"text": [...], "answer_start": [...]}')
            if answers is not None:
                line_errors.extend(_check_answers(answers, context, path, lineno, f["answers"]))
        if _has_nonfinite(obj):
            line_errors.append(BenchError("contains NaN or infinity", where=_where(path, lineno)))
        errors.extend(line_errors)
        if not line_errors:
            rows.append(obj)
    if errors:
        raise BenchErrors(errors)
    return rows


def _check_answers(answers: dict, context: str | None, path: Path, lineno: int, name: str) -> list[BenchError]:
    errs: list[BenchError] = []
    texts, starts = answers.get("text"), answers.get("answer_start")
    if not isinstance(texts, list) or not isinstance(starts, list):
        return [BenchError(
            'answers must have lists "text" and "answer_start" ([] and [] for an unanswerable question)',
            where=_where(path, lineno, name),
        )]
    if len(texts) != len(starts):
        return [BenchError(
            f'"text" has {len(texts)} answers but "answer_start" has {len(starts)}',
            where=_where(path, lineno, name),
        )]
    for k, (text, start) in enumerate(zip(texts, starts)):
        if not isinstance(text, str) or not text.strip():
            errs.append(BenchError(f"answer {k} is not a non-empty string", where=_where(path, lineno, name)))
            continue
        if not isinstance(start, int) or isinstance(start, bool) or start < 0:
            errs.append(BenchError(
                f"answer_start {k} is {start!r}, expected a character offset >= 0", where=_where(path, lineno, name)
            ))
            continue
        if context is None:
            continue
        if context[start:start + len(text)] != text:
            found = [i for i in _find_all(context, text)]
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
                where=_where(path, lineno, name), hint=hint,
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


def load_task(path: Path) -> Task:
    """Read and check one task definition (`yaml.safe_load` only)."""
    import yaml

    where = relpath(path)
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except OSError as e:
        raise BenchError(f"cannot read task definition: {e.strerror}", where=where) from None
    except UnicodeDecodeError:
        raise BenchError("task definition is not valid UTF-8", where=where) from None
    try:
        spec = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        loc = f"{where}:{mark.line + 1}" if mark else where
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise BenchError(f"invalid YAML: {problem}", where=loc) from None
    if not isinstance(spec, dict):
        raise BenchError("a task definition must be a YAML mapping (key: value lines)", where=where)

    def line_of(key: str) -> str:
        for n, line in enumerate(text.splitlines(), start=1):
            if line.split("#")[0].rstrip().startswith(f"{key}:"):
                return f"{where}:{n}"
        return where

    errors: list[BenchError] = []
    for key in spec:
        if key not in TASK_SCHEMA_KEYS:
            errors.append(BenchError(
                f"unknown key {key!r}.{did_you_mean(str(key), sorted(TASK_SCHEMA_KEYS))}", where=line_of(str(key)),
            ))
    name = spec.get("name", path.stem)
    if not isinstance(name, str) or not name or "/" in name or "\\" in name or name.startswith("."):
        errors.append(BenchError(f"invalid task name {name!r}", where=line_of("name"),
                                 hint="use letters, digits, '-', '_' and '.'"))
    version = spec.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        errors.append(BenchError(f"'version' must be a positive integer, got {version!r}", where=line_of("version"),
                                 hint="add 'version: 1' and increase it whenever the task changes"))
    ttype_name = spec.get("type")
    ttype = None
    if ttype_name not in TASK_TYPES:
        errors.append(BenchError(
            f"unknown task type {ttype_name!r}.{did_you_mean(str(ttype_name), TASK_TYPES.names())}",
            where=line_of("type"), hint=f"task types: {', '.join(TASK_TYPES.names())}",
        ))
    else:
        ttype = TASK_TYPES.get(ttype_name)
    fixture = spec.get("fixture")
    fixture_path = None
    if not isinstance(fixture, str) or not fixture:
        errors.append(BenchError("'fixture' must name a JSONL file (relative to the task file)", where=line_of("fixture")))
    else:
        fixture_path = (path.parent / fixture).resolve()
        if not fixture_path.is_file():
            errors.append(BenchError(f"fixture file not found: {relpath(fixture_path)}", where=line_of("fixture")))
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

    if not isinstance(metrics, list):
        errors.append(BenchError("'metrics' must be a list of metric names", where=line_of("metrics")))
        metrics = []
    for m in metrics:
        if m not in METRICS:
            errors.append(BenchError(f"unknown metric {m!r}.{did_you_mean(str(m), METRICS.names())}",
                                     where=line_of("metrics"), hint=f"metrics: {', '.join(METRICS.names())}"))
        elif ttype is not None and ttype.name not in METRICS.get(m).task_types:
            errors.append(BenchError(f"metric {m!r} does not apply to {ttype.name} tasks", where=line_of("metrics")))
    sentences = spec.get("summary_sentences", 3)
    if not isinstance(sentences, int) or isinstance(sentences, bool) or sentences < 1:
        errors.append(BenchError("'summary_sentences' must be a positive integer", where=line_of("summary_sentences")))
    generation = spec.get("generation", {}) or {}
    if not isinstance(generation, dict):
        errors.append(BenchError("'generation' must be a mapping of generation settings", where=line_of("generation")))
    prompt = spec.get("prompt")
    if prompt is not None and not isinstance(prompt, str):
        errors.append(BenchError("'prompt' must be a string", where=line_of("prompt")))
    if errors:
        raise errors[0] if len(errors) == 1 else BenchErrors(errors)

    assert fixture_path is not None and ttype is not None
    digest = hashlib.sha256()
    digest.update(json.dumps(spec, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8"))
    digest.update(b"\0")
    with fixture_path.open("rb") as fh:
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
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return path.stem
    name = spec.get("name") if isinstance(spec, dict) else None
    return name if isinstance(name, str) and name else path.stem


def resolve_tasks(names: Sequence[str], task_dirs: Sequence[Path] = ()) -> list[Task]:
    """Tasks by name (or path to a .yaml file); all discovered tasks when `names` is empty."""
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
