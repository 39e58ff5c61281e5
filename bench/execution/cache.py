"""Prediction cache: what a model has predicted once is never predicted again.

Predictions are appended to a JSONL file as each batch finishes (each answer,
for a model behind a server), written through at once (another process sees
the lines) and fsynced at most about once a second (`FSYNC_INTERVAL_S`) and on
`close`, under a key of everything
that determines them: the model's one identity (name, kind, hub id or resolved
path) and what its spec says determines its predictions (`ModelSpec.identity`:
the seed, revision, dtype, generation settings and a fingerprint of the
weights for a Hugging Face model; the code, settings and declared version of a
user's model class; ...), the task's content hash and bench's version.
Each line holds one example id and its prediction. Rerunning the same command
reads the file, skips the examples already done and predicts the rest; a run
killed at any moment (even with SIGKILL) loses at most the batch in flight (what
was written is in the operating system's hands), and a crash of the machine
itself (power, kernel) at most the last second or so of predictions, which the
next run predicts again.
A half-written line (from a kill) is skipped when reading and never cut out of
the file, because another process may be appending to it at the same moment;
the next write starts on a new line.

Layout: ``<results>/.cache/<task>/<model>/<key>.jsonl``, with
``<key>.json`` beside it describing what the key stands for.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bench.version import __version__
from bench.errors import BenchError, relpath
from bench.io import atomic_write, loads, read_jsonl_lenient
from bench.models.model import Answer, no_answer_score
from bench.results.store import slug

WRITE_HINT = "check free space and permissions, then run the same command again to resume"
READ_HINT = "remove it, or run with --no-cache to predict everything again"

#: Least time between two fsyncs of a cache file. Each batch is written at once (unbuffered, so another process
#: reads it and a killed process loses nothing written), but made durable on disk at most this often and on
#: `PredictionCache.close`: a fast model finishes hundreds of batches a second, and an fsync each cost more than
#: predicting them. What a crash of the machine (not of the process) can lose is the predictions of at most about
#: this long, which resuming predicts again (a line cut short is skipped).
FSYNC_INTERVAL_S = 1.0


def cache_key(identity: Mapping[str, Any]) -> str:
    blob = json.dumps(identity, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


def model_identity(spec, task, options: Mapping[str, Any]) -> dict[str, Any]:
    """Everything that determines a model's predictions on a task, known before it loads.

    `options` are what the model is created with (model options, batch size, seed); the spec says which of
    them count, and adds what else identifies it (`ModelSpec.identity`: a weights fingerprint, a plug-in's
    code and settings, ...). The name is the model's one identity (a local directory's resolved path).
    """
    return {
        "model": spec.name,
        "kind": spec.kind,
        "target": spec.target,
        "task_hash": task.hash,
        "bench": __version__,
        **spec.identity(options),
    }


def cache_line(example_id: str, prediction: str) -> dict[str, Any]:
    """One line of the cache: the id, the prediction, and an extractive answer's no-answer score."""
    line: dict[str, Any] = {"id": example_id, "prediction": str(prediction)}
    na = no_answer_score(prediction)
    if na is not None and math.isfinite(na):
        line["no_answer_score"] = na
    return line


class PredictionCache:
    """Append-only store of (example id -> prediction) for one cache key."""

    def __init__(self, root: Path, task_name: str, model_name: str, identity: Mapping[str, Any],
                 shard: int | None = None) -> None:
        self.key = cache_key(identity)
        self.dir = root / ".cache" / slug(task_name) / slug(model_name)
        # Each process of a multi-process run appends to a file of its own.
        self.path = self.dir / (f"{self.key}.jsonl" if shard is None else f"{self.key}.rank{shard}.jsonl")
        self.identity = dict(identity)
        self._fd: int | None = None
        self._synced_at = 0.0  # time.monotonic() of the last fsync (or of opening the file)
        self._unsynced = False  # written since the last fsync

    def files(self) -> list[Path]:
        return sorted([*self.dir.glob(f"{self.key}.jsonl"), *self.dir.glob(f"{self.key}.rank*.jsonl")])

    def load(self) -> dict[str, str]:
        """Predictions stored so far (by any process); a torn line (from a kill) is skipped."""
        done: dict[str, str] = {}
        for path in self.files():
            try:
                rows = list(read_jsonl_lenient(path))  # a torn line is skipped, never cut out of the file
            except OSError as e:
                raise BenchError(f"cannot read the prediction cache: {e.strerror or e}", where=relpath(path),
                                 hint=READ_HINT, exit_code=3) from None
            for row in rows:
                if "id" in row and isinstance(row.get("prediction"), str):
                    na = row.get("no_answer_score")
                    done[str(row["id"])] = (Answer(row["prediction"], na) if isinstance(na, (int, float))
                                            and not isinstance(na, bool) and math.isfinite(na) else row["prediction"])
        return done

    def clear(self) -> None:
        for path in [*self.files(), self.dir / f"{self.key}.model.json"]:
            try:
                path.unlink(missing_ok=True)
            except OSError as e:
                raise BenchError(f"cannot remove the prediction cache: {e.strerror or e}", where=relpath(path),
                                 hint="remove it by hand, then run the same command again", exit_code=3) from None

    def append(self, rows: list[tuple[str, str]]) -> None:
        try:
            self._append(rows)
        except OSError as e:
            raise BenchError(f"cannot write the prediction cache: {e.strerror or e}", where=relpath(self.path),
                             hint=WRITE_HINT, exit_code=3) from e

    def _append(self, rows: list[tuple[str, str]]) -> None:
        if self._fd is None:
            self.dir.mkdir(parents=True, exist_ok=True)
            meta = self.dir / f"{self.key}.json"
            if not meta.is_file():
                atomic_write(meta, json.dumps(self.identity, indent=2, ensure_ascii=False, default=str) + "\n",
                             what="the prediction cache", hint=WRITE_HINT, exit_code=3)
            # Unbuffered: a write that fails (a full disk) leaves nothing behind to fail again on close.
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            self._synced_at = time.monotonic()
        data = "".join(json.dumps(cache_line(i, p), ensure_ascii=False) + "\n" for i, p in rows).encode()
        size = os.fstat(self._fd).st_size
        if size and os.pread(self._fd, 1, size - 1) != b"\n":
            data = b"\n" + data  # after a line another process (or a full disk) left unfinished: start a new one
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]
        self._unsynced = True
        if time.monotonic() - self._synced_at >= FSYNC_INTERVAL_S:
            self._sync()

    def _sync(self) -> None:
        assert self._fd is not None
        os.fsync(self._fd)
        self._synced_at = time.monotonic()
        self._unsynced = False

    def save_model_config(self, config: Mapping[str, Any], batch_size: Any) -> None:
        """What the model reported about itself and its batch size, for runs that load nothing."""
        path = self.dir / f"{self.key}.model.json"
        atomic_write(path, json.dumps({"model": config, "batch_size": batch_size}, ensure_ascii=False, default=str),
                     what="the prediction cache", hint=WRITE_HINT, exit_code=3)

    def model_config(self) -> tuple[dict[str, Any], Any]:
        """(model description, batch size) of the last run that predicted into this cache; ({}, None) when none
        recorded it (a run killed before the end)."""
        path = self.dir / f"{self.key}.model.json"
        try:
            data = loads(path.read_bytes())
        except FileNotFoundError:
            return {}, None
        except (OSError, ValueError, RecursionError) as e:
            why = e.strerror if isinstance(e, OSError) else "not valid JSON"
            raise BenchError(f"cannot read the prediction cache's model record: {why}", where=relpath(path),
                             hint=READ_HINT, exit_code=3) from None
        if not isinstance(data, dict) or not isinstance(data.get("model"), dict):
            raise BenchError("the prediction cache's model record is not what bench writes", where=relpath(path),
                             hint=READ_HINT, exit_code=3)
        return dict(data["model"]), data.get("batch_size")

    def close(self) -> None:
        """fsync what is not yet on disk, and close the file (a later `append` opens it again)."""
        if self._fd is None:
            return
        try:
            if self._unsynced:
                self._sync()
        except OSError as e:
            raise BenchError(f"cannot write the prediction cache: {e.strerror or e}", where=relpath(self.path),
                             hint=WRITE_HINT, exit_code=3) from e
        finally:
            fd, self._fd = self._fd, None
            self._unsynced = False
            os.close(fd)

