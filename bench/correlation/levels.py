"""Correlation of metric scores with human ratings, detection of labelled summaries, and agreement between
annotators; numpy only.

Three levels of meta-evaluation over a documents x systems grid of scores (`grid_levels.py`,
`sample_level.py`): *summary level* (per document, across its summaries, then the mean over documents; SummEval,
G-Eval), *system level* (per-system means, across systems) and *sample level* (every rated summary pooled;
UniEval, QAGS, SummaC's benchmark, TRUE). A criterion rated with labels (0 or 1) is scored as *detection*:
ROC AUC and balanced accuracy at a threshold chosen elsewhere (`bench.stats.detection`). The coefficients are
Kendall's tau-b, Spearman's rho and Pearson's r (`bench.stats.coefficients`).

Confidence intervals are percentile bootstrap intervals (`bench.stats.bootstrap.percentile_interval`) over
the units of each level: documents (and systems) for the first two, summaries for the sample level and
detection. Every metric is computed on the same resamples, so the difference between two metrics has a
*paired* bootstrap interval. Resamples on which a value is undefined are left out of its interval.

Below `MIN_UNITS` units (documents averaged, systems, summaries) a row keeps its value but no interval, no
paired test and no best mark: a bootstrap over so few units cannot support them (docs/correlate.md, "Too few
units").

Krippendorff's alpha (`bench.stats.agreement`) measures how well the annotators agree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bench.correlation.grid_levels import grid_levels
from bench.correlation.sample_level import DETECTION, sample_level, tuned_on_test
from bench.errors import BenchError
from bench.stats.agreement import krippendorff_alpha_interval
from bench.stats.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED, percentile_interval
from bench.stats.coefficients import COEFFICIENTS

LEVELS = ("summary", "system", "sample")
#: What each level resamples, in words.
UNITS = {"summary": "documents", "system": "systems", "sample": "summaries"}
#: Fewest units (documents averaged, systems, summaries) a row needs for an interval, a paired test and a best
#: mark. With n units a bootstrap has only C(2n - 1, n) distinct resamples (3 for two, 10 for three, 126 for
#: five), and below about 10 its percentile interval is too narrow; the exact permutation test of a rank
#: correlation over 4 units cannot reach p < 0.05 at all (its smallest p is 2 / 4! = 0.083), nor can a
#: sign-flip test of a mean over 5 documents (2 / 2^5 = 0.0625).
MIN_UNITS = 10


@dataclass(frozen=True)
class Row:
    """One metric against one criterion at one level."""

    metric: str
    criterion: str
    level: str
    """"summary", "system" or "sample"."""
    n: int
    """Documents averaged over (summary level), systems correlated (system level) or summaries pooled (sample
    level)."""
    skipped: int
    """Summary level: documents skipped (fewer than two rated summaries, or constant scores or ratings); sample
    level: summaries rated on the criterion without a score."""
    values: Mapping[str, float]
    """Coefficient -> value (nan when undefined)."""
    ci: Mapping[str, tuple[float, float]]
    """Coefficient -> percentile bootstrap interval ((nan, nan) when undefined or withheld)."""
    best: tuple[str, ...] = ()
    """The coefficients on which this metric is the best of its column, separated from every other metric."""
    withheld: bool = False
    """Fewer than `MIN_UNITS` units: no interval, no paired test, no best mark."""


@dataclass(frozen=True)
class Detection:
    """How well one metric's scores separate the summaries labelled 1 from those labelled 0 on one criterion."""

    metric: str
    criterion: str
    n: int
    """Summaries with a score and a label."""
    positives: int
    negatives: int
    skipped: int
    """Summaries with a label and no score."""
    values: Mapping[str, float]
    """"roc_auc" and "balanced_accuracy" (nan: undefined, or no threshold)."""
    ci: Mapping[str, tuple[float, float]]
    threshold: float
    """The threshold of the balanced accuracy (a score >= it is called 1); nan when none was given."""
    tuned: tuple[float, float] | None = None
    """(threshold, balanced accuracy) of the threshold best on the test data itself, when asked for: optimistic."""
    best: tuple[str, ...] = ()
    withheld: bool = False


@dataclass(frozen=True)
class Paired:
    """Whether metric `a` agrees better than metric `b` with a criterion: a paired bootstrap."""

    level: str
    criterion: str
    coefficient: str
    """A coefficient, or for detection "roc_auc" or "balanced_accuracy"."""
    a: str
    b: str
    diff: float
    """value(a) - value(b)."""
    ci: tuple[float, float]
    """Paired bootstrap interval of the difference."""
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
    levels: tuple[str, ...] = LEVELS
    summaries: int = 0
    """Rated summaries: the units of the sample level and of detection."""
    detection: tuple[Detection, ...] = ()
    threshold_source: str | None = None
    """Where the thresholds of the balanced accuracies come from (--threshold, or a validation file)."""
    min_units: int = MIN_UNITS
    notes: tuple[str, ...] = ()


#: Most system means the system-level bootstrap may rank: resamples x systems x (metric, criterion) pairs, each
#: resample's means ranked (n log n). About a few minutes of one core (benchmarks/COMPARE.md); beyond it a
#: correlation is refused with a way out (fewer resamples).
SYSTEM_RESAMPLED_MAX = 200_000_000
#: Most resampled summary weights the sample-level bootstrap may pass over: resamples x summaries x (metric,
#: criterion) pairs, a few passes each (one per bit of the ratings' distinct values for Kendall's tau-b);
#: about a few minutes of one core (benchmarks/COMPARE.md).
SAMPLE_RESAMPLED_MAX = 2_000_000_000
#: Most cells of the documents x systems grid (one float array per metric and criterion, 8 bytes a cell).
GRID_MAX = 10_000_000

Scores = Mapping[str, "np.ndarray | Mapping[str, np.ndarray]"]


def correlate(scores: Scores, ratings: Mapping[str, np.ndarray], *,
              annotations: Mapping[str, np.ndarray] | None = None, seed: int = DEFAULT_SEED,
              n_resamples: int = DEFAULT_RESAMPLES, confidence: float = 0.95, levels: Sequence[str] = LEVELS,
              labels: Mapping[str, np.ndarray] | None = None,
              thresholds: Mapping[tuple[str, str], float] | None = None, threshold_source: str | None = None,
              oracle: bool = False) -> Correlations:
    """Every metric against every criterion at each of `levels`, with bootstrap CIs and paired tests.

    `scores` maps a metric (score name) to a documents x systems array, or to a mapping of criterion -> array
    for a metric that scores each criterion apart (UniEval's); `ratings` maps a criterion to an array of the
    same shape (the mean rating of each summary); nan marks a missing value. `labels` maps a criterion rated
    0 or 1 to its array: scored as detection (ROC AUC, and balanced accuracy at `thresholds[(metric,
    criterion)]`; `oracle` adds the threshold best on these very summaries, labelled as tuned on the test
    data). `annotations` maps a criterion to a documents x systems x annotators array of the single ratings,
    for Krippendorff's alpha.
    """
    labels = dict(labels or {})
    grids = [*[a for v in scores.values() for a in (v.values() if isinstance(v, Mapping) else [v])],
             *ratings.values(), *labels.values()]
    shapes = {np.shape(a) for a in grids}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise ValueError(f"scores and ratings must be documents x systems arrays of one shape, got {shapes}")
    n_docs, n_sys = next(iter(shapes))
    unknown = [level for level in levels if level not in LEVELS]
    if unknown:
        raise ValueError(f"unknown levels {unknown}; levels are {LEVELS}")
    levels = tuple(level for level in LEVELS if level in levels)
    rated = np.zeros((n_docs, n_sys), dtype=bool)
    for h in [*ratings.values(), *labels.values()]:
        rated |= np.isfinite(h)
    units = np.flatnonzero(rated.reshape(-1))
    check_size(n_docs, n_sys, n_resamples, summaries=units.size, levels=levels,
               pairs=len(scores) * len(ratings), labelled=len(scores) * len(labels))

    def score(metric: str, criterion: str) -> np.ndarray:
        s = scores[metric]
        if isinstance(s, Mapping):
            return np.asarray(s.get(criterion, np.full((n_docs, n_sys), np.nan)), dtype=np.float64)
        return np.asarray(s, dtype=np.float64)

    pairs = [(m, score(m, c), c, np.asarray(h, dtype=np.float64)) for m in scores for c, h in ratings.items()]
    labelled = [(m, score(m, c), c, np.asarray(y, dtype=np.float64)) for m in scores for c, y in labels.items()]
    points, boots, meta = grid_levels(pairs, levels, seed=seed, n_resamples=n_resamples)
    more = sample_level(pairs if "sample" in levels else [], labelled, units, thresholds=thresholds or {},
                        seed=seed, n_resamples=n_resamples)
    for mine, theirs in zip((points, boots, meta), more):
        mine.update(theirs)
    withheld = {key for key, (n, _) in meta.items() if n < MIN_UNITS}
    columns = [*[(level, c, COEFFICIENTS) for level in levels for c in ratings],
               *[("sample", c, DETECTION) for c in labels]]
    paired = _paired(list(scores), columns, points, boots, withheld, confidence)
    separated = {(p.level, p.criterion, p.coefficient, p.a, p.b): p for p in paired}

    def best(level: str, criterion: str, measures: Sequence[str], metric: str) -> tuple[str, ...]:
        return tuple(c for c in measures if _is_separated_best(level, criterion, c, metric, list(scores), points,
                                                               separated))

    rows = []
    for level in levels:
        for metric in scores:
            for criterion in ratings:
                key = (level, metric, criterion)
                rows.append(Row(metric=metric, criterion=criterion, level=level, n=meta[key][0],
                                skipped=meta[key][1], values={c: points[key][c] for c in COEFFICIENTS},
                                ci={c: _interval(boots[key][c], confidence, key in withheld) for c in COEFFICIENTS},
                                best=best(level, criterion, COEFFICIENTS, metric), withheld=key in withheld))
    tuned = tuned_on_test(labelled, units) if oracle else {}
    detection = []
    for metric, s, criterion, y in labelled:
        key = ("sample", metric, criterion)
        present = np.isfinite(s) & np.isfinite(y) & rated
        positives = int((present & (y == 1)).sum())
        detection.append(Detection(
            metric=metric, criterion=criterion, n=meta[key][0], positives=positives, negatives=meta[key][0] - positives,
            skipped=meta[key][1], values={c: points[key][c] for c in DETECTION},
            ci={c: _interval(boots[key][c], confidence, key in withheld) for c in DETECTION},
            threshold=(thresholds or {}).get((metric, criterion), math.nan), tuned=tuned.get((metric, criterion)),
            best=best("sample", criterion, DETECTION, metric), withheld=key in withheld))
    agreement = tuple(a for c, v in (annotations or {}).items() if (a := _agreement(c, v)) is not None)
    return Correlations(rows=tuple(rows), paired=tuple(paired), agreement=agreement, documents=n_docs,
                        systems=n_sys, seed=seed, resamples=n_resamples, confidence=confidence, levels=levels,
                        summaries=int(units.size), detection=tuple(detection), threshold_source=threshold_source,
                        notes=tuple(_too_few_notes(meta, withheld, levels, bool(labels))))


def check_size(documents: int, systems: int, n_resamples: int, summaries: int | None = None, pairs: int = 1,
               levels: Sequence[str] = LEVELS, labelled: int = 0) -> None:
    """Refuse a grid of more than `GRID_MAX` cells (a file whose systems each summarise other documents), a
    correlation whose system-level bootstrap would rank more than `SYSTEM_RESAMPLED_MAX` means for `pairs`
    (metric, criterion) pairs, and one whose sample-level bootstrap would pass over more than
    `SAMPLE_RESAMPLED_MAX` resampled summaries (`labelled`: the detection pairs)."""
    if documents * systems > GRID_MAX:
        rated = f" for {summaries:,} rated summaries" if summaries is not None else ""
        raise BenchError(f"{documents:,} documents x {systems:,} systems: a grid of {documents * systems:,} "
                         f"cells{rated}, more than bench correlate holds ({GRID_MAX:,})",
                         hint="correlation compares systems on the same documents: keep the documents that several "
                              "systems summarised, or correlate a part of the file at a time")
    ranked = n_resamples * systems * pairs
    if "system" in levels and ranked > SYSTEM_RESAMPLED_MAX:
        most = max(1, SYSTEM_RESAMPLED_MAX // max(1, systems * pairs))
        per = f" x {pairs:,} metric and criterion pairs" if pairs > 1 else ""
        raise BenchError(f"{documents:,} documents x {systems:,} systems: the system-level bootstrap would rank "
                         f"{ranked:,} system means ({n_resamples:,} resamples x {systems:,} systems{per}), more "
                         f"than the {SYSTEM_RESAMPLED_MAX:,} bench correlate ranks in a few minutes",
                         hint=f"ask for {most:,} resamples or fewer (--resamples; the intervals are then coarser), "
                              "or correlate fewer systems at a time")
    pooled = (pairs if "sample" in levels else 0) + labelled
    if summaries is not None and n_resamples * summaries * pooled > SAMPLE_RESAMPLED_MAX:
        most = max(1, SAMPLE_RESAMPLED_MAX // max(1, summaries * pooled))
        per = f" x {pooled:,} metric and criterion pairs" if pooled > 1 else ""
        raise BenchError(f"{summaries:,} rated summaries: the sample-level bootstrap would weigh "
                         f"{n_resamples * summaries * pooled:,} resampled summaries ({n_resamples:,} resamples x "
                         f"{summaries:,} summaries{per}), more than the {SAMPLE_RESAMPLED_MAX:,} bench correlate "
                         "weighs in a few minutes",
                         hint=f"ask for {most:,} resamples or fewer (--resamples; the intervals are then coarser), "
                              "or correlate fewer metrics or criteria at a time")


def _interval(values: np.ndarray, confidence: float, withheld: bool = False) -> tuple[float, float]:
    v = values[np.isfinite(values)]
    if v.size == 0 or withheld:
        return (math.nan, math.nan)
    return percentile_interval(v, confidence)


def _paired(metrics: Sequence[str], columns: Sequence[tuple[str, str, Sequence[str]]],
            points: Mapping[tuple[str, str, str], Mapping[str, float]],
            boots: Mapping[tuple[str, str, str], Mapping[str, np.ndarray]], withheld: set[tuple[str, str, str]],
            confidence: float) -> list[Paired]:
    out = []
    for level, criterion, measures in columns:
        for c in measures:
            for i, a in enumerate(metrics):
                for b in metrics[i + 1:]:
                    ka, kb = (level, a, criterion), (level, b, criterion)
                    if ka in withheld or kb in withheld:
                        continue
                    pa, pb = points[ka][c], points[kb][c]
                    d = boots[ka][c] - boots[kb][c]
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
    """Whether `metric` has the highest value of its column and the paired interval of its difference with
    every other metric (with a value) lies above 0."""
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


def _too_few_notes(meta: Mapping[tuple[str, str, str], tuple[int, int]], withheld: set[tuple[str, str, str]],
                   levels: Sequence[str], detection: bool) -> list[str]:
    """One note per level where some row has fewer than `MIN_UNITS` units."""
    notes = []
    for level in levels:
        few = sorted(meta[k][0] for k in withheld if k[0] == level)
        if not few:
            continue
        counted = [meta[k][0] for k in meta if k[0] == level]
        how = f"{few[0]}" if len(set(counted)) == 1 else f"as few as {few[0]}"
        what = "sample level and detection" if level == "sample" and detection else f"{level} level"
        unit = UNITS[level] if few[0] != 1 else {"summaries": "summary"}.get(UNITS[level], UNITS[level][:-1])
        notes.append(f"{what}: {how} {unit}, fewer than {MIN_UNITS}: no interval, no paired test and no "
                     f"best mark there; a bootstrap over so few {UNITS[level]} cannot support them")
    return notes


def _agreement(criterion: str, values: np.ndarray) -> Agreement | None:
    v = np.asarray(values, dtype=np.float64)
    units = v.reshape(-1, v.shape[-1])
    pairable = int((np.isfinite(units).sum(axis=1) >= 2).sum())
    if pairable == 0:
        return None
    return Agreement(criterion=criterion, alpha=krippendorff_alpha_interval(units), units=pairable,
                     annotators=int(np.isfinite(units).sum(axis=1).max()))
