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

from bench.cli import annotate, compare, correlate, export, fixture, rescore, run, score, validate
from bench.cli import list as list_
from bench.cli.options import BenchCommand, Interrupted
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
app.command(cls=BenchCommand)(score.score)
app.command(cls=BenchCommand)(run.run)
app.command(name="list", cls=BenchCommand)(list_.list_tasks_and_models)
app.command(cls=BenchCommand)(compare.compare)
app.command(cls=BenchCommand)(export.export)
app.command(cls=BenchCommand)(correlate.correlate)
app.add_typer(annotate.annotate_app, name="annotate")
app.add_typer(fixture.fixture_app, name="fixture")
app.command(cls=BenchCommand)(validate.validate)
app.command(cls=BenchCommand)(rescore.rescore)


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


def _on_sigint(signum: int, frame: FrameType | None) -> Any:
    raise Interrupted()


def usage_error(e: Exception) -> str:
    """A command-line parser error in bench's words: the parser's message, and where the command's help is."""
    ctx = getattr(e, "ctx", None)
    command = getattr(ctx, "command_path", None) or "bench"
    return str(BenchError(e.format_message(), hint=f"see `{command} --help`"))  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors print one message and exit non-zero, without a traceback."""
    import signal

    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _on_sigint)
    _print_bench_warnings()
    try:
        code = app(args=argv, standalone_mode=False, prog_name="bench")
    except BenchError as e:
        if os.environ.get("BENCH_DEBUG") and e.__cause__ is not None:
            import traceback

            traceback.print_exception(e.__cause__)
        typer.echo(f"error: {visible(str(e), multiline=True)}", err=True)
        sys.exit(e.exit_code)
    except (Interrupted, KeyboardInterrupt) as e:
        text = str(e) if isinstance(e, Interrupted) else ""
        typer.echo(visible(text or "interrupted", multiline=True), err=True)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as e:
        # Usage errors from the command-line parser (click's ClickException,
        # which typer may vendor under another module name).
        if callable(getattr(e, "format_message", None)) and isinstance(getattr(e, "exit_code", None), int):
            if type(e).__name__ == "NoArgsIsHelpError":  # `bench` or `bench fixture` alone: the help
                import io

                shown = io.StringIO()
                e.show(file=shown)
                typer.echo(visible(shown.getvalue(), multiline=True), err=True, nl=False)
            else:
                typer.echo(f"error: {visible(usage_error(e), multiline=True)}", err=True)
            sys.exit(e.exit_code)
        raise
    sys.exit(code if isinstance(code, int) else 0)
