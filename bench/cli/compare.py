"""`bench compare`: results tables, paired statistics, flipped examples, HTML report.

Imports numpy and rich at most; never torch, transformers, datasets or evaluate.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from bench.cli.options import option_name
from bench.cli.output import echo
from bench.errors import EXIT_ENVIRONMENT, BenchError, relpath, visible


class CompareFormat(str, Enum):
    table = "table"
    md = "md"
    csv = "csv"
    json = "json"
    html = "html"
    latex = "latex"


class LatexCI(str, Enum):
    bracket = "bracket"
    pm = "pm"
    none = "none"


#: Drill-down examples per pair in the HTML report when --examples is not given.
HTML_EXAMPLES = 10
#: Hint when --output or --plot cannot be written (read-only file system, no permission, disk full).
WRITE_HINT = "nothing was written; choose a directory you can write to, or check its free space"


def check_destination(path: Path, option: str) -> None:
    """Refuse, before anything is computed, an --output/--plot path that is a directory or lies below a file."""
    if path.is_dir():
        raise BenchError(f"{option} names a directory, not a file", where=relpath(path),
                         hint=f"give a file name, e.g. {option} {relpath(path / 'compare.out')}")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise BenchError(f"cannot write {option}: {relpath(parent)} is a file, not a directory",
                                 where=relpath(path), hint="choose a path in a directory")
            break


def compare(
    results_dirs: Annotated[Optional[list[Path]], typer.Argument(
        metavar="RESULTS_DIR", help="Results directories (or run directories) to read. Default: results.", show_default=False)] = None,
    task: Annotated[Optional[list[str]], typer.Option("--task", "-t", metavar="TASK", help="Only this task (repeatable).")] = None,
    model: Annotated[Optional[list[str]], typer.Option("--model", "-m", metavar="MODEL", help="Only this model (repeatable).")] = None,
    metric: Annotated[Optional[list[str]], typer.Option("--metric", metavar="METRIC", help="Only this metric (repeatable).")] = None,
    fmt: Annotated[CompareFormat, typer.Option("--format", "-f", metavar="table|md|csv|json|html|latex", help="table, md, csv, json, html or latex (booktabs).")] = CompareFormat.table,
    latex_ci: Annotated[Optional[LatexCI], typer.Option(
        "--latex-ci", metavar="bracket|pm|none", help="How --format latex shows the 95% CI: in brackets (default), as "
        "a ± subscript of half its width, or not at all.")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", metavar="FILE", help="Write to this file instead of stdout.")] = None,
    all_runs: Annotated[bool, typer.Option("--all-runs", help="Every run, not only the latest of each model on each task.")] = False,
    baseline: Annotated[Optional[str], typer.Option(
        "--baseline", "-b", metavar="MODEL", help="Compare every other model with this one: paired differences, CIs and p-values.")] = None,
    examples: Annotated[Optional[int], typer.Option(
        "--examples", metavar="N", help="Show the N examples where two models differ most (against --baseline, else against "
        f"the best model on the first metric with a direction). Default: 0, or {HTML_EXAMPLES} in the HTML report.")] = None,
    plot: Annotated[Optional[Path], typer.Option("--plot", metavar="FILE.png", help="Also write the charts to this PNG file (needs matplotlib).")] = None,
    seed: Annotated[int, typer.Option("--seed", metavar="S", help="Seed of the paired bootstrap and permutation test.")] = 12345,
    alpha: Annotated[float, typer.Option("--alpha", metavar="A", help="Significance level of the paired tests.")] = 0.05,
) -> None:
    """Compare runs: a table per task with 95% CIs; --baseline adds paired significance tests."""
    from bench.api import check_compare_arguments
    from bench.comparison.flips import section_flips
    from bench.comparison.render_text import render_csv, render_json, render_markdown, render_table
    from bench.comparison.select import check_baseline, select
    from bench.comparison.paired import compare_section
    from bench.io import atomic_write

    if examples is not None and examples < 0:
        raise BenchError(f"--examples must be 0 or more, got {examples}")
    if examples and fmt in (CompareFormat.csv, CompareFormat.json, CompareFormat.latex):
        raise BenchError(f"--examples shows example texts; it applies to table, md and html, not {fmt.value}")
    if latex_ci is not None and fmt is not CompareFormat.latex:
        raise BenchError(f"--latex-ci applies to --format latex, not {fmt.value}", hint="add --format latex")
    if baseline is not None and fmt is CompareFormat.latex:
        raise BenchError("--format latex writes the results tables; the paired tests of --baseline are in table, md, "
                         "csv, json and html", hint="leave out --baseline, or choose another --format")
    check_compare_arguments(alpha=alpha, name=option_name)
    if plot is not None and plot.suffix.lower() != ".png":
        raise BenchError(f"--plot writes a PNG file; got {str(plot)!r}", hint="e.g. --plot charts.png")
    for path, option in ((output, "--output"), (plot, "--plot")):
        if path is not None:
            check_destination(path, option)
    dirs = results_dirs or [Path("results")]
    sections = select(dirs, tasks=task or [], models=model or [], metrics=metric or [], all_runs=all_runs)
    if not sections:
        raise BenchError("no run matches the selection", hint="see `bench compare` without --task/--model/--metric")
    if baseline is not None:
        check_baseline(sections, baseline)
    cache: dict = {}
    comparisons = ({k: compare_section(s, baseline, seed=seed, alpha=alpha, cache=cache)
                    for k, s in enumerate(sections)} if baseline is not None else None)
    n_examples = examples if examples is not None else (HTML_EXAMPLES if fmt is CompareFormat.html else 0)
    flips = section_flips(sections, baseline, metric or [], n_examples, cache) if n_examples else None

    if fmt is CompareFormat.table:
        text = render_table(sections, comparisons, flips, to_terminal=output is None)
    elif fmt is CompareFormat.md:
        text = render_markdown(sections, comparisons, flips)
    elif fmt is CompareFormat.csv:
        text = render_csv(sections, comparisons)
    elif fmt is CompareFormat.json:
        text = render_json(sections, comparisons)
    elif fmt is CompareFormat.latex:
        from bench.api import render_latex

        text = render_latex(sections, ci=(latex_ci or LatexCI.bracket).value)
    else:
        from bench.comparison.render_html import render_html

        text = render_html(sections, comparisons, flips, sources=[relpath(d) for d in dirs])
    if fmt in (CompareFormat.csv, CompareFormat.json, CompareFormat.latex):
        for s in sections:
            if s.note:
                echo(f"note: {s.title}: {s.note}", err=True)
    if plot is not None:
        from bench.comparison.plot import write_png

        write_png(sections, plot, what="the --plot file", hint=WRITE_HINT, exit_code=EXIT_ENVIRONMENT)
        echo(f"wrote {relpath(plot)}", err=True)
    if output is not None:
        atomic_write(output, text, what="the --output file", hint=WRITE_HINT, exit_code=EXIT_ENVIRONMENT)
        echo(f"wrote {relpath(output)}", err=True)
    elif fmt is not CompareFormat.table and sys.stdout.isatty():
        sys.stdout.write(visible(text, multiline=True))  # a file format shown on a terminal: text from data is inert
    else:
        sys.stdout.write(text)

