"""`bench rescore`: recompute a run's metrics from its stored predictions, without the model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bench.cli.options import NoSplitSentences, NoStemmer, OutputDirOrNone, Tokenizer, TokenizerName, metric_options
from bench.cli.output import print_runs


def rescore(
    run_dirs: Annotated[list[Path], typer.Argument(help="Run directories (holding results.json and predictions.jsonl).")],
    no_stemmer: NoStemmer = False,
    no_split_sentences: NoSplitSentences = False,
    tokenizer: Tokenizer = TokenizerName.default,
    output_dir: OutputDirOrNone = None,
) -> None:
    """Recompute metrics from stored predictions as new runs, without loading the model.

    The new runs go to the results directory of each run unless --output-dir is given.
    """
    from bench.api import rescore as api_rescore

    options = metric_options(no_stemmer, no_split_sentences, tokenizer)
    records = [api_rescore(d, metric_options=options, output_dir=output_dir) for d in run_dirs]
    print_runs(records)
