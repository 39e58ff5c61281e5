"""`examples_df`: one row per example of each run, from the runs' predictions.jsonl.

Each run's lines are read by pyarrow's JSON reader when the file has the usual
shape and passes bench's checks (`bench.results.reading.read_prediction_table`),
else with bench's JSONL reader, which names what is wrong
(`bench.results.reading.read_prediction_rows`); both give the same frame.
Columns, in order (docs/results.md): ``run_id``, ``task``, ``model``,
``example_id``; with ``texts=True`` ``prediction``, ``references`` (a list of
strings) and ``question``; with ``documents=True`` ``document``;
``no_answer_score``; then one float column per score the runs give per example
(in the order the runs first name them), then ``detail_<metric>[_<key>]`` for
each scalar a metric keeps per example (``details``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.errors import BenchError, relpath
from bench.results.frames import (EXAMPLE_COLUMNS, EXAMPLE_IDENTITY, EXAMPLE_TAIL, SCORE_PREFIX, STRING, TEXT_COLUMNS,
                                  LoadedRun, first_seen, load_runs, skip, typed)
from bench.results.reading import read_prediction_rows, read_prediction_table

if TYPE_CHECKING:
    import pandas as pd

#: What a scalar detail is: JSON's scalars (a list or an object is left out of the frame).
SCALARS = (str, int, float, bool)


def examples_df(paths: Iterable[str | Path] = ("results",), *, latest: bool = False, texts: bool = True,
                documents: bool = False, strict: bool = False) -> pd.DataFrame:
    """One row per (run, example) under `paths`, in path order and each run's file order.

    `texts=False` leaves the texts out (prediction, references, question, and
    details that are strings); `documents=True` adds each example's document,
    read from the run's task definition, which must still hash as it did (as
    `bench rescore` reads it). `latest` keeps the latest run of each model on
    each task, as `bench compare` does. A run whose results.json or
    predictions.jsonl is damaged (or whose documents cannot be read) is left
    out with one warning; `strict=True` raises bench's error instead.
    """
    return frame_of_examples(load_runs(paths, latest=latest, strict=strict), texts=texts, documents=documents,
                             strict=strict)


def frame_of_examples(runs: Sequence[LoadedRun], *, texts: bool = True, documents: bool = False,
                      strict: bool = False) -> pd.DataFrame:
    """The `examples_df` frame of runs already read (their predictions are read here)."""
    import pandas as pd

    parts = []
    for run in runs:
        try:
            parts.append(run_frame(run, texts=texts, documents=documents))
        except BenchError as e:
            if strict:
                raise
            skip(e)
    fixed = [name for name, _ in (*EXAMPLE_IDENTITY, *(TEXT_COLUMNS if texts else ()),
                                  *((("document", STRING),) if documents else ()), *EXAMPLE_TAIL)]
    if not parts:
        return pd.DataFrame({name: typed([], kind) for name, kind in EXAMPLE_COLUMNS if name in fixed})
    df = pd.concat(parts, ignore_index=True, sort=False) if len(parts) > 1 else parts[0]
    rest = [c for c in df.columns if c not in fixed]
    scores = [c for c in rest if not c.startswith("detail_")]
    return df[fixed + scores + [c for c in rest if c.startswith("detail_")]]


def run_frame(run: LoadedRun, *, texts: bool, documents: bool) -> pd.DataFrame:
    """One run's rows: read by pyarrow when its predictions.jsonl has the usual shape
    (`bench.results.reading.read_prediction_table`), else line by line with bench's reader."""
    import numpy as np
    import pandas as pd

    table = read_prediction_table(run.path, run.record)
    if table is not None:
        n = table.num_rows
        ids = table["id"].to_numpy(zero_copy_only=False)
        columns = {"example_id": pd.array(ids, dtype="string")}
        if texts:
            columns["prediction"] = pd.array(table["prediction"].to_numpy(zero_copy_only=False), dtype="string")
            columns["references"] = pd.arrays.ArrowExtensionArray(table["references"].combine_chunks())
            columns["question"] = (pd.array(table["question"].to_numpy(zero_copy_only=False), dtype="string")
                                   if "question" in table.column_names else typed([None] * n, STRING))
        columns["no_answer_score"] = (table["no_answer_score"].to_numpy(zero_copy_only=False).astype(np.float64)
                                      if "no_answer_score" in table.column_names else np.full(n, math.nan))
        scores = table["scores"].combine_chunks()
        score_columns = {f.name: scores.field(i).to_numpy(zero_copy_only=False).astype(np.float64)
                         for i, f in enumerate(scores.type)}
        details = table["details"].to_pylist() if "details" in table.column_names else None
        ids = list(ids)
    else:
        rows = read_prediction_rows(run.path, run.record)
        n = len(rows)
        ids = [row["id"] for row in rows]
        columns = {"example_id": typed(ids, STRING)}
        if texts:
            columns["prediction"] = typed([row["prediction"] for row in rows], STRING)
            columns["references"] = references_array([row["references"] for row in rows])
            columns["question"] = typed([row.get("question") for row in rows], STRING)
        columns["no_answer_score"] = floats([row.get("no_answer_score") for row in rows])
        given = [row["scores"] for row in rows]
        score_columns = {name: np.fromiter((s.get(name, math.nan) for s in given), dtype=np.float64, count=n)
                         for name in first_seen(chain.from_iterable(given))}
        details = [row.get("details") for row in rows]
    if documents:
        columns["document"] = typed(run_documents(run, ids), STRING)
    fixed = {name for name, _ in EXAMPLE_COLUMNS}
    for name, values in score_columns.items():
        columns[SCORE_PREFIX + name if name in fixed else name] = values
    if details is not None:
        columns.update(detail_columns(details, texts))
    head = {name: typed([run.record[name]] * n, STRING) for name in ("run_id", "task", "model")}
    return pd.DataFrame({**head, **columns}, index=pd.RangeIndex(n))


def run_documents(run: LoadedRun, ids: Sequence[str]) -> list[str]:
    """The documents of a run's examples, from its task (`bench.tasks.examples.documents_of`)."""
    from bench.metrics.catalog import task_metric_problem
    from bench.tasks.examples import documents_of

    task = ((run.record.get("config") or {}).get("task") or {})
    return documents_of(task.get("path") if isinstance(task, dict) else None, run.record.get("task_hash"), ids,
                        where=relpath(run.path),
                        hint="documents=True reads each example's document from the run's task; restore the task "
                             "definition and its fixture as they were, or leave documents out",
                        metric_check=task_metric_problem)


def floats(values: Sequence[Any]) -> Any:
    """A float64 array of `values` (NaN for a missing or non-numeric one)."""
    import numpy as np

    return np.fromiter((v if isinstance(v, float) else float(v) if isinstance(v, int) and not isinstance(v, bool)
                        else math.nan for v in values), dtype=np.float64, count=len(values))


def references_array(values: Sequence[Any]) -> Any:
    """The references column: a list of strings per example (a string alone is one reference)."""
    import pandas as pd
    import pyarrow as pa

    lists = [[v] if isinstance(v, str) else [r if isinstance(r, str) else str(r) for r in v] for v in values]
    return pd.arrays.ArrowExtensionArray(pa.array(lists, type=pa.list_(pa.string())))


def detail_columns(rows: Sequence[Mapping[str, Any] | None], texts: bool) -> dict[str, Any]:
    """From each example's ``details`` (or None): ``detail_<metric>`` (a scalar detail) and
    ``detail_<metric>_<key>`` (a scalar in a detail object), typed: numbers as floats, booleans as booleans, text
    as strings (left out without `texts`); lists are left out."""
    found: dict[str, dict[int, Any]] = {}
    for i, details in enumerate(rows):
        if not isinstance(details, dict):
            continue
        for metric, value in details.items():
            items = value.items() if isinstance(value, dict) else [(None, value)]
            for key, v in items:
                if isinstance(v, SCALARS):
                    found.setdefault(f"detail_{metric}" + (f"_{key}" if key is not None else ""), {})[i] = v
    out: dict[str, Any] = {}
    for name, cells in found.items():
        kinds = {bool if isinstance(v, bool) else float if isinstance(v, (int, float)) else str for v in cells.values()}
        column = [cells.get(i) for i in range(len(rows))]
        if kinds == {float}:
            out[name] = floats(column)
        elif kinds == {bool}:
            out[name] = typed(column, "boolean")
        elif texts:
            out[name] = typed([None if v is None else str(v) for v in column], STRING)
    return out
