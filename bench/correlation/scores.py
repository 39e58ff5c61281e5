"""Metric scores of rated summaries: bench's own metrics computed on the rows, or the scores given with them
(stored by runs, a ratings line's ``scores``, UniEval's ``predict_scores``)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from bench.correlation.rated import RatedSummaries
from bench.errors import BenchError, BenchWarning
from bench.metrics import MetricOptions, MetricSpec, parse_metric_specs

#: The metrics `bench correlate` computes on a ratings file when none is asked for.
DEFAULT_METRICS = ("rouge",)


def score_summaries(metrics: Sequence[str | MetricSpec], rated: RatedSummaries,
                    options: MetricOptions) -> dict[str, np.ndarray]:
    """Score name -> per-summary score (in `rated.summaries` order) of each metric: the one place
    `bench correlate` calls bench's scoring API (`bench.metrics.scoring.score_examples`).

    The metrics receive each summary's prediction, references and, where every
    line has one, its source document (SummEval's ``text``); a metric that
    needs what the lines lack is one error saying which field to add.
    """
    from bench.metrics import MetricInputs
    from bench.metrics.scoring import score_examples

    summaries = rated.summaries
    documents = [s.document for s in summaries]
    inputs = MetricInputs(ids=[f"{s.id}|{s.system}" for s in summaries], predictions=[s.prediction for s in summaries],
                          references=[list(s.references) for s in summaries],
                          documents=documents if all(d is not None for d in documents) else None)
    scores = score_examples(list(metrics), inputs, options, where=rated.source)
    for w in scores.warnings:
        warnings.warn(w, BenchWarning, stacklevel=2)
    names = list(dict.fromkeys(k for row in scores.per_example for k in row))
    return {name: np.asarray([row.get(name, np.nan) for row in scores.per_example], dtype=np.float64)
            for name in names}


def choose_scores(asked: Sequence[str], rated: RatedSummaries, options: MetricOptions,
                  settings: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """Score name -> grid (or criterion -> grid, for a score given per criterion), for the asked metrics.

    A name that is a score given with the summaries (stored by runs, a ratings line's ``scores``, UniEval's
    ``predict_scores`` as ``unieval``) is read from them, and every given score when nothing is asked; any
    other name is a metric computed on the rows (`score_summaries`): ROUGE when nothing is asked and nothing
    is given.
    """
    stored: Mapping[str, tuple[float, ...]] = rated.stored
    per_criterion = rated.criterion_scores
    given = [*stored, *per_criterion]
    if not asked and given:
        return {name: _given(rated, name) for name in given}
    if rated.layout == "runs" and not asked:
        raise BenchError("the runs stored no per-example scores that all of them share",
                         hint="name a metric to compute on their predictions, e.g. --metric rouge")
    names = list(dict.fromkeys(asked or DEFAULT_METRICS))
    out: dict[str, Any] = {}
    to_compute = [n for n in names if n not in given]
    computed = score_summaries(parse_metric_specs(to_compute, settings), rated, options) if to_compute else {}
    for name in names:
        if name in given:
            out[name] = _given(rated, name)
    for name, values in computed.items():
        if name in out or (name in given and rated.layout != "runs"):
            where = "stored in the runs" if rated.layout == "runs" else "given in the file"
            raise BenchError(f"score {name!r} is both {where} and given by a metric asked for",
                             hint=f"ask for {name!r} alone to use the {where.split()[0]} scores, or rename them")
        out[name] = rated.grid(values)
    return out


def _given(rated: RatedSummaries, name: str) -> Any:
    if name in rated.stored:
        return rated.grid(rated.stored[name])
    return {c: rated.grid(v) for c, v in rated.criterion_scores[name].items()}
