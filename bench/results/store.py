"""Run directories: written atomically, read back through the one results.json validator.

Each run of a model on a task is one directory,
``<results>/<task>/<model>/<run-id>/``, with

- ``results.json``: the run record (fields in `RESULT_FIELDS` order, `SCHEMA_VERSION`);
- ``predictions.jsonl``: one line per example, ``{"id", "prediction",
  "references", "scores"}`` (plus ``"question"`` for QA).

Files are written to a temporary directory next to the final one and moved in
place with one rename, so a results directory is either complete or absent.
Every reader of results.json (comparison, leaderboard, rescoring) goes through
`read_run`, which checks the whole record and names the file (and line, for
syntax errors) of the first problem.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import re
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np

from bench.errors import EXIT_ENVIRONMENT, BenchError, relpath
from bench.io import (NonFiniteNumber, atomic_path, json_line, json_text, lone_surrogate, loads, read_bytes,
                      surrogate_name)
from bench.results.record import (RESULT_FIELDS, SCHEMA_VERSION, TIMING_NUMBERS, RunRecord, averaged, is_number,
                                  metric_names, metric_specs)
from bench.results.record import measured_speed as record_speed
from bench.results.record import number as finite_float

__all__ = ["RESULT_FIELDS", "SCHEMA_VERSION", "RunRecord", "averaged", "finite_float", "is_number", "read_record",
           "read_run", "run_metric_specs", "run_metrics", "write_run"]

#: Hints of `read_run`'s errors.
DAMAGED = "the file is damaged; delete this run directory and run again"
#: Hint when a run directory lacks a file, or its files disagree on how many examples there are.
INCOMPLETE = "the run directory is incomplete or was edited; run the model again"
NOT_WRITTEN_BY_BENCH = "the file is damaged or not written by bench; delete this run directory and run again"
WRITE_FAILED = ("check free space and permissions; the predictions are kept in the prediction cache, "
                "so running the same command again only rescores")


# ------------------------------------------------------------------ names


def slug(name: str) -> str:
    """A file-system-safe directory name for a model or task name (no path traversal)."""
    s = name.replace("/", "--").replace("\\", "--")
    # No leading '.' (hidden, and skipped as a run being written) or '-' (read as an option).
    s = re.sub(r"[^A-Za-z0-9._+=-]+", "_", s).strip("._-")
    if len(s) > 100:  # file names have a length limit (255 bytes); keep distinct names distinct
        s = f"{s[:80]}-{hashlib.sha256(name.encode('utf-8')).hexdigest()[:12]}"
    return s or "unnamed"


def new_run_id() -> str:
    """A run id: the UTC time (sorts by age) and 6 random hex digits (keeps runs of the same second apart)."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)


def run_directory(results_dir: Path, record: RunRecord | Mapping[str, Any]) -> Path:
    """Where a run record is written: ``<results_dir>/<task>/<model>/<run-id>``."""
    if isinstance(record, RunRecord):
        return results_dir / slug(record.task) / slug(record.model) / record.run_id
    return results_dir / slug(record["task"]) / slug(record["model"]) / record["run_id"]


def results_dir_of(run_dir: Path) -> Path:
    """The results directory a run directory is in (the inverse of `run_directory`)."""
    return run_dir.parent.parent.parent


# ------------------------------------------------------------------ writing


def ordered_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record with its fields in `RESULT_FIELDS` order, any others after them."""
    ordered = {k: record[k] for k in RESULT_FIELDS if k in record}
    ordered.update({k: v for k, v in record.items() if k not in ordered})
    return ordered


def write_run(output_dir: Path, record: RunRecord | Mapping[str, Any],
              predictions: Iterable[Mapping[str, Any]]) -> Path:
    """Write a run directory atomically (temporary directory, one rename); returns its path.

    `record` is a `RunRecord` (`RunRecord.to_dict` is written), or a results.json object as it is.
    """
    final = run_directory(output_dir, record)
    fields = record.to_dict() if isinstance(record, RunRecord) else ordered_record(record)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        if e.errno in (errno.ENOTDIR, errno.EEXIST):  # a file where a directory must be: the path is wrong
            raise BenchError(f"cannot create results directory: {e.strerror}", where=relpath(final.parent),
                             hint="a file is in the way; choose another results directory") from None
        raise BenchError(f"cannot create results directory: {e.strerror}", where=relpath(final.parent),
                         hint=WRITE_FAILED, exit_code=EXIT_ENVIRONMENT) from None
    try:
        with atomic_path(final, what="the run directory", hint=WRITE_FAILED, exit_code=3) as tmp:
            tmp.mkdir()
            _write_synced(tmp / "predictions.jsonl", (json_line(p) + "\n" for p in predictions))
            _write_synced(tmp / "results.json", [json_text(fields)])
    except UnicodeEncodeError as e:  # an unpaired surrogate ("\ud800") cannot be written as UTF-8
        raise BenchError(f"cannot write the run directory: text holds an unpaired surrogate "
                         f"\\u{ord(e.object[e.start]):04x}, which is not Unicode text", where=relpath(final),
                         hint="a prediction or an input field is not valid text; nothing was written") from None
    return final


def _write_synced(path: Path, chunks: Iterable[str]) -> None:
    """Write text to a new file and fsync it (the run directory is renamed into place only after)."""
    with path.open("w", encoding="utf-8") as f:
        for chunk in chunks:
            f.write(chunk)
        f.flush()
        os.fsync(f.fileno())


# ------------------------------------------------------------------ reading and checking


def read_run(path: Path, *, scores: bool = True) -> dict[str, Any]:
    """Read a results.json (or the run directory holding it) and check the whole record; returns it.

    Checked: the JSON itself (UTF-8, no NaN or Infinity), the schema version,
    the example count, the run id, model, task and task hash, the metrics
    with their CIs and signatures, and the config. `scores=False` leaves the
    metrics, CIs and signatures unchecked, for rescoring, which recomputes them.
    Every problem is one `BenchError` naming the file.
    """
    p = path / "results.json" if path.is_dir() else path
    where = relpath(p)
    record = parse_record(p, where)
    check_schema(record, where)
    check_identity(record, where)
    check_config(record, where)
    if scores:
        check_scores(record, where)
    return record


def read_record(path: Path, *, scores: bool = True) -> RunRecord:
    """`read_run`, typed: the `RunRecord` of a results.json (or of the run directory holding it), with the run
    directory and the file's modification time."""
    p = path / "results.json" if path.is_dir() else path
    record = read_run(p, scores=scores)
    try:
        mtime = p.stat().st_mtime_ns
    except OSError:
        mtime = 0
    return RunRecord.from_dict(record, path=p.parent, mtime_ns=mtime)


def parse_record(path: Path, where: str) -> dict[str, Any]:
    """The JSON object in a results.json, with ``schema_version``; syntax errors name their line."""
    data = read_bytes(path, "run record")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BenchError(f"not a valid results.json: not UTF-8 (byte at offset {e.start})", where=where,
                         hint=DAMAGED) from None
    if not text.strip():
        raise BenchError("not a valid results.json: the file is empty", where=where, hint=DAMAGED)
    try:
        record = loads(text)
    except NonFiniteNumber as e:  # NaN or Infinity, which bench never writes (it writes null)
        m = re.search(rf"(?<=[\s:\[,]){re.escape(str(e))}(?=\s*[,\]}}])", text)
        line = f":{text[:m.start()].count(chr(10)) + 1}" if m else ""
        raise BenchError(f"not a valid results.json: it holds {e}, which bench never writes", where=where + line,
                         hint=DAMAGED) from None
    except json.JSONDecodeError as e:
        raise BenchError(f"not a valid results.json: invalid JSON: {e.msg} (column {e.colno})",
                         where=f"{where}:{e.lineno}", hint=DAMAGED) from None
    if not isinstance(record, dict) or "schema_version" not in record:
        raise BenchError("not a bench results.json (no schema_version)", where=where,
                         hint="pass run directories written by `bench run` (or the results directory above them)")
    found = lone_surrogate(record)
    if found:  # bench never writes one: it is not text, and could be neither shown nor written again
        raise BenchError(f"not a valid results.json: it holds an {surrogate_name(found)}, which is not Unicode text",
                         where=where, hint=DAMAGED)
    return record


def check_schema(record: Mapping[str, Any], where: str) -> None:
    """A schema version this bench reads, and a whole example count."""
    v = record["schema_version"]
    if not is_count(v) or v < 1:
        raise BenchError(f"results.json has schema_version {v!r}, not a positive integer", where=where, hint=DAMAGED)
    if v > SCHEMA_VERSION:
        raise BenchError(f"results.json has schema_version {v!r}; this bench reads up to {SCHEMA_VERSION}",
                         where=where, hint="upgrade bench to read results written by a newer version")
    if "n_examples" not in record:
        raise BenchError("run record has no field 'n_examples'", where=where, hint=NOT_WRITTEN_BY_BENCH)
    n = record["n_examples"]
    if not is_count(n):
        raise BenchError(f"field 'n_examples' of the run record is {n!r}, not a count", where=where, hint=DAMAGED)


def check_identity(record: Mapping[str, Any], where: str) -> None:
    """Which run it is: run id, model and task (non-empty strings) and the task hash."""
    for key in ("run_id", "model", "task"):
        if not required(record, key, str, where):
            raise BenchError(f"field {key!r} of the run record is empty", where=where, hint=DAMAGED)
    required(record, "task_hash", str, where)


def check_scores(record: Mapping[str, Any], where: str) -> None:
    """Each metric a finite number in its metric's range, inside its 95% CI [lo, hi], with a signature.

    A metric is null only in a run of no examples (bench writes a mean of nothing as null), and then
    so are both bounds of its CI. A value chosen over the whole set rather than averaged (its
    signature's ``agg`` is not ``mean``: SQuAD's best thresholds, an `evaluate` metric's corpus value)
    has a null CI. A value or bound outside the declared range of the score (`score_range`), a bound
    pair out of order or a mean outside its own CI is a damaged run. The ``reference`` block (the
    statistics of the references), when there is one, is checked the same way.
    """
    metrics = required(record, "metrics", dict, where)
    ci = required(record, "ci", dict, where)
    signatures = required(record, "signatures", dict, where)
    check_score_block(record, metrics, ci, signatures, where, "metric")
    reference = record.get("reference")
    if reference is not None:
        if not isinstance(reference, dict) or not all(isinstance(reference.get(k), dict)
                                                      for k in ("metrics", "ci", "signatures")):
            raise BenchError("field 'reference' of the run record is not {metrics, ci, signatures}", where=where,
                             hint=DAMAGED)
        check_score_block(record, reference["metrics"], reference["ci"], reference["signatures"], where,
                          "reference statistic")


def check_score_block(record: Mapping[str, Any], metrics: Mapping[str, Any], ci: Mapping[str, Any],
                      signatures: Mapping[str, Any], where: str, kind: str) -> None:
    for name, value in metrics.items():
        if value is not None and not is_number(value):
            raise BenchError(f"{kind} {name!r} is not a number: {value!r}", where=where, hint=DAMAGED)
        if name not in signatures:
            raise BenchError(f"no signature for {kind} {name!r}", where=where, hint=DAMAGED)
        if not isinstance(signatures[name], str):
            raise BenchError(f"the signature of {kind} {name!r} is not a string", where=where, hint=DAMAGED)
        pair = ci.get(name)
        lo_range, hi_range = score_range(record, name)
        if pair is None and name in ci and not averaged(signatures[name]):
            f = finite_float(value)
            if value is not None and (f is None or not lo_range - tolerance(f) <= f <= hi_range + tolerance(f)):
                raise BenchError(f"{kind} {name!r} is {brief(value)}, outside the metric's range "
                                 f"{fmt_range(lo_range, hi_range)}", where=where, hint=DAMAGED)
            continue
        if not (isinstance(pair, list) and len(pair) == 2):
            raise BenchError(f"no 95% CI [lo, hi] for {kind} {name!r}", where=where, hint=DAMAGED)
        if not all(b is None or is_number(b) for b in pair):
            raise BenchError(f"the 95% CI of {kind} {name!r} is not two numbers: {pair!r}", where=where, hint=DAMAGED)
        if value is None:
            if record["n_examples"] > 0:
                raise BenchError(f"{kind} {name!r} is null in a run of {record['n_examples']} examples", where=where,
                                 hint=DAMAGED)
            if pair != [None, None]:
                raise BenchError(f"{kind} {name!r} is null but its 95% CI is {pair!r}", where=where, hint=DAMAGED)
            continue
        checked = []
        for what, v in ((f"{kind} {name!r}", value), (f"the 95% CI of {kind} {name!r}", pair[0]),
                        (f"the 95% CI of {kind} {name!r}", pair[1])):
            if v is None:
                raise BenchError(f"{what} has a null bound but the metric is {value!r}", where=where, hint=DAMAGED)
            f = finite_float(v)
            if f is None:
                raise BenchError(f"{what} is not finite: {brief(v)}", where=where, hint=DAMAGED)
            if not lo_range - tolerance(f) <= f <= hi_range + tolerance(f):
                raise BenchError(f"{what} is {v!r}, outside the metric's range {fmt_range(lo_range, hi_range)}",
                                 where=where, hint=DAMAGED)
            checked.append(f)
        mean, lo, hi = checked
        if not lo - tolerance(mean) <= mean <= hi + tolerance(mean):
            raise BenchError(f"{kind} {name!r} is {value!r}, outside its own 95% CI [{pair[0]!r}, {pair[1]!r}]",
                             where=where, hint=DAMAGED)


def brief(value: Any) -> str:
    """`repr(value)`, shortened for a message (a number may have thousands of digits)."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}...{text[-8:]} ({len(text)} characters)"


def tolerance(value: float) -> float:
    """How far two computations of one score may differ by float summation order (1e-6 of a x100 scale)."""
    return 1e-6 * max(100.0, abs(value))


def score_range(record: Mapping[str, Any], name: str) -> tuple[float, float]:
    """The range of score `name` of a run, as bench's own metrics declare it.

    A score one of the run's built-in metrics gives a range of its own
    (`Metric.score_ranges`) has that range; any other has the union of the
    `value_range`s of the run's metrics. A user's or an `evaluate` metric
    declares nothing bench can check without running its code, so a run that
    has one leaves its scores unbounded.
    """
    from bench.metrics import METRICS

    names = run_metrics(record)
    if any(m not in METRICS for m in names):
        return -math.inf, math.inf
    classes = [METRICS.get(m) for m in names]
    for cls in classes:
        if name in cls.score_ranges:
            return cls.score_ranges[name]
    ranges = [cls.value_range for cls in classes] or [(-math.inf, math.inf)]
    return min(lo for lo, _ in ranges), max(hi for _, hi in ranges)


def fmt_range(lo: float, hi: float) -> str:
    return f"{lo:g}..{hi:g}"


def check_config(record: Mapping[str, Any], where: str) -> None:
    """``config`` and ``config.task`` mappings, the task's metrics known ones; ``timing`` a mapping."""
    config = record.get("config", {})
    task_config = config.get("task") if isinstance(config, dict) else None
    if not isinstance(config, dict) or not isinstance(task_config, (dict, type(None))):
        raise BenchError("field 'config' of the run record is not a mapping", where=where, hint=DAMAGED)
    for key, names in (("config.task.metrics", (task_config or {}).get("metrics")),
                       ("config.metrics", [m.get("name") if isinstance(m, dict) else m
                                           for m in config.get("metrics") or []])):
        if names:
            from bench.metrics import METRICS, entry_point_names

            if not isinstance(names, list) or not all(
                    isinstance(m, str) and (m in METRICS or ":" in m or m in entry_point_names()) for m in names):
                raise BenchError(f"run record names unknown metrics {names!r} ({key})", where=where,
                                 hint=f"metrics: {', '.join(METRICS.names())}; {DAMAGED}")
    timing = record.get("timing", {})
    if not isinstance(timing, dict):
        raise BenchError("field 'timing' of the run record is not a mapping", where=where, hint=DAMAGED)
    for key in TIMING_NUMBERS:
        v = timing.get(key)
        if v is not None and not (finite_float(v) is not None and v >= 0):
            raise BenchError(f"timing.{key} of the run record is {brief(v)}, not a non-negative number (or null)",
                             where=where, hint=DAMAGED)


def measured_speed(record: Mapping[str, Any]) -> float | None:
    """`RunRecord.examples_per_s` of a results.json object: its ``timing.examples_per_s`` if the run measured it."""
    return record_speed(record.get("config") or {}, record.get("timing") or {})


def run_metrics(record: Mapping[str, Any]) -> list[str]:
    """The metrics a checked run record was scored with: ``config.metrics`` (schema 2), else its task's, else
    the default of its task type."""
    return metric_names(record.get("config") or {}, record.get("task_type"))


def run_metric_specs(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``[{"name", "settings"}]``: the metrics a run was scored with and their own options."""
    return metric_specs(record.get("config") or {}, record.get("task_type"))


def required(record: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    """``record[key]``, which must be present and of type `kind` (a bool is not a number)."""
    if key not in record:
        raise BenchError(f"run record has no field {key!r}", where=where, hint=NOT_WRITTEN_BY_BENCH)
    value = record[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise BenchError(f"field {key!r} of the run record has the wrong type ({type(value).__name__})", where=where,
                         hint=DAMAGED)
    return value


def check_prediction_count(path: Path, n_rows: int, record: RunRecord | Mapping[str, Any]) -> None:
    """A run's predictions.jsonl (at `path`) must hold one line per example its results.json counts."""
    n = record.n_examples if isinstance(record, RunRecord) else record.get("n_examples")
    if n_rows != n:
        raise BenchError(f"predictions.jsonl has {n_rows} examples but its results.json says {n!r}",
                         where=relpath(path), hint=INCOMPLETE)


def check_example_scores(path: Path, rows: Sequence[tuple[int, Mapping[str, Any]]],
                         record: RunRecord | Mapping[str, Any]) -> None:
    """The per-example scores of a run's predictions.jsonl (at `path`) must agree with its results.json.

    `rows` holds (line number, ``scores`` object) for every line. Each score
    name given on one line is given on every line, as a finite number in the
    range of the run's metrics; and where results.json has a metric of that
    name, the mean of the per-example scores is that metric (to `tolerance`).
    Whatever reads per-example scores (paired statistics, flipped examples)
    checks them here first, so they can never disagree with the table.
    """
    score_matrix(path, [scores for _, scores in rows], record, [k for k, _ in rows])


def score_matrix(path: Path, scores: Sequence[Mapping[str, Any]], record: RunRecord | Mapping[str, Any],
                 linenos: Sequence[int]) -> tuple[tuple[str, ...], np.ndarray]:
    """`check_example_scores` of the ``scores`` objects of a predictions.jsonl's lines (at `linenos`), and the
    scores as one matrix: (score names in the order they first appear, lines x names float64 array, NaN where a
    line has no score of that name).

    The usual file (every value a float in range) is checked a column at a time; a problem is looked for line
    by line, so each is reported as `check_example_scores` always did.
    """
    record = record.to_dict() if isinstance(record, RunRecord) else record
    where = relpath(path)
    metrics = record.get("metrics") or {}
    names = tuple(dict.fromkeys(chain.from_iterable(scores)))
    whole = _whole_matrix(scores, names)
    matrix = np.full((len(scores), len(names)), np.nan) if whole is None else whole
    for col, name in enumerate(names):
        lo, hi = score_range(record, name)
        if whole is not None:  # every line has every score, each a float
            at, values = range(len(scores)), whole[:, col]
            if np.all(np.isfinite(values)) and np.all((values >= lo - _tolerances(values))
                                                      & (values <= hi + _tolerances(values))):
                _check_mean(where, name, values, metrics)
                continue
        unscored = (record.get("counts") or {}).get(f"{name}_unscored", 0)
        column = [s.get(name, _ABSENT) for s in scores]
        absent = column.count(_ABSENT)
        if absent and absent != unscored:
            lineno = linenos[column.index(_ABSENT)]
            raise BenchError(f"no {name!r} score (other lines have one"
                             + (f"; results.json counts {unscored} unscored, {absent} lines have none)" if unscored
                                else ")"), where=f"{where}:{lineno}", hint=EDITED)
        at = [k for k, v in enumerate(column) if v is not _ABSENT] if absent else range(len(column))
        present = [column[k] for k in at] if absent else column
        values = np.array(present, dtype=np.float64) if all(type(v) is float for v in present) else None
        if values is None or not np.all(np.isfinite(values)) or not np.all(
                (values >= lo - _tolerances(values)) & (values <= hi + _tolerances(values))):
            for k in at:  # the first problem, as one message naming its line
                v = column[k]
                f = finite_float(v)
                if f is None:
                    problem = f"score {name!r} is {brief(v)}, not a finite number"
                elif not lo - tolerance(f) <= f <= hi + tolerance(f):
                    problem = f"score {name!r} is {v!r}, outside the metric's range {fmt_range(lo, hi)}"
                else:
                    continue
                raise BenchError(problem, where=f"{where}:{linenos[k]}", hint=EDITED)
            values = np.array([float(v) for v in present], dtype=np.float64)  # ints in range
        matrix[at, col] = values
        _check_mean(where, name, values, metrics)
    return names, matrix


def _whole_matrix(scores: Sequence[Mapping[str, Any]], names: tuple[str, ...]) -> np.ndarray | None:
    """The lines x names matrix when every line has every score and each is a float (the usual file), else None."""
    if not names or not all(len(s) == len(names) for s in scores):
        return None
    rows = list(map(itemgetter(*names), scores))
    if len(names) == 1:
        rows = [(v,) for v in rows]
    if set(map(type, chain.from_iterable(rows))) != {float}:
        return None
    return np.array(rows, dtype=np.float64).reshape(len(scores), len(names))


def _check_mean(where: str, name: str, values: np.ndarray, metrics: Mapping[str, Any]) -> None:
    """The mean of a score's per-example values must be the run's metric of that name (to `tolerance`)."""
    expected = finite_float(metrics.get(name))
    if len(values) and expected is not None:
        mean = math.fsum(values.tolist()) / len(values)
        if abs(mean - expected) > tolerance(expected):
            raise BenchError(f"the per-example {name!r} scores average {mean!r}, but results.json says "
                             f"{expected!r}", where=where, hint=EDITED)


#: What `score_matrix` puts in place of a score a line does not have.
_ABSENT = object()


def _tolerances(values: np.ndarray) -> np.ndarray:
    """`tolerance` of each value."""
    return 1e-6 * np.maximum(100.0, np.abs(values))


#: Hint when a run's predictions.jsonl and results.json disagree on its scores.
EDITED = ("the run's predictions.jsonl and results.json disagree, so one was edited or damaged; "
          "delete this run directory and run again (or `bench rescore` it)")


def is_count(value: Any) -> bool:
    """A non-negative int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
