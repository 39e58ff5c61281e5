"""Rated summaries as every reader of `bench correlate` gives them, and the checks of one line's fields.

`RatedSummaries` holds the summaries with their human ratings on a documents x systems grid, and the
scores given with them (computed elsewhere: a ratings line's ``scores``, a run's stored scores, UniEval's
``predict_scores``). The readers are `ratings.py` (bench's ratings files, runs, studies) and `published.py`
(SummEval's and UniEval's files as published).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from bench.errors import BenchError, BenchErrors
from bench.io import SURROGATE_HINT, json_type, lone_surrogate, surrogate_name, where
from bench.tasks.records import as_references

#: How a missing score is fixed, for messages.
SCORES_HINT = "give every line the same scores; write null for a score left out on purpose"


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
    """Rated summaries on a documents x systems grid, with the scores already given for them."""

    source: str
    layout: str
    """"ratings" (a ratings file), "summeval" or "unieval" (their files as published), "study" (a study of
    `bench annotate`) or "runs" (run directories and a ratings file)."""
    summaries: tuple[RatedSummary, ...]
    documents: tuple[str, ...]
    systems: tuple[str, ...]
    criteria: tuple[str, ...]
    stored: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    """Score name -> per-summary score (in `summaries` order; nan: none) given with the summaries: read from
    run directories, or a ratings line's ``scores``."""
    criterion_scores: Mapping[str, Mapping[str, tuple[float, ...]]] = field(default_factory=dict)
    """Score name -> criterion -> per-summary score, for a metric that scores each criterion apart (UniEval's
    ``predict_scores``)."""
    notes: tuple[str, ...] = ()
    anonymous_systems: bool = False
    """The summaries name no system (UniEval's files without ``system_id``): a document's summaries are told
    apart by their order, and there is no system level."""
    pooled: bool = False
    """The grid has one row per summary and one column (each document has one summary: only the sample level,
    which pools the summaries, is computed)."""

    @cached_property
    def cells(self) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
        """The row and column of each summary in the grid, and the grid's shape."""
        n = len(self.summaries)
        if self.pooled:
            return np.arange(n), np.zeros(n, dtype=np.intp), (n, 1)
        d = {x: k for k, x in enumerate(self.documents)}
        s = {x: k for k, x in enumerate(self.systems)}
        return (np.fromiter((d[r.id] for r in self.summaries), np.intp, n),
                np.fromiter((s[r.system] for r in self.summaries), np.intp, n), (len(self.documents), len(self.systems)))

    def grid(self, values: Sequence[float]) -> np.ndarray:
        """Per-summary values (in `summaries` order) as a grid, nan where no summary is."""
        rows, cols, shape = self.cells
        out = np.full(shape, np.nan)
        out[rows, cols] = np.asarray(values, dtype=np.float64) if len(values) else []
        return out

    def mean_ratings(self) -> dict[str, np.ndarray]:
        """Criterion -> grid of each summary's mean rating (nan: not rated)."""
        return {c: self.grid([float(np.mean(r.ratings[c])) if r.ratings.get(c) else math.nan
                              for r in self.summaries]) for c in self.criteria}

    def annotations(self) -> dict[str, np.ndarray]:
        """Criterion -> grid x annotators array of the single ratings (nan-padded)."""
        rows, cols, shape = self.cells
        out = {}
        for c in self.criteria:
            width = max(len(r.ratings.get(c, ())) for r in self.summaries)
            grid = np.full((*shape, max(1, width)), np.nan)
            for k, r in enumerate(self.summaries):
                values = r.ratings.get(c, ())
                grid[rows[k], cols[k], :len(values)] = values
            out[c] = grid
        return out

    def most_per_document(self) -> int:
        """The most rated summaries any document has."""
        counts: dict[str, int] = {}
        for r in self.summaries:
            counts[r.id] = counts.get(r.id, 0) + 1
        return max(counts.values(), default=0)


# ------------------------------------------------------------------ checking one line


#: The largest magnitude a rating or score may have. Below it the squares and sums of a million values stay
#: finite in float64 (Pearson's sums of products, the annotators' mean, Krippendorff's squared differences), so
#: every coefficient is computed as for small numbers; beyond it a value is refused, not overflowed into a
#: coefficient of NaN.
LARGEST = 1e100


def number(value: Any) -> bool:
    """A rating or score bench can compute with: a finite int or float of magnitude at most `LARGEST`."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return abs(float(value)) <= LARGEST  # False for NaN
    except OverflowError:  # an integer beyond a double
        return False


def read_ratings_object(value: Any, at: str, hint: str,
                        what: str = "ratings") -> tuple[dict[str, tuple[float, ...]], list[BenchError]]:
    """A line's ``ratings`` object (`what`: its field) checked: criterion -> ratings (null: left out)."""
    if not isinstance(value, dict) or not value:
        return {}, [BenchError(f"'{what}' must be an object of criterion -> rating, got "
                               f"{'an empty object' if value == {} else json_type(value)}", where=at,
                               hint=f'e.g. "{what}": {{"coherence": 4, "relevance": [4, 5]}}')]
    out: dict[str, tuple[float, ...]] = {}
    errors = []
    for criterion, r in value.items():
        if not criterion.strip():
            errors.append(BenchError("a criterion name is empty", where=at, hint=hint))
        elif r is None:
            continue
        elif number(r):
            out[criterion] = (float(r),)
        elif isinstance(r, list) and r and all(number(x) for x in r):
            out[criterion] = tuple(float(x) for x in r)
        else:
            got = ("an empty list" if r == [] else "a list holding " + shown(next(x for x in r if not number(x)))
                   if isinstance(r, list) else shown(r))
            errors.append(BenchError(f"rating of {criterion!r} must be a number or a list of numbers, got {got}",
                                     where=at, hint="one number per annotator, e.g. [4, 5, 3]; null when not rated"))
    return out, errors


def read_scores_object(value: Any, at: str, what: str = "scores",
                       hint: str = 'e.g. "scores": {"bertscore_f1": 0.91, "my_metric": null}', label: str = "score"
                       ) -> tuple[dict[str, float | None], list[BenchError]]:
    """A line's object of name -> number or null (`what`: its field, `label`: what a value is, for messages)."""
    if not isinstance(value, dict):
        return {}, [BenchError(f"'{what}' must be an object of name -> number, got {json_type(value)}", where=at,
                               hint=hint)]
    out: dict[str, float | None] = {}
    errors = []
    for name, v in value.items():
        if not name.strip():
            errors.append(BenchError(f"a name in '{what}' is empty", where=at, hint=hint))
        elif v is None:
            out[name] = None
        elif number(v):
            out[name] = float(v)
        else:
            errors.append(BenchError(f"{label} {name!r} must be a finite number or null, got {shown(v)}", where=at,
                                     hint=hint))
    return out, errors


def shown(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value} (a number too large for a double)"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        digits = f"an integer of {len(str(abs(value)))} digits" if isinstance(value, int) else f"{value:g}"
        return f"{digits}, beyond ±{LARGEST:g} (rescale the values: the coefficients do not change)"
    return json_type(value)


def gather_scores(lines: Sequence[tuple[int, str, Mapping[str, float | None] | None]], *, what: str = "scores",
                  hint: str = SCORES_HINT, label: str = "score") -> tuple[dict[str, tuple[float, ...]], list[tuple[int, BenchError]],
                                                   list[str]]:
    """The scores of every line as per-summary tuples (nan where null), the errors of names missing on some
    lines, and a note per name left out (null) somewhere. `lines`: (line number, where, the line's scores,
    None when it has no `what` field)."""
    first: dict[str, int] = {}
    for lineno, _, scores in lines:
        for name in scores or {}:
            first.setdefault(name, lineno)
    errors: list[tuple[int, BenchError]] = []
    if not first:
        return {}, errors, []
    for lineno, at, scores in lines:
        if scores is None:
            shown = ", ".join(repr(n) for n in list(first)[:3]) + (", ..." if len(first) > 3 else "")
            errors.append((lineno, BenchError(f"no '{what}' here, but line {min(first.values())} gives {shown}",
                                              where=at, hint=hint)))
            continue
        missing = [n for n in first if n not in scores]
        if missing:
            errors.append((lineno, BenchError(f"{label} {missing[0]!r} is missing (line {first[missing[0]]} gives it)"
                                              + (f", and {len(missing) - 1} more" if len(missing) > 1 else ""),
                                              where=at, hint=hint)))
    out = {name: tuple(math.nan if s is None or s.get(name) is None else float(s[name]) for _, _, s in lines)
           for name in first}
    notes = []
    for name, values in out.items():
        left = sum(1 for v in values if math.isnan(v))
        if left:
            notes.append(f"{label} {name!r}: no value (null) for {left} of {len(values)} summaries, left out of its "
                         "numbers")
    return out, errors, notes


def text(obj: Mapping[str, Any], key: str, at: str, hint: str, errors: list[BenchError]) -> str | None:
    if key not in obj:
        errors.append(BenchError(f"missing field {key!r}", where=at, hint=hint))
        return None
    value = obj[key]
    if not isinstance(value, str):
        errors.append(BenchError(f"'{key}' must be a string, got {json_type(value)}", where=at, hint=hint))
        return None
    return value


def identifier(obj: Mapping[str, Any], key: str, at: str, hint: str, errors: list[BenchError]) -> str | None:
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
            return  # reported by `identifier`
        kind, first = self.first.setdefault(key, (type(value), lineno))
        if kind is not type(value):
            shown = json.dumps(str(value), ensure_ascii=False)
            errors.append(BenchError(
                f"{key!r} is {json_type(value)} here ({json.dumps(value, ensure_ascii=False)}) but "
                f"{json_type(kind())} on line {first}: {str(value)} and {shown} would be one "
                f"{'document' if key in ('id', 'doc_id') else 'system'}",
                where=at, hint=f"write every {key!r} the same way: all strings or all numbers"))


def references(obj: Mapping[str, Any], key: str, at: str, hint: str, errors: list[BenchError]) -> tuple[str, ...]:
    if key not in obj:
        errors.append(BenchError(f"missing field {key!r}", where=at, hint=hint))
        return ()
    refs = obj[key]
    if isinstance(refs, str):
        refs = as_references(refs)
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        errors.append(BenchError(f"'{key}' must be a list of strings", where=at,
                                 hint=f'e.g. "{key}": ["A reference summary."]'))
        return ()
    return tuple(refs)


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


def raise_all(errors: Sequence[tuple[int, BenchError]]) -> None:
    """Every problem of a file at once, in line order."""
    if errors:
        raise BenchErrors([e for _, e in sorted(errors, key=lambda p: p[0])])


def make_grid(source: str, layout: str, summaries: Sequence[RatedSummary],
              stored: Mapping[str, tuple[float, ...]] | None = None, notes: Sequence[str] = (),
              criterion_scores: Mapping[str, Mapping[str, tuple[float, ...]]] | None = None,
              anonymous_systems: bool = False) -> RatedSummaries:
    documents = tuple(dict.fromkeys(s.id for s in summaries))
    systems = tuple(dict.fromkeys(s.system for s in summaries))
    criteria = tuple(dict.fromkeys(c for s in summaries for c in s.ratings))
    if not criteria:
        raise BenchError("no summary has a rating", where=source,
                         hint='give each line "ratings": {criterion: number or [numbers]}')
    return RatedSummaries(source=source, layout=layout, summaries=tuple(summaries), documents=documents,
                          systems=systems, criteria=criteria, stored=dict(stored or {}), notes=tuple(notes),
                          criterion_scores=dict(criterion_scores or {}), anonymous_systems=anonymous_systems)
