"""Sample level and detection: every rated summary pooled, resampled summary by summary.

- *sample level* (UniEval's name; the level QAGS, FRANK, SummaC's benchmark and TRUE report): one coefficient
  between the metric and the ratings over every rated summary, whatever its document or system;
- *detection*, for a criterion whose ratings are labels (1: the summary has the property, say consistent; 0:
  it does not): ROC AUC of the metric's scores for the labels, and balanced accuracy at a threshold given
  (`bench.stats.detection`).

The bootstrap draws the summaries with replacement from `numpy.random.default_rng(seed)` as every bootstrap
in bench draws: resample i is row i of ``rng.integers(0, N, (R, N))`` over the N rated summaries, used as the
counts of each summary drawn (`bench.stats.bootstrap.resample_counts_by_unit`), a chunk of resamples at a
time. The coefficients and the AUC of a resample come from its counts without gathering it
(`bench.stats.resampled_coefficients`); the balanced accuracy from four weighted counts per metric.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from bench.stats.bootstrap import resample_counts_by_unit
from bench.stats.coefficients import COEFFICIENTS, coefficients
from bench.stats.detection import balanced_accuracy, best_threshold, roc_auc
from bench.stats.resampled_coefficients import ResampledCoefficients

Key = tuple[str, str, str]
#: What detection reports of each metric and labelled criterion.
DETECTION = ("roc_auc", "balanced_accuracy")
#: The name a criterion's labels go by beside its ratings, in the resampled coefficients' y vectors.
LABELS = "\x00labels"
#: Resampled summaries (summaries x resamples) weighed at once: a few arrays of 4 MB, which the CPU's caches
#: hold while each pair makes its passes over them.
SAMPLE_CHUNK_CELLS = 2**19


def sample_level(pairs: Sequence[tuple[str, np.ndarray, str, np.ndarray]],
                 labelled: Sequence[tuple[str, np.ndarray, str, np.ndarray]], units: np.ndarray, *,
                 thresholds: Mapping[tuple[str, str], float], seed: int, n_resamples: int
                 ) -> tuple[dict[Key, dict[str, float]], dict[Key, dict[str, np.ndarray]], dict[Key, tuple[int, int]]]:
    """(point values, resampled values, (n, skipped)) keyed by ("sample", metric, criterion).

    `pairs` are (metric, scores grid, criterion, ratings grid) to correlate, `labelled` (metric, scores grid,
    criterion, labels grid) to score as detection; `units` the flat indices of the rated summaries in the
    grids. `thresholds` gives the threshold of a (metric, criterion) pair's balanced accuracy (none: no
    balanced accuracy). n counts the summaries with both a score and a rating; skipped, those rated on the
    criterion that have no score.
    """
    points: dict[Key, dict[str, float]] = {}
    boots: dict[Key, dict[str, np.ndarray]] = {}
    meta: dict[Key, tuple[int, int]] = {}
    # one x per metric, or per (metric, criterion) for a metric that scores each criterion apart
    grids: dict[str, list[np.ndarray]] = {}
    for metric, s, _, _ in [*pairs, *labelled]:
        if not any(s is g for g in grids.setdefault(metric, [])):
            grids[metric].append(s)
    # A criterion both correlated and scored as detection (its ratings are labels) is two y vectors: the mean
    # ratings, correlated, and the labels, named LABELS after the criterion, whose pairs give the AUC. Both
    # write under ("sample", metric, criterion): the coefficients and the detection measures side by side.
    names: dict[tuple[str, str], str] = {}
    xs: dict[str, np.ndarray] = {}
    ys: dict[str, np.ndarray] = {}
    for (metric, s, criterion, h), y_name in [*((p, p[2]) for p in pairs),
                                              *((p, p[2] + LABELS) for p in labelled)]:
        name = metric if len(grids[metric]) == 1 else f"{metric}\x00{criterion}"
        names[metric, y_name] = name
        xs.setdefault(name, s.reshape(-1)[units])
        ys.setdefault(y_name, h.reshape(-1)[units])
    binary = {c + LABELS for _, _, c, _ in labelled}
    for metric, _, criterion, _ in pairs:
        x, y = xs[names[metric, criterion]], ys[criterion]
        key = ("sample", metric, criterion)
        points.setdefault(key, {}).update({c: float(v[0]) for c, v in coefficients(x[None, :], y[None, :]).items()})
        boots.setdefault(key, {}).update({c: np.full(n_resamples, np.nan) for c in COEFFICIENTS})
        meta[key] = _counts(x, y)
    tested: list[tuple[str, str, float]] = []
    for metric, _, criterion, _ in labelled:
        x, y = xs[names[metric, criterion + LABELS]], ys[criterion + LABELS]
        key = ("sample", metric, criterion)
        t = thresholds.get((metric, criterion), math.nan)
        points.setdefault(key, {}).update({"roc_auc": roc_auc(x, y), "balanced_accuracy": balanced_accuracy(x, y, t)})
        boots.setdefault(key, {}).update({c: np.full(n_resamples, np.nan) for c in DETECTION})
        meta[key] = _counts(x, y)
        if math.isfinite(t):
            tested.append((metric, criterion, t))
    if units.size == 0 or not (pairs or labelled):
        return points, boots, meta
    engine = ResampledCoefficients(xs, ys, binary=binary, pairs={(name, y) for (_, y), name in names.items()})
    wanted = {name: metric for (metric, _), name in names.items()}
    calls = _called(xs, ys, [(names[m, c + LABELS], c + LABELS, t) for m, c, t in tested])
    for start, stop, counts in resample_counts_by_unit(units.size, n_resamples=n_resamples, seed=seed,
                                                             cells=SAMPLE_CHUNK_CELLS):
        for (name, y_name), values in engine(counts).items():
            if names.get((wanted[name], y_name)) == name:
                for c, v in values.items():
                    boots[("sample", wanted[name], y_name.removesuffix(LABELS))][c][start:stop] = v
        if tested:
            sums = np.einsum("kn,nr->kr", calls, counts)  # for each tested pair: positives called positive, positives, the same of negatives
            for k, (metric, criterion, _) in enumerate(tested):
                tp, p, tn, n = sums[4 * k:4 * k + 4]
                with np.errstate(invalid="ignore", divide="ignore"):
                    boots[("sample", metric, criterion)]["balanced_accuracy"][start:stop] = np.where(
                        (p > 0) & (n > 0), (tp / p + tn / n) / 2, np.nan)
    return points, boots, meta


def tuned_on_test(labelled: Sequence[tuple[str, np.ndarray, str, np.ndarray]],
                  units: np.ndarray) -> dict[tuple[str, str], tuple[float, float]]:
    """(metric, criterion) -> (threshold, balanced accuracy) of the threshold best on these very summaries:
    optimistic, since it was chosen on the data it is measured on."""
    return {(metric, criterion): best_threshold(s.reshape(-1)[units], h.reshape(-1)[units])
            for metric, s, criterion, h in labelled}


def _counts(x: np.ndarray, y: np.ndarray) -> tuple[int, int]:
    rated = np.isfinite(y)
    return int((rated & np.isfinite(x)).sum()), int((rated & ~np.isfinite(x)).sum())


def _called(xs: Mapping[str, np.ndarray], ys: Mapping[str, np.ndarray],
            tested: Sequence[tuple[str, str, float]]) -> np.ndarray:
    """Four rows per (metric, criterion, threshold): positives called positive (score >= threshold), positives,
    negatives called negative, negatives (each among the summaries with a score and a label)."""
    rows = []
    for metric, criterion, t in tested:
        x, y = xs[metric], ys[criterion]
        present = np.isfinite(x) & np.isfinite(y)
        pos, neg = present & (y == 1), present & (y == 0)
        with np.errstate(invalid="ignore"):
            above = x >= t
        rows += [pos & above, pos, neg & ~above, neg]
    return np.asarray(rows, dtype=np.float64).reshape(-1, len(next(iter(xs.values()))) if xs else 0)
