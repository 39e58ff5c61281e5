"""Rank and linear correlation coefficients on batches of vectors with missing values; numpy only.

- Kendall's tau-b (Kendall, 1945): (concordant - discordant pairs) /
  sqrt((pairs - pairs tied in x) * (pairs - pairs tied in y)), as
  `scipy.stats.kendalltau(x, y, variant="b")`;
- Spearman's rho: Pearson's r of the ranks, ties given their average rank, as
  `scipy.stats.spearmanr`;
- Pearson's r, as `scipy.stats.pearsonr`.

A pair of vectors is compared over the positions where both have a value;
a coefficient is undefined (nan) when fewer than two such positions remain
or either vector is constant over them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: The coefficients, in the order they are reported.
COEFFICIENTS = ("kendall", "spearman", "pearson")
#: Most cells (vectors x length x length) of the pairwise comparisons held at once.
PAIRWISE_CELLS = 1_000_000


def coefficients(x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Kendall tau-b, Spearman and Pearson between each row of `x` and the same row of `y`.

    `x` and `y` have shape (B, n); nan marks a missing value. Each row is
    compared over the positions where both have a value. Returns coefficient
    name -> array of B values, nan where the coefficient is undefined.
    """
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    y = np.atleast_2d(np.asarray(y, dtype=np.float64))
    if x.shape != y.shape:
        raise ValueError(f"shapes differ: {x.shape} and {y.shape}")
    b, n = x.shape
    out = {c: np.full(b, np.nan) for c in COEFFICIENTS}
    if b == 0 or n < 2:
        return out
    chunk = max(1, PAIRWISE_CELLS // (n * n))
    for start in range(0, b, chunk):
        stop = min(b, start + chunk)
        part = _coefficients(x[start:stop], y[start:stop])
        for c in COEFFICIENTS:
            out[c][start:stop] = part[c]
    return out


def _coefficients(x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    present = np.isfinite(x) & np.isfinite(y)
    x = np.where(present, x, 0.0)
    y = np.where(present, y, 0.0)
    n = x.shape[1]
    pair = present[:, :, None] & present[:, None, :] & ~np.eye(n, dtype=bool)
    sx = np.sign(x[:, :, None] - x[:, None, :])  # sx[b, i, j] = sign(x_i - x_j)
    sy = np.sign(y[:, :, None] - y[:, None, :])
    # Every unordered pair is counted twice (i, j and j, i): the ratios below do not change.
    n0 = pair.sum(axis=(1, 2)).astype(np.float64)
    untied_x = n0 - (pair & (sx == 0)).sum(axis=(1, 2))
    untied_y = n0 - (pair & (sy == 0)).sum(axis=(1, 2))
    s = (sx * sy * pair).sum(axis=(1, 2))
    defined = (untied_x > 0) & (untied_y > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        kendall = np.where(defined, s / np.sqrt(untied_x * untied_y), np.nan)
    # Average ranks (1-based) among the present values: below + 1 + (ties other than itself) / 2.
    rx = ((sx > 0) & pair).sum(axis=2) + 1.0 + ((sx == 0) & pair).sum(axis=2) / 2.0
    ry = ((sy > 0) & pair).sum(axis=2) + 1.0 + ((sy == 0) & pair).sum(axis=2) / 2.0
    spearman = np.where(defined, _pearson(rx, ry, present), np.nan)
    pearson = np.where(defined, _pearson(x, y, present), np.nan)
    return {"kendall": np.clip(kendall, -1.0, 1.0), "spearman": spearman, "pearson": pearson}


def _pearson(x: np.ndarray, y: np.ndarray, present: np.ndarray) -> np.ndarray:
    k = present.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        xc = np.where(present, x - (x * present).sum(axis=1, keepdims=True) / k[:, None], 0.0)
        yc = np.where(present, y - (y * present).sum(axis=1, keepdims=True) / k[:, None], 0.0)
        # Scaled by the largest deviation first, as scipy.stats.pearsonr does, against overflow and underflow.
        xc = xc / np.abs(xc).max(axis=1, keepdims=True)
        yc = yc / np.abs(yc).max(axis=1, keepdims=True)
        r = (xc * yc).sum(axis=1) / np.sqrt((xc * xc).sum(axis=1) * (yc * yc).sum(axis=1))
    return np.clip(r, -1.0, 1.0)


def kendall_tau_b(x: Sequence[float], y: Sequence[float]) -> float:
    """Kendall's tau-b of two vectors (nan: missing value); nan when undefined."""
    return float(coefficients(np.asarray([x], dtype=np.float64), np.asarray([y], dtype=np.float64))["kendall"][0])


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rho of two vectors (ties: average ranks); nan when undefined."""
    return float(coefficients(np.asarray([x], dtype=np.float64), np.asarray([y], dtype=np.float64))["spearman"][0])


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    """Pearson's r of two vectors; nan when undefined."""
    return float(coefficients(np.asarray([x], dtype=np.float64), np.asarray([y], dtype=np.float64))["pearson"][0])
