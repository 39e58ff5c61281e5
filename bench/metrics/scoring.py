"""Scoring: a task's metrics over one set of examples, merged into one `Scores`.

Also the reader of `bench score` input files (one ``{"id", "prediction",
"references"}`` per line, with ``"document"``, ``"question"`` and
``"no_answer_probability"`` where a metric needs them), which rescoring uses
to check a run's predictions.jsonl too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.errors import BenchError, BenchErrors, relpath
from bench.io import (SURROGATE_HINT, collector_paused, json_type, lone_surrogate, read_bytes, read_jsonl,
                      surrogate_escape_lines, surrogate_name)
from bench.metrics.metric import unscored_count
from bench.metrics import (METRICS, Metric, MetricInputs, MetricOptions, MetricResult, MetricSpec,
                           metric_code, resolve_metric)
from bench.tasks.records import as_references

LINE_FORMAT = '{"id": str, "prediction": str, "references": [str, ...]}'

#: What each field a metric may need is called in a `bench score` file.
FILE_FIELDS = {"prediction": "prediction", "references": "references", "document": "document",
               "question": "question", "no_answer_score": "no_answer_probability"}


@dataclass(frozen=True)
class Scores:
    """All metrics of a task over one set of predictions."""

    metrics: dict[str, float]
    ci: dict[str, tuple[float, float] | None]
    signatures: dict[str, str]
    counts: dict[str, int]
    per_example: list[dict[str, float]]
    """Per example (in input order): score name -> score."""
    warnings: list[str]
    details: list[dict[str, Any]] = field(default_factory=list)
    """Per example: metric name -> what the metric keeps beside its scores (empty dicts when none)."""
    reference: dict[str, Any] | None = None
    """{"metrics", "ci", "signatures", "counts"} of the statistics computed on the references, or None."""
    directions: dict[str, dict[str, str]] = field(default_factory=dict)
    """Metric name -> {score: "lower" or "none"} for the scores of a metric that is not bench's own whose
    direction is not "higher": recorded in results.json (``config.metrics``), since `bench compare` cannot ask
    a user's or an `evaluate` metric without running its code."""

    def metric_records(self, specs: Sequence[MetricSpec]) -> list[dict[str, Any]]:
        """``config.metrics``: each metric's name and options, and the directions recorded for it."""
        return [{**s.record(), **({"directions": self.directions[s.name]} if self.directions.get(s.name) else {})}
                for s in specs]


def as_specs(metrics: Sequence[str | MetricSpec]) -> list[MetricSpec]:
    return [m if isinstance(m, MetricSpec) else MetricSpec(m) for m in metrics]


def check_needs(spec: MetricSpec, cls: type[Metric], inputs: MetricInputs, where: str = "") -> None:
    """Refuse examples that lack what a metric reads (its `needs`), naming the field and how to give it."""
    for need in sorted(cls.needs):
        if not inputs.has(need):
            key = FILE_FIELDS.get(need, need)
            raise BenchError(
                f"metric {spec.name!r} needs each example's {need.replace('_', ' ')}, and "
                f"{'some examples have' if _some(inputs, need) else 'the examples have'} none",
                where=where or None,
                hint=f"in a `bench score` file, give each line a {key!r} field" + (
                    "; in a run, the model must give one (an extractive QA model does)"
                    if need == "no_answer_score" else ""))


def _some(inputs: MetricInputs, need: str) -> bool:
    values = inputs.column(need) if need in MetricInputs.OPTIONAL else None
    return values is not None and any(v is not None for v in values)


def score_examples(
    metrics: Sequence[str | MetricSpec],
    inputs: MetricInputs,
    options: MetricOptions | None = None,
    *,
    cache_dir: Path | None = None,
    where: str = "",
) -> Scores:
    """Compute each metric over `inputs` and merge the results.

    Every metric is resolved and checked (its options, what it needs) before
    any of them runs, so a typo in the last one costs nothing. Two metrics
    that give a score of the same name are refused. A user's metric's
    signatures name its code (``code:<sha256 prefix>``).
    """
    options = options or MetricOptions()
    specs = as_specs(metrics)
    made: list[tuple[MetricSpec, Metric, str | None]] = []
    try:
        for spec in specs:
            cls = resolve_metric(spec.name)
            check_needs(spec, cls, inputs, where)
            made.append((spec, cls(options, spec.settings, cache_dir), metric_code(spec.name, cls)))
        results = [(spec, metric.compute(inputs), code) for spec, metric, code in made]
        directions = {spec.name: {name: d for name in result.metrics if (d := metric.direction_of(name)) != "higher"}
                      for (spec, metric, _), (_, result, _) in zip(made, results) if spec.name not in METRICS}
    finally:
        for _, metric, _ in made:
            metric.close()
    return replace(merge_results(results, len(inputs)), directions={k: v for k, v in directions.items() if v})


def merge_results(results: Sequence[tuple[MetricSpec, MetricResult, str | None]], n: int) -> Scores:
    with collector_paused():  # n dicts per example, none of them in a cycle
        return _merge_results(results, n)


def _merge_results(results: Sequence[tuple[MetricSpec, MetricResult, str | None]], n: int) -> Scores:
    metrics: dict[str, float] = {}
    ci: dict[str, tuple[float, float] | None] = {}
    signatures: dict[str, str] = {}
    counts: dict[str, int] = {}
    warnings: list[str] = []
    per_example: list[dict[str, float]] = [{} for _ in range(n)]
    details: list[dict[str, Any]] = [{} for _ in range(n)]
    reference: dict[str, Any] | None = None
    owner: dict[str, str] = {}
    for spec, r, code in results:
        for name in r.metrics:
            if name in owner:
                raise BenchError(f"metrics {owner[name]!r} and {spec.name!r} both give a score named {name!r}",
                                 hint="ask for one of them only")
            owner[name] = spec.name
        _check_lengths(spec, r, n)
        metrics.update(r.metrics)
        ci.update({k: r.ci.get(k) for k in r.metrics})
        signatures.update({k: _with_code(v, code) for k, v in r.signatures.items()})
        counts.update(r.counts)
        warnings.extend(r.warnings)
        for name, values in r.per_example.items():
            for k, v in enumerate(values):
                if v is not None:  # an unscored example has no value of this score
                    per_example[k][name] = v
        for name, values in r.details.items():
            for k, v in enumerate(values):
                if v is not None:
                    details[k][name] = v
        if r.reference is not None:
            reference = reference or {"metrics": {}, "ci": {}, "signatures": {}, "counts": {}}
            reference["metrics"].update(r.reference.metrics)
            reference["ci"].update(r.reference.ci)
            reference["signatures"].update({k: _with_code(v, code) for k, v in r.reference.signatures.items()})
            reference["counts"].update(r.reference.counts)
    return Scores(metrics=metrics, ci=ci, signatures=signatures, counts=counts, per_example=per_example,
                  warnings=warnings, details=details, reference=reference)


def _check_lengths(spec: MetricSpec, r: MetricResult, n: int) -> None:
    """A metric's result must have a signature per score and one value per example: a user's metric that
    gets this wrong is refused before anything is written."""
    for name in r.metrics:
        if name not in r.signatures:
            raise BenchError(f"metric {spec.name!r} gave no signature for its score {name!r}",
                             hint="MetricResult.signatures needs one string per score (bench.metrics.metric.signature)")
        value = r.metrics[name]
        if value is not None and not isinstance(value, (int, float)) or isinstance(value, bool):
            raise BenchError(f"metric {spec.name!r} gave {json_type(value)} for its score {name!r}, not a number")
    for name, values in [*r.per_example.items(), *r.details.items()]:
        if len(values) != n:
            raise BenchError(f"metric {spec.name!r} gave {len(values)} values of {name!r} for {n} examples")
    for name, values in r.per_example.items():  # (details may share a score's name: only scores are numbers)
        if not _all_finite_numbers(values):
            bad = [v for v in values if v is not None and not _finite_number(v)]
            if bad:
                raise BenchError(f"metric {spec.name!r} gave a per-example value of {name!r} that is not a finite "
                                 f"number: {bad[0]!r}")
        missing = values.count(None) if isinstance(values, list) else sum(v is None for v in values)
        if missing and r.counts.get(unscored_count(name)) != missing:
            raise BenchError(f"metric {spec.name!r} left {missing} examples without a {name!r} score but counts "
                             f"{r.counts.get(unscored_count(name))!r} of them",
                             hint=f"set counts[{unscored_count(name)!r}] to the number of None values")


def _finite_number(v: Any) -> bool:
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return False
    try:
        return math.isfinite(v)
    except OverflowError:  # an int too large for a float
        return False


def _all_finite_numbers(values: Sequence[Any]) -> bool:
    """True when every value is a finite float or int (not a bool), None allowed: the usual case, checked at
    C speed; False sends the caller to the value-by-value check that names the culprit."""
    kinds = set(map(type, values))
    kinds.discard(type(None))
    if not kinds <= {float, int}:
        return False
    try:
        present = [v for v in values if v is not None] if None in values else values
        return all(map(math.isfinite, present))
    except OverflowError:  # an int too large for a float
        return False


def _with_code(sig: str, code: str | None) -> str:
    if not code or "|code:" in sig:
        return sig
    head, sep, tail = sig.rpartition("|bench:")
    return f"{head}|code:{code}{sep}{tail}" if sep else f"{sig}|code:{code}"


def score_predictions(
    metric_names: Sequence[str | MetricSpec],
    predictions: Sequence[str],
    references: Sequence[str | Sequence[str]],
    options: MetricOptions,
) -> Scores:
    """Compute each named metric over `predictions` against `references` and merge the results.

    Each example's references are a list of strings, or one string (`as_references`).
    """
    if len(predictions) != len(references):
        raise ValueError("predictions and references differ in length")
    inputs = MetricInputs(ids=[str(k) for k in range(len(predictions))], predictions=list(predictions),
                          references=[as_references(r) for r in references])
    return score_examples(metric_names, inputs, options)


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
