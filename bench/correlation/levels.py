"""Correlation of metric scores with human ratings, and agreement between annotators; numpy only.

The coefficients (Kendall's tau-b, Spearman, Pearson) are `bench.stats.coefficients`'s, on batches of
vectors with missing values.

Two levels of meta-evaluation, as in SummEval (Fabbri et al., 2021) and
G-Eval (Liu et al., 2023), over a documents x systems grid of scores:

- *summary level*: per document, the coefficient between the metric and the
  ratings across the systems' summaries; then the mean over the documents
  where it is defined (documents whose metric scores or ratings are constant
  are skipped, as G-Eval does, and counted);
- *system level*: per system, the mean metric score and the mean rating over
  the documents (the cells where both are present); the coefficient across
  systems.

Confidence intervals are percentile bootstrap intervals
(`bench.stats.bootstrap.percentile_interval`). Each resample draws the
documents with replacement, and for the system level the systems too, from
`numpy.random.default_rng(seed)` the way `bench.stats.bootstrap.resample_means`
draws examples: resample i is row i of ``rng.integers(0, D, (R, D))`` (then,
from the same generator, ``rng.integers(0, S, (R, S))`` for the systems).
Every metric and criterion is computed on the same resamples, so the
difference between two metrics' coefficients has a *paired* bootstrap
interval. Resamples on which a coefficient is undefined (all documents
skipped, or all drawn systems tied) are left out of its interval.

Krippendorff's alpha (`bench.stats.agreement`) measures how well the annotators agree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bench.errors import BenchError
from bench.stats.agreement import krippendorff_alpha_interval
from bench.stats.bootstrap import CHUNK_CELLS, DEFAULT_RESAMPLES, DEFAULT_SEED, percentile_interval
from bench.stats.coefficients import COEFFICIENTS, coefficients

LEVELS = ("summary", "system")


# ------------------------------------------------------------------ meta-evaluation


@dataclass(frozen=True)
class Row:
    """One metric against one criterion at one level."""

    metric: str
    criterion: str
    level: str
    """"summary" or "system"."""
    n: int
    """Documents averaged over (summary level) or systems correlated (system level)."""
    skipped: int
    """Summary level: documents skipped (fewer than two rated summaries, or constant scores or ratings)."""
    values: Mapping[str, float]
    """Coefficient -> value (nan when undefined)."""
    ci: Mapping[str, tuple[float, float]]
    """Coefficient -> 95% percentile bootstrap interval ((nan, nan) when undefined)."""
    best: tuple[str, ...] = ()
    """The coefficients on which this metric is the best of its column, separated from every other metric."""


@dataclass(frozen=True)
class Paired:
    """Whether metric `a` correlates better than metric `b` with a criterion: a paired bootstrap."""

    level: str
    criterion: str
    coefficient: str
    a: str
    b: str
    diff: float
    """coefficient(a) - coefficient(b)."""
    ci: tuple[float, float]
    """95% paired bootstrap interval of the difference."""
    p: float
    """Two-sided bootstrap p-value: twice the smaller share of resampled differences on either side of 0 (a
    difference of exactly 0 counts on both sides), at most 1."""


@dataclass(frozen=True)
class Agreement:
    """Krippendorff's alpha (interval) of the annotators on one criterion."""

    criterion: str
    alpha: float
    units: int
    """Rated summaries with two or more ratings."""
    annotators: int
    """The most ratings any summary has."""


@dataclass(frozen=True)
class Correlations:
    rows: tuple[Row, ...]
    paired: tuple[Paired, ...]
    agreement: tuple[Agreement, ...]
    documents: int
    systems: int
    seed: int
    resamples: int
    confidence: float


#: Most system means the system-level bootstrap may rank: resamples x systems x (metric, criterion) pairs, each
#: resample's means ranked (n log n). About a few minutes of one core (benchmarks/COMPARE.md); beyond it a
#: correlation is refused with a way out (fewer resamples).
SYSTEM_RESAMPLED_MAX = 200_000_000


def correlate(scores: Mapping[str, np.ndarray], ratings: Mapping[str, np.ndarray], *,
              annotations: Mapping[str, np.ndarray] | None = None, seed: int = DEFAULT_SEED,
              n_resamples: int = DEFAULT_RESAMPLES, confidence: float = 0.95) -> Correlations:
    """Every metric against every criterion, at summary and system level, with bootstrap CIs and paired tests.

    `scores` maps a metric (score name) to a documents x systems array, and
    `ratings` a criterion to one of the same shape (the mean rating of each
    summary); nan marks a missing value. `annotations` maps a criterion to a
    documents x systems x annotators array of the single ratings, for
    Krippendorff's alpha. The resamples are drawn and used a chunk at a time
    (`_draws`), so memory grows with the grid, not with resamples x grid.
    """
    shapes = {np.shape(a) for a in [*scores.values(), *ratings.values()]}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise ValueError(f"scores and ratings must be documents x systems arrays of one shape, got {shapes}")
    n_docs, n_sys = next(iter(shapes))
    check_size(n_docs, n_sys, n_resamples, pairs=len(scores) * len(ratings))
    pairs = [(metric, np.asarray(s, dtype=np.float64), criterion, np.asarray(h, dtype=np.float64))
             for metric, s in scores.items() for criterion, h in ratings.items()]

    points: dict[tuple[str, str, str], dict[str, float]] = {}
    boots: dict[tuple[str, str, str], dict[str, np.ndarray]] = {}
    meta: dict[tuple[str, str, str], tuple[int, int]] = {}
    per_doc: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    for metric, s, criterion, h in pairs:
        values = coefficients(s, h)
        defined = np.isfinite(values["kendall"])
        per_doc[metric, criterion] = values
        key = ("summary", metric, criterion)
        points[key] = {c: _nanmean(v) for c, v in values.items()}
        boots[key] = {c: np.empty(n_resamples) for c in values}
        meta[key] = (int(defined.sum()), int(n_docs - defined.sum()))
        key = ("system", metric, criterion)
        both = np.isfinite(s) & np.isfinite(h)
        sm, hm = _system_means(s, h, both, np.arange(n_docs)[None, :])
        points[key] = {c: float(v[0]) for c, v in coefficients(sm, hm).items()}
        boots[key] = {c: np.empty(n_resamples) for c in COEFFICIENTS}
        meta[key] = (int(both.any(axis=0).sum()), 0)
    for start, stop, doc_idx, sys_idx in _draws(seed, n_resamples, n_docs, n_sys):
        for metric, s, criterion, h in pairs:
            key = ("summary", metric, criterion)
            for c, v in per_doc[metric, criterion].items():
                boots[key][c][start:stop] = _resampled_means(v, doc_idx)
            both = np.isfinite(s) & np.isfinite(h)
            sm, hm = _system_means(s, h, both, doc_idx)
            sm = np.take_along_axis(sm, sys_idx, axis=1)
            hm = np.take_along_axis(hm, sys_idx, axis=1)
            for c, v in coefficients(sm, hm).items():
                boots[("system", metric, criterion)][c][start:stop] = v

    paired = _paired(scores, ratings, points, boots, confidence)
    separated = {(p.level, p.criterion, p.coefficient, p.a, p.b): p for p in paired}
    rows = []
    for level in LEVELS:
        for metric in scores:
            for criterion in ratings:
                key = (level, metric, criterion)
                best = tuple(c for c in COEFFICIENTS
                             if _is_separated_best(level, criterion, c, metric, list(scores), points, separated))
                rows.append(Row(metric=metric, criterion=criterion, level=level, n=meta[key][0], skipped=meta[key][1],
                                values=points[key],
                                ci={c: _interval(boots[key][c], confidence) for c in COEFFICIENTS}, best=best))
    agreement = tuple(a for c, v in (annotations or {}).items() if (a := _agreement(c, v)) is not None)
    return Correlations(rows=tuple(rows), paired=tuple(paired), agreement=agreement, documents=n_docs,
                        systems=n_sys, seed=seed, resamples=n_resamples, confidence=confidence)


#: Most cells of the documents x systems grid (one float array per metric and criterion, 8 bytes a cell).
GRID_MAX = 10_000_000


def check_size(documents: int, systems: int, n_resamples: int, summaries: int | None = None, pairs: int = 1) -> None:
    """Refuse a grid of more than `GRID_MAX` cells (a file whose systems each summarise other documents), and a
    correlation whose system-level bootstrap would rank more than `SYSTEM_RESAMPLED_MAX` means for `pairs`
    (metric, criterion) pairs."""
    if documents * systems > GRID_MAX:
        rated = f" for {summaries:,} rated summaries" if summaries is not None else ""
        raise BenchError(f"{documents:,} documents x {systems:,} systems: a grid of {documents * systems:,} "
                         f"cells{rated}, more than bench correlate holds ({GRID_MAX:,})",
                         hint="correlation compares systems on the same documents: keep the documents that several "
                              "systems summarised, or correlate a part of the file at a time")
    ranked = n_resamples * systems * pairs
    if ranked > SYSTEM_RESAMPLED_MAX:
        most = max(1, SYSTEM_RESAMPLED_MAX // max(1, systems * pairs))
        per = f" x {pairs:,} metric and criterion pairs" if pairs > 1 else ""
        raise BenchError(f"{documents:,} documents x {systems:,} systems: the system-level bootstrap would rank "
                         f"{ranked:,} system means ({n_resamples:,} resamples x {systems:,} systems{per}), more "
                         f"than the {SYSTEM_RESAMPLED_MAX:,} bench correlate ranks in a few minutes",
                         hint=f"ask for {most:,} resamples or fewer (--resamples; the intervals are then coarser), "
                              "or correlate fewer systems at a time")


def _draws(seed: int, n_resamples: int, n_docs: int, n_sys: int):
    """(start, stop, document indices, system indices) of each chunk of resamples.

    Resample i draws row i of ``rng.integers(0, D, (R, D))`` and then, from the same generator after all of
    those, row i of ``rng.integers(0, S, (R, S))``: two generators from the seed walk the two draws side by
    side (the second first steps over the documents' draw), a chunk of rows at a time; numpy draws a chunk of
    rows as the same rows of one draw.
    """
    documents = np.random.default_rng(seed)
    systems = np.random.default_rng(seed)
    skip = max(1, CHUNK_CELLS // max(1, n_docs))
    for start in range(0, n_resamples, skip):
        systems.integers(0, n_docs, size=(min(n_resamples, start + skip) - start, n_docs))
    chunk = max(1, CHUNK_CELLS // (4 * max(1, n_docs, n_sys)))  # a few arrays of chunk x documents (or systems)
    for start in range(0, n_resamples, chunk):
        stop = min(n_resamples, start + chunk)
        yield (start, stop, documents.integers(0, n_docs, size=(stop - start, n_docs)),
               systems.integers(0, n_sys, size=(stop - start, n_sys)))


def _nanmean(v: np.ndarray) -> float:
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else math.nan


def _resampled_means(per_doc: np.ndarray, doc_idx: np.ndarray) -> np.ndarray:
    """The mean of the defined per-document values of each resample of documents (nan when none is defined)."""
    drawn = per_doc[doc_idx]
    defined = np.isfinite(drawn)
    k = defined.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(k > 0, np.where(defined, drawn, 0.0).sum(axis=1) / k, np.nan)


def _system_means(s: np.ndarray, h: np.ndarray, both: np.ndarray,
                  doc_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per resample (a row of drawn document indices) and system, the mean metric score and the mean rating
    over the drawn cells where both are present; nan for a system with none. The drawn cells are summed
    `CHUNK_CELLS` at a time (resamples, then documents)."""
    r, d = doc_idx.shape
    cells = np.stack([np.where(both, s, 0.0), np.where(both, h, 0.0), both.astype(np.float64)])  # (3, D, S)
    sums = np.zeros((3, r, s.shape[1]))
    n_sys = max(1, s.shape[1])
    rows = max(1, CHUNK_CELLS // max(1, 3 * d * n_sys))
    docs = d if 3 * d * n_sys <= CHUNK_CELLS else max(1, CHUNK_CELLS // (3 * n_sys))
    for start in range(0, r, rows):
        stop = min(r, start + rows)
        if docs == d:
            sums[:, start:stop] = cells[:, doc_idx[start:stop]].sum(axis=2)
        else:  # a resample's drawn cells alone exceed a chunk: summed a block of documents at a time
            for first in range(0, d, docs):
                sums[:, start:stop] += cells[:, doc_idx[start:stop, first:first + docs]].sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (np.where(sums[2] > 0, sums[0] / sums[2], np.nan), np.where(sums[2] > 0, sums[1] / sums[2], np.nan))


def _interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    v = values[np.isfinite(values)]
    if v.size == 0:
        return (math.nan, math.nan)
    return percentile_interval(v, confidence)


def _paired(scores: Mapping[str, np.ndarray], ratings: Mapping[str, np.ndarray],
            points: Mapping[tuple[str, str, str], Mapping[str, float]],
            boots: Mapping[tuple[str, str, str], Mapping[str, np.ndarray]], confidence: float) -> list[Paired]:
    metrics = list(scores)
    out = []
    for level in LEVELS:
        for criterion in ratings:
            for c in COEFFICIENTS:
                for i, a in enumerate(metrics):
                    for b in metrics[i + 1:]:
                        pa, pb = points[(level, a, criterion)][c], points[(level, b, criterion)][c]
                        d = boots[(level, a, criterion)][c] - boots[(level, b, criterion)][c]
                        d = d[np.isfinite(d)]
                        if not (math.isfinite(pa) and math.isfinite(pb)) or d.size == 0:
                            continue
                        p = min(1.0, 2.0 * min(float(np.mean(d <= 0)), float(np.mean(d >= 0))))
                        out.append(Paired(level=level, criterion=criterion, coefficient=c, a=a, b=b, diff=pa - pb,
                                          ci=percentile_interval(d, confidence), p=p))
    return out


def _is_separated_best(level: str, criterion: str, c: str, metric: str, metrics: Sequence[str],
                       points: Mapping[tuple[str, str, str], Mapping[str, float]],
                       separated: Mapping[tuple[str, str, str, str, str], Paired]) -> bool:
    """Whether `metric` has the highest coefficient of its column and the paired interval of its difference
    with every other metric (with a value) lies above 0."""
    mine = points[(level, metric, criterion)][c]
    others = [m for m in metrics if m != metric and math.isfinite(points[(level, m, criterion)][c])]
    if not math.isfinite(mine) or not others:
        return False
    for other in others:
        p = separated.get((level, criterion, c, metric, other))
        if p is not None:
            lo = p.ci[0]
        else:
            p = separated.get((level, criterion, c, other, metric))
            if p is None:
                return False
            lo = -p.ci[1]
        if not lo > 0:
            return False
    return True


def _agreement(criterion: str, values: np.ndarray) -> Agreement | None:
    v = np.asarray(values, dtype=np.float64)
    units = v.reshape(-1, v.shape[-1])
    pairable = int((np.isfinite(units).sum(axis=1) >= 2).sum())
    if pairable == 0:
        return None
    return Agreement(criterion=criterion, alpha=krippendorff_alpha_interval(units), units=pairable,
                     annotators=int(np.isfinite(units).sum(axis=1).max()))
