"""bench's C reader of JSON lines (`bench._native.jsonl_objects`) gives json's dicts, or leaves the line to json.

For every line it either returns exactly what `json.loads` returns for it, or
None (the line then goes through bench's Python reader, whose results and
messages stay the reference). `bench.io.parse_jsonl` gives the same rows and
the same errors with and without it.
"""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench import io, native

if native.module() is None:
    if os.environ.get("BENCH_NO_NATIVE", "") in ("", "0"):
        pytest.fail("bench's C extension is not built, or was built from an older source: pip install -e . (or set BENCH_NO_NATIVE=1)", pytrace=False)
    pytest.skip("BENCH_NO_NATIVE is set: the C extension is not built", allow_module_level=True)

C = native.module()

# texts with every kind of character JSON escapes or carries: controls, quotes, backslashes, non-ASCII,
# astral characters and lone surrogates
text = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=12) | st.sampled_from(
    ["", "a\"b", "\\", "/", "\u2028", "é", "😀", "\ud800", "\udfff", "\ud83d\ude00", "\x00", "\x1f", "\x7f"])
value = text | st.lists(text, max_size=3)
obj = st.dictionaries(text, value, max_size=4)


def _json_or_error(line: bytes):
    try:
        return json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return "error"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(o=obj, ascii_only=st.booleans(), spaces=st.sampled_from([(",", ":"), (", ", ": "), (" ,  ", " : ")]))
def test_a_line_json_writes_is_read_as_json_reads_it(o, ascii_only, spaces):
    line = json.dumps(o, ensure_ascii=ascii_only, separators=spaces).encode("utf-8", "surrogatepass")
    got = C.jsonl_objects(line)
    assert len(got) == 1
    expected = _json_or_error(line)
    if got[0] is None:  # left to json: only a line json cannot read (here: a lone surrogate written raw)
        assert expected == "error"
    else:
        assert got[0] == expected and list(got[0]) == list(expected)


@settings(max_examples=400, deadline=None)
@given(o=obj, cut=st.integers(0, 200), insert=st.sampled_from(['"', "\\", ",", "}", "]", "{", "1", "\t", "\x01",
                                                                "\\u12", "\\ud800", "\\x", "\n", " ", "\xff"]))
def test_a_damaged_line_is_never_read_otherwise_than_json(o, cut, insert):
    line = json.dumps(o).encode("utf-8")
    k = cut % (len(line) + 1)
    damaged = line[:k] + insert.encode("utf-8", "surrogateescape") + line[k:]
    got = C.jsonl_objects(damaged)
    for part, result in zip(damaged.split(b"\n"), got):
        if result is not None:
            assert result == _json_or_error(part)


def test_lines_are_split_on_newlines_only_and_counted_like_split():
    data = b'{"a": "b"}\n\n  \n{"c": ["d"]}\r\n[1]\n{"e": 1}\n'
    got = C.jsonl_objects(data)
    assert len(got) == len(data.split(b"\n"))
    assert got == [{"a": "b"}, None, None, {"c": ["d"]}, None, None, None]


def test_parse_jsonl_is_the_same_with_and_without_the_extension(tmp_path, monkeypatch):
    lines = ['{"id": "1", "prediction": "a", "references": ["b"]}', "", '  {"id": "2"}', '{"id": 3, "x": [1, 2]}',
             '{"id": "4", "p": "\\ud800"}', '{"id": "5", "p": "caf\\u00e9 \\ud83d\\ude00"}', "not json",
             '{"id": "6", "p": "a"} trailing', "[1, 2]", '{"id": NaN}', '{"id": "7", "p": "tab\there"}']
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(("\n".join(lines) + "\n").encode() + b'{"id": "8", "p": "\xff"}\n')
    fast = io.parse_jsonl(path)
    monkeypatch.setattr(native, "module", lambda: None)
    slow = io.parse_jsonl(path)
    assert fast[0] == slow[0]
    assert [(k, str(e)) for k, e in fast[1]] == [(k, str(e)) for k, e in slow[1]]
    assert [k for k, _ in fast[0]] == [1, 3, 4, 5, 6]
