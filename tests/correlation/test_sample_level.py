"""Sample level (every rated summary pooled) and detection (criteria rated 0 or 1): the values against scipy and
scikit-learn, the bootstrap over summaries against an explicit draw, and the levels a file has."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
import scipy.stats
from sklearn.metrics import balanced_accuracy_score, roc_auc_score

from bench.correlation import correlate_ratings
from bench.correlation.levels import correlate
from bench.stats.bootstrap import percentile_interval
from bench.stats.coefficients import COEFFICIENTS


def grid(seed: int, docs: int = 12, systems: int = 6) -> tuple[dict, dict]:
    rng = np.random.default_rng(seed)
    quality = rng.normal(size=(docs, systems)) + np.linspace(0, 2, systems)
    ratings = {"relevance": np.clip(np.round(quality + rng.normal(scale=0.5, size=quality.shape) + 3), 1, 5)}
    scores = {"good": quality + rng.normal(scale=0.3, size=quality.shape), "noise": rng.normal(size=quality.shape)}
    return scores, ratings


def scipy_values(x, y) -> dict[str, float]:
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {"kendall": scipy.stats.kendalltau(x, y).statistic, "spearman": scipy.stats.spearmanr(x, y).statistic,
                "pearson": scipy.stats.pearsonr(x, y).statistic}


def row(result, metric, criterion, level="sample"):
    return next(r for r in result.rows if (r.metric, r.criterion, r.level) == (metric, criterion, level))


def test_sample_level_is_scipy_on_every_rated_summary_pooled():
    scores, ratings = grid(1)
    h = ratings["relevance"]
    h[0, :3] = np.nan  # not rated: not a unit
    scores["good"][1, 1] = np.nan  # rated, no score: skipped and counted
    result = correlate(scores, ratings, n_resamples=30)
    assert result.levels == ("summary", "system", "sample") and result.summaries == 72 - 3
    for metric, s in scores.items():
        r = row(result, metric, "relevance")
        expected = scipy_values(s.ravel(), h.ravel())
        for c in COEFFICIENTS:
            assert abs(r.values[c] - expected[c]) <= 1e-12
    assert (row(result, "good", "relevance").n, row(result, "good", "relevance").skipped) == (68, 1)
    assert (row(result, "noise", "relevance").n, row(result, "noise", "relevance").skipped) == (69, 0)


def test_sample_level_bootstrap_resamples_the_summaries_as_every_bench_bootstrap_draws():
    scores, ratings = grid(2, docs=10, systems=5)
    result = correlate(scores, ratings, n_resamples=80, seed=7)
    x, y = scores["good"].ravel(), ratings["relevance"].ravel()
    idx = np.random.default_rng(7).integers(0, 50, size=(80, 50))
    for c in COEFFICIENTS:
        values = np.array([scipy_values(x[i], y[i])[c] for i in idx])
        assert row(result, "good", "relevance").ci[c] == pytest.approx(percentile_interval(values), abs=1e-12)
    # paired: the difference of the two metrics on the same resamples
    noise = scores["noise"].ravel()
    diffs = np.array([scipy_values(x[i], y[i])["kendall"] - scipy_values(noise[i], y[i])["kendall"] for i in idx])
    test = next(p for p in result.paired if (p.level, p.coefficient, p.a, p.b) == ("sample", "kendall", "good", "noise"))
    assert test.ci == pytest.approx(percentile_interval(diffs), abs=1e-12)
    assert test.p == min(1.0, 2 * min(np.mean(diffs <= 0), np.mean(diffs >= 0)))


def test_a_metric_that_tracks_the_ratings_is_best_at_sample_level():
    scores, ratings = grid(3, docs=30, systems=8)
    result = correlate(scores, ratings, n_resamples=200)
    assert set(row(result, "good", "relevance").best) == set(COEFFICIENTS)
    assert row(result, "noise", "relevance").best == ()


def test_a_metric_scored_per_criterion_is_set_against_that_criterion():
    scores, ratings = grid(4)
    ratings["coherence"] = np.round(ratings["relevance"][::-1])
    per = {"relevance": scores["good"], "coherence": -scores["good"]}  # another score for each criterion
    result = correlate({"unieval": per}, ratings, n_resamples=20)
    for criterion in ratings:
        expected = scipy_values(per[criterion].ravel(), ratings[criterion].ravel())
        assert row(result, "unieval", criterion).values["pearson"] == pytest.approx(expected["pearson"], abs=1e-12)
    only = correlate({"unieval": {"relevance": scores["good"]}}, ratings, n_resamples=20)
    assert all(math.isnan(v) for v in row(only, "unieval", "coherence").values.values())


# ------------------------------------------------------------------ the levels a file has


def write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_one_summary_per_document_gives_the_sample_level_only_and_says_so(tmp_path):
    rng = np.random.default_rng(5)
    rows = [{"id": f"d{k}", "system": f"s{k % 3}", "prediction": "p", "references": ["r"],
             "ratings": {"consistency": float(q)}, "scores": {"m": float(q + rng.normal(scale=0.3))}}
            for k, q in enumerate(rng.random(25))]
    rated, result = correlate_ratings([write(tmp_path / "r.jsonl", rows)], n_resamples=30)
    assert result.levels == ("sample",) and {r.level for r in result.rows} == {"sample"}
    assert sum("each document has one rated summary" in n for n in result.notes) == 1
    x = np.array([r["scores"]["m"] for r in rows])
    y = np.array([r["ratings"]["consistency"] for r in rows])
    assert result.rows[0].values["spearman"] == pytest.approx(scipy.stats.spearmanr(x, y).statistic, abs=1e-12)
    assert result.documents == 25 and result.summaries == 25


# ------------------------------------------------------------------ detection


def labelled(seed: int, n: int = 60) -> tuple[dict, dict, np.ndarray]:
    rng = np.random.default_rng(seed)
    q = rng.random(n)
    y = (q > 0.5).astype(float)
    scores = {"good": np.round(q + rng.normal(scale=0.3, size=n), 2), "noise": np.round(rng.random(n), 1)}
    return {k: v.reshape(-1, 1) for k, v in scores.items()}, {"consistent": y.reshape(-1, 1)}, y


def test_detection_equals_scikit_learn_with_a_bootstrap_over_summaries():
    scores, labels, y = labelled(6)
    thresholds = {("good", "consistent"): 0.5, ("noise", "consistent"): 0.3}
    result = correlate(scores, {}, labels=labels, thresholds=thresholds, threshold_source="--threshold",
                       n_resamples=60, seed=2)
    assert result.rows == () and len(result.detection) == 2
    idx = np.random.default_rng(2).integers(0, 60, size=(60, 60))
    for d in result.detection:
        s = scores[d.metric].ravel()
        t = thresholds[(d.metric, "consistent")]
        assert d.values["roc_auc"] == pytest.approx(roc_auc_score(y, s), abs=1e-12)
        assert d.values["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, s >= t), abs=1e-12)
        assert d.threshold == t and (d.n, d.positives, d.negatives) == (60, int(y.sum()), 60 - int(y.sum()))
        aucs = [roc_auc_score(y[i], s[i]) for i in idx]
        bas = [balanced_accuracy_score(y[i], s[i] >= t) for i in idx]
        assert d.ci["roc_auc"] == pytest.approx(percentile_interval(np.array(aucs)), abs=1e-12)
        assert d.ci["balanced_accuracy"] == pytest.approx(percentile_interval(np.array(bas)), abs=1e-12)
    good = next(d for d in result.detection if d.metric == "good")
    assert good.best == ("roc_auc", "balanced_accuracy")
    assert {(p.coefficient, p.a, p.b) for p in result.paired} == {("roc_auc", "good", "noise"),
                                                                   ("balanced_accuracy", "good", "noise")}


def test_without_a_threshold_there_is_no_balanced_accuracy_unless_tuned_on_the_test_data_labelled_so():
    scores, labels, y = labelled(7)
    plain = correlate(scores, {}, labels=labels, n_resamples=20)
    assert all(math.isnan(d.values["balanced_accuracy"]) and d.tuned is None for d in plain.detection)
    tuned = correlate(scores, {}, labels=labels, n_resamples=20, oracle=True)
    for d in tuned.detection:
        s = scores[d.metric].ravel()
        best = max(balanced_accuracy_score(y, s >= v) for v in np.unique(s))
        assert d.tuned[1] == pytest.approx(best, abs=1e-12)
        assert balanced_accuracy_score(y, s >= d.tuned[0]) == pytest.approx(best, abs=1e-12)


def ratings_rows(seed: int, n: int, binary: bool = True):
    rng = np.random.default_rng(seed)
    out = []
    for k, q in enumerate(rng.random(n)):
        rating = int(q > 0.5) if binary else [int(q > 0.3), int(q > 0.5), int(q > 0.7)]
        out.append({"id": f"d{k}", "system": "s", "prediction": "p", "references": ["r"],
                    "ratings": {"consistent": rating},
                    "scores": {"good": round(float(q + rng.normal(scale=0.3)), 3), "noise": float(rng.random())}})
    return out


def test_thresholds_tuned_on_a_validation_file_are_applied_to_the_test_file(tmp_path):
    test = write(tmp_path / "test.jsonl", ratings_rows(8, 50))
    validation = write(tmp_path / "val.jsonl", ratings_rows(9, 40))
    _, result = correlate_ratings([test], threshold_from=validation, n_resamples=20)
    assert result.threshold_source == f"tuned on {validation}" or result.threshold_source.endswith("val.jsonl")
    val = ratings_rows(9, 40)
    y_val = np.array([r["ratings"]["consistent"] for r in val], dtype=float)
    y = np.array([r["ratings"]["consistent"] for r in ratings_rows(8, 50)], dtype=float)
    for d in result.detection:
        s_val = np.array([r["scores"][d.metric] for r in val])
        bas = {v: balanced_accuracy_score(y_val, s_val >= v) for v in np.unique(s_val)}
        assert balanced_accuracy_score(y_val, s_val >= d.threshold) == pytest.approx(max(bas.values()), abs=1e-12)
        s = np.array([r["scores"][d.metric] for r in ratings_rows(8, 50)])
        assert d.values["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, s >= d.threshold), abs=1e-12)


def test_binary_with_a_cut_labels_the_mean_rating(tmp_path):
    rows = ratings_rows(10, 40, binary=False)  # three annotators' 0/1 each
    path = write(tmp_path / "r.jsonl", rows)
    _, correlated = correlate_ratings([path], n_resamples=20)
    assert correlated.detection == () and {r.criterion for r in correlated.rows} == {"consistent"}
    _, result = correlate_ratings([path], binary=["consistent=1.0"], thresholds=["good=0.6", "noise=0.5"],
                                  n_resamples=20)
    y = np.array([float(np.mean(r["ratings"]["consistent"]) >= 1.0) for r in rows])
    good = next(d for d in result.detection if d.metric == "good")
    s = np.array([r["scores"]["good"] for r in rows])
    assert good.values["roc_auc"] == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert good.values["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, s >= 0.6), abs=1e-12)
    assert result.rows == correlated.rows  # the mean ratings are correlated as without --binary, detection besides
