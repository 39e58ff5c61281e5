"""Comparing runs: results tables, paired significance tests, flipped examples.

Runs -> sections -> rows. A *section* holds the runs of one task that can share
a column: the same task hash (task definition and examples), the same number
of examples and the same signature for every metric shown. Runs that differ in
any of these are put in a section of their own, with a note saying what
differs; they are never silently put in one column.

Statistics, all seeded and deterministic:

- the mean difference between two runs over the examples both share, with a
  percentile *paired bootstrap* interval (Koehn, 2004, "Statistical
  significance tests for machine translation evaluation"): examples are
  resampled with replacement and the same resample is used for both systems;
- a two-sided *paired permutation test* (approximate randomization: Noreen,
  1989; recommended for NLP metrics by Dror et al., 2018, "The hitchhiker's
  guide to testing statistical significance in NLP"): under the null
  hypothesis the two systems' outputs are exchangeable per example, so each
  per-example difference keeps or flips its sign. Exact over all 2^n sign
  vectors for n <= `EXACT_PERMUTATION_MAX_N`, otherwise Monte Carlo with the
  (b + 1) / (R + 1) estimate of Phipson & Smyth (2010), which is never 0;
- for exact match, McNemar's (1947) test in its exact binomial form: of the
  examples exactly one system gets right, the count won by each system is
  Binomial(b + c, 1/2) under the null hypothesis.

Every function here is pure apart from reading results files.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from bench.errors import BenchError, relpath
from bench.registry import did_you_mean
from bench.io import json_line
from bench.results.store import is_number, read_run, slug

#: Runs with at most this many shared examples get the exact permutation test.
EXACT_PERMUTATION_MAX_N = 16
DEFAULT_RESAMPLES = 10_000
DEFAULT_SEED = 12345
DEFAULT_ALPHA = 0.05
#: Column name of the throughput column in `Section.best`.
SPEED = "examples_per_s"
CI_WORDING = "mean x100 over examples, 95% bootstrap CI"

# ------------------------------------------------------------------ runs


@dataclass(frozen=True)
class Run:
    """The parts of one run record that comparison needs."""

    path: Path
    """The run directory (holding results.json and predictions.jsonl)."""
    task: str
    model: str
    run_id: str
    task_hash: str
    n: int
    metrics: Mapping[str, float | None]
    ci: Mapping[str, tuple[float | None, float | None]]
    signatures: Mapping[str, str]
    examples_per_s: float | None
    order: tuple[str, int, str] = field(compare=False)
    """Sort key for 'latest': (run id timestamp, results.json mtime in ns, run id)."""


def _number(value: Any) -> float | None:
    return float(value) if is_number(value) else None


def load_run(results_json: Path) -> Run:
    """One results.json, read and checked by `bench.results.store.read_run`, as a `Run`."""
    record = read_run(results_json)
    metrics = record["metrics"]
    run_id = record["run_id"]
    try:
        mtime = results_json.stat().st_mtime_ns
    except OSError:
        mtime = 0
    return Run(
        path=results_json.parent,
        task=record["task"],
        model=record["model"],
        run_id=run_id,
        task_hash=record["task_hash"],
        n=record["n_examples"],
        metrics={k: _number(v) for k, v in metrics.items()},
        ci={k: (_number(record["ci"][k][0]), _number(record["ci"][k][1])) for k in metrics},
        signatures={k: str(v) for k, v in record["signatures"].items()},
        examples_per_s=_number(record.get("timing", {}).get("examples_per_s")),
        order=(run_id.split("-", 1)[0], mtime, run_id),
    )


def find_run_files(paths: Sequence[Path]) -> list[Path]:
    """Every results.json under `paths` (results roots, task or model folders, or run folders).

    Folders whose name starts with '.' (runs still being written, `.tmp-*`) are skipped.
    """
    found: dict[Path, Path] = {}
    for root in paths:
        if not root.exists():
            raise BenchError("no such results directory", where=relpath(root),
                             hint="run `bench run` first, or pass the directory it wrote to (`bench run -o DIR`)")
        if root.is_file():
            candidates = [root]
        elif (root / "results.json").is_file():
            candidates = [root / "results.json"]
        else:
            candidates = [p for p in root.rglob("results.json")
                          if not any(part.startswith(".") for part in p.relative_to(root).parts[:-1])]
        for p in candidates:
            found.setdefault(p.resolve(), p)
    return [found[k] for k in sorted(found)]


def collect_runs(paths: Sequence[Path]) -> list[Run]:
    """All runs under `paths`; a malformed or newer-schema results.json is a `BenchError` naming it."""
    files = find_run_files(paths)
    if not files:
        raise BenchError(f"no runs (results.json files) under {', '.join(relpath(p) for p in paths)}",
                         hint="run `bench run` first, or pass the directory it wrote to (`bench run -o DIR`)")
    return [load_run(p) for p in files]


def _check_names(kind: str, asked: Sequence[str], known: Iterable[str]) -> None:
    known = sorted(set(known))
    for name in asked:
        if name not in known:
            raise BenchError(f"no run has {kind} {name!r}.{did_you_mean(name, known)}",
                             hint=f"{kind}s in these results: {', '.join(known)}")


def filter_runs(runs: Sequence[Run], *, tasks: Sequence[str] = (), models: Sequence[str] = (),
                metrics: Sequence[str] = ()) -> list[Run]:
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


def shown_metrics(run: Run, metrics: Sequence[str] = ()) -> tuple[str, ...]:
    """The metric columns of `run`: the asked ones it has (in the asked order), or all of its own."""
    return tuple(m for m in metrics if m in run.metrics) if metrics else tuple(run.metrics)


def comparable_key(run: Run, metrics: Sequence[str] = ()) -> tuple:
    """Runs with equal keys can share a column: same task, task hash, size and metric signatures."""
    cols = shown_metrics(run, metrics)
    return (run.task, run.task_hash, run.n, tuple((m, run.signatures[m]) for m in cols))


def latest_runs(runs: Sequence[Run], metrics: Sequence[str] = ()) -> list[Run]:
    """The latest run of each model on each task, separately for each comparable setting."""
    best: dict[tuple, Run] = {}
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
    runs: tuple[Run, ...]
    """Sorted by the first metric, best first."""
    best: Mapping[str, float]
    """Column (metric or `SPEED`) -> its best value, for columns with two or more values."""
    index: int = 1
    """1-based position among the sections of this task."""
    of: int = 1
    """How many sections this task has."""
    note: str | None = None
    """Why these runs are kept apart from the task's first section."""

    @property
    def title(self) -> str:
        return self.task if self.of == 1 else f"{self.task} (table {self.index} of {self.of})"


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


def _best(runs: Sequence[Run], metrics: Sequence[str]) -> dict[str, float]:
    best: dict[str, float] = {}
    for col in (*metrics, SPEED):
        values = [v for v in (r.examples_per_s if col == SPEED else r.metrics.get(col) for r in runs)
                  if v is not None and math.isfinite(v)]
        if len(values) >= 2:
            best[col] = max(values)
    return best


def build_sections(runs: Sequence[Run], metrics: Sequence[str] = ()) -> list[Section]:
    """Group runs into sections: by task (sorted), then by comparable setting (largest, then newest, first)."""
    groups: dict[tuple, list[Run]] = {}
    for r in runs:
        groups.setdefault(comparable_key(r, metrics), []).append(r)
    by_task: dict[str, list[list[Run]]] = {}
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
            head = cols[0]
            members = sorted(members, key=lambda r: (-(r.metrics.get(head) if r.metrics.get(head) is not None
                                                       else -math.inf), r.model, r.order))
            s = Section(task=task, task_hash=members[0].task_hash, n=members[0].n, metrics=cols,
                        signatures={m: members[0].signatures[m] for m in cols}, runs=tuple(members),
                        best=_best(members, cols), index=i, of=len(ordered))
            if first is None:
                first = s
            else:
                s = replace(s, note=difference_note(first, s))
            sections.append(s)
    return sections


def select(paths: Sequence[Path], *, tasks: Sequence[str] = (), models: Sequence[str] = (),
           metrics: Sequence[str] = (), all_runs: bool = False) -> list[Section]:
    """Collect, filter and group runs: what `bench compare` shows."""
    runs = filter_runs(collect_runs(paths), tasks=tasks, models=models, metrics=metrics)
    if not all_runs:
        runs = latest_runs(runs, metrics)
    return build_sections(runs, metrics)


def json_rows(sections: Sequence[Section]) -> list[dict[str, Any]]:
    """`bench compare --format json`: one row per run, in table order."""
    return [
        {"task": s.task, "model": r.model, "run": r.run_id, "n": r.n,
         "metrics": {m: r.metrics[m] for m in s.metrics},
         "ci": {m: list(r.ci[m]) for m in s.metrics},
         "examples_per_s": r.examples_per_s}
        for s in sections for r in s.runs
    ]


# ---------------------------------------------------------- predictions


@dataclass(frozen=True)
class Prediction:
    """One line of a run's predictions.jsonl."""

    id: str
    prediction: str
    references: tuple[str, ...]
    scores: Mapping[str, float]
    question: str | None = None


def read_predictions(run_dir: Path) -> dict[str, Prediction]:
    """Example id -> `Prediction`, from `run_dir`/predictions.jsonl (errors name file:line)."""
    path = run_dir / "predictions.jsonl"
    out: dict[str, Prediction] = {}
    hint = "the file is damaged; delete this run directory and run again"
    try:
        data = path.read_bytes()
    except OSError as e:
        raise BenchError(f"cannot read predictions: {e.strerror}", where=relpath(path),
                         hint="paired statistics need each run's predictions.jsonl") from None
    for lineno, raw in enumerate(data.split(b"\n"), 1):
        where = f"{relpath(path)}:{lineno}"
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
        except UnicodeDecodeError as e:
            raise BenchError(f"not valid UTF-8 (column {e.start + 1})", where=where, hint=hint) from None
        except json.JSONDecodeError as e:
            raise BenchError(f"not valid JSON: {e.msg}", where=where, hint=hint) from None
        except ValueError as e:
            raise BenchError(f"holds {e}, which bench never writes", where=where, hint=hint) from None
        if not (isinstance(obj, dict) and isinstance(obj.get("id"), str)
                and isinstance(obj.get("prediction"), str) and isinstance(obj.get("references"), list)
                and isinstance(obj.get("scores"), dict)):
            raise BenchError('expected {"id": str, "prediction": str, "references": [...], "scores": {...}}',
                             where=where, hint=hint)
        if obj["id"] in out:
            raise BenchError(f"duplicate example id {obj['id']!r}", where=where, hint=hint)
        scores = {k: float(v) for k, v in obj["scores"].items() if _number(v) is not None}
        q = obj.get("question")
        out[obj["id"]] = Prediction(obj["id"], obj["prediction"], tuple(str(r) for r in obj["references"]),
                                    scores, q if isinstance(q, str) else None)
    n = read_run(run_dir).get("n_examples")
    if len(out) != n:
        raise BenchError(f"predictions.jsonl has {len(out)} examples but its results.json says {n!r}",
                         where=relpath(path), hint="the run directory is incomplete or was edited; run the model again")
    return out


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)


def paired_scores(base: Mapping[str, Prediction], other: Mapping[str, Prediction],
                  metric: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(ids, baseline scores, other scores) over the examples both have a `metric` score for."""
    ids = [i for i, p in base.items() if metric in p.scores and i in other and metric in other[i].scores]
    a = np.array([base[i].scores[metric] for i in ids], dtype=np.float64)
    b = np.array([other[i].scores[metric] for i in ids], dtype=np.float64)
    return ids, a, b


# ------------------------------------------------------------ statistics


def paired_bootstrap_ci(diffs: Sequence[float] | np.ndarray, *, confidence: float = 0.95,
                        n_resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> tuple[float, float]:
    """Percentile paired bootstrap interval of the mean difference (Koehn, 2004).

    Resampling the per-example differences resamples the examples of both
    systems together, which is what makes the bootstrap paired.
    """
    d = np.asarray(diffs, dtype=np.float64)
    if d.size == 0:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    means = np.empty(n_resamples)
    chunk = max(1, 2_000_000 // d.size)
    for start in range(0, n_resamples, chunk):
        stop = min(n_resamples, start + chunk)
        means[start:stop] = d[rng.integers(0, d.size, size=(stop - start, d.size))].mean(axis=1)
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(means, [alpha, 1.0 - alpha])
    return (float(lo), float(hi))


def permutation_test(diffs: Sequence[float] | np.ndarray, *, n_resamples: int = DEFAULT_RESAMPLES,
                     seed: int = DEFAULT_SEED) -> tuple[float, bool]:
    """Two-sided paired permutation (sign-flip) test of mean difference 0; returns (p, exact).

    Exact over all 2^n sign vectors when n <= `EXACT_PERMUTATION_MAX_N`; else
    `n_resamples` seeded random sign vectors and p = (b + 1) / (R + 1)
    (Phipson & Smyth, 2010). Identical systems (all differences 0) give p = 1.
    """
    d = np.asarray(diffs, dtype=np.float64)
    n = d.size
    if n == 0:
        return (math.nan, True)
    observed = abs(d.mean())
    tol = 1e-9 * max(1.0, observed)  # rounding in the means must not turn a tie into a miss
    if n <= EXACT_PERMUTATION_MAX_N:
        signs = ((np.arange(2 ** n)[:, None] >> np.arange(n)) & 1) * 2 - 1
        stats = np.abs(signs @ d) / n
        return (float(np.count_nonzero(stats >= observed - tol)) / 2 ** n, True)
    rng = np.random.default_rng(seed)
    hits = 0
    chunk = max(1, 2_000_000 // n)
    for start in range(0, n_resamples, chunk):
        stop = min(n_resamples, start + chunk)
        signs = rng.integers(0, 2, size=(stop - start, n)) * 2 - 1
        hits += int(np.count_nonzero(np.abs(signs @ d) / n >= observed - tol))
    return ((hits + 1) / (n_resamples + 1), False)


def min_permutation_p(n: int) -> float:
    """The smallest p the exact two-sided sign-flip test can give with n examples."""
    return 2.0 / 2 ** n if n <= EXACT_PERMUTATION_MAX_N else 0.0


def mcnemar_exact(b: int, c: int) -> float:
    """Exact two-sided McNemar test (McNemar, 1947) on the discordant counts b and c.

    p = min(1, 2 * P[X <= min(b, c)]) with X ~ Binomial(b + c, 1/2); p = 1 when
    b + c = 0. Computed in log space, so it is exact to rounding for any size.
    """
    if b < 0 or c < 0:
        raise ValueError("counts must be non-negative")
    n = b + c
    if n == 0:
        return 1.0
    k = np.arange(min(b, c) + 1)
    logs = (math.lgamma(n + 1) - np.array([math.lgamma(i + 1) + math.lgamma(n - i + 1) for i in k])
            - n * math.log(2.0))
    top = logs.max()
    tail = math.exp(top) * float(np.exp(logs - top).sum())
    return min(1.0, 2.0 * tail)


def discordant(a: np.ndarray, b: np.ndarray) -> tuple[int, int] | None:
    """(baseline right & other wrong, baseline wrong & other right) for 0/100 scores; None if not binary."""
    if not np.all(np.isin(a, (0.0, 100.0))) or not np.all(np.isin(b, (0.0, 100.0))):
        return None
    return int(np.count_nonzero((a == 100.0) & (b == 0.0))), int(np.count_nonzero((a == 0.0) & (b == 100.0)))


@dataclass(frozen=True)
class Paired:
    """A run compared with the baseline run on one metric, over their shared examples."""

    task: str
    metric: str
    baseline_model: str
    baseline_run: str
    model: str
    run: str
    n: int
    baseline_mean: float
    mean: float
    diff: float
    """mean - baseline_mean (x100 points)."""
    ci: tuple[float, float]
    p_value: float
    exact: bool
    """True when the permutation test enumerated every sign vector."""
    mcnemar: tuple[int, int] | None
    """(baseline right & other wrong, baseline wrong & other right) for exact match."""
    mcnemar_p: float | None
    alpha: float

    @property
    def significant(self) -> bool:
        """The permutation test's p is below alpha.

        For 0/100 scores the exact sign-flip test *is* the exact McNemar test
        (only discordant examples change the sum), so the two agree there.
        """
        return self.p_value < self.alpha


def compare_pair(task: str, metric: str, baseline: Run, run: Run, base_preds: Mapping[str, Prediction],
                 preds: Mapping[str, Prediction], *, seed: int = DEFAULT_SEED,
                 n_resamples: int = DEFAULT_RESAMPLES, alpha: float = DEFAULT_ALPHA) -> Paired | None:
    """Paired statistics of `run` against `baseline` on `metric`; None if no example has both scores."""
    ids, a, b = paired_scores(base_preds, preds, metric)
    if not ids:
        return None
    d = b - a
    p, exact = permutation_test(d, seed=seed, n_resamples=n_resamples)
    counts = discordant(a, b) if metric.endswith("exact_match") else None
    return Paired(
        task=task, metric=metric, baseline_model=baseline.model, baseline_run=baseline.run_id,
        model=run.model, run=run.run_id, n=len(ids), baseline_mean=float(a.mean()), mean=float(b.mean()),
        diff=float(d.mean()), ci=paired_bootstrap_ci(d, seed=seed, n_resamples=n_resamples), p_value=p, exact=exact,
        mcnemar=counts, mcnemar_p=mcnemar_exact(*counts) if counts else None, alpha=alpha,
    )


def check_baseline(sections: Sequence[Section], model: str) -> None:
    """A `BenchError` (with did-you-mean) when no section has a run of the baseline `model`."""
    if all(baseline_run(s, model) is None for s in sections):
        known = sorted({r.model for s in sections for r in s.runs})
        raise BenchError(f"no run of baseline model {model!r} in the selection.{did_you_mean(model, known)}",
                         hint=f"models: {', '.join(known)}")


def baseline_run(section: Section, model: str) -> Run | None:
    """The section's run of `model` (the latest, if several)."""
    mine = [r for r in section.runs if r.model == model or slug(r.model) == model]
    return max(mine, key=lambda r: r.order) if mine else None


@dataclass(frozen=True)
class SectionComparison:
    """Every other run of a section against the baseline run."""

    section: Section
    baseline: Run | None
    results: tuple[Paired, ...]
    skipped: tuple[str, ...]
    """Metrics without per-example scores (no paired test possible)."""


def compare_section(section: Section, baseline_model: str, *, seed: int = DEFAULT_SEED,
                    n_resamples: int = DEFAULT_RESAMPLES, alpha: float = DEFAULT_ALPHA,
                    cache: dict[Path, dict[str, Prediction]] | None = None) -> SectionComparison:
    """Paired statistics for each (other run, metric) of `section`."""
    base = baseline_run(section, baseline_model)
    if base is None:
        return SectionComparison(section, None, (), ())
    cache = {} if cache is None else cache

    def preds(r: Run) -> dict[str, Prediction]:
        if r.path not in cache:
            cache[r.path] = read_predictions(r.path)
        return cache[r.path]

    results: list[Paired] = []
    skipped: list[str] = []
    for m in section.metrics:
        if not any(m in p.scores for p in preds(base).values()):
            skipped.append(m)
            continue
        for r in section.runs:
            if r is base:
                continue
            res = compare_pair(section.task, m, base, r, preds(base), preds(r), seed=seed,
                               n_resamples=n_resamples, alpha=alpha)
            if res is not None:
                results.append(res)
    return SectionComparison(section, base, tuple(results), tuple(skipped))


# ---------------------------------------------------------------- flips


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

    @property
    def diff(self) -> float:
        return self.scores[self.metric] - self.baseline_scores[self.metric]


def flipped_examples(base: Mapping[str, Prediction], other: Mapping[str, Prediction], metric: str,
                     k: int) -> list[Flip]:
    """The `k` shared examples whose `metric` scores differ most (largest |difference|, then id).

    For exact match these are the flipped items: right for one run, wrong for the other.
    """
    ids, a, b = paired_scores(base, other, metric)
    order = sorted((i for i in range(len(ids)) if a[i] != b[i]), key=lambda i: (-abs(b[i] - a[i]), ids[i]))
    return [Flip(ids[i], metric, base[ids[i]].question, base[ids[i]].references, base[ids[i]].prediction,
                 other[ids[i]].prediction, dict(base[ids[i]].scores), dict(other[ids[i]].scores))
            for i in order[:k]]


def flip_metric(section: Section, asked: Sequence[str], preds: Mapping[str, Prediction]) -> str | None:
    """The metric flips are ranked by: the first asked (or shown) metric with per-example scores."""
    have = {m for p in preds.values() for m in p.scores}
    for m in (*asked, *section.metrics):
        if m in section.metrics and m in have:
            return m
    return None


# --------------------------------------------------------- text formats


def fmt(x: float | None, digits: int = 2) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def fmt_speed(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}"


def fmt_p(p: float | None) -> str:
    if p is None or not math.isfinite(p):
        return "-"
    return "<0.0001" if p < 1e-4 else f"{p:.4f}"


def fmt_signed(x: float) -> str:
    return f"{x:+.2f}"


def md_cell(text: str) -> str:
    """Text for a Markdown table cell: HTML-escaped (outputs are untrusted), pipes and newlines kept inert."""
    return html.escape(text, quote=False).replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


def md_code(text: str) -> str:
    """A Markdown code span (HTML inside is shown, not interpreted); backticks and newlines removed."""
    return "`" + text.replace("`", "'").replace("\r", " ").replace("\n", " ") + "`"


def _md_value(run: Run, metric: str, section: Section) -> str:
    v = run.metrics.get(metric)
    lo, hi = run.ci.get(metric, (None, None))
    text = fmt(v)
    if metric in section.best and v == section.best[metric]:
        text = f"**{text}**"
    return f"{text} [{fmt(lo)}, {fmt(hi)}]"


def signature_lines(section: Section) -> list[str]:
    return [section.signatures[m] for m in section.metrics]


def render_markdown(sections: Sequence[Section], comparisons: Mapping[int, SectionComparison] | None = None,
                    flips: Mapping[int, Sequence[tuple[Run, Run, list[Flip]]]] | None = None,
                    heading: str = "##") -> str:
    """Markdown tables, one per section, with paired statistics and flips when given (keyed by section index)."""
    out: list[str] = []
    for k, s in enumerate(sections):
        out.append(f"{heading} {md_cell(s.title)}\n")
        if s.note:
            out.append(f"> {md_cell(s.note)}\n")
        elif s.of > 1:
            out.append(f"> {md_cell(s.task)} has runs in {s.of} tables that cannot share columns; see below.\n")
        out.append(f"Task hash `{s.task_hash[:12]}`, {s.n} example{'s' if s.n != 1 else ''}; "
                   f"{CI_WORDING} in brackets; **bold** = best in column.\n")
        out.append("| model | run | n | " + " | ".join(md_cell(m) for m in s.metrics) + " | ex/s |")
        out.append("|---|---|--:|" + "--:|" * len(s.metrics) + "--:|")
        for r in s.runs:
            speed = fmt_speed(r.examples_per_s)
            if SPEED in s.best and r.examples_per_s == s.best[SPEED]:
                speed = f"**{speed}**"
            cells = [md_cell(r.model), md_cell(r.run_id), str(r.n), *(_md_value(r, m, s) for m in s.metrics), speed]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
        out.append("Signatures:\n")
        out.extend(f"- {md_code(x)}" for x in signature_lines(s))
        out.append("")
        if comparisons and k in comparisons:
            out.extend(_md_paired(comparisons[k], heading))
        if flips and k in flips:
            out.extend(_md_flips(flips[k], heading))
    return "\n".join(out).rstrip() + "\n"


def paired_wording(alpha: float) -> str:
    return (f"Difference = model - baseline, mean x100 over the examples both runs share; 95% paired bootstrap CI; "
            f"p: two-sided paired permutation test (exact for n up to {EXACT_PERMUTATION_MAX_N}, else "
            f"{DEFAULT_RESAMPLES:,} seeded sign flips); McNemar: exact binomial test, exact match only. "
            f"Significant: p below {alpha:g}; "
            "no correction for multiple comparisons.")


def paired_notes(c: SectionComparison) -> list[str]:
    notes: list[str] = []
    if c.skipped:
        notes.append(f"No paired test for {', '.join(c.skipped)}: predictions.jsonl has no per-example scores "
                     "for them.")
    ns = sorted({p.n for p in c.results})
    if ns and c.results and min_permutation_p(ns[0]) >= c.results[0].alpha:
        notes.append(f"With n = {ns[0]} shared example{'s' if ns[0] != 1 else ''} no difference can reach significance "
                     f"(the smallest possible p is {min_permutation_p(ns[0]):.4g}).")
    return notes


def _md_paired(c: SectionComparison, heading: str) -> list[str]:
    s = c.section
    if c.baseline is None:
        return ["No run of the baseline model in this table, so no paired comparison.\n"]
    base = c.baseline.model
    out = [f"{heading}# Paired comparison with {md_cell(base)} ({md_cell(s.title)})\n",
           md_cell(paired_wording(c.results[0].alpha if c.results else DEFAULT_ALPHA)) + "\n"]
    if not c.results:
        out.append("No other run in this table.\n")
    else:
        out.append(f"| model | metric | n | {md_cell(base)} | score | diff | 95% CI | p | McNemar p (b/c) | "
                   "significant |")
        out.append("|---|---|--:|--:|--:|--:|--:|--:|--:|---|")
        for p in c.results:
            diff = fmt_signed(p.diff)
            mc = f"{fmt_p(p.mcnemar_p)} ({p.mcnemar[0]}/{p.mcnemar[1]})" if p.mcnemar else "-"
            sig = "**yes**" if p.significant else "no"
            out.append(f"| {md_cell(p.model)} | {md_cell(p.metric)} | {p.n} | {fmt(p.baseline_mean)} | "
                       f"{fmt(p.mean)} | {f'**{diff}**' if p.significant else diff} | "
                       f"[{fmt_signed(p.ci[0])}, {fmt_signed(p.ci[1])}] | {fmt_p(p.p_value)} | {mc} | {sig} |")
        out.append("")
    out.extend(f"{md_cell(n)}\n" for n in paired_notes(c))
    return out


def truncate(text: str, limit: int = 400) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _md_flips(pairs: Sequence[tuple[Run, Run, list[Flip]]], heading: str) -> list[str]:
    out: list[str] = []
    for base, run, items in pairs:
        metric = items[0].metric if items else ""
        out.append(f"{heading}# Examples where {md_cell(run.model)} and {md_cell(base.model)} differ most"
                   f"{' on ' + md_cell(metric) if metric else ''}\n")
        if not items:
            out.append("They score every shared example the same.\n")
            continue
        out.append(f"| id | references | {md_cell(base.model)} | {md_cell(run.model)} | "
                   f"{md_cell(metric)} ({md_cell(base.model)} → {md_cell(run.model)}) |")
        out.append("|---|---|---|---|--:|")
        for f in items:
            refs = "<br>".join(f"{i}. {md_cell(truncate(r))}" for i, r in enumerate(f.references, 1)) or "(none)"
            q = f"{md_cell(f.question)}<br>" if f.question else ""
            out.append(f"| {md_cell(f.id)} | {q}{refs} | {md_cell(truncate(f.baseline_prediction)) or '(empty)'} | "
                       f"{md_cell(truncate(f.prediction)) or '(empty)'} | {fmt(f.baseline_scores[metric])} → "
                       f"{fmt(f.scores[metric])} ({fmt_signed(f.diff)}) |")
        out.append("")
    return out


CSV_COLUMNS = ("task", "model", "run", "n", "metric", "value", "ci_lo", "ci_hi", "examples_per_s", "task_hash",
               "signature")
CSV_PAIRED_COLUMNS = ("baseline_run", "paired_n", "diff", "diff_ci_lo", "diff_ci_hi", "p_value", "mcnemar_p",
                      "significant")


def _csv_num(x: float | int | None) -> str:
    return "" if x is None or (isinstance(x, float) and not math.isfinite(x)) else repr(x)


def render_csv(sections: Sequence[Section], comparisons: Mapping[int, SectionComparison] | None = None) -> str:
    """One line per (run, metric); floats at full precision so they parse back to the same numbers.

    With `comparisons`, the paired columns (`CSV_PAIRED_COLUMNS`) follow; empty for the baseline run.
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS + (CSV_PAIRED_COLUMNS if comparisons is not None else ()))
    for k, s in enumerate(sections):
        paired = {(p.run, p.metric): p for p in (comparisons[k].results if comparisons and k in comparisons else ())}
        for r in s.runs:
            for m in s.metrics:
                lo, hi = r.ci[m]
                row = [s.task, r.model, r.run_id, str(r.n), m, _csv_num(r.metrics[m]), _csv_num(lo), _csv_num(hi),
                       _csv_num(r.examples_per_s), s.task_hash, s.signatures[m]]
                if comparisons is not None:
                    p = paired.get((r.run_id, m))
                    row += ([p.baseline_run, str(p.n), _csv_num(p.diff), _csv_num(p.ci[0]), _csv_num(p.ci[1]),
                             _csv_num(p.p_value), _csv_num(p.mcnemar_p), "yes" if p.significant else "no"]
                            if p else [""] * len(CSV_PAIRED_COLUMNS))
                w.writerow(row)
    return buf.getvalue()


def paired_json(p: Paired) -> dict[str, Any]:
    return {"baseline": p.baseline_model, "baseline_run": p.baseline_run, "n": p.n, "diff": p.diff,
            "ci": list(p.ci), "p_value": p.p_value, "p_exact": p.exact, "mcnemar_p": p.mcnemar_p,
            "mcnemar_counts": list(p.mcnemar) if p.mcnemar else None, "significant": p.significant}


def render_json(sections: Sequence[Section], comparisons: Mapping[int, SectionComparison] | None = None) -> str:
    """The JSON rows; with `comparisons`, rows compared with the baseline get a "paired" object per metric."""
    rows = json_rows(sections)
    if comparisons:
        by_run: dict[str, dict[str, Any]] = {}
        for c in comparisons.values():
            for p in c.results:
                by_run.setdefault(p.run, {})[p.metric] = paired_json(p)
        for row in rows:
            if row["run"] in by_run:
                row["paired"] = by_run[row["run"]]
    return "[\n" + ",\n".join("  " + json_line(r) for r in rows) + "\n]\n" if rows else "[]\n"


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` via a temporary file in the same folder and one `os.replace`."""
    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise BenchError(f"cannot write file: {e.strerror}", where=relpath(path)) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
