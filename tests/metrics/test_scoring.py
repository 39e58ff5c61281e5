"""Scoring: a task's metrics merged into one `Scores`; the `bench score` input reader."""

from __future__ import annotations

import json

import pytest
from conftest import REPO

from bench.errors import BenchErrors
from bench.metrics import MetricInputs, MetricOptions, get_metric
from bench.metrics.scoring import Scores, score_predictions
from bench.metrics.score_file import read_score_file

GOOD_SCORE_FILE = REPO / "tests" / "bad_inputs" / "good" / "score.jsonl"
PREDICTIONS = ["The library reopened on Friday.", ""]
REFERENCES = [["The Riverside library reopened on Friday."], ["A ferry line opens."]]


def test_one_metric_is_its_result_unchanged():
    options = MetricOptions()
    s = score_predictions(["rouge"], PREDICTIONS, REFERENCES, options)
    direct = get_metric("rouge", options).score(MetricInputs.of(PREDICTIONS, REFERENCES))
    assert isinstance(s, Scores)
    assert s.metrics == direct.metrics and s.ci == direct.ci and s.signatures == direct.signatures
    assert [e["rouge1"] for e in s.per_example] == list(direct.per_example["rouge1"])


def test_several_metrics_are_merged_per_corpus_and_per_example():
    s = score_predictions(["rouge", "squad"], PREDICTIONS, REFERENCES, MetricOptions())
    assert {"rouge1", "rougeLsum", "exact_match", "f1"} <= set(s.metrics)
    assert set(s.metrics) == set(s.ci) == set(s.signatures)
    assert len(s.per_example) == 2
    assert set(s.per_example[0]) == {"rouge1", "rouge2", "rougeL", "rougeLsum", "exact_match", "f1"}


def test_no_metric_is_empty_scores():
    s = score_predictions([], PREDICTIONS, REFERENCES, MetricOptions())
    assert s.metrics == {} and s.per_example == [{}, {}]


def test_lengths_must_agree():
    with pytest.raises(ValueError):
        score_predictions(["rouge"], ["one"], REFERENCES, MetricOptions())


def test_read_score_file_reads_the_good_file():
    ids, predictions, references = read_score_file(GOOD_SCORE_FILE, "rouge")
    assert ids == ["a", "b", "c"]
    assert predictions[0] == "The library reopened on Friday."
    assert len(references[1]) == 2


def test_read_score_file_takes_a_string_reference_and_a_number_id(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps({"id": 7, "prediction": "p", "references": "r"}) + "\n")
    assert read_score_file(path, "rouge") == (["7"], ["p"], [["r"]])


def test_read_score_file_lists_every_bad_line(tmp_path):
    lines = [
        {"id": "a", "prediction": "p"},
        {"id": "b", "prediction": None, "references": ["r"]},
        {"id": "c", "prediction": "p", "references": [""]},
        {"id": "c", "prediction": "p", "references": ["r"]},
        {"id": "d", "prediction": "p", "references": [1]},
        {"id": True, "prediction": "p", "references": ["r"]},
        {"id": "e", "prediction": "p", "references": ["r"]},
    ]
    path = tmp_path / "s.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    with pytest.raises(BenchErrors) as info:
        read_score_file(path, "rouge")
    messages = [(e.where.rsplit(":", 1)[1], e.message) for e in info.value.errors]
    assert messages == [
        ("1", "missing field 'references'"),
        ("2", "'prediction' must be a string, got null"),
        ("3", "no non-empty reference"),
        ("4", "duplicate id 'c' (first on line 3)"),
        ("5", "'references' must be a list of strings"),
        ("6", "'id' must be a string, got a boolean"),
    ]


@pytest.mark.parametrize("bad, shown", [(float("nan"), "nan"), (float("inf"), "inf"), (True, "True"), ("0.5", "'0.5'"),
                                        (10**400, "10000000000")])
def test_a_per_example_value_that_is_not_a_finite_number_is_refused(bad, shown):
    from bench.errors import BenchError
    from bench.metrics import MetricSpec
    from bench.metrics.metric import MetricResult
    from bench.metrics.scoring import merge_results

    values = [0.5] * 50 + [bad] + [None, 1]
    result = MetricResult(per_example={"s": values}, metrics={"s": 0.5}, ci={"s": None}, signatures={"s": "s|x"},
                          counts={"s_unscored": 1})
    with pytest.raises(BenchError, match="not a finite number") as e:
        merge_results([(MetricSpec("mine"), result, None)], len(values))
    assert shown in str(e.value)
    fine = MetricResult(per_example={"s": [0.5] * 50 + [None, 1]}, metrics={"s": 0.5}, ci={"s": None},
                        signatures={"s": "s|x"}, counts={"s_unscored": 1})
    merged = merge_results([(MetricSpec("mine"), fine, None)], 52)
    assert merged.per_example[50] == {} and merged.per_example[51] == {"s": 1}
