"""Published meta-evaluation files, read as their authors released them, each recognised by its fields.

- SummEval's annotation file (Fabbri et al., 2021; ``model_annotations.aligned.paired.jsonl``): JSON lines of
  ``id``, ``model_id``, ``decoded``, ``references``, ``text``, ``expert_annotations`` and
  ``turker_annotations`` (lists of {coherence, consistency, fluency, relevance} ratings);
- UniEval's meta-evaluation files (Zhong et al., 2022; its repository's ``reproduce/`` folder: SummEval,
  Topical-Chat, SFRES/SFHOT, QAGS): one JSON array of ``doc_id``, optional ``system_id``, ``source``,
  ``reference``, ``system_output``, ``scores`` (the human ratings per criterion) and optional
  ``predict_scores`` (UniEval's own score per criterion, which becomes the metric ``unieval``, its score for
  a criterion set against that criterion's ratings).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.correlation.rated import (IdTypes, RatedSummaries, RatedSummary, gather_scores, identifier, make_grid,
                                     number, raise_all, read_ratings_object, read_scores_object, references, shown,
                                     text, text_lines)
from bench.errors import BenchError, relpath
from bench.io import BOM, NONFINITE_HINT, NonFiniteNumber, decode_utf8, json_type, loads, where

#: SummEval's fields, by which its file is recognised.
SUMMEVAL_FIELDS = ("id", "model_id", "decoded", "references", "text")
SUMMEVAL_ANNOTATORS = ("expert", "turker")
SUMMEVAL_CRITERIA = ("coherence", "consistency", "fluency", "relevance")
#: UniEval's fields, by which its files are recognised (with the file being one JSON array).
UNIEVAL_FIELDS = ("system_output", "scores")
#: The metric UniEval's ``predict_scores`` become.
UNIEVAL_METRIC = "unieval"
UNIEVAL_HINT = ('UniEval\'s files are one JSON array of {"doc_id", "system_id" (optional), "source", "reference", '
                '"system_output", "scores": {criterion: rating}, "predict_scores": {criterion: score} (optional)}')


def is_summeval(first: dict[str, Any]) -> bool:
    return all(k in first for k in SUMMEVAL_FIELDS) and "ratings" not in first


def read_summeval(path: Path, rows: Sequence[tuple[int, dict[str, Any]]],
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
        doc_id = identifier(obj, "id", at, hint, problems)
        system = identifier(obj, "model_id", at, hint, problems)
        types.check(obj, "id", lineno, at, problems)
        types.check(obj, "model_id", lineno, at, problems)
        prediction = text(obj, "decoded", at, hint, problems)
        refs = references(obj, "references", at, hint, problems)
        document = text(obj, "text", at, hint, problems)
        ratings: dict[str, list[float]] = {}
        value = obj.get(key)
        if not isinstance(value, list) or not value or not all(isinstance(a, dict) for a in value):
            problems.append(BenchError(f"'{key}' must be a non-empty list of rating objects, got "
                                       f"{'nothing' if key not in obj else json_type(value)}",
                                       where=where(path, lineno, key), hint=hint))
        else:
            for k, annotation in enumerate(value):
                for criterion, r in annotation.items():
                    if not number(r):
                        problems.append(BenchError(f"annotator {k + 1}'s rating of {criterion!r} must be a number, "
                                                   f"got {shown(r)}", where=where(path, lineno, key), hint=hint))
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
        summaries.append(RatedSummary(doc_id, system, prediction or "", refs, document,
                                      {c: tuple(v) for c, v in ratings.items()}, at))
    raise_all(errors)
    return make_grid(relpath(path), "summeval", summaries)


# ------------------------------------------------------------------ UniEval


def json_array(path: Path, data: bytes) -> list[tuple[int, Any]]:
    """(line, item) of each item of a file that holds one JSON array, the line where the item starts.

    The whole text is first read by `bench.io.loads` (no NaN or Infinity, bounded nesting); an error is one
    message with its line.
    """
    at = relpath(path)
    if data.startswith(BOM):
        raise BenchError("file starts with a UTF-8 byte-order mark", where=f"{at}:1",
                         hint="save the file as UTF-8 without BOM")
    doc = decode_utf8(data, at)
    try:
        items = loads(doc)
    except NonFiniteNumber as e:
        line = doc[:doc.find(str(e))].count("\n") + 1 if str(e) in doc else 1
        raise BenchError(f"{e} is not a valid number", where=f"{at}:{line}", hint=NONFINITE_HINT) from None
    except json.JSONDecodeError as e:
        raise BenchError(f"invalid JSON: {e.msg} (column {e.colno})", where=f"{at}:{e.lineno}",
                         hint="the file is cut short or not JSON; check it near this point") from None
    if not isinstance(items, list):
        raise BenchError(f"expected a JSON array, got {json_type(items)}", where=at, hint=UNIEVAL_HINT)
    # where each item starts: the same text scanned item by item
    decoder = json.JSONDecoder()
    out: list[tuple[int, Any]] = []
    i, line, counted = doc.index("[") + 1, 1, 0
    for item in items:
        while doc[i] in " \t\r\n,":
            i += 1
        line += doc.count("\n", counted, i)
        counted = i
        _, i = decoder.raw_decode(doc, i)
        out.append((line, item))
    return out


def read_unieval(path: Path, items: Sequence[tuple[int, Any]]) -> RatedSummaries:
    """UniEval's meta-evaluation file: one summary per item, its human ratings in ``scores``."""
    if not items:
        raise BenchError("the JSON array is empty", where=relpath(path), hint=UNIEVAL_HINT)
    errors: list[tuple[int, BenchError]] = []
    rows = []
    for lineno, obj in items:
        if not isinstance(obj, dict):
            errors.append((lineno, BenchError(f"expected a JSON object, got {json_type(obj)}", where=where(path, lineno),
                                              hint=UNIEVAL_HINT)))
        else:
            rows.append((lineno, obj))
    named = [lineno for lineno, obj in rows if "system_id" in obj]
    summaries: list[RatedSummary] = []
    predicted: list[tuple[int, str, dict[str, float | None] | None]] = []
    seen: dict[tuple[str, str], int] = {}
    order: dict[str, int] = {}
    types = IdTypes()
    for lineno, obj, at in text_lines(path, rows, errors):
        problems: list[BenchError] = []
        doc_id = identifier(obj, "doc_id", at, UNIEVAL_HINT, problems)
        types.check(obj, "doc_id", lineno, at, problems)
        system: str | None = None
        if named:
            if "system_id" not in obj:
                problems.append(BenchError(f"missing field 'system_id' (line {named[0]} gives one)", where=at,
                                           hint="give every item a system_id, or none"))
            else:
                system = identifier(obj, "system_id", at, UNIEVAL_HINT, problems)
                types.check(obj, "system_id", lineno, at, problems)
        prediction = text(obj, "system_output", at, UNIEVAL_HINT, problems)
        document = obj.get("source")
        if document is not None and not isinstance(document, str):
            problems.append(BenchError(f"'source' must be a string, got {json_type(document)}", where=at,
                                       hint=UNIEVAL_HINT))
        refs = references(obj, "reference", at, UNIEVAL_HINT, problems) if "reference" in obj else ()
        if "scores" not in obj:
            problems.append(BenchError("missing field 'scores'", where=at, hint=UNIEVAL_HINT))
            ratings: dict[str, tuple[float, ...]] = {}
        else:
            ratings, bad = read_ratings_object(obj["scores"], where(path, lineno, "scores"), UNIEVAL_HINT,
                                               what="scores")
            problems += bad
        scores = None
        if "predict_scores" in obj:
            scores, bad = read_scores_object(obj["predict_scores"], where(path, lineno, "predict_scores"),
                                             "predict_scores", hint=UNIEVAL_HINT, label="UniEval's score of")
            problems += bad
        if doc_id is not None and not named:
            order[doc_id] = order.get(doc_id, 0) + 1
            system = f"#{order[doc_id]}"
        if doc_id is not None and system is not None and named:
            first = seen.setdefault((doc_id, system), lineno)
            if first != lineno:
                problems.append(BenchError(f"duplicate (doc_id, system_id) ({doc_id!r}, {system!r}) (first on line "
                                           f"{first})", where=at, hint="each system's summary of a document is one item"))
        if problems:
            errors += [(lineno, e) for e in problems]
            continue
        summaries.append(RatedSummary(doc_id, system, prediction or "", refs, document, ratings, at))
        predicted.append((lineno, at, scores))
    by_criterion, missing, notes = gather_scores(predicted, what="predict_scores", label="UniEval's score of",
                                                 hint="give every item UniEval's score of the same criteria, or none")
    raise_all(errors + missing)
    criterion_scores = {UNIEVAL_METRIC: by_criterion} if by_criterion else {}
    return make_grid(relpath(path), "unieval", summaries, notes=notes, criterion_scores=criterion_scores,
                     anonymous_systems=not named)
