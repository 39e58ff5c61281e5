"""The metric interface: what a metric reads (`MetricInputs`), what it gives (`MetricResult`), and signatures.

A metric turns examples (`MetricInputs`: predictions, references, and where
it needs them the source documents, questions or no-answer scores) into
per-example scores; the scoring step aggregates them into corpus values (the
mean) with a seeded bootstrap CI beside each (`bench.metrics.scoring`). Each
score carries a signature naming every option that changes the number, in the
manner of sacrebleu:

    rougeLsum|nrefs:4|tok:rouge-ascii|stem:porter|split:nupunkt-0.8.0|agg:mean|bench:0.1.0

Two values with different signatures are not comparable.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from bench.metrics.aggregation import aggregated
from bench.metrics.metric_options import MetricOptions, NoOptions, make_settings
from bench.stats.bootstrap import bootstrap_cis
from bench.version import __version__


#: What a metric can ask for, per example (`Metric.needs`).
FIELDS = ("prediction", "references", "document", "question", "no_answer_score")


@dataclass(frozen=True)
class MetricInputs:
    """What metrics score: one entry per example, in order.

    `documents` is the source text (a summarization task's document, a QA
    task's context), `no_answer_scores` an extractive QA model's no-answer
    score per question (`bench.models.model.Answer`); each is None when the
    examples do not have it.
    """

    ids: Sequence[str]
    predictions: Sequence[str]
    references: Sequence[Sequence[str]]
    documents: Sequence[str] | None = None
    questions: Sequence[str] | None = None
    no_answer_scores: Sequence[float | None] | None = None

    def __post_init__(self) -> None:
        n = len(self.predictions)
        for name in ("ids", "references", "documents", "questions", "no_answer_scores"):
            value = getattr(self, name)
            if value is not None and len(value) != n:
                raise ValueError(f"{name} has {len(value)} entries for {n} predictions")

    def __len__(self) -> int:
        return len(self.predictions)

    @classmethod
    def of(cls, predictions: Sequence[str], references: Sequence[Sequence[str]], **fields: Any) -> MetricInputs:
        """Inputs of `predictions` and their `references` (and any other field), numbered 0, 1, ... as ids."""
        return cls(ids=[str(k) for k in range(len(predictions))], predictions=list(predictions),
                   references=[list(r) for r in references], **fields)

    #: The optional fields (FIELDS an example may lack), as attributes.
    OPTIONAL: ClassVar[Mapping[str, str]] = {"document": "documents", "question": "questions",
                                             "no_answer_score": "no_answer_scores"}

    def column(self, field_name: str) -> Sequence[Any] | None:
        """The per-example values of an optional field (None when no example has it)."""
        return getattr(self, self.OPTIONAL[field_name])

    def has(self, field_name: str) -> bool:
        """Whether every example has `field_name` (one of FIELDS)."""
        if field_name not in self.OPTIONAL:
            return True
        values = self.column(field_name)
        return values is not None and all(v is not None for v in values)


@dataclass(frozen=True)
class MetricResult:
    """What one metric gives for a set of examples: per-example values, and what bench's scoring step needs to
    aggregate them (the mean of each score, its seeded bootstrap CI and its unscored count are computed there,
    once for every metric: `bench.metrics.scoring.aggregate`)."""

    per_example: dict[str, list[float | None]]
    """Score name -> per-example value, in the order of the predictions. None: the example could not be scored;
    it is left out of the mean and counted (``counts["<score>_unscored"]``)."""
    signatures: dict[str, str]
    """Score name -> signature, for every score (per-example, subset and corpus alike)."""
    corpus: dict[str, float] = field(default_factory=dict)
    """Values over the whole set that are not a mean of per-example values (a threshold chosen on the data, a
    corpus-level statistic): reported with no CI, and ``agg:corpus`` (or how it was chosen) in the signature."""
    subsets: dict[str, tuple[str, Sequence[int]]] = field(default_factory=dict)
    """Score name -> (a per-example score, the indices of a subset of the examples): the mean of that score over
    the subset, with its CI (SQuAD's HasAns_f1). Kept in results.json, not per example."""
    counts: dict[str, int] = field(default_factory=dict)
    """Sizes of subsets a metric reports on (e.g. HasAns_total)."""
    warnings: list[str] = field(default_factory=list)
    details: dict[str, list[Any]] = field(default_factory=dict)
    """Metric name -> per-example JSON data kept in predictions.jsonl (``row["details"][name]``)."""
    reference: MetricResult | None = None
    """The same statistics computed on the references instead of the predictions (the `reference` row of
    compare tables), for metrics that describe a text rather than compare two."""
    metrics: dict[str, float] | None = None
    """The corpus value of every score, filled in by the scoring step (`Metric.score`); None as `compute` gives
    it. A metric written for bench's first interface gives them itself (with `corpus_stats`): they are then
    taken as they are, with its `ci` and its unscored `counts`."""
    ci: dict[str, tuple[float, float] | None] | None = None
    """With `metrics`: the 95% bootstrap interval of each corpus value (None for a corpus-only value)."""

    def score_names(self) -> list[str]:
        """Every score, in the order results list them: per-example scores, subset means, corpus values (or, for
        a result that gives its own `metrics`, their order)."""
        if self.metrics is not None:
            return list(dict.fromkeys([*self.metrics, *self.per_example, *self.subsets, *self.corpus]))
        return list(dict.fromkeys([*self.per_example, *self.subsets, *self.corpus]))


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
    per_example: Mapping[str, Any], options: MetricOptions
) -> tuple[dict[str, float], dict[str, tuple[float, float] | None]]:
    """The mean of each score's per-example values and its seeded bootstrap 95% CI, as the scoring step
    computes them (`bench.metrics.scoring.aggregate`); for metrics that still give their own `metrics`.

    A None among the values is an example the metric could not score: it is left out of the mean and the CI.
    """
    arrays = {name: np.asarray([v for v in values if v is not None], dtype=np.float64)
              for name, values in per_example.items()}
    metrics = {name: float(v.mean()) if v.size else float("nan") for name, v in arrays.items()}
    # one draw of resampled indices for every vector of the same length: the same intervals, drawn faster
    ci: dict[str, tuple[float, float] | None] = dict(
        bootstrap_cis(arrays, seed=options.bootstrap_seed, n_resamples=options.bootstrap_resamples))
    return metrics, ci


class Metric:
    """Base class: subclasses set `name` and implement `compute`.

    A metric declares what it needs of each example (`needs`, a subset of
    FIELDS), the task types it is a default for (`task_types`), the range of
    its scores (`value_range`, or per score in `score_ranges`) and its own
    options (`Options`, a frozen dataclass whose fields all have defaults:
    ``--metric-opt NAME.key=value`` and a task's ``metrics:`` entry set them).
    `self.settings` holds the metric's own options, `self.options` the flags
    every scoring command takes (`MetricOptions`: a metric whose options they
    set says so in `defaults_from`), and `cache_dir` is where it may keep a
    persistent cache (None: no cache). `compute` returns per-example values;
    the scoring step aggregates them.
    """

    name: ClassVar[str] = ""
    #: What the metric reads of each example (FIELDS); scoring refuses inputs without them.
    needs: ClassVar[frozenset[str]] = frozenset({"prediction", "references"})
    #: Task types this metric applies to (() = any).
    task_types: ClassVar[tuple[str, ...]] = ()
    #: The range of every score this metric gives, per example and corpus value alike; a value outside it
    #: in a results.json is a damaged run. Unbounded unless the metric declares it (rouge, squad: 0..100).
    value_range: ClassVar[tuple[float, float]] = (-math.inf, math.inf)
    #: Ranges of particular scores, where they differ from `value_range`.
    score_ranges: ClassVar[Mapping[str, tuple[float, float]]] = {}
    #: The metric's own options.
    Options: ClassVar[type] = NoOptions
    #: One line for `bench list`.
    description: ClassVar[str] = ""

    def __init__(self, options: MetricOptions | None = None, settings: Mapping[str, Any] | None = None,
                 cache_dir: Path | None = None) -> None:
        self.options = options or MetricOptions()
        name = self.name or type(self).__name__
        self.settings = make_settings(self.Options, name, {**self.defaults_from(self.options, name, settings or {}),
                                                           **(settings or {})})
        self.cache_dir = cache_dir

    @classmethod
    def defaults_from(cls, options: MetricOptions, name: str, settings: Mapping[str, Any]) -> dict[str, Any]:
        """The options this metric takes from the command's flags (`MetricOptions`), under those `settings`
        give; none unless a metric says otherwise (ROUGE: its stemmer, sentence splitting and tokenizer)."""
        return {}

    #: Which way a score is better: "higher", "lower", or "none" for a statistic that describes a text (or a
    #: threshold) and ranks nothing. Scores not named here are "higher". `bench compare` marks a best value and
    #: speaks of better or worse only for scores with a direction.
    directions: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def range_of(cls, score: str) -> tuple[float, float]:
        return cls.score_ranges.get(score, cls.value_range)

    @classmethod
    def direction_of(cls, score: str) -> str:
        """"higher", "lower" or "none" (`directions`)."""
        return cls.directions.get(score, "higher")

    def compute(self, inputs: MetricInputs) -> MetricResult:
        """Per-example values of every score (and what else the result holds); no means or CIs."""
        raise NotImplementedError

    def score(self, inputs: MetricInputs) -> MetricResult:
        """`compute`, with the corpus values filled in as bench's scoring step computes them (the mean and
        bootstrap CI of each score, with `self.options`' bootstrap; the unscored counts)."""
        return aggregated(self.compute(inputs), self.options)

    def close(self) -> None:
        """Release what the metric holds (models, files)."""
