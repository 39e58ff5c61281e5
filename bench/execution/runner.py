"""Run models on tasks: examples -> predictions -> scores -> run record.

Everything that can be checked is checked before a model loads: the task
definitions and fixtures are validated, and each (model, task) pair is checked
for compatibility. Then, per pair: load the model, predict in batches (inputs
sorted by length to cut padding, results put back in the original order),
score, and write the run directory atomically.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.execution.cache import PredictionCache, metrics_cache_dir, model_identity
from bench.execution.model_names import check_names_free
from bench.runtime import distributed
from bench.errors import BenchError
from bench.metrics import MetricInputs, MetricOptions, MetricSpec, resolve_metric, with_extras
from bench.metrics.scoring import Scores, check_needs, score_examples
from bench.models import ModelSpec
from bench.models.model import no_answer_score
from bench.runtime.memory import is_out_of_memory
from bench.results.provenance import iso_time, provenance
from bench.results.record import SCHEMA_VERSION, MetricResults, Provenance, RunConfig, RunRecord, Timing, frozen
from bench.results.store import new_run_id, write_run
from bench.tasks.examples import load_examples
from bench.tasks.records import Example, Task


@dataclass(frozen=True)
class RunOptions:
    limit: int | None = None
    sample: int | None = None
    """A seeded random sample of N examples per task (see bench.tasks.examples.select_indices)."""
    seed: int = 0
    batch_size: int | str | None = None
    """Examples per batch; "auto" lets the model find the largest that fits."""
    metric_options: MetricOptions = field(default_factory=MetricOptions)
    metrics: tuple[MetricSpec, ...] = ()
    """Metrics to score with besides each task's own (``--metric``); options given here for a metric the task
    lists too override the task's."""
    model_options: Mapping[str, Any] = field(default_factory=dict)
    """Passed to the model's factory: device, dtype, generation overrides, ..."""
    output_dir: Path = Path("results")
    use_cache: bool = True
    """Reuse and store predictions in the cache store of <output_dir>/.cache (see bench.execution.cache)."""
    fresh: bool = False
    """Discard cached predictions first (--no-cache): predict everything again."""


def seed_everything(seed: int) -> None:
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed)
    except ImportError:  # pragma: no cover
        pass
    import sys

    if "torch" in sys.modules:
        import torch

        torch.manual_seed(seed)


def check_pairs(specs: Sequence[ModelSpec], tasks: Sequence[Task], explicit: bool) -> list[tuple[ModelSpec, Task]]:
    """The compatible (model, task) pairs, checked before any model loads.

    When both models and tasks were named, a model that can do none of the
    tasks, or a task that none of the models can do, is refused. A model
    named twice (``./m`` and ``m/`` are one model) is run once.
    """
    specs = list({spec.name: spec for spec in specs}.values())
    pairs = [(spec, t) for spec in specs for t in tasks if t.type in spec.task_types]
    if explicit:
        for spec in specs:
            if not any(t.type in spec.task_types for t in tasks):
                names = ", ".join(f"{t.name!r} ({t.type})" for t in tasks)
                raise BenchError(
                    f"model {spec.name!r} cannot do task {names}" if len(tasks) == 1 else
                    f"model {spec.name!r} cannot do any of the tasks {names}",
                    hint=f"{spec.name} does {', '.join(spec.task_types)} tasks; see `bench list`",
                )
        for t in tasks:
            if not any(t.type in spec.task_types for spec in specs):
                raise BenchError(f"none of the models can do task {t.name!r} (a {t.type} task)",
                                 hint="see `bench list` for what each model can do")
    if not pairs:
        raise BenchError("no (model, task) pair to run: none of the models can do any of the tasks",
                         hint="see `bench list` for what each model can do")
    return pairs


def length_sorted_batches(examples: Sequence[Example], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar input length (longest first)."""
    order = sorted(range(len(examples)), key=lambda i: (-len(examples[i].input) - len(examples[i].question or ""), i))
    return [order[k:k + batch_size] for k in range(0, len(order), batch_size)]


def predict_all(model, task: Task, examples: Sequence[Example], batch_size: int,
                on_batch: Callable[[int], None] | None = None,
                store: Callable[[list[tuple[str, str]]], None] | None = None,
                share: Callable[[Iterable[list[str]]], Iterable[list[str]]] | None = None) -> list[str]:
    """Every example's prediction, batch by batch, each batch stored as it finishes.

    A model with `predict_as_completed` (an OpenAI-compatible server) hands over each prediction as it
    arrives, and each is stored at once. With `share` (the prediction cache's `share`), the ids of each batch
    go through it first: what another process is predicting is left to it, and its places stay None.
    """
    predictions: list[str | None] = [None] * len(examples)
    finished = 0
    streams = callable(getattr(model, "predict_as_completed", None))
    batches: Iterable[list[int]] = length_sorted_batches(examples, batch_size)
    if share is not None:
        place = {ex.id: i for i, ex in enumerate(examples)}
        batches = ([place[i] for i in ids] for ids in share([examples[i].id for i in b] for b in batches))
    for batch in batches:
        done: list[int] = []
        try:
            if streams:
                for pos, p in model.predict_as_completed([examples[i] for i in batch], task):
                    i = _position(model, batch, pos, done)
                    predictions[i] = _checked(model, examples[i], p)
                    done.append(i)
                    if store:
                        store([(examples[i].id, p)])
                    if on_batch:
                        on_batch(1)
            else:
                out = model.predict([examples[i] for i in batch], task)
        except BenchError:
            raise
        except Exception as e:
            ids = [examples[i].id for i in batch if i not in done]
            raise _model_failure(model, ids, finished + len(done), store is not None, e) from e
        if streams:
            if len(done) != len(batch):
                raise BenchError(f"model {model.name!r} returned {len(done)} predictions for a batch of {len(batch)}",
                                 hint="predict_as_completed() must yield one (position, string) per example",
                                 exit_code=3)
            finished += len(batch)
            continue
        if not isinstance(out, list) or len(out) != len(batch):
            raise BenchError(
                f"model {model.name!r} returned {len(out) if isinstance(out, list) else type(out).__name__} "
                f"predictions for a batch of {len(batch)}",
                hint="predict() must return one string per example, in order", exit_code=3,
            )
        for i, p in zip(batch, out):
            predictions[i] = _checked(model, examples[i], p)
        if store:
            store([(examples[i].id, predictions[i]) for i in batch])  # type: ignore[misc]
        finished += len(batch)
        if on_batch:
            on_batch(len(batch))
    return predictions  # type: ignore[return-value]  # None only where `share` left an example to another process


def _checked(model, example: Example, prediction: Any) -> str:
    if not isinstance(prediction, str):
        raise BenchError(f"model {model.name!r} returned a {type(prediction).__name__} prediction for example "
                         f"{example.id!r}", hint="predict() must return strings", exit_code=3)
    return prediction


def _position(model, batch: Sequence[int], pos: Any, done: Sequence[int]) -> int:
    """The example index of a position `predict_as_completed` yielded, checked."""
    if not isinstance(pos, int) or isinstance(pos, bool) or not 0 <= pos < len(batch) or batch[pos] in done:
        raise BenchError(f"model {model.name!r} yielded position {pos!r} for a batch of {len(batch)}"
                         + (" twice" if isinstance(pos, int) and 0 <= pos < len(batch) else ""),
                         hint="predict_as_completed() must yield each position of the batch once", exit_code=3)
    return batch[pos]


def _model_failure(model, ids: list[str], finished: int, cached: bool, e: BaseException) -> BenchError:
    """A model's own exception, as one message that says what was kept and how to go on."""
    shown = ", ".join(repr(i) for i in ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")
    detail = f"{type(e).__name__}: {e}".strip().splitlines()[0][:300]
    oom = is_out_of_memory(e)
    what = "ran out of memory" if oom else "failed"
    kept = (f"the {finished} predictions finished in this run are kept in the prediction cache; "
            "fix the problem and run the same command again to resume" if cached and finished else
            "fix the problem and run the same command again")
    hint = ("try a smaller --batch-size; " if oom else "") + kept + " (BENCH_DEBUG=1 shows the traceback)"
    return BenchError(f"model {model.name!r} {what} on a batch of {len(ids)} example(s) ({shown}): {detail}",
                      hint=hint, exit_code=3)


@dataclass(frozen=True)
class Predicted:
    """What predicting one model on one task's examples gave, and how it went (the model step's output)."""

    predictions: dict[str, str]
    """Example id -> prediction, for the examples this process predicted."""
    model_config: dict[str, Any]
    """What the model reported about itself ({} when nothing was predicted and the cache has no record)."""
    batch_size: int | str | None
    """The batch size the model ran with, as recorded in results.json."""
    load_s: float = 0.0
    predict_s: float = 0.0
    shared: dict[str, str] = field(default_factory=dict)
    """Example id -> prediction, for the examples another process predicted into the cache meanwhile."""
    model_timing: dict[str, Any] = field(default_factory=dict)
    model_warnings: list[str] = field(default_factory=list)


def run_pair(
    spec: ModelSpec,
    task: Task,
    examples: Sequence[Example],
    options: RunOptions,
    on_batch: Callable[[int], None] | None = None,
    note: Callable[[str], None] | None = None,
) -> tuple[RunRecord, list[dict[str, Any]]]:
    """Run one model on one task's examples; returns (run record, prediction rows).

    Steps: look the examples up in the prediction cache, predict the missing
    ones (batch by batch into the cache; when none are missing the model is
    not loaded), share them out across processes, score, build the record.
    """
    seed_everything(options.seed)
    started = time.time()
    t0 = time.perf_counter()
    world = distributed.current()
    cache, done = open_cache(spec, task, options, world)
    todo = [ex for ex in examples if ex.id not in done]
    n_todo = len(todo)
    if world.distributed:
        todo = todo[world.rank::world.size]  # this process's share
    if on_batch and len(todo) < len(examples):
        on_batch(len(examples) - n_todo)
    predicted = predict_missing(spec, task, todo, options, cache, on_batch, note)
    done.update(predicted.predictions)
    done.update(predicted.shared)
    n_todo -= len(predicted.shared)
    model_config = predicted.model_config
    if world.distributed:
        done, model_config = gather_predictions(world, done, predicted)
    predictions = [done[ex.id] for ex in examples]
    t2 = time.perf_counter()
    scores = score_examples(task_metric_specs(task, options), metric_inputs(examples, predictions),
                            options.metric_options, cache_dir=metric_cache_dir(options))
    score_s = time.perf_counter() - t2
    timing = {
        "total_s": time.perf_counter() - t0,
        "load_s": predicted.load_s,
        "predict_s": predicted.predict_s,
        "score_s": score_s,
        # Measured on the predictions made in this run only; null when all of them came from the cache.
        "examples_per_s": n_todo / predicted.predict_s if n_todo and predicted.predict_s > 0 else None,
        "predicted": n_todo,
        "cached": len(examples) - n_todo,
        **predicted.model_timing,
    }
    record = run_record(
        spec, task, options, scores,
        n=len(examples),
        model_config={"kind": spec.kind, **model_config},
        batch_size=predicted.batch_size,
        cache={"key": cache.key if cache else None, "reused": len(examples) - n_todo, "predicted": n_todo},
        provenance={**provenance(str(model_config.get("device", "cpu"))), "model_source": spec.source,
                    "started_at": iso_time(started), "finished_at": iso_time(time.time())},
        timing=timing,
        warnings=scores.warnings + predicted.model_warnings,
    )
    return record, prediction_rows(examples, predictions, scores.per_example, scores.details)


def task_metric_specs(task: Task, options: RunOptions) -> list[MetricSpec]:
    """The metrics a run of `task` is scored with: the task's (with its options) and those asked for."""
    return with_extras([MetricSpec(name, dict(task.metric_settings.get(name, {}))) for name in task.metrics],
                       options.metrics)


def metric_inputs(examples: Sequence[Example], predictions: Sequence[str]) -> MetricInputs:
    """What metrics read of a task's examples and their predictions: the input is the document (the source
    of a summary, the context of a question)."""
    scores = [na if (na := no_answer_score(p)) is not None and math.isfinite(na) else None for p in predictions]
    questions = [ex.question for ex in examples]
    return MetricInputs(
        ids=[ex.id for ex in examples], predictions=[str(p) for p in predictions],
        references=[list(ex.references) for ex in examples], documents=[ex.input for ex in examples],
        questions=questions if any(q is not None for q in questions) else None,
        no_answer_scores=scores if any(v is not None for v in scores) else None,
    )


def metric_cache_dir(options: RunOptions) -> Path | None:
    """Where metrics keep what they cache (model-based metrics: pair scores), beside the prediction cache."""
    return metrics_cache_dir(options.output_dir) if options.use_cache else None


def check_metrics(tasks: Sequence[Task], options: RunOptions) -> None:
    """Every metric of every task resolved (a user's and an `evaluate` metric imported), its options
    accepted and what it needs present, before any model loads: a typo costs nothing."""
    for task in tasks:
        for spec in task_metric_specs(task, options):
            cls = resolve_metric(spec.name)
            if cls.task_types and task.type not in cls.task_types:
                raise BenchError(f"metric {spec.name!r} does not apply to {task.type} tasks (task {task.name!r})",
                                 hint=f"it scores {', '.join(cls.task_types)} tasks")
            cls(options.metric_options, spec.settings, None).close()
            if "no_answer_score" not in cls.needs:
                probe = MetricInputs(ids=["x"], predictions=[""], references=[[]], documents=["x"],
                                     questions=["x"] if task.type == "qa" else None)
                check_needs(spec, cls, probe, where=f"task {task.name!r}")


def creation_options(options: RunOptions) -> dict[str, Any]:
    """What a model is created with: the model options, the batch size and the seed."""
    return {**dict(options.model_options), "batch_size": options.batch_size, "seed": options.seed}


def open_cache(spec: ModelSpec, task: Task, options: RunOptions,
               world: distributed.World) -> tuple[PredictionCache | None, dict[str, str]]:
    """The prediction cache of this (model, task) pair (None with `use_cache` off) and what it holds already.

    With `fresh`, the main process removes the old files and every process
    starts from nothing. Every process sees the same cache before any of them
    appends to it.
    """
    cache = None
    done: dict[str, str] = {}
    if options.use_cache:
        cache = PredictionCache(options.output_dir, task.name, spec.source,
                                model_identity(spec, task, creation_options(options)))
        if options.fresh:
            if world.is_main:
                cache.clear()
        else:
            done = cache.load()
    distributed.barrier(world)
    return cache, done


def predict_missing(spec: ModelSpec, task: Task, todo: Sequence[Example], options: RunOptions,
                    cache: PredictionCache | None, on_batch: Callable[[int], None] | None,
                    note: Callable[[str], None] | None = None) -> Predicted:
    """Load the model and predict `todo` into the cache; with nothing to do, the model's record from the cache.
    `note` is shown the model's loading line (`ModelSpec.loading_note`) before it loads.

    The model and the cache are closed whatever happens.
    """
    model = None
    try:
        if todo:
            loading = spec.loading_note(creation_options(options)) if note is not None else None
            if loading:
                note(loading)
            t0 = time.perf_counter()
            model = spec.create(**creation_options(options))
            load_s = time.perf_counter() - t0
            # "auto" (or none): the model's own size; it may split further (halving on out-of-memory).
            chunk = options.batch_size if isinstance(options.batch_size, int) else getattr(
                model, "default_batch_size", 32)
            batch_size = options.batch_size or chunk
            t1 = time.perf_counter()
            new = predict_all(model, task, todo, chunk, on_batch, store=cache.append if cache else None,
                              share=None if cache is None or options.fresh else cache.share)
            made = {ex.id: p for ex, p in zip(todo, new) if p is not None}
            shared = {}
            if len(made) < len(todo):  # left to another process: read from the cache, predicted here if not there
                assert cache is not None
                rest = [ex for ex in todo if ex.id not in made]
                shared = cache.get([ex.id for ex in rest])
                left = [ex for ex in rest if ex.id not in shared]
                made.update(zip([ex.id for ex in left], predict_all(model, task, left, chunk, on_batch, cache.append)))
                if on_batch and shared:
                    on_batch(len(shared))
            predict_s = time.perf_counter() - t1
            model_config = model.describe()
            if cache:
                cache.save_model_config(model_config, batch_size)
            predicted = Predicted(predictions=made, model_config=model_config, batch_size=batch_size, load_s=load_s,
                                  predict_s=predict_s, shared=shared)
        elif cache:
            model_config, batch_size = cache.model_config()
            missing = [] if model_config else [
                "every prediction came from the cache, and the run that made them stopped before recording the "
                "model's description (config.model); run with --no-cache to record it"]
            predicted = Predicted(predictions={}, model_config=model_config, batch_size=batch_size,
                                  model_warnings=missing)
        else:
            predicted = Predicted(predictions={}, model_config={}, batch_size=options.batch_size)
    finally:
        if model is not None:
            model.close()
        if cache:
            cache.close()
    if model is None:
        return predicted
    return replace(predicted, model_timing=dict(getattr(model, "timing", None) or {}),
                   model_warnings=list(getattr(model, "warnings", []) or []))


def gather_predictions(world: distributed.World, done: dict[str, str],
                       predicted: Predicted) -> tuple[dict[str, str], dict[str, Any]]:
    """Every process's predictions and the model's record (the first process's that has one), on every process."""
    done = dict(done)
    model_config = predicted.model_config
    for share, config in distributed.gather((predicted.predictions, predicted.model_config), world):
        done.update(share)
        model_config = model_config or config
    return done, {**model_config, "processes": world.size}


def run_record(spec: ModelSpec, task: Task, options: RunOptions, scores: Scores, *, n: int,
               model_config: Mapping[str, Any], batch_size: int | str | None, cache: Mapping[str, Any],
               provenance: Mapping[str, Any], timing: Mapping[str, Any], warnings: list[str]) -> RunRecord:
    """The run record of one (model, task) pair."""
    return RunRecord(
        schema_version=SCHEMA_VERSION,
        run_id=new_run_id(),
        model=spec.name,
        task=task.name,
        task_type=task.type,
        task_version=task.version,
        task_hash=task.hash,
        n_examples=n,
        scores=MetricResults.from_dict(scores.metrics, scores.ci, scores.signatures, scores.counts),
        reference=MetricResults.from_dict(**scores.reference) if scores.reference else None,
        config=RunConfig(frozen({
            "seed": options.seed,
            "limit": options.limit,
            "sample": options.sample,
            "batch_size": batch_size,
            "metric_options": asdict(options.metric_options),
            "metrics": scores.metric_records(task_metric_specs(task, options)),
            "model": dict(model_config),
            "task": {"path": str(task.path), **task.data_source(), "generation": dict(task.generation),
                     "summary_sentences": task.summary_sentences, "metrics": list(task.metrics)},
            "cache": dict(cache),
        })),
        provenance=Provenance(frozen(dict(provenance))),
        timing=Timing(frozen(dict(timing))),
        warnings=tuple(warnings),
    )


def prediction_rows(examples: Sequence[Example], predictions: Sequence[str],
                    per_example: Sequence[Mapping[str, float]],
                    details: Sequence[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
    """The lines of predictions.jsonl: id, prediction, references, scores (and the question, for QA; an
    extractive answer's no-answer score; what metrics keep per example, under ``details``)."""
    rows = []
    for k, (ex, pred, sc) in enumerate(zip(examples, predictions, per_example)):
        row: dict[str, Any] = {"id": ex.id, "prediction": str(pred), "references": list(ex.references), "scores": sc}
        if ex.question is not None:
            row["question"] = ex.question
        na = no_answer_score(pred)
        if na is not None and math.isfinite(na):
            row["no_answer_score"] = na
        if k < len(details) and details[k]:
            row["details"] = dict(details[k])
        rows.append(row)
    return rows


def run(
    specs: Sequence[ModelSpec],
    tasks: Sequence[Task],
    options: RunOptions,
    *,
    explicit_tasks: bool = False,
    progress: Any = None,
) -> list[tuple[RunRecord, Path]]:
    """Run every compatible (model, task) pair and write each run directory."""
    pairs = check_pairs(specs, tasks, explicit_tasks)
    check_names_free(options.output_dir, pairs)
    for spec in {id(spec): spec for spec, _ in pairs}.values():
        spec.identity(creation_options(options))  # refuses bad settings (e.g. an unknown --gen key) now
    check_metrics(list({id(t): t for _, t in pairs}.values()), options)
    loaded = {t.name: load_examples(t, limit=options.limit, sample=options.sample, seed=options.seed)
              for t in {id(t): t for _, t in pairs}.values()}
    world = distributed.current()
    out = []
    for spec, task in pairs:
        task, exs = loaded[task.name]  # as loaded: a dataset task's hash covers its fingerprint
        advance = progress.start(spec.name, task.name, len(exs)) if progress and world.is_main else None
        note = getattr(progress, "note", None) if progress and world.is_main else None
        try:
            record, rows = run_pair(spec, task, exs, options, advance, note)
        finally:
            if progress and world.is_main:
                progress.stop()
        if world.is_main:
            path = write_run(options.output_dir, record, rows)
            out.append((record, path))
        distributed.barrier(world)
    return out
