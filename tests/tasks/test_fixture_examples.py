"""A fixture task's examples come from the rows `validate_fixture` read: no second reading, no `datasets`.

The examples are those `datasets.load_dataset("json")` gave (its Arrow rows through
`example_from_row`) for every fixture bench accepts, integer ids beyond 64 bits
excepted (Arrow made them floats; they are now their digits).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import REPO

from bench.tasks.discovery import discover_tasks
from bench.api import load_task
from bench.tasks.examples import example_from_row, load_examples
from bench.tasks.records import Example

HEAVY = ("datasets", "pyarrow")


def _task(tmp_path, kind: str, rows: list[dict] | list[str], name: str = "t"):
    lines = [r if isinstance(r, str) else json.dumps(r) for r in rows]
    (tmp_path / f"{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / f"{name}.yaml").write_text(f"name: {name}\nversion: 1\ntype: {kind}\nfixture: {name}.jsonl\n",
                                           encoding="utf-8")
    return load_task(tmp_path / f"{name}.yaml")


SUMMARIZATION = {
    "plain": [{"id": "a", "document": "Doc a.", "references": ["Ref a.", "Other a."]},
              {"id": "b", "document": "Doc b.", "references": ["Ref b."]}],
    "string and list references, int and string ids": [
        {"id": 1, "document": "D.", "references": "One.\nTwo."},
        {"id": "b", "document": "D.", "references": ["R.", "S."]},
        {"id": -5, "document": "D.", "references": ["R."]}],
    "keys differ between rows": [
        {"id": "a", "document": "D.", "references": ["R."], "x": 1},
        {"id": "b", "references": ["R."], "document": "E.", "y": [1, 2]},
        {"id": "c", "document": "F.", "references": ["R."], "x": "s", "title": None}],
    "text Arrow and JSON both keep": [
        {"id": "é😀\u0000", "document": "\u2028 D.\r\n\t", "references": ["R.\r\n", " S "]},
        {"id": 9223372036854775807, "document": "D.", "references": ["R."]}],
    "a key given twice (the last one counts)": [
        '{"id": "a", "document": "first", "document": "second", "references": ["R."]}'],
}

QA = {
    "answers of every shape": [
        {"id": "a", "context": "A cat sat.", "question": "Who?", "answers": {"text": ["cat", "A cat"],
                                                                             "answer_start": [2, 0]}},
        {"id": "b", "context": "A cat sat.", "question": "Why?", "answers": {"text": [], "answer_start": []}},
        {"id": "c", "context": "A cat sat.", "question": "Sat?", "answers": {"answer_start": [6], "text": ["sat"],
                                                                             "extra": 1}}],
    "every question unanswerable": [
        {"id": "a", "context": "C.", "question": "Q?", "answers": {"text": [], "answer_start": []}}],
}


@pytest.mark.parametrize("kind, rows", [("summarization", rows) for rows in SUMMARIZATION.values()]
                         + [("qa", rows) for rows in QA.values()],
                         ids=[*SUMMARIZATION, *QA])
def test_the_examples_are_the_checked_rows_in_file_order(tmp_path, kind, rows):
    task = _task(tmp_path, kind, rows)
    loaded, examples = load_examples(task)
    parsed = [json.loads(r) if isinstance(r, str) else r for r in rows]
    assert loaded is task
    assert examples == [example_from_row(task, r) for r in parsed]
    for e in examples:
        assert type(e) is Example and type(e.id) is str and type(e.input) is str
        assert type(e.references) is tuple and all(type(r) is str for r in e.references)
        assert type(e.answer_starts) is tuple and all(type(s) is int for s in e.answer_starts)


def test_an_integer_id_beyond_64_bits_is_its_digits(tmp_path):
    # Arrow read these as floats: both became '1.2345678901234568e+29' (one id for two examples the check
    # had found distinct); beside a string id, `datasets` failed with "Value is too big!".
    big = 123456789012345678901234567890
    task = _task(tmp_path, "summarization", [
        {"id": big, "document": "D.", "references": ["R."]},
        {"id": big + 1, "document": "D.", "references": ["R."]},
        {"id": "c", "document": "D.", "references": ["R."]}])
    _, examples = load_examples(task)
    assert [e.id for e in examples] == [str(big), str(big + 1), "c"]


def test_loading_the_bundled_fixture_tasks_does_not_import_datasets(tmp_path):
    code = (
        "import sys\n"
        "from bench.api import load_task\n"
        "from bench.tasks.discovery import discover_tasks\n"
        "from bench.tasks.examples import load_examples\n"
        "n = 0\n"
        "for path in discover_tasks().values():\n"
        "    task = load_task(path)\n"
        "    if task.fixture is not None:\n"
        "        n += len(load_examples(task)[1])\n"
        f"print(n, sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    n, heavy = proc.stdout.split(" ", 1)
    assert int(n) > 0 and heavy.strip() == "[]"


@pytest.mark.slow
def test_bench_run_on_the_bundled_tasks_does_not_import_datasets(tmp_path):
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "bench", "run", "--model", "lead-3",
                           "-o", str(tmp_path / "results"), "--quiet"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    imported = {line.rsplit("|", 1)[1].strip().split(".")[0] for line in proc.stderr.splitlines()
                if line.startswith("import time:") and "|" in line}
    assert "bench" in imported and not imported & set(HEAVY), imported & set(HEAVY)


@pytest.mark.slow
def test_the_examples_are_those_datasets_read(tmp_path):
    """The Arrow rows `datasets.load_dataset("json")` reads give the same examples (the former second reading)."""
    datasets = pytest.importorskip("datasets")
    cases = [("summarization", rows) for rows in SUMMARIZATION.values()] + [("qa", rows) for rows in QA.values()]
    tasks = [_task(tmp_path, kind, rows, f"t{k}") for k, (kind, rows) in enumerate(cases)]
    tasks += [load_task(path) for path in discover_tasks().values()]
    for task in tasks:
        if task.fixture is None or task.fixture.suffix != ".jsonl":
            continue
        arrow = datasets.load_dataset("json", data_files=str(task.fixture), split="train",
                                      cache_dir=str(tmp_path / "cache"))
        assert load_examples(task)[1] == [example_from_row(task, row) for row in arrow], task.name


def test_the_bundled_fixtures_give_their_examples():
    tasks = {name: load_task(path) for name, path in discover_tasks().items()}
    _, qa = load_examples(tasks["seed-qa"])
    assert len(qa) == 48 and len({e.id for e in qa}) == 48
    assert sum(not e.references for e in qa) == 8  # the unanswerable questions
    first = json.loads((REPO / "fixtures" / "seed_qa.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert qa[0] == Example(id=first["id"], input=first["context"], question=first["question"],
                            references=tuple(first["answers"]["text"]),
                            answer_starts=tuple(first["answers"]["answer_start"]))
