"""Options that name files (a BERTScore baseline, a judge's prompt) read regular files of bounded size only: a
device such as /dev/zero, a FIFO or a huge file is one clear error, never a hang or a read without end."""

from __future__ import annotations

import os

import pytest

from bench.errors import BenchError
from bench.metrics import resolve_metric
from bench.metrics.model_based.bertscore import MAX_BASELINE_BYTES, read_baseline


def test_a_baseline_file_that_is_a_device_is_refused():
    with pytest.raises(BenchError, match="cannot read the BERTScore baseline file: a character device"):
        read_baseline("/dev/zero", 1)


def test_a_baseline_file_that_is_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "baseline.csv"
    os.mkfifo(fifo)
    with pytest.raises(BenchError, match="a FIFO"):
        read_baseline(fifo, 1)


def test_a_huge_baseline_file_is_refused(tmp_path):
    path = tmp_path / "baseline.csv"
    path.write_text("LAYER,P,R,F\n" + "1,0.1,0.1,0.1\n" * (MAX_BASELINE_BYTES // 14 + 1))
    with pytest.raises(BenchError, match=f"larger than {MAX_BASELINE_BYTES} bytes"):
        read_baseline(path, 1)


def test_a_baseline_file_of_a_usual_size_is_read(tmp_path):
    path = tmp_path / "baseline.csv"
    path.write_text("LAYER,P,R,F\n0,0.5,0.5,0.5\n1,0.25,0.5,0.75\n")
    assert read_baseline(path, 1) == (0.25, 0.5, 0.75)


@pytest.mark.parametrize("make", ["device", "huge"])
def test_a_judge_prompt_file_that_is_not_a_small_text_file_is_refused(tmp_path, make):
    path = "/dev/zero"
    if make == "huge":
        path = tmp_path / "prompt.txt"
        path.write_text("{document} {summary} " * 100_000)
    cls = resolve_metric("judge:consistency")
    with pytest.raises(BenchError, match="cannot read the judge's prompt file: (a character device|it is larger)"):
        cls(None, {"model": "openai:x", "base_url": "http://127.0.0.1:9", "prompt_file": str(path)})
