"""`bench compare`: results tables, paired statistics, flipped examples, HTML report.

Imports numpy and rich at most; never torch, transformers, datasets or evaluate.
"""

from __future__ import annotations

import io
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from bench.cli.options import option_name
from bench.errors import EXIT_ENVIRONMENT, BenchError, relpath


class CompareFormat(str, Enum):
    table = "table"
    md = "md"
    csv = "csv"
    json = "json"
    html = "html"


#: Drill-down examples per pair in the HTML report when --examples is not given.
HTML_EXAMPLES = 10


def compare(
    results_dirs: Annotated[Optional[list[Path]], typer.Argument(
        help="Results directories (or run directories) to read. Default: results.", show_default=False)] = None,
    task: Annotated[Optional[list[str]], typer.Option("--task", "-t", help="Only this task (repeatable).")] = None,
    model: Annotated[Optional[list[str]], typer.Option("--model", "-m", help="Only this model (repeatable).")] = None,
    metric: Annotated[Optional[list[str]], typer.Option("--metric", help="Only this metric (repeatable).")] = None,
    fmt: Annotated[CompareFormat, typer.Option("--format", "-f", help="table, md, csv, json or html.")] = CompareFormat.table,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write to this file instead of stdout.")] = None,
    all_runs: Annotated[bool, typer.Option("--all-runs", help="Every run, not only the latest of each model on each task.")] = False,
    baseline: Annotated[Optional[str], typer.Option(
        "--baseline", "-b", help="Compare every other model with this one: paired differences, CIs and p-values.")] = None,
    examples: Annotated[Optional[int], typer.Option(
        "--examples", help="Show the N examples where two models differ most (against --baseline, else against "
        f"the best model on the first metric). Default: 0, or {HTML_EXAMPLES} in the HTML report.")] = None,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Also write the charts to this PNG file (needs matplotlib).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the paired bootstrap and permutation test.")] = 12345,
    alpha: Annotated[float, typer.Option("--alpha", help="Significance level of the paired tests.")] = 0.05,
) -> None:
    """Compare runs: a table per task with 95% CIs; --baseline adds paired significance tests."""
    from bench.api import check_compare_arguments
    from bench.comparison import select as C

    if examples is not None and examples < 0:
        raise BenchError(f"--examples must be 0 or more, got {examples}")
    if examples and fmt in (CompareFormat.csv, CompareFormat.json):
        raise BenchError(f"--examples shows example texts; it applies to table, md and html, not {fmt.value}")
    check_compare_arguments(alpha=alpha, name=option_name)
    if plot is not None and plot.suffix.lower() != ".png":
        raise BenchError(f"--plot writes a PNG file; got {str(plot)!r}", hint="e.g. --plot charts.png")
    dirs = results_dirs or [Path("results")]
    sections = C.select(dirs, tasks=task or [], models=model or [], metrics=metric or [], all_runs=all_runs)
    if not sections:
        raise BenchError("no run matches the selection", hint="see `bench compare` without --task/--model/--metric")
    if baseline is not None:
        C.check_baseline(sections, baseline)
    cache: dict = {}
    comparisons = ({k: C.compare_section(s, baseline, seed=seed, alpha=alpha, cache=cache)
                    for k, s in enumerate(sections)} if baseline is not None else None)
    n_examples = examples if examples is not None else (HTML_EXAMPLES if fmt is CompareFormat.html else 0)
    flips = _flips(C, sections, baseline, metric or [], n_examples, cache) if n_examples else None

    if fmt is CompareFormat.table:
        text = _render_table(C, sections, comparisons, flips, to_terminal=output is None)
    elif fmt is CompareFormat.md:
        text = C.render_markdown(sections, comparisons, flips)
    elif fmt is CompareFormat.csv:
        text = C.render_csv(sections, comparisons)
    elif fmt is CompareFormat.json:
        text = C.render_json(sections, comparisons)
    else:
        from bench.comparison.render_html import render_html

        text = render_html(sections, comparisons, flips, sources=[relpath(d) for d in dirs])
    if fmt in (CompareFormat.csv, CompareFormat.json):
        for s in sections:
            if s.note:
                typer.echo(f"note: {s.title}: {s.note}", err=True)
    if plot is not None:
        _write_png(sections, plot)
        typer.echo(f"wrote {relpath(plot)}", err=True)
    if output is not None:
        C.write_atomic(output, text)
        typer.echo(f"wrote {relpath(output)}", err=True)
    else:
        sys.stdout.write(text)


def _flips(C, sections, baseline: str | None, metrics: list[str], k: int, cache: dict) -> dict[int, list]:
    """Section index -> [(reference run, run, flips)] against the baseline, else the best run."""
    out: dict[int, list] = {}
    for i, s in enumerate(sections):
        ref = C.baseline_run(s, baseline) if baseline is not None else s.runs[0]
        if ref is None or len(s.runs) < 2:
            continue
        for r in (ref, *s.runs):
            if r.path not in cache:
                cache[r.path] = C.read_predictions(r.path)
        m = C.flip_metric(s, metrics, cache[ref.path])
        if m is None:
            continue
        out[i] = [(ref, r, C.flipped_examples(cache[ref.path], cache[r.path], m, k)) for r in s.runs if r is not ref]
    return out


def _render_table(C, sections, comparisons, flips, *, to_terminal: bool) -> str:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

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
            table.add_column(_header(m), justify="right", min_width=11)
        table.add_column("ex/s", justify="right")
        for r in s.runs:
            cells = [Text(r.model), *([Text(r.run_id)] if show_run else []), Text(str(r.n))]
            for m in s.metrics:
                v = r.metrics.get(m)
                lo, hi = r.ci[m]
                star = "*" if m in s.best and v == s.best[m] else " "
                cells.append(Text(f"{C.fmt(v)}{star}\n{C.fmt(lo)}-{C.fmt(hi)}"))
            star = "*" if C.SPEED in s.best and r.examples_per_s == s.best[C.SPEED] else " "
            cells.append(Text(f"{C.fmt_speed(r.examples_per_s)}{star}"))
            table.add_row(*cells)
        if s.note:
            console.print(Text(f"note: {s.note}"))
        elif s.of > 1:
            console.print(Text(f"note: {s.task} has runs in {s.of} tables that cannot share columns; see below."))
        console.print(Text(f"{s.title}: {C.CI_WORDING}; * best in column", style="bold"))
        console.print(table)
        console.print(Text(f"task hash {s.task_hash[:12]}, {s.n} example{'s' if s.n != 1 else ''}; signatures:"))
        for sig in C.signature_lines(s):
            console.print(Text(f"  {sig}"))
        console.print()
        if comparisons and k in comparisons:
            _paired_table(C, console, comparisons[k])
        if flips and k in flips:
            _flip_text(C, console, flips[k])
    return buf.getvalue()


def _header(metric: str) -> str:
    """A long metric name broken after its first '_' so narrow columns keep it whole."""
    head, sep, tail = metric.partition("_")
    return f"{head}_\n{tail}" if len(metric) > 11 and sep and tail else metric


def _paired_table(C, console, c) -> None:
    from rich.table import Table
    from rich.text import Text

    if c.baseline is None:
        console.print(Text(f"{c.section.title}: no run of the baseline model here, so no paired comparison.\n"))
        return
    base = c.baseline.model
    table = Table()
    for col, just in (("model", "left"), ("metric", "left"), ("n", "right"), (base, "right"), ("score", "right"),
                      ("diff", "right"), ("95% CI", "right"), ("p", "right"), ("McNemar p (b/c)", "right"),
                      ("significant", "left")):
        table.add_column(Text(col), justify=just)
    for p in c.results:
        mc = f"{C.fmt_p(p.mcnemar_p)} ({p.mcnemar[0]}/{p.mcnemar[1]})" if p.mcnemar else "-"
        table.add_row(Text(p.model), Text(p.metric), str(p.n), C.fmt(p.baseline_mean), C.fmt(p.mean),
                      C.fmt_signed(p.diff), f"{C.fmt_signed(p.ci[0])} to {C.fmt_signed(p.ci[1])}", C.fmt_p(p.p_value),
                      mc, "yes" if p.significant else "no")
    if c.results:
        console.print(Text(f"{c.section.title}: paired comparison with {base}", style="bold"))
        console.print(table)
        console.print(Text(C.paired_wording(c.results[0].alpha)))
    else:
        console.print(Text(f"{c.section.title}: no other run to compare with {base}."))
    for note in C.paired_notes(c):
        console.print(Text(note))
    console.print()


def _flip_text(C, console, pairs) -> None:
    from rich.text import Text

    for base, run, items in pairs:
        metric = items[0].metric if items else ""
        console.print(Text(f"Examples where {run.model} and {base.model} differ most"
                           f"{' on ' + metric if metric else ''}:", style="bold"))
        if not items:
            console.print(Text("  they score every shared example the same\n"))
            continue
        for f in items:
            console.print(Text(f"  {f.id}  {metric}: {base.model} {C.fmt(f.baseline_scores[metric])} -> "
                               f"{run.model} {C.fmt(f.scores[metric])} ({C.fmt_signed(f.diff)})"))
            if f.question:
                console.print(Text(f"    question: {C.truncate(f.question)}"))
            for i, ref in enumerate(f.references, 1):
                console.print(Text(f"    reference {i}: {C.truncate(ref)}"))
            console.print(Text(f"    {base.model}: {C.truncate(f.baseline_prediction) or '(empty)'}"))
            console.print(Text(f"    {run.model}: {C.truncate(f.prediction) or '(empty)'}"))
        console.print()


def _write_png(sections, path: Path) -> None:
    """Bar charts (one per metric, 95% CI error bars) and a quality vs speed scatter per table, as one PNG."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise BenchError("--plot needs matplotlib, which is not installed",
                         hint="pip install 'bench[plot]' (the HTML report, --format html, needs nothing extra)",
                         exit_code=EXIT_ENVIRONMENT) from None
    cols = max(len(s.metrics) for s in sections) + 1
    row_h = 1.2 + 0.45 * max(len(s.runs) for s in sections)
    fig, axes = plt.subplots(len(sections), cols, figsize=(3.2 * cols, row_h * len(sections)), squeeze=False)
    for row, s in enumerate(sections):
        names = [r.model for r in s.runs]
        for col in range(cols):
            ax = axes[row][col]
            if col < len(s.metrics):
                m = s.metrics[col]
                vals = [r.metrics.get(m) or 0.0 for r in s.runs]
                lo = [v - (r.ci[m][0] if r.ci[m][0] is not None else v) for v, r in zip(vals, s.runs)]
                hi = [(r.ci[m][1] if r.ci[m][1] is not None else v) - v for v, r in zip(vals, s.runs)]
                ax.barh(range(len(names)), vals, xerr=[lo, hi], capsize=3, color="#4C72B0")
                ax.set_yticks(range(len(names)), names if col == 0 else [""] * len(names))
                ax.invert_yaxis()
                ax.set_title(f"{s.title}\n{m}" if col == 0 else m, fontsize=9)
            elif col == len(s.metrics):
                m = s.metrics[0]
                pts = [(r.examples_per_s, r.metrics.get(m), r.model) for r in s.runs
                       if r.examples_per_s and r.metrics.get(m) is not None]
                for x, y, name in pts:
                    ax.scatter([x], [y], color="#DD8452")
                    ax.annotate(name, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
                if pts:
                    ax.set_xscale("log")
                    ax.margins(x=0.3, y=0.3)
                ax.set_xlabel("examples/s (log)", fontsize=8)
                ax.set_ylabel(m, fontsize=8)
                ax.set_title("quality vs speed", fontsize=9)
            else:
                ax.axis("off")
    fig.tight_layout()
    tmp = path.parent / f".{path.name}.tmp.png"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(tmp, dpi=110)
        tmp.replace(path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise BenchError(f"cannot write file: {e.strerror}", where=relpath(path)) from None
    finally:
        plt.close(fig)
