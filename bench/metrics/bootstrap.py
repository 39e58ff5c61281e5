"""Seeded percentile bootstrap confidence intervals for a corpus mean.

`evaluate`'s rouge reports a bootstrap *median* drawn with an unseeded RNG,
so its numbers drift from run to run (datasets#361, evaluate#186). bench
reports the mean of the per-example scores and, beside it, a percentile
bootstrap interval from a fixed seed: the same inputs give the same interval.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

DEFAULT_SEED = 12345
DEFAULT_RESAMPLES = 1000


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    *,
    confidence: float = 0.95,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> tuple[float, float]:
    """Percentile interval of the mean of `values` over resampled examples."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return (float("nan"), float("nan"))
    if x.size == 1:
        return (float(x[0]), float(x[0]))
    rng = np.random.default_rng(seed)
    means = np.empty(n_resamples)
    # Chunks keep memory bounded for large corpora.
    chunk = max(1, 2_000_000 // x.size)
    for start in range(0, n_resamples, chunk):
        stop = min(n_resamples, start + chunk)
        idx = rng.integers(0, x.size, size=(stop - start, x.size))
        means[start:stop] = x[idx].mean(axis=1)
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(means, [alpha, 1.0 - alpha])
    return (float(lo), float(hi))
