"""The words and cells of `bench correlate`'s detection tables, shared by every format: one table per criterion
rated 0 or 1, one row per metric.

A balanced accuracy at a threshold tuned on the test data (``--oracle-threshold``) is labelled so in its
column, its note and its JSON and CSV fields: it is optimistic, chosen on the summaries it is measured on.
"""

from __future__ import annotations

import math

from bench.correlation.levels import Correlations, Detection

TUNED = "tuned on the test data"
TUNED_COLUMN = f"balanced accuracy, threshold {TUNED} (optimistic)"
DETECTION_WORDING = ("Detection: the criterion is a label (1 or 0), and each metric is also judged by how "
                     "well its scores separate the two; ROC AUC (the chance that a summary labelled 1 scores above one "
                     "labelled 0, ties one half) needs no threshold; balanced accuracy (the mean recall of 1s and 0s, a "
                     "score >= the threshold called 1) needs one chosen elsewhere")


def fmt(x: float | None, digits: int = 3) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def criteria(result: Correlations) -> list[str]:
    return list(dict.fromkeys(d.criterion for d in result.detection))


def rows(result: Correlations, criterion: str) -> list[Detection]:
    return [d for d in result.detection if d.criterion == criterion]


def oracle(result: Correlations) -> bool:
    return any(d.tuned is not None for d in result.detection)


def columns(result: Correlations) -> list[str]:
    out = ["n (1 / 0)", "ROC AUC", "balanced accuracy", "threshold"]
    if oracle(result):
        out += [TUNED_COLUMN, f"threshold {TUNED}"]
    return out


def cells(d: Detection, result: Correlations) -> list[tuple[str, str, bool]]:
    """(value, interval, marked best) of each column of a detection row."""
    def interval(measure: str) -> str:
        if d.withheld:
            return f"n={d.n}: too few for a CI"
        lo, hi = d.ci[measure]
        return "" if not math.isfinite(lo) else f"[{fmt(lo, 2)}, {fmt(hi, 2)}]"

    out = [(f"{d.n} ({d.positives} / {d.negatives})", "", False),
           (fmt(d.values["roc_auc"]), interval("roc_auc"), "roc_auc" in d.best),
           (fmt(d.values["balanced_accuracy"]), interval("balanced_accuracy") if math.isfinite(d.threshold) else "",
            "balanced_accuracy" in d.best),
           (_threshold(d.threshold), "", False)]
    if oracle(result):
        ba, t = (d.tuned[1], d.tuned[0]) if d.tuned else (math.nan, math.nan)
        out += [(fmt(ba), "", False), (_threshold(t), "", False)]
    return out


def _threshold(t: float) -> str:
    return "-" if not math.isfinite(t) else f"{t:.4g}"


def threshold_wording(result: Correlations) -> str:
    """Where the balanced accuracies' thresholds come from, in a sentence."""
    if result.threshold_source == "--threshold":
        where = "thresholds given with --threshold"
    elif result.threshold_source:
        where = f"each threshold {result.threshold_source} (the one that maximises balanced accuracy there)"
    else:
        where = ("no threshold given, so no balanced accuracy: --threshold METRIC=VALUE, or --threshold-from FILE "
                 "to tune it on validation data")
    text = f"Balanced accuracy: {where}."
    if oracle(result):
        text += (f" The columns '{TUNED_COLUMN}' use the threshold best on these very summaries "
                 "(--oracle-threshold): an upper bound, not an estimate of how the metric does on new data.")
    return text


def heading(result: Correlations, criterion: str) -> str:
    d = rows(result, criterion)
    n = max((x.n for x in d), default=0)
    pos = max((x.positives for x in d), default=0)
    return (f"Detection of {criterion}: {n} summaries ({pos} labelled 1), bootstrap over the summaries")
