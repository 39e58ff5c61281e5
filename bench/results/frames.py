"""Runs and examples as pandas DataFrames, for analysis in a notebook: `runs_df` and `examples_df`.

`runs_df` has one row per run (a results.json), `examples_df` one row per
example of each run (a line of its predictions.jsonl); `run_id` joins them.
Columns are typed (strings, floats, nullable integers and booleans, UTC
datetimes, lists of strings) and come in a fixed order, documented in
docs/results.md: the fixed columns of `RUN_COLUMNS` / `EXAMPLE_COLUMNS`, and
the columns named after the runs' scores after them, in the order the runs
(sorted by path) first name them.

Every run is read through `read_record`, the one place analysis reads a
results.json; a damaged run is left out with one warning (`strict=True` raises
bench's error instead). pandas and pyarrow are imported when a frame is built,
never by importing this module.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.errors import BenchError, BenchWarning
from bench.results.reading import find_run_files, no_runs_error, run_order
from bench.results.store import finite_float, is_count, is_number, measured_speed
from bench.results.store import read_record as store_read_record

if TYPE_CHECKING:
    import pandas as pd

#: Column kinds: how a column's values are typed (`_array`).
STRING, INT, FLOAT, BOOL, TIME, JSON, LIST = "string", "Int64", "float64", "boolean", "datetime", "json", "list"

#: The fixed columns of `runs_df`, in order, with their kinds; the per-score columns (`<score>`,
#: `<score>_ci_low`, ...) come between ``rescored_from`` and ``seed`` (see `run_columns`).
RUN_IDENTITY = (("run_id", STRING), ("task", STRING), ("task_type", STRING), ("task_version", INT),
                ("task_hash", STRING), ("model", STRING), ("created", TIME), ("n", INT), ("rescored_from", STRING))
RUN_CONFIG = (("seed", INT), ("limit", INT), ("sample", INT), ("batch_size", INT), ("device", STRING),
              ("dtype", STRING), ("generation", JSON), ("stemmer", BOOL), ("split_sentences", BOOL),
              ("tokenizer", STRING), ("bootstrap_seed", INT), ("bootstrap_resamples", INT), ("metrics_config", JSON),
              ("model_kind", STRING), ("model_config", JSON), ("task_path", STRING), ("task_fixture", STRING),
              ("task_dataset", JSON), ("cache_key", STRING))
RUN_PROVENANCE = (("bench_version", STRING), ("git_commit", STRING), ("git_dirty", BOOL), ("rouge_engine", STRING),
                  ("python", STRING), ("platform", STRING), ("machine", STRING), ("command", STRING),
                  ("model_source", STRING), ("started_at", TIME), ("finished_at", TIME))
RUN_TIMING = (("total_s", FLOAT), ("load_s", FLOAT), ("predict_s", FLOAT), ("score_s", FLOAT),
              ("examples_per_s", FLOAT), ("predicted", INT), ("cached", INT))
RUN_TAIL = (("warnings", JSON), ("path", STRING))
RUN_COLUMNS = RUN_IDENTITY + RUN_CONFIG + RUN_PROVENANCE + RUN_TIMING + RUN_TAIL

#: The fixed columns of `examples_df`; `TEXT_COLUMNS` only with ``texts=True``, ``document`` only with
#: ``documents=True``; the per-example scores and details follow.
EXAMPLE_IDENTITY = (("run_id", STRING), ("task", STRING), ("model", STRING), ("example_id", STRING))
TEXT_COLUMNS = (("prediction", STRING), ("references", LIST), ("question", STRING))
EXAMPLE_TAIL = (("no_answer_score", FLOAT),)
EXAMPLE_COLUMNS = EXAMPLE_IDENTITY + TEXT_COLUMNS + (("document", STRING),) + EXAMPLE_TAIL

#: A score whose name is taken by a fixed column gets this prefix.
SCORE_PREFIX = "score_"


# ------------------------------------------------------------------ reading runs


@dataclass(frozen=True)
class LoadedRun:
    """A run directory and its checked record."""

    path: Path
    record: Mapping[str, Any]
    order: tuple[str, int, str]
    """`bench.results.reading.run_order`: what 'latest' means."""


def read_record(path: Path) -> Mapping[str, Any]:
    """The record of the run at `path` (a run directory or its results.json), checked: the one place analysis,
    export and tracking read a run (`store.read_record`'s typed `RunRecord`, which reads as its results.json
    object too)."""
    return store_read_record(path)


def load_runs(paths: Iterable[str | Path], *, latest: bool = False, strict: bool = False) -> list[LoadedRun]:
    """Every run under `paths`, in path order; with `latest`, only the latest of each model on each task and
    comparable setting (task hash, example count, signatures), as `bench compare` keeps them.

    A damaged results.json is left out with one `BenchWarning` (with `strict`, its `BenchError` is raised).
    """
    roots = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    files = find_run_files(roots)
    if not files:
        raise no_runs_error(roots)
    runs: list[LoadedRun] = []
    for f in files:
        try:
            record = read_record(f)
        except BenchError as e:
            if strict:
                raise
            skip(e)
            continue
        runs.append(LoadedRun(f.parent, record, run_order(f, record["run_id"])))
    return latest_runs(runs) if latest else runs


def skip(e: BenchError) -> None:
    """One warning for a run left out of a frame."""
    first = str(e).split("\n", 1)[0]
    warnings.warn(f"left out a damaged run: {first}", BenchWarning, stacklevel=4)


def comparable(record: Mapping[str, Any]) -> tuple:
    """What keeps runs of a model apart under 'latest' (`bench.comparison.select.comparable_key`)."""
    return (record["task"], record["model"], record["task_hash"], record["n_examples"],
            tuple((m, record["signatures"].get(m)) for m in record["metrics"]))


def latest_runs(runs: Sequence[LoadedRun]) -> list[LoadedRun]:
    """The latest run (`LoadedRun.order`) of each comparable setting, in path order."""
    best: dict[tuple, LoadedRun] = {}
    for r in runs:
        key = comparable(r.record)
        if key not in best or r.order > best[key].order:
            best[key] = r
    keep = {id(r) for r in best.values()}
    return [r for r in runs if id(r) in keep]


# ------------------------------------------------------------------ runs_df


def runs_df(paths: Iterable[str | Path] = ("results",), *, latest: bool = False, strict: bool = False) -> pd.DataFrame:
    """One row per run under `paths` (results directories, or task, model or run folders).

    Columns (docs/results.md): identity (`RUN_IDENTITY`), then for each score
    ``<score>``, ``<score>_ci_low``, ``<score>_ci_high``; ``<score>_unscored``;
    ``count_<key>`` for the other counts; ``reference_<statistic>`` (with its CI)
    and ``reference_examples``; ``signature_<score>`` and
    ``reference_signature_<statistic>``; configuration (`RUN_CONFIG`),
    provenance (`RUN_PROVENANCE`, then ``package_<name>``), timing
    (`RUN_TIMING`, then ``timing_<key>`` for what the model measured), and
    `RUN_TAIL`. `latest` keeps the latest run of each model on each task as
    `bench compare` does; a damaged run is left out with a warning, or raises
    with `strict`.
    """
    return frame_of_runs(load_runs(paths, latest=latest, strict=strict))


def frame_of_runs(runs: Sequence[LoadedRun]) -> pd.DataFrame:
    """The `runs_df` frame of runs already read."""
    rows = [run_row(r) for r in runs]
    fixed = {name for name, _ in RUN_COLUMNS}
    scores = first_seen(m for r in runs for m in r.record["metrics"])
    ref = first_seen(m for r in runs for m in ((r.record.get("reference") or {}).get("metrics") or {}))
    counts = first_seen(k for r in runs for k in (r.record.get("counts") or {})
                        if not any(k == f"{m}_unscored" for m in r.record["metrics"]))
    packages = first_seen(p for r in runs for p in (r.record.get("provenance") or {}).get("packages") or {})
    timing_extra = first_seen(k for r in runs for k, v in (r.record.get("timing") or {}).items()
                              if k not in fixed and is_number(v))
    col = {m: SCORE_PREFIX + m if m in fixed else m for m in scores}
    columns: list[tuple[str, str]] = list(RUN_IDENTITY)
    for m in scores:
        columns += [(col[m], FLOAT), (f"{col[m]}_ci_low", FLOAT), (f"{col[m]}_ci_high", FLOAT)]
    columns += [(f"{col[m]}_unscored", INT) for m in scores]
    columns += [(f"count_{k}", INT) for k in counts]
    for m in ref:
        columns += [(f"reference_{m}", FLOAT), (f"reference_{m}_ci_low", FLOAT), (f"reference_{m}_ci_high", FLOAT)]
    columns += [("reference_examples", INT)] if ref else []
    columns += [(f"signature_{col[m]}", STRING) for m in scores]
    columns += [(f"reference_signature_{m}", STRING) for m in ref]
    columns += [*RUN_CONFIG, *RUN_PROVENANCE, *((f"package_{p}", STRING) for p in packages), *RUN_TIMING,
                *((f"timing_{k}", FLOAT) for k in timing_extra), *RUN_TAIL]
    for row, r in zip(rows, runs):
        record = r.record
        counted = record.get("counts") or {}
        for m, v in record["metrics"].items():
            lo, hi = ci_pair(record["ci"].get(m))
            row.update({col[m]: v, f"{col[m]}_ci_low": lo, f"{col[m]}_ci_high": hi,
                        f"{col[m]}_unscored": counted.get(f"{m}_unscored", 0),
                        f"signature_{col[m]}": record["signatures"].get(m)})
        row.update({f"count_{k}": v for k, v in counted.items() if k in counts})
        reference = record.get("reference") or {}
        for m, v in (reference.get("metrics") or {}).items():
            lo, hi = ci_pair((reference.get("ci") or {}).get(m))
            row.update({f"reference_{m}": v, f"reference_{m}_ci_low": lo, f"reference_{m}_ci_high": hi,
                        f"reference_signature_{m}": (reference.get("signatures") or {}).get(m)})
        if reference:
            row["reference_examples"] = (reference.get("counts") or {}).get("reference_examples")
        provenance = record.get("provenance") or {}
        row.update({f"package_{p}": v for p, v in (provenance.get("packages") or {}).items()})
        row.update({f"timing_{k}": v for k, v in (record.get("timing") or {}).items() if k in timing_extra})
    return frame(columns, rows)


def run_row(run: LoadedRun) -> dict[str, Any]:
    """The fixed columns of one run's row (`RUN_COLUMNS`)."""
    r = run.record
    config = r.get("config") or {}
    model = config.get("model") if isinstance(config.get("model"), dict) else {}
    task = config.get("task") if isinstance(config.get("task"), dict) else {}
    options = config.get("metric_options") if isinstance(config.get("metric_options"), dict) else {}
    provenance = r.get("provenance") if isinstance(r.get("provenance"), dict) else {}
    timing = r.get("timing") if isinstance(r.get("timing"), dict) else {}
    batch = config.get("batch_size") if is_count(config.get("batch_size")) else model.get("batch_size")
    generation = model.get("generation") if isinstance(model.get("generation"), dict) else task.get("generation")
    return {
        "run_id": r["run_id"], "task": r["task"], "task_type": r.get("task_type"),
        "task_version": r.get("task_version"), "task_hash": r["task_hash"], "model": r["model"],
        "created": run_time(r["run_id"]), "n": r["n_examples"], "rescored_from": config.get("rescored_from"),
        "seed": config.get("seed"), "limit": config.get("limit"), "sample": config.get("sample"), "batch_size": batch,
        "device": model.get("device") or provenance.get("device"), "dtype": model.get("dtype"),
        "generation": generation or None, "stemmer": options.get("stemmer"),
        "split_sentences": options.get("split_sentences"), "tokenizer": options.get("tokenizer"),
        "bootstrap_seed": options.get("bootstrap_seed"), "bootstrap_resamples": options.get("bootstrap_resamples"),
        "metrics_config": config.get("metrics"), "model_kind": model.get("kind"), "model_config": model or None,
        "task_path": task.get("path"), "task_fixture": task.get("fixture"), "task_dataset": task.get("dataset"),
        "cache_key": (config.get("cache") or {}).get("key") if isinstance(config.get("cache"), dict) else None,
        **{k: provenance.get(k) for k, _ in RUN_PROVENANCE},
        **{k: timing.get(k) for k, _ in RUN_TIMING if k != "examples_per_s"},
        "examples_per_s": measured_speed(r),  # null for a run that predicted nothing, as `bench compare` shows it
        "warnings": r.get("warnings"), "path": str(run.path),
    }


def run_time(run_id: str) -> str | None:
    """The UTC time in a run id (``20260101T000000Z-3fa2c1``) as ISO 8601, or None when it has none."""
    stamp = run_id.split("-", 1)[0]
    if len(stamp) != 16 or stamp[8] != "T" or not stamp.endswith("Z") or not (stamp[:8] + stamp[9:15]).isdigit():
        return None
    return f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}:{stamp[11:13]}:{stamp[13:15]}Z"


def ci_pair(pair: Any) -> tuple[Any, Any]:
    return (pair[0], pair[1]) if isinstance(pair, list) and len(pair) == 2 else (None, None)


def first_seen(names: Iterable[str]) -> list[str]:
    """The distinct names, in the order they first come."""
    return list(dict.fromkeys(names))


# ------------------------------------------------------------------ typed columns


def frame(columns: Sequence[tuple[str, str]], rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """A DataFrame of `rows` with exactly `columns` (name, kind), in that order, each typed by its kind."""
    import pandas as pd

    return pd.DataFrame({name: typed([row.get(name) for row in rows], kind) for name, kind in columns},
                        index=pd.RangeIndex(len(rows)))


def typed(values: list[Any], kind: str) -> Any:
    """`values` as an array of `kind`; a value of another type is missing (NA, NaN or NaT)."""
    import numpy as np
    import pandas as pd

    if kind == FLOAT:
        return np.array([f if (f := finite_float(v)) is not None else math.nan for v in values], dtype=np.float64)
    if kind == INT:
        return pd.array([v if isinstance(v, int) and not isinstance(v, bool) else None for v in values],
                        dtype="Int64")
    if kind == BOOL:
        return pd.array([v if isinstance(v, bool) else None for v in values], dtype="boolean")
    if kind == TIME:
        return pd.to_datetime(pd.Series([v if isinstance(v, str) else None for v in values], dtype=object),
                              utc=True, format="ISO8601", errors="coerce").astype("datetime64[us, UTC]").array
    if kind == JSON:
        return pd.array([None if v is None else json.dumps(v, ensure_ascii=False) for v in values], dtype="string")
    if kind == LIST:
        import pyarrow as pa

        return pd.arrays.ArrowExtensionArray(pa.array(values, type=pa.list_(pa.string())))
    return pd.array([v if isinstance(v, str) else None for v in values], dtype="string")
