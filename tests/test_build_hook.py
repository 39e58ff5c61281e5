"""The wheel build hook (hatch_build.py) can never fail an install.

It is run here as hatchling runs it, with compilers that fail: one that is not
there, one that errors on everything, and one that refuses GCC's `target_clones`
attribute (the POPCNT build of the scoring loop), which gets a second build
without it. The engine it builds then is tested for its numbers.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import REPO

pytest.importorskip("hatchling", reason="the test extra installs hatchling, the build backend")


def _hook_module():
    spec = importlib.util.spec_from_file_location("bench_build_hook", REPO / "hatch_build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_hook(tmp_path: Path):
    """The hook's `initialize` for a wheel, as hatchling calls it: (the hook, its build data)."""
    from hatchling.bridge.app import Application

    hook = _hook_module().NativeBuildHook(str(REPO), {}, None, None, str(tmp_path), "wheel", app=Application())
    build_data = {"force_include": {}, "pure_python": True, "infer_tag": False}
    hook.initialize("standard", build_data)
    return hook, build_data


def compiler(tmp_path: Path, body: str) -> Path:
    """An executable Python script standing in for the C compiler."""
    path = tmp_path / "cc"
    path.write_text(f"#!{sys.executable}\n{body}", encoding="utf-8")
    path.chmod(0o755)
    return path


def assert_not_built(build_data: dict, stderr: str, *why: str) -> None:
    assert build_data == {"force_include": {}, "pure_python": True, "infer_tag": False}
    assert "compiled ROUGE engine (bench/metrics/rouge/_engine.c) did not build" in stderr
    assert "rouge-score-rs or its own Python" in stderr and "install a C compiler" in stderr
    for text in why:
        assert text in stderr


@pytest.mark.parametrize("kind, why", [("missing", "no-such-cc"), ("erring", "non-zero exit status 1")])
def test_a_missing_or_failing_compiler_leaves_a_pure_python_build(kind, why, tmp_path, monkeypatch, capsys):
    cc = (tmp_path / "no-such-cc" if kind == "missing"
          else compiler(tmp_path, "import sys\nsys.exit('cc: internal compiler error')\n"))
    monkeypatch.setenv("CC", str(cc))
    monkeypatch.delenv("BENCH_NO_NATIVE", raising=False)
    hook, build_data = run_hook(tmp_path)
    hook.finalize("standard", build_data, "")
    assert_not_built(build_data, capsys.readouterr().err, why, "without target_clones")


def test_bench_no_native_builds_nothing(tmp_path, monkeypatch, capsys):
    cc = compiler(tmp_path, "import pathlib, sys\npathlib.Path(sys.argv[0] + '.called').touch()\nsys.exit(1)\n")
    monkeypatch.setenv("CC", str(cc))
    monkeypatch.setenv("BENCH_NO_NATIVE", "1")
    _, build_data = run_hook(tmp_path)
    assert build_data == {"force_include": {}, "pure_python": True, "infer_tag": False}
    assert "BENCH_NO_NATIVE is set" in capsys.readouterr().err
    assert not (tmp_path / "cc.called").exists()


#: gcc, except that it refuses the target_clones attribute, as a compiler without it does
NO_TARGET_CLONES = """
import subprocess, sys
args = sys.argv[1:]
if "-c" in args:
    seen = [a for a in args if a != "-c"]
    del seen[seen.index("-o"):seen.index("-o") + 2]
    source = subprocess.run(["gcc", "-E", *seen], capture_output=True, text=True).stdout
    if "target_clones" in source:
        sys.exit("error: 'target_clones' attribute directive ignored [-Werror=attributes]")
sys.exit(subprocess.call(["gcc", *args]))
"""

#: Loads the built module from its path and prints its scores of a few pairs, as JSON.
SCORE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("bench.metrics.rouge._engine", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
data, lossy = module.rouge(json.loads(sys.argv[2]), json.loads(sys.argv[3]), True, full=True)
print(json.dumps(list(memoryview(data).cast("d"))))
"""


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="the stand-in compiler wraps gcc")
def test_a_compiler_without_target_clones_gets_a_build_without_it(tmp_path, monkeypatch, capsys):
    from bench.metrics.rouge.lib_rouge import ROUGE_TYPES, RougeScorer

    monkeypatch.setenv("CC", str(compiler(tmp_path, NO_TARGET_CLONES)))
    monkeypatch.delenv("BENCH_NO_NATIVE", raising=False)
    hook, build_data = run_hook(tmp_path)
    try:
        err = capsys.readouterr().err
        # a GCC on x86-64 Linux tries target_clones first; elsewhere the first build already goes without it
        if sys.platform == "linux" and os.uname().machine == "x86_64":
            assert "built without target_clones (with a POPCNT build of the scoring loop: CompileError" in err
        (built, target), = build_data["force_include"].items()
        assert target == f"bench/metrics/rouge/{Path(built).name}" and target.endswith((".so", ".pyd"))
        assert build_data["pure_python"] is False and build_data["infer_tag"] is True
        preds = ["The cat sat on the mat.\nIt ran.", "running dogs", ""]
        refs = [["the cat was sitting", "a mat"], ["dogs run"], ["x"]]
        proc = subprocess.run([sys.executable, "-c", SCORE, built, json.dumps(preds), json.dumps(refs)],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        scorer = RougeScorer(ROUGE_TYPES, use_stemmer=True)
        expected = [v for p, r in zip(preds, refs) for t in ROUGE_TYPES for v in scorer.score(p, r)[t]]
        assert json.loads(proc.stdout) == expected
    finally:
        hook.finalize("standard", build_data, "")


@pytest.mark.slow
def test_pip_builds_a_pure_python_wheel_when_the_compiler_fails(tmp_path):
    cc = compiler(tmp_path, "import sys\nsys.exit('cc: internal compiler error')\n")
    env = {k: v for k, v in os.environ.items() if k != "BENCH_NO_NATIVE"}
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "out"),
                           str(REPO)], capture_output=True, text=True, timeout=300, env={**env, "CC": str(cc)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = (tmp_path / "out").glob("bench-*.whl")
    assert wheel.name.endswith("-py3-none-any.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert not [n for n in names if n.endswith((".so", ".pyd"))] and "bench/metrics/rouge/compiled.py" in names
