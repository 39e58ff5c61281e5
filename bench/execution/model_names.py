"""One name, one model, in a results directory: a model's runs go to ``<results>/<task>/<name>/``, where `bench
compare`, the leaderboard and a ratings file know it by that name, so a name that already holds the runs of
another model (two checkpoints both given ``--name tiny-bart``) is refused before anything loads."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bench.errors import BenchError, relpath
from bench.models import ModelSpec
from bench.results.store import read_record, slug
from bench.tasks.records import Task


def named_by(folder: Path) -> tuple[str, str] | None:
    """(name, own name) of the model whose runs `folder` (``<results>/<task>/<name>``) holds, from its latest run
    that can be read; None when it holds none. A run of a bench that did not record ``model_source`` is of the
    model its name says."""
    try:
        runs = sorted((p for p in folder.iterdir() if not p.name.startswith(".") and p.is_dir()), reverse=True)
    except OSError:
        return None
    for run in runs:
        try:
            record = read_record(run, scores=False)
        except BenchError:
            continue
        return record.model, record.provenance.model_source or record.model
    return None


def check_names_free(output_dir: Path, pairs: Sequence[tuple[ModelSpec, Task]]) -> None:
    """Refuse a (model, task) pair whose results folder holds the runs of another model under the same name."""
    for spec, task in pairs:
        folder = Path(output_dir) / slug(task.name) / slug(spec.name)
        found = named_by(folder)
        if found is None or found == (spec.name, spec.source):
            continue
        name, source = found
        given = f"{spec.name!r} ({spec.source})" if spec.own_name else repr(spec.name)
        raise BenchError(
            f"model {given} would share {relpath(folder)} with the runs of another model, {name!r} ({source})"
            if name != spec.name else
            f"the name {spec.name!r} is taken in {relpath(Path(output_dir))} by another model: {source} ran under "
            f"it on task {task.name!r} ({relpath(folder)}), and this is {spec.source}",
            hint="give this model another name (--name), or write its runs elsewhere (--output-dir)")
