"""The coefficients of resamples from their draw counts equal the coefficients of the drawn vectors themselves:
bench's own (tested against scipy to 1e-12), scipy's on a few, and scikit-learn's ROC AUC."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.stats
from sklearn.metrics import roc_auc_score

from bench.stats.bootstrap import resample_counts, resample_counts_by_unit
from bench.stats.coefficients import COEFFICIENTS, coefficients
from bench.stats.resampled_coefficients import ResampledCoefficients


def draws(n: int, r: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The indices of r resamples of n units, and their counts (n x r)."""
    idx = np.random.default_rng(seed).integers(0, n, (r, n))
    counts = np.stack([np.bincount(row, minlength=n) for row in idx]).astype(np.float64).T
    return idx, np.ascontiguousarray(counts)


def vectors(kind: str, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = rng.normal(size=n)
    if kind == "likert":  # a mean of three 1-5 ratings, as SummEval's
        y = rng.integers(1, 6, (n, 3)).mean(axis=1)
    elif kind == "ties":
        x = rng.integers(0, 4, n).astype(float)
        y = x + rng.integers(0, 3, n)
    elif kind == "continuous":
        y = x + rng.normal(size=n)
    elif kind == "binary":
        y = rng.integers(0, 2, n).astype(float)
    else:  # missing values on both sides
        y = np.round(x + rng.normal(size=n))
        x[rng.random(n) < 0.2] = np.nan
        y[rng.random(n) < 0.2] = np.nan
    return x, y


@pytest.mark.parametrize("kind", ["likert", "ties", "continuous", "binary", "missing"])
def test_each_resample_is_the_coefficients_of_its_drawn_vectors(kind):
    rng = np.random.default_rng(len(kind))
    for trial in range(25):
        n = int(rng.integers(1, 90))
        x, y = vectors(kind, n, rng)
        x2 = rng.integers(0, 3, n).astype(float)  # a second x with many ties, paired with the same y
        idx, counts = draws(n, 31, trial)
        got = ResampledCoefficients({"x": x, "x2": x2}, {"y": y})(counts)
        for name, xv in (("x", x), ("x2", x2)):
            expected = coefficients(xv[idx], y[idx])
            for c in COEFFICIENTS:
                a, b = got[(name, "y")][c], expected[c]
                assert np.array_equal(np.isnan(a), np.isnan(b)), (kind, trial, name, c)
                assert np.allclose(a[~np.isnan(a)], b[~np.isnan(b)], atol=1e-12, rtol=0), (kind, trial, name, c)


def test_a_few_resamples_equal_scipy():
    rng = np.random.default_rng(3)
    x = rng.normal(size=200)
    y = rng.integers(1, 6, (200, 3)).mean(axis=1)
    idx, counts = draws(200, 5, 8)
    got = ResampledCoefficients({"x": x}, {"y": y})(counts)[("x", "y")]
    for k in range(5):
        xs, ys = x[idx[k]], y[idx[k]]
        assert got["kendall"][k] == pytest.approx(scipy.stats.kendalltau(xs, ys).statistic, abs=1e-12)
        assert got["spearman"][k] == pytest.approx(scipy.stats.spearmanr(xs, ys).statistic, abs=1e-12)
        assert got["pearson"][k] == pytest.approx(scipy.stats.pearsonr(xs, ys).statistic, abs=1e-12)


def test_roc_auc_of_each_resample_equals_scikit_learn():
    rng = np.random.default_rng(5)
    for trial in range(30):
        n = int(rng.integers(2, 80))
        labels = (rng.random(n) < 0.4).astype(float)
        scores = np.round(labels + rng.normal(size=n), 1 if trial % 2 else 6)  # ties on odd trials
        if trial % 3 == 0:
            scores[rng.random(n) < 0.1] = np.nan
            labels[rng.random(n) < 0.1] = np.nan
        idx, counts = draws(n, 20, trial)
        got = ResampledCoefficients({"s": scores}, {"label": labels}, binary={"label"})(counts)[("s", "label")]
        assert set(got) == {"roc_auc"}
        for k in range(20):
            s, y = scores[idx[k]], labels[idx[k]]
            keep = np.isfinite(s) & np.isfinite(y)
            if len(set(y[keep])) < 2:
                assert np.isnan(got["roc_auc"][k])
            else:
                assert got["roc_auc"][k] == pytest.approx(roc_auc_score(y[keep], s[keep]), abs=1e-12)


def test_undefined_where_the_drawn_vectors_are():
    x = np.array([1.0, 2.0, 3.0])
    y = np.array([5.0, 5.0, 7.0])
    # units x resamples: unit 0 thrice (one value), units 0 and 1 (y constant), nothing, all three (defined)
    counts = np.array([[3, 1, 0, 1], [0, 2, 0, 1], [0, 0, 0, 1]], dtype=float)
    got = ResampledCoefficients({"x": x}, {"y": y})(counts)[("x", "y")]
    for c in COEFFICIENTS:
        assert np.isnan(got[c][:3]).all() and not np.isnan(got[c][3])
    one = ResampledCoefficients({"x": np.array([1.0])}, {"y": np.array([2.0])})(np.ones((1, 4)))
    assert all(np.isnan(one[("x", "y")][c]).all() for c in COEFFICIENTS)
    none = ResampledCoefficients({"x": np.array([np.nan, 1.0])}, {"y": np.array([1.0, np.nan])})(np.ones((2, 2)))
    assert all(np.isnan(none[("x", "y")][c]).all() for c in COEFFICIENTS)


def test_counts_by_unit_are_the_draws_of_every_bench_bootstrap():
    n, r = 37, 90
    expected = np.concatenate([c for _, _, c in resample_counts(n, n_resamples=r, seed=4)])
    got = np.concatenate([c for _, _, c in resample_counts_by_unit(n, n_resamples=r, seed=4, cells=37 * 7)], axis=1)
    assert np.array_equal(got, expected.T)
    idx = np.random.default_rng(4).integers(0, n, (r, n))
    assert np.array_equal(got[:, 5], np.bincount(idx[5], minlength=n))


def test_large_vectors_and_many_distinct_ratings():
    """Continuous on both sides (a bit per level of 2,000 distinct values) and int32 weights past 32,767."""
    rng = np.random.default_rng(9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for n in (2_000, 40_000):
            x = rng.normal(size=n)
            y = x + rng.normal(size=n)
            idx, counts = draws(n, 2, 1)
            got = ResampledCoefficients({"x": x}, {"y": y})(counts)[("x", "y")]
            expected = coefficients(x[idx], y[idx])
            for c in COEFFICIENTS:
                assert np.allclose(got[c], expected[c], atol=1e-12, rtol=0), c


def test_running_sums_past_the_units_a_pair_keeps():
    """40,000 units, 9,000 of them missing on one side: one unit drawn 35,000 times still counts exactly (the
    integers are sized by every unit a resample draws from, not by those a pair keeps)."""
    rng = np.random.default_rng(12)
    n = 40_000
    x = rng.normal(size=n)
    y = rng.integers(1, 6, n).astype(float)
    y[:9_000] = np.nan
    drawn = np.concatenate([np.full(35_000, 9_000), rng.integers(9_000, n, 5_000)])
    counts = np.bincount(drawn, minlength=n).astype(np.float64)[:, None]
    got = ResampledCoefficients({"x": x}, {"y": y})(counts)[("x", "y")]
    expected = coefficients(x[drawn][None, :], y[drawn][None, :])
    for c in COEFFICIENTS:
        assert got[c][0] == pytest.approx(expected[c][0], abs=1e-12), c
