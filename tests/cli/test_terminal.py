"""Text from data never acts on the terminal.

Model names, ids, predictions, references, task descriptions, file names and the values quoted in messages
reach stdout and stderr with their control characters made visible (`bench.errors.visible`), and rich markup
in them is printed as it is. Each payload of `hostile_models.PAYLOADS` (clear screen, window title, OSC 8
link, one-byte CSI, bidi override, bell, backspace overwrite, rich markup) goes through every command that
prints: run (table, progress bars, warnings), compare (table, paired table, examples), list, validate,
fixture import, score, and the error messages.
"""

from __future__ import annotations

import json
import re
import shutil
import unicodedata
from pathlib import Path

import pytest
from hostile_models import ALL, PAYLOADS, PREDICTION_LINES

from bench.errors import BenchError, BenchErrors, visible

GOOD = Path(__file__).resolve().parent.parent / "bad_inputs" / "good"
#: What must never reach the terminal raw: C0 controls but newline and tab, DEL, C1 controls, bidi controls.
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
KEYS = list(PAYLOADS)


def assert_inert(out: str, err: str, *shown: str) -> None:
    """No raw control character in stdout or stderr, and every text of `shown` (made visible) in one of them."""
    for name, stream in (("stdout", out), ("stderr", err)):
        m = RAW.search(stream)
        assert m is None, f"raw {m.group()!r} on {name}:\n{stream}"
    for text in shown:
        assert visible(text) in out + err, f"{visible(text)!r} not shown in:\n{out}\n{err}"


def path_safe(payload: str) -> str:
    """The payload as part of a file name (no '/')."""
    return payload.replace("/", "-")


def yaml_string(text: str) -> str:
    """`text` as a YAML double-quoted scalar (JSON's escapes are YAML's): the file itself stays plain text."""
    return json.dumps(text)


# ------------------------------------------------------------------ the function


@pytest.mark.parametrize("key", KEYS)
def test_visible_writes_out_every_payload(key):
    shown = visible(PAYLOADS[key])
    assert RAW.search(shown) is None
    assert visible(shown) == shown  # once is enough: made visible twice, it does not change


def test_visible_forms():
    assert visible("\x1b[2J\x1b[H") == "\\x1b[2J\\x1b[H"
    assert visible("\x1b]0;pwned\x07") == "\\x1b]0;pwned\\x07"
    assert visible("\x9b31m") == "\\x9b31m"
    assert visible("\u202eevil\u202c") == "\\u202eevil\\u202c"
    assert visible("\u2066a\u2069") == "\\u2066a\\u2069"
    assert visible("abc\x08\x08\x08xyz") == "abc\\x08\\x08\\x08xyz"
    assert visible("a\rb\x7f\x00") == "a\\x0db\\x7f\\x00"
    assert visible("[red]x[/red]") == "[red]x[/red]"  # not a control character: tables keep it from rich


def test_newlines_are_kept_only_in_multiline_text_and_tabs_always():
    assert visible("one\ntwo\tthree") == "one\\x0atwo\tthree"
    assert visible("one\ntwo\tthree", multiline=True) == "one\ntwo\tthree"
    assert visible("one\r\ntwo", multiline=True) == "one\\x0d\ntwo"


def test_ordinary_text_is_unchanged():
    text = "Café in 東京, Москва: 🙂 \\x1b stays as typed; C:\\path\\file, « quotes », ﬁ ligature, ١٢٣"
    assert visible(text) == text


def test_lone_surrogates_are_shown_and_can_be_encoded():
    # a file name that is not UTF-8 (surrogateescape), or an escaped "\ud800" in JSON
    shown = visible("bad\udcff name \ud800")
    assert shown == "bad\\udcff name \\ud800"
    shown.encode("utf-8")


def test_every_control_and_bidi_code_point_is_written_out():
    bidi = {*range(0x202A, 0x202F), *range(0x2066, 0x206A)}
    for c in range(0x10000):
        ch = chr(c)
        shown = visible(ch)
        if unicodedata.category(ch) in ("Cc", "Cs") and ch not in "\t" or c in bidi:
            assert shown != ch and shown.isascii() and shown.isprintable(), (hex(c), shown)
        else:
            assert shown == ch, hex(c)


# ------------------------------------------------------------------ messages


@pytest.mark.parametrize("key", KEYS)
def test_error_message_where_and_hint_are_made_visible(key):
    p = PAYLOADS[key]
    e = BenchError(f"unknown thing {p}", where=f"data/{p}.jsonl:3", hint=f"try {p}\nor something else")
    assert RAW.search(str(e)) is None
    assert visible(p) in e.message and visible(p) in e.where and visible(p) in e.hint
    assert "\n" in e.hint  # a message may have several lines
    many = BenchErrors([e, BenchError(p)])
    assert RAW.search(str(many)) is None and str(many).count(visible(p)) == 4


@pytest.mark.parametrize("key", KEYS)
def test_an_error_naming_a_hostile_path_prints_it_visibly(in_tmp, cli, key):
    name = "res" + path_safe(PAYLOADS[key])
    code, out, err = cli("compare", name)
    assert code == 2 and err.startswith("error: ")
    assert_inert(out, err, name + ": no such results directory")


def test_a_parser_error_quoting_a_hostile_value_prints_it_visibly(in_tmp, cli):
    code, out, err = cli("run", "-m", "lead-3", f"--x{ALL}")
    assert code == 2 and "No such option" in err
    assert_inert(out, err, f"--x{ALL}")
    code, out, err = cli("run", "-m", "lead-3", "--tokenizer", ALL)  # quoted with repr() by the parser
    assert code == 2 and "Invalid value for '--tokenizer'" in err
    assert_inert(out, err)


def test_warnings_are_made_visible(capsys):
    from bench.cli.output import warn

    warn(f"model {ALL} on task x: something")
    out, err = capsys.readouterr()
    assert_inert(out, err, f"warning: model {ALL} on task x")


# ------------------------------------------------------------------ bench run


@pytest.fixture
def news(in_tmp):
    for name in ("news.yaml", "summarization.jsonl"):
        shutil.copy(GOOD / name, in_tmp / name)
    return in_tmp


@pytest.mark.parametrize("key", KEYS)
def test_run_table_shows_a_hostile_model_name_visibly(news, cli, key):
    code, out, err = cli("run", "-q", "-m", f"hostile_models:Name_{key}", "-t", "news.yaml", "-o", "res")
    assert code == 0, err
    assert_inert(out, err, f"m-{PAYLOADS[key]}")


@pytest.mark.parametrize("key", ["title", "bidi", "markup"])
def test_the_cache_note_of_a_rerun_shows_a_hostile_model_name_visibly(news, cli, key):
    argv = ("run", "-q", "-m", f"hostile_models:Name_{key}", "-t", "news.yaml", "-o", "res")
    assert cli(*argv)[0] == 0
    code, out, err = cli(*argv)
    assert code == 0, err
    assert_inert(out, err, f"m-{PAYLOADS[key]} on news: 3 of 3 predictions from the prediction cache")


@pytest.mark.parametrize("key", KEYS)
def test_run_warnings_show_a_hostile_model_name_visibly(in_tmp, cli, key):
    # text the default ROUGE tokenizer cannot see: the run warns, naming the model
    row = {"id": "ru", "document": "Москва приняла новый бюджет. Расходы выросли.", "references": ["Москва приняла бюджет."]}
    (in_tmp / "ru.jsonl").write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    (in_tmp / "ru.yaml").write_text("name: ru\nversion: 1\ntype: summarization\nfixture: ru.jsonl\n", encoding="utf-8")
    code, out, err = cli("run", "-q", "-m", f"hostile_models:Name_{key}", "-t", "ru.yaml", "-o", "res")
    assert code == 0, err
    assert_inert(out, err, f"warning: m-{PAYLOADS[key]} on ru: ")


def test_progress_bars_show_hostile_model_names_visibly(news, cli):
    models = [a for key in KEYS for a in ("-m", f"hostile_models:Name_{key}")]
    code, out, err = cli("run", *models, "-t", "news.yaml", "-o", "res")
    assert code == 0, err
    assert_inert(out, err, *(f"m-{PAYLOADS[key]} on news" for key in KEYS))


def test_progress_bar_description_is_not_read_as_markup(capsys):
    from bench.cli.output import ProgressBars

    bars = ProgressBars()
    model = "m-" + PAYLOADS["title"] + PAYLOADS["bidi"] + PAYLOADS["c1_csi"]
    advance = bars.start(model, "[bold]task[/bold]", 2)
    advance(2)
    bars.stop()
    out, err = capsys.readouterr()
    assert_inert(out, err, f"{model} on [bold]task[/bold]")


# ------------------------------------------------------------------ bench compare


def _hostile_fixture(root: Path) -> None:
    """A task whose ids, documents and references carry the payloads (so lead-3's predictions do too)."""
    rows = [{"id": f"ex-{key}{p}", "document": f"First {p} sentence here. Second sentence {key} there. Third one.",
             "references": [f"A reference {p} line.\nIts second {key} line."]}
            for key, p in PAYLOADS.items()]
    (root / "hostile.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (root / "hostile.yaml").write_text("name: hostile\nversion: 1\ntype: summarization\nfixture: hostile.jsonl\n"
                                       f"description: {yaml_string('bad ' + ALL)}\n", encoding="utf-8")


@pytest.fixture
def hostile_results(in_tmp, cli):
    """Runs of lead-3, of lead-3 under each hostile name, and of a model with hostile predictions."""
    _hostile_fixture(in_tmp)
    models = [a for key in KEYS for a in ("-m", f"hostile_models:Name_{key}")]
    code, out, err = cli("run", "-q", "-m", "lead-3", "-m", "hostile_models:HostilePrediction", *models,
                         "-t", "hostile.yaml", "-o", "res")
    assert code == 0, err
    assert_inert(out, err)
    return in_tmp / "res"


def test_compare_tables_show_hostile_names_visibly(hostile_results, cli):
    code, out, err = cli("compare", "res")
    assert code == 0, err
    assert_inert(out, err, *(f"m-{p}" for p in PAYLOADS.values()))
    code, out, err = cli("compare", "res", "--baseline", "lead-3")
    assert code == 0, err
    assert_inert(out, err, *(f"m-{p}" for p in PAYLOADS.values()))


def test_compare_examples_show_hostile_ids_references_and_predictions_visibly(hostile_results, cli):
    code, out, err = cli("compare", "res", "-m", "lead-3", "-m", "hostile-prediction", "--baseline", "lead-3",
                         "--examples", str(len(PAYLOADS)))
    assert code == 0, err
    ids = [f"ex-{key}{p}" for key, p in PAYLOADS.items()]
    refs = [f"A reference {p} line." for p in PAYLOADS.values()]
    assert_inert(out, err, *ids, *refs)
    # the predictions keep their line breaks, later lines indented under their model
    first, second = (visible(line) for line in PREDICTION_LINES)
    assert f"    hostile-prediction: {first}\n      {second} First" in out
    assert "\n      Its second clear line." in out


def test_compare_examples_against_a_hostile_model_name(hostile_results, cli):
    code, out, err = cli("compare", "res", "-m", "lead-3", "-m", "m-[red]x[/red]", "-m", "hostile-prediction",
                         "--baseline", "m-[red]x[/red]", "--examples", "1")
    assert code == 0, err
    assert_inert(out, err, "paired comparison with m-[red]x[/red]", "    m-[red]x[/red]: ")


@pytest.mark.parametrize("key", ["title", "markup"])
def test_rescore_table_shows_a_hostile_model_name_visibly(hostile_results, cli, key):
    (run,) = [p.parent for p in hostile_results.glob("hostile/*/*/results.json")
              if json.loads(p.read_text(encoding="utf-8"))["model"] == f"m-{PAYLOADS[key]}"]
    code, out, err = cli("rescore", str(run), "-o", "rescored")
    assert code == 0, err
    assert_inert(out, err, f"m-{PAYLOADS[key]}")


# ------------------------------------------------------------------ bench list, validate, score


@pytest.mark.parametrize("key", KEYS)
def test_list_shows_a_hostile_task_description_visibly(news, cli, key):
    (news / "tasks").mkdir()
    shutil.copy(news / "summarization.jsonl", news / "tasks" / "summarization.jsonl")
    (news / "tasks" / "h.yaml").write_text(
        "name: h\nversion: 1\ntype: summarization\nfixture: summarization.jsonl\n"
        f"description: {yaml_string('d' + PAYLOADS[key])}\n", encoding="utf-8")
    code, out, err = cli("list", "--tasks-dir", "tasks")
    assert code == 0, err
    assert_inert(out, err)
    assert visible("d" + PAYLOADS[key])[:14] in out


@pytest.mark.parametrize("key", KEYS)
def test_validate_shows_a_hostile_fixture_path_visibly(news, cli, key):
    name = f"f{path_safe(PAYLOADS[key])}.jsonl"
    shutil.copy(news / "summarization.jsonl", news / name)
    code, out, err = cli("validate", name)
    assert code == 0, err
    assert_inert(out, err, name)
    # and in an error: a task naming a fixture that is not there
    (news / "t.yaml").write_text(f"name: t\nversion: 1\ntype: summarization\nfixture: {yaml_string('x' + name)}\n",
                                 encoding="utf-8")
    code, out, err = cli("validate", "t.yaml")
    assert code == 2
    assert_inert(out, err, f"fixture file not found: x{name}")


@pytest.mark.parametrize("key", KEYS)
def test_validate_and_run_show_hostile_ids_in_errors_visibly(news, cli, key):
    p = PAYLOADS[key]
    row = {"id": f"id{p}", "document": "A b. C d.", "references": ["x"]}
    (news / "dup.jsonl").write_text(json.dumps(row) + "\n" + json.dumps(row) + "\n", encoding="utf-8")
    (news / "dup.yaml").write_text("name: dup\nversion: 1\ntype: summarization\nfixture: dup.jsonl\n", encoding="utf-8")
    for argv in (("validate", "dup.yaml"), ("run", "-q", "-m", "lead-3", "-t", "dup.yaml", "-o", "res")):
        code, out, err = cli(*argv)
        assert code == 2
        assert_inert(out, err, "dup.jsonl:2")
        assert "duplicate id" in err


@pytest.mark.parametrize("key", KEYS)
def test_score_table_shows_a_hostile_file_name_visibly(news, cli, key):
    name = f"s{path_safe(PAYLOADS[key])}.jsonl"
    (news / name).write_text(json.dumps({"id": "a", "prediction": "The library reopened.",
                                         "references": ["The library reopened on Friday."]}) + "\n", encoding="utf-8")
    code, out, err = cli("score", name)
    assert code == 0, err
    assert_inert(out, err, name)


# ------------------------------------------------------------------ bench fixture import


@pytest.mark.parametrize("key", KEYS)
def test_fixture_import_shows_hostile_paths_visibly(news, cli, key):
    folder = f"fx{path_safe(PAYLOADS[key])}"
    shutil.copy(GOOD / "article.txt", news / "article.txt")
    code, out, err = cli("fixture", "import", "article.txt", "--name", "imp", "--fixtures-dir", folder,
                         "--tasks-dir", folder + "-tasks")
    assert code == 0, err
    assert_inert(out, err, f"{folder}/imp_headline.jsonl", f"--tasks-dir {folder}-tasks")


@pytest.mark.parametrize("key", KEYS)
def test_fixture_import_names_a_bad_hostile_article_file_visibly(in_tmp, cli, key):
    name = f"a{path_safe(PAYLOADS[key])}.txt"
    (in_tmp / name).write_text("A headline\n2024-03-15\nhttps://example.org/a\nThe body.\n", encoding="utf-8")
    code, out, err = cli("fixture", "import", name, "--name", "imp", "--fixtures-dir", "fx", "--tasks-dir", "tk")
    assert code == 2
    assert_inert(out, err, f"{name}:2: date '2024-03-15' is not YYYYMMDD")
