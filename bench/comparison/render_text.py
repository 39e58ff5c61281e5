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
from bench.comparison.select import SPEED, Run, Section
from bench.comparison.stats import (
    DEFAULT_ALPHA, EXACT_PERMUTATION_MAX_N, PERMUTATION_RESAMPLES, Paired, SectionComparison, min_permutation_p,
)
from bench.errors import visible
from bench.io import json_line

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

CI_WORDING = "mean x100 over examples, 95% bootstrap CI"

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
    return (f"Difference = model - baseline, mean x100 over the examples both runs share; 95% paired bootstrap CI; "
            f"p: two-sided paired permutation test (exact for n up to {EXACT_PERMUTATION_MAX_N}, else "
            f"{PERMUTATION_RESAMPLES:,} seeded sign flips); McNemar: exact binomial test, exact match only. "
            f"Significant: p below {alpha:g}; "
            "no correction for multiple comparisons.")


def paired_notes(c: SectionComparison) -> list[str]:
    """Notes under a paired table: metrics without per-example scores, too few examples to reach significance."""
    notes: list[str] = []
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


def _md_value(run: Run, metric: str, section: Section) -> str:
    v = run.metrics.get(metric)
    lo, hi = run.ci.get(metric, (None, None))
    text = fmt(v)
    if metric in section.best and v == section.best[metric]:
        text = f"**{text}**"
    return f"{text} [{fmt(lo)}, {fmt(hi)}]"


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
                   f"{CI_WORDING} in brackets; **bold** = best in column.\n")
        out.append("| model | run | n | " + " | ".join(md_cell(m) for m in s.metrics) + " | ex/s |")
        out.append("|---|---|--:|" + "--:|" * len(s.metrics) + "--:|")
        for r in s.runs:
            speed = fmt_speed(r.examples_per_s)
            if SPEED in s.best and r.examples_per_s == s.best[SPEED]:
                speed = f"**{speed}**"
            cells = [md_cell(r.model), md_cell(r.run_id), str(r.n), *(_md_value(r, m, s) for m in s.metrics), speed]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
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
            out.append(f"| {md_cell(p.model)} | {md_cell(p.metric)} | {p.n} | {fmt(p.baseline_mean)} | "
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
               "signature")
CSV_PAIRED_COLUMNS = ("baseline_run", "paired_n", "diff", "diff_ci_lo", "diff_ci_hi", "p_value", "mcnemar_p",
                      "significant")


def _csv_num(x: float | int | None) -> str:
    return "" if x is None or (isinstance(x, float) and not math.isfinite(x)) else repr(x)


def render_csv(sections: Sequence[Section], comparisons: Mapping[int, SectionComparison] | None = None) -> str:
    """One line per (run, metric); floats at full precision so they parse back to the same numbers.

    With `comparisons`, the paired columns (`CSV_PAIRED_COLUMNS`) follow; empty for the baseline run.
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
                       _csv_num(r.examples_per_s), s.task_hash, s.signatures[m]]
                if comparisons is not None:
                    p = paired.get((r.run_id, m))
                    row += ([p.baseline_run, str(p.n), _csv_num(p.diff), _csv_num(p.ci[0]), _csv_num(p.ci[1]),
                             _csv_num(p.p_value), _csv_num(p.mcnemar_p), "yes" if p.significant else "no"]
                            if p else [""] * len(CSV_PAIRED_COLUMNS))
                w.writerow(row)
    return buf.getvalue()


def json_rows(sections: Sequence[Section]) -> list[dict[str, Any]]:
    """`bench compare --format json`: one row per run, in table order.

    Besides the numbers, each row carries what keeps tables apart: the task
    hash, the signature of each metric, and its section (the table it is in:
    ``{"title", "index", "of"}``, index 1-based among the sections of its task).
    Rows whose task hashes or signatures differ must not be compared.
    """
    return [
        {"task": s.task, "model": r.model, "run": r.run_id, "n": r.n,
         "metrics": {m: r.metrics[m] for m in s.metrics},
         "ci": {m: list(r.ci[m]) for m in s.metrics},
         "examples_per_s": r.examples_per_s,
         "task_hash": s.task_hash,
         "signatures": {m: s.signatures[m] for m in s.metrics},
         "section": {"title": s.title, "index": s.index, "of": s.of}}
        for s in sections for r in s.runs
    ]


def paired_json(p: Paired) -> dict[str, Any]:
    """The "paired" object of one metric in a JSON row."""
    return {"baseline": p.baseline_model, "baseline_run": p.baseline_run, "n": p.n, "diff": p.diff,
            "ci": list(p.ci), "p_value": p.p_value, "p_exact": p.exact, "mcnemar_p": p.mcnemar_p,
            "mcnemar_counts": list(p.mcnemar) if p.mcnemar else None, "significant": p.significant}


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


def render_table(sections: Sequence[Section], comparisons: Mapping[int, SectionComparison] | None = None,
                 flips: Mapping[int, FlipPairs] | None = None, *, to_terminal: bool) -> str:
    """The `bench compare` terminal tables (rich); colours and the terminal's width only when `to_terminal`."""
    from rich.console import Console
    from rich.table import Table

    buf = io.StringIO()
    console = (Console(file=buf, width=None if sys.stdout.isatty() else 120, force_terminal=sys.stdout.isatty())
               if to_terminal else Console(file=buf, width=120, no_color=True, force_terminal=False))
    for k, s in enumerate(sections):
        table = Table()
        show_run = len({r.model for r in s.runs}) < len(s.runs)  # a model with several runs (--all-runs)
        table.add_column("model", no_wrap=True)
        if show_run:
            table.add_column("run")
        table.add_column("n", justify="right")
        for m in s.metrics:
            table.add_column(text(metric_header(visible(m)), multiline=True), justify="right", min_width=11)
        table.add_column("ex/s", justify="right")
        for r in s.runs:
            cells = [text(r.model), *([text(r.run_id)] if show_run else []), text(str(r.n))]
            for m in s.metrics:
                v = r.metrics.get(m)
                lo, hi = r.ci[m]
                star = "*" if m in s.best and v == s.best[m] else " "
                cells.append(text(f"{fmt(v)}{star}\n{fmt(lo)}-{fmt(hi)}", multiline=True))
            star = "*" if SPEED in s.best and r.examples_per_s == s.best[SPEED] else " "
            cells.append(text(f"{fmt_speed(r.examples_per_s)}{star}"))
            table.add_row(*cells)
        if s.note:
            console.print(text(f"note: {s.note}"))
        elif s.of > 1:
            console.print(text(f"note: {s.task} has runs in {s.of} tables that cannot share columns; see below."))
        console.print(text(f"{s.title}: {CI_WORDING}; * best in column", "bold"))
        console.print(table)
        console.print(text(f"task hash {s.task_hash[:12]}, {s.n} example{'s' if s.n != 1 else ''}; signatures:"))
        for sig in signature_lines(s):
            console.print(text(f"  {sig}"))
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
        table.add_column(text(col), justify=just)
    for p in c.results:
        mc = f"{fmt_p(p.mcnemar_p)} ({p.mcnemar[0]}/{p.mcnemar[1]})" if p.mcnemar else "-"
        table.add_row(text(p.model), text(p.metric), str(p.n), fmt(p.baseline_mean), fmt(p.mean),
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
