"""Criteria rated as labels, scored as detection: which criteria, their cut, and the thresholds of balanced
accuracy.

A criterion whose ratings are all 0 or 1 (both present), or one named with ``--binary CRITERION=CUT`` (a mean
rating >= CUT is 1), is a label: whether the summary has the property (say, is consistent with its document).
A metric is then judged by how well its scores separate the 1s from the 0s (`bench.stats.detection`), not by
a correlation. Balanced accuracy needs a threshold, and one chosen on the very summaries it is measured on
overstates it: the threshold comes from ``--threshold METRIC=VALUE`` or is tuned on a validation file
(``--threshold-from FILE``, the threshold that maximises balanced accuracy there); the best threshold on the
test data itself is reported only when asked (``--oracle-threshold``), labelled as tuned on the test data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from bench.correlation.rated import RatedSummaries
from bench.errors import BenchError
from bench.registry import did_you_mean
from bench.stats.detection import best_threshold

BINARY_HINT = "e.g. --binary consistency (ratings 0 or 1) or --binary consistency=0.5 (a mean rating >= 0.5 is 1)"
NO_LABELS_HINT = ("thresholds are for criteria rated 0 or 1: name one with --binary CRITERION (its ratings 0 or 1) "
                  "or --binary CRITERION=CUT (a mean rating >= CUT is 1)")


def parse_binary(specs: Sequence[str]) -> dict[str, float | None]:
    """``CRITERION`` or ``CRITERION=CUT`` -> criterion -> cut (None: the ratings are 0 or 1 already)."""
    out: dict[str, float | None] = {}
    for spec in specs:
        name, sep, cut = spec.partition("=")
        name = name.strip()
        if not name:
            raise BenchError(f"--binary expects CRITERION or CRITERION=CUT, got {spec!r}", hint=BINARY_HINT)
        value = None
        if sep:
            value = _finite(cut, f"--binary {spec}: the cut", BINARY_HINT)
        if name in out:
            raise BenchError(f"--binary names {name!r} twice", hint="give each criterion once")
        out[name] = value
    return out


def parse_thresholds(specs: Sequence[str]) -> dict[str, float]:
    """``METRIC=VALUE`` -> metric -> threshold."""
    out: dict[str, float] = {}
    hint = "e.g. --threshold summac_zs=0.5 (a score >= 0.5 is called 1)"
    for spec in specs:
        name, sep, value = spec.partition("=")
        if not sep or not name.strip():
            raise BenchError(f"--threshold expects METRIC=VALUE, got {spec!r}", hint=hint)
        if name.strip() in out:
            raise BenchError(f"--threshold names {name.strip()!r} twice", hint="give each metric one threshold")
        out[name.strip()] = _finite(value, f"--threshold {spec}: the value", hint)
    return out


def _finite(text: str, what: str, hint: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise BenchError(f"{what} must be a number, got {text.strip()!r}", hint=hint) from None
    if not math.isfinite(value):
        raise BenchError(f"{what} must be a finite number, got {text.strip()!r}", hint=hint)
    return value


def label_grids(rated: RatedSummaries, means: Mapping[str, np.ndarray], binary: Mapping[str, float | None],
                criteria: Sequence[str]) -> dict[str, np.ndarray]:
    """Criterion -> grid of labels (1, 0, nan: not rated) for the criteria among `criteria` that are labels:
    named in `binary` (with a cut, or rated 0 or 1), or rated 0 and 1 and nothing else."""
    unknown = [c for c in binary if c not in rated.criteria]
    if unknown:
        raise BenchError(f"--binary {unknown[0]}: no rating of criterion {unknown[0]!r}."
                         f"{did_you_mean(unknown[0], list(rated.criteria))}", where=rated.source,
                         hint=f"criteria in the file: {', '.join(rated.criteria)}")
    out = {}
    for c in criteria:
        m = means[c]
        rated_cells = np.isfinite(m)
        values = m[rated_cells]
        zero_one = bool(np.all((values == 0) | (values == 1)))
        if c in binary and binary[c] is not None:
            out[c] = np.where(rated_cells, (m >= binary[c]).astype(np.float64), np.nan)
        elif c in binary:
            if not zero_one:
                bad = next(s for s in rated.summaries
                           if s.ratings.get(c) and float(np.mean(s.ratings[c])) not in (0.0, 1.0))
                raise BenchError(f"--binary {c}: the ratings of {c!r} are not all 0 or 1 (a mean rating of "
                                 f"{float(np.mean(bad.ratings[c])):g} here)", where=bad.where,
                                 hint=f"give a cut: --binary {c}=CUT (a mean rating >= CUT is 1)")
            out[c] = m.copy()
        elif zero_one and (values == 0).any() and (values == 1).any():
            out[c] = m.copy()
    return out


def check_threshold_metrics(thresholds: Mapping[str, float], metrics: Sequence[str]) -> None:
    unknown = [m for m in thresholds if m not in metrics]
    if unknown:
        raise BenchError(f"--threshold {unknown[0]}=...: no metric {unknown[0]!r} is correlated."
                         f"{did_you_mean(unknown[0], list(metrics))}", hint=f"metrics: {', '.join(metrics)}")


def thresholds_from(validation: RatedSummaries, scores: Callable[[RatedSummaries], Mapping[str, object]],
                    metrics: Sequence[str], binary: Mapping[str, float | None],
                    criteria: Sequence[str]) -> dict[tuple[str, str], float]:
    """(metric, criterion) -> the threshold that maximises balanced accuracy on the validation summaries.

    `scores` gives the validation summaries' scores as the test summaries' were given (a grid per metric, or
    per criterion of a metric that scores each apart); the labels follow the same rule as the test data's.
    """
    val_scores = scores(validation)
    missing = [m for m in metrics if m not in val_scores]
    if missing:
        raise BenchError(f"the validation file gives no score {missing[0]!r}", where=validation.source,
                         hint=f"its scores: {', '.join(val_scores) or 'none'}; give it the same scores as the "
                              "test file, or compute the metric with --metric")
    absent = [c for c in criteria if c not in validation.criteria]
    if absent:
        raise BenchError(f"the validation file has no rating of {absent[0]!r}", where=validation.source,
                         hint=f"its criteria: {', '.join(validation.criteria)}")
    means = validation.mean_ratings()
    labels = label_grids(validation, means, {c: binary.get(c) for c in criteria}, criteria)
    out = {}
    for c in criteria:
        y = labels[c].reshape(-1)
        if not ((y == 1).any() and (y == 0).any()):
            raise BenchError(f"the validation file's labels of {c!r} are all {int(np.nanmax(y)) if np.isfinite(y).any() else '-'}: "
                             "no threshold can be tuned on one class", where=validation.source,
                             hint="a validation file needs summaries labelled 1 and summaries labelled 0")
        for m in metrics:
            s = val_scores[m]
            grid = s.get(c) if isinstance(s, Mapping) else s
            if grid is None:
                raise BenchError(f"the validation file gives no score {m!r} for {c!r}", where=validation.source,
                                 hint="give the same scores as the test file")
            threshold, _ = best_threshold(np.asarray(grid).reshape(-1), y)
            if not math.isfinite(threshold):
                raise BenchError(f"no summary of the validation file has both a score {m!r} and a label {c!r}",
                                 where=validation.source, hint="give the validation summaries their scores")
            out[(m, c)] = threshold
    return out
