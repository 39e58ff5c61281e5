"""bench.io's fast reading path reads every file as the line-by-line one did."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import io


def _parse(tmp_path, data: bytes):
    path = tmp_path / "f.jsonl"
    path.write_bytes(data)
    rows, errors = io.parse_jsonl(path)
    return rows, [(line, e.message) for line, e in errors]


def test_valid_utf8_reads_each_line_with_its_number(tmp_path):
    rows, errors = _parse(tmp_path, '{"a": "é"}\n\n  \t\n{"b": [1, 2]}\r\n{"c": "\u2028"}'.encode())
    assert rows == [(1, {"a": "é"}), (4, {"b": [1, 2]}), (5, {"c": "\u2028"})] and errors == []


@pytest.mark.parametrize("blank", ["\xa0", "\u2028", "\x85", "\u3000"])
def test_a_line_of_unicode_space_is_not_blank(tmp_path, blank):
    # bytes.strip() strips ASCII whitespace only: such a line is bad JSON, as it always was
    rows, errors = _parse(tmp_path, f'{{"a": 1}}\n{blank}\n{{"b": 2}}\n'.encode())
    assert [line for line, _ in rows] == [1, 3]
    assert [line for line, _ in errors] == [2] and errors[0][1].startswith("invalid JSON")


def test_a_bad_byte_is_reported_on_its_line_and_the_other_lines_are_read(tmp_path):
    rows, errors = _parse(tmp_path, b'{"a": "\xc3\xa9"}\n{"b": "\xff"}\n{"c": 3}\n')
    assert rows == [(1, {"a": "é"}), (3, {"c": 3})]
    assert errors == [(2, "not valid UTF-8 (byte 0xff at column 8)")]


def test_loads_keeps_json_loads_behaviour():
    assert io.loads('{"n": 12, "x": [1.5, null]}') == {"n": 12, "x": [1.5, None]}
    assert io.loads(b'{"n": 1}') == {"n": 1}
    with pytest.raises(json.JSONDecodeError, match="BOM"):
        io.loads('\ufeff{"n": 1}')
    with pytest.raises(io.NonFiniteNumber):
        io.loads('{"n": NaN}')
    with pytest.raises(json.JSONDecodeError, match="digits"):
        io.loads('{"n": ' + "9" * (io.MAX_INT_DIGITS + 1) + "}")


def test_where_names_the_path_relative_to_the_working_directory_as_it_is_now(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "f.jsonl"
    monkeypatch.chdir(tmp_path)
    assert io.where(path, 3) == "sub/f.jsonl:3"
    assert io.where(path, 4, "id") == "sub/f.jsonl:4 (field 'id')"
    monkeypatch.chdir(tmp_path / "sub")
    assert io.where(path, 5) == "f.jsonl:5"
    assert io.where(Path("f.jsonl"), 6) == "f.jsonl:6"
