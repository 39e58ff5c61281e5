"""`bench score`: a file of predictions and references scored as given, or one clear message."""

from __future__ import annotations

import json

import pytest


def _write(path, rows) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.mark.parametrize("n_empty", [1, 2, 8, 25])
def test_a_qa_file_scored_with_rouge_is_one_problem_that_suggests_squad(in_tmp, cli, n_empty):
    rows = []
    for k in range(n_empty):
        rows.append({"id": f"a{k}", "prediction": "Paris", "references": ["Paris", "in Paris"]})
        rows.append({"id": f"u{k}", "prediction": "", "references": []})  # an unanswerable question
    _write(in_tmp / "qa.jsonl", rows)
    code, out, err = cli("score", "qa.jsonl")
    assert code == 2 and "Traceback" not in err and not out
    assert err.startswith("error: 1 problem found:\n  qa.jsonl:2: no non-empty reference"), err
    assert err.count("no non-empty reference") == 1
    assert "score them with --metric squad" in err and "ROUGE needs a reference text" in err
    if n_empty > 1:
        assert f"(nor {'does line' if n_empty == 2 else 'do lines'} 4" in err
    if n_empty > 11:
        assert f"and {n_empty - 11} more)" in err
    code, out, err = cli("score", "qa.jsonl", "--metric", "squad", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["metrics"]["exact_match"] == 100.0


def test_other_problems_are_listed_beside_the_squad_hint(in_tmp, cli):
    _write(in_tmp / "mixed.jsonl", [{"id": "a", "prediction": "x", "references": []},
                                    {"id": "b", "prediction": 3, "references": ["y"]},
                                    {"id": "c", "prediction": "x", "references": [" "]}])
    code, _, err = cli("score", "mixed.jsonl")
    assert code == 2 and "2 problems found" in err
    assert "mixed.jsonl:1: no non-empty reference (nor does line 3)" in err
    assert "mixed.jsonl:2: 'prediction' must be a string" in err


def test_a_rouge_file_with_references_gets_no_squad_hint(in_tmp, cli):
    _write(in_tmp / "s.jsonl", [{"id": "a", "prediction": "x", "references": ["y"]},
                                {"id": "a", "prediction": "x", "references": ["y"]}])
    code, _, err = cli("score", "s.jsonl")
    assert code == 2 and "duplicate id" in err and "--metric squad" not in err


@pytest.mark.parametrize("n, title", [(1, "(1 example)"), (2, "(2 examples)")])
def test_the_table_title_counts_examples_in_good_english(in_tmp, cli, n, title):
    _write(in_tmp / "s.jsonl", [{"id": f"a{k}", "prediction": "x y", "references": ["x y"]} for k in range(n)])
    code, out, err = cli("score", "s.jsonl")
    assert code == 0, err
    assert f"s.jsonl {title}" in out and "(1 examples)" not in out
