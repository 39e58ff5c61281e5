"""The paired statistics as matrix products: the same numbers as one vector at a time, in bounded memory.

The reference implementations below are the rules bench's paired tests have always followed, written the
plain way (one vector, every draw held at once): the bootstrap's resample i is row i of
``default_rng(seed).integers(0, n, (R, n))`` and its mean the plain mean of the drawn values; the permutation
test's sign vector i is row i of ``2 * default_rng(seed).integers(0, 2, (R, n)) - 1``.
"""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest

from bench.stats.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED, bootstrap_ci
from bench.stats.significance import (EXACT_PERMUTATION_MAX_N, PERMUTATION_RESAMPLES, mcnemar_exact,
                                      paired_bootstrap_ci, paired_bootstrap_cis, permutation_test,
                                      permutation_tests, sign_test)


def reference_ci(d: np.ndarray, seed: int = DEFAULT_SEED, n_resamples: int = DEFAULT_RESAMPLES,
                 confidence: float = 0.95) -> tuple[float, float]:
    means = d[np.random.default_rng(seed).integers(0, d.size, size=(n_resamples, d.size))].mean(axis=1)
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(means, [alpha, 1 - alpha])
    return float(lo), float(hi)


def reference_p(d: np.ndarray, seed: int = DEFAULT_SEED, n_permutations: int = PERMUTATION_RESAMPLES) -> float:
    n = d.size
    observed = abs(d.mean())
    tol = 1e-9 * max(1.0, observed)
    if n <= EXACT_PERMUTATION_MAX_N:
        signs = ((np.arange(2 ** n)[:, None] >> np.arange(n)) & 1) * 2 - 1
        return float(np.count_nonzero(np.abs(signs @ d) / n >= observed - tol)) / 2 ** n
    signs = np.random.default_rng(seed).integers(0, 2, size=(n_permutations, n)) * 2 - 1
    return (int(np.count_nonzero(np.abs(signs @ d) / n >= observed - tol)) + 1) / (n_permutations + 1)


def columns(n: int, seed: int = 0) -> np.ndarray:
    """Differences as bench compares them: ROUGE-like real values, 0/100 exact match, ties and all zeros."""
    rng = np.random.default_rng(seed)
    real = rng.normal(2.0, 15.0, size=n)
    exact = (rng.integers(0, 2, n) - rng.integers(0, 2, n)) * 100.0
    tied = np.round(rng.normal(0.0, 3.0, size=n))  # integers: sums without rounding, many statistics tie
    small = rng.normal(0.0, 1e-3, size=n)
    return np.column_stack([real, exact, tied, small, np.zeros(n)])


@pytest.mark.parametrize("n", [2, 9, EXACT_PERMUTATION_MAX_N, EXACT_PERMUTATION_MAX_N + 1, 250, 1_000])
def test_the_matrix_gives_each_column_the_values_of_the_plain_rule(n):
    d = columns(n, seed=n)
    p, exact = permutation_tests(d)
    assert exact == (n <= EXACT_PERMUTATION_MAX_N)
    assert p.tolist() == [reference_p(d[:, j].copy()) for j in range(d.shape[1])]
    cis = paired_bootstrap_cis(d)
    for j in range(d.shape[1]):
        expected = reference_ci(d[:, j].copy())
        assert cis[j].tolist() == pytest.approx(expected, rel=1e-12, abs=1e-12)
        assert paired_bootstrap_ci(d[:, j]) == bootstrap_ci(d[:, j])  # one vector: the per-run CI's resampler


def test_another_seed_count_and_level_follow_the_same_rule():
    d = columns(300, seed=4)
    p, _ = permutation_tests(d, seed=7, n_permutations=999)
    assert p.tolist() == [reference_p(d[:, j].copy(), seed=7, n_permutations=999) for j in range(d.shape[1])]
    cis = paired_bootstrap_cis(d, seed=7, n_resamples=321, confidence=0.9)
    for j in range(d.shape[1]):
        assert cis[j].tolist() == pytest.approx(reference_ci(d[:, j].copy(), 7, 321, 0.9), rel=1e-12, abs=1e-12)


def test_one_vector_and_the_matrix_agree_and_edge_sizes():
    d = columns(40, seed=1)
    for j in range(d.shape[1]):
        assert permutation_test(d[:, j]) == (float(permutation_tests(d)[0][j]), False)
    assert math.isnan(permutation_test([])[0]) and permutation_test([])[1]
    empty = paired_bootstrap_cis(np.empty((0, 3)))
    assert empty.shape == (3, 2) and np.isnan(empty).all()
    assert paired_bootstrap_cis(np.array([[4.0, -2.0]])).tolist() == [[4.0, 4.0], [-2.0, -2.0]]
    assert paired_bootstrap_ci([-12.5]) == (-12.5, -12.5)


def test_mcnemar_is_the_sign_test_of_the_discordant_counts():
    stats = pytest.importorskip("scipy.stats")
    for b, c in ((6, 2), (0, 9), (40, 41), (480, 530)):
        assert mcnemar_exact(b, c) == sign_test(b, c) == pytest.approx(stats.binomtest(min(b, c), b + c).pvalue,
                                                                        rel=1e-9)
    assert mcnemar_exact(0, 0) == 1.0


def _peak_mib(fn) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_memory_stays_bounded_as_n_grows():
    """Drawn in chunks: the peak does not grow with the examples or the draws, far below one dense draw."""
    peaks = {}
    for n, draws in ((50_000, 200), (200_000, 200), (50_000, 800)):
        d = np.random.default_rng(0).normal(size=(n, 2))
        peaks[n, draws] = (_peak_mib(lambda: permutation_tests(d, n_permutations=draws)),
                           _peak_mib(lambda: paired_bootstrap_cis(d, n_resamples=draws)))
    dense = 200 * 200_000 * 8 / 2**20  # one (draws x n) float64 matrix: 305 MiB
    for perm, boot in peaks.values():
        assert perm < 64 and boot < 96 and max(perm, boot) < dense / 3
    small, large, more = peaks[50_000, 200], peaks[200_000, 200], peaks[50_000, 800]
    for k in range(2):
        assert large[k] < 1.1 * small[k] + 4 and more[k] < 1.1 * small[k] + 4
