"""`bench score`: score a JSONL file of predictions against their references."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bench.cli.options import (Format, FormatOption, MetricNames, MetricOpts, NoSplitSentences, NoStemmer, Tokenizer,
                               TokenizerName, metric_options, metric_settings)
from bench.cli.output import cell, console, fmt, freeze_heap, warn
from bench.errors import BenchError, BenchErrors


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
    file: Annotated[Path, typer.Argument(metavar="FILE", help='JSONL file, one {"id", "prediction", "references": [...]} per line (with "document", "question" or "no_answer_probability" where a metric reads them).')],
    metric: MetricNames = None,
    metric_opt: MetricOpts = None,
    no_stemmer: NoStemmer = False,
    no_split_sentences: NoSplitSentences = False,
    tokenizer: Tokenizer = TokenizerName.default,
    output_format: FormatOption = Format.table,
) -> None:
    """Score predictions in a file against their references (ROUGE unless --metric says otherwise)."""
    from bench.api import prepare_scoring, score_file

    prepare_scoring()  # (imported before the heap is frozen)
    freeze_heap()
    names = list(dict.fromkeys(metric or ["rouge"]))
    try:
        result = score_file(file, metric=names, options=metric_options(no_stemmer, no_split_sentences, tokenizer),
                            metric_settings=metric_settings(metric_opt))
    except BenchErrors as e:
        if "rouge" in names:
            raise qa_hint(e) from None
        raise
    for w in result["warnings"]:
        warn(w)
    if output_format is Format.json:
        out = {"n": result["n"], "metrics": result["metrics"], "ci": result["ci"], "signatures": result["signatures"]}
        if result["counts"]:
            out["counts"] = result["counts"]
        if result["reference"]:
            out["reference"] = {k: result["reference"][k] for k in ("metrics", "ci", "signatures")}
        from bench.api import json_line

        typer.echo(json_line(out))
        return
    from rich.table import Table

    n = result["n"]
    table = Table(title=cell(f"{file} ({n} example{'s' if n != 1 else ''})"))
    table.add_column("metric")
    table.add_column("score", justify="right")
    table.add_column("95% CI", justify="right")
    reference = result["reference"] or {"metrics": {}}
    if reference["metrics"]:
        table.add_column("references", justify="right")
    table.add_column("signature")
    for name, value in result["metrics"].items():
        pair = result["ci"][name]
        interval = f"{fmt(pair[0])}-{fmt(pair[1])}" if pair else "-"
        extra = [fmt(reference["metrics"][name]) if name in reference["metrics"] else ""] \
            if reference["metrics"] else []
        table.add_row(cell(name), fmt(value), interval, *extra, cell(result["signatures"][name]))
    console().print(table)
    if any(pair is None for pair in result["ci"].values()):
        typer.echo("A score without a CI is one value over the whole set (not a mean of per-example scores): "
                   "no CI, and no paired test in `bench compare`.", err=True)
