"""`bench score`: score a JSONL file of predictions against their references."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from bench.cli.options import Format, FormatOption, NoSplitSentences, NoStemmer, Tokenizer, TokenizerName, metric_options
from bench.cli.output import cell, console, fmt, warn


class MetricName(str, Enum):
    rouge = "rouge"
    squad = "squad"


def score(
    file: Annotated[Path, typer.Argument(help='JSONL file, one {"id", "prediction", "references": [...]} per line.')],
    metric: Annotated[MetricName, typer.Option("--metric", help="rouge or squad.")] = MetricName.rouge,
    no_stemmer: NoStemmer = False,
    no_split_sentences: NoSplitSentences = False,
    tokenizer: Tokenizer = TokenizerName.default,
    output_format: FormatOption = Format.table,
) -> None:
    """Score predictions in a file against their references."""
    from bench.api import score_file

    result = score_file(file, metric=metric.value, options=metric_options(no_stemmer, no_split_sentences, tokenizer))
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

    table = Table(title=cell(f"{file} ({result['n']} examples)"))
    table.add_column("metric")
    table.add_column("score", justify="right")
    table.add_column("95% CI", justify="right")
    table.add_column("signature")
    for name, value in result["metrics"].items():
        lo, hi = result["ci"][name]
        table.add_row(cell(name), fmt(value), f"{fmt(lo)}-{fmt(hi)}", cell(result["signatures"][name]))
    console().print(table)
