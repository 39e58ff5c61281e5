"""Prediction cache: rerunning skips what is done; a killed run resumes to identical scores."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import HELPERS, REPO

MODEL = "resume_models:SlowSlidingWindow"


def _default_sigint():
    # A process started in the background inherits an ignored SIGINT, and Python
    # then installs no KeyboardInterrupt handler; a user's terminal does not do that.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _bench(args, cwd, env_extra=None, **kw):
    env = {**os.environ, "PYTHONPATH": f"{HELPERS}{os.pathsep}{REPO}", **(env_extra or {})}
    return subprocess.Popen([sys.executable, "-m", "bench", *map(str, args)], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_sigint, **kw)


def _record(out_dir: Path) -> dict:
    (path,) = sorted(out_dir.glob("seed-qa/*/*/results.json"))[-1:]
    return json.loads(path.read_text())


def _lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def _cached(out_dir: Path) -> list[str]:
    """The ids in the prediction cache (read as another process reads it, while a run writes)."""
    from bench.cache.tables import decode_text

    if not (out_dir / ".cache" / "cache.sqlite").exists():
        return []
    db = sqlite3.connect(out_dir / ".cache" / "cache.sqlite", timeout=10)
    try:
        return [decode_text(k) for (k,) in db.execute("SELECT key FROM entries WHERE ns = 'predictions'")]
    except sqlite3.OperationalError:  # made a moment ago: its tables are not there yet
        return []
    finally:
        db.close()


@pytest.mark.slow
def test_killed_run_resumes_where_it_stopped_with_identical_scores(tmp_path):
    log = tmp_path / "predicted.log"
    env = {"BENCH_TEST_PREDICT_LOG": str(log), "BENCH_TEST_BATCH_SLEEP": "0.25"}
    args = ["run", "-q", "-m", MODEL, "-t", "seed-qa", "--batch-size", "4", "-o", "out"]
    proc = _bench(args, tmp_path, env)
    deadline = time.time() + 60
    while time.time() < deadline:
        if len(_cached(tmp_path / "out")) >= 12:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not list((tmp_path / "out").glob("seed-qa/*/*/results.json")), "a killed run must not leave results"
    first = _lines(log)
    assert 12 <= len(first) < 48

    log.unlink()
    resumed = _bench(args, tmp_path, env)
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    second = _lines(log)
    cached = set(_cached(tmp_path / "out"))
    assert len(cached) == 48
    # only what the killed run had not stored was predicted again (at most the batch in flight twice)
    assert len(second) <= 48 - len(first) + 4
    assert set(first) | set(second) == cached

    uninterrupted = _bench(["run", "-q", "-m", MODEL, "-t", "seed-qa", "--batch-size", "4", "-o", "fresh"], tmp_path,
                           {"BENCH_TEST_BATCH_SLEEP": "0"})
    _, err = uninterrupted.communicate(timeout=120)
    assert uninterrupted.returncode == 0, err
    a, b = _record(tmp_path / "out"), _record(tmp_path / "fresh")
    assert a["metrics"] == b["metrics"] and a["ci"] == b["ci"]
    assert a["config"]["cache"]["reused"] == len(cached & set(first))


@pytest.mark.slow
def test_rerun_loads_no_model_and_no_cache_predicts_again(tmp_path):
    log = tmp_path / "predicted.log"
    env = {"BENCH_TEST_PREDICT_LOG": str(log), "BENCH_TEST_BATCH_SLEEP": "0"}
    args = ["run", "-q", "-m", MODEL, "-t", "seed-qa", "--limit", "10", "-o", "out"]
    for expected_new in (10, 0):
        p = _bench(args, tmp_path, env)
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert len(_lines(log)) == expected_new
        log.unlink(missing_ok=True)
    p = _bench([*args, "--no-cache"], tmp_path, env)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    assert len(_lines(log)) == 10
    runs = sorted((tmp_path / "out").glob("seed-qa/*/*/results.json"))
    records = [json.loads(r.read_text()) for r in runs]
    assert sorted(r["config"]["cache"]["reused"] for r in records) == [0, 0, 10]
    assert len({json.dumps(r["metrics"], sort_keys=True) for r in records}) == 1


@pytest.mark.slow
def test_sigint_keeps_predictions_and_says_how_to_resume(tmp_path):
    env = {"BENCH_TEST_BATCH_SLEEP": "0.25"}
    args = ["run", "-q", "-m", MODEL, "-t", "seed-qa", "--batch-size", "4", "-o", "out"]
    proc = _bench(args, tmp_path, env)
    deadline = time.time() + 60
    while time.time() < deadline:
        if len(_cached(tmp_path / "out")) >= 8:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "run the same command again to resume" in err
    assert "Traceback" not in err
    assert not list((tmp_path / "out").glob("seed-qa/*/*/results.json"))
    assert len(_cached(tmp_path / "out")) >= 8


@pytest.mark.slow
def test_rescore_recomputes_metrics_without_the_model(tmp_path):
    log = tmp_path / "predicted.log"
    env = {"BENCH_TEST_PREDICT_LOG": str(log), "BENCH_TEST_BATCH_SLEEP": "0"}
    p = _bench(["run", "-q", "-m", MODEL, "-t", "seed-qa", "-o", "out"], tmp_path, env)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    (run_dir,) = [r.parent for r in (tmp_path / "out").glob("seed-qa/*/*/results.json")]
    log.unlink()
    # predictions edited by hand are what a rescore must read
    rows = [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text().splitlines()]
    # to another results directory: rescoring into `out` with the same options would repeat the run, and writes nothing
    p = _bench(["rescore", run_dir, "-o", "rescored"], tmp_path, env)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    assert not log.exists(), "rescore must not run the model"
    runs = sorted([*(tmp_path / "out").glob("seed-qa/*/*/results.json"),
                   *(tmp_path / "rescored").glob("seed-qa/*/*/results.json")])
    assert len(runs) == 2
    original, again = (json.loads(r.read_text()) for r in sorted(runs, key=lambda r: "rescored_from" in r.read_text()))
    assert again["config"]["rescored_from"] == original["run_id"]
    assert again["metrics"] == original["metrics"]
    from bench.api import score

    direct = score([r["prediction"] for r in rows], [r["references"] for r in rows], metric="squad")
    assert again["metrics"] == direct["metrics"]


def test_rescore_with_other_metric_options_changes_signatures(tmp_path):
    from bench.api import rescore, run

    (record,) = run(models=["textrank"], tasks=["seed-summarization"], output_dir=tmp_path / "out")
    from bench.metrics import MetricOptions

    new = rescore(record["path"], metric_options=MetricOptions(split_sentences=False, stemmer=False))
    assert "split:newline" in new["signatures"]["rougeLsum"] and "stem:none" in new["signatures"]["rouge1"]
    rows = [json.loads(line) for line in (Path(new["path"]) / "predictions.jsonl").read_text().splitlines()]
    from rouge_score import rouge_scorer

    ref = rouge_scorer.RougeScorer(["rougeLsum"], use_stemmer=False)
    expected = ref.score_multi(rows[0]["references"], rows[0]["prediction"])["rougeLsum"].fmeasure * 100
    assert new["metrics"]["rougeLsum"] == expected


@pytest.mark.slow
def test_model_failing_on_one_batch_keeps_finished_predictions(tmp_path):
    args = ["run", "-q", "-m", "resume_models:FailingSlidingWindow", "-t", "seed-qa", "--batch-size", "4", "-o", "out"]
    p = _bench(args, tmp_path, {"BENCH_TEST_FAIL_ON": "seed-000-q30"})
    _, err = p.communicate(timeout=120)
    assert p.returncode == 3
    assert "failed on a batch of 4 example(s)" in err and "RuntimeError: cannot handle seed-000-q30" in err
    assert "run the same command again to resume" in err
    assert "Traceback" not in err
    assert not list((tmp_path / "out").glob("seed-qa/*/*/results.json"))
    cached = _cached(tmp_path / "out")
    kept = len(cached)
    assert 0 < kept < 48 and "seed-000-q30" not in cached
    p = _bench(args, tmp_path, {"BENCH_TEST_FAIL_ON": ""})
    _, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    (record,) = [json.loads(r.read_text()) for r in (tmp_path / "out").glob("seed-qa/*/*/results.json")]
    assert record["config"]["cache"]["reused"] == kept
    p = _bench([*args, "-o", "fresh"], tmp_path)
    p.communicate(timeout=120)
    (fresh,) = [json.loads(r.read_text()) for r in (tmp_path / "fresh").glob("seed-qa/*/*/results.json")]
    assert fresh["metrics"] == record["metrics"]


def test_debug_shows_the_model_traceback(tmp_path):
    args = ["run", "-q", "-m", "resume_models:FailingSlidingWindow", "-t", "seed-qa", "-o", "out"]
    p = _bench(args, tmp_path, {"BENCH_TEST_FAIL_ON": "seed-000-q01", "BENCH_DEBUG": "1"})
    _, err = p.communicate(timeout=120)
    assert p.returncode == 3
    assert "Traceback" in err and "RuntimeError: cannot handle seed-000-q01" in err
