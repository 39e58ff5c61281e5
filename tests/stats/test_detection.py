"""ROC AUC, balanced accuracy and the best threshold, against scikit-learn and a search over every threshold."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, roc_auc_score

from bench.stats.detection import balanced_accuracy, best_threshold, roc_auc


def cases(seed: int):
    rng = np.random.default_rng(seed)
    for trial in range(60):
        n = int(rng.integers(2, 120))
        labels = (rng.random(n) < rng.uniform(0.1, 0.9)).astype(float)
        scores = labels * rng.uniform(0, 2) + rng.normal(size=n)
        if trial % 3 == 0:
            scores = np.round(scores, 1)  # ties across the classes
        if trial % 5 == 0:
            scores = rng.integers(0, 3, n).astype(float)  # few distinct scores
        yield labels, scores


def test_roc_auc_equals_scikit_learn_ties_one_half():
    for labels, scores in cases(0):
        if len(set(labels)) < 2:
            assert math.isnan(roc_auc(scores, labels))
            continue
        assert roc_auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    # one positive tied with one negative, one above: (1 + 0.5) / 2
    assert roc_auc([0.3, 0.3, 0.1], [1, 0, 0]) == pytest.approx(0.75)


def test_balanced_accuracy_equals_scikit_learn_on_the_calls_at_a_threshold():
    rng = np.random.default_rng(1)
    for labels, scores in cases(1):
        if len(set(labels)) < 2:
            continue
        for t in (*rng.choice(scores, 3), float(np.median(scores))):
            expected = balanced_accuracy_score(labels, (scores >= t).astype(float))
            assert balanced_accuracy(scores, labels, t) == pytest.approx(expected, abs=1e-12)


def test_missing_values_are_left_out_and_one_class_is_undefined():
    scores = np.array([0.9, np.nan, 0.2, 0.4, 0.7])
    labels = np.array([1, 1, 0, np.nan, 0])
    assert roc_auc(scores, labels) == pytest.approx(roc_auc_score([1, 0, 0], [0.9, 0.2, 0.7]))
    assert math.isnan(roc_auc([0.1, 0.2], [1, 1]))
    assert math.isnan(balanced_accuracy([0.1, 0.2], [0, 0], 0.5))
    assert best_threshold([0.1, 0.2], [1, 1]) == (math.nan, math.nan) or all(
        math.isnan(v) for v in best_threshold([0.1, 0.2], [1, 1]))
    with pytest.raises(ValueError):
        roc_auc([0.1, 0.2], [1, 2])


def test_best_threshold_is_the_best_of_every_cut_and_gives_its_balanced_accuracy():
    for labels, scores in cases(2):
        if len(set(labels)) < 2:
            continue
        threshold, ba = best_threshold(scores, labels)
        distinct = np.unique(scores)
        pos, neg = labels == 1, labels == 0  # balanced accuracy at each cut, by its definition
        every = [((scores[pos] >= v).mean() + (scores[neg] < v).mean()) / 2 for v in distinct]
        assert ba == pytest.approx(max(every), abs=1e-12)
        assert balanced_accuracy(scores, labels, threshold) == pytest.approx(ba, abs=1e-12)
        # the highest of the best cuts: every distinct score above the threshold scores worse
        best_cut = max(v for v, b in zip(distinct, every) if b >= max(every) - 1e-12)
        assert threshold <= best_cut
        lower = distinct[distinct < best_cut]
        if lower.size:  # the midpoint between the lowest score called 1 and the highest called 0
            assert threshold == pytest.approx((best_cut + lower.max()) / 2)
