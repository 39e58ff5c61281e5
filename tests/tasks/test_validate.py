"""`bench validate`: every problem of a task and its fixture, at once, with file:line and field."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.errors import BenchErrors
from bench.api import load_task
from bench.tasks.examples import count_examples, load_examples
from bench.tasks.fixtures import check_fixture

CONTEXT = "The cat sat on the mat. The dog sat on the cat's mat too."


def _task(tmp: Path, name: str, lines: list[str], ttype: str = "qa", fields: str | None = None,
          suffix: str = ".jsonl") -> Path:
    (tmp / "fx").mkdir(exist_ok=True)
    (tmp / "tk").mkdir(exist_ok=True)
    fixture = tmp / "fx" / f"{name}{suffix}"
    fixture.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    default = ("{id: id, context: context, question: question, answers: answers}" if ttype == "qa"
               else "{id: id, document: document, references: references}")
    task = tmp / "tk" / f"{name}.yaml"
    task.write_text(f"name: {name}\nversion: 1\ntype: {ttype}\nfixture: ../fx/{name}{suffix}\n"
                    f"fields: {fields or default}\n", encoding="utf-8")
    return task


def _qa(id_: str, text: str, start: int, question: str = "Who sat?") -> str:
    return json.dumps({"id": id_, "context": CONTEXT, "question": question,
                       "answers": {"text": [text], "answer_start": [start]}})


def test_bad_json_duplicate_id_and_wrong_offset_are_reported_together(in_tmp, cli):
    _task(in_tmp, "broken", [
        _qa("q1", "cat", 4),
        '{"id": "q2", "context": "unterminated',
        _qa("q1", "dog", 28, "Who else?"),
        _qa("q3", "mat", 0, "Where?"),
    ])
    code, out, err = cli("validate", "tk/broken.yaml")
    assert code == 2
    assert "Traceback" not in err and out == ""
    assert "3 problems found" in err
    assert "fx/broken.jsonl:2: invalid JSON" in err
    assert "fx/broken.jsonl:3 (field 'id'): duplicate id 'q1' (first used on line 1)" in err
    assert "fx/broken.jsonl:4 (field 'answers'): answer 0 'mat' is not at answer_start 0" in err
    assert f"'mat' occurs at answer_start {CONTEXT.index('mat')} (also at {CONTEXT.rindex('mat')})" in err
    # in file order
    assert err.index(":2: invalid") < err.index(":3 (field 'id')") < err.index(":4 (field 'answers')")

    # `bench run` runs the same checks first, and writes nothing
    code, out, err2 = cli("run", "-m", "sliding-window", "-t", "tk/broken.yaml", "-q")
    assert code == 2 and "3 problems found" in err2 and "duplicate id" in err2
    assert not (in_tmp / "results").exists()


def test_the_same_checks_through_the_python_api(tmp_path):
    task = load_task(_task(tmp_path, "broken", ['{"id": 1', _qa("a", "cat", 4), _qa("a", "cat", 4)]))
    rows, errors = check_fixture(task)
    assert [r["id"] for r in rows] == ["a"]
    assert [e.where.split(":")[-1].split(" ")[0] for e in errors] == ["1", "3"]
    try:
        load_examples(task)
    except BenchErrors as e:
        assert len(e.errors) == 2 and e.exit_code == 2
    else:
        raise AssertionError("load_examples must refuse a bad fixture")


def test_a_clean_task_prints_one_line(in_tmp, cli):
    _task(in_tmp, "clean", [_qa("q1", "cat", 4), _qa("q2", "dog", 28, "Who else?")])
    code, out, err = cli("validate", "clean", "--tasks-dir", "tk")
    assert code == 0 and err == ""
    assert out.startswith("ok  clean: 2 examples (qa, metrics squad, hash ")
    assert out.count("\n") == 1


def test_every_bundled_fixture_task_is_clean(in_tmp, cli):
    code, out, err = cli("validate")
    assert code == 0, err
    for name in ("seed-headline", "seed-qa", "seed-summarization"):
        assert f"ok  {name}: " in out
    assert "ok  seed-qa: 48 examples" in out
    # dataset tasks: definition only, nothing downloaded
    assert "ok  cnn_dailymail: definition only" in out


def test_task_fields_must_name_real_fixture_fields(in_tmp, cli):
    _task(in_tmp, "mapped", [
        json.dumps({"id": "a", "text": "A document.", "references": ["A summary."]}),
        json.dumps({"id": "b", "text": "Another one.", "references": ["Another summary."]}),
    ], ttype="summarization", fields="{id: id, document: body, references: references}")
    code, out, err = cli("validate", "tk/mapped.yaml")
    assert code == 2
    assert "1 problem found" in err  # once, not on every line
    assert "tk/mapped.yaml:5 (field 'fields'): task field 'document' names field 'body', which no line" in err
    assert "fields there: id, references, text" in err


def test_encoding_bom_types_and_references(in_tmp, cli):
    task = _task(in_tmp, "summ", [], ttype="summarization")
    fixture = in_tmp / "fx" / "summ.jsonl"
    lines = [
        json.dumps({"id": "a", "document": "Text.", "references": ["A summary."]}),
        json.dumps({"id": "b", "document": "Text.", "references": [""]}),
        json.dumps({"id": "c", "document": 5, "references": ["x"]}),
        json.dumps({"id": "d", "document": "Text.", "references": [3]}),
        json.dumps({"id": "e", "document": "Text.", "refs": ["x"]}),
        json.dumps({"id": "f", "document": "", "references": ["x"]}),
        '["not", "an", "object"]',
    ]
    data = b"\xef\xbb\xbf" + "\n".join(lines).encode() + b'\n{"id": "g", "document": "caf\xe9", "references": ["x"]}\n'
    fixture.write_bytes(data)
    code, out, err = cli("validate", str(task))
    assert code == 2, err
    for expected in (
        "fx/summ.jsonl:1: file starts with a UTF-8 byte-order mark",
        "fx/summ.jsonl:2 (field 'references'): reference 0 is empty",
        "fx/summ.jsonl:3 (field 'document'): expected a string, got a number",
        "fx/summ.jsonl:4 (field 'references'): reference 0 is a number, expected a string",
        "fx/summ.jsonl:5: missing field 'references'",
        "fx/summ.jsonl:6 (field 'document'): document is empty",
        "fx/summ.jsonl:7: expected a JSON object, got a list",
        "fx/summ.jsonl:8: not valid UTF-8 (byte 0xe9 at column 29)",
    ):
        assert expected in err, expected
    assert "8 problems found" in err


def test_definition_problems_are_reported_with_their_line(in_tmp, cli):
    (in_tmp / "tk").mkdir()
    (in_tmp / "tk" / "bad.yaml").write_text(
        "name: bad\nversion: 0\ntype: summarisation\nfixture: ../nowhere.jsonl\nmetrix: [rouge]\n", encoding="utf-8")
    code, out, err = cli("validate", "tk/bad.yaml")
    assert code == 2
    assert "tk/bad.yaml:2: 'version' must be a positive integer" in err
    assert "tk/bad.yaml:3: unknown task type 'summarisation'. Did you mean 'summarization'?" in err
    assert "tk/bad.yaml:4: fixture file not found" in err
    assert "tk/bad.yaml:5: unknown key 'metrix'. Did you mean 'metrics'?" in err


def test_several_targets_report_all_their_problems(in_tmp, cli):
    _task(in_tmp, "good", [_qa("q1", "cat", 4)])
    _task(in_tmp, "bad", [_qa("q1", "cat", 5)])
    code, out, err = cli("validate", "tk/good.yaml", "tk/bad.yaml", "no-such-task")
    assert code == 2
    assert out.startswith("ok  good: 1 example")
    assert "fx/bad.jsonl:1 (field 'answers')" in err and "no task or file 'no-such-task'" in err


def test_a_fixture_file_alone_is_checked_by_its_shape(in_tmp, cli):
    _task(in_tmp, "qa", [_qa("q1", "cat", 4)])
    (in_tmp / "loose.jsonl").write_text(_qa("x", "dog", 1) + "\n", encoding="utf-8")
    code, out, err = cli("validate", "loose.jsonl")
    assert code == 2 and "loose.jsonl:1 (field 'answers'): answer 0 'dog' is not at answer_start 1" in err
    code, out, err = cli("validate", "fx/qa.jsonl", "--tasks-dir", "tk")
    assert code == 0 and out.startswith("ok  qa: 1 example"), err


def _squad_file(path: Path, start: int = 4) -> None:
    path.write_text(json.dumps({"version": "v2.0", "data": [{"title": "Pets", "paragraphs": [
        {"context": CONTEXT, "qas": [
            {"id": "s1", "question": "Who sat?", "is_impossible": False,
             "answers": [{"text": "cat", "answer_start": start}, {"text": "The cat", "answer_start": 0}]},
            {"id": "s2", "question": "Who flew?", "is_impossible": True, "answers": [],
             "plausible_answers": [{"text": "dog", "answer_start": 28}]},
        ]},
        {"context": "A second paragraph about birds.", "qas": [
            {"id": "s3", "question": "About what?", "answers": [{"text": "birds", "answer_start": 25}]}]},
    ]}]}, indent=1), encoding="utf-8")


def test_a_squad_format_json_file_is_used_as_it_is(in_tmp, cli):
    (in_tmp / "fx").mkdir()
    _squad_file(in_tmp / "fx" / "dev.json")
    (in_tmp / "tk").mkdir()
    (in_tmp / "tk" / "dev.yaml").write_text("name: dev\nversion: 1\ntype: qa\nfixture: ../fx/dev.json\n",
                                            encoding="utf-8")
    task = load_task(in_tmp / "tk" / "dev.yaml")
    assert count_examples(task) == 3
    _, examples = load_examples(task)
    assert [(e.id, e.references, e.answer_starts) for e in examples] == [
        ("s1", ("cat", "The cat"), (4, 0)), ("s2", (), ()), ("s3", ("birds", ), (25,))]
    assert examples[2].input == "A second paragraph about birds." and examples[0].question == "Who sat?"
    code, out, err = cli("validate", "tk/dev.yaml")
    assert code == 0 and out.startswith("ok  dev: 3 examples"), err
    code, out, err = cli("run", "-m", "sliding-window", "-t", "tk/dev.yaml", "-q")
    assert code == 0, err
    (results,) = (in_tmp / "results" / "dev").glob("*/*/results.json")
    assert json.loads(results.read_text())["n_examples"] == 3

    _squad_file(in_tmp / "fx" / "dev.json", start=9)
    code, out, err = cli("validate", "tk/dev.yaml")
    assert code == 2
    assert "fx/dev.json:data[0].paragraphs[0].qas[0] (field 'answers'): answer 0 'cat' is not at answer_start 9" in err
    assert "'cat' occurs at answer_start 4" in err


def test_a_malformed_squad_json_file(in_tmp, cli):
    (in_tmp / "fx").mkdir()
    (in_tmp / "tk").mkdir()
    (in_tmp / "tk" / "dev.yaml").write_text("name: dev\nversion: 1\ntype: qa\nfixture: ../fx/dev.json\n",
                                            encoding="utf-8")
    (in_tmp / "fx" / "dev.json").write_text('{"data": [\n  {"title": "x",\n  "paragraphs": [}\n]}', encoding="utf-8")
    code, out, err = cli("validate", "tk/dev.yaml")
    assert code == 2 and "fx/dev.json:3: invalid JSON" in err
    (in_tmp / "fx" / "dev.json").write_text(json.dumps({"data": [{"title": "x", "paragraphs": [
        {"context": "c", "qas": [{"id": "a", "question": "q?", "is_impossible": True,
                                  "answers": [{"text": "c", "answer_start": 0}]}]}]}]}), encoding="utf-8")
    code, out, err = cli("validate", "tk/dev.yaml")
    assert code == 2 and "data[0].paragraphs[0].qas[0] (field 'answers'): an impossible question" in err


def test_validate_of_a_jsonl_task_imports_no_heavy_package():
    code = ("import sys\nfrom bench.cli.app import main\n"
            "try:\n    main(['validate', 'seed-qa', 'seed-summarization'])\nexcept SystemExit as e:\n"
            "    assert e.code == 0, e.code\n"
            "print(sorted(m for m in ('torch', 'transformers', 'datasets') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="abc .", min_size=3, max_size=40), st.data())
def test_the_suggested_offset_is_always_right(tmp_path_factory, context, data):
    start = data.draw(st.integers(0, len(context) - 1))
    end = data.draw(st.integers(start + 1, len(context)))
    text = context[start:end]
    wrong = data.draw(st.integers(0, len(context)))
    if not text.strip() or context[wrong:wrong + len(text)] == text:
        return
    tmp = tmp_path_factory.mktemp("prop")
    line = json.dumps({"id": "a", "context": context, "question": "q?",
                       "answers": {"text": [text], "answer_start": [wrong]}})
    _, errors = check_fixture(load_task(_task(tmp, "p", [line])))
    (error,) = errors
    suggested = int(error.hint.split("occurs at answer_start ")[1].split(" ")[0])
    assert context[suggested:suggested + len(text)] == text


# ------------------------------------------------------------------ hostile fixtures


def _special(tmp: Path, kind: str) -> Path:
    """A fixture path under tmp/fx that is not a regular file."""
    path = tmp / "fx" / "odd.jsonl"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "loop":
        path.symlink_to("odd.jsonl")
    elif kind == "dev-zero":
        if not Path("/dev/zero").exists():
            pytest.skip("no /dev/zero")
        path.symlink_to("/dev/zero")
    else:
        path.mkdir()
    return path



@pytest.mark.parametrize("kind, what", [("fifo", "a FIFO (named pipe), not a regular file"),
                                        ("loop", "a symbolic link loop"),
                                        ("dev-zero", "a character device, not a regular file"),
                                        ("directory", "Is a directory")])
def test_a_fixture_that_is_not_a_regular_file_is_one_message_not_not_found(in_tmp, cli, kind, what):
    task = _task(in_tmp, "odd", ['{"id": "a", "document": "d", "references": ["r"]}'], "summarization")
    (in_tmp / "fx" / "odd.jsonl").unlink()
    fixture = _special(in_tmp, kind)
    for argv in (["validate", "tk/odd.yaml"], ["run", "-q", "-m", "lead-3", "-t", "tk/odd.yaml"],
                 ["list", "--tasks-dir", "tk"]):
        code, out, err = cli(*argv)
        assert code == 2 and "Traceback" not in err, (argv, err)
        assert "odd.yaml:4: cannot read fixture" in err and what in err, (argv, err)
        assert "not found" not in err
    if kind != "directory":
        code, _, err = cli("validate", "fx/odd.jsonl")
        assert code == 2 and f"fx/odd.jsonl: cannot read file: {what}" in err, err
    assert not (in_tmp / "results").exists() and task.is_file() and (fixture.is_symlink() or fixture.exists())


@pytest.mark.parametrize("kind", ["fifo", "loop"])
def test_a_task_file_that_is_not_a_regular_file_does_not_block_discovery(in_tmp, cli, kind):
    _task(in_tmp, "good", ['{"id": "a", "document": "d", "references": ["r"]}'], "summarization")
    odd = in_tmp / "tk" / "odd.yaml"
    os.mkfifo(odd) if kind == "fifo" else odd.symlink_to("odd.yaml")
    code, out, err = cli("validate", "--tasks-dir", "tk", "good")
    assert code == 0 and "ok  good" in out, err
    code, out, err = cli("validate", "tk/odd.yaml")
    assert code == 2 and "tk/odd.yaml: cannot read" in err and "Traceback" not in err, err


@pytest.mark.parametrize("row, field", [
    ({"id": "a", "document": "half \ud800 a character", "references": ["r"]}, "document"),
    ({"id": "a\udfff", "document": "d", "references": ["r"]}, "id"),
    ({"id": "a", "document": "d", "references": ["fine", "\udbff"]}, "references"),
    ({"id": "a", "document": "d", "references": ["r"], "title": {"x": ["\ud801"]}}, "title"),
])
def test_an_unpaired_surrogate_is_refused_by_validate_and_run_with_its_field(in_tmp, cli, row, field):
    good = json.dumps({"id": "g", "document": "Good one.", "references": ["r"]})
    task = _task(in_tmp, "sur", [good, json.dumps(row)], "summarization")  # json.dumps escapes it: "\ud800"
    for argv in (["validate", str(task)], ["run", "-q", "-m", "lead-3", "-t", str(task)]):
        code, _, err = cli(*argv)
        assert code == 2 and "Traceback" not in err, err
        assert f"sur.jsonl:2 (field '{field}'): unpaired surrogate \\u" in err and "not valid Unicode text" in err
    assert not (in_tmp / "results").exists()


def test_an_unpaired_surrogate_in_a_squad_file_and_a_qa_answer(in_tmp, cli):
    row = json.loads(_qa("q1", "cat", 4))
    row["answers"]["text"] = ["c\udc00t"]
    task = _task(in_tmp, "qs", [json.dumps(row)])
    code, _, err = cli("validate", str(task))
    assert code == 2 and "qs.jsonl:1 (field 'answers'): unpaired surrogate \\udc00 at character 1" in err, err


@pytest.mark.parametrize("fixture, what", [('"a\\0b.jsonl"', "not a valid file name (it holds a NUL character)"),
                                           ('"\\ud800.jsonl"', "not a valid file name (it is not valid Unicode"),
                                           ("x" * 5000, "File name too long")])
def test_a_fixture_name_the_system_cannot_take_is_one_message(in_tmp, cli, fixture, what):
    (in_tmp / "t.yaml").write_text(f"name: t\nversion: 1\ntype: summarization\nfixture: {fixture}\n", encoding="utf-8")
    for argv in (["validate", "t.yaml"], ["run", "-q", "-m", "lead-3", "-t", "t.yaml"]):
        code, _, err = cli(*argv)
        assert code == 2 and "Traceback" not in err and "t.yaml:4: cannot read fixture" in err and what in err, err


@pytest.mark.parametrize("argv", [["validate", "X"], ["validate", "X.yaml"], ["run", "-q", "-m", "lead-3", "-t", "X.yaml"],
                                  ["run", "-q", "-m", "lead-3", "--tasks-dir", "X"], ["list", "--tasks-dir", "X"],
                                  ["fixture", "import", "X", "--name", "n"], ["score", "X"]])
def test_a_path_too_long_for_the_system_on_the_command_line_is_one_message(in_tmp, cli, argv):
    code, _, err = cli(*[a.replace("X", "x" * 5000) for a in argv])
    assert code == 2 and err.startswith("error: ") and "Traceback" not in err, err
    assert not any(in_tmp.iterdir())
