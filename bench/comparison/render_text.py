"""Comparison tables on the terminal (`bench compare`'s default format): rich, imported when drawn.

Everything from a results directory (model names, run ids, metric names, signatures, ids, predictions,
references) is shown through `text` / `block`: control characters made visible, never parsed as rich markup.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from bench.comparison.flips import FlipPairs
from bench.comparison.paired import SectionComparison
from bench.comparison.select import SPEED, Section, parse_signature
from bench.comparison.wording import (DIRECTION_WORDING, REFERENCE, ci_text, fmt, fmt_p, fmt_signed, fmt_speed, header,
                                      is_best, legend, paired_metric, paired_notes, paired_wording, section_notes,
                                      signature_lines, truncate)
from bench.errors import visible
from bench.results.record import MetricResults, RunRecord

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

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


def _cell(section: Section, run: RunRecord | MetricResults, metric: str, *, mark: bool) -> str:
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
        rows: list[RunRecord | MetricResults] = [*s.runs, *([s.reference] if s.reference is not None else [])]
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
                cells = [text(r.model), *([text(r.run_id)] if show_run else []), text(str(r.n_examples))]
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
