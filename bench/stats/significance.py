"""Significance of paired differences: bootstrap interval, sign-flip permutation test, McNemar's and the sign test.

Generic statistics over paired per-example differences, used by `bench compare --baseline`
(`bench.comparison.paired`); numpy only. Each has a one-vector form and a matrix form: `diffs` of shape
(n examples, k columns), every column a vector of n differences (one metric of one model against the
baseline), all columns tested at once with the same draws, as matrix products that BLAS computes:

- the *paired bootstrap* percentile interval of the mean difference (Koehn, 2004, "Statistical significance
  tests for machine translation evaluation"): the resamples of examples are those of every bench CI
  (`bench.stats.bootstrap`, `DEFAULT_RESAMPLES` and `DEFAULT_SEED`); a (resamples x n) matrix of how often
  each example was drawn (`bench.stats.bootstrap.resample_counts`) times the (n x k) differences gives every
  column's resample means at once;
- the two-sided *paired permutation test* (approximate randomization: Noreen, 1989; recommended for NLP metrics
  by Dror et al., 2018, "The hitchhiker's guide to testing statistical significance in NLP"): under the null
  hypothesis each per-example difference keeps or flips its sign. Exact over all 2^n sign vectors for n <=
  `EXACT_PERMUTATION_MAX_N`, otherwise `PERMUTATION_RESAMPLES` random sign vectors, row i of
  ``2 * numpy.random.default_rng(seed).integers(0, 2, (R, n)) - 1``, with the (b + 1) / (R + 1) estimate of
  Phipson & Smyth (2010), which is never 0. The sign vectors depend only on n and the seed: drawn once, in
  chunks, for all the columns;
- McNemar's (1947) test in its exact binomial form, on the counts of examples only one system gets right: the
  sign test (`bench.stats.preferences.sign_test`, the exact binomial test of wins against losses) on them.

Memory is bounded whatever n: the draws are made and used `CHUNK_CELLS` cells at a time, and a matrix of
more than `COLUMN_CELLS` differences is tested a block of columns at a time. The intervals equal
`bench.stats.bootstrap.bootstrap_ci` of each column up to the order of summation (within 1e-12 relative:
tests/stats/test_significance.py), the p-values equal the one-vector test's.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np

from bench.stats.bootstrap import (CHUNK_CELLS, DEFAULT_RESAMPLES, DEFAULT_SEED, bootstrap_ci, check_confidence,
                                   check_resamples, resample_counts)
from bench.stats.preferences import sign_test

__all__ = ["EXACT_PERMUTATION_MAX_N", "PERMUTATION_RESAMPLES", "mcnemar_exact", "min_permutation_p", "paired_bootstrap_ci",
           "paired_bootstrap_cis", "permutation_test", "permutation_tests", "sign_test", "sign_vectors"]

#: Vectors with at most this many differences get the exact permutation test.
EXACT_PERMUTATION_MAX_N = 16
#: Random sign vectors of the Monte Carlo permutation test (not bootstrap resamples).
PERMUTATION_RESAMPLES = 10_000
#: Most differences (n x columns) tested at once; a larger matrix is tested a block of columns at a time.
COLUMN_CELLS = 8_000_000


def _matrix(diffs: Sequence[float] | np.ndarray) -> np.ndarray:
    d = np.asarray(diffs, dtype=np.float64)
    if d.ndim == 1:
        d = d.reshape(-1, 1)
    if d.ndim != 2:
        raise ValueError("differences must be a vector or an (examples x columns) matrix")
    return d


def _column_blocks(d: np.ndarray) -> Iterator[slice]:
    n, k = d.shape
    width = max(1, COLUMN_CELLS // max(1, n))
    for start in range(0, k, width):
        yield slice(start, min(k, start + width))


# ------------------------------------------------------------------ bootstrap


def paired_bootstrap_ci(diffs: Sequence[float] | np.ndarray, *, confidence: float = 0.95,
                        n_resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> tuple[float, float]:
    """Percentile paired bootstrap interval of the mean difference (Koehn, 2004); (nan, nan) when empty.

    Resampling the per-example differences resamples the examples of both systems together, which is what
    makes the bootstrap paired: the interval is `bench.stats.bootstrap.bootstrap_ci` of the differences.
    """
    return bootstrap_ci(diffs, confidence=confidence, n_resamples=n_resamples, seed=seed)


def paired_bootstrap_cis(diffs: Sequence[float] | np.ndarray, *, confidence: float = 0.95,
                         n_resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> np.ndarray:
    """`paired_bootstrap_ci` of each column of the (n x k) `diffs`: a (k x 2) array of (lo, hi), from one draw.

    Resample r's mean of column j is (counts[r] @ diffs[:, j]) / n, where counts[r] says how often each
    example was drawn (`bench.stats.bootstrap.resample_counts`). As `bootstrap_ci`: (nan, nan) for n = 0, the
    value itself for n = 1.
    """
    n_resamples, confidence = check_resamples(n_resamples), check_confidence(confidence)
    d = _matrix(diffs)
    n, k = d.shape
    out = np.empty((k, 2))
    if n == 0:
        out.fill(np.nan)
        return out
    if n == 1:
        out[:] = d[0][:, None]
        return out
    alpha = (1.0 - confidence) / 2.0
    for cols in _column_blocks(d):
        block = np.ascontiguousarray(d[:, cols])
        means = np.empty((n_resamples, block.shape[1]))
        for start, stop, counts in resample_counts(n, n_resamples=n_resamples, seed=seed):
            means[start:stop] = (counts @ block) / n
        out[cols] = np.quantile(means, [alpha, 1.0 - alpha], axis=0).T
    return out


# ------------------------------------------------------------------ permutation (sign-flip) test


def permutation_test(diffs: Sequence[float] | np.ndarray, *, n_permutations: int = PERMUTATION_RESAMPLES,
                     seed: int = DEFAULT_SEED) -> tuple[float, bool]:
    """Two-sided paired permutation (sign-flip) test of mean difference 0; returns (p, exact).

    Exact over all 2^n sign vectors when n <= `EXACT_PERMUTATION_MAX_N`; else `n_permutations` seeded random
    sign vectors and p = (b + 1) / (R + 1) (Phipson & Smyth, 2010). Identical systems (all differences 0) give
    p = 1; no difference gives (nan, True).
    """
    d = np.asarray(diffs, dtype=np.float64).reshape(-1)
    if d.size == 0:
        return (math.nan, True)
    p, exact = permutation_tests(d.reshape(-1, 1), n_permutations=n_permutations, seed=seed)
    return (float(p[0]), exact)


def permutation_tests(diffs: Sequence[float] | np.ndarray, *, n_permutations: int = PERMUTATION_RESAMPLES,
                      seed: int = DEFAULT_SEED) -> tuple[np.ndarray, bool]:
    """`permutation_test` of each column of the (n x k) `diffs` on the same sign vectors; returns (k p-values,
    exact).

    A column's statistic is |signs @ d| / n against its observed |mean(d)|, counted as reached within 1e-9
    of it (rounding in the means must not turn a tie into a miss).
    """
    d = _matrix(diffs)
    n, k = d.shape
    if n == 0:
        return np.full(k, np.nan), True
    observed = np.abs(np.array([np.ascontiguousarray(d[:, j]).mean() for j in range(k)]))
    threshold = observed - 1e-9 * np.maximum(1.0, observed)
    hits = np.zeros(k, dtype=np.int64)
    for cols in _column_blocks(d):
        block = np.ascontiguousarray(d[:, cols])
        for signs in sign_vectors(n, n_permutations=n_permutations, seed=seed):
            hits[cols] += np.count_nonzero(np.abs(signs @ block) / n >= threshold[cols], axis=0)
    if n <= EXACT_PERMUTATION_MAX_N:
        return hits / 2.0 ** n, True
    return (hits + 1) / (n_permutations + 1), False


def sign_vectors(n: int, *, n_permutations: int = PERMUTATION_RESAMPLES,
                 seed: int = DEFAULT_SEED) -> Iterator[np.ndarray]:
    """The sign vectors of the permutation test on n differences, as float64 chunks of rows (+1 or -1).

    All 2^n of them (row i flips the differences whose bit is set in i) when n <= `EXACT_PERMUTATION_MAX_N`;
    else rows of ``2 * default_rng(seed).integers(0, 2, (n_permutations, n)) - 1``, drawn `CHUNK_CELLS` at a
    time (numpy draws those integers from 32-bit words whatever the integer type asked for, so int32 gives
    the very values of the default int64 in half the memory).
    """
    if n <= EXACT_PERMUTATION_MAX_N:
        yield (((np.arange(2 ** n)[:, None] >> np.arange(n)) & 1) * 2 - 1).astype(np.float64)
        return
    rng = np.random.default_rng(seed)
    chunk = max(1, CHUNK_CELLS // n)
    for start in range(0, n_permutations, chunk):
        rows = min(n_permutations, start + chunk) - start
        bits = rng.integers(0, 2, size=(rows, n), dtype=np.int32)
        signs = bits.astype(np.float64)
        signs *= 2.0
        signs -= 1.0
        yield signs


def min_permutation_p(n: int) -> float:
    """The smallest p the exact two-sided sign-flip test can give with n examples."""
    return 2.0 / 2 ** n if n <= EXACT_PERMUTATION_MAX_N else 0.0


# ------------------------------------------------------------------ binomial tests


def mcnemar_exact(b: int, c: int) -> float:
    """Exact two-sided McNemar test (McNemar, 1947) on the discordant counts b and c: the sign test on them,
    p = min(1, 2 * P[X <= min(b, c)]) with X ~ Binomial(b + c, 1/2); p = 1 when b + c = 0."""
    return sign_test(b, c)
