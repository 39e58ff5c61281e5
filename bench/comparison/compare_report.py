"""What `bench compare` produces, in one call: the runs selected, paired statistics against a baseline, the
examples that differ most, rendered in a format, and written (with the charts) where asked."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.comparison.flips import section_flips
from bench.comparison.paired import compare_section
from bench.comparison.render_data import render_csv, render_json
from bench.comparison.render_markdown import render_markdown
from bench.comparison.render_text import render_table
from bench.comparison.select import Progress, check_baseline, select
from bench.errors import EXIT_ENVIRONMENT, BenchError, relpath
from bench.io import atomic_write

FORMATS = ("table", "md", "csv", "json", "html", "latex")
#: Hint when --output or --plot cannot be written (read-only file system, no permission, disk full).
WRITE_HINT = "nothing was written; choose a directory you can write to, or check its free space"


@dataclass(frozen=True)
class Report:
    """A comparison (or a meta-evaluation) as text, the notes to show beside it, and the files written."""

    text: str
    notes: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)


def compare_report(results_dirs: Sequence[Path], *, tasks: Sequence[str] = (), models: Sequence[str] = (),
                   metrics: Sequence[str] = (), all_runs: bool = False, baseline: str | None = None,
                   examples: int = 0, fmt: str = "table", seed: int, alpha: float, to_terminal: bool = False,
                   output: Path | None = None, plot: Path | None = None, latex_ci: str = "bracket",
                   progress: Progress | None = None, pairwise: Mapping[str, Any] | None = None) -> Report:
    """Select runs, compare them (with `baseline`: paired tests at level `alpha`, seeded with `seed`), render
    them as `fmt` with the `examples` that differ most, and write `plot` (PNG) and `output` when given (the
    text is returned either way). Notes (a section whose numbers are not comparable) come back for the formats
    that have no place for them (csv, json) and for latex (whose captions hold them too). `latex_ci` is how
    latex shows the CIs (`bench.comparison.render_latex.CI_STYLES`). `progress` is told how far reading the
    runs and testing them has come. `pairwise`: the arguments of `bench.comparison.pairwise.pairwise_report`
    besides those above (judge, judge_options, criteria, human, tasks_dirs), for the judge's and the
    annotators' pairwise preferences on one task."""
    if fmt not in FORMATS:
        raise BenchError(f"unknown format {fmt!r}", hint=f"formats: {', '.join(FORMATS)}")
    if pairwise is not None and len(tasks) != 1:
        raise BenchError("a pairwise comparison (--judge, --human) is of the runs of one task", hint="give one --task")
    sections = select(list(results_dirs), tasks=tasks, models=models, metrics=metrics, all_runs=all_runs,
                      progress=progress)
    if not sections:
        raise BenchError("no run matches the selection", hint="see `bench compare` without --task/--model/--metric")
    if baseline is not None:
        check_baseline(sections, baseline)
    cache: dict = {}
    comparisons = ({k: compare_section(s, baseline, seed=seed, alpha=alpha, cache=cache, progress=progress)
                    for k, s in enumerate(sections)} if baseline is not None else None)
    flips = section_flips(sections, baseline, metrics, examples, cache, progress=progress) if examples else None
    pairs = None
    if pairwise is not None:
        from bench.comparison.pairwise import DISAGREEMENTS, pairwise_report

        pairs = pairwise_report(list(results_dirs), task=tasks[0], models=models, baseline=baseline, metrics=metrics,
                                examples=examples or DISAGREEMENTS, seed=seed, **pairwise)
    if fmt == "table":
        text = render_table(sections, comparisons, flips, to_terminal=to_terminal)
    elif fmt == "md":
        text = render_markdown(sections, comparisons, flips)
    elif fmt == "csv":
        text = render_csv(sections, comparisons)
    elif fmt == "json":
        text = render_json(sections, comparisons)
    elif fmt == "latex":
        from bench.comparison.render_latex import render_latex

        text = render_latex(sections, ci=latex_ci)
    else:
        from bench.comparison.render_html import render_html

        text = render_html(sections, comparisons, flips, sources=[relpath(d) for d in results_dirs])
    notes = [f"{s.title}: {s.note}" for s in sections if s.note] if fmt in ("csv", "json", "latex") else []
    if pairs is not None:
        from bench.comparison.render_pairwise import attach

        text = attach(text, fmt, pairs, to_terminal=to_terminal)
        notes += pairs.notes if fmt in ("csv", "json", "latex") else []
    written: list[Path] = []
    if plot is not None:
        from bench.comparison.plot import write_png

        write_png(sections, plot, what="the --plot file", hint=WRITE_HINT, exit_code=EXIT_ENVIRONMENT)
        written.append(plot)
    if output is not None:
        atomic_write(output, text, what="the --output file", hint=WRITE_HINT, exit_code=EXIT_ENVIRONMENT)
        written.append(output)
    return Report(text, notes, written)
