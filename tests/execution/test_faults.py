"""Out of memory on CPU: one message that says what was kept and what to try, then a resume to the same scores.

(A model raising on a batch, SIGKILL and Ctrl-C mid-run: tests/execution/test_cache_resume.py.)
"""

from __future__ import annotations

import json

import pytest
from cache_kinds import rows
from fault_models import CPU_ALLOCATOR_MESSAGE

from bench.runtime.memory import is_out_of_memory


def _record(root, model: str) -> dict:
    (path,) = root.glob(f"seed-qa/{model}/*/results.json")
    return json.loads(path.read_text())


@pytest.mark.parametrize("model, name, detail", [
    ("fault_models:MemoryHungry", "memory-hungry", "MemoryError"),
    ("fault_models:CpuAllocatorFailure", "cpu-allocator-failure", "DefaultCPUAllocator: can't allocate memory"),
])
def test_out_of_memory_is_one_message_and_the_finished_batch_is_kept(in_tmp, cli, monkeypatch, model, name, detail):
    args = ["run", "-q", "-m", model, "-t", "seed-qa", "--batch-size", "4", "-o", "results"]
    code, _, err = cli(*args)
    assert code == 3, err
    assert f"model '{name}' ran out of memory on a batch of 4 example(s)" in err
    assert detail in err
    assert "try a smaller --batch-size" in err
    assert "the 4 predictions finished in this run are kept in the prediction cache" in err
    assert "Traceback" not in err
    assert not list((in_tmp / "results").glob("seed-qa/*/*/results.json")), "no run directory for a failed run"
    assert len(rows(in_tmp / "results" / ".cache", "predictions")) == 4

    monkeypatch.setenv("BENCH_TEST_NO_FAULT", "1")  # more memory, or a smaller batch: the same command resumes
    code, _, err = cli(*args)
    assert code == 0, err
    resumed = _record(in_tmp / "results", name)
    assert resumed["config"]["cache"] == {**resumed["config"]["cache"], "reused": 4, "predicted": 44}
    code, _, err = cli("run", "-q", "-m", "sliding-window", "-t", "seed-qa", "-o", "results")
    assert code == 0, err
    uninterrupted = _record(in_tmp / "results", "sliding-window")  # the same predictions, never interrupted
    assert resumed["metrics"] == uninterrupted["metrics"] and resumed["ci"] == uninterrupted["ci"]


@pytest.mark.parametrize("error, oom", [
    (MemoryError(), True),
    (RuntimeError(CPU_ALLOCATOR_MESSAGE), True),
    (RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"), True),
    (OSError(12, "Cannot allocate memory"), True),
    (RuntimeError("shape mismatch: [4, 8] vs [4, 9]"), False),
    (ValueError("bad input"), False),
])
def test_what_counts_as_out_of_memory(error, oom):
    assert is_out_of_memory(error) is oom
