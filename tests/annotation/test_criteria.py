"""Criteria: SummEval's four from the judge's rubric, and your own from a YAML file (every problem with file:line)."""

from __future__ import annotations

import pytest

from bench.annotation.criteria import builtin_criteria, choose_criteria, read_criteria_file
from bench.errors import BenchError
from bench.metrics.model_based.judge import CRITERIA, default_prompts


def test_builtin_criteria_read_the_judges_rubric():
    known = builtin_criteria()
    assert sorted(known) == ["coherence", "consistency", "fluency", "relevance"]
    prompts = default_prompts()
    for name, c in known.items():
        assert c.scale == CRITERIA[name][1]
        assert c.definition and " ".join(c.definition.split()[:8]) in " ".join(prompts[name].split())
        assert "{" not in c.definition and "Article:" not in c.definition and c.question.endswith("?")
    assert known["fluency"].scale == 3 and known["coherence"].scale == 5


def test_a_criteria_file(tmp_path):
    path = tmp_path / "criteria.yaml"
    path.write_text("- name: informativeness\n  question: How much does it tell?\n  scale: 7\n"
                    "  definition: An informative summary tells the key facts.\n"
                    "- name: style\n  question: Is it well written?\n  scale: 3\n  definition: Good prose.\n",
                    encoding="utf-8")
    chosen = read_criteria_file(path)
    assert [(c.name, c.scale) for c in chosen] == [("informativeness", 7), ("style", 3)]
    assert [c.name for c in choose_criteria([], path)] == ["informativeness", "style"]
    assert [c.name for c in choose_criteria(["style", "coherence"], path)] == ["style", "coherence"]


@pytest.mark.parametrize("text, expected", [
    ("- name: Bad Name\n  question: q?\n  scale: 5\n  definition: d\n", ["criteria.yaml:1", "lower-case letters"]),
    ("- name: csrf\n  question: q?\n  scale: 5\n  definition: d\n", ["'csrf' is a field of the rating form itself", "csrf, item and preference are the form's own"]),
    ("- name: a\n  question: q?\n  scale: 1\n  definition: d\n", ["criteria.yaml:3: scale must be a whole number from 2 to 10 (ratings 1..scale), got 1"]),
    ("- name: a\n  question: q?\n  scale: five\n  definition: d\n", ["got 'five'"]),
    ("- name: a\n  scale: 5\n  definition: d\n", ["missing question"]),
    ("- name: a\n  question: q?\n  scale: 5\n  definition: d\n  scael: 3\n", ["criteria.yaml:5: unknown key 'scael'. Did you mean 'scale'?"]),
    ("- name: a\n  question: q?\n  scale: 5\n  definition: d\n- name: a\n  question: q?\n  scale: 5\n  definition: d\n",
     ["criteria.yaml:5: duplicate criterion 'a' (first at", "criteria.yaml:1)"]),
    ("name: a\n", ["expected a list of criteria"]),
    ("- [unclosed\n", ["invalid YAML"]),
    ("- name: a\n  question: q?\n  scale: 5\n  definition: d\n- just text\n",
     ["criteria.yaml:5: a criterion must be a mapping"]),
])
def test_bad_criteria_files_name_the_line(tmp_path, text, expected):
    path = tmp_path / "criteria.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BenchError) as e:
        read_criteria_file(path)
    for part in expected:
        assert part in str(e.value)


def test_unknown_or_no_criterion():
    with pytest.raises(BenchError, match="unknown criterion 'coherance'. Did you mean 'coherence'"):
        choose_criteria(["coherance"], None)
    with pytest.raises(BenchError, match="name what the annotators rate"):
        choose_criteria([], None)
