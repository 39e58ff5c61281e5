"""What every comparison format says the same way: the legend, notes under a table, the paired-test wording, and
how numbers are printed (Markdown, CSV, JSON, terminal and HTML all take them from here)."""

from __future__ import annotations

import math

from bench.comparison.paired import (
    EXACT_PERMUTATION_MAX_N, PERMUTATION_RESAMPLES, Paired, SectionComparison, min_permutation_p,
)
from bench.comparison.select import Section, parse_signature
from bench.results.record import MetricResults, RunRecord

CI_WORDING = "mean over examples (rates x100), 95% bootstrap CI"
#: The label of the reference row (the statistics of the task's references, not a model).
REFERENCE = "reference"
#: How a column header shows its score's direction.
ARROWS = {"higher": " ↑", "lower": " ↓", "none": ""}
DIRECTION_WORDING = "↑ higher is better, ↓ lower is better, no arrow: describes the outputs (no best)"


def header(section: Section, metric: str) -> str:
    """A column's name with its direction's arrow."""
    return metric + ARROWS.get(section.direction(metric), "")


def legend(section: Section, best: str, *, arrows: bool = True) -> str:
    """What the numbers of a section's table are: `best` says how the best value is marked; `arrows` adds
    what the arrows mean, where some column is not "higher is better"."""
    shown = arrows and any(section.direction(m) != "higher" for m in section.metrics)
    return f"{CI_WORDING}; {best}" + (f"; {DIRECTION_WORDING}" if shown else "")


def section_notes(section: Section) -> list[str]:
    """Notes under a section's table: corpus-only values, statistics without a direction, the reference row."""
    notes: list[str] = []
    corpus = section.corpus_only_metrics
    if corpus:
        aggs = sorted({parse_signature(section.signatures[m])[1].get("agg", "?") for m in corpus})
        notes.append(f"{', '.join(corpus)}: one value over the whole set (agg:{', agg:'.join(aggs)}), so no CI "
                     "and no per-example scores: never in a paired test or among the examples that differ.")
    thresholds = [m for m in section.undirected_metrics if m in corpus]
    if thresholds:
        notes.append(f"{', '.join(thresholds)}: thresholds chosen on this set, not scores; never marked best.")
    describe = [m for m in section.undirected_metrics if m not in corpus]
    if describe:
        one = len(describe) == 1
        notes.append(f"{', '.join(describe)} {'describes' if one else 'describe'} the outputs and "
                     f"{'has' if one else 'have'} no better direction: no best is marked.")
    if section.reference is not None:
        notes.append(f"{REFERENCE}: the same statistics computed on the task's references instead of a model's "
                     "predictions (the mean over each example's references; n: the examples with a reference); "
                     "it is not a model: never best, never compared.")
    if section.reference_note:
        notes.append(section.reference_note)
    for run in section.runs:
        for metric, k in run.unscored.items():
            if metric in section.metrics:
                notes.append(f"{metric}: {run.model} could not score {k} of {run.n_examples} examples (e.g. a judge's replies "
                             "that did not parse); its mean is over the others.")
    return notes


def ci_text(run: RunRecord | MetricResults, metric: str, sep: str = "-") -> str:
    """A value's 95% CI as "lo<sep>hi", or "-" when it has none (a corpus-only value)."""
    lo, hi = run.interval(metric)
    if lo is None or hi is None:
        return "-"
    return f"{fmt(lo)}{sep}{fmt(hi)}"


def is_best(section: Section, metric: str, value: float | None) -> bool:
    return metric in section.best and value is not None and value == section.best[metric]

# ------------------------------------------------------------- numbers


def fmt(x: float | None, digits: int = 2) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def fmt_speed(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}"


def fmt_p(p: float | None) -> str:
    if p is None or not math.isfinite(p):
        return "-"
    return "<0.0001" if p < 1e-4 else f"{p:.4f}"


def fmt_signed(x: float) -> str:
    return f"{x:+.2f}"


def truncate(text: str, limit: int = 400) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def signature_lines(section: Section) -> list[str]:
    return [section.signatures[m] for m in section.metrics]


def paired_wording(alpha: float) -> str:
    """What the paired table's numbers are, printed under it."""
    return (f"Difference = model - baseline, mean over the examples both runs share; 95% paired bootstrap CI; "
            f"p: two-sided paired permutation test (exact for n up to {EXACT_PERMUTATION_MAX_N}, else "
            f"{PERMUTATION_RESAMPLES:,} seeded sign flips); McNemar: exact binomial test, exact match only. "
            f"Significant: p below {alpha:g}; "
            "no correction for multiple comparisons. " + DIRECTION_WORDING + ": a difference there is no win.")


def paired_metric(p: Paired) -> str:
    """The metric cell of a paired table: its name and its direction's arrow."""
    return p.metric + ARROWS.get(p.direction, "")


def paired_notes(c: SectionComparison) -> list[str]:
    """Notes under a paired table: metrics without per-example scores, too few examples to reach significance."""
    notes: list[str] = []
    if c.corpus_only:
        notes.append(f"No paired test for {', '.join(c.corpus_only)}: one value over the whole set, with no "
                     "per-example scores.")
    if c.skipped:
        notes.append(f"No paired test for {', '.join(c.skipped)}: predictions.jsonl has no per-example scores "
                     "for them.")
    ns = sorted({p.n for p in c.results})
    if ns and c.results and min_permutation_p(ns[0]) >= c.results[0].alpha:
        notes.append(f"With n = {ns[0]} shared example{'s' if ns[0] != 1 else ''} no difference can reach significance "
                     f"(the smallest possible p is {min_permutation_p(ns[0]):.4g}).")
    return notes
