"""`examples_df`: one row per example of each run, from the runs' predictions.jsonl.

Each run's lines are read with bench's JSONL reader and checked against its
results.json (`bench.results.reading.read_prediction_rows`); the columns are
built a whole column at a time (numpy and Arrow arrays), not row by row.
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
from bench.results.frames import (EXAMPLE_IDENTITY, EXAMPLE_TAIL, SCORE_PREFIX, STRING, TEXT_COLUMNS, LoadedRun,
                                  first_seen, load_runs, skip, typed)
from bench.results.reading import read_prediction_rows

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
    import numpy as np
    import pandas as pd

    kept: list[tuple[LoadedRun, list[dict[str, Any]], list[str] | None]] = []
    for run in runs:
        try:
            rows = read_prediction_rows(run.path, run.record)
            docs = run_documents(run, [row["id"] for row in rows]) if documents else None
        except BenchError as e:
            if strict:
                raise
            skip(e)
            continue
        kept.append((run, rows, docs))

    sizes = [len(rows) for _, rows, _ in kept]
    total = sum(sizes)
    columns: dict[str, Any] = {}
    for name, field in (("run_id", "run_id"), ("task", "task"), ("model", "model")):
        columns[name] = repeated([run.record[field] for run, _, _ in kept], sizes)
    all_rows = list(chain.from_iterable(rows for _, rows, _ in kept))
    columns["example_id"] = typed([row["id"] for row in all_rows], STRING)
    if texts:
        columns["prediction"] = typed([row["prediction"] for row in all_rows], STRING)
        columns["references"] = references_array([row["references"] for row in all_rows])
        columns["question"] = typed([row.get("question") for row in all_rows], STRING)
    if documents:
        columns["document"] = typed(list(chain.from_iterable(docs or [] for _, _, docs in kept)), STRING)
    columns["no_answer_score"] = floats([row.get("no_answer_score") for row in all_rows])

    fixed = {name for name, _ in (*EXAMPLE_IDENTITY, *TEXT_COLUMNS, ("document", STRING), *EXAMPLE_TAIL)}
    scores = [row["scores"] for row in all_rows]
    for name in first_seen(chain.from_iterable(scores)):
        columns[SCORE_PREFIX + name if name in fixed else name] = np.fromiter(
            (s.get(name, math.nan) for s in scores), dtype=np.float64, count=total)
    for name, values in detail_columns(all_rows, texts).items():
        columns[name] = values
    return pd.DataFrame(columns, index=pd.RangeIndex(total))


def run_documents(run: LoadedRun, ids: Sequence[str]) -> list[str]:
    """The documents of a run's examples, from its task (`bench.tasks.examples.documents_of`)."""
    from bench.tasks.examples import documents_of

    task = ((run.record.get("config") or {}).get("task") or {})
    return documents_of(task.get("path") if isinstance(task, dict) else None, run.record.get("task_hash"), ids,
                        where=relpath(run.path),
                        hint="documents=True reads each example's document from the run's task; restore the task "
                             "definition and its fixture as they were, or leave documents out")


def repeated(values: Sequence[str], sizes: Sequence[int]) -> Any:
    """A string array holding each of `values` `sizes` times."""
    import numpy as np
    import pandas as pd

    return pd.array(np.repeat(np.array(values, dtype=object), sizes), dtype="string")


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


def detail_columns(rows: Sequence[Mapping[str, Any]], texts: bool) -> dict[str, Any]:
    """``detail_<metric>`` (a scalar detail) and ``detail_<metric>_<key>`` (a scalar in a detail object), typed:
    numbers as floats, booleans as booleans, text as strings (left out without `texts`); lists are left out."""
    found: dict[str, dict[int, Any]] = {}
    for i, row in enumerate(rows):
        details = row.get("details")
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
