"""Prediction cache: what a model has predicted once is never predicted again.

Predictions are appended to a JSONL file as each batch finishes (flushed and
fsynced), under a key of everything that determines them: the model (name,
hub id or path, revision, kind, and a fingerprint of its weights when known),
dtype, generation settings, the task's content hash and bench's version.
Each line holds one example id and its prediction. Rerunning the same command
reads the file, skips the examples already done and predicts the rest; a run
killed at any moment (even with SIGKILL) loses at most the batch in flight.
A half-written line (from a kill) is skipped when reading and never cut out of
the file, because another process may be appending to it at the same moment;
the next write starts on a new line.

Layout: ``<results>/.cache/<task>/<model>/<key>.jsonl``, with
``<key>.json`` beside it describing what the key stands for.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bench.version import __version__
from bench.errors import BenchError, relpath
from bench.io import atomic_write, read_jsonl_lenient
from bench.results.store import slug

WRITE_HINT = "check free space and permissions, then run the same command again to resume"


def cache_key(identity: Mapping[str, Any]) -> str:
    blob = json.dumps(identity, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


def model_identity(spec, task, model_options: Mapping[str, Any]) -> dict[str, Any]:
    """Everything that determines a model's predictions on a task, known before it loads."""
    fingerprint = getattr(spec, "fingerprint", None)
    identity: dict[str, Any] = {
        "model": spec.name,
        "kind": spec.kind,
        "target": spec.target,
        "revision": model_options.get("revision"),
        "dtype": model_options.get("dtype"),
        "generation": dict(model_options.get("generation") or {}),
        "trust_remote_code": bool(model_options.get("trust_remote_code")),
        "task_hash": task.hash,
        "bench": __version__,
    }
    if model_options.get("base_url"):
        identity["base_url"] = model_options["base_url"]
    if callable(fingerprint):
        identity["fingerprint"] = fingerprint(**model_options)
    return identity


class PredictionCache:
    """Append-only store of (example id -> prediction) for one cache key."""

    def __init__(self, root: Path, task_name: str, model_name: str, identity: Mapping[str, Any],
                 shard: int | None = None) -> None:
        self.key = cache_key(identity)
        self.dir = root / ".cache" / slug(task_name) / slug(model_name)
        # Each process of a multi-process run appends to a file of its own.
        self.path = self.dir / (f"{self.key}.jsonl" if shard is None else f"{self.key}.rank{shard}.jsonl")
        self.identity = dict(identity)
        self._fh = None

    def files(self) -> list[Path]:
        return sorted([*self.dir.glob(f"{self.key}.jsonl"), *self.dir.glob(f"{self.key}.rank*.jsonl")])

    def load(self) -> dict[str, str]:
        """Predictions stored so far (by any process); a torn line (from a kill) is skipped."""
        done: dict[str, str] = {}
        for path in self.files():
            for row in read_jsonl_lenient(path):  # a torn line is skipped, never cut out of the file
                if "id" in row and isinstance(row.get("prediction"), str):
                    done[str(row["id"])] = row["prediction"]
        return done

    def clear(self) -> None:
        for path in self.files():
            path.unlink(missing_ok=True)

    def append(self, rows: list[tuple[str, str]]) -> None:
        try:
            self._append(rows)
        except OSError as e:
            raise BenchError(f"cannot write the prediction cache: {e.strerror or e}", where=relpath(self.path),
                             hint=WRITE_HINT, exit_code=3) from e

    def _append(self, rows: list[tuple[str, str]]) -> None:
        if self._fh is None:
            self.dir.mkdir(parents=True, exist_ok=True)
            meta = self.dir / f"{self.key}.json"
            if not meta.exists():
                atomic_write(meta, json.dumps(self.identity, indent=2, ensure_ascii=False, default=str) + "\n",
                             what="the prediction cache", hint=WRITE_HINT, exit_code=3)
            self._fh = self.path.open("a+", encoding="utf-8")  # readable too: see the check below
        text = "".join(json.dumps({"id": i, "prediction": p}, ensure_ascii=False) + "\n" for i, p in rows)
        fd = self._fh.fileno()
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            text = "\n" + text  # after a line another process left unfinished: start a new one
        self._fh.write(text)
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def save_model_config(self, config: Mapping[str, Any], batch_size: Any, predicted: int, predict_s: float) -> None:
        """What the model reported about itself and how fast it predicted, for runs that load nothing."""
        path = self.dir / f"{self.key}.model.json"
        _, _, before_n, before_s = self.model_config()
        data = {"model": config, "batch_size": batch_size, "predicted": before_n + predicted,
                "predict_s": before_s + predict_s}
        atomic_write(path, json.dumps(data, ensure_ascii=False, default=str), what="the prediction cache",
                     hint=WRITE_HINT, exit_code=3)

    def model_config(self) -> tuple[dict[str, Any], Any, int, float]:
        """(model description, batch size, examples predicted, seconds spent) over the runs that filled the cache."""
        try:
            data = json.loads((self.dir / f"{self.key}.model.json").read_text(encoding="utf-8"))
            return (dict(data.get("model") or {}), data.get("batch_size"), int(data.get("predicted") or 0),
                    float(data.get("predict_s") or 0.0))
        except (OSError, ValueError, TypeError):
            return {}, None, 0, 0.0

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

