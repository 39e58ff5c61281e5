"""Bradley-Terry strengths: the maximum-likelihood estimate from pairwise comparisons, with bootstrap intervals.

The model (Bradley and Terry, 1952) gives each system a strength theta and
P(i preferred to j) = 1 / (1 + exp(theta_j - theta_i)). Strengths are on that
log scale and shifted to mean 0 over the systems, as the `choix` package reports
its maximum-likelihood estimate (`choix.opt_pairwise`), which the tests compare
with. A tie counts half a win each way, as in the win rates
(`bench.stats.preferences`).

The estimate maximises sum_ij W_ij log P(i preferred to j), W_ij being the
(weighted) number of times i was preferred to j, by Newton's method on the
concave log-likelihood (its Hessian is minus a weighted graph Laplacian) with a
halving line search. It exists, and is unique up to the shift, exactly when the
comparisons cannot split the systems into two groups one of which was never
preferred to the other (Ford, 1957): the directed graph with an edge i -> j
whenever i was preferred to j is strongly connected. Otherwise (a system that
won, or lost, every comparison) the likelihood keeps growing as strengths move
apart and there is no estimate: `bradley_terry` returns None rather than the
large numbers an optimiser stops at.

Intervals resample *items* (a document's comparisons: every judgment of one
pair of summaries), the way bench draws every bootstrap: resample r is row r of
``numpy.random.default_rng(seed).integers(0, I, (R, I))``. Resamples without an
estimate are left out of the intervals and counted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bench.stats.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED, percentile_interval, resample_counts

#: Newton's method stops when no strength's gradient exceeds this share of the comparisons.
TOLERANCE = 1e-12
MAX_ITERATIONS = 200


def wins_matrix(comparisons: Sequence[tuple[int, int, float]], n: int) -> np.ndarray:
    """W (n x n): W[i, j] the weight of comparisons i won against j; each (i, j, outcome) adds outcome to W[i, j]
    and 1 - outcome to W[j, i] (outcome 1: i preferred, 0: j preferred, 0.5: a tie, half each way)."""
    w = np.zeros((n, n))
    for i, j, outcome in comparisons:
        if i == j:
            raise ValueError("a system is not compared with itself")
        if not 0.0 <= outcome <= 1.0:
            raise ValueError("an outcome lies between 0 and 1")
        w[i, j] += outcome
        w[j, i] += 1.0 - outcome
    return w


def estimable(wins: np.ndarray) -> bool:
    """Whether the maximum-likelihood strengths exist: the graph i -> j (i preferred to j at least once, in
    part) is strongly connected, so every group of systems was preferred at least once to the others."""
    n = wins.shape[0]
    if n < 2:
        return n == 1
    edges = wins > 0
    np.fill_diagonal(edges, False)
    for graph in (edges, edges.T):
        seen = np.zeros(n, dtype=bool)
        seen[0] = True
        frontier = seen.copy()
        while frontier.any():
            frontier = graph[frontier].any(axis=0) & ~seen
            seen |= frontier
        if not seen.all():
            return False
    return True


def _log_likelihood(theta: np.ndarray, wins: np.ndarray) -> float:
    d = theta[:, None] - theta[None, :]
    return float(-(wins * np.logaddexp(0.0, -d)).sum())


def bradley_terry(wins: np.ndarray) -> np.ndarray | None:
    """The maximum-likelihood Bradley-Terry strengths of `wins` (W[i, j]: weight of i preferred to j), on the log
    scale with mean 0; None when they do not exist (`estimable`)."""
    w = np.asarray(wins, dtype=np.float64)
    n = w.shape[0]
    if w.shape != (n, n) or not np.all(np.isfinite(w)) or (w < 0).any():
        raise ValueError("wins must be a square matrix of non-negative weights")
    if not estimable(w):
        return None
    w = w.copy()
    np.fill_diagonal(w, 0.0)
    total = w + w.T
    theta = np.zeros(n)
    ones = np.full((n, n), 1.0 / n)
    scale = max(1.0, float(w.sum()))
    current = _log_likelihood(theta, w)
    for _ in range(MAX_ITERATIONS):
        p = 1.0 / (1.0 + np.exp(theta[None, :] - theta[:, None]))  # p[i, j] = P(i preferred to j)
        gradient = (w - total * p).sum(axis=1)
        if np.abs(gradient).max() <= TOLERANCE * scale:
            break
        h = total * p * p.T
        laplacian = np.diag(h.sum(axis=1)) - h  # minus the Hessian; its null space is the constant vector
        step = np.linalg.solve(laplacian + ones, gradient)
        t = 1.0
        while t > 1e-12:
            candidate = theta + t * step
            value = _log_likelihood(candidate, w)
            if value >= current - 1e-15 * abs(current):
                break
            t /= 2.0
        else:
            break
        theta, current = candidate - candidate.mean(), value
    return theta - theta.mean()


@dataclass(frozen=True)
class Strengths:
    """Bradley-Terry strengths of n systems with their percentile bootstrap intervals."""

    strengths: np.ndarray | None
    """n strengths (log scale, mean 0), or None when the comparisons give no estimate."""
    ci: np.ndarray
    """n x 2: each strength's interval (nan when no resample gave an estimate)."""
    resamples: int
    undefined: int
    """Resamples without an estimate, left out of the intervals."""

    def note(self, judged: bool) -> str | None:
        """What a reader must know of these strengths, or None: no estimate from `judged` comparisons, or
        resamples left out of the intervals."""
        if judged and self.strengths is None:
            return ("no Bradley-Terry strengths (one won or lost every comparison it was in, or some were never "
                    "compared with the others)")
        if self.undefined:
            return (f"{self.undefined} of {self.resamples} resamples had no Bradley-Terry estimate and are left out "
                    "of its intervals")
        return None


def bradley_terry_ci(item_wins: np.ndarray, *, confidence: float = 0.95, n_resamples: int = DEFAULT_RESAMPLES,
                     seed: int = DEFAULT_SEED) -> Strengths:
    """Strengths from the comparisons of I items (`item_wins`: I x n x n, each item's own wins matrix) and their
    bootstrap intervals over items."""
    x = np.asarray(item_wins, dtype=np.float64)
    if x.ndim != 3 or x.shape[1] != x.shape[2]:
        raise ValueError("item_wins must be an I x n x n array")
    n_items, n = x.shape[0], x.shape[1]
    ci = np.full((n, 2), math.nan)
    if n_items == 0:
        return Strengths(None, ci, 0, 0)
    strengths = bradley_terry(x.sum(axis=0))
    flat = x.reshape(n_items, n * n)
    draws = []
    for _, _, chunk in resample_counts(n_items, n_resamples=n_resamples, seed=seed):
        for counts in chunk:
            theta = bradley_terry((counts @ flat).reshape(n, n))
            if theta is not None:
                draws.append(theta)
    if draws:
        d = np.array(draws)
        for k in range(n):
            ci[k] = percentile_interval(d[:, k], confidence)
    return Strengths(strengths, ci, n_resamples, n_resamples - len(draws))
