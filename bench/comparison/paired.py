"""Paired statistics of two runs over the examples they share: bootstrap CI, permutation test, McNemar.

All seeded and deterministic:

- the mean difference between two runs over the examples both share, with a
  percentile *paired bootstrap* interval (Koehn, 2004, "Statistical
  significance tests for machine translation evaluation"): examples are
  resampled with replacement and the same resample is used for both systems.
  The resamples are drawn by `bench.stats.bootstrap`, the one resampler,
  with its `DEFAULT_RESAMPLES` and `DEFAULT_SEED`;
- a two-sided *paired permutation test* (approximate randomization: Noreen,
  1989; recommended for NLP metrics by Dror et al., 2018, "The hitchhiker's
  guide to testing statistical significance in NLP"): under the null
  hypothesis the two systems' outputs are exchangeable per example, so each
  per-example difference keeps or flips its sign. Exact over all 2^n sign
  vectors for n <= `EXACT_PERMUTATION_MAX_N`, otherwise `PERMUTATION_RESAMPLES`
  seeded random sign vectors with the (b + 1) / (R + 1) estimate of Phipson &
  Smyth (2010), which is never 0;
- for exact match, McNemar's (1947) test in its exact binomial form: of the
  examples exactly one system gets right, the count won by each system is
  Binomial(b + c, 1/2) under the null hypothesis.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.comparison.flips import Prediction, paired_scores, run_predictions
from bench.comparison.select import Run, Section, baseline_run
from bench.stats.bootstrap import CHUNK_CELLS, DEFAULT_RESAMPLES, DEFAULT_SEED, bootstrap_ci
from bench.stats.preferences import sign_test

#: Runs with at most this many shared examples get the exact permutation test.
EXACT_PERMUTATION_MAX_N = 16
#: Random sign vectors of the Monte Carlo permutation test (not bootstrap resamples).
PERMUTATION_RESAMPLES = 10_000
DEFAULT_ALPHA = 0.05


def paired_bootstrap_ci(diffs: Sequence[float] | np.ndarray, *, confidence: float = 0.95,
                        n_resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> tuple[float, float]:
    """Percentile paired bootstrap interval of the mean difference (Koehn, 2004); (nan, nan) when empty.

    Resampling the per-example differences resamples the examples of both
    systems together, which is what makes the bootstrap paired; the interval is
    `bench.stats.bootstrap.bootstrap_ci` of the differences.
    """
    return bootstrap_ci(diffs, confidence=confidence, n_resamples=n_resamples, seed=seed)


def permutation_test(diffs: Sequence[float] | np.ndarray, *, n_permutations: int = PERMUTATION_RESAMPLES,
                     seed: int = DEFAULT_SEED) -> tuple[float, bool]:
    """Two-sided paired permutation (sign-flip) test of mean difference 0; returns (p, exact).

    Exact over all 2^n sign vectors when n <= `EXACT_PERMUTATION_MAX_N`; else
    `n_permutations` seeded random sign vectors and p = (b + 1) / (R + 1)
    (Phipson & Smyth, 2010). Identical systems (all differences 0) give p = 1.
    """
    d = np.asarray(diffs, dtype=np.float64)
    n = d.size
    if n == 0:
        return (math.nan, True)
    observed = abs(d.mean())
    tol = 1e-9 * max(1.0, observed)  # rounding in the means must not turn a tie into a miss
    if n <= EXACT_PERMUTATION_MAX_N:
        signs = ((np.arange(2 ** n)[:, None] >> np.arange(n)) & 1) * 2 - 1
        stats = np.abs(signs @ d) / n
        return (float(np.count_nonzero(stats >= observed - tol)) / 2 ** n, True)
    rng = np.random.default_rng(seed)
    hits = 0
    chunk = max(1, CHUNK_CELLS // n)
    for start in range(0, n_permutations, chunk):
        stop = min(n_permutations, start + chunk)
        signs = rng.integers(0, 2, size=(stop - start, n)) * 2 - 1
        hits += int(np.count_nonzero(np.abs(signs @ d) / n >= observed - tol))
    return ((hits + 1) / (n_permutations + 1), False)


def min_permutation_p(n: int) -> float:
    """The smallest p the exact two-sided sign-flip test can give with n examples."""
    return 2.0 / 2 ** n if n <= EXACT_PERMUTATION_MAX_N else 0.0


def mcnemar_exact(b: int, c: int) -> float:
    """Exact two-sided McNemar test (McNemar, 1947) on the discordant counts b and c: the sign test on them,
    p = min(1, 2 * P[X <= min(b, c)]) with X ~ Binomial(b + c, 1/2) (`bench.stats.preferences.sign_test`)."""
    return sign_test(b, c)


def discordant(a: np.ndarray, b: np.ndarray) -> tuple[int, int] | None:
    """(baseline right & other wrong, baseline wrong & other right) for 0/100 scores; None if not binary."""
    if not np.all(np.isin(a, (0.0, 100.0))) or not np.all(np.isin(b, (0.0, 100.0))):
        return None
    return int(np.count_nonzero((a == 100.0) & (b == 0.0))), int(np.count_nonzero((a == 0.0) & (b == 100.0)))


@dataclass(frozen=True)
class Paired:
    """A run compared with the baseline run on one metric, over their shared examples."""

    task: str
    metric: str
    baseline_model: str
    baseline_run: str
    model: str
    run: str
    n: int
    baseline_mean: float
    mean: float
    diff: float
    """mean - baseline_mean (x100 points)."""
    ci: tuple[float, float]
    p_value: float
    exact: bool
    """True when the permutation test enumerated every sign vector."""
    mcnemar: tuple[int, int] | None
    """(baseline right & other wrong, baseline wrong & other right) for exact match."""
    mcnemar_p: float | None
    alpha: float
    direction: str = "higher"
    """Which way `metric` is better ("higher", "lower" or "none": a statistic that describes, where a
    difference is no win for either run)."""

    @property
    def significant(self) -> bool:
        """The permutation test's p is below alpha.

        For 0/100 scores the exact sign-flip test *is* the exact McNemar test
        (only discordant examples change the sum), so the two agree there.
        """
        return self.p_value < self.alpha


def compare_pair(task: str, metric: str, baseline: Run, run: Run, base_preds: Mapping[str, Prediction],
                 preds: Mapping[str, Prediction], *, seed: int = DEFAULT_SEED,
                 n_resamples: int = DEFAULT_RESAMPLES, n_permutations: int = PERMUTATION_RESAMPLES,
                 alpha: float = DEFAULT_ALPHA, direction: str = "higher") -> Paired | None:
    """Paired statistics of `run` against `baseline` on `metric`; None if no example has both scores."""
    ids, a, b = paired_scores(base_preds, preds, metric)
    if not ids:
        return None
    d = b - a
    p, exact = permutation_test(d, seed=seed, n_permutations=n_permutations)
    counts = discordant(a, b) if metric.endswith("exact_match") else None
    return Paired(
        task=task, metric=metric, baseline_model=baseline.model, baseline_run=baseline.run_id,
        model=run.model, run=run.run_id, n=len(ids), baseline_mean=float(a.mean()), mean=float(b.mean()),
        diff=float(d.mean()), ci=paired_bootstrap_ci(d, seed=seed, n_resamples=n_resamples), p_value=p, exact=exact,
        mcnemar=counts, mcnemar_p=mcnemar_exact(*counts) if counts else None, alpha=alpha, direction=direction,
    )


@dataclass(frozen=True)
class SectionComparison:
    """Every other run of a section against the baseline run."""

    section: Section
    baseline: Run | None
    results: tuple[Paired, ...]
    skipped: tuple[str, ...]
    """Metrics without per-example scores (no paired test possible)."""
    corpus_only: tuple[str, ...] = ()
    """Metrics that are one value over the whole set (no per-example scores, so never tested)."""


def compare_section(section: Section, baseline_model: str, *, seed: int = DEFAULT_SEED,
                    n_resamples: int = DEFAULT_RESAMPLES, n_permutations: int = PERMUTATION_RESAMPLES,
                    alpha: float = DEFAULT_ALPHA,
                    cache: dict[Path, dict[str, Prediction]] | None = None) -> SectionComparison:
    """Paired statistics for each (other run, metric) of `section`; `cache` keeps predictions read once.

    Corpus-only values (`Section.corpus_only`) are never tested, whatever predictions.jsonl holds; the
    reference row is no run and is never compared.
    """
    base = baseline_run(section, baseline_model)
    corpus_only = section.corpus_only_metrics
    if base is None:
        return SectionComparison(section, None, (), (), corpus_only)
    cache = {} if cache is None else cache
    base_preds = run_predictions(base, cache)
    results: list[Paired] = []
    skipped: list[str] = []
    for m in section.metrics:
        if m in corpus_only:
            continue
        if not any(m in p.scores for p in base_preds.values()):
            skipped.append(m)
            continue
        for r in section.runs:
            if r is base:
                continue
            res = compare_pair(section.task, m, base, r, base_preds, run_predictions(r, cache), seed=seed,
                               n_resamples=n_resamples, n_permutations=n_permutations, alpha=alpha,
                               direction=section.direction(m))
            if res is not None:
                results.append(res)
    return SectionComparison(section, base, tuple(results), tuple(skipped), corpus_only)
