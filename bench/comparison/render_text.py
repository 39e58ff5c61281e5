"""Comparison tables as text: Markdown, CSV, JSON and the terminal table (rich, imported when drawn)."""

from __future__ import annotations

import csv
import html
import io
import math
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from bench.comparison.flips import FlipPairs
from bench.comparison.select import SPEED, Run, Section, Statistics, parse_signature
from bench.comparison.paired import (
    DEFAULT_ALPHA, EXACT_PERMUTATION_MAX_N, PERMUTATION_RESAMPLES, Paired, SectionComparison, min_permutation_p,
)
from bench.errors import visible
from bench.io import json_line

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

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
                notes.append(f"{metric}: {run.model} could not score {k} of {run.n} examples (e.g. a judge's replies "
                             "that did not parse); its mean is over the others.")
    return notes


def ci_text(run: Run | Statistics, metric: str, sep: str = "-") -> str:
    """A value's 95% CI as "lo<sep>hi", or "-" when it has none (a corpus-only value)."""
    lo, hi = run.ci.get(metric, (None, None))
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


# ------------------------------------------------------------ markdown


def md_cell(text: str) -> str:
    """Text for a Markdown table cell: HTML-escaped (outputs are untrusted), pipes and newlines kept inert."""
    return html.escape(text, quote=False).replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


def md_code(text: str) -> str:
    """A Markdown code span (HTML inside is shown, not interpreted); backticks and newlines removed."""
    return "`" + text.replace("`", "'").replace("\r", " ").replace("\n", " ") + "`"


def _md_value(run: Run | Statistics, metric: str, section: Section, *, mark: bool = True) -> str:
    if metric not in run.metrics:
        return "-"
    v = run.metrics.get(metric)
    text = fmt(v)
    if mark and is_best(section, metric, v):
        text = f"**{text}**"
    ci = ci_text(run, metric, ", ")
    return f"{text} [{ci}]"


def _md_reference_row(s: Section) -> str | None:
    ref = s.reference
    if ref is None:
        return None
    n = ref.counts.get("reference_examples")
    cells = [f"*{REFERENCE}*", "", "" if n is None else str(n),
             *(_md_value(ref, m, s, mark=False) for m in s.metrics), "-"]
    return "| " + " | ".join(cells) + " |"


def render_markdown(sections: Sequence[Section], comparisons: Mapping[int, SectionComparison] | None = None,
                    flips: Mapping[int, FlipPairs] | None = None, heading: str = "##") -> str:
    """Markdown tables, one per section, with paired statistics and flips when given (keyed by section index)."""
    out: list[str] = []
    for k, s in enumerate(sections):
        out.append(f"{heading} {md_cell(s.title)}\n")
        if s.note:
            out.append(f"> {md_cell(s.note)}\n")
        elif s.of > 1:
            out.append(f"> {md_cell(s.task)} has runs in {s.of} tables that cannot share columns; see below.\n")
        out.append(f"Task hash `{s.task_hash[:12]}`, {s.n} example{'s' if s.n != 1 else ''}; "
                   f"{md_cell(legend(s, '**bold** = best in column'))}; CI in brackets.\n")
        out.append("| model | run | n | " + " | ".join(md_cell(header(s, m)) for m in s.metrics) + " | ex/s |")
        out.append("|---|---|--:|" + "--:|" * len(s.metrics) + "--:|")
        for r in s.runs:
            speed = fmt_speed(r.examples_per_s)
            if SPEED in s.best and r.examples_per_s == s.best[SPEED]:
                speed = f"**{speed}**"
            cells = [md_cell(r.model), md_cell(r.run_id), str(r.n), *(_md_value(r, m, s) for m in s.metrics), speed]
            out.append("| " + " | ".join(cells) + " |")
        ref_row = _md_reference_row(s)
        if ref_row:
            out.append(ref_row)
        out.append("")
        out.extend(f"{md_cell(n)}\n" for n in section_notes(s))
        out.append("Signatures:\n")
        out.extend(f"- {md_code(x)}" for x in signature_lines(s))
        out.append("")
        if comparisons and k in comparisons:
            out.extend(_md_paired(comparisons[k], heading))
        if flips and k in flips:
            out.extend(_md_flips(flips[k], heading))
    return "\n".join(out).rstrip() + "\n"


def _md_paired(c: SectionComparison, heading: str) -> list[str]:
    s = c.section
    if c.baseline is None:
        return ["No run of the baseline model in this table, so no paired comparison.\n"]
    base = c.baseline.model
    out = [f"{heading}# Paired comparison with {md_cell(base)} ({md_cell(s.title)})\n",
           md_cell(paired_wording(c.results[0].alpha if c.results else DEFAULT_ALPHA)) + "\n"]
    if not c.results:
        out.append("No other run in this table.\n")
    else:
        out.append(f"| model | metric | n | {md_cell(base)} | score | diff | 95% CI | p | McNemar p (b/c) | "
                   "significant |")
        out.append("|---|---|--:|--:|--:|--:|--:|--:|--:|---|")
        for p in c.results:
            diff = fmt_signed(p.diff)
            mc = f"{fmt_p(p.mcnemar_p)} ({p.mcnemar[0]}/{p.mcnemar[1]})" if p.mcnemar else "-"
            sig = "**yes**" if p.significant else "no"
            out.append(f"| {md_cell(p.model)} | {md_cell(paired_metric(p))} | {p.n} | {fmt(p.baseline_mean)} | "
                       f"{fmt(p.mean)} | {f'**{diff}**' if p.significant else diff} | "
                       f"[{fmt_signed(p.ci[0])}, {fmt_signed(p.ci[1])}] | {fmt_p(p.p_value)} | {mc} | {sig} |")
        out.append("")
    out.extend(f"{md_cell(n)}\n" for n in paired_notes(c))
    return out


def _md_flips(pairs: FlipPairs, heading: str) -> list[str]:
    out: list[str] = []
    for base, run, items in pairs:
        metric = items[0].metric if items else ""
        out.append(f"{heading}# Examples where {md_cell(run.model)} and {md_cell(base.model)} differ most"
                   f"{' on ' + md_cell(metric) if metric else ''}\n")
        if not items:
            out.append("They score every shared example the same.\n")
            continue
        out.append(f"| id | references | {md_cell(base.model)} | {md_cell(run.model)} | "
                   f"{md_cell(metric)} ({md_cell(base.model)} → {md_cell(run.model)}) |")
        out.append("|---|---|---|---|--:|")
        for f in items:
            refs = "<br>".join(f"{i}. {md_cell(truncate(r))}" for i, r in enumerate(f.references, 1)) or "(none)"
            q = f"{md_cell(f.question)}<br>" if f.question else ""
            out.append(f"| {md_cell(f.id)} | {q}{refs} | {md_cell(truncate(f.baseline_prediction)) or '(empty)'} | "
                       f"{md_cell(truncate(f.prediction)) or '(empty)'} | {fmt(f.baseline_scores[metric])} → "
                       f"{fmt(f.scores[metric])} ({fmt_signed(f.diff)}) |")
        out.append("")
    return out


# ------------------------------------------------------------- csv, json


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
                lo, hi = r.ci[m]
                row = [s.task, r.model, r.run_id, str(r.n), m, _csv_num(r.metrics[m]), _csv_num(lo), _csv_num(hi),
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
                lo, hi = ref.ci[m]
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
            {"task": s.task, "model": r.model, "run": r.run_id, "n": r.n,
             "metrics": {m: r.metrics[m] for m in s.metrics},
             "ci": {m: list(r.ci[m]) for m in s.metrics},
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
    return {"metrics": {m: ref.metrics[m] for m in shown}, "ci": {m: list(ref.ci[m]) for m in shown},
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


# ------------------------------------------------------------ terminal
#
# Everything from a results directory (model names, run ids, metric names, signatures, ids, predictions,
# references) is shown through `text` / `block`: control characters made visible, never parsed as rich markup.


def text(s: str, style: str = "", *, multiline: bool = False) -> Text:
    """A rich Text of `s` with its control characters made visible (newlines kept only when `multiline`)."""
    from rich.text import Text

    return Text(visible(s, multiline=multiline), style=style)


def block(s: str, indent: str) -> str:
    """Multi-line text from data (a prediction, a reference) made visible, its later lines indented by `indent`."""
    return visible(s, multiline=True).replace("\n", "\n" + indent)


#: Width of a metric column in the terminal table besides its text (padding and border).
COLUMN_PAD = 3


def metric_family(section: Section, metric: str) -> tuple[str, ...]:
    """Which metric a column most likely comes from, for laying out the terminal table: the option fields of
    its signature (ROUGE's nrefs/tok/stem, extractiveness's tok/of, ...). Layout only, never comparability."""
    _, fields = parse_signature(section.signatures[metric])
    return tuple(k for k in fields if k not in ("bench", "code", "split", "agg"))


def column_groups(section: Section, widths: dict[str, int], room: int) -> list[list[str]]:
    """The section's metric columns in tables that fit `room` characters: consecutive columns of one metric
    (`metric_family`) stay together where they fit, a group too wide for one table is split."""
    groups: list[list[str]] = []
    for m in section.metrics:
        if groups and metric_family(section, groups[-1][-1]) == metric_family(section, m):
            groups[-1].append(m)
        else:
            groups.append([m])
    tables: list[list[str]] = [[]]
    used = 0
    for group in groups:
        need = sum(widths[m] for m in group)
        if tables[-1] and used + need > room:
            tables.append([])
            used = 0
        for m in group:
            if tables[-1] and used + widths[m] > room:
                tables.append([])
                used = 0
            tables[-1].append(m)
            used += widths[m]
    return tables


def _cell(section: Section, run: Run | Statistics, metric: str, *, mark: bool) -> str:
    if metric not in run.metrics:
        return "-"
    v = run.metrics.get(metric)
    star = "*" if mark and is_best(section, metric, v) else " "
    return f"{fmt(v)}{star}\n{ci_text(run, metric)}"


def render_table(sections: Sequence[Section], comparisons: Mapping[int, SectionComparison] | None = None,
                 flips: Mapping[int, FlipPairs] | None = None, *, to_terminal: bool) -> str:
    """The `bench compare` terminal tables (rich); colours and the terminal's width only when `to_terminal`.

    A section with more metric columns than the width holds is shown as several tables, one after the
    other, each with the model column: ROUGE (or whichever metric comes first) in the first, the
    throughput with it, then the other metrics' columns, kept together per metric. The reference row is
    in the tables that have a column it has a value for.
    """
    from rich.console import Console
    from rich.table import Table

    buf = io.StringIO()
    console = (Console(file=buf, width=None if sys.stdout.isatty() else 120, force_terminal=sys.stdout.isatty())
               if to_terminal else Console(file=buf, width=120, no_color=True, force_terminal=False))
    for k, s in enumerate(sections):
        show_run = len({r.model for r in s.runs}) < len(s.runs)  # a model with several runs (--all-runs)
        rows: list[Run | Statistics] = [*s.runs, *([s.reference] if s.reference is not None else [])]
        widths = {m: max(11, *(len(line) for line in metric_header(visible(header(s, m))).split("\n")),
                         *(len(line) for r in rows for line in _cell(s, r, m, mark=True).split("\n")))
                  + COLUMN_PAD for m in s.metrics}
        # model (or "reference"), n, ex/s and the table's left border, and the run column when shown
        fixed = (max(len(REFERENCE), *(len(visible(r.model)) for r in s.runs)) + COLUMN_PAD
                 + len(str(s.n)) + COLUMN_PAD + 10 + 1
                 + (max(len(r.run_id) for r in s.runs) + COLUMN_PAD if show_run else 0))
        room = max(console.width - fixed, min(widths.values()))
        if s.note:
            console.print(text(f"note: {s.note}"))
        elif s.of > 1:
            console.print(text(f"note: {s.task} has runs in {s.of} tables that cannot share columns; see below."))
        console.print(text(f"{s.title}: {legend(s, '* best in column', arrows=False)}", "bold"))
        if any(s.direction(m) != "higher" for m in s.metrics):
            console.print(text(DIRECTION_WORDING))
        for t, cols in enumerate(column_groups(s, widths, room)):
            table = Table()
            table.add_column("model", no_wrap=True)
            if show_run:
                table.add_column("run")
            table.add_column("n", justify="right")
            for m in cols:
                table.add_column(text(metric_header(visible(header(s, m))), multiline=True), justify="right",
                                 min_width=11)
            if t == 0:
                table.add_column("ex/s", justify="right")
            for r in s.runs:
                cells = [text(r.model), *([text(r.run_id)] if show_run else []), text(str(r.n))]
                cells += [text(_cell(s, r, m, mark=True), multiline=True) for m in cols]
                if t == 0:
                    star = "*" if SPEED in s.best and r.examples_per_s == s.best[SPEED] else " "
                    cells.append(text(f"{fmt_speed(r.examples_per_s)}{star}"))
                table.add_row(*cells)
            ref = s.reference
            if ref is not None and any(m in ref.metrics for m in cols):
                n = ref.counts.get("reference_examples")
                cells = [text(REFERENCE, "italic"), *([text("")] if show_run else []),
                         text("" if n is None else str(n))]
                cells += [text(_cell(s, ref, m, mark=False), "italic", multiline=True) for m in cols]
                if t == 0:
                    cells.append(text("-"))
                table.add_row(*cells, end_section=False)
            console.print(table)
        console.print(text(f"task hash {s.task_hash[:12]}, {s.n} example{'s' if s.n != 1 else ''}; signatures:"))
        for sig in signature_lines(s):
            console.print(text(f"  {sig}"))
        for note in section_notes(s):
            console.print(text(f"note: {note}"))
        console.print()
        if comparisons and k in comparisons:
            _paired_table(console, comparisons[k])
        if flips and k in flips:
            _flip_text(console, flips[k])
    return buf.getvalue()


def metric_header(metric: str) -> str:
    """A long metric name broken after its first '_' so narrow columns keep it whole."""
    head, sep, tail = metric.partition("_")
    return f"{head}_\n{tail}" if len(metric) > 11 and sep and tail else metric


def _paired_table(console: Console, c: SectionComparison) -> None:
    from rich.table import Table

    if c.baseline is None:
        console.print(text(f"{c.section.title}: no run of the baseline model here, so no paired comparison."))
        console.print()
        return
    base = c.baseline.model
    table = Table()
    for col, just in (("model", "left"), ("metric", "left"), ("n", "right"), (base, "right"), ("score", "right"),
                      ("diff", "right"), ("95% CI", "right"), ("p", "right"), ("McNemar p (b/c)", "right"),
                      ("significant", "left")):
        table.add_column(text(col), justify=just, no_wrap=col in ("metric", "95% CI"))
    for p in c.results:
        mc = f"{fmt_p(p.mcnemar_p)} ({p.mcnemar[0]}/{p.mcnemar[1]})" if p.mcnemar else "-"
        table.add_row(text(p.model), text(paired_metric(p)), str(p.n), fmt(p.baseline_mean), fmt(p.mean),
                      fmt_signed(p.diff), f"{fmt_signed(p.ci[0])} to {fmt_signed(p.ci[1])}", fmt_p(p.p_value),
                      mc, "yes" if p.significant else "no")
    if c.results:
        console.print(text(f"{c.section.title}: paired comparison with {base}", "bold"))
        console.print(table)
        console.print(text(paired_wording(c.results[0].alpha)))
    else:
        console.print(text(f"{c.section.title}: no other run to compare with {base}."))
    for note in paired_notes(c):
        console.print(text(note))
    console.print()


def _flip_text(console: Console, pairs: FlipPairs) -> None:
    for base, run, items in pairs:
        metric = items[0].metric if items else ""
        console.print(text(f"Examples where {run.model} and {base.model} differ most"
                           f"{' on ' + metric if metric else ''}:", "bold"))
        if not items:
            console.print(text("  they score every shared example the same"))
            console.print()
            continue
        for f in items:
            console.print(text(f"  {f.id}  {metric}: {base.model} {fmt(f.baseline_scores[metric])} -> "
                               f"{run.model} {fmt(f.scores[metric])} ({fmt_signed(f.diff)})"))
            if f.question:
                console.print(text(f"    question: {block(truncate(f.question), ' ' * 6)}", multiline=True))
            for i, ref in enumerate(f.references, 1):
                console.print(text(f"    reference {i}: {block(truncate(ref), ' ' * 6)}", multiline=True))
            for model, prediction in ((base.model, f.baseline_prediction), (run.model, f.prediction)):
                shown = block(truncate(prediction), " " * 6) or "(empty)"
                console.print(text(f"    {visible(model)}: {shown}", multiline=True))
        console.print()
