"""`bench run` over a prediction cache that is damaged, locked, not a file, or on a full disk: the run finishes
with the clean run's scores (what cannot be trusted is predicted again), one warning says what happened, and
nothing is written outside the results directory. The same for every cache kind, at the store's level:
tests/test_bad_inputs.py (section `cache`) and tests/cache/.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import HELPERS, REPO

RUN = ("run", "-q", "-m", "lead-3", "-t", "seed-summarization", "-o", "out")


def _records(root: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(root.glob("out/seed-summarization/*/*/results.json"))]


@pytest.fixture
def clean(in_tmp, cli):
    """The record of a clean run, its predictions in the cache."""
    code, _, err = cli(*RUN)
    assert code == 0, err
    (record,) = _records(in_tmp)
    return record


def _again(cli, root: Path, *extra: str) -> tuple[dict, str]:
    before = {r["run_id"] for r in _records(root)}
    code, _, err = cli(*RUN, *extra)
    assert code == 0 and "Traceback" not in err, err
    (record,) = [r for r in _records(root) if r["run_id"] not in before]
    return record, err


def _db(root: Path) -> Path:
    return root / "out" / ".cache" / "cache.sqlite"


def test_a_letter_changed_inside_a_cached_prediction_is_predicted_again_not_scored(clean, cli, in_tmp):
    assert clean["metrics"]["coverage"] == 100.0
    db = sqlite3.connect(_db(in_tmp))
    with db:
        ((rowid, value),) = db.execute("SELECT rowid, value FROM entries WHERE ns = 'predictions'").fetchall()
        changed = value.replace(b"e", b"a", 3)  # still a prediction
        assert changed != value and changed[:1] == value[:1] == b"P"
        db.execute("UPDATE entries SET value = ? WHERE rowid = ?", (changed, rowid))
    db.close()
    record, err = _again(cli, in_tmp)
    assert record["metrics"] == clean["metrics"] and record["timing"]["predicted"] == 1
    assert "warning: 1 damaged entry in the cache store out/.cache/cache.sqlite (predictions" in err


def test_a_cached_prediction_filed_under_another_id_is_predicted_again(in_tmp, cli):
    run = ("run", "-q", "-m", "sliding-window", "-t", "seed-qa", "--limit", "4", "-o", "out")
    code, _, err = cli(*run)
    assert code == 0, err
    db = sqlite3.connect(_db(in_tmp))
    with db:  # the first example's prediction now answers the second: an id changed to another
        (a, key_a), (b, _) = db.execute("SELECT rowid, key FROM entries WHERE ns = 'predictions' ORDER BY rowid LIMIT 2")
        db.execute("DELETE FROM entries WHERE rowid = ?", (b,))
        db.execute("UPDATE entries SET key = ? WHERE rowid = ?", (key_a + b"x", a))
    db.close()
    code, _, err = cli(*run)
    assert code == 0, err
    assert "2 of 4 predictions from the prediction cache" in err and "1 damaged entry" in err


def test_a_dangling_link_in_place_of_the_store_fills_nothing_outside(clean, cli, in_tmp):
    outside = in_tmp / "elsewhere" / "cache.sqlite"
    for p in _db(in_tmp).parent.glob("cache.sqlite*"):
        p.unlink()
    _db(in_tmp).symlink_to(outside)
    record, err = _again(cli, in_tmp)
    assert not outside.parent.exists(), "nothing created through the link"
    assert record["metrics"] == clean["metrics"]
    assert "a symbolic link in place of a cache file" in err and "moved aside" in err
    assert not _db(in_tmp).is_symlink() and _db(in_tmp).is_file()


def test_a_locked_store_costs_a_bounded_wait_and_no_score(clean, cli, in_tmp, monkeypatch):
    from bench.cache import database

    monkeypatch.setattr(database, "LOCK_WAIT_S", 0.3)
    holder = sqlite3.connect(_db(in_tmp), isolation_level=None)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("DELETE FROM meta WHERE name = 'nothing'")
    try:
        record, err = _again(cli, in_tmp)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert record["metrics"] == clean["metrics"] and record["timing"]["predicted"] == 1
    assert err.count("is not used: another process holds its lock (waited 0.3 s)") == 1


@pytest.mark.parametrize("what", ["directory", "file"])
def test_the_cache_replaced_by_something_else_is_moved_aside(clean, cli, in_tmp, what):
    cache = _db(in_tmp).parent
    if what == "directory":  # a directory where the database belongs
        for p in cache.glob("cache.sqlite*"):
            p.unlink()
        _db(in_tmp).mkdir()
    else:  # a file where the cache folder belongs
        shutil.rmtree(cache)
        cache.write_text("not a folder")
    record, err = _again(cli, in_tmp)
    assert record["metrics"] == clean["metrics"] and record["timing"]["predicted"] == 1
    assert "moved" in err and len(list(cache.parent.glob("**/*.damaged-*"))) == 1


def test_a_damaged_model_record_is_dropped_and_said(clean, cli, in_tmp):
    db = sqlite3.connect(_db(in_tmp))
    with db:
        db.execute("UPDATE entries SET value = CAST('[]' AS BLOB) WHERE ns = 'prediction_models'")
    db.close()
    record, err = _again(cli, in_tmp)
    assert record["config"]["model"] == {"kind": "baseline"} and record["timing"]["cached"] == 1
    assert "1 damaged entry" in err and "run with --no-cache to record it" in err
    record, err = _again(cli, in_tmp, "--no-cache")  # the way out the warning gives
    assert record["config"]["model"]["name"] == "lead-3"


def test_no_cache_forgets_what_the_store_holds_for_the_key(clean, cli, in_tmp):
    record, _ = _again(cli, in_tmp, "--no-cache")
    assert record["timing"]["predicted"] == 1
    record, _ = _again(cli, in_tmp)
    assert record["timing"]["cached"] == 1


# ------------------------------------------------------------------ full disk, read-only


def _bench_limited(cwd: Path, limit: int, *args: str) -> subprocess.CompletedProcess:
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead of a kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    env = {**os.environ, "PYTHONPATH": f"{HELPERS}{os.pathsep}{REPO}", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120, preexec_fn=apply)


@pytest.mark.slow
def test_a_full_disk_costs_the_cache_not_the_run(in_tmp, cli):
    """Files of at most 20 KB: the store's write-ahead log grows past it, the run's own files do not."""
    run = ("run", "-q", "-m", "lead-3", "-t", "seed-summarization", "-o", "out")
    proc = _bench_limited(in_tmp, 20_000, *run)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert "is read, but not written: " in proc.stderr or "is not used: " in proc.stderr
    code, _, err = cli(*run)  # space again: the next run caches
    assert code == 0, err
    assert len(_records(in_tmp)) == 2


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_read_only_cache_folder(clean, cli, in_tmp):
    cache = _db(in_tmp).parent
    cache.chmod(0o555)
    try:
        record, err = _again(cli, in_tmp, "-m", "textrank")
    finally:
        cache.chmod(0o755)
    assert "warning: the cache store" in err
