"""The `bench` command line.

Heavy packages (torch, transformers, datasets, evaluate) are imported inside
the commands that need them, never at module level, so `bench --help` and
`bench list` start instantly.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from bench.version import __version__
from bench.errors import EXIT_INTERRUPTED, BenchError

app = typer.Typer(
    name="bench",
    help="Evaluate summarization and extractive QA models: exact ROUGE and SQuAD scores, offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class MetricName(str, Enum):
    rouge = "rouge"
    squad = "squad"


class Format(str, Enum):
    table = "table"
    json = "json"


class TokenizerName(str, Enum):
    default = "default"
    unicode = "unicode"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"bench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    pass


def _metric_options(no_stemmer: bool, no_split_sentences: bool, tokenizer: TokenizerName):
    from bench.metrics import MetricOptions

    return MetricOptions(stemmer=not no_stemmer, split_sentences=not no_split_sentences, tokenizer=tokenizer.value)


def _fmt(x: Any) -> str:
    return "-" if x is None else f"{x:.2f}"


def _console():
    """A console for tables on stdout; 120 columns when stdout is not a terminal."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 120)


def _warn(message: str) -> None:
    typer.echo(f"warning: {message}", err=True)


# --------------------------------------------------------------------- score


@app.command()
def score(
    file: Annotated[Path, typer.Argument(help='JSONL file, one {"id", "prediction", "references": [...]} per line.')],
    metric: Annotated[MetricName, typer.Option("--metric", help="rouge or squad.")] = MetricName.rouge,
    no_stemmer: Annotated[bool, typer.Option("--no-stemmer", help="ROUGE without Porter stemming.")] = False,
    no_split_sentences: Annotated[bool, typer.Option(
        "--no-split-sentences", help="Score texts as given: newlines are the only sentence boundaries (as rouge_score).")] = False,
    tokenizer: Annotated[TokenizerName, typer.Option(
        "--tokenizer", help="ROUGE tokenizer: default (rouge_score's, ASCII only) or unicode.")] = TokenizerName.default,
    fmt: Annotated[Format, typer.Option("--format", help="table or json.")] = Format.table,
) -> None:
    """Score predictions in a file against their references."""
    from bench.api import score_file

    result = score_file(file, metric=metric.value, options=_metric_options(no_stemmer, no_split_sentences, tokenizer))
    for w in result["warnings"]:
        _warn(w)
    if fmt is Format.json:
        out = {"n": result["n"], "metrics": result["metrics"], "ci": result["ci"], "signatures": result["signatures"]}
        if result["counts"]:
            out["counts"] = result["counts"]
        from bench.io import json_line

        typer.echo(json_line(out))
        return
    from rich.table import Table

    table = Table(title=f"{file} ({result['n']} examples)")
    table.add_column("metric")
    table.add_column("score", justify="right")
    table.add_column("95% CI", justify="right")
    table.add_column("signature")
    for name, value in result["metrics"].items():
        lo, hi = result["ci"][name]
        table.add_row(name, _fmt(value), f"{_fmt(lo)}-{_fmt(hi)}", result["signatures"][name])
    _console().print(table)


# ----------------------------------------------------------------------- run


class _Progress:
    """A rich progress bar on stderr for each (model, task) pair."""

    def __init__(self) -> None:
        self._progress = None

    def start(self, model: str, task: str, total: int):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=Console(stderr=True),
        )
        self._progress.start()
        bar = self._progress.add_task(f"{model} on {task}", total=total)
        return lambda n: self._progress.advance(bar, n)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def _parse_gen(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise BenchError(f"--gen expects key=value, got {item!r}", hint="e.g. --gen num_beams=4 --gen max_new_tokens=60")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


@app.command()
def run(
    model: Annotated[Optional[list[str]], typer.Option(
        "--model", "-m", metavar="MODEL", help="Model name, alias, hub id, local directory or package.module:Class (repeatable). "
        "Default: every built-in baseline.")] = None,
    task: Annotated[Optional[list[str]], typer.Option(
        "--task", "-t", metavar="TASK", help="Task name or path to a task .yaml (repeatable). Default: every task a model can do.")] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", metavar="N", help="Use only the first N examples of each task.")] = None,
    sample: Annotated[Optional[int], typer.Option(
        "--sample", metavar="N", help="Use N examples of each task drawn at random with --seed (same seed, same examples).")] = None,
    seed: Annotated[int, typer.Option("--seed", metavar="S", help="Seed for everything random.")] = 0,
    output_dir: Annotated[Path, typer.Option("--output-dir", "-o", metavar="DIR", help="Where run directories go.")] = Path("results"),
    tasks_dir: Annotated[Optional[list[Path]], typer.Option(
        "--tasks-dir", metavar="DIR", help="Directory of your own task definitions (repeatable), besides the bundled ones.")] = None,
    batch_size: Annotated[Optional[str], typer.Option("--batch-size", metavar="N|auto", help="Examples per batch, or 'auto'.")] = None,
    device: Annotated[str, typer.Option("--device", metavar="DEVICE", help="auto, cpu, cuda, cuda:N or mps (Hugging Face models).")] = "auto",
    dtype: Annotated[str, typer.Option("--dtype", metavar="DTYPE", help="auto, float32, float16 or bfloat16 (Hugging Face models).")] = "auto",
    gen: Annotated[Optional[list[str]], typer.Option("--gen", metavar="KEY=VALUE", help="Generation setting key=value (repeatable).")] = None,
    revision: Annotated[Optional[str], typer.Option("--revision", metavar="REV", help="Hub revision (branch, tag or commit).")] = None,
    trust_remote_code: Annotated[bool, typer.Option("--trust-remote-code", help="Allow a hub model's own code to run.")] = False,
    base_url: Annotated[Optional[str], typer.Option("--base-url", metavar="URL", help="Server URL for openai:NAME models.")] = None,
    no_stemmer: Annotated[bool, typer.Option("--no-stemmer", help="ROUGE without Porter stemming.")] = False,
    no_split_sentences: Annotated[bool, typer.Option(
        "--no-split-sentences", help="Do not split predictions into sentences for rougeLsum.")] = False,
    tokenizer: Annotated[TokenizerName, typer.Option(
        "--tokenizer", help="ROUGE tokenizer: default (rouge_score's, ASCII only) or unicode.")] = TokenizerName.default,
    no_cache: Annotated[bool, typer.Option(
        "--no-cache", help="Predict everything again instead of reusing cached predictions.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Run models on tasks and write scores to results/.

    Predictions are cached as they are made (results/.cache): rerunning the same
    command after an interruption predicts only what is missing.
    """
    from bench.api import run as api_run

    bs: int | str | None = None
    if batch_size is not None:
        if batch_size == "auto":
            bs = "auto"
        elif batch_size.isdigit() and int(batch_size) > 0:
            bs = int(batch_size)
        else:
            raise BenchError(f"--batch-size must be a positive integer or 'auto', got {batch_size!r}")
    model_options: dict[str, Any] = {"device": device, "dtype": dtype, "generation": _parse_gen(gen or []),
                                     "revision": revision, "trust_remote_code": trust_remote_code}
    if base_url:
        model_options["base_url"] = base_url
    records = api_run(
        models=model or [], tasks=task or [], limit=limit, sample=sample, seed=seed, output_dir=output_dir,
        tasks_dirs=tasks_dir or [], batch_size=bs,  # type: ignore[arg-type]
        metric_options=_metric_options(no_stemmer, no_split_sentences, tokenizer),
        model_options=model_options, progress=None if quiet else _Progress(), no_cache=no_cache,
    )
    if records:  # empty on the non-main processes of a multi-process run
        _print_runs(records)


def _print_runs(records: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table(title="scores (mean x100 over examples, 95% bootstrap CI)")
    for col, justify in (("task", "left"), ("model", "left"), ("n", "right"), ("metric", "left"),
                         ("score", "right"), ("95% CI", "right"), ("ex/s", "right")):
        table.add_column(col, justify=justify)
    for r in records:
        eps = r["timing"].get("examples_per_s")
        for k, (name, value) in enumerate(r["metrics"].items()):
            lo, hi = r["ci"][name]
            first = k == 0
            table.add_row(r["task"] if first else "", r["model"] if first else "",
                          str(r["n_examples"]) if first else "", name, _fmt(value), f"{_fmt(lo)}-{_fmt(hi)}",
                          (f"{eps:.1f}" if eps else "-") if first else "", end_section=k == len(r["metrics"]) - 1)
    _console().print(table)
    for r in records:
        for w in r.get("warnings", []):
            _warn(f"{r['model']} on {r['task']}: {w}")
    out_dirs = sorted({str(Path(r["path"]).parent.parent.parent) for r in records})
    typer.echo(f"wrote {len(records)} run(s) to {', '.join(out_dirs)}", err=True)


# ---------------------------------------------------------------------- list


@app.command(name="list")
def list_(
    tasks_dir: Annotated[Optional[list[Path]], typer.Option("--tasks-dir", help="Also list tasks from this directory.")] = None,
) -> None:
    """List tasks (type, size, metrics) and models (kind, tasks they can do)."""
    from rich.table import Table

    from bench.models import MODELS, entry_point_models
    from bench.tasks.definition import discover_tasks, load_task

    console = _console()
    table = Table(title="tasks")
    for col in ("task", "type", "examples", "metrics", "version", "hash", "description"):
        table.add_column(col, justify="right" if col == "examples" else "left")
    for name, path in discover_tasks(tasks_dir or []).items():
        t = load_task(path)
        table.add_row(name, t.type, str(t.count_examples()) if t.fixture else "?", ", ".join(t.metrics), str(t.version), t.short_hash,
                      t.description)
    console.print(table)
    table = Table(title="models")
    for col in ("model", "kind", "tasks", "points to", "description"):
        table.add_column(col)
    specs = list(dict(MODELS.items()).values()) + list(entry_point_models().values())
    for s in specs:
        table.add_row(s.name, s.kind, ", ".join(s.task_types), s.target or "", s.description)
    console.print(table)
    console.print("Any Hugging Face hub id (org/name) or local model directory also works as --model "
                  "(needs the 'hf' extra), as does package.module:ClassName.")


# ---------------------------------------------------------------------- main

#: Modules under bench/commands that add their own commands to `app`.
COMMAND_MODULES: tuple[str, ...] = ("compare", "fixtures", "validate", "rescore")

for _module in COMMAND_MODULES:
    importlib.import_module(f"bench.cli.{_module}")



def _print_bench_warnings() -> None:
    """Show `BenchWarning`s as one 'warning: ...' line each, like the command's own warnings."""
    import warnings

    from bench.errors import BenchWarning

    show = warnings.showwarning

    def showwarning(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, BenchWarning):
            _warn(str(message))
        else:
            show(message, category, filename, lineno, file, line)

    warnings.showwarning = showwarning
    warnings.simplefilter("always", BenchWarning)


class _Interrupted(BaseException):
    """Ctrl-C, raised past click (which turns KeyboardInterrupt into a silent abort)."""


def _on_sigint(signum, frame) -> None:
    raise _Interrupted()


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors print one message and exit non-zero, without a traceback."""
    import signal

    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _on_sigint)
    _print_bench_warnings()
    try:
        code = app(args=argv, standalone_mode=False)
    except BenchError as e:
        if os.environ.get("BENCH_DEBUG") and e.__cause__ is not None:
            import traceback

            traceback.print_exception(e.__cause__)
        typer.echo(f"error: {e}", err=True)
        sys.exit(e.exit_code)
    except (_Interrupted, KeyboardInterrupt):
        typer.echo("interrupted: the predictions made so far are kept in the prediction cache "
                   "(<output-dir>/.cache); run the same command again to resume", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as e:
        # Usage errors from the command-line parser (click's ClickException,
        # which typer may vendor under another module name).
        if callable(getattr(e, "show", None)) and isinstance(getattr(e, "exit_code", None), int):
            e.show()
            sys.exit(e.exit_code)
        raise
    sys.exit(code if isinstance(code, int) else 0)
