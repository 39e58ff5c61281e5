"""A prediction cache that cannot be read or written: one message, exit code 3, no traceback, no temporary file.

The cache's files replaced by directories or by garbage, and a full disk (a file size limit, set with
RLIMIT_FSIZE in a child process) at the moment each of its files is written.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import HELPERS, REPO

RUN = ("run", "-q", "-m", "sliding-window", "-t", "seed-qa", "--limit", "3", "-o", "out")


@pytest.fixture
def cached(in_tmp, cli):
    """A results directory whose cache holds a complete run: returns the cache's files by role."""
    code, _, err = cli(*RUN)
    assert code == 0, err
    (jsonl,) = (in_tmp / "out" / ".cache").glob("seed-qa/*/*.jsonl")
    key = jsonl.name.removesuffix(".jsonl")
    return {"jsonl": jsonl, "meta": jsonl.with_name(f"{key}.json"), "model": jsonl.with_name(f"{key}.model.json")}


def _no_temporary_files(root: Path) -> None:
    left = [os.path.join(d, f) for d, dirs, files in os.walk(root) for f in files + dirs if ".tmp" in f]
    assert not left, left


def _runs(root: Path) -> list[Path]:
    return sorted(root.glob("out/seed-qa/*/*/results.json"))


def _fails_cleanly(cli, root: Path, *args: str, expect: list[str]) -> None:
    before = _runs(root)
    code, _, err = cli(*(args or RUN))
    assert code == 3, err
    assert err.startswith("error: ") and "Traceback" not in err
    for text in expect:
        assert text in err, err
    assert _runs(root) == before, "nothing is written for a failed run"
    _no_temporary_files(root)


@pytest.mark.parametrize("fresh", [False, True], ids=["run", "no-cache"])
def test_a_cache_file_replaced_by_a_directory(cached, cli, in_tmp, fresh):
    jsonl = cached["jsonl"]
    jsonl.unlink()
    jsonl.mkdir()
    rel = str(jsonl.relative_to(in_tmp))
    if fresh:
        _fails_cleanly(cli, in_tmp, *RUN, "--no-cache", expect=[f"{rel}: cannot remove the prediction cache"])
    else:
        _fails_cleanly(cli, in_tmp, expect=[f"{rel}: cannot read the prediction cache: Is a directory",
                                            "hint: remove it, or run with --no-cache"])


def test_the_model_record_replaced_by_a_directory(cached, cli, in_tmp):
    model = cached["model"]
    model.unlink()
    model.mkdir()
    rel = str(model.relative_to(in_tmp))
    # every prediction cached: the record is read
    _fails_cleanly(cli, in_tmp, expect=[f"{rel}: cannot read the prediction cache's model record: Is a directory"])
    # predictions to make: the record is written after them
    cached["jsonl"].write_text("")
    _fails_cleanly(cli, in_tmp, expect=[f"{rel}: cannot write the prediction cache: Is a directory"])
    assert len(cached["jsonl"].read_text().splitlines()) == 3, "the predictions made are kept"


def test_the_key_description_replaced_by_a_directory(cached, cli, in_tmp):
    meta = cached["meta"]
    meta.unlink()
    meta.mkdir()
    cached["jsonl"].unlink()
    _fails_cleanly(cli, in_tmp, expect=[f"{meta.relative_to(in_tmp)}: cannot write the prediction cache",
                                        "check free space and permissions"])


def test_the_cache_folder_of_a_model_replaced_by_a_file(cached, cli, in_tmp):
    folder = cached["jsonl"].parent
    shutil.rmtree(folder)
    folder.write_text("not a folder")
    _fails_cleanly(cli, in_tmp, expect=["cannot write the prediction cache"])


@pytest.mark.parametrize("content, why", [
    (b"{\"model\": ", "not valid JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
    (b"\xff\xfe", "not valid JSON"),
    (b'{"model": NaN}', "not valid JSON"),
    (b"[]", "is not what bench writes"),
    (b'{"model": "x"}', "is not what bench writes"),
])
def test_a_damaged_model_record_is_refused_not_ignored(cached, cli, in_tmp, content, why):
    cached["model"].write_bytes(content)
    _fails_cleanly(cli, in_tmp, expect=[f"{cached['model'].relative_to(in_tmp)}: ", why])
    code, _, err = cli(*RUN, "--no-cache")  # the way out the hint gives
    assert code == 0, err


def _new_run(cli, root: Path, *args: str) -> dict:
    before = set(_runs(root))
    code, _, err = cli(*(args or RUN))
    assert code == 0 and "Traceback" not in err, err
    (path,) = set(_runs(root)) - before
    return json.loads(path.read_text())


def test_a_missing_model_record_leaves_the_description_empty_and_says_so(cached, cli, in_tmp):
    cached["model"].unlink()  # a run killed after its predictions, before the record
    record = _new_run(cli, in_tmp)
    assert record["config"]["model"] == {"kind": "baseline"} and record["timing"]["cached"] == 3
    assert any("run with --no-cache to record it" in w for w in record["warnings"])


def test_a_cache_line_nested_too_deep_is_skipped_and_predicted_again(cached, cli, in_tmp):
    lines = cached["jsonl"].read_text().splitlines()
    cached["jsonl"].write_text("[" * 100_000 + "]" * 100_000 + "\n" + "\n".join(lines[1:]) + "\n")
    record = _new_run(cli, in_tmp)
    assert (record["timing"]["cached"], record["timing"]["predicted"]) == (2, 1)


# ------------------------------------------------------------------ full disk


def _limited(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead of a kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def _bench_limited(cwd: Path, limit: int, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{HELPERS}{os.pathsep}{REPO}", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120, preexec_fn=_limited(limit))


@pytest.mark.slow
@pytest.mark.parametrize("which", ["key description", "cache line", "model record"])
def test_a_full_disk_while_the_cache_is_written(cached, cli, in_tmp, which):
    """Files no larger than 100 (or 20) bytes: the description of the key (175 bytes) cannot be written on a fresh
    cache; with it there, the first line (41 bytes) can, and the model record (140 bytes) cannot."""
    run = ("run", "-q", "-m", "sliding-window", "-t", "seed-qa", "--limit", "1", "-o", "out")
    shutil.rmtree(in_tmp / "out")
    if which != "key description":
        code, _, err = cli(*run)
        assert code == 0, err
        shutil.rmtree(in_tmp / "out" / "seed-qa")
        (jsonl,) = (in_tmp / "out" / ".cache").glob("seed-qa/*/*.jsonl")
        jsonl.write_text("")
        jsonl.with_name(jsonl.name.replace(".jsonl", ".model.json")).unlink()
    proc = _bench_limited(in_tmp, 20 if which == "cache line" else 100, *run)
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
    assert "cannot write the prediction cache: File too large" in proc.stderr
    assert "hint: check free space and permissions, then run the same command again to resume" in proc.stderr
    assert not _runs(in_tmp)
    _no_temporary_files(in_tmp)
    record = _new_run(cli, in_tmp, *run)  # space again: the same command resumes
    assert record["n_examples"] == 1
    if which == "model record":  # the prediction was kept, its model record was not: the run says so
        assert record["timing"]["cached"] == 1 and any("--no-cache to record it" in w for w in record["warnings"])
    else:
        assert record["timing"]["predicted"] == 1 and record["config"]["model"]["name"] == "sliding-window"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_read_only_cache_folder(cached, cli, in_tmp):
    cached["jsonl"].write_text("")
    cached["model"].unlink()
    folder = cached["jsonl"].parent
    folder.chmod(0o555)
    try:
        _fails_cleanly(cli, in_tmp, expect=["cannot write the prediction cache: Permission denied"])
    finally:
        folder.chmod(0o755)
