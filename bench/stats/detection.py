"""How well a score separates two classes: ROC AUC, balanced accuracy at a threshold, the best threshold; numpy only.

Factual-consistency benchmarks (SummaC's, TRUE, LLM-AggreFact) label each summary consistent (1) or not (0)
and ask how well a metric's score tells the two apart: a detection problem, not a correlation.

- ROC AUC: the probability that a positive scores above a negative, a tie counting one half (the
  Mann-Whitney U over P x N), as scikit-learn's ``roc_auc_score``. It needs no threshold.
- Balanced accuracy at threshold t: a score >= t is called positive; the mean of the recall of the positives
  and of the negatives, as scikit-learn's ``balanced_accuracy_score`` on those calls.
- The best threshold: the one that maximises balanced accuracy on the data given. Tuned on validation data
  and applied to the test data it is an honest estimate; tuned on the test data itself it is optimistic.

Positions where the score or the label is missing (nan) are left out; a value is undefined (nan) without a
positive or a negative.
"""

from __future__ import annotations

import math

import numpy as np

from bench.stats.coefficients import average_ranks


def _present(scores, labels) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    y = np.asarray(labels, dtype=np.float64).reshape(-1)
    if s.shape != y.shape:
        raise ValueError(f"shapes differ: {s.shape} and {y.shape}")
    keep = np.isfinite(s) & np.isfinite(y)
    s, y = s[keep], y[keep]
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("labels must be 0 or 1")
    return s, y.astype(bool)


def roc_auc(scores, labels) -> float:
    """The area under the ROC curve of `scores` for `labels` (0/1), ties one half; nan without both classes."""
    s, y = _present(scores, labels)
    p = int(y.sum())
    n = y.size - p
    if p == 0 or n == 0:
        return math.nan
    ranks = average_ranks(s[None, :])[0][0]  # 1-based, ties their average rank
    u = ranks[y].sum() - p * (p + 1) / 2.0
    return float(u / (p * n))


def balanced_accuracy(scores, labels, threshold: float) -> float:
    """The mean recall of both classes when a score >= `threshold` is called positive; nan without both
    classes."""
    s, y = _present(scores, labels)
    p = int(y.sum())
    n = y.size - p
    if p == 0 or n == 0 or not math.isfinite(threshold):
        return math.nan
    called = s >= threshold
    return float((called[y].sum() / p + (~called[~y]).sum() / n) / 2.0)


def best_threshold(scores, labels) -> tuple[float, float]:
    """(threshold, balanced accuracy) of the threshold that maximises balanced accuracy on these scores.

    Every cut between two distinct scores is tried (a score >= the threshold is called positive, at least
    one score is); the threshold reported is the midpoint between the lowest score called positive and the
    highest called negative (the lowest score when every score is called positive). Among equal balanced
    accuracies the highest threshold is kept. (nan, nan) without both classes.
    """
    s, y = _present(scores, labels)
    p = int(y.sum())
    n = y.size - p
    if p == 0 or n == 0:
        return (math.nan, math.nan)
    order = np.argsort(-s, kind="stable")
    sorted_s = s[order]
    last = np.ones(s.size, dtype=bool)  # the last of each run of equal scores, highest first
    last[:-1] = sorted_s[:-1] != sorted_s[1:]
    tp = np.cumsum(y[order])[last]
    fp = np.cumsum(~y[order])[last]
    ba = (tp / p + (n - fp) / n) / 2.0
    k = int(np.argmax(ba))
    values = sorted_s[last]
    if k + 1 < values.size:
        lower, upper = values[k + 1], values[k]
        mid = lower + (upper - lower) / 2.0
        threshold = float(mid if lower < mid <= upper else upper)
    else:
        threshold = float(values[k])
    return (threshold, float(ba[k]))
