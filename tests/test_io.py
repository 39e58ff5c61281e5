"""bench.io under hostile input: JSON nested too deeply, unpaired surrogates, files that are not regular files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bench.errors import BenchError
from bench.io import (MAX_INT_DIGITS, MAX_JSON_DEPTH, loads, lone_surrogate, not_a_regular_file, parse_jsonl,
                      read_bytes, resolved)

DEEP = MAX_JSON_DEPTH + 1


def _nest(depth: int, open_: str = "[", close: str = "]", inner: str = "1") -> str:
    return open_ * depth + inner + close * depth


@pytest.mark.parametrize("text", [
    _nest(DEEP),
    _nest(100_000),                                     # the C parser's own RecursionError
    _nest(DEEP, '{"a": ', "}"),
    _nest(DEEP // 2 + 1, '[{"a": ', "}]"),              # lists and objects mixed
    '{"id": "x", "extra": ' + _nest(5000) + "}",
    "\n\n  " + _nest(DEEP),                              # the line of the bracket that passes the limit
])
def test_loads_refuses_deep_nesting_as_invalid_json(text):
    for doc in (text, text.encode()):
        with pytest.raises(json.JSONDecodeError, match=f"nested more than {MAX_JSON_DEPTH} levels deep") as e:
            loads(doc)
    start = len(text) - len(text.lstrip())
    assert e.value.lineno == text[:start].count("\n") + 1
    assert e.value.pos > start + MAX_JSON_DEPTH - 1  # at the bracket past the limit, not at the start


def test_loads_reads_nesting_up_to_the_limit_and_brackets_in_strings():
    assert loads(_nest(MAX_JSON_DEPTH)) is not None
    assert loads(json.dumps({"text": "[" * 10_000, "k": [[1]]})) == {"text": "[" * 10_000, "k": [[1]]}
    assert loads(json.dumps([{"a": [i]} for i in range(1000)]))[999] == {"a": [999]}  # wide is not deep
    with pytest.raises(json.JSONDecodeError, match="nested"):  # a quote escaped in a string does not end it
        loads('["\\"[[[", ' + _nest(DEEP) + "]")


def test_a_deep_line_is_one_problem_with_its_line_and_the_others_are_read(tmp_path):
    path = tmp_path / "f.jsonl"
    path.write_text('{"id": "a"}\n{"id": "b", "x": ' + _nest(3000) + '}\n{"id": "c"}\n', encoding="utf-8")
    rows, errors = parse_jsonl(path)
    assert [obj["id"] for _, obj in rows] == ["a", "c"]
    ((line, error),) = errors
    assert line == 2 and error.where.endswith("f.jsonl:2") and "nested more than" in error.message


@pytest.mark.parametrize("value, found", [
    ("ok \U0001F600", None),
    ("a\ud800b", ("a\ud800b", 1)),
    ("\udc00", ("\udc00", 0)),
    (["fine", {"k": ["x\udbff"]}], ("x\udbff", 1)),
    ({"key\ud801": 1}, ("key\ud801", 3)),
    ({"n": 1, "f": 2.5, "b": True, "z": None}, None),
])
def test_lone_surrogate(value, found):
    assert lone_surrogate(value) == found


def test_json_escapes_make_lone_surrogates_and_pairs_make_characters():
    assert lone_surrogate(loads('{"id": "a\\ud800"}')) == ("a\ud800", 1)
    assert lone_surrogate(loads('{"id": "\\ud83d\\ude00"}')) is None


# ------------------------------------------------------------------ files that are not regular files


def _fifo(tmp_path: Path) -> Path:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this system")
    path = tmp_path / "pipe.jsonl"
    os.mkfifo(path)
    return path


def _loop(tmp_path: Path) -> Path:
    path = tmp_path / "loop.jsonl"
    path.symlink_to(path.name)
    return path


def _two_link_loop(tmp_path: Path) -> Path:
    (tmp_path / "b.jsonl").symlink_to("a.jsonl")
    (tmp_path / "a.jsonl").symlink_to("b.jsonl")
    return tmp_path / "a.jsonl"


def _dev_zero(tmp_path: Path) -> Path:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    path = tmp_path / "zero.jsonl"
    path.symlink_to("/dev/zero")
    return path


KINDS = {"fifo": (_fifo, "a FIFO (named pipe), not a regular file"),
         "symlink loop": (_loop, "a symbolic link loop"),
         "two-link loop": (_two_link_loop, "a symbolic link loop"),
         "/dev/zero": (_dev_zero, "a character device, not a regular file"),
         "directory": (lambda d: d, "Is a directory"),
         "missing": (lambda d: d / "nothing.jsonl", "No such file or directory"),
         "NUL in the name": (lambda d: d / "a\0b.jsonl", "not a valid file name (it holds a NUL character)"),
         "lone surrogate in the name": (lambda d: d / "a\ud800.jsonl", "not a valid file name (it is not valid Unicode"),
         "name too long": (lambda d: d / ("x" * 5000), "File name too long")}


@pytest.mark.parametrize("kind", list(KINDS))
def test_only_regular_files_are_read_and_never_opened_otherwise(tmp_path, kind):
    make, text = KINDS[kind]
    path = make(tmp_path)
    assert text in not_a_regular_file(path)
    with pytest.raises(BenchError) as e:
        read_bytes(path, "fixture")  # a FIFO would block here and /dev/zero would never end
    assert e.value.message == f"cannot read fixture: {not_a_regular_file(path)}"
    assert e.value.where.endswith(path.name[-20:].replace("\0", "\\x00").replace("\ud800", "\\ud800"))
    assert resolved(path).is_absolute()


def test_a_regular_file_and_a_link_to_one_are_read(tmp_path):
    (tmp_path / "f.jsonl").write_bytes(b"{}\n")
    (tmp_path / "link.jsonl").symlink_to("f.jsonl")
    assert not not_a_regular_file(tmp_path / "link.jsonl")
    assert read_bytes(tmp_path / "link.jsonl") == b"{}\n"


# ------------------------------------------------------------------ integers too long for Python to read


@pytest.mark.parametrize("text, digits", [
    ("9" * (MAX_INT_DIGITS + 1), MAX_INT_DIGITS + 1),
    ("-" + "1" * 5000, 5000),
    ('{"id": "a", "n": [1, 2, ' + "7" * 100_000 + "]}", 100_000),
    ('\n\n{"deep": {"n": ' + "3" * 4301 + "}}", 4301),
])
def test_loads_refuses_integers_too_long_as_invalid_json(text, digits):
    for doc in (text, text.encode()):
        with pytest.raises(json.JSONDecodeError, match=f"an integer of {digits} digits") as e:
            loads(doc)
    assert e.value.lineno == text[:text.index(text.lstrip("\n")[:1])].count("\n") + 1
    assert text[e.value.pos:e.value.pos + 5].lstrip("-").isdigit()


def test_loads_reads_the_longest_integers_python_reads():
    assert loads("9" * MAX_INT_DIGITS) == int("9" * MAX_INT_DIGITS)
    assert loads("-" + "9" * MAX_INT_DIGITS) == -int("9" * MAX_INT_DIGITS)
    assert loads('{"n": 12, "f": 1.5e3}') == {"n": 12, "f": 1500.0}


def test_a_line_with_a_huge_integer_is_one_problem_with_its_line(tmp_path):
    path = tmp_path / "f.jsonl"
    path.write_text('{"id": "a"}\n{"id": "b", "n": ' + "9" * 5000 + '}\n', encoding="utf-8")
    rows, errors = parse_jsonl(path)
    assert [obj["id"] for _, obj in rows] == ["a"]
    ((line, error),) = errors
    assert line == 2 and "an integer of 5000 digits (at most 4300)" in error.message


