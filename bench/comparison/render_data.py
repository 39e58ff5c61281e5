"""Comparison tables as data: CSV (`bench compare --format csv`, leaderboard.csv) and JSON (`--format json`, the
Python API's `compare`)."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

from bench.comparison.paired import Paired, SectionComparison
from bench.comparison.select import Section
from bench.comparison.wording import REFERENCE
from bench.io import json_line


CSV_COLUMNS = ("task", "model", "run", "n", "metric", "value", "ci_lo", "ci_hi", "examples_per_s", "task_hash",
               "signature", "direction", "kind")
#: The ``kind`` of a CSV line: a run's value, or the reference row's (the statistics of the references).
RUN_KIND, REFERENCE_KIND = "run", "reference"
CSV_PAIRED_COLUMNS = ("baseline_run", "paired_n", "diff", "diff_ci_lo", "diff_ci_hi", "p_value", "mcnemar_p",
                      "significant")


def _csv_num(x: float | int | None) -> str:
    return "" if x is None or (isinstance(x, float) and not math.isfinite(x)) else repr(x)


def render_csv(sections: Sequence[Section], comparisons: Mapping[int, SectionComparison] | None = None) -> str:
    """One line per (run, metric); floats at full precision so they parse back to the same numbers.

    A section's reference row follows its runs, one line per statistic, with ``kind`` "reference" (model
    "reference", no run, n = the examples with a reference). ``direction`` is "higher", "lower" or "none";
    a corpus-only value has empty CI bounds. With `comparisons`, the paired columns
    (`CSV_PAIRED_COLUMNS`) follow; empty for the baseline run and the reference row.
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS + (CSV_PAIRED_COLUMNS if comparisons is not None else ()))
    for k, s in enumerate(sections):
        paired = {(p.run, p.metric): p for p in (comparisons[k].results if comparisons and k in comparisons else ())}
        for r in s.runs:
            for m in s.metrics:
                lo, hi = r.interval(m)
                row = [s.task, r.model, r.run_id, str(r.n_examples), m, _csv_num(r.metrics[m]), _csv_num(lo), _csv_num(hi),
                       _csv_num(r.examples_per_s), s.task_hash, s.signatures[m], s.direction(m), RUN_KIND]
                if comparisons is not None:
                    p = paired.get((r.run_id, m))
                    row += ([p.baseline_run, str(p.n), _csv_num(p.diff), _csv_num(p.ci[0]), _csv_num(p.ci[1]),
                             _csv_num(p.p_value), _csv_num(p.mcnemar_p), "yes" if p.significant else "no"]
                            if p else [""] * len(CSV_PAIRED_COLUMNS))
                w.writerow(row)
        ref = s.reference
        if ref is not None:
            n = ref.counts.get("reference_examples")
            for m in s.metrics:
                if m not in ref.metrics:
                    continue
                lo, hi = ref.interval(m)
                row = [s.task, REFERENCE, "", "" if n is None else str(n), m, _csv_num(ref.metrics[m]), _csv_num(lo),
                       _csv_num(hi), "", s.task_hash, ref.signatures[m], s.direction(m), REFERENCE_KIND]
                w.writerow(row + ([""] * len(CSV_PAIRED_COLUMNS) if comparisons is not None else []))
    return buf.getvalue()


def json_rows(sections: Sequence[Section]) -> list[dict[str, Any]]:
    """`bench compare --format json`: one row per run, in table order.

    Besides the numbers, each row carries what keeps tables apart: the task
    hash, the signature of each metric, and its section (the table it is in:
    ``{"title", "index", "of", "reference"}``, index 1-based among the sections
    of its task). Rows whose task hashes or signatures differ must not be
    compared. ``directions`` says which way each score is better ("higher",
    "lower", or "none" for a statistic that describes); a corpus-only value has
    a CI of ``[null, null]``. The section's ``reference`` is its reference row
    (`reference_json`), or null: it is no run, so it has a place of its own.
    """
    out = []
    for s in sections:
        section = {"title": s.title, "index": s.index, "of": s.of, "reference": reference_json(s)}
        out.extend(
            {"task": s.task, "model": r.model, "run": r.run_id, "n": r.n_examples,
             "metrics": {m: r.metrics[m] for m in s.metrics},
             "ci": {m: list(r.interval(m)) for m in s.metrics},
             "examples_per_s": r.examples_per_s,
             "task_hash": s.task_hash,
             "signatures": {m: s.signatures[m] for m in s.metrics},
             "directions": {m: s.direction(m) for m in s.metrics},
             "section": section}
            for r in s.runs)
    return out


def reference_json(s: Section) -> dict[str, Any] | None:
    """A section's reference row: ``{"metrics", "ci", "signatures", "counts", "note"}`` (the statistics of the
    task's references, with their own signatures, ``of:reference``), or None."""
    ref = s.reference
    if ref is None:
        return None
    shown = [m for m in s.metrics if m in ref.metrics]
    return {"metrics": {m: ref.metrics[m] for m in shown}, "ci": {m: list(ref.interval(m)) for m in shown},
            "signatures": {m: ref.signatures[m] for m in shown}, "counts": dict(ref.counts),
            "note": s.reference_note}


def paired_json(p: Paired) -> dict[str, Any]:
    """The "paired" object of one metric in a JSON row."""
    return {"baseline": p.baseline_model, "baseline_run": p.baseline_run, "n": p.n, "diff": p.diff,
            "ci": list(p.ci), "p_value": p.p_value, "p_exact": p.exact, "mcnemar_p": p.mcnemar_p,
            "mcnemar_counts": list(p.mcnemar) if p.mcnemar else None, "significant": p.significant,
            "direction": p.direction}


def render_json(sections: Sequence[Section], comparisons: Mapping[int, SectionComparison] | None = None) -> str:
    """The JSON rows; with `comparisons`, rows compared with the baseline get a "paired" object per metric."""
    rows = json_rows(sections)
    if comparisons:
        by_run: dict[str, dict[str, Any]] = {}
        for c in comparisons.values():
            for p in c.results:
                by_run.setdefault(p.run, {})[p.metric] = paired_json(p)
        for row in rows:
            if row["run"] in by_run:
                row["paired"] = by_run[row["run"]]
    return "[\n" + ",\n".join("  " + json_line(r) for r in rows) + "\n]\n" if rows else "[]\n"
