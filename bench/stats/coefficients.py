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

Short vectors (up to `PAIRWISE_MAX_N` values) compare every pair of positions at once; longer ones are
sorted instead (Knight, 1966: tau-b from the ties and the discordant pairs, counted as the inversions of one
vector ordered by the other), so the work grows as n log n and the memory as n: the same numbers either way,
to rounding (tests/correlation/test_correlation_stats.py against scipy).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: The coefficients, in the order they are reported.
COEFFICIENTS = ("kendall", "spearman", "pearson")
#: Most cells (vectors x length x length) of the pairwise comparisons held at once.
PAIRWISE_CELLS = 1_000_000
#: Longest vectors compared pair by pair; longer ones are sorted (`_sorted_coefficients`).
PAIRWISE_MAX_N = 64
#: Most values (vectors x length) sorted at once.
SORTED_CELLS = 2_000_000


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
    pairwise = n <= PAIRWISE_MAX_N
    chunk = max(1, PAIRWISE_CELLS // (n * n) if pairwise else SORTED_CELLS // n)
    for start in range(0, b, chunk):
        stop = min(b, start + chunk)
        part = (_coefficients if pairwise else _sorted_coefficients)(x[start:stop], y[start:stop])
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


def _sorted_coefficients(x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """`_coefficients` by sorting each row: tau-b = (n0 - n1 - n2 + n3 - 2 nd) / sqrt((n0 - n1) (n0 - n2)), with
    n0 the pairs, n1 and n2 the pairs tied in x and in y, n3 those tied in both, nd the discordant pairs."""
    present = np.isfinite(x) & np.isfinite(y)
    k = present.sum(axis=1).astype(np.float64)
    xs = np.where(present, x, np.inf)  # a missing value sorts last and takes part in no pair
    ys = np.where(present, y, np.inf)
    rx, tied_x, dense_x = average_ranks(xs)
    ry, tied_y, dense_y = average_ranks(ys)
    order = np.argsort(dense_x * (dense_y.max(initial=0) + 1) + dense_y, axis=1)  # by x, then y
    x_sorted, y_sorted = np.take_along_axis(dense_x, order, 1), np.take_along_axis(dense_y, order, 1)
    last = k.astype(np.int64)[:, None]  # a missing value sorts after the last present one
    both = ((np.arange(1, x.shape[1]) < last) & (x_sorted[:, 1:] == x_sorted[:, :-1])
            & (y_sorted[:, 1:] == y_sorted[:, :-1]))
    tied_both = _tied_pairs(np.concatenate([np.zeros((len(x), 1), bool), both], axis=1))
    discordant = _inversions(y_sorted)
    n0 = k * (k - 1) / 2
    untied_x, untied_y = n0 - tied_x, n0 - tied_y
    defined = (untied_x > 0) & (untied_y > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        kendall = np.where(defined, (untied_x - tied_y + tied_both - 2 * discordant) / np.sqrt(untied_x * untied_y),
                           np.nan)
    spearman = np.where(defined, _pearson(np.where(present, rx, 0.0), np.where(present, ry, 0.0), present), np.nan)
    pearson = np.where(defined, _pearson(np.where(present, x, 0.0), np.where(present, y, 0.0), present), np.nan)
    return {"kendall": np.clip(kendall, -1.0, 1.0), "spearman": spearman, "pearson": pearson}


def average_ranks(v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of `v` (missing values as +inf): the average rank (1-based) of each value among the finite ones,
    the pairs of finite values tied, and each value's dense rank (0-based; +inf after every finite value)."""
    b, n = v.shape
    order = np.argsort(v, axis=1, kind="stable")
    s = np.take_along_axis(v, order, 1)
    new = np.ones((b, n), bool)
    new[:, 1:] = s[:, 1:] != s[:, :-1]  # a value that starts a run of equal values
    starts = np.flatnonzero(new.ravel())
    lengths = np.diff(np.append(starts, b * n))
    run = np.cumsum(new.ravel()) - 1
    average = (starts % n + (lengths - 1) / 2.0 + 1.0)[run].reshape(b, n)
    dense = (np.cumsum(new, axis=1) - 1)
    ranks, dense_ranks = np.empty((b, n)), np.empty((b, n), dtype=np.int64)
    np.put_along_axis(ranks, order, average, 1)
    np.put_along_axis(dense_ranks, order, dense, 1)
    finite = np.isfinite(s.ravel()[starts])
    tied = np.bincount(starts // n, weights=np.where(finite, lengths * (lengths - 1) / 2.0, 0.0), minlength=b)
    return ranks, tied, dense_ranks


def _tied_pairs(same: np.ndarray) -> np.ndarray:
    """Per row, the pairs within runs of positions where `same` says a value equals the one before it."""
    b, n = same.shape
    new = ~same
    starts = np.flatnonzero(new.ravel())
    lengths = np.diff(np.append(starts, b * n))
    return np.bincount(starts // n, weights=lengths * (lengths - 1) / 2.0, minlength=b)


def _inversions(r: np.ndarray) -> np.ndarray:
    """Per row of non-negative integers, the pairs i < j with r[i] > r[j], one bit of r at a time.

    From the highest bit down, the values of a row are kept grouped by their higher bits (a stable
    partition, as a radix sort does); at each bit, an element whose bit is 0 is inverted with every element
    before it in its group whose bit is 1.
    """
    b, n = r.shape
    size = b * n
    kind = np.int32 if size < 2**31 else np.int64
    values = r.ravel().astype(kind)
    start = np.repeat(np.arange(b, dtype=kind) * n, n)  # where each element's group starts, and its length
    length = np.full(size, n, dtype=kind)
    position = np.arange(size, dtype=kind)
    out = np.zeros(b)
    spare = np.empty_like(values)
    for bit in range(max(1, int(values.max(initial=0)).bit_length()) - 1, -1, -1):
        one = (values >> bit) & 1
        ones = np.cumsum(one, dtype=np.int64)
        ones_before = ones - one
        ones_before -= ones_before[start]  # ones in the group before the element
        zero = one == 0
        out += np.where(zero, ones_before, 0).reshape(b, n).sum(axis=1)
        zeros_in_group = length - (ones[start + length - 1] - (ones[start] - one[start]))
        target = np.where(zero, position - ones_before, start + zeros_in_group + ones_before)
        spare[target] = values
        values, spare = spare, values
        new_start = np.where(zero, start, start + zeros_in_group)
        new_length = np.where(zero, zeros_in_group, length - zeros_in_group)
        start[target] = new_start
        length[target] = new_length
    return out


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
