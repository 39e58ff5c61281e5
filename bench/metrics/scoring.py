"""Scoring: a task's metrics over one set of predictions, merged into one `Scores`.

Also the reader of `bench score` input files (one ``{"id", "prediction",
"references"}`` per line), which rescoring uses to check a run's
predictions.jsonl too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.errors import BenchError, BenchErrors, relpath
from bench.io import SURROGATE_HINT, json_type, lone_surrogate, read_jsonl, surrogate_name
from bench.metrics import MetricOptions, MetricResult, get_metric
from bench.tasks.records import as_references

LINE_FORMAT = '{"id": str, "prediction": str, "references": [str, ...]}'


@dataclass(frozen=True)
class Scores:
    """All metrics of a task over one set of predictions."""

    metrics: dict[str, float]
    ci: dict[str, tuple[float, float]]
    signatures: dict[str, str]
    counts: dict[str, int]
    per_example: list[dict[str, float]]
    """Per example (in input order): metric name -> score."""
    warnings: list[str]


def score_predictions(
    metric_names: Sequence[str],
    predictions: Sequence[str],
    references: Sequence[str | Sequence[str]],
    options: MetricOptions,
) -> Scores:
    """Compute each named metric over `predictions` against `references` and merge the results.

    Each example's references are a list of strings, or one string (`as_references`).
    """
    if len(predictions) != len(references):
        raise ValueError("predictions and references differ in length")
    references = [as_references(r) for r in references]
    results: list[MetricResult] = [get_metric(m, options).compute(predictions, references) for m in metric_names]
    metrics: dict[str, float] = {}
    ci: dict[str, tuple[float, float]] = {}
    signatures: dict[str, str] = {}
    counts: dict[str, int] = {}
    warnings: list[str] = []
    per_example: list[dict[str, float]] = [{} for _ in predictions]
    for r in results:
        metrics.update(r.metrics)
        ci.update(r.ci)
        signatures.update(r.signatures)
        counts.update(r.counts)
        warnings.extend(r.warnings)
        for name, values in r.per_example.items():
            for k, v in enumerate(values):
                per_example[k][name] = v
    return Scores(metrics=metrics, ci=ci, signatures=signatures, counts=counts, per_example=per_example,
                  warnings=warnings)


def read_score_file(path: Path, metric: str) -> tuple[list[str], list[str], list[list[str]]]:
    """(ids, predictions, references) from a JSONL file of {"id", "prediction", "references"}.

    Every bad line is reported at once (one `BenchErrors`), each with its line
    number: missing fields, wrong types, duplicate ids, an unpaired surrogate
    escape in any field (not Unicode text; it could not be written back) and,
    for ROUGE, no non-empty reference. A string in place of the references list
    is one reference.
    """
    ids: list[str] = []
    predictions: list[str] = []
    references: list[list[str]] = []
    errors: list[BenchError] = []
    seen: dict[str, int] = {}
    for lineno, obj in read_jsonl(path):
        where = f"{relpath(path)}:{lineno}"
        missing = [key for key in ("id", "prediction", "references") if key not in obj]
        errors += [BenchError(f"missing field {key!r}", where=where, hint=f"each line is {LINE_FORMAT}")
                   for key in missing]
        if missing:
            continue
        surrogate = next(((key, found) for key, value in obj.items()
                          if (found := lone_surrogate(key) or lone_surrogate(value))), None)
        if surrogate:
            key, found = surrogate
            errors.append(BenchError(f"{surrogate_name(found)} at character {found[1]}: not valid Unicode text",
                                     where=f"{where} (field {key!r})", hint=SURROGATE_HINT))
            continue
        ex_id, pred, refs = obj["id"], obj["prediction"], obj["references"]
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
        if metric == "rouge" and not any(r.strip() for r in refs):
            errors.append(BenchError("no non-empty reference", where=where,
                                     hint="ROUGE needs a reference text (an empty list is only meaningful for SQuAD)"))
            continue
        ids.append(ex_id)
        predictions.append(pred)
        references.append(refs)
    if errors:
        raise BenchErrors(errors)
    return ids, predictions, references
