"""Several `bench run` processes on one results directory at the same time.

Both finish; every run directory is complete; leaderboard.md and leaderboard.csv
are built from the same runs and agree with them; two processes on the same
(model, task) share the prediction cache without damaging it, and predict each example once; two identical
rescores write one run.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import HELPERS, REPO

from cache_kinds import rows

SLOW_QA = "resume_models:SlowSlidingWindow"


def _start(args: list[str], cwd: Path, **env: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": f"{HELPERS}{os.pathsep}{REPO}", **env}
    return subprocess.Popen([sys.executable, "-m", "bench", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(*procs: subprocess.Popen) -> None:
    for p in procs:
        _, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
        assert "Traceback" not in err


def _runs(root: Path) -> list[tuple[Path, dict]]:
    return [(p.parent, json.loads(p.read_text(encoding="utf-8"))) for p in sorted(root.glob("*/*/*/results.json"))]


def _assert_complete(run_dir: Path, record: dict) -> list[dict]:
    rows = [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == record["n_examples"] > 0
    assert len({r["id"] for r in rows}) == len(rows)
    assert set(record["metrics"]) == set(record["ci"]) == set(record["signatures"])
    return rows


@pytest.mark.slow
def test_two_runs_into_one_results_directory_both_finish_and_the_leaderboard_agrees(tmp_path):
    # the same pair (lead-3 on seed-headline) in both, and different pairs, written at the same time
    a = _start(["run", "-q", "-m", SLOW_QA, "-m", "lead-3", "-t", "seed-qa", "-t", "seed-headline",
                "--batch-size", "4", "-o", "shared"], tmp_path, BENCH_TEST_BATCH_SLEEP="0.02")
    b = _start(["run", "-q", "-m", "sliding-window", "-m", "lead-3", "-m", "textrank", "-o", "shared"], tmp_path)
    _finish(a, b)
    root = tmp_path / "shared"
    assert not [p for p in root.rglob("*") if p.name.startswith(".tmp") or ".tmp-" in p.name], "temporary files left"
    runs = _runs(root)
    pairs = [(r["task"], r["model"]) for _, r in runs]
    assert sorted(set(pairs)) == sorted({
        ("seed-qa", "slow-sliding-window"), ("seed-headline", "lead-3"), ("seed-qa", "sliding-window"),
        ("seed-summarization", "lead-3"), ("seed-summarization", "textrank"), ("seed-headline", "textrank")})
    assert pairs.count(("seed-headline", "lead-3")) == 2
    for run_dir, record in runs:
        _assert_complete(run_dir, record)

    # leaderboard.csv: one row per metric of the latest run of each (task, model), with that run's numbers
    rows = [row for row in csv.DictReader(io.StringIO((root / "leaderboard.csv").read_text(encoding="utf-8")))
            if row["kind"] == "run"]  # "reference" lines: the statistics of the task's references
    by_run = {r["run_id"]: r for _, r in runs}
    shown = {}
    for row in rows:
        record = by_run[row["run"]]
        assert (row["task"], row["model"]) == (record["task"], record["model"])
        assert float(row["value"]) == record["metrics"][row["metric"]]
        assert [float(row["ci_lo"]), float(row["ci_hi"])] == record["ci"][row["metric"]]
        assert row["signature"] == record["signatures"][row["metric"]]
        shown.setdefault((row["task"], row["model"]), set()).add(row["run"])
    assert set(shown) == set(pairs), "every (task, model) with a run is on the leaderboard"
    assert all(len(v) == 1 for v in shown.values()), "one run per (task, model)"
    for (task, model), (run_id,) in shown.items():
        candidates = [(d, r) for d, r in runs if (r["task"], r["model"]) == (task, model)]
        # latest: the run id's timestamp, then (within one second) the last written
        latest = max(candidates, key=lambda c: (c[1]["run_id"].split("-")[0],
                                                (c[0] / "results.json").stat().st_mtime_ns))
        assert run_id == latest[1]["run_id"]
        assert len({json.dumps(r["metrics"]) for _, r in candidates}) == 1  # both lead-3 runs scored the same

    # leaderboard.md names exactly the runs the CSV does
    md = (root / "leaderboard.md").read_text(encoding="utf-8")
    md_runs = {run_id for run_id in by_run if run_id in md}
    assert md_runs == {run for v in shown.values() for run in v}


@pytest.mark.slow
def test_two_runs_of_the_same_model_and_task_share_the_prediction_cache(tmp_path):
    args = ["run", "-q", "-m", SLOW_QA, "-t", "seed-qa", "--batch-size", "4", "-o", "shared"]
    log = str(tmp_path / "predicted.log")
    a = _start(args, tmp_path, BENCH_TEST_BATCH_SLEEP="0.1", BENCH_TEST_PREDICT_LOG=log)
    b = _start(args, tmp_path, BENCH_TEST_BATCH_SLEEP="0.1", BENCH_TEST_PREDICT_LOG=log)
    _finish(a, b)
    root = tmp_path / "shared"
    runs = _runs(root)
    assert len(runs) == 2
    (dir_a, rec_a), (dir_b, rec_b) = runs
    preds_a, preds_b = _assert_complete(dir_a, rec_a), _assert_complete(dir_b, rec_b)
    assert rec_a["metrics"] == rec_b["metrics"] and rec_a["ci"] == rec_b["ci"]
    assert [(r["id"], r["prediction"]) for r in preds_a] == [(r["id"], r["prediction"]) for r in preds_b]

    # every prediction is in the cache once, and they agree with the runs
    cached = rows(root / ".cache", "predictions")
    expected = {r["id"]: r["prediction"] for r in preds_a}
    assert sorted(k.decode() for _, k, *_ in cached) == sorted(expected)
    assert all(v == b"P" + expected[k.decode()].encode() for _, k, v, *_ in cached)  # b"P" + the prediction
    # ... and was predicted once: each process took the batches the other had not (a batch or two in flight at
    # the start may be predicted by both)
    predicted = (tmp_path / "predicted.log").read_text().split()
    assert sorted(set(predicted)) == sorted(expected) and len(predicted) <= 48 + 2 * 4, len(predicted)
    assert rec_a["timing"]["predicted"] + rec_b["timing"]["predicted"] == len(predicted)

    # a third run predicts nothing: everything is in the cache
    c = _start(args, tmp_path, BENCH_TEST_BATCH_SLEEP="0.05")
    _finish(c)
    third = [r for _, r in _runs(root) if r["run_id"] not in (rec_a["run_id"], rec_b["run_id"])]
    assert third[0]["config"]["cache"]["predicted"] == 0 and third[0]["metrics"] == rec_a["metrics"]


@pytest.mark.slow
def test_two_identical_rescores_at_once_write_one_run(tmp_path):
    _finish(_start(["run", "-q", "-m", "lead-3", "-t", "seed-summarization", "-o", "shared"], tmp_path))
    (run_dir,) = [d for d, _ in _runs(tmp_path / "shared")]
    args = ["rescore", str(run_dir), "--metric", "user_metrics:SlowLengthRatio"]
    log = tmp_path / "scored.log"
    a, b = (_start(args, tmp_path, BENCH_TEST_METRIC_SLEEP="3", BENCH_TEST_METRIC_LOG=str(log)) for _ in range(2))
    _finish(a, b)
    runs = _runs(tmp_path / "shared")
    assert len(runs) == 2, "the second rescore finds the first one's run instead of writing another"
    (rescored,) = [r for _, r in runs if r["config"].get("rescored_from")]
    assert "length_ratio" in rescored["metrics"]
    # ... because it waited for the first one to finish before scoring
    (_, first_end), (second_start, _) = sorted(tuple(map(float, line.split())) for line in log.read_text().splitlines())
    assert second_start >= first_end
