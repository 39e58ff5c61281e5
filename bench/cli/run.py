"""`bench run`: run models on tasks, write each run to the results directory, print the scores."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from bench.cli.options import (Bundled, Interrupted, LogOpts, LogTo, MetricNames, MetricOpts, NoSplitSentences, NoStemmer,
                               OutputDir, TasksDirs, Tokenizer, TokenizerName,
                               metric_options, metric_settings, option_name, parse_batch_size, parse_gen)
from bench.cli.output import ProgressBars, freeze_heap, log_runs_to, print_runs
from bench.errors import relpath


def run(
    model: Annotated[Optional[list[str]], typer.Option(
        "--model", "-m", metavar="MODEL", help="Model name, alias, hub id, local directory or package.module:Class "
        "(repeatable). Default: every built-in baseline.")] = None,
    name: Annotated[Optional[list[str]], typer.Option(
        "--name", metavar="NAME", help="The name a --model has in results (tables, reports, its results folder): "
        "one per --model, in the same order.")] = None,
    task: Annotated[Optional[list[str]], typer.Option(
        "--task", "-t", metavar="TASK",
        help="Task name or path to a task .yaml (repeatable). Default: every task a model can do.")] = None,
    limit: Annotated[Optional[int], typer.Option(
        "--limit", metavar="N", help="Use only the first N examples of each task.")] = None,
    sample: Annotated[Optional[int], typer.Option(
        "--sample", metavar="N",
        help="Use N examples of each task drawn at random with --seed (same seed, same examples).")] = None,
    seed: Annotated[int, typer.Option("--seed", metavar="S", help="Seed for everything random.")] = 0,
    output_dir: OutputDir = Path("results"),
    tasks_dir: TasksDirs = None,
    bundled: Bundled = False,
    batch_size: Annotated[Optional[str], typer.Option(
        "--batch-size", metavar="N|auto", help="Examples per batch, or 'auto'.")] = None,
    device: Annotated[str, typer.Option(
        "--device", metavar="DEVICE", help="auto, cpu, cuda, cuda:N or mps (Hugging Face models).")] = "auto",
    dtype: Annotated[str, typer.Option(
        "--dtype", metavar="DTYPE", help="auto, float32, float16 or bfloat16 (Hugging Face models).")] = "auto",
    gen: Annotated[Optional[list[str]], typer.Option(
        "--gen", metavar="KEY=VALUE", help="Generation setting key=value (repeatable).")] = None,
    revision: Annotated[Optional[str], typer.Option(
        "--revision", metavar="REV", help="Hub revision (branch, tag or commit).")] = None,
    trust_remote_code: Annotated[bool, typer.Option(
        "--trust-remote-code", help="Allow a hub model's own code to run.")] = False,
    base_url: Annotated[Optional[str], typer.Option(
        "--base-url", metavar="URL", help="Server URL for openai:NAME models.")] = None,
    no_stemmer: NoStemmer = False,
    no_split_sentences: NoSplitSentences = False,
    tokenizer: Tokenizer = TokenizerName.default,
    metric: MetricNames = None,
    metric_opt: MetricOpts = None,
    no_cache: Annotated[bool, typer.Option(
        "--no-cache", help="Predict everything again instead of reusing cached predictions.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    log: LogTo = None,
    log_opt: LogOpts = None,
) -> None:
    """Run models on tasks and write scores to results/.

    Each task is scored with its own metrics (its definition's `metrics:`), and --metric adds others.

    Predictions are cached as they are made (results/.cache): rerunning the same
    command after an interruption predicts only what is missing.
    """
    from bench.api import check_log_options, check_run_arguments, prepare_scoring, run as api_run

    prepare_scoring()  # (imported before the heap is frozen)
    freeze_heap()

    batch = parse_batch_size(batch_size)
    model_options: dict[str, Any] = {"device": device, "dtype": dtype, "generation": parse_gen(gen or []),
                                     "revision": revision, "trust_remote_code": trust_remote_code}
    if base_url:
        model_options["base_url"] = base_url
    check_run_arguments(limit=limit, sample=sample, seed=seed, batch_size=batch, output_dir=output_dir,
                        name=option_name)
    trackers = check_log_options(log or [], log_opt or [])
    try:
        records = api_run(
            models=model or [], tasks=task or [], limit=limit, sample=sample, seed=seed, output_dir=output_dir,
            tasks_dirs=tasks_dir or [], bundled=bundled, names=name or [], batch_size=batch,
            metric_options=metric_options(no_stemmer, no_split_sentences, tokenizer),
            model_options=model_options, progress=None if quiet else ProgressBars(), no_cache=no_cache,
            metrics=metric or [], metric_settings=metric_settings(metric_opt),
        )
    except (Interrupted, KeyboardInterrupt):
        again = "the same command without --no-cache" if no_cache else "the same command again"
        raise Interrupted(f"interrupted: the predictions made so far are kept in the prediction cache "
                          f"({relpath(output_dir / '.cache')}); run {again} to resume") from None
    if records:  # empty on the non-main processes of a multi-process run
        print_runs(records)
        if trackers:
            log_runs_to(trackers, [r["path"] for r in records])
