"""Paired statistics against independent computations: percentiles by hand, sign vectors enumerated, binomial sums."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_compare import make_run

from bench.comparison.flips import read_predictions
from bench.comparison.wording import paired_wording
from bench.comparison.select import select
from bench.comparison.paired import compare_pair, compare_section
from bench.stats.significance import (
    EXACT_PERMUTATION_MAX_N, PERMUTATION_RESAMPLES, mcnemar_exact, min_permutation_p, paired_bootstrap_ci,
    permutation_test,
)
from bench.stats.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED, bootstrap_ci

# ------------------------------------------------------ paired bootstrap


def test_paired_bootstrap_ci_is_the_percentile_of_the_resample_means_drawn_by_hand():
    d = np.array([4.0, -1.0, 0.5, 7.0, -3.0])
    rng = np.random.default_rng(DEFAULT_SEED)
    means = d[rng.integers(0, d.size, size=(DEFAULT_RESAMPLES, d.size))].mean(axis=1)
    expected = tuple(float(q) for q in np.quantile(means, [0.025, 0.975]))
    assert paired_bootstrap_ci(d) == expected
    # another seed, resample count and level go through the same resampler
    rng = np.random.default_rng(99)
    means = d[rng.integers(0, d.size, size=(321, d.size))].mean(axis=1)
    expected = tuple(float(q) for q in np.quantile(means, [0.05, 0.95]))
    assert paired_bootstrap_ci(d, seed=99, n_resamples=321, confidence=0.9) == expected


def test_paired_and_per_run_intervals_share_the_resampler_and_its_defaults():
    d = np.random.default_rng(4).normal(1.0, 3.0, size=57)
    assert paired_bootstrap_ci(d) == bootstrap_ci(d) == bootstrap_ci(d, n_resamples=1000, seed=12345)
    assert DEFAULT_RESAMPLES == 1000  # what every results.json CI was computed with


def test_paired_bootstrap_ci_of_nothing_and_of_one_example():
    lo, hi = paired_bootstrap_ci([])
    assert math.isnan(lo) and math.isnan(hi)
    assert paired_bootstrap_ci([-12.5]) == (-12.5, -12.5)


def test_compare_pair_ci_is_the_bootstrap_of_the_differences(tmp_path):
    base = [10.0, 35.0, 60.0, 0.0, 100.0, 50.0]
    other = [20.0, 30.0, 90.0, 0.0, 100.0, 10.0]
    make_run(tmp_path, model="base", scores={"rouge1": base})
    make_run(tmp_path, model="other", scores={"rouge1": other}, run_id="20260101T000000Z-000002")
    (s,) = select([tmp_path])
    b, o = sorted(s.runs, key=lambda r: r.model != "base")
    p = compare_pair(s.task, "rouge1", b, o, read_predictions(b.path), read_predictions(o.path), seed=5)
    assert p is not None and p.ci == bootstrap_ci(np.array(other) - np.array(base), seed=5)


# ------------------------------------------------------ permutation test


def enumerated_p(d: list[int]) -> Fraction:
    """Share of the 2^n sign vectors whose |sum| reaches the observed |sum| (integers: no rounding)."""
    observed = abs(sum(d))
    hits = sum(abs(sum(s * x for s, x in zip(signs, d))) >= observed
               for signs in itertools.product((1, -1), repeat=len(d)))
    return Fraction(hits, 2 ** len(d))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-50, 50), min_size=1, max_size=10))
def test_exact_permutation_p_equals_an_enumeration(d):
    p, exact = permutation_test(d)
    assert exact and p == float(enumerated_p(d))


def test_exact_permutation_p_at_the_largest_exact_n():
    d = [3, -1, 4, 1, -5, 9, 2, -6, 5, 3, -5, 8, 9, -7, 9, 3][:EXACT_PERMUTATION_MAX_N]
    assert len(d) == EXACT_PERMUTATION_MAX_N
    assert permutation_test(d) == (float(enumerated_p(d)), True)


def test_monte_carlo_p_is_close_to_the_exact_p_just_above_the_exact_limit():
    d = np.array([3, -1, 4, 1, -5, 9, 2, -6, 5, 3, -5, 8, 9, -7, 9, 3, -2], dtype=np.float64)
    n = d.size
    assert n == EXACT_PERMUTATION_MAX_N + 1
    signs = ((np.arange(2 ** n)[:, None] >> np.arange(n)) & 1) * 2 - 1
    exact = np.count_nonzero(np.abs(signs @ d) >= abs(d.sum())) / 2 ** n
    p, was_exact = permutation_test(d)
    assert not was_exact
    se = math.sqrt(exact * (1 - exact) / PERMUTATION_RESAMPLES)
    assert abs(p - exact) < 4 * se + 1 / PERMUTATION_RESAMPLES


def test_min_permutation_p_is_reached_by_an_all_same_sign_difference():
    for n in range(1, EXACT_PERMUTATION_MAX_N + 1):
        assert permutation_test([2.0] * n) == (min_permutation_p(n), True)
    assert min_permutation_p(EXACT_PERMUTATION_MAX_N + 1) == 0.0


def test_paired_wording_names_the_sign_flips_not_the_bootstrap_resamples():
    text = paired_wording(0.05)
    assert f"{PERMUTATION_RESAMPLES:,} seeded sign flips" in text and "10,000" in text
    assert f"exact for n up to {EXACT_PERMUTATION_MAX_N}" in text and "95% paired bootstrap CI" in text


# ------------------------------------------------------------- McNemar


@pytest.mark.parametrize("b,c", [(0, 1), (1, 9), (3, 3), (7, 2), (12, 30), (40, 41), (0, 60)])
def test_mcnemar_exact_equals_the_binomial_sum(b, c):
    n = b + c
    tail = sum(Fraction(math.comb(n, k), 2 ** n) for k in range(min(b, c) + 1))
    assert mcnemar_exact(b, c) == pytest.approx(float(min(Fraction(1), 2 * tail)), rel=1e-12)


@pytest.mark.parametrize("b,c", [(0, 1), (1, 9), (3, 3), (7, 2), (12, 30), (40, 41), (0, 60), (480, 530)])
def test_mcnemar_exact_equals_scipy_binomtest(b, c):
    stats = pytest.importorskip("scipy.stats")
    assert mcnemar_exact(b, c) == pytest.approx(stats.binomtest(min(b, c), b + c, 0.5).pvalue, rel=1e-9)


def test_mcnemar_refuses_negative_counts():
    with pytest.raises(ValueError):
        mcnemar_exact(-1, 3)


# ------------------------------------------------------------- a whole table at once


def test_compare_section_gives_each_run_and_metric_what_compare_pair_gives_it(tmp_path):
    """Every (run, metric) of a table is tested in one matrix; each gets the p-value, means and McNemar of
    testing it alone, and its interval to the order of summation."""
    rng = np.random.default_rng(8)
    n = 60
    for k, model in enumerate(("base", "a", "b", "c")):
        rouge = np.clip(rng.normal(40 + 3 * k, 15, n), 0, 100).tolist()
        exact = (rng.random(n) < 0.4 + 0.1 * k).astype(float).tolist()
        ids = [f"ex{i}" for i in range(n)] if model != "c" else [f"ex{i}" for i in range(5, n + 5)]  # 55 shared
        make_run(tmp_path, model=model, scores={"rouge1": rouge, "exact_match": [100.0 * x for x in exact]},
                 ids=ids, run_id=f"20260101T000000Z-00000{k}")
    (s,) = select([tmp_path])
    base = next(r for r in s.runs if r.model == "base")
    c = compare_section(s, "base")
    assert len(c.results) == 6 and {p.n for p in c.results} == {n, n - 5}
    for p in c.results:
        run = next(r for r in s.runs if r.model == p.model)
        alone = compare_pair(s.task, p.metric, base, run, read_predictions(base.path), read_predictions(run.path),
                             direction=p.direction)
        assert alone is not None
        assert (p.p_value, p.exact, p.n, p.baseline_mean, p.mean, p.diff, p.mcnemar, p.mcnemar_p) == (
            alone.p_value, alone.exact, alone.n, alone.baseline_mean, alone.mean, alone.diff, alone.mcnemar,
            alone.mcnemar_p)
        assert p.ci == pytest.approx(alone.ci, rel=1e-12, abs=1e-12)
