"""The Python API: tasks (load, list, validate, import), runs (`run`, `rescore`) and scores (`score`,
`score_file`). The stages are imported inside each function, so a caller pays only for what it runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from bench.api.arguments import check_run_arguments, metric_specs
from bench.errors import BenchError

if TYPE_CHECKING:
    from bench.metrics import MetricOptions
    from bench.tasks.records import Task


def load_task(path: str | Path) -> Task:
    """Read and check one task definition, the metrics it names included; every problem is reported at once."""
    from bench.metrics.catalog import task_metric_problem
    from bench.tasks.definition import load_task as load

    return load(Path(path), task_metric_problem)


def list_tasks(tasks_dirs: Sequence[str | Path] = (), *, bundled: bool = False) -> list[Task]:
    """The task definitions in `tasks_dirs` (and the bundled ones too with `bundled`), or the bundled ones when
    no directory is given; drafts left out."""
    from bench.metrics.catalog import task_metric_problem
    from bench.tasks.discovery import resolve_tasks

    return resolve_tasks([], [Path(d) for d in tasks_dirs], task_metric_problem, bundled=bundled)


def validate(targets: Sequence[str] = (), tasks_dirs: Sequence[str | Path] = (), *,
             bundled: bool = False) -> tuple[list[str], BenchError | None]:
    """Check task definitions and their data (when `targets` is empty, the tasks `list_tasks` would give, drafts
    each with a "skip" line): a summary line per task that passes, and one `BenchErrors` of every problem found
    (exit code 2 when any is bad input), or None."""
    from bench.metrics.catalog import task_metric_problem
    from bench.tasks.task_checks import raise_problems, validate_targets

    lines, errors = validate_targets(list(targets), [Path(d) for d in tasks_dirs], task_metric_problem,
                                     bundled=bundled)
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


def describe_catalog(tasks_dirs: Sequence[str | Path] = (), *, bundled: bool = False) -> dict[str, Any]:
    """What `bench list` shows: {"tasks": [{"name", "path", "task" (or None), "examples" (or None), "problems"}],
    "models": [ModelSpec], "metrics": [{"name", "reads", "task_types", "options", "description"}]}; the tasks are
    those `list_tasks` would give, drafts included."""
    from dataclasses import MISSING, fields

    from bench.metrics import METRICS, entry_point_metrics
    from bench.metrics.metric import FIELDS
    from bench.metrics.model_based.judge import JUDGES
    from bench.models import MODELS, entry_point_models
    from bench.tasks.discovery import default_tasks, discover_tasks
    from bench.tasks.examples import count_examples

    tasks = []
    dirs = [Path(d) for d in tasks_dirs]
    for name, path in default_tasks(discover_tasks(dirs), dirs, bundled=bundled).items():
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
    bundled: bool = False,
    names: Sequence[str] = (),
    batch_size: int | Literal["auto"] | None = None,
    metric_options: MetricOptions | None = None,
    model_options: dict[str, Any] | None = None,
    progress: Any = None,
    no_cache: bool = False,
    metrics: Sequence[str] = (),
    metric_settings: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Run models on tasks and write results; returns the run records (with `path` added).

    With no `tasks`, each model runs on every task of `tasks_dirs` it can do (the bundled tasks too with
    `bundled`), or on the bundled tasks when no directory is given; a bundled task runs whenever it is named.
    `names` gives each model in `models` the name it has in results, in the same order (one per model: a
    local checkpoint's path, for one, is its name otherwise).

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
    from bench.models import DEFAULT_MODELS, resolve_models
    from bench.metrics.catalog import task_metric_problem
    from bench.tasks.discovery import resolve_tasks

    check_run_arguments(limit=limit, sample=sample, seed=seed, batch_size=batch_size, output_dir=output_dir)
    revision = (model_options or {}).get("revision")  # a hub model is checked at this revision
    if names and not models:
        resolve_models([], names)  # says that --name needs --model
    specs = resolve_models(list(models or DEFAULT_MODELS), list(names), revision)
    task_list = resolve_tasks(list(tasks), [Path(d) for d in tasks_dirs], task_metric_problem, bundled=bundled)
    if not tasks:  # tasks over a dataset (Hub downloads) run only when named
        task_list = [t for t in task_list if t.runs_by_default]
        if not task_list:
            raise _no_task_error([Path(d) for d in tasks_dirs], bundled)
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
    return [{**record.to_dict(), "path": str(path)} for record, path in done]


def _no_task_error(tasks_dirs: Sequence[Path], bundled: bool) -> BenchError:
    """No task named, and none to take by default: the directories given hold only drafts and dataset tasks."""
    from bench.errors import relpath

    where = f" in {', '.join(relpath(d) for d in tasks_dirs)}" if tasks_dirs else ""
    return BenchError(f"no task to run{where}: a task over a dataset runs only when named (--task), and a draft "
                      "(draft: true) once it is filled in",
                      hint="name the task to run with --task" + ("" if bundled or not tasks_dirs else
                                                                  ", or add --bundled to run the bundled tasks too"))


def _run_metric_names(run_dir: str | Path) -> list[str]:
    from bench.execution.rescoring import find_run_dir
    from bench.results.store import read_record

    return read_record(find_run_dir(Path(run_dir)), scores=False).metric_names


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
