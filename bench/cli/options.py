"""Options that several commands share, each declared once, and the converters from option values to API arguments.

A shared option is an `Annotated` alias: every command that takes it gets the
same flag, metavar and help text. Imports nothing heavy (MetricOptions only
when a command converts its metric options).
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Optional

import typer

from bench.errors import BenchError

if TYPE_CHECKING:
    from bench.api import MetricOptions


class TokenizerName(str, Enum):
    default = "default"
    unicode = "unicode"


# ------------------------------------------------------------ Ctrl-C


class Interrupted(BaseException):
    """Ctrl-C, raised past click (which turns KeyboardInterrupt into a silent abort).

    Its text, when a command gives one, is what `main` prints: what the interrupted command kept
    and how to go on (`bench run` names its prediction cache); otherwise `main` says "interrupted".
    """


# ------------------------------------------------------------ how help shows parameters


class BenchCommand(typer.core.TyperCommand):
    """A command whose help shows each argument by its metavar (``FILE...``), never by its Python type.

    typer writes an argument as ``FILE <list[Path]>`` and a required one as
    ``{FILE}`` in the usage line; bench writes ``FILE...`` and ``[TARGET]...``, as
    options are written with their metavar (``--limit N``). Every command is
    registered with it (`cls=BenchCommand`).
    """

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name != "argument":
                continue
            pieces.append(argument_metavar(param))
        return pieces

    def format_options(self, ctx: Any, formatter: Any) -> None:
        args, opts = [], []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                args.append((argument_metavar(param), record[1]))
            else:
                opts.append(record)
        for title, rows in (("Arguments", args), ("Options", opts)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


def argument_metavar(param: Any) -> str:
    """``FILE``, ``FILE...`` or ``[TARGET]...``: an argument's metavar (its name in capitals when it has none),
    ``...`` when it takes several values, in brackets when it may be left out."""
    name = param.metavar or param.name.upper()
    if not param.required:
        name = f"[{name}]"
    return name if param.nargs == 1 else f"{name}..."


# ------------------------------------------------------------ metric options (score, run, rescore)

NoStemmer = Annotated[bool, typer.Option("--no-stemmer", help="ROUGE without Porter stemming.")]
NoSplitSentences = Annotated[bool, typer.Option(
    "--no-split-sentences",
    help="rougeLsum without sentence splitting: texts as given, newlines the only sentence boundaries "
         "(as rouge_score).")]
Tokenizer = Annotated[TokenizerName, typer.Option(
    "--tokenizer", metavar="default|unicode", help="ROUGE tokenizer: default (rouge_score's, ASCII only) or unicode.")]


MetricNames = Annotated[Optional[list[str]], typer.Option(
    "--metric", metavar="NAME",
    help="A metric to score with (repeatable): a built-in (`bench list`), package.module:Class, or "
         "evaluate:NAME_OR_PATH for a metric evaluate.load can load offline.")]
MetricOpts = Annotated[Optional[list[str]], typer.Option(
    "--metric-opt", metavar="NAME.KEY=VALUE",
    help="An option of one metric (repeatable), e.g. bertscore.layer=4.")]


def metric_settings(metric_opts: list[str] | None) -> dict[str, dict[str, str]]:
    """--metric-opt values as {metric: {key: value}}."""
    from bench.api import parse_metric_opts

    return parse_metric_opts(metric_opts or [])


def metric_options(no_stemmer: bool, no_split_sentences: bool, tokenizer: TokenizerName) -> MetricOptions:
    """The MetricOptions that --no-stemmer, --no-split-sentences and --tokenizer ask for."""
    from bench.api import MetricOptions

    return MetricOptions(stemmer=not no_stemmer, split_sentences=not no_split_sentences, tokenizer=tokenizer.value)


# ------------------------------------------------------------ experiment trackers (run, rescore)

LogTo = Annotated[Optional[list[str]], typer.Option(
    "--log", metavar="TRACKER",
    help="Also log each run to an experiment tracker: mlflow (needs bench[mlflow]). A tracker that cannot be "
         "reached is one warning; the runs are written all the same.")]
LogOpts = Annotated[Optional[list[str]], typer.Option(
    "--log-opt", metavar="TRACKER.KEY=VALUE",
    help="A tracker option (repeatable): mlflow.experiment=NAME (default: the task's name), "
         "mlflow.tracking_uri=URI (default: MLFLOW_TRACKING_URI).")]


# ------------------------------------------------------------ directories

TasksDirs = Annotated[Optional[list[Path]], typer.Option(
    "--tasks-dir", metavar="DIR", help="Directory of your own task definitions (repeatable): with no task named, "
    "its tasks are the ones taken (the bundled ones too with --bundled); a bundled task is found when named.")]
Bundled = Annotated[bool, typer.Option(
    "--bundled", help="With --tasks-dir: the bundled tasks too, when no task is named.")]

_OUTPUT_DIR = typer.Option("--output-dir", "-o", metavar="DIR", help="Where run directories go.")
#: --output-dir of `run` (default: results).
OutputDir = Annotated[Path, _OUTPUT_DIR]
#: --output-dir of `rescore` (default: beside each run it rescores).
OutputDirOrNone = Annotated[Optional[Path], _OUTPUT_DIR]


# ------------------------------------------------------------ output format (score)

class Format(str, Enum):
    table = "table"
    json = "json"


FormatOption = Annotated[Format, typer.Option("--format", metavar="table|json", help="table or json.")]


# ------------------------------------------------------------ converters (run)

def option_name(parameter: str, value: str = "") -> str:
    """How the command line names a parameter of bench.api in messages: `--limit`, or `--limit N` with a value."""
    flag = "--" + parameter.replace("_", "-")
    return f"{flag} {value}" if value else flag


def parse_batch_size(text: str | None) -> int | Literal["auto"] | None:
    """--batch-size N|auto: a positive integer, "auto", or None when not given."""
    if text is None:
        return None
    if text == "auto":
        return "auto"
    if text.isdigit() and int(text) > 0:
        return int(text)
    raise BenchError(f"--batch-size must be a positive integer or 'auto', got {text!r}")


def parse_gen(items: list[str]) -> dict[str, Any]:
    """--gen key=value settings as a dict; a value is JSON when it parses as JSON (4, true, 0.7), else a string."""
    from bench.api import parse_value

    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise BenchError(f"--gen expects key=value, got {item!r}", hint="e.g. --gen num_beams=4 --gen max_new_tokens=60")
        try:
            out[key.strip()] = parse_value(value)
        except ValueError as e:
            raise BenchError(f"--gen {key.strip()}: {e}", hint="give a number such as --gen temperature=0.7") from None
    return out
