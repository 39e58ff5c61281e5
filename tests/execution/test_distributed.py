"""Two processes under torchrun write one result identical to a single-process run."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import REPO

pytest.importorskip("torch", reason="torchrun comes with torch (the 'hf' extra)")


@pytest.mark.slow
def test_two_process_run_equals_single_process_run(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    args = ["-m", "bench", "run", "-q", "-m", "sliding-window", "-m", "lead-3", "-t", "seed-qa",
            "-t", "seed-summarization"]
    single = subprocess.run([sys.executable, *args, "-o", "single"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert single.returncode == 0, single.stderr
    multi = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                            *args, "-o", "multi"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert multi.returncode == 0, multi.stderr[-3000:]
    for task, model in (("seed-qa", "sliding-window"), ("seed-summarization", "lead-3")):
        (a,) = (tmp_path / "single" / task / model).glob("*/results.json")
        runs = list((tmp_path / "multi" / task / model).glob("*/results.json"))
        assert len(runs) == 1, "only the main process writes a run"
        ra, rb = json.loads(a.read_text()), json.loads(runs[0].read_text())
        assert ra["metrics"] == rb["metrics"] and ra["ci"] == rb["ci"] and ra["n_examples"] == rb["n_examples"]
        assert rb["config"]["model"]["processes"] == 2
        pa = (a.parent / "predictions.jsonl").read_text()
        pb = (runs[0].parent / "predictions.jsonl").read_text()
        assert pa == pb
    # each process predicted its own share of the 48 questions, into the one store
    from collections import Counter

    from cache_kinds import rows

    writers = Counter(writer for _, key, _, writer, _ in rows(tmp_path / "multi" / ".cache", "predictions")
                      if key.startswith(b"seed-000-q"))
    assert sorted(writers.values()) == [24, 24], multi.stderr[-3000:]
