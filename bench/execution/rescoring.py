"""Rescoring: a run's metrics recomputed from its predictions.jsonl and written as a new run.

No model is loaded. The new run keeps the original's model, task and timing
(with its own scoring time, and no throughput: it predicted nothing), records
``config.rescored_from`` and the metric options used, and has its own run id.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any
from collections.abc import Iterator, Sequence

from bench.errors import BenchError, relpath
from bench.execution.cache import metrics_cache_dir
from bench.io import read_jsonl
from bench.metrics import MetricInputs, MetricOptions, MetricSpec, resolve_metric, with_extras
from bench.metrics.scoring import Scores, score_examples
from bench.metrics.score_file import read_score_rows
from bench.tasks.records import as_references
from bench.results.record import SCHEMA_VERSION, MetricResults, RunConfig, RunRecord, Timing, frozen, thawed
from bench.results.store import (INCOMPLETE, check_example_scores, check_prediction_count, new_run_id, read_record,
                                 results_dir_of, run_directory, run_metric_specs, write_run)
from bench.version import __version__

RUN_DIRS_HINT = "pass run directories, e.g. results/<task>/<model>/<run-id>; `bench compare --all-runs` lists them"


def rescore_run(
    run_dir: Path,
    options: MetricOptions,
    output_dir: Path | None = None,
    *,
    metrics: Sequence[MetricSpec] = (),
) -> tuple[dict[str, Any], Path]:
    """Rescore one run; returns (the new run's record as results.json's object, its run directory).

    The run's own metrics are scored again, and `metrics` besides them (options
    given there for one of the run's metrics override the run's). A metric that
    reads the documents gets them from the run's task definition, which must be
    the one the run was made with (its hash). The new run goes to `output_dir`,
    or by default to the results directory the original run is in. When a run
    there already has the scores this would write (`existing_rescore`), nothing
    is written and that run is returned.
    """
    run_dir = find_run_dir(run_dir)
    record = read_record(run_dir, scores=False)  # the old scores are replaced, so they need not be sound
    specs = rescore_specs(record, metrics)
    rows = read_predictions(run_dir, record)
    root = output_dir if output_dir is not None else results_dir_of(run_dir)
    with one_at_a_time(run_dir):  # a second rescore of the run waits, then finds this one's run
        return _rescore(run_dir, record, specs, rows, options, output_dir, root, metrics)


@contextlib.contextmanager
def one_at_a_time(run_dir: Path) -> Iterator[None]:
    """Hold an exclusive `fcntl.flock` on the run's results.json (opened to read: nothing is written) while
    it is rescored, so that two processes rescoring a run the same way do not both write a run: the second one
    waits, then finds the first one's (`existing_rescore`). The lock goes with the process however it ends."""
    try:
        fd = os.open(run_dir / "results.json", os.O_RDONLY | os.O_NONBLOCK)
    except OSError:  # read a moment ago: gone now, and the rescoring will say so
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _rescore(run_dir: Path, record: RunRecord, specs: list[MetricSpec], rows: list[dict[str, Any]],
             options: MetricOptions, output_dir: Path | None, root: Path,
             metrics: Sequence[MetricSpec]) -> tuple[dict[str, Any], Path]:
    t0 = time.perf_counter()
    scores = fresh_scores(record, rows, options, specs, run_dir)
    score_s = time.perf_counter() - t0
    same = existing_rescore(run_dir, options, output_dir, scores=scores, metrics=metrics, record=record,
                            run_rows=rows)
    if same is not None:
        return read_record(same).to_dict(), same
    new = replace(
        record,
        schema_version=SCHEMA_VERSION,
        run_id=new_run_id(),
        scores=MetricResults.from_dict(scores.metrics, scores.ci, scores.signatures, scores.counts),
        reference=MetricResults.from_dict(**scores.reference) if scores.reference else None,
        warnings=tuple(scores.warnings),
        config=RunConfig(frozen({**record.config.fields, "metric_options": asdict(options),
                                 "metrics": scores.metric_records(specs), "rescored_from": record.run_id})),
        # nothing was predicted: the original's throughput is not this run's
        timing=Timing(frozen({**record.timing.fields, "score_s": score_s, "examples_per_s": None})),
        absent=record.absent - {"schema_version", "metrics", "ci", "signatures", "counts", "warnings", "config",
                                "timing"},
        path=None, mtime_ns=0,
    )
    new_rows = []
    for r, s, d in zip(rows, scores.per_example, scores.details):
        row = {**r, "scores": s}
        row.pop("details", None)
        if d:
            row["details"] = d
        new_rows.append(row)
    return new.to_dict(), write_run(root, new, new_rows)


def rescore_specs(record: RunRecord, metrics: Sequence[MetricSpec] = ()) -> list[MetricSpec]:
    """The run's metrics (with their options) and `metrics` added; each resolved now, before any scoring."""
    specs = with_extras([MetricSpec(m["name"], m["settings"]) for m in run_metric_specs(record)], metrics)
    for spec in specs:
        cls = resolve_metric(spec.name)
        task_type = record.task_type
        if cls.task_types and task_type not in cls.task_types:
            raise BenchError(f"metric {spec.name!r} does not apply to {task_type} tasks",
                             hint=f"it scores {', '.join(cls.task_types)} tasks")
    return specs


def fresh_scores(record: RunRecord, rows: list[dict[str, Any]], options: MetricOptions,
                 specs: Sequence[MetricSpec] | None = None, run_dir: Path | None = None) -> Scores:
    """The scores of a run's predictions (`read_predictions` rows) under `options`."""
    specs = list(specs) if specs is not None else rescore_specs(record)
    documents = None
    if any("document" in resolve_metric(s.name).needs for s in specs):
        documents = task_documents(record, [r["id"] for r in rows], run_dir)
    na = [r.get("no_answer_score", r.get("no_answer_probability")) for r in rows]
    questions = [r.get("question") for r in rows]
    inputs = MetricInputs(
        ids=[r["id"] for r in rows], predictions=[r["prediction"] for r in rows],
        references=[r["references"] for r in rows], documents=documents,
        questions=questions if any(q is not None for q in questions) else None,
        no_answer_scores=na if any(v is not None for v in na) else None)
    where = str(relpath(run_dir / "predictions.jsonl")) if run_dir is not None else ""
    return score_examples(specs, inputs, options, cache_dir=metrics_cache_dir(results_dir_of(run_dir))
                          if run_dir is not None else None, where=where)


def task_documents(record: RunRecord, ids: Sequence[str], run_dir: Path | None) -> list[str]:
    """The documents of a run's examples, from the task definition it was made with (`config.task.path`), which
    must still hash as it did (`bench.tasks.examples.documents_of`)."""
    from bench.tasks.examples import documents_of

    from bench.metrics.catalog import task_metric_problem

    return documents_of(record.config.task.get("path"), record.task_hash, ids,
                        where=relpath(run_dir) if run_dir is not None else None,
                        hint="the metric reads each example's document from the run's task; restore the task "
                             "definition and its fixture as they were, or run the model again",
                        metric_check=task_metric_problem)


def existing_rescore(run_dir: Path, options: MetricOptions, output_dir: Path | None = None, *,
                     scores: Scores | None = None, metrics: Sequence[MetricSpec] = (),
                     record: RunRecord | None = None, run_rows: list[dict[str, Any]] | None = None) -> Path | None:
    """The run that rescoring `run_dir` with `options` would duplicate, or None.

    Rescoring gives a run's scores again when its metric options are the ones
    it was scored with by this bench (its signatures name bench's version):
    the candidates are the run itself and earlier rescorings of it (or of the
    run it was rescored from), in the model's directory of the results
    directory the new run would go to. A candidate counts only if its scores
    are sound (`read_run`, `check_example_scores`), its predictions are the
    same as the run's, and its stored per-example scores are exactly the ones
    these options give for those predictions (`scores`; when not given, computed
    here once a candidate passes the cheaper checks): a run whose
    predictions.jsonl was edited after it was scored is never taken for its own
    rescoring. `record` and `run_rows` (its `read_predictions` rows) are the run's, when its caller has read them.
    """
    if record is None:
        run_dir = find_run_dir(run_dir)
        record = read_record(run_dir, scores=False)
    root = output_dir if output_dir is not None else results_dir_of(run_dir)
    model_dir = run_directory(root, record).parent
    lineage = {record.run_id, record.config.rescored_from} - {None}
    wanted = asdict(options)
    wanted_metrics = [s.record() for s in rescore_specs(record, metrics)]
    mine: list[tuple[Any, ...]] | None = None
    for candidate in sorted(model_dir.glob("*/results.json")) if model_dir.is_dir() else []:
        if candidate.parent.name.startswith("."):
            continue  # a run still being written
        try:
            other = read_record(candidate)
            if not (other.run_id in lineage or other.config.rescored_from in lineage) \
                    or other.task_hash != record.task_hash or thawed(other.config.metric_options) != wanted \
                    or run_metric_specs(other) != wanted_metrics \
                    or not all(sig.endswith(f"|bench:{__version__}") for sig in other.signatures.values()):
                continue
            rows = prediction_lines(candidate.parent / "predictions.jsonl")
            check_prediction_count(candidate.parent / "predictions.jsonl", len(rows), other)
            check_example_scores(candidate.parent / "predictions.jsonl", [(k, r["scores"]) for k, r in rows],
                                 other)
            if mine is None:
                mine = [same_prediction(r) for r in run_rows] if run_rows is not None else \
                    [same_prediction(r) for _, r in prediction_lines(run_dir / "predictions.jsonl")]
            if [same_prediction(r) for _, r in rows] != mine:
                continue
        except (BenchError, KeyError, TypeError, AttributeError):
            continue  # a damaged or foreign run is never the one this rescoring would repeat
        if scores is None:  # scored only once a candidate passes every cheaper check
            scores = fresh_scores(record, run_rows if run_rows is not None else read_predictions(run_dir, record),
                                  options, rescore_specs(record, metrics), run_dir)
        if all({m: r["scores"].get(m) for m in fresh} == fresh for (_, r), fresh in zip(rows, scores.per_example)):
            return candidate.parent
    return None


def prediction_lines(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line, object) for each line of a predictions.jsonl whose ``scores`` is an object."""
    rows = read_jsonl(path)
    if not all(isinstance(r.get("scores"), dict) for _, r in rows):
        raise BenchError("a line has no scores object", where=relpath(path))
    return rows


def same_prediction(row: dict[str, Any]) -> tuple[Any, ...]:
    """What makes two lines of predictions.jsonl score the same: id, prediction, references, question."""
    return (str(row.get("id")), row.get("prediction"), as_references(row.get("references", [])), row.get("question"))


def find_run_dir(path: Path) -> Path:
    """The run directory `path` names (it, or the directory of a results.json), refusing what is not one."""
    if path.name == "results.json" and path.is_file():
        path = path.parent
    if not path.exists():
        raise BenchError("no such run directory", where=relpath(path), hint=RUN_DIRS_HINT)
    if path.is_dir() and not (path / "results.json").exists() and any(path.rglob("results.json")):
        raise BenchError("not a run directory (it has no results.json of its own)", where=relpath(path),
                         hint=RUN_DIRS_HINT)
    return path


def read_predictions(run_dir: Path, record: RunRecord | dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of a run's predictions.jsonl, checked line by line and counted against its record.

    Each row's id and references are as `bench score` reads them: the id a
    string, the references a list (a string is one reference).
    """
    path = run_dir / "predictions.jsonl"
    if not path.exists():
        raise BenchError("the run directory has no predictions.jsonl", where=relpath(run_dir), hint=INCOMPLETE)
    # every line's fields and types, as a `bench score` file (ROUGE also needs a non-empty reference)
    f = read_score_rows(path, ["rouge" if "rouge" in [m["name"] for m in run_metric_specs(record)] else "squad"])
    rows = [{**obj, "id": i, "references": list(refs)} for obj, i, refs in zip(f.rows, f.inputs.ids,
                                                                               f.inputs.references)]
    check_prediction_count(path, len(rows), record)
    return rows
