"""Every command over a corpus of bad inputs (tests/bad_inputs/cases.yaml).

Each bad input gets one clear message (what, where as file:line, how to fix),
exit code 2, no traceback, and leaves the working directory as it was: no
file added, removed or changed. Each section's good input is run through the
same commands first, so a failure is the bad input's doing.

Also here: names that must not lead outside the results directory, text that
ROUGE's default tokenizer cannot see, and the security rules (YAML is data,
no pickle).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import REPO

CORPUS = Path(__file__).resolve().parent / "bad_inputs"
GOOD = CORPUS / "good"
CASES = yaml.safe_load((CORPUS / "cases.yaml").read_text(encoding="utf-8"))
LEAD_RUN = "results/news/lead-3/20260101T000000Z-000001"
#: No message needs more than this; a 10 MB line must not end up in one.
MAX_ERROR_CHARS = 20_000
#: Characters a terminal acts on (C0 but newline and tab, DEL, C1, bidi controls): never printed raw.
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


# ------------------------------------------------------------------ helpers


def _make(kind: str, source: Path) -> bytes:
    data = source.read_bytes()
    text = data.decode("utf-8")
    if kind == "bom":
        return b"\xef\xbb\xbf" + data
    if kind == "latin1":
        assert any(ord(c) > 127 for c in text), f"{source} has no non-ASCII letter to re-encode"
        return text.encode("latin-1")
    if kind == "utf16":
        return text.encode("utf-16")
    if kind == "gzip":
        return gzip.compress(data, mtime=0)
    if kind == "10mb":
        assert "@10MB@" in text
        return text.replace("@10MB@", "x" * (10 * 1024 * 1024)).encode("utf-8")
    raise AssertionError(f"unknown make: {kind}")


def _case_bytes(case: dict) -> bytes | None:
    if "file" in case:
        return (CORPUS / case["file"]).read_bytes()
    if "make" in case:
        return _make(case["make"], CORPUS / case["from"])
    return None


def _case_name(case_id: str, case: dict) -> str:
    """The file name the input gets: the corpus file's, or the case id with the source's suffix."""
    if "file" in case:
        return Path(case["file"]).name
    suffix = Path(case["from"]).name.removesuffix(".in")
    return case_id + "".join(Path(suffix).suffixes)


def _snapshot(root: Path) -> dict[str, str]:
    """Every file and folder under `root`, with a digest of each file's bytes."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        out[rel] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
    return out


def _assert_clean_failure(code: int, out: str, err: str, case: dict, command: str) -> None:
    expected_code = case.get("code", 2)
    assert code == expected_code, f"{command}: exit {code}, expected {expected_code}\n{err}"
    assert "Traceback" not in out + err, err
    assert not RAW_CONTROL.search(out + err), f"{command}: a raw control character in the output:\n{err!r}"
    assert len(err) < MAX_ERROR_CHARS, f"{command}: {len(err)} characters of error output"
    assert err.startswith("error: "), err  # the parser's usage errors too, in bench's words
    if case.get("parser"):
        assert "hint: see `bench " in err and " --help`" in err, err
    for text in case.get("expect_for", {}).get(command, case["expect"]):
        assert text in err, f"{command}: {text!r} not in:\n{err}"


def _params(section: str, commands: list[str]) -> list:
    return [pytest.param(case_id, command, id=f"{case_id}-{command}")
            for case_id in CASES[section] for command in commands]


def _check(cli, root: Path, section: str, case_id: str, command: str, argv: list[str]) -> None:
    case = CASES[section][case_id]
    before = _snapshot(root)
    code, out, err = cli(*argv)
    if command in case.get("ok", []):
        assert code == 0, f"{command} should accept this input:\n{err}"
        return
    _assert_clean_failure(code, out, err, case, command)
    assert _snapshot(root) == before, "a failed command changed the working directory"


def test_the_corpus_is_well_formed():
    for section, cases in CASES.items():
        for case_id, case in cases.items():
            assert case.get("expect"), f"{section}.{case_id} expects nothing"
            assert ("file" in case) + ("make" in case) <= 1
            if "file" in case:
                assert (CORPUS / case["file"]).is_file(), case["file"]
            if "make" in case:
                assert (CORPUS / case["from"]).is_file(), case["from"]
    committed = {p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*") if p.is_file()}
    used = {c[k] for cases in CASES.values() for c in cases.values() for k in ("file", "from") if k in c}
    unused = {p for p in committed - used if not p.startswith("good/") and p not in ("cases.yaml", "README.md")}
    assert not unused, f"corpus files no case uses: {sorted(unused)}"
    for p in committed - {"cases.yaml"}:
        assert (CORPUS / p).stat().st_size < 20_000, f"{p}: keep committed inputs small (make big ones at test time)"


# ------------------------------------------------------------------ fixtures

FIXTURE_COMMANDS = ["validate", "validate-fixture", "run"]
MODEL_FOR = {"summarization": "lead-3", "qa": "sliding-window"}


def _fixture_task(root: Path, name: str, data: bytes, ttype: str) -> tuple[Path, Path]:
    d = root / "data"
    d.mkdir(exist_ok=True)
    fixture = d / name
    fixture.write_bytes(data)
    task = d / "task.yaml"
    task.write_text(f"name: bad-fixture\nversion: 1\ntype: {ttype}\nfixture: {name}\n", encoding="utf-8")
    return task, fixture


def _fixture_argv(command: str, task: Path, fixture: Path, ttype: str) -> list[str]:
    rel = lambda p: str(p.relative_to(Path.cwd()))  # noqa: E731
    return {"validate": ["validate", rel(task)],
            "validate-fixture": ["validate", rel(fixture)],
            "run": ["run", "-q", "-m", MODEL_FOR[ttype], "-t", rel(task), "-o", "results"]}[command]


@pytest.mark.parametrize("name, ttype", [("summarization.jsonl", "summarization"), ("qa.jsonl", "qa"),
                                         ("squad.json", "qa")])
@pytest.mark.parametrize("command", FIXTURE_COMMANDS)
def test_good_fixtures_pass_every_command(in_tmp, cli, name, ttype, command):
    task, fixture = _fixture_task(in_tmp, name, (GOOD / name).read_bytes(), ttype)
    code, _, err = cli(*_fixture_argv(command, task, fixture, ttype))
    assert code == 0, err


@pytest.mark.parametrize("case_id, command", _params("fixtures", FIXTURE_COMMANDS))
def test_bad_fixture(in_tmp, cli, case_id, command):
    case = CASES["fixtures"][case_id]
    task, fixture = _fixture_task(in_tmp, _case_name(case_id, case), _case_bytes(case), case["type"])
    _check(cli, in_tmp, "fixtures", case_id, command, _fixture_argv(command, task, fixture, case["type"]))
    assert not (in_tmp / "results").exists()


# ------------------------------------------------------------------ task definitions

TASK_COMMANDS = ["validate", "run", "list"]


def _tasks_dir(root: Path) -> Path:
    d = root / "tasks"
    d.mkdir()
    for name in ("summarization.jsonl", "qa.jsonl", "squad.json"):
        shutil.copy(GOOD / name, d / name)
    return d


def _task_argv(command: str, task: str) -> list[str]:
    return {"validate": ["validate", f"tasks/{task}"],
            "run": ["run", "-q", "-m", "lead-3", "-t", f"tasks/{task}", "-o", "results"],
            "list": ["list", "--tasks-dir", "tasks"]}[command]


@pytest.mark.parametrize("command", TASK_COMMANDS)
def test_good_task_passes_every_command(in_tmp, cli, command):
    shutil.copy(GOOD / "news.yaml", _tasks_dir(in_tmp) / "news.yaml")
    code, _, err = cli(*_task_argv(command, "news.yaml"))
    assert code == 0, err


@pytest.mark.parametrize("case_id, command", _params("tasks", TASK_COMMANDS))
def test_bad_task_definition(in_tmp, cli, case_id, command):
    case = CASES["tasks"][case_id]
    name = _case_name(case_id, case)
    (_tasks_dir(in_tmp) / name).write_bytes(_case_bytes(case))
    _check(cli, in_tmp, "tasks", case_id, command, _task_argv(command, name))


# ------------------------------------------------------------------ bench score

SCORE_COMMANDS = ["score-rouge", "score-squad"]


def _score_argv(command: str, path: str) -> list[str]:
    return {"score-rouge": ["score", path], "score-squad": ["score", path, "--metric", "squad", "--format", "json"]}[
        command]


@pytest.mark.parametrize("command", SCORE_COMMANDS)
def test_good_score_file_passes(in_tmp, cli, command):
    shutil.copy(GOOD / "score.jsonl", in_tmp / "score.jsonl")
    code, _, err = cli(*_score_argv(command, "score.jsonl"))
    assert code == 0, err


@pytest.mark.parametrize("case_id, command", _params("score", SCORE_COMMANDS))
def test_bad_score_file(in_tmp, cli, case_id, command):
    case = CASES["score"][case_id]
    name = _case_name(case_id, case)
    (in_tmp / name).write_bytes(_case_bytes(case))
    _check(cli, in_tmp, "score", case_id, command, _score_argv(command, name))


# ------------------------------------------------------------------ results directories

RUN_COMMANDS = ["compare", "compare-baseline", "compare-examples", "rescore", "export"]


def _run_argv(command: str) -> list[str]:
    return {"compare": ["compare", "results"],
            "compare-baseline": ["compare", "results", "--baseline", "textrank"],
            "compare-examples": ["compare", "results", "--examples", "2", "--format", "md"],
            "rescore": ["rescore", LEAD_RUN, "-o", "rescored"],
            "export": ["export", "results", "-o", "exported"]}[command]


@pytest.mark.parametrize("command", RUN_COMMANDS)
def test_good_results_pass_every_command(in_tmp, cli, command):
    shutil.copytree(GOOD / "results", in_tmp / "results")
    code, out, err = cli(*_run_argv(command))
    assert code == 0, err
    if command == "export":
        assert "lead-3" in (in_tmp / "exported" / "README.md").read_text(encoding="utf-8")
    else:
        assert "lead-3" in out


@pytest.mark.parametrize("case_id, command", _params("runs", RUN_COMMANDS))
def test_bad_results_directory(in_tmp, cli, case_id, command):
    case = CASES["runs"][case_id]
    shutil.copytree(GOOD / "results", in_tmp / "results")
    target = in_tmp / LEAD_RUN / case["replace"]
    data = _case_bytes(case)
    if data is None:
        target.unlink()
    else:
        target.write_bytes(data)
    _check(cli, in_tmp, "runs", case_id, command, _run_argv(command))


# ------------------------------------------------------------------ article files

def _import_argv(path: str) -> list[str]:
    return ["fixture", "import", path, "--name", "imp", "--fixtures-dir", "fixtures", "--tasks-dir", "tasks"]


def test_good_article_imports(in_tmp, cli):
    shutil.copy(GOOD / "article.txt", in_tmp / "article.txt")
    code, out, err = cli(*_import_argv("article.txt"))
    assert code == 0, err
    assert (in_tmp / "tasks" / "imp-headline.yaml").is_file()


@pytest.mark.parametrize("case_id", list(CASES["articles"]))
def test_bad_article_file(in_tmp, cli, case_id):
    case = CASES["articles"][case_id]
    name = _case_name(case_id, case)
    (in_tmp / "articles").mkdir()
    (in_tmp / "articles" / name).write_bytes(_case_bytes(case))
    _check(cli, in_tmp, "articles", case_id, "import", _import_argv(f"articles/{name}"))
    assert not (in_tmp / "fixtures").exists() and not (in_tmp / "tasks").exists()


# ------------------------------------------------------------------ ratings files (bench correlate)

RATINGS_COMMANDS = ["correlate", "correlate-json"]


def _ratings_argv(command: str, path: str) -> list[str]:
    return {"correlate": ["correlate", path], "correlate-json": ["correlate", path, "--format", "json"]}[command]


@pytest.mark.parametrize("command", RATINGS_COMMANDS)
def test_good_ratings_file_passes(in_tmp, cli, command):
    shutil.copy(GOOD / "ratings.jsonl", in_tmp / "ratings.jsonl")
    code, _, err = cli(*_ratings_argv(command, "ratings.jsonl"))
    assert code == 0, err


@pytest.mark.parametrize("case_id, command", _params("ratings", RATINGS_COMMANDS))
def test_bad_ratings_file(in_tmp, cli, case_id, command):
    case = CASES["ratings"][case_id]
    name = _case_name(case_id, case)
    (in_tmp / name).write_bytes(_case_bytes(case))
    _check(cli, in_tmp, "ratings", case_id, command, _ratings_argv(command, name))


# ------------------------------------------------------------------ criteria files (bench annotate new --criteria)


def _criteria_argv(path: str) -> list[str]:
    return ["annotate", "new", "s", "results", "-t", "news.yaml", "--criteria", path, "-a", "ana"]


def test_good_criteria_file_makes_a_study(in_tmp, cli):
    for name in ("news.yaml", "summarization.jsonl", "criteria.yaml"):
        shutil.copy(GOOD / name, in_tmp / name)
    code, _, err = cli("run", "-q", "-m", "lead-3", "-t", "news.yaml", "-o", "results")
    assert code == 0, err
    code, out, err = cli(*_criteria_argv("criteria.yaml"))
    assert code == 0, err
    assert "on informativeness, readability" in out and (in_tmp / "results/.annotations/s.sqlite").is_file()


@pytest.mark.parametrize("case_id", list(CASES["criteria"]))
def test_bad_criteria_file(workdir, cli, case_id):
    case = CASES["criteria"][case_id]
    name = _case_name(case_id, case)
    (workdir / "criteria").mkdir()
    (workdir / "criteria" / name).write_bytes(_case_bytes(case))
    _check(cli, workdir, "criteria", case_id, "annotate-new", _criteria_argv(f"criteria/{name}"))


# ------------------------------------------------------------------ human pairwise judgments (bench compare --human)


def _human_argv(path: str) -> list[str]:
    return ["compare", "results", "-t", "news", "--human", path, "--format", "json"]


def test_good_human_judgments_are_compared(in_tmp, cli):
    shutil.copytree(GOOD / "results", in_tmp / "results")
    shutil.copy(GOOD / "preferences.jsonl", in_tmp / "preferences.jsonl")
    code, out, err = cli(*_human_argv("preferences.jsonl"))
    assert code == 0, err
    assert {r["model"] for r in json.loads(out)["bradley_terry"]} == {"lead-3", "textrank"}


@pytest.mark.parametrize("case_id", list(CASES["human"]))
def test_bad_human_judgments(in_tmp, cli, case_id):
    case = CASES["human"][case_id]
    shutil.copytree(GOOD / "results", in_tmp / "results")
    (in_tmp / "human").mkdir()
    name = _case_name(case_id, case)
    (in_tmp / "human" / name).write_bytes(_case_bytes(case))
    _check(cli, in_tmp, "human", case_id, "compare-human", _human_argv(f"human/{name}"))


# ------------------------------------------------------------------ command-line options


@pytest.fixture
def workdir(in_tmp):
    """A working directory with a task, its fixture, an article and a results directory of two runs."""
    for name in ("news.yaml", "summarization.jsonl", "article.txt"):
        shutil.copy(GOOD / name, in_tmp / name)
    shutil.copytree(GOOD / "results", in_tmp / "results")
    return in_tmp


#: `@LONG@` in an argument: 100,000 characters (a name no file system takes).
LONG = "x" * 100_000


@pytest.mark.parametrize("case_id", list(CASES["options"]))
def test_bad_option(workdir, cli, case_id):
    argv = [str(a).replace("@LONG@", LONG) for a in CASES["options"][case_id]["args"]]
    _check(cli, workdir, "options", case_id, "options", argv)


# ------------------------------------------------------------------ a damaged cache store, for every cache kind


@pytest.mark.parametrize("kind", ["predictions", "judge", "pairs", "tokens"])
@pytest.mark.parametrize("case_id", list(CASES["cache"]))
def test_damaged_cache_store(tmp_path, monkeypatch, case_id, kind):
    import sqlite3
    import warnings

    import cache_kinds

    from bench.cache import database

    monkeypatch.setattr(database, "LOCK_WAIT_S", 0.2)
    case = CASES["cache"][case_id]
    k = cache_kinds.KINDS[kind]
    directory = tmp_path / "results" / ".cache"
    table = k.open(directory)
    k.write(table, list(range(6)))
    group = k.group(table)
    table.close()
    damaged = cache_kinds.DAMAGE[case["damage"]](directory, k, group)
    outside = {p: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = k.open(directory)
        got = k.read(table, list(range(6)))
        assert all(got[i] == k.value(i) for i in got), "a cache never hands back a value that was not written"
        if isinstance(damaged, sqlite3.Connection):  # locked: nothing read, nothing kept, the caller computes all
            assert got == {}
            k.write(table, list(range(6)))
            assert k.read(table, list(range(6))) == {}
            table.close()
            damaged.execute("ROLLBACK")
            damaged.close()
            database._GIVEN_UP.clear()  # as another process: the store is used again
            table = k.open(directory)
            k.write(table, list(range(6)))
        else:
            assert set(got) == set(range(6)) - damaged
            k.write(table, sorted(damaged))  # computed again, and kept
        assert k.read(table, list(range(6))) == {i: k.value(i) for i in range(6)}
        table.close()
    said = [str(w.message) for w in caught]
    assert len([m for m in said if all(text in m for text in case["expect"])]) == 1, said
    assert {p: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == outside, "written outside the cache"
    assert not (directory / "cache.sqlite").is_symlink()
    table = k.open(directory)  # and the next process finds everything, with nothing to say
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert k.read(table, list(range(6))) == {i: k.value(i) for i in range(6)}
    table.close()
    assert not caught, [str(w.message) for w in caught]


# ------------------------------------------------------------------ names that read like paths


@pytest.mark.parametrize("model", ["fault_models:DotDotName", "fault_models:SlashDotDotName"])
def test_model_names_with_slashes_and_dots_stay_inside_the_results_directory(in_tmp, cli, model):
    shutil.copy(GOOD / "news.yaml", in_tmp / "news.yaml")
    shutil.copy(GOOD / "summarization.jsonl", in_tmp / "summarization.jsonl")
    (in_tmp / "work").mkdir()
    before = _snapshot(in_tmp)
    code, _, err = cli("run", "-q", "-m", model, "-t", "news.yaml", "-o", "work/results")
    assert code == 0, err
    new = set(_snapshot(in_tmp)) - set(before)
    assert new and all(p == "work/results" or p.startswith("work/results/") for p in new), sorted(new)
    (run_json,) = (in_tmp / "work" / "results").glob("news/*/*/results.json")
    # the directory name is safe: no '..' component, not hidden, not an option
    model_dir = run_json.parent.parent.name
    assert model_dir not in (".", "..") and not model_dir.startswith((".", "-")) and "/" not in model_dir
    record = json.loads(run_json.read_text())
    assert record["model"] in ("../../../outside", "org/../../outside")  # the name itself is kept
    # compare and rescore find the run where it was written
    code, out, err = cli("compare", "work/results", "--format", "json")
    assert code == 0, err
    assert json.loads(out)[0]["model"] == record["model"]


def test_a_run_record_with_path_like_names_is_rescored_inside_the_output_directory(in_tmp, cli):
    shutil.copytree(GOOD / "results", in_tmp / "results")
    path = in_tmp / LEAD_RUN / "results.json"
    record = json.loads(path.read_text())
    record.update(model="../../../outside", task="../../outside")
    path.write_text(json.dumps(record))
    (in_tmp / "work").mkdir()
    before = _snapshot(in_tmp)
    code, _, err = cli("rescore", LEAD_RUN, "-o", "work/rescored")
    assert code == 0, err
    new = set(_snapshot(in_tmp)) - set(before)
    assert new and all(p == "work/rescored" or p.startswith("work/rescored/") for p in new), sorted(new)


# ------------------------------------------------------------------ text ROUGE's default tokenizer cannot see

CYRILLIC = [
    {"id": "ru-1",
     "document": "Москва приняла новый бюджет города. Расходы на транспорт выросли. Школы получат больше денег.",
     "references": ["Москва приняла новый бюджет.\nРасходы на транспорт выросли."]},
    {"id": "ru-2",
     "document": "В парке открыли новую библиотеку. Она работает каждый день. Вход свободный.",
     "references": ["В парке открыли библиотеку, вход свободный."]},
]

def _cyrillic_task(root: Path) -> None:
    (root / "ru.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in CYRILLIC),
                                   encoding="utf-8")
    (root / "ru.yaml").write_text("name: ru-news\nversion: 1\ntype: summarization\nfixture: ru.jsonl\n",
                                  encoding="utf-8")


def test_run_warns_when_rouge_cannot_see_the_text_and_unicode_tokenizer_scores_it(in_tmp, cli):
    _cyrillic_task(in_tmp)
    code, _, err = cli("run", "-q", "-m", "lead-3", "-t", "ru.yaml", "-o", "default")
    assert code == 0, err
    assert "lose most of their letters" in err and "--tokenizer unicode" in err
    (path,) = (in_tmp / "default").glob("ru-news/lead-3/*/results.json")
    record = json.loads(path.read_text())
    assert record["metrics"]["rouge1"] == 0.0  # the silent zero the warning is about
    assert any("--tokenizer unicode" in w for w in record["warnings"])
    assert all("tok:rouge-ascii" in s for k, s in record["signatures"].items() if k.startswith("rouge"))

    code, _, err = cli("run", "-q", "-m", "lead-3", "-t", "ru.yaml", "-o", "unicode", "--tokenizer", "unicode")
    assert code == 0, err
    assert "lose most of their letters" not in err
    (path,) = (in_tmp / "unicode").glob("ru-news/lead-3/*/results.json")
    record = json.loads(path.read_text())
    rouge = {k: v for k, v in record["metrics"].items() if k.startswith("rouge")}
    assert len(rouge) == 4 and all(v > 20 for v in rouge.values()), record["metrics"]
    assert all("tok:unicode" in record["signatures"][k] for k in rouge)
    assert record["config"]["metric_options"]["tokenizer"] == "unicode" and not record["warnings"]


def test_score_warns_when_rouge_cannot_see_the_text_and_unicode_tokenizer_scores_it(in_tmp, cli):
    rows = [{"id": r["id"], "prediction": r["document"].split(". ")[0] + ".", "references": r["references"]}
            for r in CYRILLIC]
    (in_tmp / "ru.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                     encoding="utf-8")
    code, out, err = cli("score", "ru.jsonl", "--format", "json")
    assert code == 0, err
    assert "warning: 2 example(s) lose most of their letters" in err
    assert json.loads(out)["metrics"]["rouge1"] == 0.0
    code, out, err = cli("score", "ru.jsonl", "--format", "json", "--tokenizer", "unicode")
    assert code == 0, err
    assert "warning" not in err
    result = json.loads(out)
    assert result["metrics"]["rouge1"] > 50
    assert result["signatures"]["rouge1"].startswith("rouge1|nrefs:1|tok:unicode|")


def test_accented_latin_text_is_not_flagged(in_tmp, cli):
    """French or German loses a few letters to the ASCII tokenizer, not most of them: no warning."""
    rows = [{"id": "fr", "prediction": "Le café a ouvert à Paris.", "references": ["Un café a ouvert à Paris."]}]
    (in_tmp / "fr.jsonl").write_text(json.dumps(rows[0], ensure_ascii=False) + "\n", encoding="utf-8")
    code, _, err = cli("score", "fr.jsonl")
    assert code == 0 and "warning" not in err, err


# ------------------------------------------------------------------ security


def _python_sources() -> list[Path]:
    return sorted((REPO / "bench").rglob("*.py"))


def test_yaml_is_read_with_safe_loaders_only():
    # yaml.load and friends take any loader; Loader, FullLoader and UnsafeLoader build Python objects from a file
    unsafe = re.compile(r"yaml\.(load|full_load|unsafe_load|load_all|full_load_all|unsafe_load_all)\s*\("
                        r"|\b(Loader|FullLoader|UnsafeLoader|UnsafeConstructor|FullConstructor)\b")
    hits = [f"{p.relative_to(REPO)}:{n}: {line.strip()}" for p in _python_sources()
            for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if unsafe.search(line)]
    assert not hits, hits
    # task files are read by a SafeLoader that also refuses a key given twice
    from bench.tasks import task_yaml as task

    with pytest.raises(yaml.constructor.ConstructorError):
        task.safe_load_unique_keys("a: !!python/object/apply:os.getcwd []\n")
    assert task.safe_load_unique_keys("a: 1\nb: [x, y]\n") == {"a": 1, "b": ["x", "y"]}


def test_no_pickle_anywhere_in_bench():
    # pickle (and what is built on it) runs code from the file it loads
    banned = re.compile(r"\b(pickle|cPickle|dill|cloudpickle|joblib|shelve|marshal)\b|torch\.load\s*\(|"
                        r"(?<![.\w])(eval|exec)\s*\(|allow_pickle\s*=\s*True")
    hits = [f"{p.relative_to(REPO)}:{n}: {line.strip()}" for p in _python_sources()
            for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if banned.search(line)]
    assert not hits, hits


# trust_remote_code: tests/models/test_hf.py::test_remote_code_runs_only_when_allowed (refused unless
# --trust-remote-code). The HTML report escapes a <script> in a prediction or a model name:
# tests/comparison/test_render_html.py::test_script_in_a_prediction_stays_escaped and the test after it.
