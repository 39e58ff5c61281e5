"""Human ratings of summaries: the files `bench correlate` reads, checked, as a documents x systems grid.

Three sources, each read into one `RatedSummaries`:

- a *ratings file*, one JSON object per line::

      {"id": "doc-1", "system": "lead-3", "prediction": "...", "references": ["..."],
       "document": "...", "ratings": {"coherence": 4, "relevance": [4, 5, 3]}}

  ``id`` names the document (shared by every system's summary of it), and
  (``id``, ``system``) is unique. A rating is a number, a list of numbers (one
  per annotator) or null (not rated). ``document`` (the source text) is
  optional; metrics that read the document need it;
- SummEval's annotation file as published (``model_annotations.aligned.paired.jsonl``:
  ``id``, ``model_id``, ``decoded``, ``references``, ``text``,
  ``expert_annotations``, ``turker_annotations``), recognised by its fields;
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

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.errors import BenchError, BenchErrors, relpath
from bench.io import SURROGATE_HINT, json_type, lone_surrogate, parse_jsonl, surrogate_name, where
from bench.registry import did_you_mean
from bench.results.record import RunRecord
from bench.tasks.records import as_references

#: The line of a ratings file, for hints.
LINE_FORMAT = ('{"id": str, "system": str, "prediction": str, "references": [str, ...], "document": str, '
               '"ratings": {criterion: number or [numbers]}}')
#: The line of a ratings file that goes with run directories.
RUNS_LINE_FORMAT = '{"id": example id, "system": model name, "ratings": {criterion: number or [numbers]}}'
#: SummEval's fields, by which its file is recognised.
SUMMEVAL_FIELDS = ("id", "model_id", "decoded", "references", "text")
SUMMEVAL_ANNOTATORS = ("expert", "turker")
SUMMEVAL_CRITERIA = ("coherence", "consistency", "fluency", "relevance")


@dataclass(frozen=True)
class RatedSummary:
    """One system's summary of one document, with its human ratings."""

    id: str
    """The document."""
    system: str
    prediction: str
    references: tuple[str, ...]
    document: str | None
    ratings: Mapping[str, tuple[float, ...]]
    """Criterion -> the annotators' ratings (absent: not rated)."""
    where: str
    """file:line of the ratings, for messages."""


@dataclass(frozen=True)
class RatedSummaries:
    """Rated summaries on a documents x systems grid, with the scores already stored for them (runs)."""

    source: str
    layout: str
    """"ratings" (a ratings file), "summeval" (SummEval's file) or "runs" (run directories and a ratings file)."""
    summaries: tuple[RatedSummary, ...]
    documents: tuple[str, ...]
    systems: tuple[str, ...]
    criteria: tuple[str, ...]
    stored: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    """Score name -> per-summary score (in `summaries` order) read from run directories."""
    notes: tuple[str, ...] = ()

    def grid(self, values: Sequence[float]) -> np.ndarray:
        """Per-summary values (in `summaries` order) as a documents x systems array, nan where no summary is."""
        out = np.full((len(self.documents), len(self.systems)), np.nan)
        d = {x: k for k, x in enumerate(self.documents)}
        s = {x: k for k, x in enumerate(self.systems)}
        for summary, v in zip(self.summaries, values):
            out[d[summary.id], s[summary.system]] = v
        return out

    def mean_ratings(self) -> dict[str, np.ndarray]:
        """Criterion -> documents x systems array of each summary's mean rating (nan: not rated)."""
        return {c: self.grid([float(np.mean(r.ratings[c])) if r.ratings.get(c) else math.nan
                              for r in self.summaries]) for c in self.criteria}

    def annotations(self) -> dict[str, np.ndarray]:
        """Criterion -> documents x systems x annotators array of the single ratings (nan-padded)."""
        out = {}
        for c in self.criteria:
            width = max(len(r.ratings.get(c, ())) for r in self.summaries)
            grid = np.full((len(self.documents), len(self.systems), max(1, width)), np.nan)
            d = {x: k for k, x in enumerate(self.documents)}
            s = {x: k for k, x in enumerate(self.systems)}
            for r in self.summaries:
                values = r.ratings.get(c, ())
                grid[d[r.id], s[r.system], :len(values)] = values
            out[c] = grid
        return out


# ------------------------------------------------------------------ checking one line


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _ratings(value: Any, at: str, hint: str) -> tuple[dict[str, tuple[float, ...]], list[BenchError]]:
    """A line's ``ratings`` object checked: criterion -> ratings (null: left out)."""
    if not isinstance(value, dict) or not value:
        return {}, [BenchError(f"'ratings' must be an object of criterion -> rating, got "
                               f"{'an empty object' if value == {} else json_type(value)}", where=at,
                               hint='e.g. "ratings": {"coherence": 4, "relevance": [4, 5]}')]
    out: dict[str, tuple[float, ...]] = {}
    errors = []
    for criterion, r in value.items():
        if not criterion.strip():
            errors.append(BenchError("a criterion name is empty", where=at, hint=hint))
        elif r is None:
            continue
        elif _number(r):
            out[criterion] = (float(r),)
        elif isinstance(r, list) and r and all(_number(x) for x in r):
            out[criterion] = tuple(float(x) for x in r)
        else:
            shown = ("an empty list" if r == [] else "a list holding " + json_type(next(x for x in r if not _number(x)))
                     if isinstance(r, list) else json_type(r))
            errors.append(BenchError(f"rating of {criterion!r} must be a number or a list of numbers, got {shown}",
                                     where=at, hint="one number per annotator, e.g. [4, 5, 3]; null when not rated"))
    return out, errors


def _text(obj: Mapping[str, Any], key: str, at: str, hint: str, errors: list[BenchError]) -> str | None:
    if key not in obj:
        errors.append(BenchError(f"missing field {key!r}", where=at, hint=hint))
        return None
    value = obj[key]
    if not isinstance(value, str):
        errors.append(BenchError(f"'{key}' must be a string, got {json_type(value)}", where=at, hint=hint))
        return None
    return value


def _identifier(obj: Mapping[str, Any], key: str, at: str, hint: str, errors: list[BenchError]) -> str | None:
    value = obj.get(key)
    if key not in obj:
        errors.append(BenchError(f"missing field {key!r}", where=at, hint=hint))
    elif isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
        errors.append(BenchError(f"'{key}' must be a non-empty string, got "
                                 f"{json_type(value) if not isinstance(value, str) else 'an empty string'}",
                                 where=at, hint=hint))
    else:
        return str(value)
    return None


class IdTypes:
    """The JSON type of each identifier field (a document's ``id``, a ``system``), as its first line has it.

    An id is read as text, so ``0`` and ``"0"`` would name one document; a file that mixes the two types for
    a field is refused at the first line that differs, not silently merged.
    """

    def __init__(self) -> None:
        self.first: dict[str, tuple[type, int]] = {}

    def check(self, obj: Mapping[str, Any], key: str, lineno: int, at: str, errors: list[BenchError]) -> None:
        value = obj.get(key)
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            return  # reported by `_identifier`
        kind, first = self.first.setdefault(key, (type(value), lineno))
        if kind is not type(value):
            text = json.dumps(str(value), ensure_ascii=False)
            errors.append(BenchError(
                f"{key!r} is {json_type(value)} here ({json.dumps(value, ensure_ascii=False)}) but "
                f"{json_type(kind())} on line {first}: {str(value)} and {text} would be one "
                f"{'document' if key == 'id' else 'system'}",
                where=at, hint=f"write every {key!r} the same way: all strings or all numbers"))


def _references(obj: Mapping[str, Any], key: str, at: str, hint: str, errors: list[BenchError]) -> tuple[str, ...]:
    if key not in obj:
        errors.append(BenchError(f"missing field {key!r}", where=at, hint=hint))
        return ()
    refs = obj[key]
    if isinstance(refs, str):
        refs = as_references(refs)
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        errors.append(BenchError(f"'{key}' must be a list of strings", where=at,
                                 hint='e.g. "references": ["A reference summary."]'))
        return ()
    return tuple(refs)


# ------------------------------------------------------------------ reading files


def read_ratings(path: Path, *, annotators: str = "expert", texts: bool = True) -> RatedSummaries:
    """A ratings file or SummEval's annotation file (recognised by its fields), checked.

    Every bad line is reported at once (`BenchErrors`), each with file:line.
    `texts=False` reads a ratings file that goes with run directories: only
    ``id``, ``system`` and ``ratings`` are needed. `annotators` chooses
    SummEval's ``expert`` or ``turker`` annotations.
    """
    rows, syntax = parse_jsonl(path)
    if rows and all(k in rows[0][1] for k in SUMMEVAL_FIELDS) and "ratings" not in rows[0][1]:
        return _read_summeval(path, rows, syntax, annotators)
    hint = f"each line is {LINE_FORMAT if texts else RUNS_LINE_FORMAT}"
    summaries: list[RatedSummary] = []
    errors: list[tuple[int, BenchError]] = list(syntax)
    seen: dict[tuple[str, str], int] = {}
    types = IdTypes()
    for lineno, obj, at in text_lines(path, rows, errors):
        problems: list[BenchError] = []
        doc_id = _identifier(obj, "id", at, hint, problems)
        system = _identifier(obj, "system", at, hint, problems)
        types.check(obj, "id", lineno, at, problems)
        types.check(obj, "system", lineno, at, problems)
        prediction = _text(obj, "prediction", at, hint, problems) if texts or "prediction" in obj else ""
        references = _references(obj, "references", at, hint, problems) if texts or "references" in obj else ()
        document = obj.get("document")
        if document is not None and not isinstance(document, str):
            problems.append(BenchError(f"'document' must be a string, got {json_type(document)}", where=at,
                                       hint="the source text the summary was written from"))
            document = None
        if "ratings" not in obj:
            problems.append(BenchError("missing field 'ratings'", where=at, hint=hint))
            ratings: dict[str, tuple[float, ...]] = {}
        else:
            ratings, bad = _ratings(obj["ratings"], where(path, lineno, "ratings"), hint)
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
        summaries.append(RatedSummary(doc_id, system, prediction or "", references, document, ratings, at))
    _raise(errors)
    return _grid(relpath(path), "ratings", summaries)


def _read_summeval(path: Path, rows: Sequence[tuple[int, dict[str, Any]]],
                   syntax: Sequence[tuple[int, BenchError]], annotators: str) -> RatedSummaries:
    """SummEval's file: each line a (document, system) summary with expert and turker annotations."""
    if annotators not in SUMMEVAL_ANNOTATORS:
        raise BenchError(f"unknown annotators {annotators!r}", hint="SummEval has 'expert' and 'turker' annotations")
    key = f"{annotators}_annotations"
    hint = ("SummEval's lines hold id, model_id, decoded, references, text and expert_annotations / "
            'turker_annotations: lists of {"coherence", "consistency", "fluency", "relevance"} ratings')
    summaries: list[RatedSummary] = []
    errors: list[tuple[int, BenchError]] = list(syntax)
    seen: dict[tuple[str, str], int] = {}
    types = IdTypes()
    for lineno, obj, at in text_lines(path, rows, errors):
        problems: list[BenchError] = []
        doc_id = _identifier(obj, "id", at, hint, problems)
        system = _identifier(obj, "model_id", at, hint, problems)
        types.check(obj, "id", lineno, at, problems)
        types.check(obj, "model_id", lineno, at, problems)
        prediction = _text(obj, "decoded", at, hint, problems)
        references = _references(obj, "references", at, hint, problems)
        document = _text(obj, "text", at, hint, problems)
        ratings: dict[str, list[float]] = {}
        value = obj.get(key)
        if not isinstance(value, list) or not value or not all(isinstance(a, dict) for a in value):
            problems.append(BenchError(f"'{key}' must be a non-empty list of rating objects, got "
                                       f"{'nothing' if key not in obj else json_type(value)}",
                                       where=where(path, lineno, key), hint=hint))
        else:
            for k, annotation in enumerate(value):
                for criterion, r in annotation.items():
                    if not _number(r):
                        problems.append(BenchError(f"annotator {k + 1}'s rating of {criterion!r} must be a number, "
                                                   f"got {json_type(r)}", where=where(path, lineno, key), hint=hint))
                    else:
                        ratings.setdefault(criterion, []).append(float(r))
        if doc_id is not None and system is not None:
            first = seen.setdefault((doc_id, system), lineno)
            if first != lineno:
                problems.append(BenchError(f"duplicate (id, model_id) ({doc_id!r}, {system!r}) "
                                           f"(first on line {first})", where=at, hint=hint))
        if problems:
            errors += [(lineno, e) for e in problems]
            continue
        summaries.append(RatedSummary(doc_id, system, prediction or "", references, document,
                                      {c: tuple(v) for c, v in ratings.items()}, at))
    _raise(errors)
    return _grid(relpath(path), "summeval", summaries)


def text_lines(path: Path, rows: Sequence[tuple[int, dict[str, Any]]],
               errors: list[tuple[int, BenchError]]) -> Iterator[tuple[int, dict[str, Any], str]]:
    """(line number, object, where) of each line that is text; a line holding an unpaired surrogate escape is
    one problem in `errors` instead."""
    for lineno, obj in rows:
        at = where(path, lineno)
        found = lone_surrogate(obj)
        if found:
            errors.append((lineno, BenchError(f"{surrogate_name(found)}: not valid Unicode text", where=at,
                                              hint=SURROGATE_HINT)))
            continue
        yield lineno, obj, at


def _raise(errors: Sequence[tuple[int, BenchError]]) -> None:
    """Every problem of a file at once, in line order."""
    if errors:
        raise BenchErrors([e for _, e in sorted(errors, key=lambda p: p[0])])


def _grid(source: str, layout: str, summaries: Sequence[RatedSummary],
          stored: Mapping[str, tuple[float, ...]] | None = None, notes: Sequence[str] = ()) -> RatedSummaries:
    documents = tuple(dict.fromkeys(s.id for s in summaries))
    systems = tuple(dict.fromkeys(s.system for s in summaries))
    criteria = tuple(dict.fromkeys(c for s in summaries for c in s.ratings))
    if not criteria:
        raise BenchError("no summary has a rating", where=source,
                         hint='give each line "ratings": {criterion: number or [numbers]}')
    return RatedSummaries(source=source, layout=layout, summaries=tuple(summaries), documents=documents,
                          systems=systems, criteria=criteria, stored=dict(stored or {}), notes=tuple(notes))


# ------------------------------------------------------------------ run directories


def read_runs_with_ratings(paths: Sequence[Path], ratings_path: Path) -> RatedSummaries:
    """The latest run of each model under `paths` (one task), paired with a ratings file by (id, system).

    The runs are read through `bench.comparison.select.collect_runs` and
    `bench.comparison.flips.read_predictions` (which check results.json with
    `bench.results.store.read_record` and the per-example scores against it). A
    rating whose system has no run, or whose id is no example of that run,
    is an error naming its line.
    """
    from bench.comparison.flips import read_predictions
    from bench.comparison.select import collect_runs

    runs = collect_runs(paths)
    tasks = sorted({r.task for r in runs})
    if len(tasks) > 1:
        raise BenchError(f"the runs are of {len(tasks)} tasks ({', '.join(tasks)}); ratings go with one task",
                         hint="pass the runs of one task, e.g. results/<task>")
    latest: dict[str, RunRecord] = {}
    for r in runs:
        if r.model not in latest or r.order > latest[r.model].order:
            latest[r.model] = r
    predictions = {model: read_predictions(run.path, run) for model, run in latest.items()}
    study = study_file(ratings_path)
    rated = read_study(study) if study is not None else read_ratings(ratings_path, texts=False)
    if study is not None:
        _check_study_summaries(rated, predictions, latest)
    if rated.layout == "summeval":
        raise BenchError("SummEval's file holds its own summaries; give it alone, without run directories",
                         where=rated.source, hint="bench correlate model_annotations.aligned.paired.jsonl")
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
    source = ", ".join(relpath(p) for p in paths) + f" with {relpath(study or ratings_path)}"
    return _grid(source, "runs", summaries, stored, notes)


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


def read_study(path: Path) -> RatedSummaries:
    """The ratings of a `bench annotate` study, as its export writes them: one summary per line."""
    from bench.annotation.study_export import rating_rows
    from bench.annotation.storage import open_study

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
    return _grid(study.source, "study", summaries)


def _check_study_summaries(rated: RatedSummaries, predictions: Mapping[str, Any], latest: Mapping[str, Any]) -> None:
    """Every summary the study rated is the one the latest run of its model holds."""
    for s in rated.summaries:
        p = predictions.get(s.system, {}).get(s.id)
        if p is not None and p.prediction != s.prediction:
            raise BenchError(f"the study rated another summary of {s.id!r} by {s.system!r} than its latest run "
                             "holds", where=relpath(latest[s.system].path),
                             hint="the model ran again after the study was made; give the results directory the "
                                  "study was made from (`bench annotate status STUDY --format json` lists its runs)")
