"""Comparison tables as Markdown (`bench compare --format md`, leaderboard.md)."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from bench.comparison.flips import FlipPairs
from bench.comparison.paired import DEFAULT_ALPHA, SectionComparison
from bench.comparison.select import SPEED, Section
from bench.comparison.wording import (REFERENCE, ci_text, fmt, fmt_p, fmt_signed, fmt_speed, header, is_best, legend,
                                      paired_metric, paired_notes, paired_wording, section_notes, signature_lines,
                                      truncate)
from bench.results.record import MetricResults, RunRecord


def md_cell(text: str) -> str:
    """Text for a Markdown table cell: HTML-escaped (outputs are untrusted), pipes and newlines kept inert."""
    return html.escape(text, quote=False).replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


def md_code(text: str) -> str:
    """A Markdown code span (HTML inside is shown, not interpreted); backticks and newlines removed."""
    return "`" + text.replace("`", "'").replace("\r", " ").replace("\n", " ") + "`"


def _md_value(run: RunRecord | MetricResults, metric: str, section: Section, *, mark: bool = True) -> str:
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
            cells = [md_cell(r.model), md_cell(r.run_id), str(r.n_examples), *(_md_value(r, m, s) for m in s.metrics), speed]
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
