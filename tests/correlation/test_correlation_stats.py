"""Correlation coefficients against scipy.stats, Krippendorff's alpha against hand-worked and published values,
summary- and system-level meta-evaluation, seeded bootstraps and paired tests."""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
import pytest
import scipy.stats

from bench.correlation.levels import correlate
from bench.stats.agreement import krippendorff_alpha_interval
from bench.stats.coefficients import COEFFICIENTS, coefficients, kendall_tau_b, pearson, spearman
from bench.stats.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED, percentile_interval

TOL = 1e-12


def reference(x, y) -> dict[str, float]:
    """scipy's three coefficients over the positions where both vectors have a value (nan when undefined)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if x.size < 2 or np.all(x == x[0]) or np.all(y == y[0]):
        return {c: math.nan for c in COEFFICIENTS}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {"kendall": scipy.stats.kendalltau(x, y, variant="b").statistic,
                "spearman": scipy.stats.spearmanr(x, y).statistic,
                "pearson": scipy.stats.pearsonr(x, y).statistic}


def assert_same(ours: dict[str, float], ref: dict[str, float]) -> None:
    for c in COEFFICIENTS:
        if math.isnan(ref[c]):
            assert math.isnan(ours[c]), (c, ours[c])
        else:
            assert abs(ours[c] - ref[c]) <= TOL, (c, ours[c], ref[c])


def one(x, y) -> dict[str, float]:
    return {c: float(v[0]) for c, v in coefficients(np.asarray([x], float), np.asarray([y], float)).items()}


# ------------------------------------------------------------------ coefficients against scipy


@pytest.mark.parametrize("kind", ["continuous", "ties", "likert", "binary"])
def test_coefficients_equal_scipy_on_random_vectors(kind):
    rng = np.random.default_rng(7)
    for _ in range(60):
        n = int(rng.integers(2, 40))
        if kind == "continuous":
            x = rng.normal(size=n)
            y = 0.5 * x + rng.normal(size=n)
        elif kind == "ties":
            x = rng.integers(0, 4, n).astype(float)
            y = x + rng.integers(0, 3, n)
        elif kind == "likert":  # mean of three 1-5 ratings, as SummEval's
            x = rng.integers(1, 6, (n, 3)).mean(axis=1)
            y = rng.normal(size=n) + x
        else:
            x = rng.integers(0, 2, n).astype(float)
            y = rng.integers(0, 2, n).astype(float)
        assert_same(one(x, y), reference(x, y))


def test_the_one_vector_functions_equal_scipy():
    x = [0.1, 0.4, 0.4, 0.9, 0.3, 0.7]
    y = [1, 3, 2, 5, 2, 4]
    ref = reference(x, y)
    assert abs(kendall_tau_b(x, y) - ref["kendall"]) <= TOL
    assert abs(spearman(x, y) - ref["spearman"]) <= TOL
    assert abs(pearson(x, y) - ref["pearson"]) <= TOL


def test_a_batch_gives_each_row_its_own_coefficients():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 5, (50, 9)).astype(float)
    y = x + rng.normal(size=(50, 9))
    batch = coefficients(x, y)
    for i in range(50):
        assert_same({c: batch[c][i] for c in COEFFICIENTS}, reference(x[i], y[i]))


def test_monotone_transforms_keep_kendall_and_spearman_at_one():
    x = np.linspace(0.1, 3.0, 12)
    for y in (np.exp(x), x ** 3, np.log(x), 10 * x - 4):
        c = one(x, y)
        assert c["kendall"] == pytest.approx(1.0, abs=TOL) and c["spearman"] == pytest.approx(1.0, abs=TOL)
    c = one(x, -np.exp(x))
    assert c["kendall"] == pytest.approx(-1.0, abs=TOL) and c["spearman"] == pytest.approx(-1.0, abs=TOL)
    assert one(x, 3 * x + 1)["pearson"] == pytest.approx(1.0, abs=TOL)
    assert one(x, np.exp(x))["pearson"] < 1.0  # not linear


def test_tau_b_with_ties_hand_computed():
    # x = [1, 2, 2, 3], y = [1, 2, 3, 3]: 6 pairs; concordant 4 ((1,2),(1,3),(1,4),(2,4)), discordant 0;
    # tied in x: (2,3); tied in y: (3,4). tau-b = 4 / sqrt((6 - 1) * (6 - 1)) = 0.8.
    assert kendall_tau_b([1, 2, 2, 3], [1, 2, 3, 3]) == pytest.approx(0.8, abs=TOL)


def test_constant_vectors_and_fewer_than_two_values_are_undefined():
    for x, y in (([1, 1, 1], [1, 2, 3]), ([1, 2, 3], [2, 2, 2]), ([5.0], [1.0]), ([], []),
                 ([1, np.nan, 3], [np.nan, 2, np.nan])):
        c = one(x, y) if len(x) else {k: float(v[0]) for k, v in coefficients(np.zeros((1, 0)), np.zeros((1, 0))).items()}
        assert all(math.isnan(v) for v in c.values()), (x, y, c)


def test_missing_values_drop_the_position_from_both_vectors():
    rng = np.random.default_rng(11)
    for _ in range(40):
        n = int(rng.integers(3, 20))
        x = rng.integers(1, 6, n).astype(float)
        y = x + rng.normal(size=n)
        x[rng.random(n) < 0.2] = np.nan
        y[rng.random(n) < 0.2] = np.nan
        assert_same(one(x, y), reference(x, y))


# ------------------------------------------------------------------ Krippendorff's alpha


def test_alpha_hand_worked_example():
    # Three units rated by two annotators: (1, 2), (2, 2), (3, 4).
    # Pairable values 1, 2, 2, 2, 3, 4 (n = 6). Within units, ordered pairs: 2 * 1^2 + 0 + 2 * 1^2 = 4, each
    # unit weighted 1 / (m_u - 1) = 1: D_o = 4 / 6. Over all values, the unordered pairs' squared differences sum
    # to 3*1 + 4 + 9 + 0 + 3*1 + 3*4 + 1 = 32, ordered 64: D_e = 64 / (6 * 5). alpha = 1 - (4/6) / (64/30) = 0.6875.
    assert krippendorff_alpha_interval(np.array([[1, 2], [2, 2], [3, 4]], float)) == pytest.approx(0.6875, abs=TOL)


def test_alpha_reproduces_krippendorffs_published_example():
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers, 12 units, missing
    # values; alpha (interval) = 0.849. Rows are observers A-D here, units are columns.
    nan = np.nan
    data = np.array([
        [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
        [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
    ])
    assert round(krippendorff_alpha_interval(data.T), 3) == 0.849


def test_alpha_is_one_for_perfect_agreement_and_ignores_units_with_one_value():
    agree = np.array([[1, 1, 1], [3, 3, np.nan], [5, 5, 5], [2, np.nan, np.nan]])
    assert krippendorff_alpha_interval(agree) == pytest.approx(1.0, abs=TOL)
    # The last unit has one value: it cannot be paired, and changing it changes nothing.
    other = agree.copy()
    other[3, 0] = 4
    assert krippendorff_alpha_interval(other) == krippendorff_alpha_interval(agree)
    assert math.isnan(krippendorff_alpha_interval(np.array([[2, 2], [2, 2]], float)))  # no variation at all


# ------------------------------------------------------------------ summary and system level


def grid(seed: int, docs: int = 12, systems: int = 6) -> tuple[dict, dict]:
    rng = np.random.default_rng(seed)
    quality = rng.normal(size=(docs, systems)) + np.linspace(0, 2, systems)
    ratings = {"relevance": np.clip(np.round(quality + rng.normal(scale=0.5, size=quality.shape) + 3), 1, 5),
               "coherence": np.clip(np.round(rng.normal(size=quality.shape) + 3), 1, 5)}
    scores = {"good": quality + rng.normal(scale=0.3, size=quality.shape),
              "noise": rng.normal(size=quality.shape)}
    return scores, ratings


def row(result, metric, criterion, level):
    return next(r for r in result.rows if (r.metric, r.criterion, r.level) == (metric, criterion, level))


def test_summary_level_is_the_mean_of_scipys_per_document_coefficients_skipping_constant_documents():
    scores, ratings = grid(1)
    ratings["relevance"][2] = 4.0  # a document every system got the same rating for
    scores["good"][5] = 0.5  # a document the metric cannot tell apart
    result = correlate(scores, ratings, n_resamples=50)
    for metric, s in scores.items():
        for criterion, h in ratings.items():
            per_doc = [reference(s[d], h[d]) for d in range(s.shape[0])]
            kept = [p for p in per_doc if not math.isnan(p["kendall"])]
            r = row(result, metric, criterion, "summary")
            assert r.n == len(kept) and r.skipped == s.shape[0] - len(kept)
            for c in COEFFICIENTS:
                assert abs(r.values[c] - np.mean([p[c] for p in kept])) <= TOL
    assert row(result, "good", "relevance", "summary").skipped == 2
    assert row(result, "noise", "relevance", "summary").skipped == 1


def test_system_level_is_scipy_on_the_per_system_means():
    scores, ratings = grid(2)
    result = correlate(scores, ratings, n_resamples=50)
    for metric, s in scores.items():
        for criterion, h in ratings.items():
            r = row(result, metric, criterion, "system")
            assert r.n == s.shape[1] and r.skipped == 0
            assert_same(dict(r.values), reference(s.mean(axis=0), h.mean(axis=0)))


def test_missing_ratings_leave_their_cells_out_at_both_levels():
    scores, ratings = grid(3)
    h = ratings["relevance"]
    rng = np.random.default_rng(0)
    h[rng.random(h.shape) < 0.25] = np.nan
    h[4] = np.nan  # a document nobody rated
    result = correlate(scores, ratings, n_resamples=50)
    s = scores["good"]
    per_doc = [reference(s[d], h[d]) for d in range(s.shape[0])]
    kept = [p for p in per_doc if not math.isnan(p["kendall"])]
    r = row(result, "good", "relevance", "summary")
    assert r.n == len(kept) and r.skipped >= 1
    assert abs(r.values["spearman"] - np.mean([p["spearman"] for p in kept])) <= TOL
    both = np.isfinite(h)
    sys_s = np.array([s[both[:, j], j].mean() for j in range(s.shape[1])])
    sys_h = np.array([h[both[:, j], j].mean() for j in range(s.shape[1])])
    assert_same(dict(row(result, "good", "relevance", "system").values), reference(sys_s, sys_h))


def test_one_system_gives_no_summary_level_and_no_system_level_value():
    scores, ratings = grid(4, systems=1)
    result = correlate(scores, ratings, n_resamples=20)
    for r in result.rows:
        if r.level == "sample":  # the 12 summaries pooled: defined
            assert r.n == 12 and all(math.isfinite(v) for v in r.values.values())
            continue
        assert all(math.isnan(v) for v in r.values.values())
        assert all(math.isnan(lo) and math.isnan(hi) for lo, hi in r.ci.values())
        assert r.best == ()
        if r.level == "summary":
            assert r.n == 0 and r.skipped == 12
    assert {p.level for p in result.paired} == {"sample"}


def test_summary_level_bootstrap_resamples_documents_as_bench_metrics_bootstrap_draws_them():
    scores, ratings = grid(5)
    result = correlate(scores, ratings, n_resamples=200, seed=99)
    s, h = scores["good"], ratings["relevance"]
    per_doc = np.array([reference(s[d], h[d])["kendall"] for d in range(s.shape[0])])
    idx = np.random.default_rng(99).integers(0, s.shape[0], size=(200, s.shape[0]))
    means = np.array([np.nanmean(per_doc[i]) for i in idx])
    lo, hi = percentile_interval(means)
    r = row(result, "good", "relevance", "summary")
    assert r.ci["kendall"] == pytest.approx((lo, hi), abs=TOL)


def test_system_level_bootstrap_resamples_documents_then_systems():
    scores, ratings = grid(6, docs=8, systems=11)
    result = correlate(scores, ratings, n_resamples=100, seed=3)
    s, h = scores["good"], ratings["relevance"]
    rng = np.random.default_rng(3)
    docs = rng.integers(0, 8, size=(100, 8))
    systems = rng.integers(0, 11, size=(100, 11))
    values = []
    for d, j in zip(docs, systems):
        v = reference(s[d].mean(axis=0)[j], h[d].mean(axis=0)[j])["pearson"]
        if not math.isnan(v):
            values.append(v)
    r = row(result, "good", "relevance", "system")
    assert r.ci["pearson"] == pytest.approx(percentile_interval(np.array(values)), abs=1e-9)


def test_the_bootstrap_is_seeded():
    scores, ratings = grid(7)
    a = correlate(scores, ratings, n_resamples=100)
    b = correlate(scores, ratings, n_resamples=100)
    c = correlate(scores, ratings, n_resamples=100, seed=1)
    assert a == b
    assert a.seed == DEFAULT_SEED and a.rows[0].ci != c.rows[0].ci
    assert correlate(scores, ratings).resamples == DEFAULT_RESAMPLES


def test_a_metric_that_tracks_the_ratings_is_marked_best_and_wins_the_paired_test():
    scores, ratings = grid(8, docs=40, systems=8)
    result = correlate(scores, ratings, n_resamples=300)
    good = row(result, "good", "relevance", "summary")
    assert set(good.best) == set(COEFFICIENTS)
    assert row(result, "noise", "relevance", "summary").best == ()
    test = next(p for p in result.paired if (p.level, p.criterion, p.coefficient, p.a, p.b)
                == ("summary", "relevance", "kendall", "good", "noise"))
    assert test.diff == pytest.approx(good.values["kendall"] - row(result, "noise", "relevance", "summary").values["kendall"])
    assert test.ci[0] > 0 and test.p < 0.05
    # Coherence is unrelated to both: neither is marked.
    assert row(result, "good", "coherence", "summary").best == () == row(result, "noise", "coherence", "summary").best


def test_two_identical_metrics_are_never_marked_best():
    scores, ratings = grid(9)
    scores["copy"] = scores["good"].copy()
    result = correlate(scores, ratings, n_resamples=100)
    assert all(r.best == () for r in result.rows if r.metric in ("good", "copy"))
    tie = next(p for p in result.paired if (p.a, p.b, p.level, p.coefficient, p.criterion)
               == ("good", "copy", "summary", "kendall", "relevance"))
    assert tie.diff == 0 and tie.ci == (0.0, 0.0) and tie.p == 1.0


def test_agreement_is_reported_per_criterion_with_several_annotators():
    scores, ratings = grid(10)
    rng = np.random.default_rng(0)
    annotations = {"relevance": np.stack([ratings["relevance"] + rng.integers(-1, 2, ratings["relevance"].shape)
                                          for _ in range(3)], axis=-1),
                   "coherence": ratings["coherence"][..., None]}  # one annotator: no agreement to report
    result = correlate(scores, ratings, annotations=annotations, n_resamples=20)
    assert [a.criterion for a in result.agreement] == ["relevance"]
    a = result.agreement[0]
    assert a.units == 72 and a.annotators == 3
    assert a.alpha == pytest.approx(krippendorff_alpha_interval(annotations["relevance"].reshape(-1, 3)))


@pytest.mark.slow
def test_a_summeval_sized_grid_takes_seconds():
    rng = np.random.default_rng(0)
    docs, systems = 100, 16
    scores = {f"metric{k}": rng.normal(size=(docs, systems)) for k in range(6)}
    ratings = {c: rng.normal(size=(docs, systems)) for c in ("coherence", "consistency", "fluency", "relevance")}
    start = time.perf_counter()
    result = correlate(scores, ratings, n_resamples=1000)
    took = time.perf_counter() - start
    assert len(result.rows) == 6 * 4 * 3
    assert took < 20, took
