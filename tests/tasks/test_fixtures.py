"""Fixture rows and their checks, function by function (the whole path is in test_validate.py)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.api import load_task
from bench.tasks.fixtures import Row, check_mapped_fields, check_rows, fixture_rows, unfilled_field


def _task(tmp_path: Path, ttype: str, lines: list[dict], fields: str = ""):
    (tmp_path / "t.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    (tmp_path / "t.yaml").write_text(f"name: t\nversion: 1\ntype: {ttype}\nfixture: t.jsonl\n{fields}",
                                     encoding="utf-8")
    return load_task(tmp_path / "t.yaml")


def test_fixture_rows_keep_where_each_row_came_from(tmp_path):
    task = _task(tmp_path, "summarization", [{"id": "a", "document": "D.", "references": ["R."]}])
    (tmp_path / "t.jsonl").write_text('\n{"id": "a"}\nnot json\n', encoding="utf-8")
    rows, problems = fixture_rows(task.fixture)
    assert rows == [Row(rows[0].where, "line 2", 2, {"id": "a"})] and rows[0].where.endswith("t.jsonl:2")
    assert [(n, e.message.split(":")[0]) for n, e in problems] == [(3, "invalid JSON")]


def test_check_rows_reports_each_field_of_each_row(tmp_path):
    task = _task(tmp_path, "qa", [{"id": "q", "context": "A cat.", "question": "Who?",
                                   "answers": {"text": ["cat"], "answer_start": [2]}}])
    rows = [
        Row("x:1", "line 1", 1, {"id": "q", "context": "A cat.", "question": "Who?",
                                 "answers": {"text": ["cat"], "answer_start": [2]}}),
        Row("x:2", "line 2", 2, {"id": "q", "context": " ", "question": "",
                                 "answers": {"text": ["dog"], "answer_start": [0]}}),
        Row("x:3", "line 3", 3, {"id": True, "question": "Why?", "answers": []}),
    ]
    good, problems = check_rows(task, rows, "x")
    assert good == [rows[0].obj]
    assert [(n, e.message) for n, e in problems] == [
        (2, "duplicate id 'q' (first used on line 1)"),
        (2, "context is empty"),
        (2, "question is empty"),
        (2, "answer 0 'dog' is not at answer_start 0 (the context there reads ' ')"),
        (3, "expected a string id, got a boolean"),
        (3, "missing field 'context'"),
        (3, 'expected an object {"text": [...], "answer_start": [...]}, got a list'),
    ]
    assert problems[1][1].where == "x:2 (field 'context')"
    assert check_rows(task, rows[2:], "x", skip_missing=["context"])[1][1][1].message.startswith("expected an")


def test_a_file_not_filled_in_yet_is_one_problem(tmp_path):
    task = _task(tmp_path, "summarization", [{"id": "a", "document": "D.", "references": []}])
    rows = [Row(f"x:{n}", f"line {n}", n, {"id": str(n), "document": "D.", "references": []}) for n in (1, 2)]
    assert unfilled_field(task, rows) == "references"
    good, problems = check_rows(task, rows, "x")
    assert good == [r.obj for r in rows] and len(problems) == 1
    assert problems[0][1].message == ("task 't' has no references yet: fill in 'references' for each of its "
                                      "2 examples, then run")
    assert unfilled_field(task, [Row("x:1", "line 1", 1, {"references": ["R."]})]) == ""
    assert unfilled_field(task, []) == ""


def test_check_mapped_fields_points_at_the_fields_key(tmp_path):
    task = _task(tmp_path, "summarization", [{"id": "a", "text": "D.", "references": ["R."]}],
                 fields="fields:\n  document: body\n")
    (problem,) = check_mapped_fields(task, ["id", "references", "text"], "t.jsonl", "line")
    assert problem[0] == -1 and problem[1].where.endswith("t.yaml:5 (field 'fields')")
    assert problem[1].message == ("task field 'document' names field 'body', which no line of t.jsonl has.")
    assert check_mapped_fields(task, ["id", "body", "references"], "t.jsonl", "line") == []
