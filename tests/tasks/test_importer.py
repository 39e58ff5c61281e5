"""`bench fixture import`: articles in the seed format -> fixtures and tasks -> validate -> run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import SEED_ARTICLE

from bench.errors import BenchError
from bench.api import load_task
from bench.tasks.importer import parse_article

NEW_ARTICLE = """\
Riverside library reopens after two-year restoration
20240315
https://example.org/news/riverside-library-reopens
The Riverside public library reopened on Friday after a two-year restoration that cost 4.2 million dollars. \
The building, which dates from 1911, had been closed since a storm damaged its roof in 2022.
Visitors queued before the doors opened at nine in the morning. Librarian Ana Costa said more than 600 people \
came in the first hour.
The restored reading room now has solar panels on its roof and a children's wing on the ground floor. \
The city council paid for most of the work; a local foundation gave the rest.
"""


def _articles(tmp: Path) -> list[Path]:
    src = tmp / "articles"
    src.mkdir()
    new = src / "riverside_library.txt"
    new.write_text(NEW_ARTICLE, encoding="utf-8")
    seed = src / SEED_ARTICLE.name
    shutil.copy(SEED_ARTICLE, seed)
    return [new, seed]


def _import(cli, files, name="mynews", *extra):
    return cli("fixture", "import", *files, "--name", name, "--fixtures-dir", "fx", "--tasks-dir", "tk", *extra)


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_new_article_becomes_a_headline_task_that_validates_and_runs(in_tmp, cli):
    files = _articles(in_tmp)
    code, out, err = _import(cli, files)
    assert code == 0, err
    assert "mynews-headline" in out and "bench run --model lead-3 --task mynews-headline --tasks-dir tk" in out

    rows = _rows(in_tmp / "fx" / "mynews_headline.jsonl")
    assert [r["id"] for r in rows] == ["riverside_library", SEED_ARTICLE.stem]
    assert rows[0]["references"] == ["Riverside library reopens after two-year restoration"]
    assert rows[0]["date"] == "2024-03-15" and rows[0]["url"].endswith("riverside-library-reopens")
    assert rows[0]["document"].startswith("The Riverside public library") and rows[0]["document"].endswith("the rest.")
    seed_lines = SEED_ARTICLE.read_text(encoding="utf-8").split("\n")
    assert rows[1]["document"] == "\n".join(seed_lines[3:]).rstrip("\n")
    assert rows[1]["references"] == [seed_lines[0]]

    code, out, err = cli("validate", "mynews-headline", "--tasks-dir", "tk")
    assert code == 0, err
    assert out.strip().splitlines() == [out.strip()]  # one line per task
    assert out.startswith("ok  mynews-headline: 2 examples (summarization")

    code, out, err = cli("run", "--model", "lead-3", "--task", "mynews-headline", "--tasks-dir", "tk", "-q")
    assert code == 0, err
    (results,) = (in_tmp / "results" / "mynews-headline" / "lead-3").glob("*/results.json")
    record = json.loads(results.read_text())
    assert record["task"] == "mynews-headline" and record["n_examples"] == 2
    assert record["task_hash"] == load_task(in_tmp / "tk" / "mynews-headline.yaml").hash
    assert 0 < record["metrics"]["rouge1"] <= 100
    predictions = _rows(results.parent / "predictions.jsonl")
    # lead-3 on a one-sentence task: the first sentence of each article
    assert predictions[0]["prediction"].startswith("The Riverside public library reopened on Friday")
    assert predictions[0]["references"] == ["Riverside library reopens after two-year restoration"]


def test_summarization_and_qa_files_are_refused_until_filled_in(in_tmp, cli):
    files = _articles(in_tmp)
    assert _import(cli, files)[0] == 0
    for task, words in (("mynews-summarization", "has no references yet"), ("mynews-qa", "has no questions yet")):
        code, out, err = cli("validate", task, "--tasks-dir", "tk")
        assert code == 2 and words in err and "then run" in err and "Traceback" not in err
        assert err.count("problem") == 1 and "1 problem found" in err  # one message, not one per line
        code, out, err = cli("run", "--model", "lead-3" if "summ" in task else "sliding-window",
                             "--task", task, "--tasks-dir", "tk", "-q")
        assert code == 2 and words in err
        assert f"tk/{task}.yaml:" in err and "is a draft and does not run yet: fill in what is missing" in err
    assert not (in_tmp / "results").exists() or not any((in_tmp / "results").rglob("results.json"))

    # The user fills in the summarization references...
    summ = in_tmp / "fx" / "mynews_summarization.jsonl"
    rows = _rows(summ)
    rows[0]["references"] = ["The Riverside library reopened after a two-year restoration.\n"
                             "Hundreds of visitors came in the first hour."]
    summ.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    code, out, err = cli("validate", "mynews-summarization", "--tasks-dir", "tk")
    assert code == 2 and "mynews_summarization.jsonl:2 (field 'references'): no references yet" in err
    rows[1]["references"] = ["Belarus expects Russian jets, helicopters and air defense systems soon."]
    summ.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    code, out, err = cli("validate", "mynews-summarization", "--tasks-dir", "tk")
    assert code == 0 and out.startswith("ok  mynews-summarization: 2 examples"), err

    # ... and writes a question, with a guessed answer_start that validation corrects.
    qa = in_tmp / "fx" / "mynews_qa.jsonl"
    rows = _rows(qa)
    context = rows[0]["context"]
    rows[0].update(question="How much did the restoration cost?",
                   answers={"text": ["4.2 million dollars"], "answer_start": [0]})
    rows[1].update(question="What is the name of the Belarusian capital's zoo?")  # unanswerable: no answers
    qa.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    code, out, err = cli("validate", "mynews-qa", "--tasks-dir", "tk")
    right = context.index("4.2 million dollars")
    assert code == 2 and "mynews_qa.jsonl:1 (field 'answers')" in err
    assert f"occurs at answer_start {right}" in err
    rows[0]["answers"]["answer_start"] = [right]
    qa.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    code, out, err = cli("validate", "mynews-qa", "--tasks-dir", "tk")
    assert code == 0 and "a draft: remove 'draft: true' from its file to run it" in out, err
    # a draft that validates still waits for its line 'draft: true' to go
    code, out, err = cli("run", "--model", "sliding-window", "--task", "mynews-qa", "--tasks-dir", "tk", "-q")
    assert code == 2 and "is a draft and does not run yet: it validates: remove the line 'draft: true'" in err
    task_file = in_tmp / "tk" / "mynews-qa.yaml"
    task_file.write_text(task_file.read_text(encoding="utf-8").replace("draft: true\n", ""), encoding="utf-8")
    code, out, err = cli("run", "--model", "sliding-window", "--task", "mynews-qa", "--tasks-dir", "tk", "-q")
    assert code == 0, err
    (results,) = (in_tmp / "results" / "mynews-qa").glob("*/*/results.json")
    assert json.loads(results.read_text())["n_examples"] == 2


def test_task_files_are_valid_definitions_pointing_at_their_fixtures(in_tmp, cli):
    files = _articles(in_tmp)
    assert _import(cli, files)[0] == 0
    for kind, ttype in (("headline", "summarization"), ("summarization", "summarization"), ("qa", "qa")):
        path = in_tmp / "tk" / f"mynews-{kind}.yaml"
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert spec["name"] == f"mynews-{kind}" and spec["type"] == ttype and spec["version"] == 1
        task = load_task(path)
        assert task.fixture == (in_tmp / "fx" / f"mynews_{kind}.jsonl").resolve()
    assert load_task(in_tmp / "tk" / "mynews-headline.yaml").summary_sentences == 1
    assert [load_task(in_tmp / "tk" / f"mynews-{k}.yaml").draft for k in ("headline", "summarization", "qa")] == [
        False, True, True]


def test_a_folder_of_articles_imports_every_txt_file(in_tmp, cli):
    files = _articles(in_tmp)
    (files[0].parent / "notes.md").write_text("not an article", encoding="utf-8")
    code, out, err = _import(cli, [files[0].parent])
    assert code == 0, err
    assert out.startswith("imported 2 articles as 3 tasks")


def test_bad_articles_are_all_reported_with_file_and_line_and_nothing_is_written(in_tmp, cli):
    src = in_tmp / "articles"
    src.mkdir()
    (src / "bad_date.txt").write_text("Headline\n2024-03-15\nhttps://example.org/a\nBody text.\n", encoding="utf-8")
    (src / "no_url.txt").write_text("Headline\n20240315\nThe body starts here.\nMore body.\n", encoding="utf-8")
    (src / "no_body.txt").write_text("Headline\n20240315\nhttps://example.org/c\n\n  \n", encoding="utf-8")
    (src / "not_a_day.txt").write_text("Headline\n20240231\nhttps://example.org/d\nBody.\n", encoding="utf-8")
    (src / "short.txt").write_text("Only a headline\n", encoding="utf-8")
    code, out, err = _import(cli, sorted(src.iterdir()))
    assert code == 2 and "Traceback" not in err
    assert "articles/bad_date.txt:2: date '2024-03-15' is not YYYYMMDD" in err
    assert "articles/no_url.txt:3: line 3 should be the article's URL" in err
    assert "articles/no_body.txt:4: the body is empty" in err
    assert "articles/not_a_day.txt:2: date '20240231' is not a real date" in err
    assert "articles/short.txt:2: missing date line" in err and "articles/short.txt:3: missing URL line" in err
    assert not (in_tmp / "fx").exists() and not (in_tmp / "tk").exists()


def test_parse_article_accepts_crlf_and_a_byte_order_mark(tmp_path):
    path = tmp_path / "win.txt"
    path.write_bytes(b"\xef\xbb\xbfHeadline here\r\n20240315\r\nhttps://example.org/x\r\nFirst line.\r\nSecond.\r\n")
    a = parse_article(path)
    assert (a.headline, a.date, a.url, a.body) == ("Headline here", "2024-03-15", "https://example.org/x",
                                                  "First line.\nSecond.")


def test_existing_files_are_kept_without_force(in_tmp, cli):
    files = _articles(in_tmp)
    assert _import(cli, files[:1])[0] == 0
    written = {p: p.read_bytes() for p in [*(in_tmp / "fx").iterdir(), *(in_tmp / "tk").iterdir()]}
    assert len(written) == 6
    code, out, err = _import(cli, files)
    assert code == 2 and "6 files already exist" in err and "--force" in err
    assert {p: p.read_bytes() for p in written} == written
    code, out, err = _import(cli, files, "mynews", "--force")
    assert code == 0, err
    assert len(_rows(in_tmp / "fx" / "mynews_headline.jsonl")) == 2
    assert sorted(p.name for p in (in_tmp / "fx").iterdir()) == sorted(p.name for p in written if p.parent.name == "fx")


def test_names_cannot_leave_the_output_folders(in_tmp, cli):
    files = _articles(in_tmp)
    for name in ("../evil", "a/b", "..", ".hidden", "a\\b", ""):
        code, out, err = _import(cli, files, name)
        assert code == 2 and "invalid name" in err, name
    assert not (in_tmp / "fx").exists() and not (in_tmp / "tk").exists()
    assert not list(in_tmp.parent.glob("evil*"))


def test_a_name_already_used_by_another_task_is_refused(in_tmp, cli):
    files = _articles(in_tmp)
    code, out, err = _import(cli, files, "seed")
    assert code == 2 and "task name 'seed-headline' is already used by" in err
    assert not (in_tmp / "fx").exists()


def test_two_articles_with_the_same_file_name_are_refused(in_tmp, cli):
    files = _articles(in_tmp)
    other = in_tmp / "more"
    other.mkdir()
    shutil.copy(files[0], other / files[0].name)
    code, out, err = _import(cli, [files[0], other / files[0].name])
    assert code == 2 and "two articles would get the id 'riverside_library'" in err


def test_a_failed_write_leaves_no_file_behind(in_tmp, cli):
    files = _articles(in_tmp)
    (in_tmp / "tk").write_text("a file where the tasks folder should be", encoding="utf-8")
    code, out, err = _import(cli, files)
    assert code == 2 and "tk: --tasks-dir names a file, not a folder" in err
    assert not (in_tmp / "fx").exists()  # not even the folder


def test_write_files_writes_all_files_or_none(tmp_path):
    from bench.errors import BenchError
    from bench.tasks.importer import write_files

    first, second = tmp_path / "a" / "first.jsonl", tmp_path / "b" / "second.yaml"
    write_files({first: '{"id": "é"}\n', second: "name: x\n"}, force=False)
    assert first.read_bytes() == '{"id": "é"}\n'.encode() and second.read_text(encoding="utf-8") == "name: x\n"
    second.unlink()
    second.mkdir()  # the second file cannot be moved into place: the first is not replaced either
    try:
        write_files({first: "new\n", second: "name: y\n"}, force=True)
    except BenchError as e:
        assert "cannot write" in str(e)
    else:
        raise AssertionError("a directory in the way must stop the import")
    assert first.read_bytes() == '{"id": "é"}\n'.encode() and second.is_dir()
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a", "b", "first.jsonl", "second.yaml"]


# ------------------------------------------------------------------ drafts never block other tasks


def test_drafts_never_block_plain_run_and_validate_of_other_tasks(in_tmp, cli):
    assert _import(cli, _articles(in_tmp))[0] == 0
    code, out, err = cli("validate", "--tasks-dir", "tk")
    assert code == 0, err
    # the command printed works from here: the task file, not a name found only with --tasks-dir
    assert "skip  mynews-qa: a draft (draft: true in tk/mynews-qa.yaml); `bench validate tk/mynews-qa.yaml` checks it" in out
    assert "skip  mynews-summarization: a draft" in out and "ok  mynews-headline: 2 examples" in out
    assert "seed-summarization" not in out  # the directory's tasks only
    code, out, err = cli("validate", "--tasks-dir", "tk", "--bundled")
    assert code == 0 and "ok  seed-summarization" in out and "ok  mynews-headline" in out, err
    code, out, err = cli("run", "-m", "lead-3", "--tasks-dir", "tk", "-q")
    assert code == 0, err
    for draft in ("mynews-qa", "mynews-summarization"):
        assert (f"warning: skipped draft task '{draft}' (tk/{draft}.yaml): fill in its fixture, check it with "
                f"`bench validate tk/{draft}.yaml`, then remove 'draft: true' to run it") in err
    ran = {p.parent.parent.parent.name for p in (in_tmp / "results").glob("*/*/*/results.json")}
    assert ran == {"mynews-headline"}  # not the bundled tasks: --tasks-dir names the tasks to run
    code, out, err = cli("run", "-m", "lead-3", "--tasks-dir", "tk", "--bundled", "-q")
    assert code == 0, err
    ran = {p.parent.parent.parent.name for p in (in_tmp / "results").glob("*/*/*/results.json")}
    assert ran == {"mynews-headline", "seed-headline", "seed-summarization"}
    code, out, err = cli("run", "-m", "lead-3", "--tasks-dir", "tk", "-t", "seed-headline", "-q")
    assert code == 0, err  # a bundled task named is found


def test_a_draft_with_a_broken_definition_blocks_nothing_until_named(in_tmp, cli):
    assert _import(cli, _articles(in_tmp))[0] == 0
    task_file = in_tmp / "tk" / "mynews-qa.yaml"
    task_file.write_text(task_file.read_text(encoding="utf-8").replace("metrics: [squad]", "metrics: [bleu]"),
                         encoding="utf-8")
    assert cli("validate", "--tasks-dir", "tk")[0] == 0
    assert cli("run", "-m", "lead-3", "--tasks-dir", "tk", "-q")[0] == 0
    code, out, err = cli("validate", "mynews-qa", "--tasks-dir", "tk")
    assert code == 2 and "mynews-qa.yaml:" in err and "unknown metric 'bleu'" in err


@pytest.mark.parametrize("value, ok", [("true", True), ("false", True), ("yes please", False), ("1", False)])
def test_draft_is_a_boolean(tmp_path, value, ok):
    (tmp_path / "f.jsonl").write_text('{"id": "a", "document": "d", "references": ["r"]}\n', encoding="utf-8")
    path = tmp_path / "t.yaml"
    path.write_text(f"name: t\nversion: 1\ntype: summarization\nfixture: f.jsonl\ndraft: {value}\n",
                    encoding="utf-8")
    if ok:
        assert load_task(path).draft is (value == "true")
    else:
        with pytest.raises(BenchError, match="'draft' must be true or false") as e:
            load_task(path)
        assert e.value.where.endswith("t.yaml:5")


def test_a_draft_named_by_its_file_is_refused_by_run_and_checked_by_validate(in_tmp, cli):
    (in_tmp / "f.jsonl").write_text('{"id": "a", "document": "Some text.", "references": ["Text."]}\n',
                                    encoding="utf-8")
    (in_tmp / "t.yaml").write_text("name: t\nversion: 1\ntype: summarization\nfixture: f.jsonl\ndraft: true\n",
                                   encoding="utf-8")
    code, out, err = cli("run", "-q", "-m", "lead-3", "-t", "t.yaml")
    assert code == 2 and err.startswith("error: t.yaml:5: task 't' is a draft") and "Traceback" not in err, err
    assert not (in_tmp / "results").exists()
    code, out, err = cli("validate", "t.yaml")
    assert code == 0 and out.startswith("ok  t: 1 example") and "a draft" in out, err


@pytest.mark.slow
def test_import_in_a_repository_checkout_leaves_plain_run_and_validate_working(tmp_path):
    """`bench fixture import` with its default folders, run at the top of a checkout, writes into the bundled tasks/."""
    import subprocess
    import sys

    from conftest import REPO

    for part in ("bench", "tasks", "fixtures"):
        shutil.copytree(REPO / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "article.txt").write_text(NEW_ARTICLE, encoding="utf-8")

    def bench(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bench", *args], cwd=tmp_path, capture_output=True, text=True,
                              timeout=300)

    done = bench("fixture", "import", "article.txt", "--name", "mynews")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "tasks" / "mynews-qa.yaml").is_file()  # the bundled tasks folder of this checkout
    done = bench("validate")
    assert done.returncode == 0, done.stderr
    assert "skip  mynews-qa" in done.stdout and "ok  mynews-headline" in done.stdout
    done = bench("run", "-m", "lead-3", "-q")
    assert done.returncode == 0, done.stderr
    assert "warning: skipped draft task 'mynews-summarization'" in done.stderr
    assert (tmp_path / "results" / "mynews-headline").is_dir() and not (tmp_path / "results" / "mynews-qa").exists()
    done = bench("run", "-m", "lead-3", "-q", "-t", "mynews-summarization")
    assert done.returncode == 2 and "is a draft" in done.stderr and "has no references yet" in done.stderr


@pytest.mark.parametrize("kind, what", [("fifo", "a FIFO (named pipe), not a regular file"),
                                        ("loop", "a symbolic link loop"),
                                        ("dev-zero", "a character device, not a regular file")])
@pytest.mark.parametrize("given", ["folder", "file"])
def test_an_article_that_is_not_a_regular_file_is_named_and_never_opened(in_tmp, cli, kind, what, given):
    import os

    files = _articles(in_tmp)
    odd = files[0].parent / "odd.txt"
    if kind == "fifo":
        os.mkfifo(odd)
    elif kind == "loop":
        odd.symlink_to("odd.txt")
    else:
        if not Path("/dev/zero").exists():
            pytest.skip("no /dev/zero")
        odd.symlink_to("/dev/zero")
    code, out, err = _import(cli, [files[0].parent] if given == "folder" else [files[0], odd])
    assert code == 2 and "Traceback" not in err, err
    assert f"articles/odd.txt: cannot read article file: {what}" in err
    assert not (in_tmp / "fx").exists() and not (in_tmp / "tk").exists()


def test_a_name_is_at_most_as_long_as_task_names_allow(in_tmp, cli):
    files = _articles(in_tmp)
    code, _, err = _import(cli, files, "n" * 87)
    assert code == 2 and "at most 86 characters" in err and "Traceback" not in err
    assert not (in_tmp / "fx").exists() and not (in_tmp / "tk").exists()
    code, _, err = _import(cli, files, "n" * 86)
    assert code == 0, err
    assert load_task(in_tmp / "tk" / f"{'n' * 86}-summarization.yaml").name == "n" * 86 + "-summarization"


@pytest.mark.parametrize("option, value, message", [
    ("--tasks-dir", "articles/riverside_library.txt", "--tasks-dir names a file, not a folder"),
    ("--fixtures-dir", "articles/riverside_library.txt", "--fixtures-dir names a file, not a folder"),
    ("--fixtures-dir", "x" * 600, "cannot use --fixtures-dir: File name too long"),
    ("--tasks-dir", "made/deeper/" + "x" * 600, "cannot write file: File name too long"),
])
def test_output_folders_that_cannot_be_used_leave_nothing_behind(in_tmp, cli, option, value, message):
    files = _articles(in_tmp)
    before = sorted(p.relative_to(in_tmp) for p in in_tmp.rglob("*"))
    code, _, err = cli("fixture", "import", *files, "--name", "n", option, value)
    assert code == 2 and message in err and "Traceback" not in err, err
    assert sorted(p.relative_to(in_tmp) for p in in_tmp.rglob("*")) == before  # no folder made, no file written


def test_folders_that_do_not_exist_are_made(in_tmp, cli):
    files = _articles(in_tmp)
    code, _, err = cli("fixture", "import", *files, "--name", "n", "--tasks-dir", "a/b", "--fixtures-dir", "c/d")
    assert code == 0, err
    assert (in_tmp / "a" / "b" / "n-qa.yaml").is_file() and (in_tmp / "c" / "d" / "n_qa.jsonl").is_file()
    assert load_task(in_tmp / "a" / "b" / "n-qa.yaml").fixture == (in_tmp / "c" / "d" / "n_qa.jsonl").resolve()
