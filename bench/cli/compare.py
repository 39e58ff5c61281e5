"""`bench compare`: results tables, paired statistics, flipped examples, HTML report.

Imports numpy and rich at most; never torch, transformers, datasets or evaluate.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from bench.cli.options import TasksDirs, option_name
from bench.cli.output import LateProgress, echo
from bench.errors import BenchError, relpath, visible


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
    judge: Annotated[Optional[str], typer.Option(
        "--judge", metavar="MODEL", help="Pairwise: an LLM judge (openai:NAME behind --judge-opt base_url=URL, or a "
        "causal LM) says which of two models' summaries is better, in both orders: win rates and Bradley-Terry "
        "strengths. Needs one --task and a --criterion.")] = None,
    judge_opt: Annotated[Optional[list[str]], typer.Option(
        "--judge-opt", metavar="KEY=VALUE", help="An option of the judge (repeatable), the keys of the judge: metric: "
        "base_url, prompt, prompt_file, temperature, n, scoring, ...")] = None,
    criterion: Annotated[Optional[list[str]], typer.Option(
        "--criterion", metavar="NAME", help="What the judge compares (repeatable): consistency, relevance, coherence "
        "or fluency. With --human only, which of its criteria to show.")] = None,
    human: Annotated[Optional[Path], typer.Option(
        "--human", metavar="FILE", help="Pairwise: annotators' preferences (`bench annotate export` of a pairwise "
        "study, or the study), aggregated as the judge's; with --judge, their agreement.", show_default=False)] = None,
    tasks_dir: TasksDirs = None,
) -> None:
    """Compare runs: a table per task with 95% CIs; --baseline adds paired significance tests."""
    from bench.api import check_compare_arguments, compare_report

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
    progress = LateProgress()
    try:
        report = compare_report(
            results_dirs or [Path("results")], tasks=task or [], models=model or [], metrics=metric or [],
            all_runs=all_runs, baseline=baseline, seed=seed, alpha=alpha, fmt=fmt.value, to_terminal=output is None,
            examples=examples if examples is not None else (HTML_EXAMPLES if fmt is CompareFormat.html else 0),
            output=output, plot=plot, latex_ci=(latex_ci or LatexCI.bracket).value, progress=progress, judge=judge,
            judge_opts=judge_opt or [], criteria=criterion or [], human=human, tasks_dirs=tasks_dir or [])
    finally:
        progress.close()
    for note in report.notes:
        echo(f"note: {note}", err=True)
    for path in report.written:
        echo(f"wrote {relpath(path)}", err=True)
    if output is not None:
        return
    if fmt is not CompareFormat.table and sys.stdout.isatty():
        sys.stdout.write(visible(report.text, multiline=True))  # a file format shown on a terminal: text from data is inert
    else:
        sys.stdout.write(report.text)
