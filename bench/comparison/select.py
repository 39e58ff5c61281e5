"""Which runs to compare: reading run records, filtering, the latest runs, and the sections they form.

Runs (`bench.results.record.RunRecord`, read by `bench.results.store.read_record`) -> sections -> rows.
A *section* holds the runs of one task that can share
a column: the same task hash (task definition and examples), the same number
of examples and the same signature for every metric shown. Runs that differ in
any of these are put in a section of their own, with a note saying what
differs; they are never silently put in one column.

A section may also have a *reference* row: statistics that describe a text
(extractiveness) computed on the task's references instead of a model's
predictions, taken from the runs' ``reference`` blocks. It is not a model: it
is never best, never a baseline and never in a paired test.

Each score has a direction (`Metric.direction_of`: "higher", "lower", or
"none" for a statistic that describes and ranks nothing); only scores with a
direction get a best value and order the rows. A corpus-only value (its
signature's ``agg`` is not ``mean``: SQuAD 2.0's best thresholds, an
`evaluate` metric's corpus value) has no CI and no per-example scores.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from bench.errors import BenchError
from bench.registry import did_you_mean
from bench.results.reading import find_run_files, no_runs_error
from bench.results.record import HIGHER, LOWER, NONE, MetricResults, RunRecord, averaged
from bench.results.store import read_record, slug

#: Column name of the throughput column in `Section.best`.
SPEED = "examples_per_s"
#: Told how far a long step has come: (what it does, items done, items in all).
Progress = Callable[[str, int, int], None]

# ------------------------------------------------------------------ runs


def collect_runs(paths: Sequence[Path], progress: Progress | None = None) -> list[RunRecord]:
    """All runs under `paths`, read and checked by `bench.results.store.read_record`; a malformed or
    newer-schema results.json is a `BenchError` naming it. `progress` is told of each file read."""
    files = find_run_files(paths)
    if not files:
        raise no_runs_error(paths)
    out = []
    for p in files:
        out.append(read_record(p))
        if progress is not None:
            progress("reading runs", len(out), len(files))
    return out


def _check_names(kind: str, asked: Sequence[str], known: Iterable[str]) -> None:
    known = sorted(set(known))
    for name in asked:
        if name not in known:
            raise BenchError(f"no run has {kind} {name!r}.{did_you_mean(name, known)}",
                             hint=f"{kind}s in these results: {', '.join(known)}")


def filter_runs(runs: Sequence[RunRecord], *, tasks: Sequence[str] = (), models: Sequence[str] = (),
                metrics: Sequence[str] = ()) -> list[RunRecord]:
    """Runs of the asked tasks and models (names or their directory slugs) with any asked metric."""
    _check_names("task", tasks, [r.task for r in runs])
    models_known = {r.model for r in runs} | {slug(r.model) for r in runs}
    _check_names("model", models, models_known)
    out = [r for r in runs if (not tasks or r.task in tasks)
           and (not models or r.model in models or slug(r.model) in models)]
    _check_names("metric", metrics, [m for r in out for m in r.metrics])
    if metrics:
        out = [r for r in out if any(m in r.metrics for m in metrics)]
    return out


def shown_metrics(run: RunRecord, metrics: Sequence[str] = ()) -> tuple[str, ...]:
    """The metric columns of `run`: the asked ones it has (in the asked order), or all of its own."""
    return tuple(m for m in metrics if m in run.metrics) if metrics else tuple(run.metrics)


def comparable_key(run: RunRecord, metrics: Sequence[str] = ()) -> tuple:
    """Runs with equal keys can share a column: same task, task hash, size and metric signatures."""
    cols = shown_metrics(run, metrics)
    return (run.task, run.task_hash, run.n_examples, tuple((m, run.signatures[m]) for m in cols))


def latest_runs(runs: Sequence[RunRecord], metrics: Sequence[str] = ()) -> list[RunRecord]:
    """The latest run of each model on each task, separately for each comparable setting."""
    best: dict[tuple, RunRecord] = {}
    for r in runs:
        key = (r.model, comparable_key(r, metrics))
        if key not in best or r.order > best[key].order:
            best[key] = r
    return list(best.values())


# -------------------------------------------------------------- sections


@dataclass(frozen=True)
class Section:
    """Runs of one task that share every column; one table."""

    task: str
    task_hash: str
    n: int
    metrics: tuple[str, ...]
    signatures: Mapping[str, str]
    runs: tuple[RunRecord, ...]
    """Sorted by `ranked_by`, best first (by model name when no column has a direction)."""
    best: Mapping[str, float]
    """Column (metric or `SPEED`) -> its best value, for columns with a direction and two or more values."""
    index: int = 1
    """1-based position among the sections of this task."""
    of: int = 1
    """How many sections this task has."""
    note: str | None = None
    """Why these runs are kept apart from the task's first section."""
    directions: Mapping[str, str] = field(default_factory=dict)
    """Column -> "higher", "lower" or "none"."""
    reference: MetricResults | None = None
    """The reference row: the shown statistics computed on the task's references (`section_reference`)."""
    reference_note: str | None = None
    """What the reference row leaves out, or where the runs' reference blocks disagree."""

    @property
    def title(self) -> str:
        return self.task if self.of == 1 else f"{self.task} (table {self.index} of {self.of})"

    def direction(self, metric: str) -> str:
        return self.directions.get(metric, HIGHER)

    def corpus_only(self, metric: str) -> bool:
        """Whether column `metric` holds one value over the whole set (no CI, no per-example scores)."""
        return not averaged(self.signatures.get(metric))

    @property
    def ranked_by(self) -> str | None:
        """The column the rows are ordered by: the first with a direction, None when none has one."""
        return next((m for m in self.metrics if self.direction(m) != NONE), None)

    @property
    def corpus_only_metrics(self) -> tuple[str, ...]:
        return tuple(m for m in self.metrics if self.corpus_only(m))

    @property
    def undirected_metrics(self) -> tuple[str, ...]:
        return tuple(m for m in self.metrics if self.direction(m) == NONE)


def parse_signature(sig: str) -> tuple[str, dict[str, str]]:
    """'rouge1|stem:porter|bench:0.1.0' -> ('rouge1', {'stem': 'porter', 'bench': '0.1.0'})."""
    name, *fields = sig.split("|")
    out: dict[str, str] = {}
    for f in fields:
        k, _, v = f.partition(":")
        out[k] = v
    return name, out


def difference_note(first: Section, other: Section) -> str:
    """Why `other` cannot share columns with `first` (the same task's first section)."""
    reasons: list[str] = []
    if other.task_hash != first.task_hash:
        reasons.append(f"task hash {other.task_hash[:12]} (first table: {first.task_hash[:12]}): "
                       "the task definition or its examples changed")
    if other.n != first.n:
        reasons.append(f"{other.n} examples (first table: {first.n}; e.g. a run with --limit)")
    missing = [m for m in first.metrics if m not in other.metrics]
    extra = [m for m in other.metrics if m not in first.metrics]
    if missing:
        reasons.append(f"no {', '.join(missing)} here")
    if extra:
        reasons.append(f"{', '.join(extra)} only here")
    by_change: dict[tuple[str, str, str], list[str]] = {}
    for m in other.metrics:
        if m in first.signatures and other.signatures[m] != first.signatures[m]:
            _, a = parse_signature(other.signatures[m])
            _, b = parse_signature(first.signatures[m])
            for k in sorted(set(a) | set(b)):
                if a.get(k) != b.get(k):
                    by_change.setdefault((k, a.get(k, "-"), b.get(k, "-")), []).append(m)
    for (k, mine, theirs), names in by_change.items():
        reasons.append(f"{k}:{mine} (first table: {k}:{theirs}) in the signature of {', '.join(names)}")
    return "Kept apart from the first table of this task: " + "; ".join(reasons or ["the metric columns differ"]) + "."


def _best(runs: Sequence[RunRecord], metrics: Sequence[str], directions: Mapping[str, str]) -> dict[str, float]:
    """The best value of each column with a direction (the largest, or the smallest where lower is better)
    and two or more values; a column that describes (direction "none") has no best."""
    best: dict[str, float] = {}
    for col in (*metrics, SPEED):
        direction = HIGHER if col == SPEED else directions.get(col, HIGHER)
        if direction == NONE:
            continue
        values = [v for v in (r.examples_per_s if col == SPEED else r.metrics.get(col) for r in runs)
                  if v is not None and math.isfinite(v)]
        if len(values) >= 2:
            best[col] = min(values) if direction == LOWER else max(values)
    return best


def _rank_key(metric: str | None, direction: str):
    def key(r: RunRecord) -> tuple:
        v = r.metrics.get(metric) if metric is not None else None
        if v is None or not math.isfinite(v):
            return (1, 0.0, r.model, r.order)
        return (0, v if direction == LOWER else -v, r.model, r.order)
    return key


def comparable_statistic(column: str, statistic: str) -> bool:
    """Whether a reference statistic (signature `statistic`) may stand in a column of signature `column`:
    the same name and fields, except what says whose text it was computed on (``of``, ``refs``)."""
    a_name, a = parse_signature(column)
    b_name, b = parse_signature(statistic)
    for f in ("of", "refs"):
        a.pop(f, None)
        b.pop(f, None)
    return a_name == b_name and a == b


def section_reference(runs: Sequence[RunRecord], metrics: Sequence[str],
                      signatures: Mapping[str, str]) -> tuple[MetricResults | None, str | None]:
    """The reference row of a section and a note, from the runs' ``reference`` blocks.

    Only the shown columns are kept, and only statistics whose signature
    matches their column's but for ``of``/``refs`` (`comparable_statistic`).
    Runs of one section scored the same examples with the same signatures, so
    their reference blocks agree; where they do not (or a run has none), the
    row is the one most runs have (the newest run's among equals) and the
    note names the runs that differ and how.
    """
    blocks: list[tuple[RunRecord, tuple]] = []
    left_out: set[str] = set()
    for r in runs:
        ref = r.reference
        cols = []
        for m in metrics:
            if ref is None or m not in ref.metrics or m not in ref.signatures:
                continue
            if not comparable_statistic(signatures[m], ref.signatures[m]):
                left_out.add(m)
                continue
            cols.append((m, ref.signatures[m], ref.metrics[m], ref.interval(m)))
        blocks.append((r, tuple(cols)))
    having = [(r, key) for r, key in blocks if key]
    if not having:
        return None, None
    counts: dict[tuple, list[RunRecord]] = {}
    for r, key in having:
        counts.setdefault(key, []).append(r)
    chosen = max(counts, key=lambda k: (len(counts[k]), max(r.order for r in counts[k])))
    source = counts[chosen][0].reference
    assert source is not None
    shown = [m for m, *_ in chosen]
    stats = MetricResults(metrics={m: v for m, _, v, _ in chosen}, ci={m: ci for m, _, _, ci in chosen},
                       signatures={m: sig for m, sig, _, _ in chosen}, counts=dict(source.counts))
    notes: list[str] = []
    if left_out:
        notes.append(f"Left out of the reference row: {', '.join(m for m in metrics if m in left_out)} "
                     "(computed with other settings than the column).")
    differ = []
    for r, key in blocks:
        if key == chosen:
            continue
        if not key:
            differ.append(f"{r.model} ({r.run_id}) has no reference statistics")
            continue
        mine = {m: (sig, v, ci) for m, sig, v, ci in key}
        theirs = {m: (sig, v, ci) for m, sig, v, ci in chosen}
        sig_diff = [m for m in mine if m in theirs and mine[m][0] != theirs[m][0]]
        val_diff = [m for m in mine if m in theirs and mine[m][0] == theirs[m][0] and mine[m] != theirs[m]]
        missing = [m for m in shown if m not in mine]
        parts = ([f"other signatures of {', '.join(sig_diff)}"] if sig_diff else []) + \
                ([f"other values of {', '.join(val_diff)}"] if val_diff else []) + \
                ([f"no {', '.join(missing)}"] if missing else [])
        differ.append(f"{r.model} ({r.run_id}) has {'; '.join(parts) or 'other statistics'}")
    if differ:
        models = ", ".join(r.model for r in counts[chosen])
        notes.append(f"The runs of this table disagree on the statistics of the references: the reference row is "
                     f"that of {models}; {'; '.join(differ)}.")
    return stats, " ".join(notes) or None


def build_sections(runs: Sequence[RunRecord], metrics: Sequence[str] = ()) -> list[Section]:
    """Group runs into sections: by task (sorted), then by comparable setting (largest, then newest, first)."""
    groups: dict[tuple, list[RunRecord]] = {}
    for r in runs:
        groups.setdefault(comparable_key(r, metrics), []).append(r)
    by_task: dict[str, list[list[RunRecord]]] = {}
    for key, members in groups.items():
        if key[3]:  # at least one metric column
            by_task.setdefault(key[0], []).append(members)
    sections: list[Section] = []
    for task in sorted(by_task):
        ordered = sorted(by_task[task], key=lambda g: max(r.order for r in g), reverse=True)
        ordered.sort(key=len, reverse=True)  # stable: largest first, newest first among equals
        first: Section | None = None
        for i, members in enumerate(ordered, 1):
            cols = shown_metrics(members[0], metrics)
            directions = {m: members[0].direction(m) for m in cols}
            head = next((m for m in cols if directions[m] != NONE), None)
            members = sorted(members, key=_rank_key(head, directions.get(head or "", HIGHER)))
            signatures = {m: members[0].signatures[m] for m in cols}
            reference, reference_note = section_reference(members, cols, signatures)
            s = Section(task=task, task_hash=members[0].task_hash, n=members[0].n_examples, metrics=cols,
                        signatures=signatures, runs=tuple(members), best=_best(members, cols, directions),
                        index=i, of=len(ordered), directions=directions, reference=reference,
                        reference_note=reference_note)
            if first is None:
                first = s
            else:
                s = replace(s, note=difference_note(first, s))
            sections.append(s)
    return sections


def select(paths: Sequence[Path], *, tasks: Sequence[str] = (), models: Sequence[str] = (),
           metrics: Sequence[str] = (), all_runs: bool = False, progress: Progress | None = None) -> list[Section]:
    """Collect, filter and group runs: what `bench compare` shows (`progress` is told of each run read)."""
    runs = filter_runs(collect_runs(paths, progress), tasks=tasks, models=models, metrics=metrics)
    if not all_runs:
        runs = latest_runs(runs, metrics)
    return build_sections(runs, metrics)



def baseline_run(section: Section, model: str) -> RunRecord | None:
    """The section's run of `model` (a name or its directory slug; the latest, if several)."""
    mine = [r for r in section.runs if r.model == model or slug(r.model) == model]
    return max(mine, key=lambda r: r.order) if mine else None


def check_baseline(sections: Sequence[Section], model: str) -> None:
    """A `BenchError` (with did-you-mean) when no section has a run of the baseline `model`."""
    if all(baseline_run(s, model) is None for s in sections):
        known = sorted({r.model for s in sections for r in s.runs})
        raise BenchError(f"no run of baseline model {model!r} in the selection.{did_you_mean(model, known)}",
                         hint=f"models: {', '.join(known)}")
