"""Run records and results files.

Each run of a model on a task is one directory,
``<results>/<task>/<model>/<run-id>/``, with

- ``results.json``: the run record (schema below, `SCHEMA_VERSION`);
- ``predictions.jsonl``: one line per example, ``{"id", "prediction",
  "references", "scores"}`` (plus ``"question"`` for QA).

Files are written to a temporary directory next to the final one and moved in
place with one rename, so a results directory is either complete or absent.
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.version import __version__
from bench.errors import BenchError, relpath

SCHEMA_VERSION = 1

#: Field order of results.json; part of the format.
RESULT_FIELDS = (
    "schema_version", "run_id", "model", "task", "task_type", "task_version", "task_hash",
    "n_examples", "metrics", "ci", "signatures", "counts", "config", "provenance", "timing", "warnings",
)

_PACKAGES = ("numpy", "datasets", "rouge_score", "nltk", "nupunkt", "PyYAML", "typer",
             "torch", "transformers", "tokenizers", "accelerate", "sentencepiece")


def slug(name: str) -> str:
    """A file-system-safe directory name for a model or task name (no path traversal)."""
    s = name.replace("/", "--").replace("\\", "--")
    # No leading '.' (hidden, and skipped as a run being written) or '-' (read as an option).
    s = re.sub(r"[^A-Za-z0-9._+=-]+", "_", s).strip("._-")
    if len(s) > 100:  # file names have a length limit (255 bytes); keep distinct names distinct
        import hashlib

        s = f"{s[:80]}-{hashlib.sha256(name.encode('utf-8')).hexdigest()[:12]}"
    return s or "unnamed"


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)


def package_versions() -> dict[str, str]:
    out = {"bench": __version__}
    for p in _PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            pass
    return out


def git_info() -> dict[str, Any]:
    """The commit of bench's own source when it runs from a git checkout."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return {}
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"git_commit": commit or None, "git_dirty": bool(dirty)}


def _command_line() -> str | None:
    """The `bench ...` command that made the run (None when called from Python)."""
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if argv0 is None or not (argv0.name == "bench" or argv0.parts[-2:] == ("bench", "__main__.py")):
        return None
    return " ".join(["bench", *sys.argv[1:]])


def provenance(device: str = "cpu") -> dict[str, Any]:
    return {
        "bench_version": __version__,
        "packages": package_versions(),
        **git_info(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "device": device,
        "command": _command_line(),
    }


def _clean(value: Any) -> Any:
    """JSON-safe copy: tuples to lists, non-finite floats to None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def dumps_line(obj: Mapping[str, Any]) -> str:
    return json.dumps(_clean(obj), ensure_ascii=False, allow_nan=False)


def write_run(output_dir: Path, record: Mapping[str, Any], predictions: Iterable[Mapping[str, Any]]) -> Path:
    """Write a run directory atomically; returns its path."""
    final = output_dir / slug(record["task"]) / slug(record["model"]) / record["run_id"]
    parent = final.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BenchError(f"cannot create results directory: {e.strerror}", where=relpath(parent)) from None
    tmp = parent / f".tmp-{record['run_id']}"
    try:
        tmp.mkdir()
        with (tmp / "predictions.jsonl").open("w", encoding="utf-8") as f:
            for p in predictions:
                f.write(dumps_line(p) + "\n")
            f.flush()
            os.fsync(f.fileno())
        ordered = {k: record[k] for k in RESULT_FIELDS if k in record}
        ordered.update({k: v for k, v in record.items() if k not in ordered})
        with (tmp / "results.json").open("w", encoding="utf-8") as f:
            f.write(json.dumps(_clean(ordered), ensure_ascii=False, indent=2, allow_nan=False) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, final)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise BenchError(f"cannot write the run directory: {e.strerror or e}", where=relpath(final),
                         hint="check free space and permissions; the predictions are kept in the prediction "
                              "cache, so running the same command again only rescores", exit_code=3) from e
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def read_run(path: Path) -> dict[str, Any]:
    """Read a results.json (or the run directory holding it), checking its schema version."""
    p = path / "results.json" if path.is_dir() else path
    where = relpath(p)
    damaged = "the file is damaged; delete this run directory and run again"
    try:
        text = p.read_bytes().decode("utf-8")
    except OSError as e:
        raise BenchError(f"cannot read run record: {e.strerror}", where=where) from None
    except UnicodeDecodeError as e:
        raise BenchError(f"not a valid results.json: not UTF-8 (byte at offset {e.start})", where=where,
                         hint=damaged) from None
    if not text.strip():
        raise BenchError("not a valid results.json: the file is empty", where=where, hint=damaged)
    try:
        record = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as e:
        raise BenchError(f"not a valid results.json: invalid JSON: {e.msg} (column {e.colno})",
                         where=f"{where}:{e.lineno}", hint=damaged) from None
    except ValueError as e:  # NaN or Infinity, which bench never writes (it writes null)
        m = re.search(rf"(?<=[\s:\[,]){re.escape(str(e))}(?=\s*[,\]}}])", text)
        line = f":{text[:m.start()].count(chr(10)) + 1}" if m else ""
        raise BenchError(f"not a valid results.json: it holds {e}, which bench never writes", where=where + line,
                         hint=damaged) from None
    if not isinstance(record, dict) or "schema_version" not in record:
        raise BenchError("not a bench results.json (no schema_version)", where=where,
                         hint="pass run directories written by `bench run` (or the results directory above them)")
    v = record["schema_version"]
    if not isinstance(v, int) or isinstance(v, bool) or v < 1:
        raise BenchError(f"results.json has schema_version {v!r}, not a positive integer", where=where, hint=damaged)
    if v > SCHEMA_VERSION:
        raise BenchError(f"results.json has schema_version {v!r}; this bench reads up to {SCHEMA_VERSION}",
                         where=where, hint="upgrade bench to read results written by a newer version")
    n = record.get("n_examples", 0)
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise BenchError(f"field 'n_examples' of the run record is {n!r}, not a count", where=where, hint=damaged)
    return record


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)
