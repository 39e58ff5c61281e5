"""Rescoring: a run's metrics recomputed from its predictions.jsonl and written as a new run.

No model is loaded. The new run keeps the original's model, task and timing
(with its own scoring time), records ``config.rescored_from`` and the metric
options used, and has its own run id.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.errors import BenchError, relpath
from bench.io import read_jsonl
from bench.metrics import MetricOptions
from bench.metrics.scoring import as_references, read_score_file, score_predictions
from bench.results.store import (INCOMPLETE, check_prediction_count, new_run_id, read_run, results_dir_of,
                                 run_metrics, write_run)

RUN_DIRS_HINT = "pass run directories, e.g. results/<task>/<model>/<run-id>; `bench compare --all-runs` lists them"


def rescore_run(
    run_dir: Path,
    options: MetricOptions,
    output_dir: Path | None = None,
) -> tuple[dict[str, Any], Path]:
    """Rescore one run; returns (new run record, new run directory).

    The new run goes to `output_dir`, or by default to the results directory
    the original run is in.
    """
    run_dir = find_run_dir(run_dir)
    record = read_run(run_dir, scores=False)  # the old scores are replaced, so they need not be sound
    rows = [{**r, "references": as_references(r["references"])} for r in read_predictions(run_dir, record)]
    metric_names = run_metrics(record)
    t0 = time.perf_counter()
    scores = score_predictions(metric_names, [r["prediction"] for r in rows], [r["references"] for r in rows],
                               options)
    score_s = time.perf_counter() - t0
    new = {
        **record,
        "run_id": new_run_id(),
        "metrics": scores.metrics,
        "ci": scores.ci,
        "signatures": scores.signatures,
        "counts": scores.counts,
        "warnings": scores.warnings,
        "config": {**record.get("config", {}), "metric_options": asdict(options), "rescored_from": record["run_id"]},
        "timing": {**record.get("timing", {}), "score_s": score_s},
    }
    new_rows = [{**r, "scores": s} for r, s in zip(rows, scores.per_example)]
    root = output_dir if output_dir is not None else results_dir_of(run_dir)
    return new, write_run(root, new, new_rows)


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
    """The rows of a run's predictions.jsonl, checked line by line and counted against its record."""
    path = run_dir / "predictions.jsonl"
    if not path.exists():
        raise BenchError("the run directory has no predictions.jsonl", where=relpath(run_dir), hint=INCOMPLETE)
    # every line's fields and types, as a `bench score` file (ROUGE also needs a non-empty reference)
    read_score_file(path, "rouge" if "rouge" in run_metrics(record) else "squad")
    rows = [obj for _, obj in read_jsonl(path)]
    check_prediction_count(path, len(rows), record)
    return rows
