"""The fast reading paths (one object per line, no surrogate escape in the file) read and refuse exactly what the
line-by-line reader with its per-value surrogate walk did."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench import io
from bench.errors import BenchError, BenchErrors
from bench.metrics.score_file import read_score_rows


def _line_by_line(text: str) -> tuple[list[tuple[int, object]], list[tuple[int, str]]]:
    """What `parse_jsonl` gives for valid UTF-8 text, line by line through `io.loads` (the long way)."""
    rows, errors = [], []
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip(" \t\n\r\x0b\x0c"):
            continue
        try:
            obj = io.loads(line)
        except io.NonFiniteNumber as e:
            errors.append((lineno, f"{e} is not a valid number"))
            continue
        except json.JSONDecodeError as e:
            errors.append((lineno, f"invalid JSON: {e.msg} (column {e.colno})"))
            continue
        if not isinstance(obj, dict):
            errors.append((lineno, f"expected a JSON object, got {io.json_type(obj)}"))
            continue
        rows.append((lineno, obj))
    return rows, errors


LINES = [
    '{"id": "a", "x": [1, 2.5, null, true]}',
    '{"id": "b"}   ',
    '{"id": "c"}\r',
    '{"id": "d"} \t\r',
    '{"id": "e"} {"id": "f"}',
    '{"id": "g"},',
    '{"id": "h"} x',
    '{"id": "i", "n": NaN}',
    '{"id": "j", "n": -Infinity}',
    '{"id": "k", "n": ' + "9" * (io.MAX_INT_DIGITS + 1) + "}",
    '{"id": "l", "n": ' + "9" * io.MAX_INT_DIGITS + "}",
    '{"id": "m", "deep": ' + "[" * io.MAX_JSON_DEPTH + "]" * io.MAX_JSON_DEPTH + "}",
    '{"id": "n", "deep": ' + "[" * (io.MAX_JSON_DEPTH + 1) + "]" * (io.MAX_JSON_DEPTH + 1) + "}",
    '{"id": "o", "deep": ' + "[" * 100_000 + "]" * 100_000 + "}",
    '{"id": "p", "brackets": "' + "[" * 500 + '"}',
    '{"id": "q"',
    '{"id": "r\tcontrol"}',
    '{"id": "s", "id": "s2"}',
    '{}',
    '{',
    '{"id": "\\ud800", "\\udc00": "\\ud83d\\ude00"}',
    ' {"id": "t"}',
    '\ufeff{"id": "u"}',
    '[{"id": "v"}]',
    '"{"',
    '\xa0',
    '',
]


def test_parse_jsonl_reads_and_refuses_each_line_as_loads_does(tmp_path):
    text = "\n".join(LINES)
    path = tmp_path / "f.jsonl"
    path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
    rows, errors = io.parse_jsonl(path)
    expected_rows, expected_errors = _line_by_line(text)
    assert rows == expected_rows
    assert [(line, e.message) for line, e in errors] == expected_errors
    assert [obj.get("id") for _, obj in rows] == ["a", "b", "c", "d", "l", "p", "s2", None, "\ud800", "t"]


@pytest.mark.parametrize("data, lines", [
    (b'{"a": "x"}\n{"b": "y"}\n', set()),
    (b'{"a": "\\ud800"}\n', {1}),
    (b'{"a": 1}\n\n{"a": "\\uD800"}\n{"a": "\\udfff"}\n', {3, 4}),
    (b'{"a": "\\uDbFf"}\n', {1}),
    (b'{"a": "\\ud7ff \\ue000 \\u0041 \\uffff"}\n', set()),      # either side of the surrogate range
    (b'{"a": "\\ud83d\\ude00"}\n{"b": 2}\n', {1}),               # a valid pair is walked, and found whole
    (b'{"a": "\\\\ud800"}\n', {1}),                               # an escaped backslash: walked, found nothing
    (b'{"a": "\\Ud800 ud800 \\u d800"}\n', set()),               # not escapes of a surrogate
])
def test_surrogate_escape_lines(data, lines):
    assert io.surrogate_escape_lines(data) == lines
    assert io.surrogate_escape_lines(data.decode("utf-8")) == lines


def _score_file(tmp_path, lines: list[str]):
    path = tmp_path / "s.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _good(i: int) -> str:
    return json.dumps({"id": f"e{i}", "prediction": f"prediction {i}", "references": [f"reference {i}"]})


@pytest.mark.parametrize("line, field, name, index", [
    ('{"id": "x", "prediction": "ab\\ud800", "references": ["r"]}', "prediction", "\\ud800", 2),
    ('{"id": "x", "prediction": "p", "references": ["r", "\\uD800z"]}', "references", "\\ud800", 0),
    ('{"id": "x", "prediction": "p", "references": ["r"], "document": "\\udfff"}', "document", "\\udfff", 0),
    ('{"id": "\\uDC00", "prediction": "p", "references": ["r"]}', "id", "\\udc00", 0),
    ('{"id": "x", "prediction": "\\ude00\\ud83d", "references": ["r"]}', "prediction", "\\ude00", 0),  # wrong order
    ('{"id": "x", "prediction": "p", "references": ["r"], "k\\ud800": 1}', "k\ud800", "\\ud800", 1),
])
def test_an_escaped_lone_surrogate_on_line_n_is_the_same_error(tmp_path, line, field, name, index):
    path = _score_file(tmp_path, [_good(1), _good(2), line, _good(4)])
    with pytest.raises(BenchErrors) as info:
        read_score_rows(path)
    (error,) = info.value.errors
    assert error.message == f"unpaired surrogate {name} at character {index}: not valid Unicode text"
    assert error.where.endswith(f"s.jsonl:3 (field {field!r})")
    assert error.hint == io.SURROGATE_HINT


def test_a_valid_surrogate_pair_and_an_escaped_backslash_are_read(tmp_path):
    path = _score_file(tmp_path, [
        _good(1),
        '{"id": "x", "prediction": "smile \\ud83d\\ude00", "references": ["\\uD83D\\uDE00"]}',
        '{"id": "y", "prediction": "\\\\ud800", "references": ["r"]}',
    ])
    f = read_score_rows(path)
    assert f.inputs.ids == ["e1", "x", "y"]
    assert f.inputs.predictions == ["prediction 1", "smile \U0001F600", "\\ud800"]
    assert f.inputs.references == [["reference 1"], ["\U0001F600"], ["r"]]
    assert f.lines == [1, 2, 3]


def test_the_usual_rows_and_the_others_read_as_before(tmp_path):
    path = _score_file(tmp_path, [
        _good(1),
        '{"id": 7, "prediction": "p", "references": "one reference"}',
        '{"id": "d", "prediction": "p", "references": ["r"], "document": "doc", "question": "q?"}',
        '{"id": "n", "prediction": "", "references": ["r", "s"], "no_answer_probability": 0.5}',
        _good(5),
    ])
    f = read_score_rows(path, ["rouge"])
    assert f.inputs.ids == ["e1", "7", "d", "n", "e5"]
    assert f.inputs.references == [["reference 1"], ["one reference"], ["r"], ["r", "s"], ["reference 5"]]
    assert f.inputs.documents == [None, None, "doc", None, None]
    assert f.inputs.questions == [None, None, "q?", None, None]
    assert f.inputs.no_answer_scores == [None, None, None, 0.5, None]
    assert f.lines == [1, 2, 3, 4, 5] and f.rows[0] == json.loads(_good(1))


def test_every_bad_usual_looking_line_is_still_refused(tmp_path):
    path = _score_file(tmp_path, [
        _good(1),
        _good(1),                                                          # duplicate id
        '{"id": "a", "prediction": "p", "references": ["  "]}',             # no non-empty reference
        '{"id": "b", "prediction": "p", "references": [1]}',                # not strings
        '{"id": "c", "prediction": 1, "references": ["r"]}',
        '{"id": true, "prediction": "p", "references": ["r"]}',
        '{"id": "e", "prediction": "p", "refs": ["r"]}',                    # three keys, one missing
    ])
    with pytest.raises(BenchErrors) as info:
        read_score_rows(path)
    got = [(e.where.rsplit(":", 1)[1], e.message) for e in info.value.errors]
    assert got == [
        ("2", "duplicate id 'e1' (first on line 1)"),
        ("3", "no non-empty reference"),
        ("4", "'references' must be a list of strings"),
        ("5", "'prediction' must be a string, got a number"),
        ("6", "'id' must be a string, got a boolean"),
        ("7", "missing field 'references'"),
    ]
    assert all(isinstance(e, BenchError) for e in info.value.errors)


@pytest.mark.parametrize("line, field, name, index", [
    ('{"id": "c", "document": "ab\\ud800", "references": ["r"]}', "document", "\\ud800", 2),
    ('{"id": "c", "document": "d", "references": ["r", "\\uDFFFz"]}', "references", "\\udfff", 0),
    ('{"id": "c", "document": "d", "references": ["r"], "t\\uDbff": 1}', "t\udbff", "\\udbff", 1),
])
def test_a_fixture_with_an_escaped_lone_surrogate_on_line_n_is_refused_there(tmp_path, line, field, name, index):
    from bench.api import load_task
    from bench.tasks.fixtures import check_fixture, fixture_rows

    good = [json.dumps({"id": k, "document": "d", "references": ["r"]}) for k in ("a", "b", "d")]
    (tmp_path / "f.jsonl").write_text("\n".join([good[0], good[1], line, good[2]]) + "\n", encoding="utf-8")
    (tmp_path / "f.yaml").write_text("name: f\nversion: 1\ntype: summarization\nfixture: f.jsonl\n", encoding="utf-8")
    rows, _ = fixture_rows(tmp_path / "f.jsonl")
    assert [r.may_hold_surrogate for r in rows] == [False, False, True, False]
    good_rows, (error,) = check_fixture(load_task(tmp_path / "f.yaml"))
    assert [r["id"] for r in good_rows] == ["a", "b", "d"]
    assert error.message == f"unpaired surrogate {name} at character {index}: not valid Unicode text"
    assert error.where.endswith(f"f.jsonl:3 (field {field!r})")


def test_a_fixture_with_a_valid_surrogate_pair_is_read(tmp_path):
    from bench.api import load_task
    from bench.tasks.examples import load_examples

    (tmp_path / "f.jsonl").write_text('{"id": "a", "document": "\\ud83d\\ude00 x", "references": ["\\uD83D\\uDE00"]}\n',
                                      encoding="utf-8")
    (tmp_path / "f.yaml").write_text("name: f\nversion: 1\ntype: summarization\nfixture: f.jsonl\n", encoding="utf-8")
    _, (example,) = load_examples(load_task(tmp_path / "f.yaml"))
    assert example.input == "\U0001F600 x" and example.references == ("\U0001F600",)


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


def _parsed(data: bytes) -> dict[int, object]:
    """line number -> the object `parse_jsonl` read there, or "error" where it reported a problem."""
    rows, errors = io.parse_jsonl(Path("f.jsonl"), data=data)
    return {**{k: o for k, o in rows}, **{k: "error" for k, _ in errors}}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(o=obj, ascii_only=st.booleans(), spaces=st.sampled_from([(",", ":"), (", ", ": "), (" ,  ", " : ")]))
def test_a_line_json_writes_is_read_as_json_reads_it(o, ascii_only, spaces):
    line = json.dumps(o, ensure_ascii=ascii_only, separators=spaces).encode("utf-8", "surrogatepass")
    got = _parsed(line)[1]
    expected = _json_or_error(line)
    assert got == expected and (got == "error" or list(got) == list(expected))


@settings(max_examples=300, deadline=None)
@given(o=obj, cut=st.integers(0, 200), insert=st.sampled_from(['"', "\\", ",", "}", "]", "{", "1", "\t", "\x01",
                                                                "\\u12", "\\ud800", "\\x", "\n", " ", "\xff"]))
def test_a_damaged_line_is_never_read_otherwise_than_json(o, cut, insert):
    line = json.dumps(o).encode("utf-8")
    k = cut % (len(line) + 1)
    damaged = line[:k] + insert.encode("utf-8", "surrogateescape") + line[k:]
    if not damaged.strip():
        return
    got = _parsed(damaged)
    for lineno, part in enumerate(damaged.split(b"\n"), start=1):
        if part.strip(b" \t\r\x0b\x0c"):
            expected = _json_or_error(part)
            assert got[lineno] == (expected if isinstance(expected, dict) else "error")
