"""What the command line shows: the console for tables, warnings on stderr, run tables and progress bars.

Text that comes from data (model names, task names, ids, predictions, file names) reaches the terminal only
through `bench.errors.visible` (control characters written out) and, in tables, as rich `Text` (never parsed as
rich markup): `echo`, `warn` and `cell` here do both.

rich is imported inside the functions that draw, so importing this module costs nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from bench.errors import visible

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress
    from rich.text import Text


def freeze_heap() -> None:
    """Move every object made so far out of the cyclic garbage collector's sight (`gc.freeze`).

    For a command about to work through a large data set: the modules it has
    imported live until the process ends, and without this every full
    collection that its data sets off walks them all again (scoring 20,000 pairs
    spent 0.08 s of 0.67 s that way). Commands only: a library call must not pin
    its caller's objects.
    """
    import gc

    gc.freeze()


def console() -> Console:
    """A console for tables on stdout; 120 columns when stdout is not a terminal."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 120)


def echo(text: str, *, err: bool = False) -> None:
    """A line of plain output (stdout, or stderr with `err`), with control characters made visible."""
    typer.echo(visible(text, multiline=True), err=err)


def warn(message: str) -> None:
    """One 'warning: ...' line on stderr."""
    echo(f"warning: {message}", err=True)


def cell(text: str, *, multiline: bool = False) -> Text:
    """Text from data for a rich table or `Console.print`: control characters visible, never read as markup."""
    from rich.text import Text

    return Text(visible(text, multiline=multiline))


def fmt(x: float | None) -> str:
    """A score with two decimals; '-' for none."""
    return "-" if x is None else f"{x:.2f}"


def print_runs(records: Sequence[dict[str, Any]]) -> None:
    """The scores table of new runs (stdout), their warnings and where they were written (stderr).

    A task whose runs have statistics of its references (extractiveness) gets a `(references)` row after
    its runs: the same statistics computed on the task's references, to read a model's beside.
    """
    from rich.table import Table

    table = Table(title="scores (mean over examples, rates x100; 95% bootstrap CI)")
    for col, justify in (("task", "left"), ("model", "left"), ("n", "right"), ("metric", "left"),
                         ("score", "right"), ("95% CI", "right"), ("ex/s", "right")):
        table.add_column(col, justify=justify)

    def add(task: str, model: str, n: Any, metrics: dict[str, Any], ci: dict[str, Any], speed: str) -> None:
        for k, (name, value) in enumerate(metrics.items()):
            pair = ci.get(name)
            first = k == 0
            table.add_row(cell(task if first else ""), cell(model if first else ""), str(n) if first else "",
                          cell(name), fmt(value), f"{fmt(pair[0])}-{fmt(pair[1])}" if pair else "-",
                          speed if first else "", end_section=k == len(metrics) - 1)

    references: dict[str, dict[str, Any]] = {}
    for r in records:
        eps = r["timing"].get("examples_per_s")
        add(r["task"], r["model"], r["n_examples"], r["metrics"], r["ci"], f"{eps:.1f}" if eps else "-")
        if r.get("reference"):
            references.setdefault(r["task"], r["reference"])
    for task, ref in references.items():
        add(task, "(references)", (ref.get("counts") or {}).get("reference_examples", ""), ref["metrics"],
            ref["ci"], "")
    console().print(table)
    for r in records:
        for w in r.get("warnings", []):
            warn(f"{r['model']} on {r['task']}: {w}")
        cached = (r.get("timing") or {}).get("cached") or 0
        if cached:
            echo(f"{r['model']} on {r['task']}: {cached} of {r['n_examples']} predictions from the prediction cache "
                 "(the speed is of the others; --no-cache predicts everything again)", err=True)
    out_dirs = sorted({str(Path(r["path"]).parent.parent.parent) for r in records})
    echo(f"wrote {len(records)} run(s) to {', '.join(out_dirs)}", err=True)


def log_runs_to(trackers: dict[str, dict[str, str]], run_dirs: Sequence[str | Path]) -> None:
    """Log run directories to each tracker (`bench.api.log_runs`): a line for what was logged on stderr, and one
    warning for what could not be (the command still succeeds: the runs are written)."""
    from bench.api import log_report_lines, log_runs

    for tracker, options in trackers.items():
        lines, warning = log_report_lines(log_runs(run_dirs, tracker, options))
        for line in lines:
            echo(line, err=True)
        if warning:
            warn(warning)


class ProgressBars:
    """A rich progress bar on stderr for each (model, task) pair: the `progress` argument of bench.api.run."""

    def __init__(self) -> None:
        self._progress: Progress | None = None

    def start(self, model: str, task: str, total: int) -> Callable[[int], None]:
        """Show a bar for `model` on `task`; returns the function that advances it by n examples."""
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        progress = Progress(
            TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=Console(stderr=True),
        )
        self._progress = progress
        progress.start()
        bar = progress.add_task(visible(f"{model} on {task}"), total=total)
        return lambda n: progress.advance(bar, n)

    def note(self, text: str) -> None:
        """A line above the bar (what is happening before it moves: a model loading)."""
        if self._progress is not None:
            self._progress.console.print(visible(text), markup=False, highlight=False)
        else:
            typer.echo(visible(text), err=True)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


class LateProgress:
    """How far a long step of a command has come, on one line of stderr, from `after` seconds on.

    A callable (what it does, items done, items in all): the `progress` argument of `bench compare`'s steps.
    Nothing is shown while the command is quick, nor when stderr is not a terminal (a log gets no
    carriage returns); `close` clears the line.
    """

    def __init__(self, after: float = 1.5, *, stream: Any = None, clock: Callable[[], float] | None = None) -> None:
        import time

        self._clock = clock or time.monotonic
        self._start = self._clock()
        self._after = after
        self._stream = stream if stream is not None else sys.stderr
        self._shown = False

    def __call__(self, what: str, done: int, total: int) -> None:
        if not self._stream.isatty() or self._clock() - self._start < self._after:
            return
        line = visible(f"{what}: {done}/{total}")
        self._stream.write(f"\r{line}\x1b[K")
        self._stream.flush()
        self._shown = True

    def close(self) -> None:
        if self._shown:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
            self._shown = False
