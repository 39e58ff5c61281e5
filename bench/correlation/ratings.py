"""Human ratings of summaries: the files `bench correlate` reads, checked, as a documents x systems grid.

Each source is read into one `bench.correlation.rated.RatedSummaries`:

- a *ratings file*, one JSON object per line::

      {"id": "doc-1", "system": "lead-3", "prediction": "...", "references": ["..."],
       "document": "...", "ratings": {"coherence": 4, "relevance": [4, 5, 3]},
       "scores": {"my_metric": 0.82}}

  ``id`` names the document (shared by every system's summary of it), and
  (``id``, ``system``) is unique. A rating is a number, a list of numbers (one
  per annotator) or null (not rated). ``document`` (the source text) is
  optional; metrics that read the document need it. ``scores`` (optional) are
  metric scores computed elsewhere, the same names on every line (null: left
  out on purpose);
- SummEval's and UniEval's files as published (`published.py`), recognised by
  their fields;
- bench run directories plus a ratings file whose lines need only ``id``,
  ``system`` (the run's model name) and ``ratings``: the summaries and their
  stored per-example scores come from the runs' predictions.jsonl;
- a study of `bench annotate` (its SQLite file, or its name under
  results/.annotations/), alone or in place of the ratings file with runs: the
  lines its export writes (`bench.annotation.study_export.rating_rows`).

Several ratings of one summary are averaged per criterion (the mean), as
SummEval averages its three expert annotators; the single ratings are kept for
Krippendorff's alpha.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.correlation.published import is_summeval, json_array, read_summeval, read_unieval
from bench.correlation.rated import (IdTypes, RatedSummaries, RatedSummary, gather_scores, identifier, make_grid,
                                     raise_all, read_ratings_object, read_scores_object, references, text, text_lines)
from bench.errors import BenchError, BenchErrors, relpath
from bench.io import BOM, json_type, parse_jsonl, read_bytes, where
from bench.registry import did_you_mean
from bench.results.record import RunRecord

#: The line of a ratings file, for hints.
LINE_FORMAT = ('{"id": str, "system": str, "prediction": str, "references": [str, ...], "document": str, '
               '"ratings": {criterion: number or [numbers]}, "scores": {name: number} (optional)}')
#: The line of a ratings file that goes with run directories.
RUNS_LINE_FORMAT = '{"id": example id, "system": model name, "ratings": {criterion: number or [numbers]}}'


# ------------------------------------------------------------------ reading files


def read_ratings(path: Path, *, annotators: str = "expert", texts: bool = True) -> RatedSummaries:
    """A ratings file, SummEval's annotation file or UniEval's (recognised by their fields), checked.

    Every bad line is reported at once (`BenchErrors`), each with file:line.
    `texts=False` reads a ratings file that goes with run directories: only
    ``id``, ``system`` and ``ratings`` are needed. `annotators` chooses
    SummEval's ``expert`` or ``turker`` annotations.
    """
    data = read_bytes(path)
    if data.removeprefix(BOM).lstrip()[:1] == b"[":
        items = json_array(path, data)
        if texts:
            return read_unieval(path, items)
        raise BenchError("a JSON array is not a ratings file for runs", where=relpath(path),
                         hint=f"write one JSON object per line: {RUNS_LINE_FORMAT}")
    rows, syntax = parse_jsonl(path, data=data)
    if rows and is_summeval(rows[0][1]):
        return read_summeval(path, rows, syntax, annotators)
    hint = f"each line is {LINE_FORMAT if texts else RUNS_LINE_FORMAT}"
    summaries: list[RatedSummary] = []
    errors: list[tuple[int, BenchError]] = list(syntax)
    seen: dict[tuple[str, str], int] = {}
    given: list[tuple[int, str, dict[str, float | None] | None]] = []
    types = IdTypes()
    for lineno, obj, at in text_lines(path, rows, errors):
        problems: list[BenchError] = []
        doc_id = identifier(obj, "id", at, hint, problems)
        system = identifier(obj, "system", at, hint, problems)
        types.check(obj, "id", lineno, at, problems)
        types.check(obj, "system", lineno, at, problems)
        prediction = text(obj, "prediction", at, hint, problems) if texts or "prediction" in obj else ""
        refs = references(obj, "references", at, hint, problems) if texts or "references" in obj else ()
        document = obj.get("document")
        if document is not None and not isinstance(document, str):
            problems.append(BenchError(f"'document' must be a string, got {json_type(document)}", where=at,
                                       hint="the source text the summary was written from"))
            document = None
        if "ratings" not in obj:
            problems.append(BenchError("missing field 'ratings'", where=at, hint=hint))
            ratings: dict[str, tuple[float, ...]] = {}
        else:
            ratings, bad = read_ratings_object(obj["ratings"], where(path, lineno, "ratings"), hint)
            problems += bad
        scores = None
        if "scores" in obj:
            scores, bad = read_scores_object(obj["scores"], where(path, lineno, "scores"))
            problems += bad
        if doc_id is not None and system is not None:
            first = seen.setdefault((doc_id, system), lineno)
            if first != lineno:
                problems.append(BenchError(f"duplicate (id, system) ({doc_id!r}, {system!r}) (first on line {first})",
                                           where=at, hint="each system's summary of a document is rated on one line; "
                                           "several annotators' ratings go in a list"))
        if problems:
            errors += [(lineno, e) for e in problems]
            continue
        summaries.append(RatedSummary(doc_id, system, prediction or "", refs, document, ratings, at))
        given.append((lineno, at, scores))
    stored, missing, notes = gather_scores(given)
    raise_all(errors + missing)
    return make_grid(relpath(path), "ratings", summaries, stored, notes)


# ------------------------------------------------------------------ run directories


def read_runs_with_ratings(paths: Sequence[Path], ratings_path: Path, task: str | None = None) -> RatedSummaries:
    """The latest run of each model on one task under `paths`, paired with a ratings file by (id, system).

    The task is `task` when given, else the task of a `bench annotate` study,
    else the one task the runs are of (runs of several tasks, with no task
    named, are refused with their names).

    The runs are read through `bench.comparison.select.collect_runs` and
    `bench.comparison.flips.read_predictions` (which check results.json with
    `bench.results.store.read_record` and the per-example scores against it). A
    rating whose system has no run, or whose id is no example of that run,
    is an error naming its line.
    """
    from bench.comparison.flips import read_predictions
    from bench.comparison.select import collect_runs

    runs = collect_runs(paths)
    study = study_file(ratings_path)
    tasks = sorted({r.task for r in runs})
    opened = None  # the study, opened once: for its task here when none is given, then for its ratings
    if task is None and study is not None:
        from bench.annotation.storage import open_study

        opened = open_study(study)
    chosen = task if task is not None else opened.task if opened is not None else None
    if chosen is not None:
        if chosen not in tasks:
            raise BenchError(f"no run of task {chosen!r} under {', '.join(relpath(p) for p in paths)}."
                             f"{did_you_mean(chosen, tasks)}", hint=f"tasks with runs: {', '.join(tasks)}")
        runs, tasks = [r for r in runs if r.task == chosen], [chosen]
    elif len(tasks) > 1:
        raise BenchError(f"the runs are of {len(tasks)} tasks ({', '.join(tasks)}); ratings go with one task",
                         hint=f"choose it with --task (-t), e.g. -t {tasks[0]}")
    latest: dict[str, RunRecord] = {}
    for r in runs:
        if r.model not in latest or r.order > latest[r.model].order:
            latest[r.model] = r
    predictions = {model: read_predictions(run.path, run) for model, run in latest.items()}
    rated = read_study(study, opened) if study is not None else read_ratings(ratings_path, texts=False)
    if study is not None:
        _check_study_summaries(rated, predictions, latest)
    if rated.layout in ("summeval", "unieval"):
        name = "SummEval" if rated.layout == "summeval" else "UniEval"
        raise BenchError(f"{name}'s file holds its own summaries; give it alone, without run directories",
                         where=rated.source, hint=f"bench correlate {rated.source}")
    errors: list[BenchError] = []
    summaries: list[RatedSummary] = []
    for s in rated.summaries:
        preds = predictions.get(s.system)
        if preds is None:
            errors.append(BenchError(f"no run of model {s.system!r}.{did_you_mean(s.system, sorted(predictions))}",
                                     where=s.where, hint=f"models with runs: {', '.join(sorted(predictions))}"))
            continue
        p = preds.get(s.id)
        if p is None:
            errors.append(BenchError(f"the run of {s.system!r} has no example {s.id!r}", where=s.where,
                                     hint=f"ids are the example ids of task {tasks[0]!r} (its predictions.jsonl)"))
            continue
        summaries.append(RatedSummary(s.id, s.system, p.prediction, p.references, s.document, s.ratings, s.where))
    if errors:
        raise BenchErrors(errors)
    notes = []
    unrated = sorted(set(latest) - {s.system for s in summaries})
    if unrated:
        notes.append(f"run{'s' if len(unrated) > 1 else ''} of {', '.join(unrated)} left out: no ratings")
    names = [set(next(iter(predictions[m].values())).scores) if predictions[m] else set()
             for m in {s.system for s in summaries}]
    common = sorted(set.intersection(*names)) if names else []
    stored = {name: tuple(predictions[s.system][s.id].scores.get(name, math.nan) for s in summaries)
              for name in common}
    clash = sorted(set(rated.stored) & set(stored))
    if clash:
        raise BenchError(f"score {clash[0]!r} is given in the ratings file and stored in the runs too",
                         where=rated.source, hint="rename the ratings file's score")
    stored.update(rated.stored)  # the ratings' own scores, in the same order: every rated summary is kept
    notes = [*rated.notes, *notes]
    source = ", ".join(relpath(p) for p in paths) + f" with {relpath(study or ratings_path)}"
    return make_grid(source, "runs", summaries, stored, notes)


# ------------------------------------------------------------------ studies of `bench annotate`


def study_file(path: Path) -> Path | None:
    """The study file `path` names (an SQLite file, or a bare name under results/.annotations/), else None."""
    from bench.annotation.storage import is_study_file, study_path

    if path.is_file():
        return path if is_study_file(path) else None
    if not path.exists() and len(path.parts) == 1 and path.suffix not in (".jsonl", ".json"):
        try:
            named = study_path(str(path))
        except BenchError:
            return None
        return named if named.is_file() else None
    return None


def read_study(path: Path, study: Any = None) -> RatedSummaries:
    """The ratings of a `bench annotate` study, as its export writes them: one summary per line (`study`: the
    study at `path` when it is open already)."""
    from bench.annotation.study_export import rating_rows
    from bench.annotation.storage import open_study

    if study is None:
        study = open_study(path)
    if study.pairwise:
        raise BenchError("a pairwise study holds preferences between summaries, not ratings of each", where=study.source,
                         hint="bench correlate needs ratings: make a study without --pairwise; `bench annotate status` "
                              "shows this one's win rates and Bradley-Terry strengths")
    rows = rating_rows(study)
    if not rows:
        raise BenchError("the study has no ratings yet", where=study.source,
                         hint=f"rate in the browser first: bench annotate serve {relpath(path)}")
    summaries = [RatedSummary(r["id"], r["system"], r["prediction"], tuple(r["references"]), r["document"],
                              {c: tuple(float(x) for x in v) for c, v in r["ratings"].items()},
                              f"{study.source} (document {r['id']!r}, model {r['system']!r})") for r in rows]
    return make_grid(study.source, "study", summaries)


def _check_study_summaries(rated: RatedSummaries, predictions: Mapping[str, Any], latest: Mapping[str, Any]) -> None:
    """Every summary the study rated is the one the latest run of its model holds."""
    for s in rated.summaries:
        p = predictions.get(s.system, {}).get(s.id)
        if p is not None and p.prediction != s.prediction:
            raise BenchError(f"the study rated another summary of {s.id!r} by {s.system!r} than its latest run "
                             "holds", where=relpath(latest[s.system].path),
                             hint="the model ran again after the study was made; give the results directory the "
                                  "study was made from (`bench annotate status STUDY --format json` lists its runs)")
