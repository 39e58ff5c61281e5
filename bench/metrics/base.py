"""Metric interface, options and signatures.

A metric turns (prediction, references) pairs into per-example scores
(0..100), aggregates them into corpus values (the mean, 0..100) with a seeded
bootstrap CI beside each, and describes every option that changes a number
in a signature string, in the manner of sacrebleu:

    rougeLsum|nrefs:4|tok:rouge-ascii|stem:porter|split:nupunkt-0.8.0|agg:mean|bench:0.1.0

Two values with different signatures are not comparable.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from bench.version import __version__
from bench.metrics.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED, bootstrap_ci


@dataclass(frozen=True)
class MetricOptions:
    """Every option that can change a metric's numbers."""

    stemmer: bool = True
    """ROUGE: Porter-stem tokens longer than 3 characters (rouge_score's use_stemmer)."""
    split_sentences: bool = True
    """ROUGE-Lsum: split predictions, and references without newlines, into sentences."""
    tokenizer: str = "default"
    """ROUGE: 'default' (rouge_score's, ASCII a-z0-9 only) or 'unicode' (letters of every script)."""
    bootstrap_seed: int = DEFAULT_SEED
    bootstrap_resamples: int = DEFAULT_RESAMPLES


@dataclass(frozen=True)
class MetricResult:
    """Scores of one metric over a corpus."""

    per_example: dict[str, list[float]]
    """Score name -> per-example score (0..100), in the order of the predictions."""
    metrics: dict[str, float]
    """Corpus value (mean of per-example scores, 0..100) per score name."""
    ci: dict[str, tuple[float, float]]
    """95% bootstrap interval of each corpus value."""
    signatures: dict[str, str]
    counts: dict[str, int] = field(default_factory=dict)
    """Sizes of subsets a metric reports on (e.g. HasAns_total)."""
    warnings: list[str] = field(default_factory=list)


def nrefs_field(references: Sequence[Sequence[str]]) -> str:
    counts = sorted({len(r) for r in references})
    if not counts:
        return "0"
    if len(counts) == 1:
        return str(counts[0])
    return f"{counts[0]}-{counts[-1]}"


def signature(name: str, *fields: tuple[str, str]) -> str:
    return "|".join([name, *(f"{k}:{v}" for k, v in fields), f"bench:{__version__}"])


def corpus_stats(
    per_example: dict[str, np.ndarray], options: MetricOptions
) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    metrics: dict[str, float] = {}
    ci: dict[str, tuple[float, float]] = {}
    for name, values in per_example.items():
        values = np.asarray(values, dtype=np.float64)
        metrics[name] = float(values.mean()) if values.size else float("nan")
        ci[name] = bootstrap_ci(
            values, seed=options.bootstrap_seed, n_resamples=options.bootstrap_resamples
        )
    return metrics, ci


class Metric:
    """Base class: subclasses set `name` and implement `compute`."""

    name: str = ""
    #: Task types this metric applies to.
    task_types: tuple[str, ...] = ()
    #: The range of every score this metric gives, per example and corpus value alike; a value outside it
    #: in a results.json is a damaged run. Unbounded unless the metric declares it (rouge, squad: 0..100).
    value_range: tuple[float, float] = (-math.inf, math.inf)

    def __init__(self, options: MetricOptions | None = None) -> None:
        self.options = options or MetricOptions()

    def compute(self, predictions: Sequence[str], references: Sequence[Sequence[str]]) -> MetricResult:
        raise NotImplementedError
