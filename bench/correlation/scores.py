"""Metric scores of rated summaries: bench's own metrics computed on the rows, or the scores runs stored."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from bench.correlation.ratings import RatedSummaries
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
                  settings: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, np.ndarray]:
    """Score name -> documents x systems array, for the asked metrics.

    On run directories, a name that is a score the runs stored is read from
    them (every stored score when nothing is asked); any other name is a
    metric computed on the rows (`score_summaries`). On a ratings file or
    SummEval's file every name is a metric computed on the rows (ROUGE when
    nothing is asked).
    """
    stored: Mapping[str, tuple[float, ...]] = rated.stored
    if rated.layout == "runs" and not asked:
        if not stored:
            raise BenchError("the runs stored no per-example scores that all of them share",
                             hint="name a metric to compute on their predictions, e.g. --metric rouge")
        return {name: rated.grid(values) for name, values in stored.items()}
    names = list(dict.fromkeys(asked or DEFAULT_METRICS))
    out: dict[str, np.ndarray] = {}
    to_compute = [n for n in names if n not in stored]
    computed = score_summaries(parse_metric_specs(to_compute, settings), rated, options) if to_compute else {}
    for name in names:
        if name in stored:
            out[name] = rated.grid(stored[name])
    for name, values in computed.items():
        if name in out:
            raise BenchError(f"score {name!r} is both stored in the runs and given by a metric asked for",
                             hint=f"ask for {name!r} alone to use the stored scores")
        out[name] = rated.grid(values)
    return out
