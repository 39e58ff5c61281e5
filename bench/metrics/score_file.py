"""Reading `bench score` input files: one ``{"id", "prediction", "references"}`` per line, with
``"document"``, ``"question"`` and ``"no_answer_probability"`` where a metric needs them. Rescoring reads a
run's predictions.jsonl with it too."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import BenchError, BenchErrors, relpath
from bench.io import (SURROGATE_HINT, json_type, lone_surrogate, read_bytes, read_jsonl, surrogate_escape_lines,
                      surrogate_name)
from bench.metrics.catalog import MetricSpec, as_specs, resolve_metric
from bench.metrics.metric import Metric, MetricInputs
from bench.tasks.records import as_references

LINE_FORMAT = '{"id": str, "prediction": str, "references": [str, ...]}'

#: What each field a metric may need is called in a `bench score` file.
FILE_FIELDS = {"prediction": "prediction", "references": "references", "document": "document",
               "question": "question", "no_answer_score": "no_answer_probability"}


@dataclass(frozen=True)
class ScoreFile:
    """A `bench score` file (or a run's predictions.jsonl) as metrics read it."""

    inputs: MetricInputs
    lines: list[int]
    """The line number of each example."""
    rows: list[dict[str, Any]]
    """Each line's object, as read."""


def read_score_file(path: Path, metric: str) -> tuple[list[str], list[str], list[list[str]]]:
    """(ids, predictions, references) from a JSONL file of {"id", "prediction", "references"} (`read_score_rows`)."""
    f = read_score_rows(path, [metric])
    return list(f.inputs.ids), list(f.inputs.predictions), [list(r) for r in f.inputs.references]


def read_score_rows(path: Path, metrics: Sequence[str | MetricSpec] = ("rouge",)) -> ScoreFile:
    """The examples of a JSONL file of {"id", "prediction", "references"} and what else `metrics` need.

    Every bad line is reported at once (one `BenchErrors`), each with its line
    number: missing fields, wrong types, duplicate ids, an unpaired surrogate
    escape in any field (not Unicode text; it could not be written back) and,
    for ROUGE, no non-empty reference. A string in place of the references list
    is one reference. ``references`` may be left out when no metric asked for
    reads them (extractiveness reads the ``document``). ``document``,
    ``question`` (strings) and ``no_answer_probability`` (a number; a run's
    predictions.jsonl calls it ``no_answer_score``) are read when present; a
    metric that needs one refuses a file without it, before anything is scored.
    """
    specs = as_specs(metrics)
    classes = [resolve_metric(m.name) for m in specs]
    needs_refs = any("references" in c.needs for c in classes)
    rouge = any(m.name == "rouge" for m in specs)
    required = ("id", "prediction", "references") if needs_refs else ("id", "prediction")
    line_format = LINE_FORMAT if needs_refs else '{"id": str, "prediction": str, "document": str}'
    ids: list[str] = []
    predictions: list[str] = []
    references: list[list[str]] = []
    # The optional fields of the lines that have them, by example index (most files have none).
    documents: dict[int, str] = {}
    questions: dict[int, str] = {}
    no_answer: dict[int, float] = {}
    lines: list[int] = []
    objs: list[dict[str, Any]] = []
    errors: list[BenchError] = []
    seen: dict[str, int] = {}
    shown = relpath(path)  # once: it resolves the path on disk
    data = read_bytes(path)
    rows = read_jsonl(path, data=data)
    suspects = surrogate_escape_lines(data)  # lines that may hold an unpaired surrogate (usually none)
    id_, prediction_, references_ = ids.append, predictions.append, references.append
    line_, obj_ = lines.append, objs.append
    for lineno, obj in rows:
        # The usual line: exactly {"id": str, "prediction": str, "references": [str, ...]}, a new id, no
        # surrogate escape, a non-empty reference for ROUGE (`r and not r.isspace()` is `r.strip()`, without a
        # copy). It passes every check below, so it is taken as is; any other line goes through them all.
        refs = obj.get("references")
        if (len(obj) == 3 and type(refs) is list and type(ex_id := obj.get("id")) is str
                and type(pred := obj.get("prediction")) is str and ex_id not in seen and lineno not in suspects
                and (len(refs) == 1 and type(r := refs[0]) is str and (not rouge or r and not r.isspace())
                     or len(refs) != 1 and all(type(r) is str for r in refs)
                     and (not rouge or any(r.strip() for r in refs)))):
            seen[ex_id] = lineno
            id_(ex_id)
            prediction_(pred)
            references_(refs)
            line_(lineno)
            obj_(obj)
            continue
        where = f"{shown}:{lineno}"
        missing = [key for key in required if key not in obj]
        errors += [BenchError(f"missing field {key!r}", where=where, hint=f"each line is {line_format}")
                   for key in missing]
        if missing:
            continue
        surrogate = lineno in suspects and next(((key, found) for key, value in obj.items()
                                                 if (found := lone_surrogate(key) or lone_surrogate(value))), None)
        if surrogate:
            key, found = surrogate
            errors.append(BenchError(f"{surrogate_name(found)} at character {found[1]}: not valid Unicode text",
                                     where=f"{where} (field {key!r})", hint=SURROGATE_HINT))
            continue
        ex_id, pred, refs = obj["id"], obj["prediction"], obj.get("references", [])
        if not isinstance(ex_id, (str, int)) or isinstance(ex_id, bool):
            errors.append(BenchError(f"'id' must be a string, got {json_type(ex_id)}", where=where,
                                     hint='e.g. "id": "a1"'))
            continue
        ex_id = str(ex_id)
        if ex_id in seen:
            errors.append(BenchError(f"duplicate id {ex_id!r} (first on line {seen[ex_id]})", where=where,
                                     hint="ids must be unique within a file"))
            continue
        seen[ex_id] = lineno
        if not isinstance(pred, str):
            errors.append(BenchError(f"'prediction' must be a string, got {json_type(pred)}", where=where,
                                     hint='an empty prediction (or "no answer", for SQuAD) is ""'))
            continue
        if isinstance(refs, str):
            refs = as_references(refs)
        if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
            errors.append(BenchError("'references' must be a list of strings", where=where,
                                     hint='e.g. "references": ["A reference summary."]'))
            continue
        if rouge and not any(r.strip() for r in refs):
            errors.append(BenchError("no non-empty reference", where=where,
                                     hint="ROUGE needs a reference text (an empty list is only meaningful for SQuAD)"))
            continue
        bad = False
        for key in ("document", "question"):
            if key in obj and not isinstance(obj[key], str):
                errors.append(BenchError(f"{key!r} must be a string, got {json_type(obj[key])}", where=where,
                                         hint=f'e.g. "{key}": "..."'))
                bad = True
        na_key = "no_answer_probability" if "no_answer_probability" in obj else "no_answer_score"
        na = obj.get(na_key)
        if na is not None and not (isinstance(na, (int, float)) and not isinstance(na, bool) and math.isfinite(na)):
            errors.append(BenchError(f"{na_key!r} must be a finite number, got {json_type(na)}", where=where,
                                     hint=f'e.g. "{na_key}": 0.87 (higher: more likely unanswerable)'))
            bad = True
        if bad:
            continue
        k = len(ids)
        for column, value in ((documents, obj.get("document")), (questions, obj.get("question")),
                              (no_answer, None if na is None else float(na))):
            if value is not None:
                column[k] = value
        ids.append(ex_id)
        predictions.append(pred)
        references.append(refs)
        lines.append(lineno)
        objs.append(obj)
    if errors:
        raise BenchErrors(errors)
    n = len(ids)
    inputs = MetricInputs(
        ids=ids, predictions=predictions, references=references,
        documents=[documents.get(k) for k in range(n)] if documents else None,
        questions=[questions.get(k) for k in range(n)] if questions else None,
        no_answer_scores=[no_answer.get(k) for k in range(n)] if no_answer else None,
    )
    for spec, cls in zip(specs, classes):
        _check_file_needs(path, spec, cls, inputs, lines)
    return ScoreFile(inputs=inputs, lines=lines, rows=objs)


def _check_file_needs(path: Path, spec: MetricSpec, cls: type[Metric], inputs: MetricInputs,
                      lines: Sequence[int]) -> None:
    """A metric's needs against a file: the first line without the field, and how many more."""
    for need in sorted(cls.needs & set(MetricInputs.OPTIONAL)):
        column = inputs.column(need)
        missing = [lines[k] for k in range(len(lines)) if column is None or column[k] is None]
        if missing:
            key = FILE_FIELDS[need]
            more = f" (and {len(missing) - 1} more line{'s' if len(missing) != 2 else ''})" if len(missing) > 1 else ""
            raise BenchError(f"metric {spec.name!r} needs a {key!r} on every line; this line has none{more}",
                             where=f"{relpath(path)}:{missing[0]}",
                             hint=f'add "{key}": ... to each line' + (
                                 " (a summary's source document)" if need == "document" else ""))
