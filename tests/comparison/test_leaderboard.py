"""results/leaderboard.md and leaderboard.csv: rebuilt from every run, atomically, under a lock."""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO
from test_compare import make_run

from bench.errors import BenchError
from bench.comparison.leaderboard import CSV, MARKDOWN, locked, update_leaderboard


def _csv(root: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((root / CSV).read_text())))


def _latest_run_dirs(root: Path) -> dict[tuple[str, str], str]:
    """(task, model) -> latest run id, read straight from the run directories."""
    out: dict[tuple[str, str], str] = {}
    for p in root.glob("*/*/*/results.json"):
        r = json.loads(p.read_text())
        key = (r["task"], r["model"])
        out[key] = max(out.get(key, ""), r["run_id"])
    return out


@pytest.mark.slow
def test_files_exist_and_agree_after_two_bench_runs(in_tmp, cli):
    for args in (("run", "--quiet"), ("run", "--quiet", "-m", "lead-3")):
        code, _, err = cli(*args)
        assert code == 0, err
        time.sleep(1.1)  # run ids carry the second they were made: keep "latest" unambiguous here
    root = in_tmp / "results"
    rows = [r for r in _csv(root) if r["kind"] == "run"]
    latest = _latest_run_dirs(root)
    # the summarization tasks' reference lines: their runs' reference blocks
    references = [r for r in _csv(root) if r["kind"] == "reference"]
    assert {r["task"] for r in references} == {"seed-summarization", "seed-headline"}
    for r in references:
        record = json.loads(next(root.glob(f"{r['task']}/*/*/results.json")).read_text())
        assert r["model"] == "reference" and float(r["value"]) == record["reference"]["metrics"][r["metric"]]
    assert {(r["task"], r["model"]): r["run"] for r in rows} == latest
    md = (root / MARKDOWN).read_text()
    assert md.startswith("# Leaderboard")
    assert {run for run in latest.values()} == set(re.findall(r"\| (\d{8}T\d{6}Z-[0-9a-f]{6}) \|", md))
    # numbers in the CSV are the run records' own
    for r in rows:
        record = json.loads(next(root.glob(f"{r['task']}/{r['model']}/{r['run']}/results.json")).read_text())
        assert float(r["value"]) == record["metrics"][r["metric"]]
    assert not list(root.glob(".*.tmp-*"))


def test_leaderboard_from_hand_made_runs(tmp_path):
    make_run(tmp_path, model="a", scores={"rouge1": [10.0, 30.0]})
    make_run(tmp_path, model="b", scores={"rouge1": [50.0, 70.0]}, run_id="20260101T000000Z-000002")
    make_run(tmp_path, model="b", scores={"rouge1": [0.0, 0.0]}, run_id="20251231T000000Z-000009")  # older
    md_path, csv_path = update_leaderboard(tmp_path)
    rows = _csv(tmp_path)
    assert [(r["model"], float(r["value"]), float(r["ci_lo"]), float(r["ci_hi"])) for r in rows] == [
        ("b", 60.0, 50.0, 70.0), ("a", 20.0, 10.0, 30.0)]
    md = md_path.read_text()
    assert "| b | 20260101T000000Z-000002 | 2 | **60.00** [50.00, 70.00] |" in md
    assert "20251231T000000Z-000009" not in md


def test_damaged_run_leaves_the_old_files_and_names_the_file(tmp_path):
    make_run(tmp_path, model="a", scores={"rouge1": [10.0]})
    update_leaderboard(tmp_path)
    before = (tmp_path / MARKDOWN).read_text(), (tmp_path / CSV).read_text()
    bad = make_run(tmp_path, model="b", scores={"rouge1": [20.0]}, run_id="20260101T000000Z-000002")
    (bad / "results.json").write_text("{")
    with pytest.raises(BenchError) as e:
        update_leaderboard(tmp_path)
    assert "results.json" in str(e.value) and "were not updated" in str(e.value)
    assert ((tmp_path / MARKDOWN).read_text(), (tmp_path / CSV).read_text()) == before


def _write_and_update(root: str, k: int) -> None:
    make_run(Path(root), model=f"m{k}", scores={"rouge1": [float(k)]}, run_id=f"20260101T000000Z-00000{k}")
    update_leaderboard(root)


def test_concurrent_updates_end_with_every_run(tmp_path):
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_write_and_update, args=(str(tmp_path), k)) for k in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert {r["model"] for r in _csv(tmp_path)} == {f"m{k}" for k in range(6)}
    assert len(re.findall(r"^\| m\d \|", (tmp_path / MARKDOWN).read_text(), flags=re.M)) == 6
    assert not list(tmp_path.glob(".*.tmp-*"))


def test_update_waits_for_the_lock(tmp_path):
    make_run(tmp_path, model="a", scores={"rouge1": [10.0]})
    code = f"import sys; sys.path.insert(0, {str(REPO)!r}); from bench.comparison.leaderboard import update_leaderboard; " \
           f"update_leaderboard({str(tmp_path)!r})"
    with locked(tmp_path):
        proc = subprocess.Popen([sys.executable, "-c", code])
        time.sleep(1.0)
        assert proc.poll() is None  # blocked on the lock
        assert not (tmp_path / CSV).exists()
    assert proc.wait(30) == 0
    assert (tmp_path / CSV).exists()
