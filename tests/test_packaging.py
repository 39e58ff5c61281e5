"""A wheel built from the repository carries the bundled tasks and fixtures."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import pytest

from conftest import REPO


@pytest.mark.slow
def test_wheel_contains_bundled_tasks_and_fixtures(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = tmp_path.glob("bench-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for task in (REPO / "tasks").glob("*.yaml"):
        assert f"bench/_bundled/tasks/{task.name}" in names
    for fixture in (REPO / "fixtures").glob("*.jsonl"):
        assert f"bench/_bundled/fixtures/{fixture.name}" in names
    assert "bench/cli/app.py" in names and "bench/metrics/rouge/lib_rouge.py" in names
    # the rating pages of `bench annotate serve`: templates, style sheet and script
    for page in ("templates/page.html", "templates/item.html", "templates/done.html", "templates/message.html",
                 "static/annotate.css", "static/annotate.js"):
        assert f"bench/annotation/{page}" in names
    assert not any(n.startswith(("tests/", "results/")) for n in names)
    # the compiled ROUGE engine, built for this interpreter (one copy: not the editable build lying in the tree)
    native = [n for n in names if n.startswith("bench/metrics/rouge/_engine") and n.endswith((".so", ".pyd"))]
    assert len(native) == 1 and "bench/metrics/rouge/_engine.c" in names
    assert not [n for n in names if n.endswith((".so", ".pyd")) and n not in native]
    assert not wheel.name.endswith("-none-any.whl")


@pytest.mark.slow
def test_a_wheel_without_the_c_extension_is_pure_python(tmp_path):
    env = {**os.environ, "BENCH_NO_NATIVE": "1"}
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = tmp_path.glob("bench-*.whl")
    assert wheel.name.endswith("-py3-none-any.whl")
    assert not [n for n in zipfile.ZipFile(wheel).namelist() if n.endswith((".so", ".pyd"))]
