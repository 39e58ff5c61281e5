"""Paired statistics of runs against a baseline run over the examples they share: bootstrap CI, permutation
test, McNemar.

The statistics are `bench.stats.significance`'s, all seeded and deterministic: the mean difference with a
percentile paired bootstrap interval, a two-sided paired permutation (sign-flip) test, and for exact match
McNemar's exact test. `compare_section` tests every (run, metric) of a table at once: the differences of all
of them with the same number of shared examples form one matrix, tested on one draw of resamples and sign
vectors (the draws depend only on that number and the seed, so each column gets exactly the p-value and,
to the order of summation, the interval `compare_pair` gives it alone).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.comparison.flips import ExampleScores, Prediction, paired_columns, paired_scores, read_scores
from bench.comparison.select import Progress, Section, baseline_run
from bench.results.record import RunRecord
from bench.stats.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED
from bench.stats.significance import (EXACT_PERMUTATION_MAX_N, PERMUTATION_RESAMPLES, mcnemar_exact,
                                      min_permutation_p, paired_bootstrap_ci, paired_bootstrap_cis, permutation_test,
                                      permutation_tests)

__all__ = ["EXACT_PERMUTATION_MAX_N", "PERMUTATION_RESAMPLES", "Paired", "SectionComparison", "compare_pair",
           "compare_section", "discordant", "mcnemar_exact", "min_permutation_p", "paired_bootstrap_ci",
           "permutation_test"]

DEFAULT_ALPHA = 0.05


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


def compare_pair(task: str, metric: str, baseline: RunRecord, run: RunRecord, base_preds: Mapping[str, Prediction],
                 preds: Mapping[str, Prediction], *, seed: int = DEFAULT_SEED,
                 n_resamples: int = DEFAULT_RESAMPLES, n_permutations: int = PERMUTATION_RESAMPLES,
                 alpha: float = DEFAULT_ALPHA, direction: str = "higher") -> Paired | None:
    """Paired statistics of `run` against `baseline` on `metric`; None if no example has both scores."""
    ids, a, b = paired_scores(base_preds, preds, metric)
    if not ids:
        return None
    d = b - a
    p, exact = permutation_test(d, seed=seed, n_permutations=n_permutations)
    return _paired(task, metric, baseline, run, a, b, paired_bootstrap_ci(d, seed=seed, n_resamples=n_resamples),
                   p, exact, alpha, direction)


def _paired(task: str, metric: str, baseline: RunRecord, run: RunRecord, a: np.ndarray, b: np.ndarray,
            ci: tuple[float, float], p: float, exact: bool, alpha: float, direction: str) -> Paired:
    d = b - a
    counts = discordant(a, b) if metric.endswith("exact_match") else None
    return Paired(
        task=task, metric=metric, baseline_model=baseline.model, baseline_run=baseline.run_id,
        model=run.model, run=run.run_id, n=len(d), baseline_mean=float(a.mean()), mean=float(b.mean()),
        diff=float(d.mean()), ci=ci, p_value=p, exact=exact, mcnemar=counts,
        mcnemar_p=mcnemar_exact(*counts) if counts else None, alpha=alpha, direction=direction,
    )


@dataclass(frozen=True)
class SectionComparison:
    """Every other run of a section against the baseline run."""

    section: Section
    baseline: RunRecord | None
    results: tuple[Paired, ...]
    skipped: tuple[str, ...]
    """Metrics without per-example scores (no paired test possible)."""
    corpus_only: tuple[str, ...] = ()
    """Metrics that are one value over the whole set (no per-example scores, so never tested)."""


def compare_section(section: Section, baseline_model: str, *, seed: int = DEFAULT_SEED,
                    n_resamples: int = DEFAULT_RESAMPLES, n_permutations: int = PERMUTATION_RESAMPLES,
                    alpha: float = DEFAULT_ALPHA, cache: dict[Path, ExampleScores] | None = None,
                    progress: Progress | None = None) -> SectionComparison:
    """Paired statistics for each (other run, metric) of `section`, as `compare_pair` gives them, all at once.

    The runs' scores are read once (`cache`, shared with `bench.comparison.flips.section_flips`); `progress`
    is told of each run read. Corpus-only values (`Section.corpus_only`) are never tested, whatever
    predictions.jsonl holds; the reference row is no run and is never compared.
    """
    base = baseline_run(section, baseline_model)
    corpus_only = section.corpus_only_metrics
    if base is None:
        return SectionComparison(section, None, (), (), corpus_only)
    cache = {} if cache is None else cache
    read_scores(section.runs, cache, progress, f"reading predictions ({section.title})")
    base_scores = cache[base.path]
    pairs: list[tuple[str, RunRecord, np.ndarray, np.ndarray]] = []
    skipped: list[str] = []
    for m in section.metrics:
        if m in corpus_only:
            continue
        if m not in base_scores.scored:
            skipped.append(m)
            continue
        for r in section.runs:
            if r is not base:
                a, b = paired_columns(base_scores, cache[r.path], m)
                if a.size:
                    pairs.append((m, r, a, b))
    by_n: dict[int, list[int]] = {}
    for j, (_, _, a, _) in enumerate(pairs):
        by_n.setdefault(a.size, []).append(j)
    tested: dict[int, tuple[tuple[float, float], float, bool]] = {}
    for n, columns in by_n.items():
        if progress is not None:
            progress(f"paired statistics ({section.title})", 0, len(pairs))
        diffs = np.column_stack([pairs[j][3] - pairs[j][2] for j in columns])
        cis = paired_bootstrap_cis(diffs, seed=seed, n_resamples=n_resamples)
        ps, exact = permutation_tests(diffs, seed=seed, n_permutations=n_permutations)
        for col, j in enumerate(columns):
            tested[j] = ((float(cis[col, 0]), float(cis[col, 1])), float(ps[col]), exact)
        if progress is not None:
            progress(f"paired statistics ({section.title})", len(tested), len(pairs))
    results = [_paired(section.task, m, base, r, a, b, *tested[j], alpha, section.direction(m))
               for j, (m, r, a, b) in enumerate(pairs)]
    return SectionComparison(section, base, tuple(results), tuple(skipped), corpus_only)
