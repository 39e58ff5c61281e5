"""Wheel build hook: compiles bench's C extension, `bench._native` (ROUGE, the bootstrap, reading JSON lines).

The extension is optional: without a C compiler (or with BENCH_NO_NATIVE=1) the
build says so and goes on, and bench scores ROUGE with rouge-score-rs or its own
Python, which give the same numbers more slowly (`bench.metrics.rouge.engines`).
An editable install (`pip install -e .`) compiles the module next to its source,
in bench/metrics/; a wheel carries it at the same place.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = "bench/_native.c"
MODULE = "bench._native"


def compile_args() -> list[str]:
    if sys.platform == "win32":
        return ["/O2", "/fp:precise"]
    # no fused multiply-add: the scores must round as Python's own arithmetic does
    return ["-O3", "-ffp-contract=off"]


def build_extension(root: Path, out_dir: Path) -> Path:
    """Compile SOURCE with setuptools' build_ext into out_dir; the path of the built module."""
    from setuptools import Distribution, Extension

    source = root / SOURCE
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    ext = Extension(MODULE, sources=[str(source.relative_to(root))], extra_compile_args=compile_args(),
                    define_macros=[("BENCH_NATIVE_SOURCE_SHA256", f'"{digest}"')])
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


class NativeBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict) -> None:
        if self.target_name != "wheel":
            return
        root = Path(self.root)
        if os.environ.get("BENCH_NO_NATIVE", "").strip() not in ("", "0"):
            self.app.display_info("BENCH_NO_NATIVE is set: bench's C extension is not built")
            return
        self._tmp = tempfile.TemporaryDirectory(prefix="bench-native-")
        try:
            built = build_extension(root, Path(self._tmp.name))
        except Exception as e:  # no compiler, no headers: bench still works, more slowly
            self.app.display_warning(
                f"bench's C extension ({SOURCE}) did not build: {type(e).__name__}: {e}. bench will score ROUGE "
                "with rouge-score-rs or its own Python (the same numbers, slower); install a C compiler and the "
                "Python headers, then reinstall, to build it."
            )
            return
        target = f"bench/{built.name}"
        if version == "editable":
            # an editable install imports bench from the source tree: the module goes next to its source
            dest = root / target
            for old in dest.parent.glob("_native.*"):
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
