"""`bench --help`, `bench list` and `bench compare` never import the heavy packages."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("torch", "transformers", "datasets", "evaluate", "accelerate", "pyarrow", "pandas", "mlflow", "starlette",
         "uvicorn", "jinja2")


def _imported_modules(args, cwd) -> set[str]:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "bench", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


@pytest.mark.parametrize("args", [["--help"], ["list"], ["run", "--help"], ["compare", "--help"], ["export", "--help"],
                                  ["rescore", "--help"], ["annotate", "--help"], ["annotate", "serve", "--help"]])
def test_light_commands_do_not_import_heavy_packages(tmp_path, args):
    imported = _imported_modules(args, tmp_path)
    assert "bench" in imported
    assert not imported & set(HEAVY), imported & set(HEAVY)


def test_compare_on_real_runs_does_not_import_heavy_packages(tmp_path):
    from bench.api import run

    run(models=["lead-3"], tasks=["seed-headline"], output_dir=tmp_path / "results")
    imported = _imported_modules(["compare", str(tmp_path / "results")], tmp_path)
    assert not imported & set(HEAVY), imported & set(HEAVY)
