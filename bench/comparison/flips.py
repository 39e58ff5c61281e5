"""Per-example scores of runs: reading predictions.jsonl, pairing two runs, the examples they score most differently."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from bench.comparison.select import Progress, Section, baseline_run
from bench.errors import BenchError, BenchErrors
from bench.io import collector_paused, loads, read_bytes, where
from bench.results.reading import is_prediction_row, prediction_lines, read_prediction_rows
from bench.results.record import RunRecord
from bench.results.store import check_prediction_count, finite_float, score_matrix, tolerance
from bench.tasks.records import as_references


@dataclass(frozen=True)
class Prediction:
    """One line of a run's predictions.jsonl."""

    id: str
    prediction: str
    references: tuple[str, ...]
    scores: Mapping[str, float]
    question: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    """What metrics keep per example beside the scores (``details``: e.g. SummaC-ZS's score per summary
    sentence)."""
    no_answer_score: float | None = None
    """An extractive QA model's no-answer score (higher: more likely unanswerable)."""


@dataclass(frozen=True)
class Flip:
    """One example scored differently by two runs."""

    id: str
    metric: str
    question: str | None
    references: tuple[str, ...]
    baseline_prediction: str
    prediction: str
    baseline_scores: Mapping[str, float]
    scores: Mapping[str, float]
    baseline_details: Mapping[str, Any] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)
    baseline_no_answer_score: float | None = None
    no_answer_score: float | None = None

    @property
    def diff(self) -> float:
        return self.scores[self.metric] - self.baseline_scores[self.metric]


#: (reference run, other run, their flips) for each other run of a section.
FlipPairs = list[tuple[RunRecord, RunRecord, list[Flip]]]


def prediction_from_row(obj: Mapping[str, Any]) -> Prediction:
    """A `Prediction` from a checked line (`bench.results.reading.is_prediction_row`); scores that are not finite
    numbers are left out (`read_predictions` refuses such a line first)."""
    scores = {k: f for k, v in obj["scores"].items() if (f := finite_float(v)) is not None}
    q = obj.get("question")
    details = obj.get("details")
    return Prediction(obj["id"], obj["prediction"], tuple(str(r) for r in as_references(obj["references"])), scores,
                      q if isinstance(q, str) else None, details=details if isinstance(details, dict) else {},
                      no_answer_score=finite_float(obj.get("no_answer_score")))


def read_predictions(run_dir: Path, record: RunRecord | None = None) -> dict[str, Prediction]:
    """Example id -> `Prediction`, from `run_dir`/predictions.jsonl, read and checked by
    `bench.results.reading.read_prediction_rows` (problems name file:line; the number of examples and the
    per-example scores must agree with the run's results.json, `record`, read from `run_dir` when not given)."""
    rows = read_prediction_rows(run_dir, record, hint=PREDICTIONS_HINT)
    return {obj["id"]: prediction_from_row(obj) for obj in rows}


#: The hint when a run directory has no predictions.jsonl to read.
PREDICTIONS_HINT = "paired statistics need each run's predictions.jsonl"




def run_predictions(run: RunRecord, cache: dict[Path, dict[str, Prediction]]) -> dict[str, Prediction]:
    """The predictions of `run`, read once per run directory and kept in `cache`."""
    if run.path not in cache:
        cache[run.path] = read_predictions(run.path, run)
    return cache[run.path]


# ------------------------------------------------------------------ scores only


@dataclass(frozen=True)
class ExampleScores:
    """The per-example scores of one run, without its texts: what paired statistics and choosing the examples
    that differ most read (`read_example_scores`)."""

    run: RunRecord
    ids: tuple[str, ...]
    """Example ids, in the file's order."""
    lines: tuple[int, ...]
    """The line of predictions.jsonl each example is on (to read its texts again, `predictions_at`)."""
    names: tuple[str, ...]
    """Score names, in the order they first appear."""
    values: np.ndarray
    """examples x names, float64; NaN where an example has no score of that name (unscored)."""

    @cached_property
    def index(self) -> dict[str, int]:
        """Example id -> its row."""
        return {i: k for k, i in enumerate(self.ids)}

    @cached_property
    def scored(self) -> frozenset[str]:
        """The score names some example has a value for."""
        return frozenset(n for k, n in enumerate(self.names) if not np.all(np.isnan(self.values[:, k])))

    def column(self, metric: str) -> np.ndarray:
        """The scores of `metric` (NaN where an example has none, or the run has no such score)."""
        if metric not in self.names:
            return np.full(len(self.ids), np.nan)
        return self.values[:, self.names.index(metric)]


def read_example_scores(run: RunRecord) -> ExampleScores:
    """The ids and scores of a run's predictions.jsonl, checked as `read_predictions` checks them; the texts
    are not kept."""
    with collector_paused():  # parsed JSON holds no reference cycles: nothing for the collector to find
        path, rows = prediction_lines(run.path, hint=PREDICTIONS_HINT)
        check_prediction_count(path, len(rows), run)
        names, values = score_matrix(path, [obj["scores"] for _, obj in rows], run, [k for k, _ in rows])
        return ExampleScores(run, tuple(obj["id"] for _, obj in rows), tuple(k for k, _ in rows), names, values)


def run_scores(run: RunRecord, cache: dict[Path, ExampleScores]) -> ExampleScores:
    """The scores of `run`, read once per run directory and kept in `cache`."""
    if run.path not in cache:
        cache[run.path] = read_example_scores(run)
    return cache[run.path]


#: Runs whose scores are read in worker processes, one per core, when at least this many are to be read.
PARALLEL_RUNS = 4


def read_scores(runs: Sequence[RunRecord], cache: dict[Path, ExampleScores], progress: Progress | None = None,
                what: str = "reading predictions") -> None:
    """`run_scores` of each of `runs`: those not in `cache` are read into it, shared out over the CPU cores
    when there are `PARALLEL_RUNS` or more (parsing JSON is most of the time). A problem is reported as
    reading the runs one by one would report it: that of the first run, in order, that has one."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    todo = list({r.path: r for r in runs if r.path not in cache}.values())
    jobs = min(len(todo), len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    done = len(runs) - len(todo)
    if jobs < 2 or len(todo) < PARALLEL_RUNS or multiprocessing.parent_process() is not None:
        for r in todo:
            run_scores(r, cache)
            done += 1
            if progress is not None:
                progress(what, done, len(runs))
        return
    # fork is cheap (nothing to re-import) and the workers start no threads; spawn where torch is loaded
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() and "torch" not in sys.modules else "spawn"
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context(method)) as pool:
        futures = [pool.submit(_scores_job, str(r.path), r.to_dict(), r.mtime_ns) for r in todo]
        for r, future in zip(todo, futures):
            result = future.result()
            if result[0] == "error":
                for f in futures:
                    f.cancel()
                raise _error(result[1])
            _, ids, lines, names, values = result
            cache[r.path] = ExampleScores(r, ids, lines, names, values)
            done += 1
            if progress is not None:
                progress(what, done, len(runs))


def _scores_job(path: str, record: dict[str, Any], mtime_ns: int) -> tuple:
    """`read_example_scores` in a worker process: ("ok", ids, lines, names, values), or ("error", the problem)."""
    run = RunRecord.from_dict(record, path=Path(path), mtime_ns=mtime_ns)
    try:
        scores = read_example_scores(run)
    except BenchError as e:
        return ("error", _portable(e))
    return ("ok", scores.ids, scores.lines, scores.names, scores.values)


def _portable(e: BenchError) -> tuple:
    """A `BenchError` as plain data, to cross a process boundary (`_error` makes it again)."""
    if isinstance(e, BenchErrors):
        return ("many", [_portable(x) for x in e.errors], e.exit_code)
    return ("one", e.message, e.where, e.hint, e.exit_code)


def _error(data: tuple) -> BenchError:
    if data[0] == "many":
        return BenchErrors([_error(x) for x in data[1]], exit_code=data[2])
    _, message, at, hint, exit_code = data
    return BenchError(message, where=at, hint=hint, exit_code=exit_code)


def predictions_at(scores: ExampleScores, ids: Iterable[str]) -> dict[str, Prediction]:
    """The `Prediction`s of some examples of a run whose scores were read (`read_example_scores`): only their
    lines of predictions.jsonl are parsed again. A file changed since is an error."""
    wanted = {i: scores.lines[scores.index[i]] for i in ids}
    if not wanted:
        return {}
    path = scores.run.path / "predictions.jsonl"
    data = read_bytes(path, what="predictions")
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)  # where each line ends (b"\n")
    out: dict[str, Prediction] = {}
    for i, lineno in wanted.items():
        start = int(ends[lineno - 2]) + 1 if lineno > 1 else 0
        stop = int(ends[lineno - 1]) if lineno - 1 < len(ends) else len(data)
        try:
            obj = loads(data[start:stop]) if lineno - 2 < len(ends) else None
        except ValueError:
            obj = None
        if not isinstance(obj, dict) or not is_prediction_row(obj) or obj["id"] != i:
            raise BenchError("predictions.jsonl changed while bench compare read it", where=where(path, lineno),
                             hint="run the command again once nothing writes to the results directory")
        out[i] = prediction_from_row(obj)
    return out


def paired_columns(base: ExampleScores, other: ExampleScores, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """(baseline scores, other scores) of `metric` over the examples both have a score for, in the baseline's
    order: what `paired_scores` gives, from the matrices."""
    a, b = base.column(metric), aligned(base, other)(other.column(metric))
    keep = ~(np.isnan(a) | np.isnan(b))
    return a[keep], b[keep]


def aligned(base: ExampleScores, other: ExampleScores):
    """A function taking a column of `other` to `base`'s rows (NaN where `other` lacks the example)."""
    if other.ids == base.ids:
        return lambda column: column
    rows = np.array([other.index.get(i, -1) for i in base.ids], dtype=np.int64)
    missing = rows < 0

    def take(column: np.ndarray) -> np.ndarray:
        out = column[rows]
        out[missing] = np.nan
        return out
    return take


def paired_scores(base: Mapping[str, Prediction], other: Mapping[str, Prediction],
                  metric: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(ids, baseline scores, other scores) over the examples both have a `metric` score for."""
    ids = [i for i, p in base.items() if metric in p.scores and i in other and metric in other[i].scores]
    a = np.array([base[i].scores[metric] for i in ids], dtype=np.float64)
    b = np.array([other[i].scores[metric] for i in ids], dtype=np.float64)
    return ids, a, b


def flipped_examples(base: Mapping[str, Prediction], other: Mapping[str, Prediction], metric: str,
                     k: int) -> list[Flip]:
    """The `k` shared examples whose `metric` scores differ most (largest |difference|, then id).

    For exact match these are the flipped items: right for one run, wrong for the other. Differences
    within float summation noise (`bench.results.store.tolerance`) are no difference.
    """
    ids, a, b = paired_scores(base, other, metric)
    order = sorted((i for i in range(len(ids)) if abs(b[i] - a[i]) > tolerance(a[i])),
                   key=lambda i: (-abs(b[i] - a[i]), ids[i]))
    return [_flip(base[ids[i]], other[ids[i]], metric) for i in order[:k]]


def flip_metric(section: Section, asked: Sequence[str],
                preds: Mapping[str, Prediction] | ExampleScores) -> str | None:
    """The metric flips are ranked by: the first asked metric with per-example scores, else the first shown
    one with a direction (a score, not a statistic that describes), else the first shown one."""
    have = preds.scored if isinstance(preds, ExampleScores) else {m for p in preds.values() for m in p.scores}
    usable = [m for m in section.metrics if m in have and not section.corpus_only(m)]
    for m in asked:
        if m in usable:
            return m
    return next((m for m in usable if section.direction(m) != "none"), usable[0] if usable else None)


def differing(base: ExampleScores, other: ExampleScores, metric: str, k: int) -> list[str]:
    """The ids of the `k` shared examples whose `metric` scores differ most, as `flipped_examples` orders them
    (largest |difference|, then id; differences within `bench.results.store.tolerance` are none)."""
    a, b = base.column(metric), aligned(base, other)(other.column(metric))
    with np.errstate(invalid="ignore"):
        diff = np.abs(b - a)
        keep = np.flatnonzero(diff > 1e-6 * np.maximum(100.0, np.abs(a)))  # NaN (not shared) is never kept
    if len(keep) > k > 0:  # the k largest differences and every tie of the smallest of them, then ordered
        kth = np.partition(diff[keep], len(keep) - k)[len(keep) - k]
        keep = keep[diff[keep] >= kth]
    order = sorted(keep.tolist(), key=lambda i: (-diff[i], base.ids[i]))
    return [base.ids[i] for i in order[:k]]


def section_flips(sections: Sequence[Section], baseline: str | None, metrics: Sequence[str], k: int,
                  cache: dict[Path, ExampleScores] | None = None,
                  progress: Progress | None = None) -> dict[int, FlipPairs]:
    """Section index -> the `k` flips of each run against the baseline run, else against the best run.

    Sections without a reference run, with a single run, or without
    per-example scores for any shown metric are left out. The runs' scores
    are read once (`cache`); the texts only of the examples shown.
    """
    cache = {} if cache is None else cache
    out: dict[int, FlipPairs] = {}
    todo = [(i, s) for i, s in enumerate(sections) if len(s.runs) >= 2]
    total, done = sum(len(s.runs) for _, s in todo), 0
    for i, s in todo:
        ref = baseline_run(s, baseline) if baseline is not None else s.runs[0]
        if ref is None:
            continue
        told = None if progress is None else lambda what, k, n, d=done: progress(what, d + k, total)
        read_scores(s.runs, cache, told)
        done += len(s.runs)
        m = flip_metric(s, metrics, cache[ref.path])
        if m is None:
            continue
        chosen = {r.path: differing(cache[ref.path], cache[r.path], m, k) for r in s.runs if r is not ref}
        base_preds = predictions_at(cache[ref.path], dict.fromkeys(i for ids in chosen.values() for i in ids))
        pairs: FlipPairs = []
        for r in s.runs:
            if r is ref:
                continue
            preds = predictions_at(cache[r.path], chosen[r.path])
            pairs.append((ref, r, [_flip(base_preds[x], preds[x], m) for x in chosen[r.path]]))
        out[i] = pairs
    return out


def _flip(a: Prediction, b: Prediction, metric: str) -> Flip:
    return Flip(a.id, metric, a.question, a.references, a.prediction, b.prediction, dict(a.scores), dict(b.scores),
                baseline_details=a.details, details=b.details, baseline_no_answer_score=a.no_answer_score,
                no_answer_score=b.no_answer_score)
