"""Aggregation, written once for every metric: the mean of each score, its seeded bootstrap 95% CI and how many
examples it left unscored, from a metric's per-example values (`MetricResult`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from bench.metrics.metric_options import MetricOptions
from bench.stats.bootstrap import bootstrap_cis


def unscored_count(name: str) -> str:
    """The `counts` key of how many examples have no value of score `name` (None per example)."""
    return f"{name}_unscored"


@dataclass(frozen=True)
class Aggregate:
    """A metric's corpus values: the mean of each score (per-example and subset), its CI, and its counts (the
    metric's own, and how many examples each score left unscored)."""

    metrics: dict[str, float]
    ci: dict[str, tuple[float, float] | None]
    counts: dict[str, int]


def aggregate(results: Sequence[Any], options: MetricOptions) -> list[Aggregate]:
    """The `Aggregate` of each result, from one call of the bootstrap: every vector of the same length is
    resampled with the same indices (each interval is the one `bootstrap_ci` gives it alone).

    A result that gives its own `metrics` (an older metric's) keeps them, with its CIs and counts.
    """
    vectors: dict[str, np.ndarray] = {}
    for k, r in enumerate(results):
        if r.metrics is not None:
            continue
        for name, values in r.per_example.items():
            vectors[f"{k}\0{name}"] = _present(values)
        for name, (score, indices) in r.subsets.items():
            values = r.per_example[score]
            vectors[f"{k}\0{name}"] = _present([values[i] for i in indices])
    cis = bootstrap_cis(vectors, seed=options.bootstrap_seed, n_resamples=options.bootstrap_resamples)
    out = []
    for k, r in enumerate(results):
        if r.metrics is not None:
            out.append(Aggregate(dict(r.metrics), {name: (r.ci or {}).get(name) for name in r.metrics}, dict(r.counts)))
            continue
        metrics: dict[str, float] = {}
        ci: dict[str, tuple[float, float] | None] = {}
        for name in r.score_names():
            if name in r.corpus:
                metrics[name], ci[name] = float(r.corpus[name]), None
            else:
                v = vectors[f"{k}\0{name}"]
                metrics[name] = float(v.mean()) if v.size else math.nan
                ci[name] = cis[f"{k}\0{name}"]
        counts = dict(r.counts)
        for name, values in r.per_example.items():
            missing = count_none(values)
            if missing and unscored_count(name) not in counts:
                counts[unscored_count(name)] = missing
        out.append(Aggregate(metrics, ci, counts))
    return out


def _present(values: Sequence[float | None]) -> np.ndarray:
    """The values that are there (None: unscored), as floats."""
    if isinstance(values, list) and None not in values:
        return np.asarray(values, dtype=np.float64)
    return np.asarray([v for v in values if v is not None], dtype=np.float64)


def count_none(values: Sequence[Any]) -> int:
    """How many values are None (unscored examples)."""
    return values.count(None) if isinstance(values, list) else sum(v is None for v in values)


def aggregated(result: Any, options: MetricOptions) -> Any:
    """A `MetricResult` with its corpus values filled in (`metrics`, `ci`, `counts`; its `reference`'s too), as
    the scoring step computes them: what a metric gives, scored on its own."""
    both = [result] + ([result.reference] if result.reference is not None else [])
    main, *ref = aggregate(both, options)
    reference = (replace(result.reference, metrics=ref[0].metrics, ci=ref[0].ci, counts=ref[0].counts)
                 if ref else None)
    return replace(result, metrics=main.metrics, ci=main.ci, counts=main.counts, reference=reference)
