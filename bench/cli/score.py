"""`bench score`: score a JSONL file of predictions against their references."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from bench.cli.options import Format, FormatOption, NoSplitSentences, NoStemmer, Tokenizer, TokenizerName, metric_options
from bench.cli.output import cell, console, fmt, warn
from bench.errors import BenchError, BenchErrors


class MetricName(str, Enum):
    rouge = "rouge"
    squad = "squad"


#: What `read_score_file` says of a line without a reference text, which ROUGE cannot score.
NO_REFERENCE = "no non-empty reference"


def qa_hint(errors: BenchErrors) -> BenchErrors:
    """The problems of a file scored with ROUGE, with every line that has no reference text made one problem.

    Empty reference lists are SQuAD's unanswerable questions: such a file is most
    likely extractive QA, so the one problem says to use --metric squad.
    """
    empty = [e for e in errors.errors if e.message == NO_REFERENCE and e.where]
    if not empty:
        return errors
    lines = [e.where.rsplit(":", 1)[-1] for e in empty[1:]]
    more = ""
    if lines:
        shown = ", ".join(lines[:10]) + (f" and {len(lines) - 10} more" if len(lines) > 10 else "")
        more = f" (nor {'does' if len(lines) == 1 else 'do'} line{'s' if len(lines) != 1 else ''} {shown})"
    summary = BenchError(
        f"{NO_REFERENCE}{more}", where=empty[0].where,
        hint="ROUGE needs a reference text on every line. An empty reference list is an unanswerable question "
             "in SQuAD: if these are extractive QA answers, score them with --metric squad",
    )
    rest = [e for e in errors.errors if e not in empty]
    return BenchErrors([summary, *rest]) if rest else BenchErrors([summary])


def score(
    file: Annotated[Path, typer.Argument(metavar="FILE", help='JSONL file, one {"id", "prediction", "references": [...]} per line.')],
    metric: Annotated[MetricName, typer.Option("--metric", metavar="rouge|squad", help="rouge or squad.")] = MetricName.rouge,
    no_stemmer: NoStemmer = False,
    no_split_sentences: NoSplitSentences = False,
    tokenizer: Tokenizer = TokenizerName.default,
    output_format: FormatOption = Format.table,
) -> None:
    """Score predictions in a file against their references."""
    from bench.api import score_file

    try:
        result = score_file(file, metric=metric.value,
                            options=metric_options(no_stemmer, no_split_sentences, tokenizer))
    except BenchErrors as e:
        if metric is MetricName.rouge:
            raise qa_hint(e) from None
        raise
    for w in result["warnings"]:
        warn(w)
    if output_format is Format.json:
        out = {"n": result["n"], "metrics": result["metrics"], "ci": result["ci"], "signatures": result["signatures"]}
        if result["counts"]:
            out["counts"] = result["counts"]
        from bench.io import json_line

        typer.echo(json_line(out))
        return
    from rich.table import Table

    n = result["n"]
    table = Table(title=cell(f"{file} ({n} example{'s' if n != 1 else ''})"))
    table.add_column("metric")
    table.add_column("score", justify="right")
    table.add_column("95% CI", justify="right")
    table.add_column("signature")
    for name, value in result["metrics"].items():
        lo, hi = result["ci"][name]
        table.add_row(cell(name), fmt(value), f"{fmt(lo)}-{fmt(hi)}", cell(result["signatures"][name]))
    console().print(table)
