"""Run directories written by hand, with known scores, for the tests that read results."""

from __future__ import annotations

from pathlib import Path

from bench.results.store import write_run


def make_run(root: Path, *, model: str, scores: dict[str, list[float]], task: str = "news",
             run_id: str = "20260101T000000Z-000001", task_hash: str = "hash-1", stem: str = "porter",
             examples_per_s: float | None = 10.0, predictions: list[str] | None = None,
             ids: list[str] | None = None, schema_version: int = 1) -> Path:
    """Write a run directory whose metrics are the plain means of `scores` (CI = [min, max])."""
    n = len(next(iter(scores.values())))
    ids = ids or [f"ex{i}" for i in range(n)]
    record = {
        "schema_version": schema_version, "run_id": run_id, "model": model, "task": task,
        "task_type": "summarization", "task_version": 1, "task_hash": task_hash, "n_examples": n,
        "metrics": {m: sum(v) / n for m, v in scores.items()},
        "ci": {m: [min(v), max(v)] for m, v in scores.items()},
        "signatures": {m: f"{m}|nrefs:1|stem:{stem}|agg:mean|bench:0.1.0" for m in scores},
        "counts": {}, "config": {}, "provenance": {},
        "timing": {"examples_per_s": examples_per_s}, "warnings": [],
    }
    rows = [{"id": ids[i], "prediction": predictions[i] if predictions else f"{model} output {i}",
             "references": [f"reference {i}"], "scores": {m: v[i] for m, v in scores.items()}} for i in range(n)]
    return write_run(root, record, rows)
