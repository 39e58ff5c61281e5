"""Reading a task definition in named steps: the file's text, its YAML, where a key sits, the task hash."""

from __future__ import annotations

import hashlib

import pytest

from bench.errors import BenchError, BenchErrors
from bench.tasks.task_yaml import MAX_TASK_FILE, parse_task_yaml, read_task_text
from bench.tasks.definition import TASK_TYPES, task_hash
from bench.api import load_task
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


def test_task_hash_covers_the_definition_bytes_and_each_data_file(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_bytes(b'{"id": "1"}\n')
    b.write_bytes(b'{"id": "2"}\n')
    definition = b"name: t\nversion: 1\n"
    one = task_hash(definition, [a])
    # one file: the definition's bytes as written, a NUL, then exactly the file's bytes
    assert one == hashlib.sha256(definition + b'\0{"id": "1"}\n').hexdigest()
    assert task_hash(b"name: t\nversion: 2\n", [a]) != one
    assert task_hash(definition, [a, b]) != task_hash(definition, [b, a]) != one


def test_load_task_hashes_the_file_as_written(tmp_path):
    (tmp_path / "f.jsonl").write_bytes(b'{"id": "1", "document": "d", "references": ["r"]}\n')
    path = tmp_path / "t.yaml"
    text = "name: t\nversion: 1\ntype: summarization\nfixture: f.jsonl\n"
    path.write_text(text, encoding="utf-8")
    task = load_task(path)
    assert task.hash == task_hash(text.encode(), [tmp_path / "f.jsonl"])
    path.write_text("# a comment\n" + text, encoding="utf-8")
    assert load_task(path).hash != task.hash


HEADER = "name: bomb\nversion: 1\ntype: summarization\nfixture: f.jsonl\n"


def _levels(open_: str, close: str, levels: int = 9, width: int = 9) -> str:
    """A "billion laughs" document: each level repeats the one before `width` times."""
    lines = [f'l0: &l0 {open_}{", ".join(["x"] * width) if open_ == "[" else "x: lol"}{close}']
    for k in range(1, levels):
        items = ", ".join(f"*l{k - 1}" if open_ == "[" else f"k{j}: *l{k - 1}" for j in range(width))
        lines.append(f"l{k}: &l{k} {open_}{items}{close}")
    return "\n".join(lines) + "\n"


BOMBS = {
    "nested lists": (_levels("[", "]"), 5),
    "nested mappings": (_levels("{", "}"), 5),
    "merge keys": ("base: &a {x: 1, y: 2}\ngeneration:\n  <<: *a\n  z: 3\n", 5),
    "merge key alone": ("generation:\n  <<: *a\n  z: 3\n", 6),
    "alias only": ("generation: *undefined\n", 5),
    "anchor only": ("generation: &g {max_new_tokens: 3}\n", 5),
    "block style": ("a: &a\n  - x\n  - x\nb: &b\n  - *a\n  - *a\n", 5),
}


@pytest.mark.parametrize("shape", list(BOMBS))
def test_anchors_and_aliases_are_refused_before_any_expansion(tmp_path, shape):
    import time

    body, line = BOMBS[shape]
    (tmp_path / "f.jsonl").write_bytes(b'{"id": "1", "document": "d", "references": ["r"]}\n')
    path = tmp_path / "t.yaml"
    path.write_text(HEADER + body, encoding="utf-8")
    start = time.perf_counter()
    with pytest.raises(BenchError) as e:
        load_task(path)
    assert time.perf_counter() - start < 0.5  # the 9-level bombs expand to 9**9 strings
    assert "invalid YAML" in e.value.message and "no anchors (&name) or aliases (*name)" in e.value.message
    assert e.value.where.endswith(f"t.yaml:{line}"), e.value.where
    assert "write each value out in full" in e.value.hint


@pytest.mark.parametrize("text", ["a: " + "[" * 100_000 + "]" * 100_000 + "\n",
                                  "a: " + "{b: " * 60 + "1" + "}" * 60 + "\n",
                                  "".join(" " * k + f"k{k}:\n" for k in range(200)) + " " * 200 + "v: 1\n"])
def test_deep_nesting_is_one_message_not_a_recursion_error(text):
    with pytest.raises(BenchError, match="nested more than 50 levels deep") as e:
        parse_task_yaml(text, "t.yaml")
    assert e.value.where.startswith("t.yaml:")
    assert parse_task_yaml("a: " + "[" * 40 + "]" * 40 + "\n", "t.yaml")  # nesting within the bound is read


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
    assert TASK_TYPES.get("summarization").default_metrics == ("rouge", "extractiveness")


@pytest.mark.parametrize("name, ok", [("x", True), ("x.y", True), ("x-1_b.c", True), ("7", True),
                                      ("x.", False), ("x-", False), ("x_", False), ("_x", False), (".x", False),
                                      ("-x", False), ("x..y", False), ("a" * 100, True), ("a" * 101, False)])
def test_task_names_that_would_share_a_results_directory_are_refused(tmp_path, name, ok):
    """The results directory drops leading and trailing '.', '_' and '-': 'x.' and 'x' would be one directory."""
    from bench.results.store import slug

    (tmp_path / "f.jsonl").write_text('{"id": "a", "document": "d", "references": ["r"]}\n', encoding="utf-8")
    path = tmp_path / "t.yaml"
    path.write_text(f"name: '{name}'\nversion: 1\ntype: summarization\nfixture: f.jsonl\n", encoding="utf-8")
    if ok:
        assert load_task(path).name == name == slug(name)
    else:
        with pytest.raises(BenchError, match="invalid task name") as e:
            load_task(path)
        assert "starting and ending with a letter or digit" in e.value.hint


@pytest.mark.parametrize("line, key, where", [
    ('description: "half \\ud800 a character"', "description", "t.yaml:5"),
    ('description: "pair and half \\ud83d\\ude00\\ude00"', "description", "t.yaml:5"),
    ('prompt: "\\udfff{document}"', "prompt", "t.yaml:5"),
    ('generation: {max_new_tokens: 3, "k\\udc00": 1}', "generation", "t.yaml:5"),
    ('fields: {id: "i\\ud801d"}', "fields", "t.yaml:5"),
    ('"colour\\ud800": red', "colour\ud800", "t.yaml"),  # the key is not in the text as it reads
])
def test_an_unpaired_surrogate_in_a_task_file_is_refused_at_its_line(tmp_path, line, key, where):
    (tmp_path / "f.jsonl").write_bytes(b'{"id": "1", "document": "d", "references": ["r"]}\n')
    path = tmp_path / "t.yaml"
    path.write_text("name: t\nversion: 1\ntype: summarization\nfixture: f.jsonl\n" + line + "\n", encoding="utf-8")
    with pytest.raises(BenchError) as e:
        load_task(path)
    errors = e.value.errors if isinstance(e.value, BenchErrors) else [e.value]
    (found,) = [err for err in errors if "unpaired surrogate" in err.message]
    assert found.message.startswith("unpaired surrogate \\u") and f"under {key!r}" in found.message
    assert found.where.endswith(where)


def test_a_surrogate_pair_in_a_task_file_is_one_character(tmp_path):
    (tmp_path / "f.jsonl").write_bytes(b'{"id": "1", "document": "d", "references": ["r"]}\n')
    path = tmp_path / "t.yaml"
    path.write_text('name: t\nversion: 1\ntype: summarization\nfixture: f.jsonl\ndescription: "ok \\ud83d\\ude00"\n',
                    encoding="utf-8")
    assert load_task(path).description == "ok \U0001F600"


@pytest.mark.parametrize("value, shown", [
    ("{max_new_tokens: 2020-01-01}", "a date (2020-01-01)"),
    ("{x: 2020-01-01T10:00:00}", "a date and time (2020-01-01 10:00:00)"),
    ("{x: !!binary aGVsbG8=}", "binary data (b'hello')"),
    ("{x: !!set {a: null}}", "a set ({'a'})"),
    ("{x: [1, {y: 2001-01-01}]}", "a date (2001-01-01)"),
    ("{temperature: .nan}", "the number nan"),
    ("{temperature: -.inf}", "the number -inf"),
])
def test_generation_settings_are_json_data(tmp_path, value, shown):
    """They go into results.json and the cache key: a date or bytes there failed after the run, NaN became null."""
    (tmp_path / "f.jsonl").write_bytes(b'{"id": "1", "document": "d", "references": ["r"]}\n')
    path = tmp_path / "t.yaml"
    path.write_text(f"name: t\nversion: 1\ntype: summarization\nfixture: f.jsonl\ngeneration: {value}\n",
                    encoding="utf-8")
    with pytest.raises(BenchError) as e:
        load_task(path)
    assert e.value.message.startswith(f"'generation' holds {shown}: a setting is text, a number")
    assert e.value.where.endswith("t.yaml:5") and "quote a value to make it text" in e.value.hint


def test_generation_settings_of_every_json_kind_are_kept(tmp_path):
    (tmp_path / "f.jsonl").write_bytes(b'{"id": "1", "document": "d", "references": ["r"]}\n')
    path = tmp_path / "t.yaml"
    path.write_text("name: t\nversion: 1\ntype: summarization\nfixture: f.jsonl\n"
                    "generation: {a: '2020-01-01', b: 0.7, c: true, d: null, e: [1, x], f: {g: 3}}\n", encoding="utf-8")
    assert dict(load_task(path).generation) == {"a": "2020-01-01", "b": 0.7, "c": True, "d": None, "e": [1, "x"],
                                                "f": {"g": 3}}
