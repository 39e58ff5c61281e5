"""Rescoring: a run's metrics recomputed from its predictions.jsonl and written as a new run.

No model is loaded. The new run keeps the original's model, task and timing
(with its own scoring time, and no throughput: it predicted nothing), records
``config.rescored_from`` and the metric options used, and has its own run id.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.errors import BenchError, relpath
from bench.io import read_jsonl
from bench.metrics import MetricOptions
from bench.metrics.scoring import Scores, read_score_file, score_predictions
from bench.tasks.records import as_references
from bench.results.store import (INCOMPLETE, check_example_scores, check_prediction_count, new_run_id, read_run,
                                 results_dir_of, run_directory, run_metrics, write_run)
from bench.version import __version__

RUN_DIRS_HINT = "pass run directories, e.g. results/<task>/<model>/<run-id>; `bench compare --all-runs` lists them"


def rescore_run(
    run_dir: Path,
    options: MetricOptions,
    output_dir: Path | None = None,
) -> tuple[dict[str, Any], Path]:
    """Rescore one run; returns (new run record, new run directory).

    The new run goes to `output_dir`, or by default to the results directory
    the original run is in. When a run there already has the scores this would
    write (`existing_rescore`), nothing is written and that run is returned.
    """
    run_dir = find_run_dir(run_dir)
    record = read_run(run_dir, scores=False)  # the old scores are replaced, so they need not be sound
    rows = read_predictions(run_dir, record)
    t0 = time.perf_counter()
    scores = fresh_scores(record, rows, options)
    score_s = time.perf_counter() - t0
    same = existing_rescore(run_dir, options, output_dir, scores=scores)
    if same is not None:
        return read_run(same), same
    new = {
        **record,
        "run_id": new_run_id(),
        "metrics": scores.metrics,
        "ci": scores.ci,
        "signatures": scores.signatures,
        "counts": scores.counts,
        "warnings": scores.warnings,
        "config": {**record.get("config", {}), "metric_options": asdict(options), "rescored_from": record["run_id"]},
        # nothing was predicted: the original's throughput is not this run's
        "timing": {**record.get("timing", {}), "score_s": score_s, "examples_per_s": None},
    }
    new_rows = [{**r, "scores": s} for r, s in zip(rows, scores.per_example)]
    root = output_dir if output_dir is not None else results_dir_of(run_dir)
    return new, write_run(root, new, new_rows)


def fresh_scores(record: dict[str, Any], rows: list[dict[str, Any]], options: MetricOptions) -> Scores:
    """The scores of a run's predictions (`read_predictions` rows) under `options`."""
    return score_predictions(run_metrics(record), [r["prediction"] for r in rows], [r["references"] for r in rows],
                             options)


def existing_rescore(run_dir: Path, options: MetricOptions, output_dir: Path | None = None, *,
                     scores: Scores | None = None) -> Path | None:
    """The run that rescoring `run_dir` with `options` would duplicate, or None.

    Rescoring gives a run's scores again when its metric options are the ones
    it was scored with by this bench (its signatures name bench's version):
    the candidates are the run itself and earlier rescorings of it (or of the
    run it was rescored from), in the model's directory of the results
    directory the new run would go to. A candidate counts only if its scores
    are sound (`read_run`, `check_example_scores`), its predictions are the
    same as the run's, and its stored per-example scores are exactly the ones
    these options give for those predictions (`scores`; when not given, computed
    here once a candidate passes the cheaper checks): a run whose
    predictions.jsonl was edited after it was scored is never taken for its own
    rescoring.
    """
    run_dir = find_run_dir(run_dir)
    record = read_run(run_dir, scores=False)
    root = output_dir if output_dir is not None else results_dir_of(run_dir)
    model_dir = run_directory(root, record).parent
    lineage = {record["run_id"], (record.get("config") or {}).get("rescored_from")} - {None}
    wanted = asdict(options)
    mine: list[tuple[Any, ...]] | None = None
    for candidate in sorted(model_dir.glob("*/results.json")) if model_dir.is_dir() else []:
        if candidate.parent.name.startswith("."):
            continue  # a run still being written
        try:
            other = read_run(candidate)
            config = other.get("config") or {}
            if not (other["run_id"] in lineage or config.get("rescored_from") in lineage) \
                    or other["task_hash"] != record["task_hash"] or config.get("metric_options") != wanted \
                    or not all(sig.endswith(f"|bench:{__version__}") for sig in other["signatures"].values()):
                continue
            rows = prediction_lines(candidate.parent / "predictions.jsonl")
            check_prediction_count(candidate.parent / "predictions.jsonl", len(rows), other)
            check_example_scores(candidate.parent / "predictions.jsonl", [(k, r["scores"]) for k, r in rows],
                                 other)
            if mine is None:
                mine = [same_prediction(r) for _, r in prediction_lines(run_dir / "predictions.jsonl")]
            if [same_prediction(r) for _, r in rows] != mine:
                continue
        except (BenchError, KeyError, TypeError, AttributeError):
            continue  # a damaged or foreign run is never the one this rescoring would repeat
        if scores is None:  # scored only once a candidate passes every cheaper check
            scores = fresh_scores(record, read_predictions(run_dir, record), options)
        if all({m: r["scores"].get(m) for m in fresh} == fresh for (_, r), fresh in zip(rows, scores.per_example)):
            return candidate.parent
    return None


def prediction_lines(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line, object) for each line of a predictions.jsonl whose ``scores`` is an object."""
    rows = read_jsonl(path)
    if not all(isinstance(r.get("scores"), dict) for _, r in rows):
        raise BenchError("a line has no scores object", where=relpath(path))
    return rows


def same_prediction(row: dict[str, Any]) -> tuple[Any, ...]:
    """What makes two lines of predictions.jsonl score the same: id, prediction, references, question."""
    return (str(row.get("id")), row.get("prediction"), as_references(row.get("references", [])), row.get("question"))


def find_run_dir(path: Path) -> Path:
    """The run directory `path` names (it, or the directory of a results.json), refusing what is not one."""
    if path.name == "results.json" and path.is_file():
        path = path.parent
    if not path.exists():
        raise BenchError("no such run directory", where=relpath(path), hint=RUN_DIRS_HINT)
    if path.is_dir() and not (path / "results.json").exists() and any(path.rglob("results.json")):
        raise BenchError("not a run directory (it has no results.json of its own)", where=relpath(path),
                         hint=RUN_DIRS_HINT)
    return path


def read_predictions(run_dir: Path, record: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of a run's predictions.jsonl, checked line by line and counted against its record.

    Each row's id and references are as `bench score` reads them: the id a
    string, the references a list (a string is one reference).
    """
    path = run_dir / "predictions.jsonl"
    if not path.exists():
        raise BenchError("the run directory has no predictions.jsonl", where=relpath(run_dir), hint=INCOMPLETE)
    # every line's fields and types, as a `bench score` file (ROUGE also needs a non-empty reference)
    ids, _, references = read_score_file(path, "rouge" if "rouge" in run_metrics(record) else "squad")
    rows = [{**obj, "id": i, "references": refs} for (_, obj), i, refs in zip(read_jsonl(path), ids, references)]
    check_prediction_count(path, len(rows), record)
    return rows
