"""Wheel build hook: compiles bench's ROUGE engine in C, `bench.metrics.rouge._engine` (bench/metrics/rouge/_engine.c).

The engine is optional, and building it can never fail an install: without a
C compiler, with a compiler that errors, or with BENCH_NO_NATIVE=1, the build
says why and goes on, and bench scores ROUGE with rouge-score-rs or its own
Python, which give the same numbers more slowly (`bench.metrics.rouge.engines`).
A compiler that refuses the attribute that builds the scoring loop a second
time for processors with POPCNT (GCC's `target_clones`) gets a second try
without it. tests/test_build_hook.py runs this hook with failing compilers.

An editable install (`pip install -e .`) compiles the module next to its
source, in bench/metrics/rouge/; a wheel carries it at the same place.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = "bench/metrics/rouge/_engine.c"
MODULE = "bench.metrics.rouge._engine"
#: Set (to anything but "" or "0"), nothing is compiled (bench.metrics.rouge.compiled reads it at run time too).
DISABLE_ENV = "BENCH_NO_NATIVE"
#: The builds tried in turn, each with the macros it defines: the first that compiles is installed.
ATTEMPTS = (
    ("with a POPCNT build of the scoring loop", ()),
    ("without target_clones", (("BENCH_NO_TARGET_CLONES", "1"),)),
)


def compile_args() -> list[str]:
    if sys.platform == "win32":
        return ["/O2", "/fp:precise"]
    # no fused multiply-add: the scores must round as Python's own arithmetic does
    return ["-O3", "-ffp-contract=off"]


def build_extension(root: Path, out_dir: Path, macros: tuple[tuple[str, str], ...] = (),
                    extra_args: tuple[str, ...] = ()) -> Path:
    """Compile SOURCE with setuptools' build_ext into out_dir; the path of the built module.

    Raises whatever setuptools raises when the compiler is missing or fails."""
    from setuptools import Distribution, Extension

    source = root / SOURCE
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    ext = Extension(MODULE, sources=[str(source.relative_to(root))], extra_compile_args=[*compile_args(), *extra_args],
                    extra_link_args=list(extra_args),
                    define_macros=[("BENCH_ENGINE_SOURCE_SHA256", f'"{digest}"'), *macros])
    cwd = os.getcwd()
    os.chdir(root)
    try:
        dist = Distribution({"name": "bench", "ext_modules": [ext]})
        cmd = dist.get_command_obj("build_ext")
        cmd.build_lib = str(out_dir)
        cmd.build_temp = str(out_dir / "temp")
        cmd.ensure_finalized()
        cmd.run()
        return Path(cmd.get_ext_fullpath(MODULE))
    finally:
        os.chdir(cwd)


def try_builds(root: Path, out_dir: Path) -> tuple[Path | None, list[str]]:
    """The module of the first of ATTEMPTS that compiles (None if none does), and why each before it failed."""
    failures = []
    for k, (what, macros) in enumerate(ATTEMPTS):
        try:
            return build_extension(root, out_dir / str(k), macros), failures
        # anything: a missing compiler or setuptools, a compiler that errors, a distutils SystemExit
        except (Exception, SystemExit) as e:
            failures.append(f"{what}: {type(e).__name__}: {e}")
    return None, failures


class NativeBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict) -> None:
        if self.target_name != "wheel":
            return
        root = Path(self.root)
        if os.environ.get(DISABLE_ENV, "").strip() not in ("", "0"):
            self.app.display_info(f"{DISABLE_ENV} is set: bench's compiled ROUGE engine is not built")
            return
        self._tmp = tempfile.TemporaryDirectory(prefix="bench-engine-")
        built, failures = try_builds(root, Path(self._tmp.name))
        if built is None:  # no compiler, no headers: bench still works, more slowly
            self.app.display_warning(
                f"bench's compiled ROUGE engine ({SOURCE}) did not build ({'; '.join(failures)}). bench will score "
                "ROUGE with rouge-score-rs or its own Python (the same numbers, slower); install a C compiler and the "
                "Python headers, then reinstall, to build it."
            )
            return
        if failures:
            self.app.display_info(f"bench's compiled ROUGE engine was built {ATTEMPTS[len(failures)][0]} "
                                  f"({'; '.join(failures)})")
        target = f"{SOURCE.rsplit('/', 1)[0]}/{built.name}"
        if version == "editable":
            # an editable install imports bench from the source tree: the module goes next to its source
            dest = root / target
            for old in dest.parent.glob("_engine.*"):
                if old.suffix in (".so", ".pyd") and old.name != built.name:
                    old.unlink()
            # a new file renamed over the old one: a process that has the old module loaded keeps its copy
            # (rewriting the loaded file in place would crash it)
            staged = dest.with_name(dest.name + ".tmp")
            staged.write_bytes(built.read_bytes())
            os.replace(staged, dest)
        else:
            build_data["force_include"][str(built)] = target
        build_data["pure_python"] = False
        build_data["infer_tag"] = True

    def finalize(self, version: str, build_data: dict, artifact_path: str) -> None:
        tmp = getattr(self, "_tmp", None)
        if tmp is not None:
            tmp.cleanup()
