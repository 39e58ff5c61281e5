"""The Python API: what comes after runs: comparisons (`compare`, `compare_report`), meta-evaluation
(`correlate_report`), results as DataFrames and exports, experiment trackers, and human evaluation studies
(`annotate_*`). The stages are imported inside each function."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.api.arguments import check_compare_arguments
from bench.errors import BenchError

if TYPE_CHECKING:
    pass


def compare(
    results_dirs: Sequence[str | Path] = ("results",),
    *,
    tasks: Sequence[str] = (),
    models: Sequence[str] = (),
    metrics: Sequence[str] = (),
    all_runs: bool = False,
    baseline: str | None = None,
    seed: int | None = None,
    alpha: float = 0.05,
) -> list[dict[str, Any]]:
    """The rows of `bench compare --format json`: one per (task, model), or per run with `all_runs`.

    Each row is {"task", "model", "run", "n", "metrics", "ci", "examples_per_s", "task_hash", "signatures",
    "directions", "section"} (the section's "reference" holds its reference row, or null); with `baseline`,
    rows compared with it also get "paired": {metric: {"diff", "ci", "p_value", ...}}. `seed` seeds the
    paired bootstrap and permutation test; None takes `bench.stats.bootstrap.DEFAULT_SEED`, the
    seed of every bench CI.
    """
    import json

    from bench.comparison.render_data import render_json
    from bench.comparison.select import check_baseline, select
    from bench.comparison.paired import compare_section
    from bench.stats.bootstrap import DEFAULT_SEED

    if seed is None:
        seed = DEFAULT_SEED

    check_compare_arguments(alpha=alpha)
    sections = select([Path(d) for d in results_dirs], tasks=tasks, models=models, metrics=metrics,
                      all_runs=all_runs)
    comparisons = None
    if baseline is not None:
        check_baseline(sections, baseline)
        cache: dict = {}  # each run's scores read once
        comparisons = {k: compare_section(s, baseline, seed=seed, alpha=alpha, cache=cache)
                       for k, s in enumerate(sections)}
    return json.loads(render_json(sections, comparisons))


def compare_report(results_dirs: Sequence[str | Path] = ("results",), *, fmt: str = "table",
                   output: str | Path | None = None, plot: str | Path | None = None, judge: str | None = None,
                   judge_opts: Sequence[str] = (), criteria: Sequence[str] = (), human: str | Path | None = None,
                   tasks_dirs: Sequence[str | Path] = (), **selection: Any) -> Any:
    """`bench compare`'s report: the text in `fmt` (table, md, csv, json, html or latex), written to `output` and
    with the charts in `plot` when given; a `bench.comparison.compare_report.Report` (text, notes, written).
    `selection`: tasks, models, metrics, all_runs, baseline, examples, seed, alpha, to_terminal, latex_ci,
    progress (told how far reading and testing the runs has come: what, done, all).

    With `judge` (openai:NAME or a causal LM; `judge_opts` its ``KEY=VALUE`` options) or `human` (a pairwise
    study's export, or the study), the report adds the pairwise preferences on `criteria` of the latest runs of
    each model on the one task of `tasks` (`tasks_dirs`: where its definition is, for the judge's documents):
    docs/comparing.md."""
    from bench.comparison.compare_report import compare_report as report
    from bench.stats.bootstrap import DEFAULT_SEED

    selection.setdefault("seed", DEFAULT_SEED)
    selection.setdefault("alpha", 0.05)
    check_compare_arguments(alpha=selection["alpha"])
    if judge is not None or human is not None:
        from bench.comparison.pairwise import parse_judge_options

        if judge is None and judge_opts:
            raise BenchError("--judge-opt is for --judge", hint="add --judge MODEL")
        selection["pairwise"] = {"judge": judge, "judge_options": parse_judge_options(judge_opts),
                                 "criteria": list(criteria), "human": None if human is None else Path(human),
                                 "tasks_dirs": [Path(d) for d in tasks_dirs]}
    elif judge_opts or criteria or tasks_dirs:
        raise BenchError("--judge-opt, --criterion and --tasks-dir are for a pairwise comparison",
                         hint="add --judge MODEL (or --human FILE)")
    return report([Path(d) for d in results_dirs], fmt=fmt, output=Path(output) if output else None,
                  plot=Path(plot) if plot else None, **selection)


def correlate_report(paths: Sequence[str | Path], *, fmt: str = "table", output: str | Path | None = None,
                     html: str | Path | None = None, **arguments: Any) -> Any:
    """`bench correlate`'s report: the text in `fmt` (table, md, csv or json), written to `output` and as an
    HTML page to `html` when given; a `bench.correlation.correlate_report.Report` (text, notes, written).
    `arguments`: ratings, task (the task of the runs the ratings go with), metrics, metric_settings, criteria,
    annotators, options, seed, n_resamples, to_terminal, binary (``CRITERION`` or ``CRITERION=CUT``), thresholds
    (``METRIC=VALUE``), threshold_from (a validation file), oracle (also the threshold best on the test data,
    labelled so)."""
    from bench.correlation.correlate_report import correlate_report as report
    from bench.stats.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED

    arguments.setdefault("seed", DEFAULT_SEED)
    arguments.setdefault("n_resamples", DEFAULT_RESAMPLES)
    if arguments.get("threshold_from") is not None:
        arguments["threshold_from"] = Path(arguments["threshold_from"])
    return report([Path(p) for p in paths], fmt=fmt, output=Path(output) if output else None,
                  html=Path(html) if html else None, **arguments)


def runs_df(paths: Sequence[str | Path] | str | Path = ("results",), *, latest: bool = False,
            strict: bool = False) -> Any:
    """One row per run under `paths` as a pandas DataFrame (`bench.results.frames.runs_df`; columns in
    docs/results.md). `latest` keeps the latest run of each model on each task, as `bench compare` does; a damaged
    run is left out with a warning, or raises with `strict`."""
    from bench.results.frames import runs_df as frame

    return frame(paths, latest=latest, strict=strict)


def examples_df(paths: Sequence[str | Path] | str | Path = ("results",), *, latest: bool = False, texts: bool = True,
                documents: bool = False, strict: bool = False) -> Any:
    """One row per example of each run under `paths` as a pandas DataFrame
    (`bench.results.per_example.examples_df`)."""
    from bench.results.per_example import examples_df as frame

    return frame(paths, latest=latest, texts=texts, documents=documents, strict=strict)


def export(results_dirs: Sequence[str | Path], output: str | Path, *, fmt: str = "parquet", latest: bool = False,
           texts: bool = True) -> list[Path]:
    """Write ``runs.<fmt>``, ``examples.<fmt>`` and a README.md card to the folder `output`
    (`bench.results.dataset_export.export`); returns the three paths."""
    from bench.results.dataset_export import export as write

    return write(results_dirs, output, fmt=fmt, latest=latest, texts=texts)


def check_log_options(trackers: Sequence[str], options: Sequence[str] | Mapping[str, Mapping[str, str]] = ()
                      ) -> dict[str, dict[str, str]]:
    """`--log` trackers and `--log-opt TRACKER.KEY=VALUE` options checked before a run starts: tracker -> options
    (`bench.results.tracking.parse_log_options`; a tracker whose client is missing is refused here)."""
    from bench.results.tracking import parse_log_options

    return parse_log_options(trackers, options)


def log_runs(run_dirs: Sequence[str | Path], tracker: str = "mlflow", options: Mapping[str, str] | None = None) -> Any:
    """Log run directories to an experiment tracker (`bench.results.tracking.log_runs`); returns a `LogReport`:
    what was logged, what had been logged before, and what could not be (never raised: the runs are on disk)."""
    from bench.results.tracking import log_runs as log

    return log(run_dirs, tracker, options)


def log_report_lines(report: Any) -> tuple[list[str], str | None]:
    """(the lines saying what a `log_runs` report logged, the one warning for what it could not log, or None)."""
    from bench.results.tracking import describe, failure_warning

    return describe(report), failure_warning(report)


# ---------------------------------------------------------------------- human evaluation (`bench annotate`)


def annotate_new(
    study: str | Path,
    results_dirs: Sequence[str | Path] = ("results",),
    *,
    task: str,
    criteria: Sequence[str] = (),
    criteria_file: str | Path | None = None,
    annotators: Sequence[str] = (),
    sample: int | None = None,
    seed: int = 0,
    pairwise: bool = False,
    baseline: str | None = None,
    overlap: int | None = None,
    repeat: int = 0,
    tasks_dirs: Sequence[str | Path] = (),
) -> dict[str, Any]:
    """Make a human-evaluation study of the latest run of each model on `task` under `results_dirs`.

    `study` is a path, or a name for ``results/.annotations/NAME.sqlite``. The
    documents are a seeded sample of `sample` (all when None), the same for
    every model; `criteria` name built-in criteria (SummEval's coherence,
    consistency, fluency, relevance) or those of `criteria_file` (YAML). With
    `pairwise`, each item shows two models' summaries (every pair, or each
    model against `baseline`). Each item goes to `overlap` annotators (default:
    all); `repeat` items are shown twice to each. Returns {"study", "mode",
    "task", "documents", "systems", "items", "criteria", "annotators": [{"name",
    "pages"}]}.
    """
    from bench.annotation.creation import new_study

    made = new_study(study, [Path(d) for d in results_dirs], task=task, criteria=criteria,
                     criteria_file=Path(criteria_file) if criteria_file is not None else None, sample=sample,
                     seed=seed, annotators=annotators, pairwise=pairwise, baseline=baseline, overlap=overlap,
                     repeat=repeat, tasks_dirs=[Path(d) for d in tasks_dirs])
    return {"study": str(made.path), "mode": made.mode, "task": made.task, "documents": len(made.documents),
            "systems": list(made.systems), "items": len(made.items), "criteria": [c.name for c in made.criteria],
            "annotators": [{"name": a.name, "pages": len(a.pages)} for a in made.annotators]}


def annotate_serve(study: str | Path, *, host: str = "127.0.0.1", port: int = 8765,
                   on_ready: Any = None) -> None:
    """Serve a study's rating pages until interrupted (needs the ``annotate`` extra).

    `on_ready(links, host, port)` is called once the server listens, with
    (annotator, private link) pairs; port 0 picks a free port.
    """
    from bench.annotation.server import serve
    from bench.annotation.storage import study_path

    serve(study_path(study), host=host, port=port, on_ready=on_ready)


def annotate_status(study: str | Path, *, seed: int | None = None, n_resamples: int | None = None) -> dict[str, Any]:
    """A study's progress per annotator, agreement per criterion and each system's results with intervals."""
    from bench.annotation.study_export import status
    from bench.annotation.storage import study_path
    from bench.stats.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED

    _check_resamples(n_resamples)
    return status(study_path(study), seed=DEFAULT_SEED if seed is None else seed,
                  n_resamples=n_resamples or DEFAULT_RESAMPLES)


def annotate_export(study: str | Path, output: str | Path | None = None, *, fmt: str = "jsonl",
                    seed: int | None = None, n_resamples: int | None = None) -> tuple[str, int]:
    """A study's answers as `bench correlate`'s ratings layout (or, pairwise, one line per judgment), or with
    `fmt="json"` the statistics of `annotate_status` with those lines. Writes `output` (whole or not at all)
    when given; returns (text, number of lines)."""
    from bench.annotation.study_export import export_text
    from bench.annotation.storage import study_path
    from bench.stats.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED

    if fmt not in ("jsonl", "json"):
        raise BenchError(f"unknown export format {fmt!r}", hint="jsonl or json")
    _check_resamples(n_resamples)
    text, n = export_text(study_path(study), fmt=fmt, seed=DEFAULT_SEED if seed is None else seed,
                          n_resamples=n_resamples or DEFAULT_RESAMPLES)
    if output is not None:
        from bench.errors import EXIT_ENVIRONMENT
        from bench.io import atomic_write

        atomic_write(Path(output), text, what="the export", exit_code=EXIT_ENVIRONMENT,
                     hint="nothing was written; choose a directory you can write to, or check its free space")
    return text, n


def _check_resamples(n_resamples: int | None) -> None:
    if n_resamples is not None and n_resamples < 1:
        raise BenchError(f"the number of bootstrap resamples must be 1 or more, got {n_resamples}")
