"""From a task to its examples: load_examples (limit, sample, seed), example_from_row, count_examples."""

from __future__ import annotations

import pytest
from conftest import REPO

from bench.errors import BenchError, BenchWarning
from bench.api import load_task
from bench.tasks.examples import count_examples, example_from_row, load_examples, select_indices
from bench.tasks.records import Example


def _seed(name: str):
    return load_task(REPO / "tasks" / f"{name}.yaml")


def test_all_examples_of_the_seed_tasks():
    for name, n in (("seed-summarization", 1), ("seed-headline", 1), ("seed-qa", 48)):
        task = _seed(name)
        loaded, examples = load_examples(task)
        assert loaded is task  # a fixture task's hash covers its file already
        assert len(examples) == n == count_examples(task)
        assert all(isinstance(e, Example) and e.references is not None for e in examples)


def test_limit_keeps_the_first_examples():
    task = _seed("seed-qa")
    _, every = load_examples(task)
    _, first = load_examples(task, limit=5)
    assert first == every[:5]
    with pytest.warns(BenchWarning, match="limit 1000 is more than the 48 examples"):
        assert load_examples(task, limit=1000)[1] == every


def test_sample_is_seeded_in_file_order_and_grows_by_inclusion():
    task = _seed("seed-qa")
    _, every = load_examples(task)
    position = {e.id: k for k, e in enumerate(every)}
    _, a = load_examples(task, sample=10, seed=3)
    _, again = load_examples(task, sample=10, seed=3)
    _, other = load_examples(task, sample=10, seed=4)
    _, larger = load_examples(task, sample=20, seed=3)
    assert a == again and len(a) == 10 and a != other
    assert [position[e.id] for e in a] == sorted(position[e.id] for e in a)
    assert a == [every[i] for i in select_indices(len(every), sample=10, seed=3)]
    assert set(a) <= set(larger)
    with pytest.warns(BenchWarning, match="all 48 are used"):
        assert load_examples(task, sample=1000)[1] == every


@pytest.mark.parametrize("kwargs, message", [
    ({"limit": 2, "sample": 2}, "limit and sample cannot be used together"),
    ({"limit": 0}, "limit must be a positive integer"),
    ({"sample": -1}, "sample must be a positive integer"),
])
def test_bad_selection_options_are_refused(kwargs, message):
    with pytest.raises(BenchError, match=f"^{message}"):  # worded for Python callers, not as options
        load_examples(_seed("seed-summarization"), **kwargs)


def test_example_from_row_follows_the_field_mapping():
    summ = _seed("seed-summarization")
    ex = example_from_row(summ, {"id": 7, "document": "Doc.", "references": ["One.", "Two."]})
    assert ex == Example(id="7", input="Doc.", references=("One.", "Two."))
    # one string is one reference
    assert example_from_row(summ, {"id": "a", "document": "D.", "references": "A.\nB."}).references == ("A.\nB.",)
    qa = _seed("seed-qa")
    ex = example_from_row(qa, {"id": "q", "context": "A cat sat.", "question": "Who sat?",
                               "answers": {"text": ["cat", "A cat"], "answer_start": [2, 0]}})
    assert ex == Example(id="q", input="A cat sat.", references=("cat", "A cat"), question="Who sat?",
                         answer_starts=(2, 0))


def test_count_examples_counts_non_empty_lines_without_checking_them(tmp_path):
    (tmp_path / "t.jsonl").write_text('{"id": "a"}\n\nnot json\n', encoding="utf-8")
    (tmp_path / "t.yaml").write_text("name: t\nversion: 1\ntype: summarization\nfixture: t.jsonl\n",
                                     encoding="utf-8")
    assert count_examples(load_task(tmp_path / "t.yaml")) == 2


@pytest.mark.parametrize("kwargs, n_used", [({"sample": 49}, 48), ({"sample": 1000}, 48), ({"limit": 49}, 48)])
def test_asking_for_more_examples_than_the_task_has_is_a_warning_naming_the_task(kwargs, n_used):
    (option, value), = kwargs.items()
    with pytest.warns(BenchWarning) as caught:
        _, examples = load_examples(_seed("seed-qa"), **kwargs)
    assert len(examples) == n_used
    assert [str(w.message) for w in caught] == [
        f"{option} {value} is more than the 48 examples of task 'seed-qa': all 48 are used"]


@pytest.mark.parametrize("kwargs", [{}, {"sample": 48}, {"limit": 48}, {"sample": 3}, {"limit": 1}])
def test_no_warning_when_the_task_has_enough_examples(kwargs, recwarn):
    load_examples(_seed("seed-qa"), **kwargs)
    assert not recwarn.list


def test_run_prints_the_warning_for_a_sample_larger_than_the_task(in_tmp, cli):
    code, out, err = cli("run", "-q", "-m", "lead-3", "-t", "seed-summarization", "--sample", "5")
    assert code == 0, err
    assert "warning: sample 5 is more than the 1 example of task 'seed-summarization': all 1 are used" in err
