"""`bench annotate new`: from the runs of several models on one task to a study file.

The latest run of each model on the task gives the summaries (through bench's
run reader, which checks results.json and predictions.jsonl); the task gives
the documents and references, and must be the very task the runs were made on
(its content hash). The documents are sampled once for all systems, so the
ratings of the systems pair up. Everything is checked before anything is
written, and the study is written whole or not at all.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.annotation.criteria import choose_criteria
from bench.annotation.design import make_design, system_pairs
from bench.annotation.storage import STUDIES_DIR, StudyContent, open_study, Study, study_path, write_study
from bench.errors import BenchError, BenchWarning, relpath
from bench.io import file_in_the_way
from bench.registry import did_you_mean

MAX_SEED = 2**32 - 1
#: An annotator's name: shown on their page and in `status`; no control characters, at most 64 characters.
ANNOTATOR_NAME = re.compile(r"[^\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]{1,64}")


def check_design_options(annotators: Sequence[str], *, sample: int | None, seed: int, overlap: int | None,
                         repeat: int, pairwise: bool, baseline: str | None) -> int:
    """Refuse options that cannot make a study; returns the overlap (default: every annotator rates every item)."""
    if not annotators:
        raise BenchError("a study needs annotators", hint="e.g. --annotator ana --annotator ben (each gets a private "
                         "link; two or more are needed to measure agreement)")
    seen: set[str] = set()
    for name in annotators:
        if not ANNOTATOR_NAME.fullmatch(name) or not name.strip():
            raise BenchError(f"annotator name {name!r} is empty, too long or holds control characters",
                             hint="a name of 1 to 64 printable characters, e.g. --annotator ana")
        if name in seen:
            raise BenchError(f"annotator {name!r} is named twice", hint="give each annotator once")
        seen.add(name)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise BenchError(f"--seed must be an integer from 0 to {MAX_SEED}, got {seed!r}")
    if sample is not None and sample < 1:
        raise BenchError(f"--sample must be at least 1, got {sample}")
    if repeat < 0:
        raise BenchError(f"--repeat must be 0 or more, got {repeat}")
    if overlap is None:
        overlap = len(annotators)
    if not 1 <= overlap <= len(annotators):
        raise BenchError(f"--overlap must be from 1 to the number of annotators ({len(annotators)}), got {overlap}",
                         hint="--overlap K gives each item to K annotators")
    if baseline is not None and not pairwise:
        raise BenchError("--baseline applies to pairwise studies", hint="add --pairwise to compare each model with "
                         "the baseline, or leave --baseline out")
    return overlap


def new_study(study: str | Path, results_dirs: Sequence[Path], *, task: str, criteria: Sequence[str] = (),
              criteria_file: Path | None = None, sample: int | None = None, seed: int = 0,
              annotators: Sequence[str] = (), pairwise: bool = False, baseline: str | None = None,
              overlap: int | None = None, repeat: int = 0, tasks_dirs: Sequence[Path] = ()) -> Study:
    """Make a study of the latest runs of each model on `task` under `results_dirs`; returns it as written."""
    from bench.comparison.flips import read_predictions
    from bench.comparison.select import collect_runs
    from bench.tasks.discovery import resolve_tasks
    from bench.tasks.examples import load_examples, select_indices

    path = study_path(study)
    overlap = check_design_options(annotators, sample=sample, seed=seed, overlap=overlap, repeat=repeat,
                                   pairwise=pairwise, baseline=baseline)
    _check_new_path(path)
    chosen_criteria = choose_criteria(criteria, criteria_file)
    (the_task,) = resolve_tasks([task], list(tasks_dirs))
    if the_task.type != "summarization":
        raise BenchError(f"task {the_task.name!r} is a {the_task.type} task; annotation studies rate summaries",
                         hint="choose a summarization task")
    every_run = collect_runs(list(results_dirs))
    runs = [r for r in every_run if r.task == the_task.name]
    if not runs:
        found = sorted({r.task for r in every_run})
        raise BenchError(f"no run of task {the_task.name!r} under {', '.join(relpath(p) for p in results_dirs)}."
                         f"{did_you_mean(the_task.name, found)}", hint=f"tasks with runs there: {', '.join(found)}")
    latest: dict[str, Any] = {}
    for r in runs:
        if r.model not in latest or r.order > latest[r.model].order:
            latest[r.model] = r
    systems = sorted(latest)
    if pairwise and len(systems) < 2:
        raise BenchError(f"a pairwise study compares two or more models; task {the_task.name!r} has runs of "
                         f"{systems[0]!r} only", hint="run another model on the task first, or leave out --pairwise")
    if baseline is not None and baseline not in systems:
        raise BenchError(f"--baseline {baseline!r} has no run of task {the_task.name!r}."
                         f"{did_you_mean(baseline, systems)}", hint=f"models with runs: {', '.join(systems)}")
    loaded, examples = load_examples(the_task)
    for model in systems:
        if latest[model].task_hash != loaded.hash:
            raise BenchError(f"the run of {model!r} was made on another version of task {the_task.name!r} "
                             f"(task hash {latest[model].task_hash[:12]}, now {loaded.hash[:12]})",
                             where=relpath(latest[model].path), hint="run the model again on the task as it is "
                             "now, or restore the task's files: the documents shown must be those summarized")
    predictions = {model: read_predictions(latest[model].path, latest[model]) for model in systems}
    common = [ex for ex in examples if all(ex.id in predictions[m] for m in systems)]
    if not common:
        raise BenchError(f"the runs of {', '.join(systems)} share no example of task {the_task.name!r}",
                         hint="rate runs made on the same examples (the same --sample and --seed, or none)")
    picked = select_indices(len(common), sample=sample, seed=seed)
    if sample is not None and sample > len(common):
        warnings.warn(f"--sample {sample} is more than the {len(common)} documents every run has: all are used",
                      BenchWarning, stacklevel=2)
    docs = common if picked is None else [common[i] for i in picked]
    pairs = system_pairs(len(systems), systems.index(baseline) if baseline else None) if pairwise else None
    design = make_design(len(docs), len(systems), len(annotators), overlap=overlap, repeat=repeat, seed=seed,
                         pairs=pairs)
    content = StudyContent(
        mode="pairwise" if pairwise else "ratings", task=the_task.name, criteria=chosen_criteria,
        systems=[(m, relpath(latest[m].path)) for m in systems],
        documents=[(ex.id, ex.input, ex.references) for ex in docs],
        predictions={(d, s): predictions[m][ex.id].prediction for d, ex in enumerate(docs)
                     for s, m in enumerate(systems)},
        annotators=list(annotators), design=design,
        settings={"task_hash": loaded.hash, "sample": sample, "seed": seed, "overlap": overlap, "repeat": repeat,
                  "baseline": baseline})
    _check_new_path(path)
    write_study(path, content)
    return open_study(path)


def _check_new_path(path: Path) -> None:
    """Refuse a study path that is taken, or that cannot be a file."""
    where = relpath(path)
    if path.exists() or path.is_symlink():
        raise BenchError("a study of that name exists", where=where,
                         hint="choose another name, or delete the file to start again (its answers go with it)")
    blocked = file_in_the_way(path)
    if blocked is not None:
        raise BenchError(f"{relpath(blocked)} is a file, not a directory", where=where,
                         hint=f"give a name (the study goes under {STUDIES_DIR}/) or a path in a directory")
