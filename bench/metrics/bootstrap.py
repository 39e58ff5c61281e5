"""The one bootstrap resampler: seeded percentile intervals of a mean over resampled examples.

`evaluate`'s rouge reports a bootstrap *median* drawn with an unseeded RNG,
so its numbers drift from run to run (datasets#361, evaluate#186). bench
reports the mean of the per-example scores and, beside it, a percentile
bootstrap interval from a fixed seed: the same inputs give the same interval.

Every bootstrap in bench draws here: the per-run CI of each metric
(`bootstrap_ci`) and the paired CI of a difference between two runs
(`bench.comparison.stats.paired_bootstrap_ci`, the same interval over the
per-example differences). Both use `DEFAULT_RESAMPLES` and `DEFAULT_SEED`, the
values every results.json CI was computed with, so stored runs stay
reproducible.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

DEFAULT_SEED = 12345
DEFAULT_RESAMPLES = 1000
#: Most indices (resamples x examples) drawn at once: bounds memory for large corpora.
CHUNK_CELLS = 2_000_000


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
    rng = np.random.default_rng(seed)
    means = np.empty(n_resamples)
    chunk = max(1, CHUNK_CELLS // x.size)
    for start in range(0, n_resamples, chunk):
        stop = min(n_resamples, start + chunk)
        idx = rng.integers(0, x.size, size=(stop - start, x.size))
        means[start:stop] = x[idx].mean(axis=1)
    return means


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
