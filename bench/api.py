"""The Python API: what the command line does, callable from a notebook.

    import bench
    records = bench.run(models=["lead-3"], tasks=["seed-summarization"])
    records[0]["metrics"]["rougeLsum"]
    bench.score(["a prediction"], [["a reference"]], metric="rouge")

Each function returns the same records the command line writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from bench.errors import BenchError, relpath

if TYPE_CHECKING:
    from bench.metrics import MetricOptions
    from bench.tasks.records import Task

# The stages are imported inside each function, so that a command importing this
# module (e.g. `bench compare` for its argument checks) pays only for what it runs.

__all__ = ["run", "score", "score_file", "compare", "rescore", "load_task", "list_tasks",  # noqa: F822
           "read_score_file", "validate", "import_articles", "describe_catalog", "existing_rescore",
           "check_run_arguments", "check_compare_arguments", "parse_metric_opts", "parse_value", "prepare_scoring",
           "MetricOptions", "json_line", "compare_report", "correlate_report", "annotate_new", "annotate_serve",
           "annotate_status", "annotate_export", "runs_df", "examples_df", "export", "check_log_options", "log_runs",
           "log_report_lines"]

#: Largest seed `run` takes (numpy's and Python's generators take 32-bit seeds).
MAX_SEED = 2**32 - 1


class ArgumentName(Protocol):
    """How a message names a parameter: `limit` (or `limit=N`) for Python callers, `--limit` for the command line."""

    def __call__(self, parameter: str, value: str = "") -> str: ...


def python_name(parameter: str, value: str = "") -> str:
    """A parameter as Python callers write it: `limit`, or `limit=N` with a value."""
    return f"{parameter}={value}" if value else parameter


def __getattr__(name: str) -> Any:
    """Names re-exported here, imported when first asked for."""
    if name == "read_score_file":
        from bench.metrics.score_file import read_score_file

        return read_score_file
    if name == "MetricOptions":
        from bench.metrics.metric_options import MetricOptions

        return MetricOptions
    if name == "json_line":
        from bench.io import json_line

        return json_line
    raise AttributeError(f"module 'bench.api' has no attribute {name!r}")


def load_task(path: str | Path) -> Task:
    """Read and check one task definition, the metrics it names included; every problem is reported at once."""
    from bench.metrics.catalog import task_metric_problem
    from bench.tasks.definition import load_task as load

    return load(Path(path), task_metric_problem)


def list_tasks(tasks_dirs: Sequence[str | Path] = ()) -> list[Task]:
    """Every task definition found: the bundled ones, then those in `tasks_dirs`."""
    from bench.metrics.catalog import task_metric_problem
    from bench.tasks.discovery import resolve_tasks

    return resolve_tasks([], [Path(d) for d in tasks_dirs], task_metric_problem)


def validate(targets: Sequence[str] = (), tasks_dirs: Sequence[str | Path] = ()) -> tuple[list[str], BenchError | None]:
    """Check task definitions and their data (every task when `targets` is empty): a summary line per task that
    passes, and one `BenchErrors` of every problem found (exit code 2 when any is bad input), or None."""
    from bench.metrics.catalog import task_metric_problem
    from bench.tasks.task_checks import raise_problems, validate_targets

    lines, errors = validate_targets(list(targets), [Path(d) for d in tasks_dirs], task_metric_problem)
    try:
        raise_problems(errors)
    except BenchError as e:
        return lines, e
    return lines, None


def import_articles(files: Sequence[str | Path], name: str, fixtures_dir: str | Path = "fixtures",
                    tasks_dir: str | Path = "tasks", *, force: bool = False) -> tuple[list[Any], list[Any]]:
    """Fixtures and task definitions from plain article files (`bench fixture import`): (articles, tasks)."""
    from bench.tasks.importer import import_articles as run_import

    return run_import([Path(f) for f in files], name, Path(fixtures_dir), Path(tasks_dir), force=force)


def describe_catalog(tasks_dirs: Sequence[str | Path] = ()) -> dict[str, Any]:
    """What `bench list` shows: {"tasks": [{"name", "path", "task" (or None), "examples" (or None), "problems"}],
    "models": [ModelSpec], "metrics": [{"name", "reads", "task_types", "options", "description"}]}."""
    from dataclasses import MISSING, fields

    from bench.metrics import METRICS, entry_point_metrics
    from bench.metrics.metric import FIELDS
    from bench.metrics.model_based.judge import JUDGES
    from bench.models import MODELS, entry_point_models
    from bench.tasks.discovery import discover_tasks
    from bench.tasks.examples import count_examples

    tasks = []
    for name, path in discover_tasks([Path(d) for d in tasks_dirs]).items():
        try:
            task = load_task(path)
        except BenchError as e:
            tasks.append({"name": name, "path": path, "task": None, "examples": None,
                          "problems": list(getattr(e, "errors", None) or [e])})
            continue
        tasks.append({"name": name, "path": path, "task": task,
                      "examples": count_examples(task) if task.fixture else None, "problems": []})
    metrics = []
    classes = {**dict(METRICS.items()), **{cls.name: cls for cls in JUDGES.values()}, **entry_point_metrics()}
    for name, cls in classes.items():
        options = {f.name: f.default if f.default is not MISSING else (
            f.default_factory() if f.default_factory is not MISSING else None)  # type: ignore[misc]
            for f in fields(cls.Options)}
        metrics.append({"name": name, "reads": [n for n in FIELDS if n in cls.needs],
                        "task_types": list(cls.task_types), "options": options, "description": cls.description})
    return {"tasks": tasks, "models": list(dict(MODELS.items()).values()) + list(entry_point_models().values()),
            "metrics": metrics}


def parse_metric_opts(opts: Sequence[str]) -> dict[str, dict[str, str]]:
    """``NAME.key=value`` strings (``--metric-opt``) as ``{NAME: {key: value}}``, values as given."""
    from bench.metrics.catalog import split_metric_opts

    return split_metric_opts(opts)


def parse_value(text: str) -> Any:
    """A setting's value as written on the command line: JSON when it parses as JSON (4, true, 0.7, [1, 2]),
    else the text as it is. A NaN or infinite number raises ValueError."""
    import json

    from bench.io import NonFiniteNumber, loads

    try:
        return loads(text)
    except NonFiniteNumber as e:
        raise ValueError(f"{e} is not a finite number") from None
    except json.JSONDecodeError:  # not JSON (or nested too deeply): the text as it is
        return text


def prepare_scoring() -> None:
    """Import what scoring uses, so that a command can freeze the heap its imports made before data comes."""
    import bench.metrics.scoring  # noqa: F401


def run(
    models: Sequence[str] = (),
    tasks: Sequence[str] = (),
    *,
    limit: int | None = None,
    sample: int | None = None,
    seed: int = 0,
    output_dir: str | Path = "results",
    tasks_dirs: Sequence[str | Path] = (),
    batch_size: int | Literal["auto"] | None = None,
    metric_options: MetricOptions | None = None,
    model_options: dict[str, Any] | None = None,
    progress: Any = None,
    no_cache: bool = False,
    metrics: Sequence[str] = (),
    metric_settings: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Run models on tasks and write results; returns the run records (with `path` added).

    `metrics` are scored besides each task's own (a built-in name,
    ``module:Class`` or ``evaluate:NAME_OR_PATH``), `metric_settings` gives a
    metric its own options (``{"bertscore": {"layer": 4}}``; for a task's own
    metric too).

    Predictions are cached under `output_dir`/.cache as they are made: running
    the same call again (after an interruption, or to change a metric option)
    predicts only what is missing. `no_cache=True` predicts everything again.
    `batch_size` is a positive integer or "auto" (the largest that fits, for
    Hugging Face models); None lets each model choose.
    """
    from bench.execution.runner import RunOptions, run as run_pairs
    from bench.metrics import MetricOptions
    from bench.models import DEFAULT_MODELS, resolve_model
    from bench.metrics.catalog import task_metric_problem
    from bench.tasks.discovery import resolve_tasks

    check_run_arguments(limit=limit, sample=sample, seed=seed, batch_size=batch_size, output_dir=output_dir)
    revision = (model_options or {}).get("revision")  # a hub model is checked at this revision
    specs = [resolve_model(m, revision) for m in (models or DEFAULT_MODELS)]
    task_list = resolve_tasks(list(tasks), [Path(d) for d in tasks_dirs], task_metric_problem)
    if not tasks:  # tasks over a dataset (Hub downloads) run only when named
        task_list = [t for t in task_list if t.runs_by_default]
    options = RunOptions(
        limit=limit, sample=sample, seed=seed, batch_size=batch_size,
        metric_options=metric_options or MetricOptions(),
        metrics=tuple(metric_specs(metrics, metric_settings, also=[m for t in task_list for m in t.metrics])),
        model_options=model_options or {}, output_dir=Path(output_dir), fresh=no_cache,
    )
    done = run_pairs(specs, task_list, options, explicit_tasks=bool(tasks) and bool(models), progress=progress)
    from bench.runtime import distributed

    if not distributed.current().is_main:
        return []  # under torchrun / accelerate launch, the main process writes the results
    _update_leaderboard(options.output_dir)
    return [{**record, "path": str(path)} for record, path in done]


def _run_metric_names(run_dir: str | Path) -> list[str]:
    from bench.execution.rescoring import find_run_dir
    from bench.results.store import read_run, run_metrics

    return run_metrics(read_run(find_run_dir(Path(run_dir)), scores=False))


def existing_rescore(run_dir: str | Path, *, metric_options: MetricOptions | None = None,
                     output_dir: str | Path | None = None, metrics: Sequence[str] = (),
                     metric_settings: Mapping[str, Mapping[str, Any]] | None = None) -> Path | None:
    """The run that already has the scores `rescore` with these arguments would write, or None (also for a
    directory that is not a readable run: `rescore` says what is wrong with it)."""
    from bench.execution.rescoring import existing_rescore as find
    from bench.metrics.metric_options import MetricOptions

    try:
        specs = metric_specs(metrics, metric_settings, also=_run_metric_names(run_dir))
    except BenchError:
        specs = metric_specs(metrics, metric_settings)
    try:
        return find(Path(run_dir), metric_options or MetricOptions(), Path(output_dir) if output_dir else None,
                    metrics=specs)
    except BenchError:
        return None


def _update_leaderboard(results_dir: Path) -> None:
    """Rebuild the leaderboard files; a damaged run elsewhere in the directory is a warning, not a failure.

    The runs just made are written by then: losing sight of them because of an
    unrelated broken directory would be worse than an outdated leaderboard.
    """
    import warnings

    from bench.errors import BenchWarning
    from bench.comparison.leaderboard import update_leaderboard

    try:
        update_leaderboard(results_dir)
    except BenchError as e:
        warnings.warn(str(e), BenchWarning, stacklevel=3)


def check_run_arguments(
    *,
    limit: int | None = None,
    sample: int | None = None,
    seed: int = 0,
    batch_size: int | Literal["auto"] | None = None,
    output_dir: str | Path = "results",
    name: ArgumentName = python_name,
) -> None:
    """Refuse `run` arguments that cannot work, before any model loads; `name` words the messages.

    The command line calls it with its option names (`--limit`) before it calls `run`.
    """
    _check_count(limit, name("limit"))
    if not _is_int(seed) or not 0 <= seed <= MAX_SEED:
        raise BenchError(f"{name('seed')} must be an integer from 0 to {MAX_SEED}, got {seed!r}")
    _check_count(sample, name("sample"))
    if sample is not None and limit is not None:
        raise BenchError(f"{name('limit')} and {name('sample')} cannot be used together",
                         hint=f"{name('limit', 'N')} takes the first N examples, {name('sample', 'N')} a seeded "
                              "random N; pick one")
    if batch_size is not None and batch_size != "auto" and not (_is_int(batch_size) and batch_size >= 1):
        raise BenchError(f"{name('batch_size')} must be a positive integer or 'auto', got {batch_size!r}")
    _check_output_dir(Path(output_dir), name("output_dir"))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_count(value: int | None, name: str) -> None:
    """A number of examples: None (all of them) or at least 1."""
    if value is None:
        return
    if not _is_int(value):
        raise BenchError(f"{name} must be an integer, got {value!r}")
    if value < 1:
        raise BenchError(f"{name} must be at least 1, got {value}")


def _check_output_dir(path: Path, name: str) -> None:
    """Refuse an output directory that cannot be one (a file, or below a file)."""
    for p in (path, *path.parents):
        if p.exists():
            if not p.is_dir():
                raise BenchError("the output directory is a file" if p == path else f"{relpath(p)} is a file, not "
                                 "a directory", where=relpath(path), hint=f"pass a directory to {name}")
            return


def check_compare_arguments(*, alpha: float = 0.05, name: ArgumentName = python_name) -> None:
    """Refuse `compare` arguments that cannot work; `name` words the messages."""
    if not 0 < alpha < 1:
        raise BenchError(f"{name('alpha')} must be between 0 and 1, got {alpha}")


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

    from bench.comparison.render_text import render_json
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
        comparisons = {k: compare_section(s, baseline, seed=seed, alpha=alpha) for k, s in enumerate(sections)}
    return json.loads(render_json(sections, comparisons))


def compare_report(results_dirs: Sequence[str | Path] = ("results",), *, fmt: str = "table",
                   output: str | Path | None = None, plot: str | Path | None = None, judge: str | None = None,
                   judge_opts: Sequence[str] = (), criteria: Sequence[str] = (), human: str | Path | None = None,
                   tasks_dirs: Sequence[str | Path] = (), **selection: Any) -> Any:
    """`bench compare`'s report: the text in `fmt` (table, md, csv, json, html or latex), written to `output` and
    with the charts in `plot` when given; a `bench.comparison.compare_report.Report` (text, notes, written).
    `selection`: tasks, models, metrics, all_runs, baseline, examples, seed, alpha, to_terminal, latex_ci.

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
    `arguments`: ratings, metrics, metric_settings, criteria, annotators, options, seed, n_resamples,
    to_terminal."""
    from bench.correlation.correlate_report import correlate_report as report
    from bench.stats.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED

    arguments.setdefault("seed", DEFAULT_SEED)
    arguments.setdefault("n_resamples", DEFAULT_RESAMPLES)
    return report([Path(p) for p in paths], fmt=fmt, output=Path(output) if output else None,
                  html=Path(html) if html else None, **arguments)


def metric_specs(metrics: str | Sequence[str], settings: Mapping[str, Mapping[str, Any]] | None,
                 also: Sequence[str] = ()) -> list[Any]:
    """`MetricSpec`s of `metrics` with their `settings` (`bench.metrics.parse_metric_specs`); settings for a
    metric in `also` only (a task's own) make a spec of it too."""
    from bench.metrics import parse_metric_specs

    return parse_metric_specs([metrics] if isinstance(metrics, str) else list(metrics), settings, also)


def score(
    predictions: Sequence[str],
    references: Sequence[str | Sequence[str]] | None = None,
    *,
    metric: str | Sequence[str] = "rouge",
    options: MetricOptions | None = None,
    metric_settings: Mapping[str, Mapping[str, Any]] | None = None,
    documents: Sequence[str] | None = None,
    questions: Sequence[str] | None = None,
    no_answer_probabilities: Sequence[float] | None = None,
) -> dict[str, Any]:
    """Score predictions with one metric or several; returns {"n", "metrics", "ci", "signatures", "counts",
    "per_example", "details", "reference", "warnings"}.

    `documents` (the source of each summary), `questions` and
    `no_answer_probabilities` are given where a metric needs them
    (extractiveness reads documents; SQuAD reports the official script's best
    thresholds when every question has a no-answer probability).
    """
    from bench.metrics import MetricInputs, MetricOptions
    from bench.metrics.scoring import score_examples
    from bench.tasks.records import as_references

    n = len(predictions)
    references = [[] for _ in predictions] if references is None else references
    for what, values in (("reference lists", references), ("documents", documents), ("questions", questions),
                         ("no-answer probabilities", no_answer_probabilities)):
        if values is not None and len(values) != n:
            raise BenchError(f"{n} predictions but {len(values)} {what}")
    inputs = MetricInputs(ids=[str(k) for k in range(n)], predictions=list(predictions),
                          references=[as_references(r) for r in references],
                          documents=list(documents) if documents is not None else None,
                          questions=list(questions) if questions is not None else None,
                          no_answer_scores=list(no_answer_probabilities)
                          if no_answer_probabilities is not None else None)
    return _score_result(score_examples(metric_specs(metric, metric_settings), inputs, options or MetricOptions()),
                         n)


def _score_result(s: Any, n: int) -> dict[str, Any]:
    return {"n": n, "metrics": s.metrics, "ci": s.ci, "signatures": s.signatures, "counts": s.counts,
            "per_example": s.per_example, "details": s.details, "reference": s.reference, "warnings": s.warnings}


def score_file(path: str | Path, *, metric: str | Sequence[str] = "rouge", options: MetricOptions | None = None,
               metric_settings: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """Score a JSONL file of {"id", "prediction", "references"} lines (what `bench score FILE` reads), with
    "document", "question" and "no_answer_probability" read where present."""
    from bench.metrics import MetricOptions
    from bench.metrics.score_file import read_score_rows
    from bench.metrics.scoring import score_examples

    specs = metric_specs(metric, metric_settings)
    f = read_score_rows(Path(path), specs)
    return _score_result(score_examples(specs, f.inputs, options or MetricOptions(), where=str(path)), len(f.inputs))


def rescore(
    run_dir: str | Path,
    *,
    metric_options: MetricOptions | None = None,
    output_dir: str | Path | None = None,
    metrics: Sequence[str] = (),
    metric_settings: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Recompute a run's metrics from its predictions.jsonl and write them as a new run (with `path` added).

    No model is loaded. The new run keeps the original's model, task and
    timing (with no throughput of its own), records `config.rescored_from`,
    and has its own run id. When a run in that results directory already has
    the scores these options give (`bench.execution.rescoring.existing_rescore`),
    nothing is written and that run's record is returned.
    """
    from bench.execution.rescoring import rescore_run
    from bench.metrics import MetricOptions
    from bench.results.store import results_dir_of

    record, path = rescore_run(Path(run_dir), metric_options or MetricOptions(),
                               Path(output_dir) if output_dir is not None else None,
                               metrics=metric_specs(metrics, metric_settings, also=_run_metric_names(run_dir)))
    _update_leaderboard(results_dir_of(path))
    return {**record, "path": str(path)}


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
