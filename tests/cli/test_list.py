"""`bench list`: every task and model there is; a broken task gets a row of its own and never hides the others."""

from __future__ import annotations

import json

import pytest

GOOD_ROW = json.dumps({"id": "a", "document": "Some text. More text.", "references": ["Some text."]})


def _tasks(root, broken: dict[str, str]) -> None:
    d = root / "tk"
    d.mkdir()
    (d / "f.jsonl").write_text(GOOD_ROW + "\n", encoding="utf-8")
    (d / "fine.yaml").write_text("name: fine\nversion: 1\ntype: summarization\nfixture: f.jsonl\n"
                                 "description: The one that works.\n", encoding="utf-8")
    for name, text in broken.items():
        (d / name).write_text(text, encoding="utf-8")


BROKEN = {
    "unknown type": {"bad.yaml": "name: bad\nversion: 1\ntype: translation\nfixture: f.jsonl\n"},
    "missing fixture": {"bad.yaml": "name: bad\nversion: 1\ntype: summarization\nfixture: nowhere.jsonl\n"},
    "invalid yaml": {"bad.yaml": "name: bad\nversion: [1\n"},
    "alias": {"bad.yaml": "name: bad\nversion: 1\ntype: summarization\nfixture: f.jsonl\ngeneration: &g {a: 1}\n"},
    "two broken": {"bad.yaml": "name: bad\nversion: 0\ntype: qa\nfixture: f.jsonl\n",
                   "zz.yaml": "- not\n- a mapping\n"},
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_task_gets_its_row_and_the_others_are_listed(in_tmp, cli, case):
    _tasks(in_tmp, BROKEN[case])
    code, out, err = cli("list", "--tasks-dir", "tk")
    assert code == 2 and "Traceback" not in err, err
    assert err.startswith("error: ") and "tk/bad.yaml" in err
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.startswith("│") and
            line.split("│")[1].strip()}
    assert "fine" in rows and "The one that works." in rows["fine"]
    assert "seed-summarization" not in rows  # the directory's tasks only, unless --bundled
    assert "not loaded:" in rows["bad"]
    assert "models" in out and "lead-3" in out  # and the models
    if case == "two broken":
        assert "tk/zz.yaml" in err and "zz" in rows and "'version' must be a positive integer" in err


def test_list_shows_the_bundled_tasks_too_with_bundled(in_tmp, cli):
    _tasks(in_tmp, BROKEN["unknown type"])
    code, out, err = cli("list", "--tasks-dir", "tk", "--bundled")
    assert code == 2 and "tk/bad.yaml" in err
    rows = {line.split("│")[1].strip() for line in out.splitlines() if line.startswith("│")}
    assert {"fine", "bad", "seed-summarization", "seed-qa"} <= rows


def test_list_marks_draft_tasks(in_tmp, cli):
    _tasks(in_tmp, {"later.yaml": "name: later\nversion: 1\ntype: summarization\nfixture: f.jsonl\ndraft: true\n"})
    code, out, err = cli("list", "--tasks-dir", "tk")
    assert code == 0, err
    assert "later (draft)" in out and "fine (draft)" not in out
