"""Per-example scores of runs: reading predictions.jsonl, pairing two runs, the examples they score most differently."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.comparison.select import Run, Section, baseline_run
from bench.results.reading import read_prediction_rows
from bench.results.store import finite_float, tolerance
from bench.tasks.records import as_references


@dataclass(frozen=True)
class Prediction:
    """One line of a run's predictions.jsonl."""

    id: str
    prediction: str
    references: tuple[str, ...]
    scores: Mapping[str, float]
    question: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    """What metrics keep per example beside the scores (``details``: e.g. SummaC-ZS's score per summary
    sentence)."""
    no_answer_score: float | None = None
    """An extractive QA model's no-answer score (higher: more likely unanswerable)."""


@dataclass(frozen=True)
class Flip:
    """One example scored differently by two runs."""

    id: str
    metric: str
    question: str | None
    references: tuple[str, ...]
    baseline_prediction: str
    prediction: str
    baseline_scores: Mapping[str, float]
    scores: Mapping[str, float]
    baseline_details: Mapping[str, Any] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)
    baseline_no_answer_score: float | None = None
    no_answer_score: float | None = None

    @property
    def diff(self) -> float:
        return self.scores[self.metric] - self.baseline_scores[self.metric]


#: (reference run, other run, their flips) for each other run of a section.
FlipPairs = list[tuple[Run, Run, list[Flip]]]


def prediction_from_row(obj: Mapping[str, Any]) -> Prediction:
    """A `Prediction` from a checked line (`bench.results.reading.is_prediction_row`); scores that are not finite numbers are left out
    (`read_predictions` refuses such a line first)."""
    scores = {k: f for k, v in obj["scores"].items() if (f := finite_float(v)) is not None}
    q = obj.get("question")
    details = obj.get("details")
    return Prediction(obj["id"], obj["prediction"], tuple(str(r) for r in as_references(obj["references"])), scores,
                      q if isinstance(q, str) else None, details=details if isinstance(details, dict) else {},
                      no_answer_score=finite_float(obj.get("no_answer_score")))


def read_predictions(run_dir: Path) -> dict[str, Prediction]:
    """Example id -> `Prediction`, from `run_dir`/predictions.jsonl, read and checked by
    `bench.results.reading.read_prediction_rows` (problems name file:line; the number of examples and the
    per-example scores must agree with the run's results.json)."""
    rows = read_prediction_rows(run_dir, hint="paired statistics need each run's predictions.jsonl")
    return {obj["id"]: prediction_from_row(obj) for obj in rows}


def run_predictions(run: Run, cache: dict[Path, dict[str, Prediction]]) -> dict[str, Prediction]:
    """The predictions of `run`, read once per run directory and kept in `cache`."""
    if run.path not in cache:
        cache[run.path] = read_predictions(run.path)
    return cache[run.path]


def paired_scores(base: Mapping[str, Prediction], other: Mapping[str, Prediction],
                  metric: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(ids, baseline scores, other scores) over the examples both have a `metric` score for."""
    ids = [i for i, p in base.items() if metric in p.scores and i in other and metric in other[i].scores]
    a = np.array([base[i].scores[metric] for i in ids], dtype=np.float64)
    b = np.array([other[i].scores[metric] for i in ids], dtype=np.float64)
    return ids, a, b


def flipped_examples(base: Mapping[str, Prediction], other: Mapping[str, Prediction], metric: str,
                     k: int) -> list[Flip]:
    """The `k` shared examples whose `metric` scores differ most (largest |difference|, then id).

    For exact match these are the flipped items: right for one run, wrong for the other. Differences
    within float summation noise (`bench.results.store.tolerance`) are no difference.
    """
    ids, a, b = paired_scores(base, other, metric)
    order = sorted((i for i in range(len(ids)) if abs(b[i] - a[i]) > tolerance(a[i])),
                   key=lambda i: (-abs(b[i] - a[i]), ids[i]))
    out = []
    for i in order[:k]:
        a, b = base[ids[i]], other[ids[i]]
        out.append(Flip(ids[i], metric, a.question, a.references, a.prediction, b.prediction, dict(a.scores),
                        dict(b.scores), baseline_details=a.details, details=b.details,
                        baseline_no_answer_score=a.no_answer_score, no_answer_score=b.no_answer_score))
    return out


def flip_metric(section: Section, asked: Sequence[str], preds: Mapping[str, Prediction]) -> str | None:
    """The metric flips are ranked by: the first asked metric with per-example scores, else the first shown
    one with a direction (a score, not a statistic that describes), else the first shown one."""
    have = {m for p in preds.values() for m in p.scores}
    usable = [m for m in section.metrics if m in have and not section.corpus_only(m)]
    for m in asked:
        if m in usable:
            return m
    return next((m for m in usable if section.direction(m) != "none"), usable[0] if usable else None)


def section_flips(sections: Sequence[Section], baseline: str | None, metrics: Sequence[str], k: int,
                  cache: dict[Path, dict[str, Prediction]] | None = None) -> dict[int, FlipPairs]:
    """Section index -> the `k` flips of each run against the baseline run, else against the best run.

    Sections without a reference run, with a single run, or without
    per-example scores for any shown metric are left out.
    """
    cache = {} if cache is None else cache
    out: dict[int, FlipPairs] = {}
    for i, s in enumerate(sections):
        ref = baseline_run(s, baseline) if baseline is not None else s.runs[0]
        if ref is None or len(s.runs) < 2:
            continue
        for r in (ref, *s.runs):
            run_predictions(r, cache)
        m = flip_metric(s, metrics, cache[ref.path])
        if m is None:
            continue
        out[i] = [(ref, r, flipped_examples(cache[ref.path], cache[r.path], m, k)) for r in s.runs if r is not ref]
    return out
