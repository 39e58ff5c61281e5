"""Tasks whose examples come from a dataset: `datasets.load_dataset` arguments in a task definition.

A task may name, instead of a fixture, the arguments of `datasets.load_dataset`
(a Hugging Face hub id, or a packaged builder such as ``json``/``parquet`` over
local ``data_files`` resolved against the task file)::

    dataset: {path: abisee/cnn_dailymail, name: 3.0.0, split: test}

Offline, or when the dataset is not cached, loading stops with one message
naming the dataset and how to get it. A loaded dataset's fingerprint joins the
task's content hash.
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.errors import EXIT_ENVIRONMENT, BenchError, BenchErrors, relpath
from bench.io import json_type
from bench.tasks.fixtures import _check_mapped_fields, _key_where, _Row, check_rows, select_indices
from bench.registry import did_you_mean

if TYPE_CHECKING:
    from bench.tasks.definition import Example, Task

#: Keys of a task's `dataset` mapping: the arguments of `datasets.load_dataset`.
DATASET_KEYS = ("path", "name", "split", "revision", "data_files", "data_dir")

#: `datasets` builders that read local files named by `data_files`.
LOCAL_BUILDERS = frozenset({"json", "csv", "parquet", "arrow"})


@dataclass(frozen=True)
class DatasetSource:
    """Where a task's examples come from when it names a dataset: `load_dataset` arguments."""

    path: str
    """Hub id (``abisee/cnn_dailymail``), packaged builder (``json``, ``parquet``, ...) or local directory."""
    split: str
    name: str | None = None
    """The configuration (``3.0.0``), `load_dataset`'s second argument."""
    revision: str | None = None
    data_files: str | tuple[str, ...] | Mapping[str, tuple[str, ...]] | None = None
    """Absolute paths or glob patterns (resolved against the task file)."""
    data_dir: str | None = None

    @property
    def is_local(self) -> bool:
        """True when the data is in local files (no Hub, no cache needed)."""
        return self.path in LOCAL_BUILDERS or os.path.isabs(self.path)

    def load_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"path": self.path, "split": self.split}
        if self.name is not None:
            kwargs["name"] = self.name
        if self.revision is not None:
            kwargs["revision"] = self.revision
        if self.data_files is not None:
            df = self.data_files
            kwargs["data_files"] = ({k: list(v) for k, v in df.items()} if isinstance(df, Mapping)
                                    else list(df) if isinstance(df, tuple) else df)
        if self.data_dir is not None:
            kwargs["data_dir"] = self.data_dir
        return kwargs

    def describe(self) -> str:
        """``'abisee/cnn_dailymail' (config '3.0.0', split 'test')``, for messages."""
        parts = [f"config {self.name!r}"] if self.name else []
        parts.append(f"split {self.split!r}")
        if self.revision:
            parts.append(f"revision {self.revision!r}")
        return f"{self.path!r} ({', '.join(parts)})"

    def load_call(self) -> str:
        """The Python call that loads this split, e.g. to fill the cache where the Hub is reachable."""
        args = [repr(self.path)] + ([repr(self.name)] if self.name else [])
        kw = self.load_kwargs()
        args += [f"{k}={kw[k]!r}" for k in ("split", "revision", "data_files", "data_dir") if k in kw]
        return f"datasets.load_dataset({', '.join(args)})"

    def local_files(self) -> list[Path]:
        """The local data files this source reads (globs expanded), sorted."""
        if self.data_files is None:
            return []
        df = self.data_files
        patterns = ([p for v in df.values() for p in v] if isinstance(df, Mapping)
                    else list(df) if isinstance(df, tuple) else [df])
        files: set[Path] = set()
        for p in patterns:
            files.update(Path(m) for m in glob.glob(p, recursive=True))
        return sorted(f for f in files if f.is_file())

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.load_kwargs().items()}


def _import_datasets():
    try:
        import datasets
    except ImportError as e:  # pragma: no cover - a core dependency
        raise BenchError("the 'datasets' package is missing", hint="pip install datasets",
                         exit_code=EXIT_ENVIRONMENT) from e
    datasets.logging.set_verbosity_error()
    datasets.disable_progress_bars()
    return datasets


def _load_jsonl_dataset(path: Path):
    datasets = _import_datasets()
    return datasets.load_dataset("json", data_files=str(path), split="train")


# ---------------------------------------------------------------- datasets


def _truthy_env(*names: str) -> bool:
    return any(os.environ.get(n, "").upper() in ("1", "ON", "YES", "TRUE") for n in names)


def load_dataset_split(task: Task):
    """The task's dataset split, through `datasets.load_dataset`; one clear BenchError when it cannot load."""
    src = task.dataset
    assert src is not None
    datasets = _import_datasets()
    from bench.hub import offline_when_unreachable

    try:
        if src.is_local:
            return datasets.load_dataset(**src.load_kwargs())
        with offline_when_unreachable():
            return datasets.load_dataset(**src.load_kwargs())
    except Exception as e:  # datasets raises many types; each becomes one message naming the dataset
        raise _dataset_error(task, e) from None


def _dataset_error(task: Task, e: Exception) -> BenchError:
    src = task.dataset
    assert src is not None
    said = (str(e).strip().splitlines() or [type(e).__name__])[0]
    where = _key_where(task.path, "dataset")
    if src.is_local:
        return BenchError(
            f"cannot load dataset {src.describe()} for task {task.name!r}: {said}", where=where,
            hint="the 'dataset' mapping is passed to datasets.load_dataset; check its data_files and split "
                 "(data_files given as one file or a list load as split 'train')",
        )
    if isinstance(e, ValueError):  # unknown split or config
        return BenchError(f"cannot load dataset {src.describe()} for task {task.name!r}: {said}", where=where,
                          hint="fix 'name' (the config) or 'split' in the task's 'dataset' mapping")
    if isinstance(e, ConnectionError):
        offline = _truthy_env("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE")
        local_copy = (f"dataset: {{path: parquet, data_files: {{{src.split}: DIR/{src.split}-*.parquet}}, "
                      f"split: {src.split}}}")
        return BenchError(
            f"dataset {src.describe()} for task {task.name!r} is not in the local datasets cache, and the "
            "Hugging Face Hub " + ("is not asked (offline mode: HF_DATASETS_OFFLINE or HF_HUB_OFFLINE is set)"
                                   if offline else "cannot be reached"),
            where=where, exit_code=EXIT_ENVIRONMENT,
            hint=f"where the Hub is reachable, fill the cache once: "
                 f"python -c \"import datasets; {src.load_call()}\" (later runs, even with HF_DATASETS_OFFLINE=1, "
                 f"read the cache); or point the task at a local copy with load_dataset arguments, "
                 f"e.g. {local_copy}",
        )
    if isinstance(e, FileNotFoundError):
        return BenchError(f"dataset {src.describe()} for task {task.name!r} was not found: {said}", where=where,
                          hint="check the dataset id in 'path' (hub ids look like owner/name)")
    return BenchError(f"cannot load dataset {src.describe()} for task {task.name!r}: {type(e).__name__}: {said}",
                      where=where, exit_code=EXIT_ENVIRONMENT)


def _dataset_label(src: DatasetSource) -> str:
    if src.path in LOCAL_BUILDERS:
        files = src.local_files()
        base = relpath(files[0]) if len(files) == 1 else f"{src.path} files"
    else:
        base = relpath(src.path) if os.path.isabs(src.path) else src.path
    return f"{base}[{src.split}]"


def check_dataset(task: Task, indices: Sequence[int] | None = None,
                  ds=None) -> tuple[list[dict], list[BenchError], int]:
    """Validate a dataset task's rows (all, or those at `indices`); returns (good rows, problems, size)."""
    src = task.dataset
    assert src is not None
    if ds is None:
        ds = load_dataset_split(task)
    label = _dataset_label(src)
    present = list(ds.column_names)
    errors = _check_mapped_fields(task, present, f"dataset {label}", "column")
    if errors:
        return [], [e for _, e in errors], len(ds)
    needed = sorted(set(task.fields.values()))
    sub = ds.select_columns(needed)
    if indices is not None:
        sub = sub.select(indices)
    order = list(indices) if indices is not None else range(len(sub))
    rows = [_Row(f"{label}[{i}]", f"row {i}", i, obj) for i, obj in zip(order, sub)]
    good, problems = check_rows(task, rows, label)
    return good, [e for _, e in problems], len(ds)


def _load_dataset_task(task: Task, limit: int | None, sample: int | None, seed: int) -> tuple[Task, list[Example]]:
    select_indices(0, limit, sample, seed)  # option errors before the (slow) load
    ds = load_dataset_split(task)
    chosen = select_indices(len(ds), limit, sample, seed)
    rows, errors, _ = check_dataset(task, chosen, ds)
    if errors:
        raise BenchErrors(errors)
    fingerprint = str(getattr(ds, "_fingerprint", "") or "") or None
    digest = hashlib.sha256(f"{task.hash}\0{fingerprint}".encode()).hexdigest() if fingerprint else task.hash
    loaded = dataclasses.replace(task, hash=digest, fingerprint=fingerprint)
    return loaded, [loaded.example_from_row(r) for r in rows]


def _parse_dataset(spec: Any, task_dir: Path, where: str) -> tuple[DatasetSource | None, list[BenchError]]:
    """A task's `dataset` mapping, checked; relative data_files and local paths resolved against `task_dir`."""
    example = "e.g. dataset: {path: abisee/cnn_dailymail, name: 3.0.0, split: test}"
    if not isinstance(spec, dict):
        return None, [BenchError("'dataset' must be a mapping of datasets.load_dataset arguments", where=where,
                                 hint=example)]
    errors: list[BenchError] = []
    for key in spec:
        if key not in DATASET_KEYS:
            extra = (" (the configuration goes in 'name', as in load_dataset)"
                     if key in ("config", "config_name") else "")
            errors.append(BenchError(
                f"unknown 'dataset' key {key!r}{extra}.{did_you_mean(str(key), DATASET_KEYS)}", where=where,
                hint=f"'dataset' keys: {', '.join(DATASET_KEYS)}",
            ))
    for key in ("path", "split"):
        if not isinstance(spec.get(key), str) or not spec.get(key):
            errors.append(BenchError(f"'dataset' needs {key!r} (a string)", where=where, hint=example))
    for key in ("name", "revision", "data_dir"):
        if spec.get(key) is not None and not isinstance(spec[key], str):
            errors.append(BenchError(f"'dataset' key {key!r} must be a string, got {json_type(spec[key])}",
                                     where=where, hint=f"quote it: {key}: \"{spec[key]}\""))
    if errors:
        return None, errors

    def resolve(p: Any) -> str | None:
        if not isinstance(p, str) or not p:
            errors.append(BenchError(f"'data_files' entries must be file paths, got {p!r}", where=where))
            return None
        full = str(p) if os.path.isabs(p) else str(task_dir / p)
        if not glob.glob(full, recursive=True):
            errors.append(BenchError(f"data file not found: {relpath(full)}", where=where,
                                     hint="data_files are relative to the task file"))
        return full

    df = spec.get("data_files")
    data_files: str | tuple[str, ...] | dict[str, tuple[str, ...]] | None = None
    if isinstance(df, str):
        data_files = resolve(df)
    elif isinstance(df, list) and df:
        data_files = tuple(r for r in map(resolve, df) if r)
    elif isinstance(df, dict) and df:
        data_files = {str(k): tuple(r for r in map(resolve, v if isinstance(v, list) else [v]) if r)
                      for k, v in df.items()}
    elif df is not None:
        errors.append(BenchError("'data_files' must be a path, a list of paths, or split: paths", where=where))
    path = spec["path"]
    if path in LOCAL_BUILDERS and df is None:
        errors.append(BenchError(f"dataset path {path!r} reads local files: add 'data_files'", where=where,
                                 hint=f"e.g. dataset: {{path: {path}, data_files: {{test: data/test.{path}}}, "
                                      "split: test}"))
    if path.startswith((".", "/", "~")) or "\\" in path:
        local = (task_dir / Path(path).expanduser()).resolve()
        if not local.is_dir():
            errors.append(BenchError(f"dataset directory not found: {relpath(local)}", where=where,
                                     hint="a local 'path' is a directory relative to the task file"))
        path = str(local)
    if errors:
        return None, errors
    return DatasetSource(path=path, split=spec["split"], name=spec.get("name"), revision=spec.get("revision"),
                         data_files=data_files, data_dir=spec.get("data_dir")), []
