"""Provenance: the software, checkout, machine and command behind a run."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from bench.results.provenance import SOURCE_ROOT, command_line, git_info, iso_time, package_versions, provenance
from bench.version import __version__


def test_package_versions_name_bench_and_leave_out_what_is_not_installed(monkeypatch):
    from bench.results import provenance as module

    monkeypatch.setattr(module, "PACKAGES", ("numpy", "no-such-package-installed"))
    versions = package_versions()
    assert versions["bench"] == __version__
    assert "numpy" in versions and "no-such-package-installed" not in versions


def test_the_source_root_is_the_directory_holding_the_bench_package():
    assert (SOURCE_ROOT / "bench" / "results" / "provenance.py").is_file()


def test_git_info_outside_a_checkout_is_empty(tmp_path):
    assert git_info(tmp_path) == {}


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_info_names_the_commit_of_a_checkout(tmp_path):
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "f.txt").write_text("one")
    git("add", "f.txt")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "one")
    info = git_info(tmp_path)
    assert re.fullmatch(r"[0-9a-f]{40}", info["git_commit"]) and info["git_dirty"] is False
    (tmp_path / "f.txt").write_text("two")
    assert git_info(tmp_path)["git_dirty"] is True
    (tmp_path / "untracked.txt").write_text("not part of the checkout's state")
    git("checkout", "-q", "f.txt")
    assert git_info(tmp_path)["git_dirty"] is False


@pytest.mark.parametrize("argv, command", [
    (["/usr/local/bin/bench", "run", "-m", "lead-3"], "bench run -m lead-3"),
    (["/repo/bench/__main__.py", "compare", "results"], "bench compare results"),
    (["bench"], "bench"),
    (["/usr/bin/pytest", "-q"], None),
    (["-c"], None),
    ([""], None),
    ([], None),
])
def test_command_line_is_the_bench_command_or_none(argv, command):
    assert command_line(argv) == command


def test_iso_time_is_utc_to_the_second():
    assert iso_time(0) == "1970-01-01T00:00:00Z"
    assert iso_time(1767225600.9) == "2026-01-01T00:00:00Z"


def test_provenance_holds_versions_machine_device_and_command():
    p = provenance("cuda:0")
    assert p["device"] == "cuda:0" and p["bench_version"] == __version__
    assert p["packages"]["bench"] == __version__
    for key in ("python", "platform", "machine", "command"):
        assert key in p
    assert p["command"] is None  # called from Python (pytest), not as `bench`


def test_provenance_names_the_rouge_engine(monkeypatch):
    from bench.metrics.rouge import compiled
    from bench.metrics.rouge import engines as rouge_engine

    monkeypatch.delenv("BENCH_ROUGE_ENGINE", raising=False)
    rouge_engine.cache_clear()
    try:
        expected = "c" if compiled.module() is not None else rouge_engine.name("default")
        assert provenance()["rouge_engine"] == expected
        monkeypatch.setenv("BENCH_ROUGE_ENGINE", "python")
        rouge_engine.cache_clear()
        assert provenance()["rouge_engine"] == "python"
    finally:
        rouge_engine.cache_clear()
