"""The records of the task stage: what a task is and what its examples are, as data only.

`Task` (a checked task definition), `TaskType` (what the examples of one type
hold), `DatasetSource` (the `datasets.load_dataset` arguments of a task that
names a dataset) and `Example` (one input with its references) are frozen
dataclasses. Reading and checking them lives beside them: task definitions in
`bench.tasks.definition`, fixtures in `bench.tasks.fixtures`, datasets in
`bench.tasks.datasets`, examples in `bench.tasks.examples`.

Imports nothing from bench.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: `datasets` builders that read local files named by `data_files`.
LOCAL_BUILDERS = frozenset({"json", "csv", "parquet", "arrow"})


def as_references(value: str | Sequence[str]) -> list[str]:
    """The references of one example: a string is one reference (never a sequence of characters).

    The one rule for fixtures, datasets and every scorer (`bench run`, `bench score`, `bench rescore`, the
    Python API).
    """
    return [value] if isinstance(value, str) else list(value)


@dataclass(frozen=True)
class Example:
    """One input with its references, as a model and a metric see it."""

    id: str
    input: str
    """The document to summarize, or the context of a question."""
    references: tuple[str, ...]
    """Reference summaries, or acceptable answers (empty: unanswerable question)."""
    question: str | None = None
    answer_starts: tuple[int, ...] = ()
    """Character offset of each answer in `input` (QA)."""


@dataclass(frozen=True)
class TaskType:
    """What a fixture line of one task type must contain."""

    name: str
    fields: tuple[str, ...]
    """Logical fields, each mapped to a fixture field by the task's `fields`."""
    default_metrics: tuple[str, ...]


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

    def data_file_patterns(self) -> list[str]:
        """Every path or glob pattern of `data_files`, in the order given."""
        df = self.data_files
        if df is None:
            return []
        if isinstance(df, Mapping):
            return [p for v in df.values() for p in v]
        return list(df) if isinstance(df, tuple) else [df]

    def load_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of `datasets.load_dataset` for this split."""
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

    def as_dict(self) -> dict[str, Any]:
        """The source as run records store it (the `load_dataset` arguments)."""
        return dict(self.load_kwargs())


@dataclass(frozen=True)
class Task:
    """A checked task definition: where its examples come from, how to read them, how to score them."""

    name: str
    version: int
    type: str
    fixture: Path | None
    """The fixture file; None when the task names a `dataset`."""
    fields: Mapping[str, str]
    """Logical field (``document``, ``question``, ...) -> field name in the data."""
    metrics: tuple[str, ...]
    path: Path
    """The YAML file that defines the task."""
    hash: str
    """sha256 of the definition file's bytes and the fixture or local data bytes; for a
    dataset, once loaded (see `bench.tasks.examples.load_examples`), also its `datasets` fingerprint."""
    description: str = ""
    summary_sentences: int = 3
    generation: Mapping[str, Any] = field(default_factory=dict)
    prompt: str | None = None
    dataset: DatasetSource | None = None
    """Set instead of `fixture` when the examples come from `datasets.load_dataset`."""
    fingerprint: str | None = None
    """The loaded dataset's `datasets` fingerprint (only on the task `load_examples` returns)."""
    draft: bool = False
    """``draft: true``: not filled in yet (`bench fixture import` writes such tasks); plain `bench run` and
    `bench validate` skip it with a note, `bench run --task` refuses it, `bench validate NAME` checks it."""
    metric_settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Metric name -> its options, for the metrics the task lists with options."""

    @property
    def short_hash(self) -> str:
        return self.hash[:12]

    @property
    def runs_by_default(self) -> bool:
        """Whether `bench run` without --task includes this task: fixture tasks only.

        Dataset tasks may need the Hub or a large download, so they run only when named.
        """
        return self.dataset is None

    def data_source(self) -> dict[str, Any]:
        """Where the examples come from, for run records."""
        if self.dataset is None:
            return {"fixture": str(self.fixture)}
        return {"dataset": self.dataset.as_dict(), "dataset_fingerprint": self.fingerprint}
