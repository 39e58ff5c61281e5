"""The one bootstrap resampler: seeded percentile intervals of a mean over resampled examples.

`evaluate`'s rouge reports a bootstrap *median* drawn with an unseeded RNG,
so its numbers drift from run to run (datasets#361, evaluate#186). bench
reports the mean of the per-example scores and, beside it, a percentile
bootstrap interval from a fixed seed: the same inputs give the same interval.

Every bootstrap in bench draws here: the per-run CI of each metric
(`bootstrap_ci`) and the paired CI of a difference between two runs
(`bench.stats.significance.paired_bootstrap_ci`, the same interval over the
per-example differences). Both use `DEFAULT_RESAMPLES` and `DEFAULT_SEED`, the
values every results.json CI was computed with, so stored runs stay
reproducible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Integral, Real

import numpy as np

from bench.errors import BenchError

DEFAULT_SEED = 12345
DEFAULT_RESAMPLES = 1000
#: Most indices (resamples x examples) drawn at once: bounds memory for large corpora.
CHUNK_CELLS = 2_000_000


def check_resamples(n_resamples: object) -> int:
    """`n_resamples` as an int, or a BenchError saying it must be a whole number, 1 or more."""
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, Integral) or n_resamples < 1:
        raise BenchError(f"the number of bootstrap resamples must be 1 or more, got {n_resamples!r}",
                         hint=f"give a whole number of resamples such as {DEFAULT_RESAMPLES}")
    return int(n_resamples)


def check_confidence(confidence: object) -> float:
    """`confidence` as a float, or a BenchError saying it must lie strictly between 0 and 1."""
    if isinstance(confidence, bool) or not isinstance(confidence, Real) or not 0.0 < confidence < 1.0:
        raise BenchError(f"the confidence of a bootstrap interval must lie between 0 and 1, got {confidence!r}",
                         hint="give a level such as 0.95")
    return float(confidence)


def _index_chunks(n: int, n_resamples: int, seed: int, cells: int | None = None):
    """(start, stop, indices) of each chunk of the draw: rows start..stop of `rng.integers(0, n, (n_resamples, n))`,
    about `cells` indices (default `CHUNK_CELLS`) at a time."""
    rng = np.random.default_rng(seed)
    chunk = max(1, (CHUNK_CELLS if cells is None else cells) // n)
    # numpy draws any range below 2**32 with the same 32-bit generator whatever the dtype asked for, so int32
    # gives the very indices of the default int64, faster and in half the memory (tests/stats/test_bootstrap.py)
    dtype = np.int32 if n < 2**31 else np.int64
    for start in range(0, n_resamples, chunk):
        stop = min(n_resamples, start + chunk)
        yield start, stop, rng.integers(0, n, size=(stop - start, n), dtype=dtype)


def resample_means_many(rows: Sequence[Sequence[float]] | np.ndarray, *, n_resamples: int = DEFAULT_RESAMPLES,
                        seed: int = DEFAULT_SEED) -> np.ndarray:
    """`resample_means` of each row of `rows` (k vectors of one length), from one draw: a (k, n_resamples) array.

    Row r is exactly `resample_means(rows[r], ...)`: the same indices, and each mean taken as numpy's
    ``x[r][idx].mean(axis=1)`` takes it (the pairwise sum of the drawn values, divided by n), bit for bit.
    """
    n_resamples = check_resamples(n_resamples)
    x = np.asarray(rows, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError("rows must be a 2-dimensional array")
    if x.shape[1] == 0:
        raise ValueError("cannot resample an empty vector")
    k, n = x.shape
    sums = np.empty((k, n_resamples))
    # Each block of indices is used for every row while it is still in the CPU cache, gathered into one buffer.
    block = max(1, _BLOCK_CELLS // n)
    drawn = np.empty(min(block, n_resamples) * n)
    for start, stop, idx in _index_chunks(n, n_resamples, seed):
        for b in range(0, stop - start, block):
            sub = idx[b:b + block].astype(np.intp)  # converted once for every row (take would convert it for each)
            values = drawn[:sub.size].reshape(sub.shape)
            for r in range(k):
                # mode="clip": every index is in range already; the default "raise" would gather into a copy first
                np.take(x[r], sub, out=values, mode="clip")
                np.add.reduce(values, axis=1, out=sums[r, start + b:start + b + len(sub)])
    return np.divide(sums, n, out=sums)


def resample_counts(n: int, *, n_resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED):
    """How often each of n examples is drawn in each resample: (start, stop, counts) for each chunk of resamples.

    counts (float64, (stop - start) x n) row i counts the examples of resample start + i, the very draw of
    `resample_means` (row i of ``rng.integers(0, n, (n_resamples, n))``), so that counts @ values / n is each
    resample's mean of values (up to the order of summation): the matrix form of the bootstrap, for many
    vectors of one length at once (`bench.stats.significance`).
    """
    for start, stop, idx in _index_chunks(n, n_resamples, seed):
        rows = stop - start
        flat = idx.astype(np.int64)
        flat += np.arange(rows, dtype=np.int64)[:, None] * n
        yield start, stop, np.bincount(flat.ravel(), minlength=rows * n).reshape(rows, n).astype(np.float64)


def resample_counts_by_unit(n: int, *, n_resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED,
                            cells: int | None = None):
    """`resample_counts` transposed: (start, stop, counts) with counts (float64, n x (stop - start)), column i
    how often each of the n units is drawn in resample start + i (row i of ``rng.integers(0, n, (R, n))``),
    about `cells` counts (default `CHUNK_CELLS`) at a time.

    The layout of `bench.stats.resampled_coefficients`, whose passes run down the units a whole row of
    resamples at a time.
    """
    for start, stop, idx in _index_chunks(n, n_resamples, seed, cells):
        rows = stop - start
        flat = idx.astype(np.int64) * rows
        flat += np.arange(rows, dtype=np.int64)[:, None]
        yield start, stop, np.bincount(flat.ravel(), minlength=rows * n).reshape(n, rows).astype(np.float64)


#: Indices (resamples x examples) gathered at once by `resample_means_many`: 2 MB, a size CPU caches hold.
_BLOCK_CELLS = 262_144


def resample_means(values: Sequence[float] | np.ndarray, *, n_resamples: int = DEFAULT_RESAMPLES,
                   seed: int = DEFAULT_SEED) -> np.ndarray:
    """The means of `n_resamples` resamples of `values`, each drawn with replacement and of the same size.

    Draws from `numpy.random.default_rng(seed)`: resample i is the i-th row of
    `rng.integers(0, n, (n_resamples, n))`, drawn in chunks of at most
    `CHUNK_CELLS` indices (at least one resample each).
    """
    n_resamples = check_resamples(n_resamples)
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        raise ValueError("cannot resample an empty vector")
    return resample_means_many(x.reshape(1, -1), n_resamples=n_resamples, seed=seed)[0]


def percentile_interval(means: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """The central `confidence` interval of `means` (numpy's linear-interpolation quantiles)."""
    alpha = (1.0 - check_confidence(confidence)) / 2.0
    lo, hi = np.quantile(means, [alpha, 1.0 - alpha])
    return (float(lo), float(hi))


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    *,
    confidence: float = 0.95,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> tuple[float, float]:
    """Percentile interval of the mean of `values` over resampled examples; (nan, nan) when empty."""
    check_resamples(n_resamples)
    check_confidence(confidence)
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return (float("nan"), float("nan"))
    if x.size == 1:
        return (float(x[0]), float(x[0]))
    return percentile_interval(resample_means(x, n_resamples=n_resamples, seed=seed), confidence)


def bootstrap_cis(
    values: Mapping[str, Sequence[float] | np.ndarray],
    *,
    confidence: float = 0.95,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> dict[str, tuple[float, float]]:
    """`bootstrap_ci` of each named vector, the same numbers, with one draw shared by the vectors of one length.

    Every interval is drawn from the same seed, so vectors of equal length (the scores of one metric over
    one set of examples) resample the same indices: drawing them once saves most of the time.
    """
    check_resamples(n_resamples)
    check_confidence(confidence)
    out: dict[str, tuple[float, float]] = {}
    groups: dict[int, list[str]] = {}
    arrays = {name: np.asarray(v, dtype=np.float64) for name, v in values.items()}
    for name, x in arrays.items():
        if x.size <= 1:
            out[name] = bootstrap_ci(x, confidence=confidence, n_resamples=n_resamples, seed=seed)
        else:
            groups.setdefault(x.size, []).append(name)
    for names in groups.values():
        means = resample_means_many(np.stack([arrays[k] for k in names]), n_resamples=n_resamples, seed=seed)
        for name, row in zip(names, means):
            out[name] = percentile_interval(row, confidence)
    return {name: out[name] for name in values}
