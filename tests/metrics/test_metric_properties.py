"""Property tests of the metrics (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rouge_score import rouge_scorer

from bench.metrics import MetricInputs, MetricOptions
from bench.metrics.rouge.lib_rouge import ROUGE_TYPES, RougeScorer
from bench.metrics.rouge.rouge_metric import Rouge
from bench.metrics.squad.lib_squad import exact_match, f1, normalize_answer, score

WORDS = ["the", "a", "army", "armies", "jets", "Jet", "running", "run", "2020", "200,000", "S-400", "Москва",
         "café", "said", "Lukashenko", "!", ",", ".", "\n", "an", "of", "Belarus'"]
texts = st.lists(st.sampled_from(WORDS), max_size=30).map(" ".join)
any_texts = st.text(max_size=60)
fast = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_ROUGE = RougeScorer(ROUGE_TYPES, use_stemmer=True)
_REFERENCE = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)


@pytest.mark.slow
@fast
@given(pred=st.one_of(texts, any_texts), refs=st.lists(st.one_of(texts, any_texts), min_size=1, max_size=3))
def test_rouge_agrees_with_rouge_score(pred, refs):
    ours = _ROUGE.score(pred, refs)
    theirs = _REFERENCE.score_multi(refs, pred)
    for t in ROUGE_TYPES:
        assert abs(ours[t].fmeasure - theirs[t].fmeasure) < 1e-9
        assert abs(ours[t].precision - theirs[t].precision) < 1e-9
        assert abs(ours[t].recall - theirs[t].recall) < 1e-9


@fast
@given(preds=st.lists(st.one_of(texts, any_texts), min_size=1, max_size=5), data=st.data())
def test_corpus_rouge_is_within_0_and_100(preds, data):
    refs = [data.draw(st.lists(texts.filter(lambda t: t.strip()), min_size=1, max_size=3)) for _ in preds]
    r = Rouge(MetricOptions(bootstrap_resamples=50)).score(MetricInputs.of(preds, refs))
    for name, value in r.metrics.items():
        assert 0.0 <= value <= 100.0
        assert all(0.0 <= v <= 100.0 for v in r.per_example[name])
        lo, hi = r.ci[name]
        assert 0.0 <= lo <= value <= hi <= 100.0


@fast
@given(text=texts.filter(lambda t: len(_ROUGE.tokenizer.tokenize(t)) >= 2))
def test_identical_texts_score_100(text):
    """Any text with at least two tokens (rouge2 needs a bigram) scores 100 against itself.

    rougeLsum too when the text has no line breaks: then prediction and
    reference are split into sentences the same way. (A reference that has
    line breaks keeps them as its sentence boundaries, while a prediction is
    always split, so there the two may differ.)
    """
    r = Rouge(MetricOptions(bootstrap_resamples=10)).score(MetricInputs.of([text], [[text]]))
    for t in ROUGE_TYPES:
        if t == "rougeLsum" and "\n" in text:
            continue
        assert abs(r.metrics[t] - 100.0) < 1e-9, (t, text)


@fast
@given(pred=texts, refs=st.lists(texts, min_size=2, max_size=4), data=st.data())
def test_reference_order_does_not_change_rouge(pred, refs, data):
    shuffled = data.draw(st.permutations(refs))
    a, b = _ROUGE.score(pred, refs), _ROUGE.score(pred, shuffled)
    for t in ROUGE_TYPES:
        assert a[t].fmeasure == b[t].fmeasure


answers = st.one_of(any_texts, st.lists(st.sampled_from(WORDS), max_size=6).map(" ".join))


@fast
@given(pred=answers, golds=st.lists(answers, max_size=4))
def test_squad_scores_are_bounded_and_em_implies_f1(pred, golds):
    em, f = score(pred, golds)
    assert 0.0 <= f <= 1.0 and em in (0.0, 1.0)
    if em == 1.0:
        assert f == 1.0
    for g in golds:
        if exact_match(pred, g):
            assert f1(pred, g) == 1.0


@fast
@given(answer=answers.filter(lambda a: normalize_answer(a) != ""))
def test_identical_answer_scores_100(answer):
    assert score(answer, [answer]) == (1.0, 1.0)


@fast
@given(pred=answers, golds=st.lists(answers, min_size=1, max_size=4), data=st.data())
def test_reference_order_does_not_change_squad(pred, golds, data):
    assert score(pred, golds) == score(pred, data.draw(st.permutations(golds)))
