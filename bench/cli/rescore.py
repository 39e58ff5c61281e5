"""`bench rescore`: recompute a run's metrics from its stored predictions, without the model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from bench.cli.app import TokenizerName, _metric_options, _print_runs, app


@app.command()
def rescore(
    run_dirs: Annotated[list[Path], typer.Argument(help="Run directories (holding results.json and predictions.jsonl).")],
    no_stemmer: Annotated[bool, typer.Option("--no-stemmer", help="ROUGE without Porter stemming.")] = False,
    no_split_sentences: Annotated[bool, typer.Option(
        "--no-split-sentences", help="Do not split predictions into sentences for rougeLsum.")] = False,
    tokenizer: Annotated[TokenizerName, typer.Option(
        "--tokenizer", help="ROUGE tokenizer: default (rouge_score's, ASCII only) or unicode.")] = TokenizerName.default,
    output_dir: Annotated[Optional[Path], typer.Option(
        "--output-dir", "-o", help="Where the new runs go (default: the results directory of each run).")] = None,
) -> None:
    """Recompute metrics from stored predictions as new runs, without loading the model."""
    from bench.api import rescore as api_rescore

    options = _metric_options(no_stemmer, no_split_sentences, tokenizer)
    records = [api_rescore(d, metric_options=options, output_dir=output_dir) for d in run_dirs]
    _print_runs(records)
