"""Fixtures: reading and checking the examples of a task, all problems at once.

A fixture is JSONL (one example per line) or, for QA, a JSON file in the
official SQuAD layout, flattened to one example per question. Every line is
checked against the task's type and field mapping before any model loads, and
every problem is reported with file:line and field.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import BenchError, BenchErrors, relpath
from bench.io import (BOM, NONFINITE_HINT, SURROGATE_HINT, NonFiniteNumber, decode_utf8, has_nonfinite, json_type,
                      lone_surrogate, loads, parse_jsonl, read_bytes, surrogate_escape_lines, surrogate_name)
from bench.io import where as file_where
from bench.registry import did_you_mean
from bench.tasks.locations import key_where, validate_command
from bench.tasks.records import Task, as_references


def parse_squad_json(path: Path) -> tuple[list[tuple[str, dict]], list[BenchError]]:
    """A JSON file in the official SQuAD layout, flattened to one row per question.

    Returns ((JSON path, row) for each question, problems). A row is
    ``{"id", "title", "context", "question", "answers": {"text": [...], "answer_start": [...]}}``;
    a question with ``"is_impossible": true`` has no answers (its ``plausible_answers`` are not used).
    """
    where0 = relpath(path)
    data = read_bytes(path)
    errors: list[BenchError] = []
    if data.startswith(BOM):
        errors.append(BenchError("file starts with a UTF-8 byte-order mark", where=f"{where0}:1",
                                 hint="save the file as UTF-8 without BOM"))
        data = data[len(BOM):]
    text = decode_utf8(data, where0)
    try:
        doc = loads(text)
    except NonFiniteNumber as e:
        raise BenchError(f"{e} is not a valid number", where=where0, hint=NONFINITE_HINT) from None
    except json.JSONDecodeError as e:
        raise BenchError(f"invalid JSON: {e.msg} (column {e.colno})", where=f"{where0}:{e.lineno}",
                         hint="the file is cut short or not JSON; check it near this point") from None
    layout = ('SQuAD\'s layout: {"data": [{"title": ..., "paragraphs": [{"context": ..., '
              '"qas": [{"id", "question", "answers": [{"text", "answer_start"}]}]}]}]}')
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise BenchError('a .json fixture must be an object with a "data" list', where=where0,
                         hint=f"use {layout}, or JSONL (one example per line)")
    rows: list[tuple[str, dict]] = []

    def bad(ptr: str, msg: str) -> None:
        errors.append(BenchError(msg, where=f"{where0}:{ptr}", hint=f"expected {layout}"))

    for a, article in enumerate(doc["data"]):
        pa = f"data[{a}]"
        if not isinstance(article, dict) or not isinstance(article.get("paragraphs"), list):
            bad(pa, 'expected an object with a "paragraphs" list')
            continue
        title = article.get("title", "")
        for p, para in enumerate(article["paragraphs"]):
            pp = f"{pa}.paragraphs[{p}]"
            if not isinstance(para, dict) or not isinstance(para.get("qas"), list):
                bad(pp, 'expected an object with "context" and a "qas" list')
                continue
            context = para.get("context")
            for q, qa in enumerate(para["qas"]):
                pq = f"{pp}.qas[{q}]"
                if not isinstance(qa, dict):
                    bad(pq, f"expected a question object, got {json_type(qa)}")
                    continue
                answers = qa.get("answers", [])
                if not isinstance(answers, list) or not all(isinstance(x, dict) for x in answers):
                    bad(pq + " (field 'answers')", 'expected a list of {"text", "answer_start"} objects')
                    continue
                impossible = qa.get("is_impossible", False)
                if not isinstance(impossible, bool):
                    bad(pq + " (field 'is_impossible')", f"expected true or false, got {json_type(impossible)}")
                    continue
                if impossible and answers:
                    bad(pq + " (field 'answers')", "an impossible question (is_impossible: true) has answers")
                    continue
                row = {k: v for k, v in qa.items() if k not in ("answers", "is_impossible", "plausible_answers")}
                row["title"] = title
                row["context"] = context
                row["answers"] = {"text": [x.get("text") for x in answers],
                                  "answer_start": [x.get("answer_start") for x in answers]}
                rows.append((pq, row))
    if not rows and not errors:
        errors.append(BenchError("the file holds no questions", where=where0, hint=f"use {layout}"))
    return rows, errors


@dataclass(frozen=True)
class Row:
    """One example to check, with where it came from."""

    where: str
    """``fixtures/x.jsonl:12``, ``dev.json:data[0].paragraphs[1].qas[2]`` or ``squad[validation][5]``."""
    label: str
    """``line 12``, ``data[0]...`` or ``row 5``: how a duplicate refers back to it."""
    order: int
    """Where the row's problems sort among the file's (line number, question or row index)."""
    obj: dict
    """The example as read: field name -> value."""
    may_hold_surrogate: bool = field(default=True, compare=False)
    """False when the text it was read from has no surrogate escape (``\\ud800``), so no field can hold an
    unpaired one and none is walked to look (`bench.io.surrogate_escape_lines`)."""


def fixture_rows(path: Path) -> tuple[list[Row], list[tuple[int, BenchError]]]:
    """The rows of a fixture file (JSONL, or SQuAD-layout JSON), and the problems of reading them."""
    if path.suffix == ".json":
        parsed, errs = parse_squad_json(path)
        rows = [Row(f"{relpath(path)}:{ptr}", ptr, k, obj) for k, (ptr, obj) in enumerate(parsed)]
        return rows, [(-1, e) for e in errs]
    data = read_bytes(path)
    lines, line_errors = parse_jsonl(path, data=data)
    suspects = surrogate_escape_lines(data)
    return [Row(file_where(path, n), f"line {n}", n, obj, n in suspects) for n, obj in lines], line_errors


def check_fixture(task: Task) -> tuple[list[dict], list[BenchError]]:
    """Every problem of a fixture task's data, in file order: (good rows, problems)."""
    assert task.fixture is not None
    path = task.fixture
    rows, parse_errors = fixture_rows(path)
    unit = "question" if path.suffix == ".json" else "line"
    present = sorted({k for r in rows for k in r.obj})
    field_errors = check_mapped_fields(task, present, relpath(path), unit) if rows else []
    missing = {name for _, name in _missing_fields(task, present)} if rows else set()
    good, row_errors = check_rows(task, rows, relpath(path), skip_missing=missing)
    problems = sorted(field_errors + parse_errors + row_errors, key=lambda p: p[0])
    return good, [e for _, e in problems]


def validate_fixture(task: Task) -> list[dict]:
    """Check every example of the task's fixture; report all problems at once."""
    rows, errors = check_fixture(task)
    if errors:
        raise BenchErrors(errors)
    return rows


def _missing_fields(task: Task, present: Sequence[str]) -> list[tuple[str, str]]:
    have = set(present)
    return [(logical, name) for logical, name in task.fields.items() if name not in have]


def check_mapped_fields(task: Task, present: Sequence[str], source: str, unit: str) -> list[tuple[int, BenchError]]:
    """The task's `fields` name fields the data has (checked once, not on every line).

    `present` are the field (or column) names the data has, `source` names the data in
    messages, and `unit` is what holds one example: ``line``, ``question`` or ``column``.
    """
    out = []
    where = key_where(task.path, "fields") if task.path.suffix in (".yaml", ".yml") else source
    thing = "column" if unit == "column" else "field"
    for logical, name in _missing_fields(task, present):
        lacks = f"which {source} does not have" if unit == "column" else f"which no {unit} of {source} has"
        out.append((-1, BenchError(
            f"task field {logical!r} names {thing} {name!r}, {lacks}.{did_you_mean(name, list(present))}",
            where=f"{where} (field 'fields')",
            hint=f"{thing}s there: {', '.join(present) or '(none)'}; map it in the task's 'fields', "
                 f"e.g. fields: {{{logical}: <{thing}>}}",
        )))
    return out


def check_rows(task: Task, rows: Sequence[Row], source: str, *,
               skip_missing: Iterable[str] = ()) -> tuple[list[dict], list[tuple[int, BenchError]]]:
    """Check each example's fields: types, unique ids, references, answer spans; (good rows, problems).

    A field named in `skip_missing` is not reported missing on each row (it was reported once).
    """
    skip = set(skip_missing)
    unfilled = unfilled_field(task, rows)
    problems: list[tuple[int, BenchError]] = []
    if unfilled:
        problems.append((-1, _unfilled_error(task, unfilled, len(rows), source)))
    good: list[dict] = []
    seen: dict[str, str] = {}
    for row in rows:
        fields = _RowFields(task, row, skip)
        _check_id(fields, seen)
        if task.type == "summarization":
            _check_summarization_fields(fields, unfilled)
        else:
            _check_qa_fields(fields, unfilled)
        if has_nonfinite(row.obj):
            fields.errors.append(BenchError("contains NaN or infinity", where=fields.at(), hint=NONFINITE_HINT))
        fields.errors.extend(_surrogate_errors(row))
        problems.extend((row.order, e) for e in fields.errors)
        if not fields.errors:
            good.append(row.obj)
    return good, problems


def _surrogate_errors(row: Row) -> list[BenchError]:
    """An unpaired surrogate escape (``"\\ud800"``) in any field: not Unicode text, and Arrow cannot store it."""
    out: list[BenchError] = []
    if not row.may_hold_surrogate:
        return out
    for key, value in row.obj.items():
        found = lone_surrogate(key) or lone_surrogate(value)
        if found:
            out.append(BenchError(f"{surrogate_name(found)} at character {found[1]}: not valid Unicode text",
                                  where=f"{row.where} (field {str(key)!r})", hint=SURROGATE_HINT))
    return out


def unfilled_field(task: Task, rows: Sequence[Row]) -> str:
    """The field that a file `bench fixture import` prepared still lacks on every row, or "".

    ``references`` for a summarization task whose rows all have empty references,
    ``question`` for a QA task whose rows all have an empty question. Such a file gets
    one message, not one per line.
    """
    f = task.fields
    if rows and task.type == "summarization" and all(_no_references(r.obj.get(f["references"])) for r in rows):
        return "references"
    if rows and task.type == "qa" and all(r.obj.get(f["question"]) == "" for r in rows):
        return "question"
    return ""


def _unfilled_error(task: Task, unfilled: str, n: int, source: str) -> BenchError:
    f = task.fields
    each = "its example" if n == 1 else f"each of its {n} examples"
    command = validate_command(task.name, task.path)
    then = f"`{command}`, then remove 'draft: true' from {relpath(task.path)}" if task.draft else f"`{command}`"
    if unfilled == "references":
        return BenchError(
            f"task {task.name!r} has no references yet: fill in {f['references']!r} for {each}, then run",
            where=source,
            hint=f'write one or more reference summaries per example, e.g. "{f["references"]}": '
                 f'["First sentence.\\nSecond sentence."] (one sentence per line, for rougeLsum); '
                 f"then {then}",
        )
    return BenchError(
        f"task {task.name!r} has no questions yet: write a question and its answers for {each} "
        "(copy a line for each further question), then run",
        where=source,
        hint='set "question", a unique "id", and "answers": {"text": [a span copied from the context], '
             '"answer_start": [its character offset]} ({"text": [], "answer_start": []} if the context '
             f"does not answer it); `{validate_command(task.name, task.path)}` tells you the offset of each answer "
             "text"
             + (f"; then remove 'draft: true' from {relpath(task.path)}" if task.draft else ""),
    )


class _RowFields:
    """The mapped fields of one row, read with their type checked; the row's problems collect in `errors`."""

    def __init__(self, task: Task, row: Row, skip: set[str]) -> None:
        self.fields = task.fields
        self.row = row
        self.skip = skip
        self.errors: list[BenchError] = []

    def at(self, logical: str | None = None) -> str:
        """Where the row is, with the data field that `logical` maps to."""
        return f"{self.row.where} (field {self.fields[logical]!r})" if logical else self.row.where

    def need(self, logical: str, kind: type | tuple[type, ...], what: str) -> Any:
        """The value of a logical field, or None (and a problem) when it is missing or of the wrong type."""
        name = self.fields[logical]
        obj = self.row.obj
        if name not in obj:
            if name not in self.skip:
                self.errors.append(BenchError(
                    f"missing field {name!r}{did_you_mean(name, list(obj))}",
                    where=self.at(), hint=f"the task maps '{logical}' to field {name!r}",
                ))
            return None
        value = obj[name]
        if not isinstance(value, kind) or isinstance(value, bool):
            self.errors.append(BenchError(f"expected {what}, got {json_type(value)}", where=self.at(logical)))
            return None
        return value


def _check_id(fields: _RowFields, seen: dict[str, str]) -> None:
    """A non-empty id, unique within the task (`seen`: id -> where it was first used)."""
    ex_id = fields.need("id", (str, int), "a string id")
    if ex_id is None:
        return
    ex_id = str(ex_id)
    if not ex_id.strip():
        fields.errors.append(BenchError("id is empty", where=fields.at("id")))
    elif ex_id in seen:
        fields.errors.append(BenchError(
            f"duplicate id {ex_id!r} (first used on {seen[ex_id]})",
            where=fields.at("id"), hint="ids must be unique within a task",
        ))
    else:
        seen[ex_id] = fields.row.label


def _check_summarization_fields(fields: _RowFields, unfilled: str) -> None:
    """A non-empty document and at least one non-empty reference string."""
    doc = fields.need("document", str, "a string")
    if doc is not None and not doc.strip():
        fields.errors.append(BenchError("document is empty", where=fields.at("document"),
                                        hint="write the document, or remove this example"))
    refs = fields.need("references", (list, str), "a list of reference strings")
    if refs is None or unfilled:
        return
    refs_list = as_references(refs)
    if not refs_list:
        fields.errors.append(BenchError(
            "no references yet", where=fields.at("references"),
            hint="a summarization example needs at least one non-empty reference",
        ))
    for k, r in enumerate(refs_list):
        if not isinstance(r, str):
            fields.errors.append(BenchError(
                f"reference {k} is {json_type(r)}, expected a string", where=fields.at("references"),
            ))
        elif not r.strip():
            fields.errors.append(BenchError(
                f"reference {k} is empty", where=fields.at("references"),
                hint="write the reference summary, or remove the empty string",
            ))


def _check_qa_fields(fields: _RowFields, unfilled: str) -> None:
    """A non-empty context and question, and answers that are exact spans of the context."""
    context = fields.need("context", str, "a string")
    if context is not None and not context.strip():
        fields.errors.append(BenchError("context is empty", where=fields.at("context")))
    question = fields.need("question", str, "a string")
    if question is not None and not question.strip() and not unfilled:
        fields.errors.append(BenchError("question is empty", where=fields.at("question"),
                                        hint="write the question, or remove this example"))
    answers = fields.need("answers", dict, 'an object {"text": [...], "answer_start": [...]}')
    if answers is not None:
        fields.errors.extend(_check_answers(answers, context, fields.at("answers")))


def _no_references(value: Any) -> bool:
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, list) and all(isinstance(r, str) and not r.strip() for r in value)


def _check_answers(answers: dict, context: str | None, where: str) -> list[BenchError]:
    errs: list[BenchError] = []
    texts, starts = answers.get("text"), answers.get("answer_start")
    if not isinstance(texts, list) or not isinstance(starts, list):
        return [BenchError(
            'answers must have lists "text" and "answer_start" ([] and [] for an unanswerable question)',
            where=where,
        )]
    if len(texts) != len(starts):
        return [BenchError(
            f'"text" has {len(texts)} answers but "answer_start" has {len(starts)}', where=where,
        )]
    for k, (text, start) in enumerate(zip(texts, starts)):
        if not isinstance(text, str) or not text.strip():
            errs.append(BenchError(f"answer {k} is not a non-empty string", where=where))
            continue
        if not isinstance(start, int) or isinstance(start, bool) or start < 0:
            errs.append(BenchError(
                f"answer_start {k} is {start!r}, expected a character offset >= 0", where=where
            ))
            continue
        if context is None:
            continue
        if context[start:start + len(text)] != text:
            found = list(_find_all(context, text))
            if found:
                near = min(found, key=lambda i: abs(i - start))
                hint = f"{text!r} occurs at answer_start {near}" + (
                    f" (also at {', '.join(map(str, sorted(set(found) - {near})[:5]))})" if len(found) > 1 else ""
                )
            else:
                hint = f"{text!r} does not occur in the context; answers must be exact spans of it"
            errs.append(BenchError(
                f"answer {k} {text!r} is not at answer_start {start} "
                f"(the context there reads {context[start:start + len(text)]!r})",
                where=where, hint=hint,
            ))
    return errs


def _find_all(haystack: str, needle: str) -> Iterator[int]:
    i = haystack.find(needle)
    while i != -1:
        yield i
        i = haystack.find(needle, i + 1)
