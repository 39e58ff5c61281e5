"""The Python API: what the command line does, callable from a notebook.

    import bench
    records = bench.run(models=["lead-3"], tasks=["seed-summarization"])
    records[0]["metrics"]["rougeLsum"]
    bench.score(["a prediction"], [["a reference"]], metric="rouge")

Each function returns the same records the command line writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.errors import BenchError, BenchErrors, relpath
from bench.metrics import METRICS, MetricOptions
from bench.io import json_type, read_jsonl
from bench.tasks.definition import Task, load_task, resolve_tasks

__all__ = ["run", "score", "score_file", "compare", "load_task", "list_tasks", "read_score_file"]


def list_tasks(tasks_dirs: Sequence[str | Path] = ()) -> list[Task]:
    return resolve_tasks([], [Path(d) for d in tasks_dirs])


def run(
    models: Sequence[str] = (),
    tasks: Sequence[str] = (),
    *,
    limit: int | None = None,
    sample: int | None = None,
    seed: int = 0,
    output_dir: str | Path = "results",
    tasks_dirs: Sequence[str | Path] = (),
    batch_size: int | None = None,
    metric_options: MetricOptions | None = None,
    model_options: dict[str, Any] | None = None,
    progress: Any = None,
    no_cache: bool = False,
) -> list[dict[str, Any]]:
    """Run models on tasks and write results; returns the run records (with `path` added).

    Predictions are cached under `output_dir`/.cache as they are made: running
    the same call again (after an interruption, or to change a metric option)
    predicts only what is missing. `no_cache=True` predicts everything again.
    """
    from bench.models import DEFAULT_MODELS, resolve_model
    from bench.execution.runner import RunOptions, run as run_pairs

    if limit is not None and limit < 1:
        raise BenchError(f"--limit must be at least 1, got {limit}")
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
        raise BenchError(f"--seed must be an integer from 0 to {2**32 - 1}, got {seed!r}")
    _check_output_dir(Path(output_dir))
    revision = (model_options or {}).get("revision")  # a hub model is checked at this revision
    specs = [resolve_model(m, revision) for m in (models or DEFAULT_MODELS)]
    if sample is not None and sample < 1:
        raise BenchError(f"--sample must be at least 1, got {sample}")
    if sample is not None and limit is not None:
        raise BenchError("--limit and --sample cannot be used together",
                         hint="--limit N takes the first N examples, --sample N a seeded random N; pick one")
    task_list = resolve_tasks(list(tasks), [Path(d) for d in tasks_dirs])
    if not tasks:  # tasks over a dataset (Hub downloads) run only when named
        task_list = [t for t in task_list if t.runs_by_default]
    options = RunOptions(
        limit=limit, sample=sample, seed=seed, batch_size=batch_size,
        metric_options=metric_options or MetricOptions(),
        model_options=model_options or {}, output_dir=Path(output_dir), fresh=no_cache,
    )
    done = run_pairs(specs, task_list, options, explicit_tasks=bool(tasks) and bool(models), progress=progress)
    from bench.execution import distributed

    if not distributed.current().is_main:
        return []  # under torchrun / accelerate launch, the main process writes the results
    _update_leaderboard(options.output_dir)
    return [{**record, "path": str(path)} for record, path in done]


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


def _check_output_dir(path: Path) -> None:
    """Refuse an output directory that cannot be one (a file, or below a file) before any model loads."""
    for p in (path, *path.parents):
        if p.exists():
            if not p.is_dir():
                raise BenchError("the output directory is a file" if p == path else f"{relpath(p)} is a file, not "
                                 "a directory", where=relpath(path), hint="pass a directory to --output-dir")
            return


def compare(
    results_dirs: Sequence[str | Path] = ("results",),
    *,
    tasks: Sequence[str] = (),
    models: Sequence[str] = (),
    metrics: Sequence[str] = (),
    all_runs: bool = False,
    baseline: str | None = None,
    seed: int = 12345,
    alpha: float = 0.05,
) -> list[dict[str, Any]]:
    """The rows of `bench compare --format json`: one per (task, model), or per run with `all_runs`.

    Each row is {"task", "model", "run", "n", "metrics", "ci", "examples_per_s"}; with `baseline`,
    rows compared with it also get "paired": {metric: {"diff", "ci", "p_value", ...}}.
    """
    import json

    from bench.comparison import select as C

    sections = C.select([Path(d) for d in results_dirs], tasks=tasks, models=models, metrics=metrics,
                        all_runs=all_runs)
    comparisons = None
    if baseline is not None:
        C.check_baseline(sections, baseline)
        comparisons = {k: C.compare_section(s, baseline, seed=seed, alpha=alpha) for k, s in enumerate(sections)}
    return json.loads(C.render_json(sections, comparisons))


def read_score_file(path: Path, metric: str) -> tuple[list[str], list[str], list[list[str]]]:
    """(ids, predictions, references) from a JSONL file of {"id", "prediction", "references"}."""
    ids: list[str] = []
    predictions: list[str] = []
    references: list[list[str]] = []
    errors: list[BenchError] = []
    seen: dict[str, int] = {}
    for lineno, obj in read_jsonl(path):
        where = f"{relpath(path)}:{lineno}"
        bad = False
        for key in ("id", "prediction", "references"):
            if key not in obj:
                errors.append(BenchError(f"missing field {key!r}", where=where,
                                         hint='each line is {"id": str, "prediction": str, "references": [str, ...]}'))
                bad = True
        if bad:
            continue
        ex_id, pred, refs = obj["id"], obj["prediction"], obj["references"]
        if not isinstance(ex_id, (str, int)) or isinstance(ex_id, bool):
            errors.append(BenchError(f"'id' must be a string, got {json_type(ex_id)}", where=where,
                                     hint='e.g. "id": "a1"'))
            continue
        ex_id = str(ex_id)
        if ex_id in seen:
            errors.append(BenchError(f"duplicate id {ex_id!r} (first on line {seen[ex_id]})", where=where,
                                     hint="ids must be unique within a file"))
            continue
        seen[ex_id] = lineno
        if not isinstance(pred, str):
            errors.append(BenchError(f"'prediction' must be a string, got {json_type(pred)}", where=where,
                                     hint='an empty prediction (or "no answer", for SQuAD) is ""'))
            continue
        if isinstance(refs, str):
            refs = [refs]
        if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
            errors.append(BenchError("'references' must be a list of strings", where=where,
                                     hint='e.g. "references": ["A reference summary."]'))
            continue
        if metric == "rouge" and not any(r.strip() for r in refs):
            errors.append(BenchError("no non-empty reference", where=where,
                                     hint="ROUGE needs a reference text (an empty list is only meaningful for SQuAD)"))
            continue
        ids.append(ex_id)
        predictions.append(pred)
        references.append(refs)
    if errors:
        raise BenchErrors(errors)
    return ids, predictions, references


def score(
    predictions: Sequence[str],
    references: Sequence[Sequence[str]],
    *,
    metric: str = "rouge",
    options: MetricOptions | None = None,
) -> dict[str, Any]:
    """Score predictions; returns {"n", "metrics", "ci", "signatures", "counts", "per_example", "warnings"}."""
    from bench.execution.runner import score_predictions

    METRICS.get(metric)
    if len(predictions) != len(references):
        raise BenchError(f"{len(predictions)} predictions but {len(references)} reference lists")
    s = score_predictions([metric], list(predictions), [list(r) for r in references], options or MetricOptions())
    return {"n": len(predictions), "metrics": s.metrics, "ci": s.ci, "signatures": s.signatures,
            "counts": s.counts, "per_example": s.per_example, "warnings": s.warnings}


def score_file(path: str | Path, *, metric: str = "rouge", options: MetricOptions | None = None) -> dict[str, Any]:
    METRICS.get(metric)
    _, predictions, references = read_score_file(Path(path), metric)
    return score(predictions, references, metric=metric, options=options)


_ = load_task  # re-exported


def rescore(
    run_dir: str | Path,
    *,
    metric_options: MetricOptions | None = None,
    output_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Recompute a run's metrics from its predictions.jsonl and write them as a new run.

    No model is loaded. The new run keeps the original's model, task and
    timing, records `config.rescored_from`, and has its own run id.
    """
    import time

    from bench.results.store import new_run_id, read_run, write_run
    from bench.execution.runner import score_predictions

    run_dir = Path(run_dir)
    if run_dir.name == "results.json" and run_dir.is_file():
        run_dir = run_dir.parent
    run_dirs_hint = "pass run directories, e.g. results/<task>/<model>/<run-id>; `bench compare --all-runs` lists them"
    if not run_dir.exists():
        raise BenchError("no such run directory", where=relpath(run_dir), hint=run_dirs_hint)
    if run_dir.is_dir() and not (run_dir / "results.json").exists() and any(run_dir.rglob("results.json")):
        raise BenchError("not a run directory (it has no results.json of its own)", where=relpath(run_dir),
                         hint=run_dirs_hint)
    record = read_run(run_dir)
    where = relpath(run_dir / "results.json")
    damaged = "the file is damaged; delete this run directory and run again"
    for key in ("run_id", "model", "task"):
        if not isinstance(record.get(key), str) or not record[key]:
            raise BenchError(f"run record has no {key!r} string", where=where, hint=damaged)
    config = record.get("config", {})
    task_config = config.get("task", {}) if isinstance(config, dict) else None
    if not isinstance(config, dict) or not isinstance(task_config, (dict, type(None))):
        raise BenchError("field 'config' of the run record is not a mapping", where=where, hint=damaged)
    metric_names = (task_config or {}).get("metrics") or (
        ["rouge"] if record.get("task_type") == "summarization" else ["squad"])
    if not isinstance(metric_names, list) or not all(isinstance(m, str) and m in METRICS for m in metric_names):
        raise BenchError(f"run record names unknown metrics {metric_names!r} (config.task.metrics)", where=where,
                         hint=f"metrics: {', '.join(METRICS.names())}; {damaged}")
    pred_path = run_dir / "predictions.jsonl"
    if not pred_path.exists():
        raise BenchError("the run directory has no predictions.jsonl", where=relpath(run_dir),
                         hint="the run directory is incomplete or was edited; run the model again")
    read_score_file(pred_path, "rouge" if "rouge" in metric_names else "squad")  # every line's fields and types
    rows = [obj for _, obj in read_jsonl(pred_path)]
    if len(rows) != record.get("n_examples"):
        raise BenchError(f"predictions.jsonl has {len(rows)} examples but its results.json says "
                         f"{record.get('n_examples')!r}", where=relpath(pred_path),
                         hint="the run directory is incomplete or was edited; run the model again")
    options = metric_options or MetricOptions()
    t0 = time.perf_counter()
    scores = score_predictions(metric_names, [r["prediction"] for r in rows], [r["references"] for r in rows], options)
    score_s = time.perf_counter() - t0
    from dataclasses import asdict

    new = dict(record)
    new.update(run_id=new_run_id(), metrics=scores.metrics, ci=scores.ci, signatures=scores.signatures,
               counts=scores.counts, warnings=scores.warnings)
    new["config"] = {**record.get("config", {}), "metric_options": asdict(options), "rescored_from": record["run_id"]}
    new["timing"] = {**record.get("timing", {}), "score_s": score_s}
    new_rows = [{**r, "scores": s} for r, s in zip(rows, scores.per_example)]
    root = Path(output_dir) if output_dir is not None else run_dir.parent.parent.parent
    path = write_run(root, new, new_rows)
    _update_leaderboard(root)
    return {**new, "path": str(path)}

