"""Summary and system level over a documents x systems grid: the coefficients and their bootstrap resamples.

- *summary level*: per document, the coefficient between the metric and the ratings across the systems'
  summaries; then the mean over the documents where it is defined (documents whose metric scores or ratings
  are constant, or with fewer than two rated summaries, are skipped, as G-Eval does, and counted);
- *system level*: per system, the mean metric score and the mean rating over the documents (the cells where
  both are present); the coefficient across systems.

Each resample draws the documents with replacement, and for the system level the systems too, from
`numpy.random.default_rng(seed)` the way `bench.stats.bootstrap.resample_means` draws examples: resample i is
row i of ``rng.integers(0, D, (R, D))`` (then, from the same generator, ``rng.integers(0, S, (R, S))`` for
the systems). A resample's documents are used as the counts of each document drawn: its summary-level mean
and its system means are those counts times the per-document values (matrix products), the draws made and
used a chunk of resamples at a time, so memory grows with the grid, not with resamples x grid.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from bench.stats.bootstrap import CHUNK_CELLS
from bench.stats.coefficients import COEFFICIENTS, coefficients

Key = tuple[str, str, str]


def grid_levels(pairs: Sequence[tuple[str, np.ndarray, str, np.ndarray]], levels: Sequence[str], *, seed: int,
                n_resamples: int) -> tuple[dict[Key, dict[str, float]], dict[Key, dict[str, np.ndarray]],
                                           dict[Key, tuple[int, int]]]:
    """(point values, resampled values, (n, skipped)) keyed by (level, metric, criterion), for the summary and
    system levels among `levels`, of each (metric, scores grid, criterion, ratings grid) pair."""
    points: dict[Key, dict[str, float]] = {}
    boots: dict[Key, dict[str, np.ndarray]] = {}
    meta: dict[Key, tuple[int, int]] = {}
    if not pairs:
        return points, boots, meta
    n_docs, n_sys = pairs[0][1].shape
    summary, system = "summary" in levels, "system" in levels
    per_doc: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
    cells: dict[tuple[str, str], np.ndarray] = {}
    for metric, s, criterion, h in pairs:
        if summary:
            values = coefficients(s, h)
            defined = np.isfinite(values["kendall"])
            key = ("summary", metric, criterion)
            points[key] = {c: _nanmean(v) for c, v in values.items()}
            boots[key] = {c: np.empty(n_resamples) for c in COEFFICIENTS}
            meta[key] = (int(defined.sum()), int(n_docs - defined.sum()))
            # per document: each coefficient where defined (0 elsewhere), then whether it is defined
            per_doc[metric, criterion] = (np.stack([np.where(defined, values[c], 0.0) for c in COEFFICIENTS], 1),
                                          defined.astype(np.float64))
        if system:
            both = np.isfinite(s) & np.isfinite(h)
            grid = np.concatenate([np.where(both, s, 0.0), np.where(both, h, 0.0), both.astype(np.float64)], axis=1)
            cells[metric, criterion] = grid  # D x 3S: each document's scores, ratings and cells, system by system
            key = ("system", metric, criterion)
            sm, hm = _means(grid.sum(axis=0, keepdims=True), n_sys)
            points[key] = {c: float(v[0]) for c, v in coefficients(sm, hm).items()}
            boots[key] = {c: np.empty(n_resamples) for c in COEFFICIENTS}
            meta[key] = (int(both.any(axis=0).sum()), 0)
    for start, stop, counts, sys_idx in draws(seed, n_resamples, n_docs, n_sys):
        for metric, _, criterion, _ in pairs:
            if summary:
                sums, defined = per_doc[metric, criterion]
                k = _product(counts, defined)
                with np.errstate(invalid="ignore", divide="ignore"):
                    means = np.where(k[:, None] > 0, _product(counts, sums) / k[:, None], np.nan)
                for j, c in enumerate(COEFFICIENTS):
                    boots[("summary", metric, criterion)][c][start:stop] = means[:, j]
            if system:
                sm, hm = _means(_product(counts, cells[metric, criterion]), n_sys)
                sm = np.take_along_axis(sm, sys_idx, axis=1)
                hm = np.take_along_axis(hm, sys_idx, axis=1)
                for c, v in coefficients(sm, hm).items():
                    boots[("system", metric, criterion)][c][start:stop] = v
    return points, boots, meta


def draws(seed: int, n_resamples: int, n_docs: int, n_sys: int):
    """(start, stop, document counts, system indices) of each chunk of resamples.

    Resample i draws row i of ``rng.integers(0, D, (R, D))`` and then, from the same generator after all of
    those, row i of ``rng.integers(0, S, (R, S))``: two generators from the seed walk the two draws side by
    side (the second first steps over the documents' draw), a chunk of rows at a time; numpy draws a chunk of
    rows as the same rows of one draw. The documents come as counts: row i, column d says how often document
    d is drawn in resample i.
    """
    documents = np.random.default_rng(seed)
    systems = np.random.default_rng(seed)
    skip = max(1, CHUNK_CELLS // max(1, n_docs))
    for start in range(0, n_resamples, skip):
        systems.integers(0, n_docs, size=(min(n_resamples, start + skip) - start, n_docs))
    chunk = max(1, CHUNK_CELLS // (4 * max(1, n_docs, n_sys)))  # a few arrays of chunk x documents (or systems)
    for start in range(0, n_resamples, chunk):
        stop = min(n_resamples, start + chunk)
        idx = documents.integers(0, n_docs, size=(stop - start, n_docs))
        flat = idx + np.arange(stop - start)[:, None] * n_docs
        counts = np.bincount(flat.ravel(), minlength=(stop - start) * n_docs).reshape(stop - start, n_docs)
        yield start, stop, counts.astype(np.float64), systems.integers(0, n_sys, size=(stop - start, n_sys))


def _product(counts: np.ndarray, values: np.ndarray) -> np.ndarray:
    """counts @ values without BLAS: many small products, whose BLAS threads would spin between calls on a
    shared machine (benchmarks/COMPARE.md)."""
    return np.einsum("rd,d...->r...", counts, values)


def _nanmean(v: np.ndarray) -> float:
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else math.nan


def _means(sums: np.ndarray, n_sys: int) -> tuple[np.ndarray, np.ndarray]:
    """Per resample (a row of sums over its drawn documents: scores, ratings and cells, system by system) and
    system, the mean metric score and the mean rating over its drawn cells; nan for a system with none."""
    s, h, k = sums[:, :n_sys], sums[:, n_sys:2 * n_sys], sums[:, 2 * n_sys:]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(k > 0, s / k, np.nan), np.where(k > 0, h / k, np.nan)

