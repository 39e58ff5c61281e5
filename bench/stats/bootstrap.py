"""The one bootstrap resampler: seeded percentile intervals of a mean over resampled examples.

`evaluate`'s rouge reports a bootstrap *median* drawn with an unseeded RNG,
so its numbers drift from run to run (datasets#361, evaluate#186). bench
reports the mean of the per-example scores and, beside it, a percentile
bootstrap interval from a fixed seed: the same inputs give the same interval.

Every bootstrap in bench draws here: the per-run CI of each metric
(`bootstrap_ci`) and the paired CI of a difference between two runs
(`bench.comparison.paired.paired_bootstrap_ci`, the same interval over the
per-example differences). Both use `DEFAULT_RESAMPLES` and `DEFAULT_SEED`, the
values every results.json CI was computed with, so stored runs stay
reproducible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from bench import native

DEFAULT_SEED = 12345
DEFAULT_RESAMPLES = 1000
#: Most indices (resamples x examples) drawn at once: bounds memory for large corpora.
CHUNK_CELLS = 2_000_000


def _index_chunks(n: int, n_resamples: int, seed: int):
    """(start, stop, indices) of each chunk of the draw: rows start..stop of `rng.integers(0, n, (n_resamples, n))`."""
    rng = np.random.default_rng(seed)
    chunk = max(1, CHUNK_CELLS // n)
    # numpy draws any range below 2**32 with the same 32-bit generator whatever the dtype asked for, so int32
    # gives the very indices of the default int64, faster and in half the memory (tests/metrics/test_native.py)
    dtype = np.int32 if n < 2**31 else np.int64
    for start in range(0, n_resamples, chunk):
        stop = min(n_resamples, start + chunk)
        yield start, stop, rng.integers(0, n, size=(stop - start, n), dtype=dtype)


def resample_means_many(rows: Sequence[Sequence[float]] | np.ndarray, *, n_resamples: int = DEFAULT_RESAMPLES,
                        seed: int = DEFAULT_SEED) -> np.ndarray:
    """`resample_means` of each row of `rows` (k vectors of one length), from one draw: a (k, n_resamples) array.

    Row r is exactly `resample_means(rows[r], ...)`: the same indices, and each mean taken the same way.
    """
    x = np.asarray(rows, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError("rows must be a 2-dimensional array")
    if x.shape[1] == 0:
        raise ValueError("cannot resample an empty vector")
    means = np.empty((x.shape[0], n_resamples))
    c = native.module()
    if c is not None and x.shape[1] < 2**31:
        x = np.ascontiguousarray(x)
        if _native_draw(c, x, seed, means):
            return means
        # numpy draws otherwise than the extension reproduces: numpy's indices, the extension's sums
        for start, _, idx in _index_chunks(x.shape[1], n_resamples, seed):
            c.gather_means(x, idx, means, start)
        return means
    # Each block of indices is used for every row while it is still in the CPU cache.
    block = max(1, _BLOCK_CELLS // x.shape[1])
    for start, stop, idx in _index_chunks(x.shape[1], n_resamples, seed):
        for b in range(0, stop - start, block):
            sub = idx[b:b + block]
            for r in range(x.shape[0]):
                means[r, start + b:start + b + len(sub)] = x[r][sub].mean(axis=1)
    return means


def _native_draw(c, x: np.ndarray, seed: int, means: np.ndarray) -> bool:
    """The means by the C extension, which draws numpy's indices itself (nothing drawn is stored).

    It reproduces `Generator(PCG64(seed)).integers(0, n, ...)`; its first
    resample is checked against numpy's own draw, and False (means not to be
    used) says that this numpy draws otherwise.
    """
    n = x.shape[1]
    state = np.random.PCG64(seed).state  # default_rng(seed) is Generator(PCG64(seed))
    first = np.empty(n, dtype=np.int32)
    c.bootstrap_means(x, state["state"]["state"], state["state"]["inc"], state["has_uint32"], state["uinteger"],
                      means, first)
    return bool(np.array_equal(first, np.random.default_rng(seed).integers(0, n, size=n, dtype=np.int32)))


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


#: Indices (resamples x examples) gathered at once by `resample_means_many`: 2 MB, a size CPU caches hold.
_BLOCK_CELLS = 262_144


def resample_means(values: Sequence[float] | np.ndarray, *, n_resamples: int = DEFAULT_RESAMPLES,
                   seed: int = DEFAULT_SEED) -> np.ndarray:
    """The means of `n_resamples` resamples of `values`, each drawn with replacement and of the same size.

    Draws from `numpy.random.default_rng(seed)`: resample i is the i-th row of
    `rng.integers(0, n, (n_resamples, n))`, drawn in chunks of at most
    `CHUNK_CELLS` indices (at least one resample each).
    """
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        raise ValueError("cannot resample an empty vector")
    return resample_means_many(x.reshape(1, -1), n_resamples=n_resamples, seed=seed)[0]


def percentile_interval(means: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """The central `confidence` interval of `means` (numpy's linear-interpolation quantiles)."""
    alpha = (1.0 - confidence) / 2.0
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
