"""Reading a task definition in named steps: the file's text, its YAML, where a key sits, the task hash."""

from __future__ import annotations

import hashlib

import pytest

from bench.errors import BenchError, BenchErrors
from bench.tasks.definition import (MAX_TASK_FILE, TASK_TYPES, load_task, parse_task_yaml, read_task_text,
                                    task_hash)
from bench.tasks.locations import key_line, key_where


def test_read_task_text_refuses_big_and_non_utf8_files(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("name: t\n", encoding="utf-8")
    assert read_task_text(path) == "name: t\n"
    path.write_bytes(b"name: t\nversion: \xff\n")
    with pytest.raises(BenchError, match="not valid UTF-8") as e:
        read_task_text(path)
    assert e.value.where.endswith("t.yaml:2")
    path.write_bytes(b"#" * (MAX_TASK_FILE + 1))
    with pytest.raises(BenchError, match="a task definition is a short YAML file"):
        read_task_text(path)
    with pytest.raises(BenchError, match="cannot read task definition"):
        read_task_text(tmp_path / "missing.yaml")


def test_parse_task_yaml_gives_a_mapping_or_one_error_at_its_line():
    assert parse_task_yaml("name: t\nversion: 1\n", "t.yaml") == {"name": "t", "version": 1}
    with pytest.raises(BenchError, match="must be a YAML mapping"):
        parse_task_yaml("- a\n- b\n", "t.yaml")
    with pytest.raises(BenchError, match="given twice") as e:
        parse_task_yaml("name: a\nversion: 1\nname: b\n", "t.yaml")
    assert e.value.where == "t.yaml:3"
    with pytest.raises(BenchError, match="invalid YAML"):
        parse_task_yaml("a: !!python/object/apply:os.getcwd []\n", "t.yaml")


def test_key_line_and_key_where(tmp_path):
    text = "# name: not this one\nname: t\nfields:\n  id: id\nmetrics: [rouge]  # a comment\n"
    assert key_line(text, "name") == 2 and key_line(text, "metrics") == 5
    assert key_line(text, "id") is None and key_line(text, "prompt") is None
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    assert key_where(path, "fields").endswith("t.yaml:3")
    assert not key_where(path, "prompt").endswith(":3") and key_where(path, "prompt").endswith("t.yaml")
    assert key_where(tmp_path / "missing.yaml", "name").endswith("missing.yaml")


def test_task_hash_covers_the_definition_and_each_data_file(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_bytes(b'{"id": "1"}\n')
    b.write_bytes(b'{"id": "2"}\n')
    spec = {"name": "t", "version": 1}
    one = task_hash(spec, [a])
    # one file: the canonical definition, a NUL, then exactly the file's bytes
    expected = hashlib.sha256(b'{"name": "t", "version": 1}\0{"id": "1"}\n').hexdigest()
    assert one == expected
    assert task_hash({"version": 1, "name": "t"}, [a]) == one  # key order does not matter
    assert task_hash({"name": "t", "version": 2}, [a]) != one
    assert task_hash(spec, [a, b]) != task_hash(spec, [b, a]) != one


def test_load_task_reports_every_key_group_at_once(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("name: ../x\nversion: 0\ntype: summarization\nfixture: nowhere.jsonl\nmetrics: [squad]\n"
                    "summary_sentences: 0\ngeneration: [1]\nprompt: 3\ncolour: red\n", encoding="utf-8")
    with pytest.raises(BenchErrors) as e:
        load_task(path)
    messages = [err.message for err in e.value.errors]
    assert [m.split(" ")[0] for m in messages] == ["unknown", "invalid", "'version'", "fixture", "metric",
                                                   "'summary_sentences'", "'generation'", "'prompt'"]
    assert [err.where.rsplit(":", 1)[1] for err in e.value.errors] == ["9", "1", "2", "4", "5", "6", "7", "8"]


def test_task_types_registry():
    assert set(TASK_TYPES.names()) == {"summarization", "qa"}
    assert TASK_TYPES.get("qa").fields == ("id", "context", "question", "answers")
    assert TASK_TYPES.get("summarization").default_metrics == ("rouge",)
