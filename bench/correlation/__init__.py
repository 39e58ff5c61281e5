"""Which metric to trust: agreement of metric scores with human ratings of summaries.

ratings.py reads rated summaries (a ratings file, SummEval's annotation file,
or run directories with a ratings file) onto a documents x systems grid;
scores.py gives each summary its metric scores (bench's metrics computed on the
rows, or the scores runs stored); levels.py computes Kendall tau-b, Spearman and
Pearson at summary and system level with seeded bootstrap intervals, paired
tests between metrics and Krippendorff's alpha; render.py writes the tables.
`correlate_ratings` runs the whole chain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.correlation.ratings import RatedSummaries, read_ratings, read_runs_with_ratings, read_study, study_file
from bench.correlation.scores import DEFAULT_METRICS, choose_scores
from bench.correlation.levels import Correlations, check_size, correlate
from bench.errors import BenchError, relpath
from bench.metrics import MetricOptions
from bench.stats.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED


def correlate_ratings(paths: Sequence[Path], *, ratings: Path | None = None, metrics: Sequence[str] = (),
                      metric_settings: Mapping[str, Mapping[str, Any]] | None = None,
                      criteria: Sequence[str] = (), annotators: str | None = None,
                      options: MetricOptions | None = None, seed: int = DEFAULT_SEED,
                      n_resamples: int = DEFAULT_RESAMPLES) -> tuple[RatedSummaries, Correlations]:
    """Read rated summaries, score them and correlate every metric with every criterion.

    `paths` is one ratings file (or SummEval's file, or a `bench annotate`
    study) when `ratings` is None, else the run directories (or results
    directories) whose predictions the `ratings` file (or study) rates.
    """
    if n_resamples < 1:
        raise BenchError(f"the number of bootstrap resamples must be 1 or more, got {n_resamples}")
    if ratings is None:
        if len(paths) != 1:
            raise BenchError(f"give one ratings file, got {len(paths)} paths",
                             hint="several run directories go with --ratings FILE")
        path = paths[0]
        if path.is_dir():
            raise BenchError("a run or results directory needs the ratings of its predictions",
                             where=relpath(path), hint='add --ratings FILE (lines of {"id", "system", "ratings"})')
        study = study_file(path)
        rated = read_study(study) if study is not None else read_ratings(path, annotators=annotators or "expert")
        if annotators is not None and rated.layout != "summeval":
            raise BenchError("--annotators chooses between SummEval's expert and turker annotations; "
                             "this is not SummEval's file", where=rated.source,
                             hint="several annotators of a ratings file are a list per criterion")
    else:
        if annotators is not None:
            raise BenchError("--annotators applies to SummEval's file, not to a ratings file with runs")
        rated = read_runs_with_ratings(paths, ratings)
    check_size(len(rated.documents), len(rated.systems), n_resamples, len(rated.summaries))
    if criteria:
        unknown = [c for c in criteria if c not in rated.criteria]
        if unknown:
            from bench.registry import did_you_mean

            raise BenchError(f"no rating of criterion {unknown[0]!r}.{did_you_mean(unknown[0], list(rated.criteria))}",
                             where=rated.source, hint=f"criteria in the file: {', '.join(rated.criteria)}")
    scores = choose_scores(metrics, rated, options or MetricOptions(), metric_settings)
    keep = list(dict.fromkeys(criteria)) or list(rated.criteria)
    means = rated.mean_ratings()
    annotations = rated.annotations()
    result = correlate(scores, {c: means[c] for c in keep}, annotations={c: annotations[c] for c in keep},
                       seed=seed, n_resamples=n_resamples)
    return rated, result


__all__ = ["DEFAULT_METRICS", "Correlations", "RatedSummaries", "correlate", "correlate_ratings", "read_ratings",
           "read_runs_with_ratings"]
