"""Finding run directories and reading their predictions, checked: what every reader of results shares.

`find_run_files` finds every results.json below the paths a user gives
(`bench compare`, `bench export`, `bench.results.runs_df`); `read_prediction_rows`
reads a run's predictions.jsonl with bench's JSONL reader and refuses one that
is damaged or disagrees with its results.json (the paired statistics, the
examples that differ most and `bench.results.examples_df` read them through it);
`run_order` is what "latest" means.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.errors import EXIT_ENVIRONMENT, BenchError, BenchErrors, relpath
from bench.io import lone_surrogate, parse_jsonl, read_bytes, surrogate_escape_lines, surrogate_name, where
from bench.results.store import DAMAGED, check_example_scores, check_prediction_count, read_run


def find_run_files(paths: Sequence[Path]) -> list[Path]:
    """Every results.json under `paths` (results roots, task or model folders, or run folders), in path order.

    Folders whose name starts with '.' (runs still being written, `.tmp-*`) are skipped; symbolic links
    to folders are followed (`results_files_below`).
    """
    found: dict[Path, Path] = {}
    for root in paths:
        if not root.exists():
            raise BenchError("no such results directory", where=relpath(root),
                             hint="run `bench run` first, or pass the directory it wrote to (`bench run -o DIR`)")
        if root.is_file():
            candidates = [root]
        elif not root.is_dir():
            raise BenchError("not a results directory, a run directory or a results.json", where=relpath(root),
                             hint="pass the directory `bench run` wrote to (results by default)")
        elif (root / "results.json").is_file():
            candidates = [root / "results.json"]
        else:
            candidates = list(results_files_below(root))
        for p in candidates:
            found.setdefault(p.resolve(), p)
    return [found[k] for k in sorted(found)]


def results_files_below(root: Path) -> Iterable[Path]:
    """Every results.json below the folder `root`, following symbolic links to folders.

    Each folder is visited once (by device and inode), so a link back to a
    folder above it ends the walk there instead of looping; folders whose
    name starts with '.' are skipped. A folder that cannot be read is a
    `BenchError` naming it (exit 3), not a silent gap in the tables.
    """
    seen: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            st = folder.stat()
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            entries = sorted(folder.iterdir())
        except OSError as e:
            raise BenchError(f"cannot read results folder: {e.strerror or e}", where=relpath(folder),
                             hint="check its permissions, or pass only the folders to compare",
                             exit_code=EXIT_ENVIRONMENT) from None
        for entry in entries:
            if entry.name == "results.json":
                if not entry.is_file():  # a FIFO would hang the reader, a directory is no record
                    kind = ("a directory" if entry.is_dir() else "a broken symbolic link" if not entry.exists()
                            else "not a regular file")
                    raise BenchError(f"results.json is {kind}", where=relpath(entry), hint=DAMAGED)
                yield entry
        stack.extend(e for e in reversed(entries)
                     if not e.name.startswith(".") and e.name != "results.json" and e.is_dir())  # in name order


def no_runs_error(paths: Sequence[Path]) -> BenchError:
    """The error of a selection of results folders that holds no run."""
    return BenchError(f"no runs (results.json files) under {', '.join(relpath(p) for p in paths)}",
                      hint="run `bench run` first, or pass the directory it wrote to (`bench run -o DIR`)")


def run_order(results_json: Path, run_id: str) -> tuple[str, int, str]:
    """The sort key of 'latest' among runs: (the run id's timestamp, results.json's mtime in ns, the run id)."""
    try:
        mtime = results_json.stat().st_mtime_ns
    except OSError:
        mtime = 0
    return (run_id.split("-", 1)[0], mtime, run_id)


def is_prediction_row(obj: Mapping[str, Any]) -> bool:
    """Whether a parsed line has the fields of a prediction: id, prediction, references and scores.

    A string in place of the references list is one reference (`bench.tasks.records.as_references`).
    """
    return (isinstance(obj.get("id"), str) and isinstance(obj.get("prediction"), str)
            and isinstance(obj.get("references"), (list, str)) and isinstance(obj.get("scores"), dict))


def read_prediction_rows(run_dir: Path, record: Mapping[str, Any] | None = None, *,
                         hint: str = DAMAGED) -> list[dict[str, Any]]:
    """The lines of `run_dir`/predictions.jsonl, in file order, each checked (problems name file:line).

    The lines are read by `bench.io.parse_jsonl`; every problem is reported
    (a line that is not ``{"id", "prediction", "references", "scores"}``, a
    duplicate id, an escaped unpaired surrogate), the number of examples must
    match the run's results.json, and so must the per-example scores
    (`bench.results.store.check_example_scores`). `record` is the run's checked
    results.json (read here when not given, after the lines); `hint` is the hint
    of a missing file.
    """
    path, rows = prediction_lines(run_dir, hint=hint)
    if record is None:
        record = read_run(run_dir)
    check_prediction_count(path, len(rows), record)
    check_example_scores(path, [(lineno, obj["scores"]) for lineno, obj in rows], record)
    return [obj for _, obj in rows]


def prediction_lines(run_dir: Path, *, hint: str = DAMAGED) -> tuple[Path, list[tuple[int, dict[str, Any]]]]:
    """(path, (line number, object) of each line) of `run_dir`/predictions.jsonl: the checks of
    `read_prediction_rows` of each line on its own (every problem at once, in line order), not yet those against
    the run's results.json (the number of lines and the scores), which its caller makes."""
    path = run_dir / "predictions.jsonl"
    data = read_bytes(path, what="predictions", hint=hint)
    rows, problems = parse_jsonl(path, data=data, hint=DAMAGED) if data.strip() else ([], [])
    maybe_surrogate = surrogate_escape_lines(data)
    seen: set[str] = set()
    out: list[tuple[int, dict[str, Any]]] = []
    for lineno, obj in rows:
        if not is_prediction_row(obj):
            problems.append((lineno, BenchError(
                'expected {"id": str, "prediction": str, "references": [...], "scores": {...}}',
                where=where(path, lineno), hint=DAMAGED)))
        elif obj["id"] in seen:
            problems.append((lineno, BenchError(f"duplicate example id {obj['id']!r}", where=where(path, lineno),
                                                hint=DAMAGED)))
        elif lineno in maybe_surrogate and (found := lone_surrogate(obj)):  # not text: it could not be shown
            problems.append((lineno, BenchError(f"{surrogate_name(found)}: not valid Unicode text",
                                                where=where(path, lineno), hint=DAMAGED)))
        else:
            seen.add(obj["id"])
            out.append((lineno, obj))
    if problems:
        problems.sort(key=lambda p: p[0])
        raise problems[0][1] if len(problems) == 1 else BenchErrors([e for _, e in problems])
    return path, out


#: What makes `read_prediction_table` leave a file to bench's own reader: a NaN or Infinity where a JSON value
#: begins, which pyarrow's JSON reader takes and bench refuses (a text that reads so is left to it too).
_NONFINITE_TOKEN = re.compile(rb"[:,\[]\s*-?(?:NaN|Infinity)")
#: A line of nothing but whitespace before another line (bench's reader skips it; the rows are then counted by it).
_BLANK_LINE = re.compile(rb"(?:^|\n)[ \t\r\f\v]*\n")


def read_prediction_table(run_dir: Path, record: Mapping[str, Any]) -> Any | None:
    """A run's predictions.jsonl read by pyarrow's JSON reader (many times faster than line by line), when the
    file has the usual shape and passes every check of `read_prediction_rows`; else None, and the caller reads it
    with `read_prediction_rows`, which takes what is unusual but sound (an unscored example) and names what is
    wrong.

    The usual shape: every line an object with a string ``id`` (no two alike), a string ``prediction``, a list
    of strings ``references``, a ``scores`` object of numbers, each line with every score; ``question`` a string
    and ``no_answer_score`` a number where present. The scores are checked as `check_example_scores` checks them.
    """
    import io
    import math

    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.json as pj

    from bench.io import BOM, MAX_JSON_DEPTH, not_a_regular_file
    from bench.results.store import finite_float, score_range, tolerance

    path = run_dir / "predictions.jsonl"
    if not_a_regular_file(path):  # a FIFO would block the read: bench's reader says what it is
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if not data.strip() or data.startswith(BOM) or _NONFINITE_TOKEN.search(data) or surrogate_escape_lines(data):
        return None
    try:
        data.decode("utf-8")  # pyarrow's JSON reader takes bytes that are not UTF-8 into its strings
        table = pj.read_json(io.BytesIO(data))
    except (UnicodeDecodeError, pa.ArrowException):
        return None
    if _BLANK_LINE.search(data) or table.num_rows != data.count(b"\n") + bool(data[data.rfind(b"\n") + 1:].strip()):
        return None  # two objects on a line (pyarrow reads two rows; bench refuses the line), or a blank line
    if max(map(_nesting, table.schema.types), default=1) > MAX_JSON_DEPTH:
        return None  # bench refuses lines nested so deep (bench.io.MAX_JSON_DEPTH)
    types = {f.name: f.type for f in table.schema}
    if not (pa.types.is_string(types.get("id", pa.null())) and pa.types.is_string(types.get("prediction", pa.null()))
            and types.get("references") == pa.list_(pa.string()) and pa.types.is_struct(types.get("scores", pa.null()))
            and pa.types.is_string(types.get("question", pa.string()))
            and (pa.types.is_floating(types.get("no_answer_score", pa.float64()))
                 or pa.types.is_integer(types.get("no_answer_score")))):
        return None
    for name in ("id", "prediction", "references", "scores"):
        if table[name].null_count:
            return None
    if pc.list_flatten(table["references"]).null_count:
        return None
    if table.num_rows != record.get("n_examples") or pc.count_distinct(table["id"]).as_py() != table.num_rows:
        return None
    scores = table["scores"].combine_chunks()
    metrics = record.get("metrics") or {}
    for i, field in enumerate(scores.type):
        values = scores.field(i)
        if not (pa.types.is_floating(field.type) or pa.types.is_integer(field.type)) or values.null_count:
            return None  # an unscored example, or a score that is no number: bench's own reader decides
        a = values.to_numpy(zero_copy_only=False).astype("float64")
        lo, hi = score_range(record, field.name)
        tol = 1e-6 * np.maximum(100.0, np.abs(a))
        if not (np.isfinite(a) & (lo - tol <= a) & (a <= hi + tol)).all():
            return None
        expected = finite_float(metrics.get(field.name))
        if len(a) and expected is not None and abs(math.fsum(a.tolist()) / len(a) - expected) > tolerance(expected):
            return None
    return table


def _nesting(t: Any) -> int:
    """How many lists and objects deep an Arrow type is (a line's object counts as 1)."""
    import pyarrow as pa

    depth, stack = 1, [(t, 2)]
    while stack:
        t, d = stack.pop()
        if pa.types.is_struct(t):
            stack.extend((t.field(i).type, d + 1) for i in range(t.num_fields))
            depth = max(depth, d)
        elif pa.types.is_list(t) or pa.types.is_large_list(t):
            stack.append((t.value_type, d + 1))
            depth = max(depth, d)
    return depth
