"""The `bench` typer app: its commands, the root options, and `main` (how errors, Ctrl-C and warnings are shown).

Command modules define plain functions and import nothing from here; this
module registers them. Heavy packages (torch, transformers, datasets, evaluate)
are imported inside the commands that need them, never at module level, so
`bench --help` and `bench list` start instantly.
"""

from __future__ import annotations

import os
import sys
from types import FrameType
from typing import Annotated, Any, TextIO

import typer

from bench.cli import compare, fixture, rescore, run, score, validate
from bench.cli import list as list_
from bench.cli.output import warn
from bench.errors import EXIT_INTERRUPTED, BenchError, visible
from bench.version import __version__

app = typer.Typer(
    name="bench",
    help="Evaluate summarization and extractive QA models: exact ROUGE and SQuAD scores, offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


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


# In the order `bench --help` lists them.
app.command()(score.score)
app.command()(run.run)
app.command(name="list")(list_.list_tasks_and_models)
app.command()(compare.compare)
app.add_typer(fixture.fixture_app, name="fixture")
app.command()(validate.validate)
app.command()(rescore.rescore)


# ---------------------------------------------------------------------- main

def _print_bench_warnings() -> None:
    """Show `BenchWarning`s as one 'warning: ...' line each, like the command's own warnings."""
    import warnings

    from bench.errors import BenchWarning

    show = warnings.showwarning

    def showwarning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                    file: TextIO | None = None, line: str | None = None) -> None:
        if issubclass(category, BenchWarning):
            warn(str(message))
        else:
            show(message, category, filename, lineno, file, line)

    warnings.showwarning = showwarning
    warnings.simplefilter("always", BenchWarning)


class _Interrupted(BaseException):
    """Ctrl-C, raised past click (which turns KeyboardInterrupt into a silent abort)."""


def _on_sigint(signum: int, frame: FrameType | None) -> Any:
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
        typer.echo(f"error: {visible(str(e), multiline=True)}", err=True)
        sys.exit(e.exit_code)
    except (_Interrupted, KeyboardInterrupt):
        typer.echo("interrupted: the predictions made so far are kept in the prediction cache "
                   "(<output-dir>/.cache); run the same command again to resume", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as e:
        # Usage errors from the command-line parser (click's ClickException,
        # which typer may vendor under another module name).
        if callable(getattr(e, "show", None)) and isinstance(getattr(e, "exit_code", None), int):
            import io

            shown = io.StringIO()
            e.show(file=shown)  # it quotes the values given, which may come from data
            typer.echo(visible(shown.getvalue(), multiline=True), err=True, nl=False)
            sys.exit(e.exit_code)
        raise
    sys.exit(code if isinstance(code, int) else 0)
