"""Metric interface, options and signatures.

A metric turns examples (`MetricInputs`: predictions, references, and where
it needs them the source documents, questions or no-answer scores) into
per-example scores, aggregates them into corpus values (the mean) with a
seeded bootstrap CI beside each, and describes every option that changes a
number in a signature string, in the manner of sacrebleu:

    rougeLsum|nrefs:4|tok:rouge-ascii|stem:porter|split:nupunkt-0.8.0|agg:mean|bench:0.1.0

Two values with different signatures are not comparable.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import UnionType
from typing import Any, ClassVar, Literal, Union, get_args, get_origin, get_type_hints

import numpy as np

from bench.version import __version__
from bench.stats.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED, bootstrap_cis


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
    """Scores of one metric over a corpus."""

    per_example: dict[str, list[float | None]]
    """Score name -> per-example score, in the order of the predictions (absent for a corpus-only value). None:
    the example could not be scored (it is left out of the mean, and `counts[unscored_count(name)]` says how
    many there are)."""
    metrics: dict[str, float]
    """Corpus value per score name (the mean of the per-example scores unless the metric says otherwise)."""
    ci: dict[str, tuple[float, float] | None]
    """95% bootstrap interval of each corpus value; None for a corpus-only value (it has no per-example scores)."""
    signatures: dict[str, str]
    counts: dict[str, int] = field(default_factory=dict)
    """Sizes of subsets a metric reports on (e.g. HasAns_total)."""
    warnings: list[str] = field(default_factory=list)
    details: dict[str, list[Any]] = field(default_factory=dict)
    """Metric name -> per-example JSON data kept in predictions.jsonl (``row["details"][name]``)."""
    reference: MetricResult | None = None
    """The same statistics computed on the references instead of the predictions (the `reference` row of
    compare tables), for metrics that describe a text rather than compare two."""


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
    """The mean of each score's per-example values and its seeded bootstrap 95% CI.

    A None among the values is an example the metric could not score (a judge's reply that does not parse):
    it is left out of the mean and the CI, and the metric counts it (`unscored_count`).
    """
    arrays = {name: np.asarray([v for v in values if v is not None], dtype=np.float64)
              for name, values in per_example.items()}
    metrics = {name: float(v.mean()) if v.size else float("nan") for name, v in arrays.items()}
    # one draw of resampled indices for every vector of the same length: the same intervals, drawn faster
    ci: dict[str, tuple[float, float] | None] = dict(
        bootstrap_cis(arrays, seed=options.bootstrap_seed, n_resamples=options.bootstrap_resamples))
    return metrics, ci


def unscored_count(name: str) -> str:
    """The `counts` key of how many examples have no value of score `name` (None per example)."""
    return f"{name}_unscored"


@dataclass(frozen=True)
class NoOptions:
    """A metric with no options of its own."""


class Metric:
    """Base class: subclasses set `name` and implement `compute`.

    A metric declares what it needs of each example (`needs`, a subset of
    FIELDS), the task types it is a default for (`task_types`), the range of
    its scores (`value_range`, or per score in `score_ranges`) and its own
    options (`Options`, a frozen dataclass whose fields all have defaults:
    ``--metric-opt NAME.key=value`` and a task's ``metrics:`` entry set them).
    `self.options` holds the options every metric shares (the bootstrap's,
    and ROUGE's flags), `self.settings` the metric's own, and `cache_dir` is
    where it may keep a persistent cache (None: no cache).
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
        self.settings = make_settings(self.Options, self.name or type(self).__name__, settings or {})
        self.cache_dir = cache_dir

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
        raise NotImplementedError

    def close(self) -> None:
        """Release what the metric holds (models, files)."""


def make_settings(options_cls: type, metric: str, settings: Mapping[str, Any]) -> Any:
    """An instance of a metric's `Options` from ``key -> value`` (strings from the command line converted to
    each field's type); an unknown key or a value of the wrong type is a BenchError naming the known keys."""
    from bench.errors import BenchError

    known = {f.name: f for f in fields(options_cls)}
    hints = get_type_hints(options_cls)
    values: dict[str, Any] = {}
    for key, value in settings.items():
        if key not in known:
            names = ", ".join(known) or "(none)"
            raise BenchError(f"metric {metric!r} has no option {key!r}",
                             hint=f"its options: {names}" if known else f"metric {metric!r} takes no options")
        values[key] = convert_option(metric, key, value, hints.get(key, Any))
    return options_cls(**values)


def convert_option(metric: str, key: str, value: Any, annotation: Any) -> Any:
    """`value` as the annotated type of option `key`: '4' -> 4 for an int, 'true' -> True for a bool, ..."""
    from bench.errors import BenchError

    types = get_args(annotation) if get_origin(annotation) in (Union, UnionType) else (annotation,)
    if value is None and type(None) in types or annotation is Any:
        return value
    if isinstance(value, str) and value.lower() in ("none", "null") and type(None) in types:
        return None
    for t in (t for t in types if t is not type(None)):
        if t is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "yes", "1", "on", "false", "no", "0", "off"):
                return value.lower() in ("true", "yes", "1", "on")
        elif t is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
                return int(value)
        elif t is float:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
            if isinstance(value, str):
                try:
                    return float(value)
                except ValueError:
                    pass
        elif t is str:
            if isinstance(value, str):
                return value
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return str(value)
        elif get_origin(t) is Literal:
            if value in get_args(t):
                return value
        elif isinstance(t, type) and isinstance(value, t):
            return value
    wanted = " or ".join(_type_name(t) for t in types)
    raise BenchError(f"metric {metric!r}: option {key!r} must be {wanted}, got {value!r}",
                     hint=f"e.g. --metric-opt {metric}.{key}=VALUE")


def _type_name(t: Any) -> str:
    if t is type(None):
        return "none"
    if get_origin(t) is Literal:
        return " or ".join(repr(a) for a in get_args(t))
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(
        t, getattr(t, "__name__", str(t)))
