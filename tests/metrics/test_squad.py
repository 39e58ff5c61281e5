"""SQuAD exact match and F1 on hand-checked cases (official v2.0 script semantics)."""

from __future__ import annotations

import pytest

from bench.metrics import MetricInputs, MetricOptions
from bench.metrics.squad.lib_squad import exact_match, f1, normalize_answer, score
from bench.metrics.squad.squad_metric import Squad


@pytest.mark.parametrize(
    "text, normalized",
    [
        ("The Eiffel Tower", "eiffel tower"),
        ("  an  apple, a day!", "apple day"),
        ("U.S.A.", "usa"),  # punctuation is deleted, not replaced
        ("self-driving", "selfdriving"),
        ("Theatre of the absurd", "theatre of absurd"),  # 'the' only as a whole word
        ("$ 1.5 billion", "15 billion"),
        ("Tsikhanouskaya’s", "tsikhanouskaya’s"),  # the curly apostrophe is not ASCII punctuation
        ("", ""),
    ],
)
def test_normalization(text, normalized):
    assert normalize_answer(text) == normalized


def test_exact_match_ignores_case_articles_and_punctuation():
    assert exact_match("the Belarusian army.", "Belarusian army") == 1
    assert exact_match("Belarusian armies", "Belarusian army") == 0


def test_f1_counts_tokens_with_multiplicity():
    # pred: [a?] -> tokens "new new loan" vs gold "new loan": common = {new:1, loan:1} = 2
    # P = 2/3, R = 2/2, F1 = 2*(2/3)*1/(2/3+1) = 0.8
    assert f1("a new new loan", "the new loan") == pytest.approx(0.8)
    # token sets would give 1.0 here (HELM's F1); SQuAD's Counter does not.
    assert f1("new new", "new") == pytest.approx(2 * 0.5 * 1 / 1.5)


def test_f1_partial_overlap_by_hand():
    # pred tokens: more, than, 35000 ; gold: 35000 -> common 1; P = 1/3, R = 1 -> F1 = 0.5
    assert f1("more than 35,000", "35,000") == pytest.approx(0.5)


def test_max_over_gold_answers():
    em, f = score("about 200,000", ["200,000", "about 200,000 troops"])
    assert em == 0.0
    # vs "200,000": P=1/2, R=1 -> 2/3 ; vs "about 200,000 troops": P=1, R=2/3 -> 0.8
    assert f == pytest.approx(0.8)
    assert score("200,000", ["about 200,000", "200,000"]) == (1.0, 1.0)


def test_unanswerable_questions():
    assert score("", []) == (1.0, 1.0)
    assert score("next week", []) == (0.0, 0.0)
    # gold answers that normalize to nothing are dropped: the question is unanswerable
    assert score("", ["the", "."]) == (1.0, 1.0)
    # an empty prediction on an answerable question scores 0
    assert score("", ["KYIV"]) == (0.0, 0.0)


def test_corpus_scores_and_breakdowns():
    preds = ["KYIV", "on Wednesday", "", "", "dozens"]
    refs = [["KYIV"], ["Wednesday"], [], ["sixth"], []]
    r = Squad(MetricOptions()).score(MetricInputs.of(preds, refs))
    assert r.per_example["exact_match"] == [100.0, 0.0, 100.0, 0.0, 0.0]
    # "on wednesday" vs "wednesday": P=1/2, R=1 -> 2/3
    assert r.per_example["f1"][1] == pytest.approx(200 / 3)
    assert r.metrics["exact_match"] == pytest.approx(40.0)
    assert r.metrics["f1"] == pytest.approx((100 + 200 / 3 + 100) / 5)
    assert r.metrics["HasAns_exact_match"] == pytest.approx(100 / 3)
    assert r.metrics["HasAns_f1"] == pytest.approx((100 + 200 / 3) / 3)
    assert r.metrics["NoAns_exact_match"] == pytest.approx(50.0)
    assert r.counts == {"HasAns_total": 3, "NoAns_total": 2}
    assert r.signatures["f1"].startswith("f1|nrefs:1|norm:squad-v2|agg:mean|bench:")
    lo, hi = r.ci["exact_match"]
    assert 0.0 <= lo <= r.metrics["exact_match"] <= hi <= 100.0
