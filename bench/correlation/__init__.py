"""Which metric to trust: agreement of metric scores with human ratings of summaries.

ratings.py reads rated summaries (a ratings file, a study of `bench annotate`, or run directories with a
ratings file) and published.py SummEval's and UniEval's files, onto a documents x systems grid (rated.py);
scores.py gives each summary its metric scores (bench's metrics computed on the rows, or the scores given
with them); labels.py finds the criteria rated 0 or 1 and the thresholds of their balanced accuracy;
levels.py computes Kendall tau-b, Spearman and Pearson at summary, system and sample level (grid_levels.py,
sample_level.py), ROC AUC and balanced accuracy for the labels, with seeded bootstrap intervals, paired tests
between metrics and Krippendorff's alpha; render.py writes the tables. `correlate_ratings` runs the whole
chain.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.correlation.labels import (NO_LABELS_HINT, check_threshold_metrics, label_grids, parse_binary,
                                      parse_thresholds, thresholds_from)
from bench.correlation.levels import LEVELS, Correlations, check_size, correlate
from bench.correlation.rated import RatedSummaries
from bench.correlation.ratings import read_ratings, read_runs_with_ratings, read_study, study_file
from bench.correlation.scores import DEFAULT_METRICS, choose_scores
from bench.errors import BenchError, relpath
from bench.metrics import MetricOptions
from bench.stats.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED

#: Said once when every document has one rated summary.
ONE_SUMMARY_NOTE = ("each document has one rated summary: no summary level (it compares the summaries of a "
                    "document) and no system level (it compares systems on the documents they share); sample level "
                    "only")

#: Said when the summaries name no system (UniEval's files without system_id).
NO_SYSTEM_NOTE = ("the summaries name no system (no system_id): a document's summaries are told apart by their "
                  "order, and there is no system level")


def correlate_ratings(paths: Sequence[Path], *, ratings: Path | None = None, metrics: Sequence[str] = (),
                      metric_settings: Mapping[str, Mapping[str, Any]] | None = None,
                      criteria: Sequence[str] = (), annotators: str | None = None,
                      options: MetricOptions | None = None, seed: int = DEFAULT_SEED,
                      n_resamples: int = DEFAULT_RESAMPLES, task: str | None = None, binary: Sequence[str] = (),
                      thresholds: Sequence[str] = (), threshold_from: Path | None = None,
                      oracle: bool = False) -> tuple[RatedSummaries, Correlations]:
    """Read rated summaries, score them and correlate every metric with every criterion.

    `paths` is one ratings file (or SummEval's or UniEval's file, or a `bench annotate` study) when `ratings`
    is None, else the run directories (or results directories) whose predictions the `ratings` file (or
    study) rates, on `task` (needed when they hold runs of several tasks, unless a study says). `binary` names
    criteria scored as detection (``CRITERION`` or ``CRITERION=CUT``; a criterion
    rated 0 and 1 only is one anyway); `thresholds` (``METRIC=VALUE``) or `threshold_from` (a validation file
    read like the test file) give the thresholds of their balanced accuracy, and `oracle` adds the threshold
    best on the test data, labelled so.
    """
    if n_resamples < 1:
        raise BenchError(f"the number of bootstrap resamples must be 1 or more, got {n_resamples}")
    if thresholds and threshold_from is not None:
        raise BenchError("give thresholds one way: --threshold METRIC=VALUE or --threshold-from FILE",
                         hint="--threshold-from tunes every metric's threshold on a validation file")
    binary_specs = parse_binary(binary)
    threshold_specs = parse_thresholds(thresholds)
    rated = _read(paths, ratings, annotators, task)
    levels: Sequence[str] = LEVELS
    notes: list[str] = []
    if rated.most_per_document() <= 1:
        levels, notes = ("sample",), [ONE_SUMMARY_NOTE]
        rated = dataclasses.replace(rated, pooled=True)
    elif rated.anonymous_systems:
        levels, notes = ("summary", "sample"), [NO_SYSTEM_NOTE]
    rows, cols, shape = rated.cells
    check_size(shape[0], shape[1], n_resamples, len(rated.summaries), levels=levels)
    if criteria:
        unknown = [c for c in criteria if c not in rated.criteria]
        if unknown:
            from bench.registry import did_you_mean

            raise BenchError(f"no rating of criterion {unknown[0]!r}.{did_you_mean(unknown[0], list(rated.criteria))}",
                             where=rated.source, hint=f"criteria in the file: {', '.join(rated.criteria)}")
    keep = list(dict.fromkeys([*criteria, *(binary_specs if criteria else ())])) or list(rated.criteria)
    means = rated.mean_ratings()
    labels = label_grids(rated, means, binary_specs, keep)
    if not labels and (threshold_specs or threshold_from is not None or oracle):
        option = "--threshold" if threshold_specs else "--threshold-from" if threshold_from else "--oracle-threshold"
        raise BenchError(f"{option}: no criterion is rated 0 or 1", where=rated.source, hint=NO_LABELS_HINT)
    options = options or MetricOptions()
    scores = choose_scores(metrics, rated, options, metric_settings)
    chosen: dict[tuple[str, str], float] = {}
    source = None
    if threshold_specs:
        check_threshold_metrics(threshold_specs, list(scores))
        chosen = {(m, c): t for m, t in threshold_specs.items() for c in labels}
        source = "--threshold"
    elif threshold_from is not None:
        validation = _read([threshold_from], None, annotators, None)
        validation = dataclasses.replace(validation, pooled=True)
        chosen = thresholds_from(validation, lambda v: choose_scores(metrics, v, options, metric_settings),
                                 list(scores), binary_specs, list(labels))
        source = f"tuned on {relpath(threshold_from)}"
    annotations = rated.annotations()
    # Every criterion is correlated, labels too (UniEval's and QAGS's papers report Pearson, Spearman and Kendall
    # of QAGS-XSum's 0/1 consistency); a criterion with labels is scored as detection besides.
    correlated = keep
    result = correlate(scores, {c: means[c] for c in correlated}, annotations={c: annotations[c] for c in keep},
                       seed=seed, n_resamples=n_resamples, levels=levels, labels=labels, thresholds=chosen,
                       threshold_source=source, oracle=oracle)
    result = dataclasses.replace(result, documents=len(rated.documents), systems=len(rated.systems),
                                 notes=(*notes, *result.notes))
    return rated, result


def _read(paths: Sequence[Path], ratings: Path | None, annotators: str | None, task: str | None) -> RatedSummaries:
    if ratings is not None:
        if annotators is not None:
            raise BenchError("--annotators applies to SummEval's file, not to a ratings file with runs")
        return read_runs_with_ratings(paths, ratings, task)
    if len(paths) != 1:
        raise BenchError(f"give one ratings file, got {len(paths)} paths",
                         hint="several run directories go with --ratings FILE")
    path = paths[0]
    if task is not None:
        raise BenchError("--task chooses the runs a ratings file goes with; a ratings file alone holds its "
                         "own summaries", hint="give run or results directories with --ratings FILE, or drop "
                                               "--task")
    if path.is_dir():
        raise BenchError("a run or results directory needs the ratings of its predictions",
                         where=relpath(path), hint='add --ratings FILE (lines of {"id", "system", "ratings"})')
    study = study_file(path)
    rated = read_study(study) if study is not None else read_ratings(path, annotators=annotators or "expert")
    if annotators is not None and rated.layout != "summeval":
        raise BenchError("--annotators chooses between SummEval's expert and turker annotations; "
                         "this is not SummEval's file", where=rated.source,
                         hint="several annotators of a ratings file are a list per criterion")
    return rated


__all__ = ["DEFAULT_METRICS", "Correlations", "RatedSummaries", "correlate", "correlate_ratings", "read_ratings",
           "read_runs_with_ratings"]
