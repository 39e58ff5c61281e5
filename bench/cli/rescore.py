"""`bench rescore`: recompute a run's metrics from its stored predictions, without the model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bench.cli.options import (LogOpts, LogTo, MetricNames, MetricOpts, NoSplitSentences, NoStemmer, OutputDirOrNone,
                               Tokenizer, TokenizerName, metric_options, metric_settings)
from bench.cli.output import echo, freeze_heap, log_runs_to, print_runs


def rescore(
    run_dirs: Annotated[list[Path], typer.Argument(metavar="RUN_DIR", help="Run directories (holding results.json and predictions.jsonl).")],
    no_stemmer: NoStemmer = False,
    no_split_sentences: NoSplitSentences = False,
    tokenizer: Tokenizer = TokenizerName.default,
    output_dir: OutputDirOrNone = None,
    metric: MetricNames = None,
    metric_opt: MetricOpts = None,
    log: LogTo = None,
    log_opt: LogOpts = None,
) -> None:
    """Recompute metrics from stored predictions as new runs, without loading the model.

    The run's own metrics are scored again, with --metric adding others (metrics that read the documents
    get them from the run's task, which must be unchanged). The new runs go to the results directory of
    each run unless --output-dir is given. A rescoring that would give the scores of a run already there
    (the same metrics and options) writes nothing and says so; with --log, that run is logged (once: a run
    logged before is not logged again).
    """
    from bench.api import check_log_options, existing_rescore, prepare_scoring, rescore as api_rescore
    from bench.errors import relpath

    prepare_scoring()  # (imported before the heap is frozen)
    freeze_heap()
    trackers = check_log_options(log or [], log_opt or [])
    options = metric_options(no_stemmer, no_split_sentences, tokenizer)
    names, settings = list(metric or []), metric_settings(metric_opt)
    records = []
    existing = []
    for d in run_dirs:
        same = existing_rescore(d, metric_options=options, output_dir=output_dir, metrics=names,
                                metric_settings=settings)
        if same is not None:
            if names:
                asked = " ".join(f"--metric {n}" for n in names)
                echo(f"note: {relpath(d)}: run {relpath(same)} already has the scores of {asked} with these options; "
                     "nothing written (to write them again anyway, rescore into another directory: --output-dir DIR)",
                     err=True)
            else:
                echo(f"note: {relpath(d)}: these metric options give the scores of run {relpath(same)} again; "
                     "nothing written (pass other options, e.g. --no-stemmer or --metric NAME, for new scores)",
                     err=True)
            existing.append(str(same))
            continue
        records.append(api_rescore(d, metric_options=options, output_dir=output_dir, metrics=names,
                                   metric_settings=settings))
    if records:
        print_runs(records)
    if trackers and (records or existing):
        log_runs_to(trackers, [*existing, *(r["path"] for r in records)])
