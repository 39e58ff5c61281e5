"""SQuAD 2.0's best no-answer thresholds, as the official v2.0 script's `find_best_thresh` computes them."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.metrics import MetricInputs
from bench.metrics.scoring import score_examples
from bench.metrics.squad.lib_squad import best_threshold, score

from conftest import REPO


def test_hand_worked_case():
    # q1 answerable, right (1.0), na 0.1; q2 unanswerable, answered "x" (-1), na 0.5; q3 answerable, F1 0.5, na 0.9
    # start: abstain everywhere = 1 (q2 right); after q1: 2 (best, thresh 0.1); after q2: 1; after q3: 1.5
    assert best_threshold(["a", "x", "b c"], [1.0, 0.0, 0.5], [0.1, 0.5, 0.9], [True, False, True]) == (
        pytest.approx(200 / 3), 0.1)


def test_abstaining_everywhere_keeps_threshold_zero_even_below_every_score():
    # the script starts from threshold 0.0; a better total is needed to move it
    assert best_threshold(["x", "y"], [0.0, 0.0], [-3.0, -2.0], [False, False]) == (100.0, 0.0)


def test_an_empty_answer_to_an_unanswerable_question_costs_nothing_and_any_non_empty_one_costs_1():
    # "the" normalizes to nothing (exact match 1 against no answer), yet the script counts it as answered: -1
    assert best_threshold(["", "the"], [0.0, 0.0], [1.0, 2.0], [False, False]) == (100.0, 0.0)
    assert best_threshold(["", "a", "b"], [0.0, 1.0, 1.0], [1.0, 2.0, 3.0], [False, True, True]) == (100.0, 3.0)


def test_ties_in_the_score_are_walked_in_input_order():
    # equal no-answer scores: the scan passes q1 then q2; the best total is reached between them
    assert best_threshold(["a", "x"], [1.0, 0.0], [0.5, 0.5], [True, False]) == (100.0, 0.5)
    assert best_threshold(["x", "a"], [0.0, 1.0], [0.5, 0.5], [False, True]) == (50.0, 0.0)


def _brute_force(preds, raw, na, answerable):
    """Score at every threshold t (answer where na <= t, abstain elsewhere); the lowest t of the best score.
    Abstaining everywhere is threshold 0.0, as in the script. Valid for distinct positive no-answer scores."""
    n = len(preds)
    best = (sum(1 for a in answerable if not a), 0.0)
    for t in sorted(na):
        total = 0.0
        for p, r, v, a in zip(preds, raw, na, answerable):
            answered = v <= t
            total += (r if answered else 0.0) if a else (1.0 if (not answered or not p) else 0.0)
        if total > best[0]:
            best = (total, t)
    return 100.0 * best[0] / n, best[1]


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["", "a", "b c"]), st.floats(0, 1), st.booleans()), min_size=1,
                max_size=12), st.randoms(use_true_random=False))
def test_equals_scoring_every_threshold_when_scores_are_distinct(rows, rnd):
    na = rnd.sample(range(1, 1000), len(rows))
    preds = [p for p, _, _ in rows]
    raw = [r if a else 0.0 for _, r, a in rows]
    answerable = [a for _, _, a in rows]
    best, thresh = best_threshold(preds, raw, [float(v) for v in na], answerable)
    expected_best, expected_thresh = _brute_force(preds, raw, na, answerable)
    assert best == pytest.approx(expected_best) and thresh == expected_thresh


def test_the_squad_metric_reports_best_thresholds_only_when_every_question_has_a_score():
    preds, refs = ["Paris", "", "ten"], [["Paris"], [], ["ten men"]]
    plain = score_examples(["squad"], MetricInputs.of(preds, refs))
    assert "best_f1" not in plain.metrics
    partial = score_examples(["squad"], MetricInputs.of(preds, refs, no_answer_scores=[0.1, None, 0.3]))
    assert "best_f1" not in partial.metrics
    full = score_examples(["squad"], MetricInputs.of(preds, refs, no_answer_scores=[0.1, 0.9, 0.3]))
    raw_em = [score(p, r)[0] for p, r in zip(preds, refs)]
    raw_f1 = [score(p, r)[1] for p, r in zip(preds, refs)]
    answerable = [True, False, True]
    assert (full.metrics["best_exact_match"], full.metrics["best_exact_match_thresh"]) == best_threshold(
        preds, raw_em, [0.1, 0.9, 0.3], answerable)
    assert (full.metrics["best_f1"], full.metrics["best_f1_thresh"]) == best_threshold(
        preds, raw_f1, [0.1, 0.9, 0.3], answerable)
    assert full.ci["best_f1"] is None and full.ci["best_f1_thresh"] is None
    assert "|agg:best-threshold|" in full.signatures["best_f1"]
    assert full.metrics["f1"] == plain.metrics["f1"]  # the scores as given do not change


def test_bench_score_reads_no_answer_probabilities(in_tmp, cli):
    rows = [{"id": "1", "prediction": "Paris", "references": ["Paris"], "no_answer_probability": 0.2},
            {"id": "2", "prediction": "x", "references": [], "no_answer_probability": 0.7}]
    (in_tmp / "qa.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, out, err = cli("score", "qa.jsonl", "--metric", "squad", "--format", "json")
    assert code == 0, err
    result = json.loads(out)
    assert result["metrics"]["best_exact_match"] == 100.0 and result["metrics"]["best_exact_match_thresh"] == 0.2
    assert result["ci"]["best_exact_match"] is None and result["metrics"]["exact_match"] == 50.0
    rows[1]["no_answer_probability"] = "high"
    (in_tmp / "qa.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, _, err = cli("score", "qa.jsonl", "--metric", "squad")
    assert code == 2 and "qa.jsonl:2: 'no_answer_probability' must be a finite number, got a string" in err


@pytest.mark.slow
def test_a_run_keeps_each_answer_s_no_answer_score_and_reports_best_thresholds(in_tmp, cli):
    args = ("run", "-q", "-m", "user_metrics:FirstWordsWithNullScores", "-t", "seed-qa")
    code, _, err = cli(*args)
    assert code == 0, err
    (run,) = (in_tmp / "results" / "seed-qa").glob("*/*")
    record = json.loads((run / "results.json").read_text())
    rows = [json.loads(line) for line in (run / "predictions.jsonl").read_text().splitlines()]
    fixture = {json.loads(line)["id"]: json.loads(line)
               for line in (REPO / "fixtures" / "seed_qa.jsonl").read_text().splitlines()}
    assert all(r["no_answer_score"] == len(fixture[r["id"]]["question"]) - 40.0 for r in rows)
    raw = [score(r["prediction"], r["references"]) for r in rows]
    answerable = [any(a.strip() for a in r["references"]) for r in rows]
    expected = best_threshold([r["prediction"] for r in rows], [f for _, f in raw],
                              [r["no_answer_score"] for r in rows], answerable)
    assert (record["metrics"]["best_f1"], record["metrics"]["best_f1_thresh"]) == pytest.approx(expected)
    # the scores survive the prediction cache and rescoring
    code, _, err = cli(*args)
    assert code == 0, err
    (second,) = [d for d in (in_tmp / "results" / "seed-qa").glob("*/*") if d != run]  # (run ids sort by second)
    again = json.loads((second / "results.json").read_text())
    assert again["config"]["cache"]["reused"] == len(rows) and again["metrics"] == record["metrics"]
    code, _, err = cli("rescore", run, "-o", "rescored")
    assert code == 0, err
    (rescored,) = (in_tmp / "rescored" / "seed-qa").glob("*/*")
    assert json.loads((rescored / "results.json").read_text())["metrics"] == record["metrics"]
