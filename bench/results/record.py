"""The run record: one frozen `RunRecord` per results.json, what the store reads and writes and every reader uses.

A run record says which model ran on which task, what it scored (`MetricResults`: the metrics, their 95%
CIs, signatures and counts), what the task's references score on the same statistics (the ``reference``
block), how the run was made (`RunConfig`), by which software and machine (`Provenance`), and how long it
took (`Timing`). `RunRecord.from_dict` types a results.json object that `bench.results.store.read_run` has
checked; `RunRecord.to_dict` gives it back, field for field and in the same order, so writing a record that
was read (or built by the runner) gives the very bytes bench always wrote: the file format is the one
`RESULT_FIELDS` and `SCHEMA_VERSION` describe, and does not depend on this type.

The blocks whose contents vary with the model, the metrics and the machine (``config``, ``provenance``,
``timing``) keep their JSON object as it was written (`fields`, read-only) and type what bench reads from
them as properties. Nothing here imports torch or any stage above the results.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

#: 2: metrics beyond ROUGE and SQuAD (``config.metrics``), corpus-only values with a null CI, the
#: ``reference`` block. Version 1 records are read as they are.
SCHEMA_VERSION = 2

#: Field order of results.json; part of the format.
RESULT_FIELDS = (
    "schema_version", "run_id", "model", "task", "task_type", "task_version", "task_hash",
    "n_examples", "metrics", "ci", "signatures", "counts", "reference", "config", "provenance", "timing", "warnings",
)

#: The directions a score can have (`bench.metrics.metric.Metric.directions`).
HIGHER, LOWER, NONE = "higher", "lower", "none"

#: The fields of ``timing`` that bench writes and reads back: seconds and examples per second.
TIMING_NUMBERS = ("total_s", "load_s", "predict_s", "score_s", "examples_per_s")


# ------------------------------------------------------------------ JSON values, read-only


def frozen(value: Any) -> Any:
    """A read-only copy of a JSON value: objects as read-only mappings, arrays as tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: frozen(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(frozen(v) for v in value)
    return value


def thawed(value: Any) -> Any:
    """A plain JSON value again (dicts and lists) from a `frozen` one."""
    if isinstance(value, Mapping):
        return {k: thawed(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [thawed(v) for v in value]
    return value


def is_number(value: Any) -> bool:
    """An int or float that is not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def number(value: Any) -> float | None:
    """`value` as a float when it is a finite number, else None (so is an int too large for a float)."""
    if not is_number(value):
        return None
    try:
        f = float(value)
    except OverflowError:
        return None
    return f if math.isfinite(f) else None


def averaged(signature: Any) -> bool:
    """Whether a score is a mean of per-example scores (``agg:mean`` in its signature), which has a CI."""
    return not isinstance(signature, str) or "|agg:" not in signature or "|agg:mean" in signature


# ------------------------------------------------------------------ blocks


@dataclass(frozen=True)
class MetricResults:
    """Scores with their 95% CIs, signatures and counts: a run's own (results.json's ``metrics``, ``ci``,
    ``signatures`` and ``counts``), or the statistics of the task's references (its ``reference`` block, and a
    comparison table's reference row)."""

    metrics: Mapping[str, float | None]
    """Score name -> value (rates x100), in the order written; None for a mean of no examples."""
    ci: Mapping[str, tuple[float | None, float | None] | None]
    """Score name -> 95% bootstrap interval (lo, hi); None (JSON null) for a corpus-only value, (None, None) for a
    mean of no examples. Use `interval` for a pair in every case."""
    signatures: Mapping[str, str]
    """Score name -> its signature (every option that changes the number, bench's version last)."""
    counts: Mapping[str, int] = field(default_factory=dict)
    """What the metrics counted (``<score>_unscored``: examples a metric could not score; ``reference_examples``:
    examples with a reference, in a reference block)."""

    def interval(self, name: str) -> tuple[float | None, float | None]:
        """The 95% CI of score `name` as (lo, hi), (None, None) when it has none."""
        pair = self.ci.get(name)
        return (None, None) if pair is None else pair

    def corpus_only(self, name: str) -> bool:
        """Whether score `name` is one value over the whole set (no CI, no per-example scores)."""
        return not averaged(self.signatures.get(name))

    @property
    def unscored(self) -> dict[str, int]:
        """Score -> examples its metric could not score (``counts["<score>_unscored"]`` > 0): left out of its mean."""
        return {k: v for k in self.metrics
                if is_number(v := self.counts.get(f"{k}_unscored")) and isinstance(v, int) and v > 0}

    @classmethod
    def from_dict(cls, metrics: Any, ci: Any, signatures: Any, counts: Any = None) -> MetricResults:
        """The block of a checked results.json; what is not a number, pair or string reads as None (a record read
        without its scores checked, for rescoring, which replaces them)."""
        metrics = metrics if isinstance(metrics, Mapping) else {}
        ci = ci if isinstance(ci, Mapping) else {}
        signatures = signatures if isinstance(signatures, Mapping) else {}
        return cls(metrics=MappingProxyType({k: number(v) for k, v in metrics.items()}),
                   ci=MappingProxyType({k: _pair(v) for k, v in ci.items()}),
                   signatures=MappingProxyType({k: str(v) for k, v in signatures.items()}),
                   counts=MappingProxyType({k: v for k, v in (counts or {}).items()
                                            if isinstance(v, int) and not isinstance(v, bool)}
                                           if isinstance(counts, Mapping) else {}))

    def to_dict(self) -> dict[str, Any]:
        """``{"metrics", "ci", "signatures", "counts"}`` as results.json writes them (a CI as [lo, hi] or null)."""
        return {"metrics": dict(self.metrics),
                "ci": {k: None if v is None else list(v) for k, v in self.ci.items()},
                "signatures": dict(self.signatures), "counts": dict(self.counts)}


def _pair(value: Any) -> tuple[float | None, float | None] | None:
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return (number(value[0]), number(value[1]))
    return None


@dataclass(frozen=True)
class MetricConfig:
    """One entry of ``config.metrics``: a metric the run was scored with, and its own options."""

    name: str
    """A built-in metric name, ``module:Class``, an entry point or ``evaluate:NAME``."""
    settings: Mapping[str, Any] = field(default_factory=dict)
    """The metric's own options (``--metric-opt``), as recorded."""
    directions: Mapping[str, str] = field(default_factory=dict)
    """Score -> "lower" or "none" for the scores of a metric that is not bench's own (which `bench compare`
    cannot ask without running its code)."""


def _typed(key: str, kinds: type | tuple[type, ...], doc: str) -> property:
    """A property of a block: ``fields[key]`` when it is of `kinds` (a bool is no number), else None."""
    def get(self: Any) -> Any:
        value = self.fields.get(key)
        ok = isinstance(value, kinds) and (bool in (kinds if isinstance(kinds, tuple) else (kinds,))
                                           or not isinstance(value, bool))
        return value if ok else None
    return property(get, doc=doc)


def _block(key: str, doc: str) -> property:
    """A property of a block: the mapping ``fields[key]`` (empty when absent or not a mapping)."""
    def get(self: Any) -> Mapping[str, Any]:
        value = self.fields.get(key)
        return value if isinstance(value, Mapping) else MappingProxyType({})
    return property(get, doc=doc)


@dataclass(frozen=True)
class RunConfig:
    """``config``: how the run was made (seed, example selection, batch size, metrics and their options, the
    model's description, the task's source, the prediction cache; ``rescored_from`` for a rescored run)."""

    fields: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    """The block as written (read-only), for what the properties do not type."""

    seed = _typed("seed", int, "The seed of `--sample` and of the model's sampling.")
    limit = _typed("limit", int, "`--limit`: the first N examples (None: all).")
    sample = _typed("sample", int, "`--sample`: a seeded random N examples (None: all).")
    batch_size = _typed("batch_size", (int, str), "The batch size the model ran with (or \"auto\").")
    rescored_from = _typed("rescored_from", str, "The run id this run was rescored from (`bench rescore`), else None.")
    metric_options = _block("metric_options", "The options every metric shares (stemmer, sentence splitting, "
                                              "tokenizer, bootstrap seed and resamples).")
    model = _block("model", "What the model reported about itself (kind, name, revision, dtype, device, "
                            "generation settings, ...).")
    task = _block("task", "The task's definition file, data source, generation settings and metrics.")
    cache = _block("cache", "The prediction cache: its key, and how many predictions were reused or made.")

    @property
    def metrics(self) -> tuple[MetricConfig, ...]:
        """The metrics the run was scored with (``config.metrics``; empty in a schema 1 record)."""
        specs = self.fields.get("metrics")
        if not isinstance(specs, (list, tuple)):
            return ()
        out = []
        for m in specs:
            if isinstance(m, Mapping) and isinstance(m.get("name"), str):
                settings, directions = m.get("settings"), m.get("directions")
                out.append(MetricConfig(m["name"], settings if isinstance(settings, Mapping) else {},
                                        directions if isinstance(directions, Mapping) else {}))
            elif isinstance(m, str):
                out.append(MetricConfig(m))
        return tuple(out)


def metric_names(config: Mapping[str, Any], task_type: Any) -> list[str]:
    """The metrics a checked run record was scored with: ``config.metrics`` (schema 2), else its task's, else
    the default of its task type."""
    specs = config.get("metrics")
    if isinstance(specs, (list, tuple)) and specs:
        return [m["name"] if isinstance(m, Mapping) else m for m in specs]
    task = config.get("task")
    names = task.get("metrics") if isinstance(task, Mapping) else None
    return list(names) if names else ["rouge"] if task_type == "summarization" else ["squad"]


def metric_specs(config: Mapping[str, Any], task_type: Any) -> list[dict[str, Any]]:
    """``[{"name", "settings"}]``: the metrics a run was scored with and their own options."""
    specs = config.get("metrics")
    if isinstance(specs, (list, tuple)) and specs and all(isinstance(m, Mapping) for m in specs):
        return [{"name": m["name"], "settings": thawed(m.get("settings") or {})} for m in specs]
    return [{"name": n, "settings": {}} for n in metric_names(config, task_type)]


@dataclass(frozen=True)
class Provenance:
    """``provenance``: which bench, packages, commit, machine and command made the run, and when
    (`bench.results.provenance`)."""

    fields: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    """The block as written (read-only); keys a version of bench did not record are absent."""

    bench_version = _typed("bench_version", str, "bench's version.")
    packages = _block("packages", "Package -> version, for the installed packages that can change a run's numbers.")
    git_commit = _typed("git_commit", str, "The commit of bench's own source, when it ran from a git checkout.")
    git_dirty = _typed("git_dirty", bool, "Whether that checkout had changes.")
    python = _typed("python", str, "Python's version.")
    platform = _typed("platform", str, "The operating system, as `platform.platform()` says.")
    device = _typed("device", str, "Where the model ran: \"cpu\", \"cuda:0\", ...")
    command = _typed("command", str, "The `bench ...` command that made the run (None when called from Python).")
    model_source = _typed("model_source", str, "The model's own name: a local directory's absolute path, a hub id "
                                               "or alias, ``module:Class``, ... (the run's `model` may be a name "
                                               "given with --name); None in a record of an earlier bench.")
    started_at = _typed("started_at", str, "When the run started: UTC, ISO 8601 to the second.")
    finished_at = _typed("finished_at", str, "When the run finished: UTC, ISO 8601 to the second.")


@dataclass(frozen=True)
class Timing:
    """``timing``: seconds spent loading, predicting and scoring, and the throughput."""

    fields: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    """The block as written (read-only): also what the model measured (generated tokens, peak memory, ...)."""

    def seconds(self, key: str) -> float | None:
        """One of `TIMING_NUMBERS` (total_s, load_s, predict_s, score_s, examples_per_s), None when not recorded."""
        return number(self.fields.get(key))

    @property
    def examples_per_s(self) -> float | None:
        """The throughput as recorded (see `RunRecord.examples_per_s` for whether it was this run's)."""
        return number(self.fields.get("examples_per_s"))


# ------------------------------------------------------------------ the record


@dataclass(frozen=True, eq=False)
class RunRecord(Mapping[str, Any]):
    """One run of one model on one task: results.json, typed.

    Built by the runner and by rescoring, written by `bench.results.store.write_run`, and read back through
    `bench.results.store.read_record` (which checks the file first) by everything that reads runs:
    comparison tables, paired statistics, the leaderboard, the HTML report, `bench correlate` and the Python
    API. `to_dict` is results.json's object, and the record also reads as that object (a read-only mapping:
    ``record["metrics"]`` is a fresh dict each time), so two records are equal when their files would say
    the same, wherever they were read from.
    """

    schema_version: int
    """`SCHEMA_VERSION` of the bench that wrote it."""
    run_id: str
    """UTC time and 6 random hex digits (``20260101T000000Z-abcdef``): sorts by age."""
    model: str
    """The model's name (a built-in, a Hugging Face id or path, ``module:Class``, ...)."""
    task: str
    """The task's name."""
    task_type: str | None
    """"summarization", "qa", ... (None in a record that does not say)."""
    task_version: int | None
    """The task definition's ``version``."""
    task_hash: str
    """Hash of the task definition and its examples: runs with different hashes are never compared."""
    n_examples: int
    """How many examples were predicted and scored."""
    scores: MetricResults
    """The run's metrics, 95% CIs, signatures and counts."""
    reference: MetricResults | None = None
    """The statistics of the task's references (extractiveness computed on them), or None."""
    config: RunConfig = field(default_factory=RunConfig)
    provenance: Provenance = field(default_factory=Provenance)
    timing: Timing = field(default_factory=Timing)
    warnings: tuple[str, ...] = ()
    """What the run warned about (e.g. text ROUGE's tokenizer could not read)."""
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    """Top-level fields bench does not know (a record of a newer or another writer), kept and written after the
    others."""
    absent: frozenset[str] = frozenset()
    """The `RESULT_FIELDS` the file did not have (records of older versions): left out again by `to_dict`."""
    path: Path | None = field(default=None, compare=False)
    """The run directory it was read from (None for a record not read from a file)."""
    mtime_ns: int = field(default=0, compare=False)
    """results.json's modification time (ns) when it was read: orders runs of the same second."""

    # ---------------------------------------------------------------- reading and writing

    @classmethod
    def from_dict(cls, record: Mapping[str, Any], *, path: Path | None = None, mtime_ns: int = 0) -> RunRecord:
        """The record of a results.json object checked by `bench.results.store.read_run`."""
        reference = record.get("reference")
        config = record.get("config")
        provenance = record.get("provenance")
        timing = record.get("timing")
        warnings = record.get("warnings")
        return cls(
            schema_version=record["schema_version"], run_id=record["run_id"], model=record["model"],
            task=record["task"], task_type=record.get("task_type"), task_version=record.get("task_version"),
            task_hash=record["task_hash"], n_examples=record["n_examples"],
            scores=MetricResults.from_dict(record.get("metrics"), record.get("ci"), record.get("signatures"),
                                           record.get("counts")),
            reference=(MetricResults.from_dict(reference["metrics"], reference["ci"], reference["signatures"],
                                               reference.get("counts"))
                       if isinstance(reference, Mapping) and isinstance(reference.get("metrics"), Mapping) else None),
            config=RunConfig(frozen(config) if isinstance(config, Mapping) else MappingProxyType({})),
            provenance=Provenance(frozen(provenance) if isinstance(provenance, Mapping) else MappingProxyType({})),
            timing=Timing(frozen(timing) if isinstance(timing, Mapping) else MappingProxyType({})),
            warnings=tuple(str(w) for w in warnings) if isinstance(warnings, list) else (),
            extra=frozen({k: v for k, v in record.items() if k not in RESULT_FIELDS}),
            absent=frozenset(k for k in RESULT_FIELDS if k not in record and k != "reference"),
            path=path, mtime_ns=mtime_ns)

    def to_dict(self) -> dict[str, Any]:
        """results.json's object: `RESULT_FIELDS` in order (those the record has), then `extra`."""
        scores = self.scores.to_dict()
        out: dict[str, Any] = {
            "schema_version": self.schema_version, "run_id": self.run_id, "model": self.model, "task": self.task,
            "task_type": self.task_type, "task_version": self.task_version, "task_hash": self.task_hash,
            "n_examples": self.n_examples, "metrics": scores["metrics"], "ci": scores["ci"],
            "signatures": scores["signatures"], "counts": scores["counts"],
        }
        if self.reference is not None:
            out["reference"] = self.reference.to_dict()
        out.update(config=thawed(self.config.fields), provenance=thawed(self.provenance.fields),
                   timing=thawed(self.timing.fields), warnings=list(self.warnings))
        out = {k: v for k, v in out.items() if k not in self.absent}
        out.update(thawed(self.extra))
        return out

    # ---------------------------------------------------------------- results.json's object, read-only

    @cached_property
    def _json(self) -> Mapping[str, Any]:
        return frozen(self.to_dict())

    def __getitem__(self, key: str) -> Any:
        return thawed(self._json[key])

    def __iter__(self):
        return iter(self._json)

    def __len__(self) -> int:
        return len(self._json)

    # ---------------------------------------------------------------- what readers ask

    @property
    def metrics(self) -> Mapping[str, float | None]:
        """The run's scores (`scores.metrics`)."""
        return self.scores.metrics

    @property
    def signatures(self) -> Mapping[str, str]:
        return self.scores.signatures

    def interval(self, metric: str) -> tuple[float | None, float | None]:
        """The 95% CI of `metric`, (None, None) when it has none."""
        return self.scores.interval(metric)

    def corpus_only(self, metric: str) -> bool:
        """Whether `metric` is one value over the whole set (no CI, no per-example scores)."""
        return self.scores.corpus_only(metric)

    @property
    def unscored(self) -> dict[str, int]:
        """Score -> examples the metric could not score: left out of its mean."""
        return self.scores.unscored

    @property
    def examples_per_s(self) -> float | None:
        """The run's throughput if the run measured it, else None.

        A rescored run (``config.rescored_from``) and a run whose predictions all came from the prediction
        cache (``timing.predicted`` or, in older records, ``config.cache.predicted`` is 0) predicted
        nothing, so a throughput they carry was measured by another run and is not theirs.
        """
        return measured_speed(self.config.fields, self.timing.fields)

    @property
    def order(self) -> tuple[str, int, str]:
        """Sort key for 'latest': (run id timestamp, results.json mtime in ns, run id)."""
        return (self.run_id.split("-", 1)[0], self.mtime_ns, self.run_id)

    @property
    def metric_names(self) -> list[str]:
        """The metrics the run was scored with: ``config.metrics``, else its task's, else its task type's default."""
        return metric_names(self.config.fields, self.task_type)

    @cached_property
    def directions(self) -> Mapping[str, str]:
        """Score -> "higher", "lower" or "none" (`score_directions`)."""
        return MappingProxyType(score_directions(self))

    def direction(self, metric: str) -> str:
        return self.directions.get(metric, HIGHER)


def measured_speed(config: Mapping[str, Any], timing: Mapping[str, Any]) -> float | None:
    """``timing.examples_per_s`` if the run measured it, else None (`RunRecord.examples_per_s`)."""
    cache = config.get("cache") if isinstance(config.get("cache"), Mapping) else {}
    if config.get("rescored_from") is not None or timing.get("predicted") == 0 or cache.get("predicted") == 0:
        return None
    return number(timing.get("examples_per_s"))


def score_directions(record: RunRecord | Mapping[str, Any]) -> dict[str, str]:
    """Score -> its direction, as the run's built-in metrics declare it (`Metric.direction_of`); a score of a
    user's or an `evaluate` metric, which bench cannot ask without running its code, has the direction the run
    recorded for it (``config.metrics[i].directions``), else "higher"."""
    from bench.metrics import METRICS

    if isinstance(record, RunRecord):
        config, task_type, scores = record.config.fields, record.task_type, list(record.metrics)
    else:
        config, task_type, scores = record.get("config") or {}, record.get("task_type"), list(record["metrics"])
    classes = [METRICS.get(m) for m in metric_names(config, task_type) if m in METRICS]
    recorded: dict[str, str] = {}
    for spec in config.get("metrics") or []:
        if (isinstance(spec, Mapping) and isinstance(spec.get("directions"), Mapping)
                and spec.get("name") not in METRICS):
            recorded.update({k: v for k, v in spec["directions"].items() if v in (HIGHER, LOWER, NONE)})
    out: dict[str, str] = {}
    for name in scores:
        found = [d for d in (cls.direction_of(name) for cls in classes) if d != HIGHER]
        out[name] = found[0] if found else recorded.get(name, HIGHER)
    return out

