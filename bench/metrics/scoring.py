"""Scoring: a task's metrics over one set of examples, aggregated and merged into one `Scores`.

Every metric gives per-example values (`MetricResult`); the mean of each
score, its seeded bootstrap 95% CI and how many examples it left unscored are
computed here, once for all of them (`aggregate`): one draw of resampled
indices serves every score over the same examples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.io import collector_paused, json_type
from bench.metrics.aggregation import aggregate, count_none, unscored_count
from bench.metrics.catalog import METRICS, MetricSpec, as_specs, metric_code, resolve_metric
from bench.metrics.metric import Metric, MetricInputs, MetricResult
from bench.metrics.metric_options import MetricOptions
from bench.metrics.score_file import FILE_FIELDS
from bench.tasks.records import as_references


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
        directions = {spec.name: {name: d for name in result.score_names() if (d := metric.direction_of(name)) != "higher"}
                      for (spec, metric, _), (_, result, _) in zip(made, results) if spec.name not in METRICS}
    finally:
        for _, metric, _ in made:
            metric.close()
    return replace(merge_results(results, len(inputs), options), directions={k: v for k, v in directions.items() if v})


def merge_results(results: Sequence[tuple[MetricSpec, MetricResult, str | None]], n: int,
                  options: MetricOptions | None = None) -> Scores:
    """The metrics' results over `n` examples, aggregated (`aggregate`, with `options`' bootstrap) and merged
    into one `Scores`. Two metrics that give a score of the same name are refused; so is a result whose
    values do not fit the examples."""
    with collector_paused():  # n dicts per example, none of them in a cycle
        return _merge_results(results, n, options or MetricOptions())


def _merge_results(results: Sequence[tuple[MetricSpec, MetricResult, str | None]], n: int,
                   options: MetricOptions) -> Scores:
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
        for name in r.score_names():
            if name in owner:
                raise BenchError(f"metrics {owner[name]!r} and {spec.name!r} both give a score named {name!r}",
                                 hint="ask for one of them only")
            owner[name] = spec.name
        _check_lengths(spec, r, n)
    references = [r.reference for _, r, _ in results if r.reference is not None]
    aggregates = aggregate([r for _, r, _ in results] + references, options)
    reference_aggregates = iter(aggregates[len(results):])
    for (spec, r, code), agg in zip(results, aggregates):
        metrics.update(agg.metrics)
        ci.update(agg.ci)
        signatures.update({k: _with_code(v, code) for k, v in r.signatures.items()})
        counts.update(agg.counts)
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
            ref = next(reference_aggregates)
            reference = reference or {"metrics": {}, "ci": {}, "signatures": {}, "counts": {}}
            reference["metrics"].update(ref.metrics)
            reference["ci"].update(ref.ci)
            reference["signatures"].update({k: _with_code(v, code) for k, v in r.reference.signatures.items()})
            reference["counts"].update(ref.counts)
    return Scores(metrics=metrics, ci=ci, signatures=signatures, counts=counts, per_example=per_example,
                  warnings=warnings, details=details, reference=reference)


def _check_lengths(spec: MetricSpec, r: MetricResult, n: int) -> None:
    """A metric's result must have a signature per score and one value per example: a user's metric that
    gets this wrong is refused before anything is written."""
    for name in r.score_names():
        if name not in r.signatures:
            raise BenchError(f"metric {spec.name!r} gave no signature for its score {name!r}",
                             hint="MetricResult.signatures needs one string per score (bench.metrics.metric.signature)")
    for name, value in [*(r.metrics or {}).items(), *r.corpus.items()]:
        if value is not None and not isinstance(value, (int, float)) or isinstance(value, bool):
            raise BenchError(f"metric {spec.name!r} gave {json_type(value)} for its score {name!r}, not a number")
    for name, (score, indices) in r.subsets.items():
        if score not in r.per_example or any(not 0 <= i < n for i in indices):
            raise BenchError(f"metric {spec.name!r} gave the subset score {name!r} over {score!r}, which is not "
                             f"one of its per-example scores, or over examples outside 0..{n - 1}")
    for name, values in [*r.per_example.items(), *r.details.items()]:
        if len(values) != n:
            raise BenchError(f"metric {spec.name!r} gave {len(values)} values of {name!r} for {n} examples")
    for name, values in r.per_example.items():  # (details may share a score's name: only scores are numbers)
        if not _all_finite_numbers(values):
            bad = [v for v in values if v is not None and not _finite_number(v)]
            if bad:
                raise BenchError(f"metric {spec.name!r} gave a per-example value of {name!r} that is not a finite "
                                 f"number: {bad[0]!r}")
        missing = count_none(values)
        counted = r.counts.get(unscored_count(name))
        # an older metric (one that gives its own `metrics`) counts its unscored examples itself
        if missing and (counted is not None or r.metrics is not None) and counted != missing:
            raise BenchError(f"metric {spec.name!r} left {missing} examples without a {name!r} score but counts "
                             f"{counted!r} of them",
                             hint=f"set counts[{unscored_count(name)!r}] to the number of None values, or leave it "
                                  "out: bench counts them")


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


