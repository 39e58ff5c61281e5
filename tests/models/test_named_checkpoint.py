"""A local checkpoint run under a name (`--model ./checkpoints/tiny-bart --name tiny-bart`): the name everywhere a
person reads (tables, the HTML report, the results directory, a ratings file's `system`), the resolved path in
the provenance and the prediction cache's key."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import tiny_models
from conftest import REPO, skip_without_hf

DATA = REPO / "tests" / "correlation" / "data"

pytestmark = pytest.mark.slow


@pytest.fixture
def checkpoint(in_tmp) -> Path:
    skip_without_hf()
    return tiny_models.build_bart(in_tmp / "checkpoints" / "tiny-bart")


def test_a_named_checkpoint_reads_as_its_name_and_records_its_path(checkpoint, in_tmp, cli):
    path = str(checkpoint.resolve())
    args = ("-t", "rated-news", "--tasks-dir", str(DATA), "--device", "cpu")
    code, out, err = cli("run", "-m", "./checkpoints/tiny-bart", "--name", "tiny-bart", "-m", "lead-3", "--name",
                         "lead-3", *args)
    assert code == 0, err
    assert "loading tiny-bart on cpu, float32..." in err
    assert "│ tiny-bart " in out and path not in out
    (run_dir,) = (in_tmp / "results" / "rated-news" / "tiny-bart").iterdir()
    record = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    assert record["model"] == "tiny-bart"
    assert record["provenance"]["model_source"] == path and record["config"]["model"]["id"] == path

    # the same checkpoint under its own name (its path) reuses the predictions made under the short one
    code, _, err = cli("run", "-m", "checkpoints/tiny-bart/", *args, "--quiet")
    assert code == 0, err
    assert "1 of 3" not in err and "3 of 3 predictions from the prediction cache" in err
    (own,) = (in_tmp / "results" / "rated-news").glob("*checkpoints--tiny-bart/*/results.json")
    assert json.loads(own.read_text(encoding="utf-8"))["config"]["cache"]["key"] == record["config"]["cache"]["key"]
    shutil.rmtree(own.parent.parent)

    code, html, err = cli("compare", "-t", "rated-news", "--baseline", "lead-3", "--format", "html")
    assert code == 0, err
    assert ">tiny-bart<" in html and path not in html
    # a ratings file spells the system as the tables show it
    (in_tmp / "ratings.jsonl").write_text("".join(
        json.dumps({"id": i, "system": s, "ratings": {"relevance": k + 2 * j}}) + "\n"
        for k, i in enumerate(("n1", "n2", "n3")) for j, s in enumerate(("lead-3", "tiny-bart"))), encoding="utf-8")
    code, out, err = cli("correlate", "results", "--ratings", "ratings.jsonl", "--resamples", "20")
    assert code == 0, err
    assert "3 documents x 2 systems" in out


def test_another_checkpoint_under_a_taken_name_is_refused_before_it_loads(checkpoint, in_tmp, cli):
    args = ("-t", "seed-headline", "--device", "cpu", "--quiet")
    assert cli("run", "-m", "./checkpoints/tiny-bart", "--name", "tiny-bart", *args)[0] == 0
    other = shutil.copytree(checkpoint, in_tmp / "checkpoints" / "tiny-bart-2")
    code, out, err = cli("run", "-m", str(other), "--name", "tiny-bart", *args)
    assert code == 2 and "loading" not in err
    assert (f"error: the name 'tiny-bart' is taken in results by another model: {checkpoint.resolve()} ran under it "
            f"on task 'seed-headline' (results/seed-headline/tiny-bart), and this is {other.resolve()}") in err
    assert len(list((in_tmp / "results" / "seed-headline" / "tiny-bart").iterdir())) == 1
