"""`bench correlate`: how well each metric agrees with human ratings (Kendall, Spearman, Pearson; bootstrap CIs)."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from bench.cli.options import MetricOpts, NoSplitSentences, NoStemmer, Tokenizer, TokenizerName, metric_options, \
    metric_settings
from bench.cli.output import echo, warn
from bench.errors import BenchError, relpath, visible

#: The default of --seed and --resamples (bench.stats.bootstrap's DEFAULT_SEED and DEFAULT_RESAMPLES, which
#: the command line does not import to stay light; tests/cli/test_correlate.py checks they agree).
SEED = 12345
RESAMPLES = 1000


class CorrelateFormat(str, Enum):
    table = "table"
    md = "md"
    csv = "csv"
    json = "json"


class Annotators(str, Enum):
    expert = "expert"
    turker = "turker"


def correlate(
    paths: Annotated[list[Path], typer.Argument(
        metavar="FILE|RUN_DIR", show_default=False,
        help='A ratings file (one {"id", "system", "prediction", "references", "document", "ratings", "scores"} per '
             "line), SummEval's model_annotations.aligned.paired.jsonl, one of UniEval's meta-evaluation files (a "
             "JSON array), or a `bench annotate` study; with --ratings, run or results directories.")],
    ratings: Annotated[Optional[Path], typer.Option(
        "--ratings", "-r", metavar="FILE",
        help='Ratings of the runs\' predictions: one {"id", "system", "ratings"} per line (system: the model name), '
             'or a `bench annotate` study (its name or file).')
    ] = None,
    task: Annotated[Optional[str], typer.Option(
        "--task", "-t", metavar="TASK",
        help="With --ratings: the task whose runs the ratings go with (needed when the directories hold runs of "
             "several tasks; a study's own task otherwise).")] = None,
    metric: Annotated[Optional[list[str]], typer.Option(
        "--metric", metavar="NAME",
        help="A metric to correlate (repeatable): a score given with the summaries (a ratings line's scores, "
             "UniEval's as unieval, or what runs stored; default: every one given), or a metric bench computes on "
             "them (default when none is given: rouge).")] = None,
    metric_opt: MetricOpts = None,
    criterion: Annotated[Optional[list[str]], typer.Option(
        "--criterion", metavar="NAME",
        help="Only this criterion (repeatable). Default: every criterion rated.")] = None,
    binary: Annotated[Optional[list[str]], typer.Option(
        "--binary", metavar="CRITERION[=CUT]",
        help="Also score this criterion as detection (repeatable): its ratings are 0 or 1, or a mean "
             "rating >= CUT is 1. A criterion rated 0 and 1 only is one anyway. Reports ROC AUC, and balanced "
             "accuracy at a threshold from --threshold or --threshold-from.")] = None,
    threshold: Annotated[Optional[list[str]], typer.Option(
        "--threshold", metavar="METRIC=VALUE",
        help="Detection: a score >= VALUE is called 1 (repeatable, one per metric), for balanced accuracy. Choose "
             "it on other data than these summaries.")] = None,
    threshold_from: Annotated[Optional[Path], typer.Option(
        "--threshold-from", metavar="FILE",
        help="Detection: tune each metric's threshold on this validation file (read like FILE; the threshold that "
             "maximises balanced accuracy there), then apply it here.")] = None,
    oracle_threshold: Annotated[bool, typer.Option(
        "--oracle-threshold",
        help="Detection: also report balanced accuracy at the threshold best on these very summaries, labelled as "
             "tuned on the test data (optimistic).")] = False,
    annotators: Annotated[Optional[Annotators], typer.Option(
        "--annotators", metavar="expert|turker",
        help="SummEval's file: the expert (default) or the crowd-worker annotations.")] = None,
    fmt: Annotated[CorrelateFormat, typer.Option(
        "--format", "-f", metavar="table|md|csv|json", help="table, md, csv or json.")] = CorrelateFormat.table,
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", metavar="FILE", help="Write to this file instead of stdout.")] = None,
    html: Annotated[Optional[Path], typer.Option(
        "--html", metavar="FILE", help="Also write a standalone HTML page of the tables.")] = None,
    seed: Annotated[int, typer.Option("--seed", metavar="S", help="Seed of the bootstrap.")] = SEED,
    resamples: Annotated[int, typer.Option("--resamples", metavar="N", help="Bootstrap resamples.")] = RESAMPLES,
    no_stemmer: NoStemmer = False,
    no_split_sentences: NoSplitSentences = False,
    tokenizer: Tokenizer = TokenizerName.default,
) -> None:
    """Correlate metrics with human ratings: Kendall tau-b, Spearman and Pearson at summary, system and sample
    level; ROC AUC and balanced accuracy for criteria rated 0 or 1."""
    from bench.cli.compare import check_destination

    if resamples < 1:
        raise BenchError(f"--resamples must be 1 or more, got {resamples}")
    for path, option in ((output, "--output"), (html, "--html")):
        if path is not None:
            check_destination(path, option)
    from bench.api import correlate_report

    report = correlate_report(
        paths, ratings=ratings, task=task, metrics=metric or [], metric_settings=metric_settings(metric_opt),
        criteria=criterion or [], annotators=annotators.value if annotators else None,
        options=metric_options(no_stemmer, no_split_sentences, tokenizer), seed=seed, n_resamples=resamples,
        fmt=fmt.value, to_terminal=output is None, output=output, html=html, binary=binary or [],
        thresholds=threshold or [], threshold_from=threshold_from, oracle=oracle_threshold)
    for note in report.notes:
        warn(note)
    for path in report.written:
        echo(f"wrote {relpath(path)}", err=True)
    if output is not None:
        return
    if fmt is not CorrelateFormat.table and sys.stdout.isatty():
        sys.stdout.write(visible(report.text, multiline=True))
    else:
        sys.stdout.write(report.text)
