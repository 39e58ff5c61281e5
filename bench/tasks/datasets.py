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

import glob
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.errors import EXIT_ENVIRONMENT, BenchError, relpath
from bench.io import IS_A_DIRECTORY, NO_SUCH_FILE, json_type, not_a_regular_file
from bench.registry import did_you_mean
from bench.tasks.fixtures import Row, check_mapped_fields, check_rows
from bench.tasks.locations import key_where
from bench.tasks.records import LOCAL_BUILDERS, DatasetSource, Task

#: Keys of a task's `dataset` mapping: the arguments of `datasets.load_dataset`.
DATASET_KEYS = ("path", "name", "split", "revision", "data_files", "data_dir")


def local_files(source: DatasetSource) -> list[Path]:
    """The local data files a dataset source reads (its `data_files`, globs expanded), sorted."""
    files: set[Path] = set()
    for pattern in source.data_file_patterns():
        files.update(Path(m) for m in glob.glob(pattern, recursive=True))
    return sorted(f for f in files if not not_a_regular_file(f))


def unreadable_files(source: DatasetSource) -> list[tuple[Path, str]]:
    """(path, why) for each path `data_files` matches that is neither a regular file nor a folder.

    A FIFO would block the reader and a device such as /dev/zero never ends: they are refused, not read.
    """
    found: set[Path] = set()
    for pattern in source.data_file_patterns():
        found.update(Path(m) for m in glob.glob(pattern, recursive=True))
    problems = [(f, not_a_regular_file(f)) for f in sorted(found)]
    return [(f, why) for f, why in problems if why not in ("", IS_A_DIRECTORY, NO_SUCH_FILE)]


def _import_datasets():
    try:
        import datasets
    except ImportError as e:  # pragma: no cover - a core dependency
        raise BenchError("the 'datasets' package is missing", hint="pip install datasets",
                         exit_code=EXIT_ENVIRONMENT) from e
    datasets.logging.set_verbosity_error()
    datasets.disable_progress_bars()
    return datasets


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
    where = key_where(task.path, "dataset")
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
        files = local_files(src)
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
    errors = check_mapped_fields(task, present, f"dataset {label}", "column")
    if errors:
        return [], [e for _, e in errors], len(ds)
    needed = sorted(set(task.fields.values()))
    sub = ds.select_columns(needed)
    if indices is not None:
        sub = sub.select(indices)
    order = list(indices) if indices is not None else range(len(sub))
    rows = [Row(f"{label}[{i}]", f"row {i}", i, obj) for i, obj in zip(order, sub)]
    good, problems = check_rows(task, rows, label)
    return good, [e for _, e in problems], len(ds)


def dataset_fingerprint(ds: Any) -> str | None:
    """The fingerprint `datasets` gives a loaded split (None when it has none)."""
    return str(getattr(ds, "_fingerprint", "") or "") or None


def parse_dataset(spec: Any, task_dir: Path, where: str) -> tuple[DatasetSource | None, list[BenchError]]:
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
