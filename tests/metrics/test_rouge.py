"""bench's ROUGE equals rouge_score's, per example, to 1e-9."""

from __future__ import annotations

import random

import pytest
from rouge_score import rouge_scorer

from bench.metrics.rouge.lib_rouge import ROUGE_TYPES, RougeScorer, lcs_indices, lcs_length

TEXTS = [
    "The cat sat on the mat.",
    "the cat was sitting on the mat",
    "",
    "   ",
    "!!! ... ???",
    "Lukashenko said Russia will provide S-400 missile systems worth $1.5 billion.",
    "Russia will provide Belarus with S-400s, Lukashenko said on Wednesday.",
    "Cristóbal Colón sailed in 1492; Über-fast café owners said naïve things.",
    "Москва и Минск подписали соглашение.",
    "北京 is the capital. 東京 too.",
    "First sentence here.\nSecond sentence follows.\n\nThird after a blank line.",
    "Second sentence follows.\nFirst sentence here.",
    "running runs ran runner easily fairly generously",
    "The numbers 200,000 and 35,000 and 1.5 appear; so do 3rd and 4th.",
    "a a a a a b b b",
    "a b a b a b",
    "it's the president's army — the Belarusian army's backbone",
    "İstanbul KELVIN Kelvin ﬁne ﬂow",  # case-mapping corner cases (dotted I, kelvin sign, ligatures)
]


def _compare(prediction: str, references: list[str], stem: bool) -> None:
    ours = RougeScorer(ROUGE_TYPES, use_stemmer=stem).score(prediction, references)
    theirs = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=stem).score_multi(references, prediction)
    for t in ROUGE_TYPES:
        for a, b in zip(ours[t], theirs[t]):
            assert a == pytest.approx(b, abs=1e-9), (t, prediction, references, ours[t], theirs[t])


@pytest.mark.parametrize("stem", [True, False])
def test_single_reference_matches_rouge_score_on_varied_texts(stem):
    for pred in TEXTS:
        for ref in TEXTS:
            _compare(pred, [ref], stem)


@pytest.mark.parametrize("stem", [True, False])
def test_several_references_take_the_best_per_type_like_score_multi(stem):
    rng = random.Random(7)
    for _ in range(300):
        pred = rng.choice(TEXTS)
        refs = rng.sample(TEXTS, rng.randint(2, 4))
        _compare(pred, refs, stem)


@pytest.mark.slow
def test_random_texts_match_rouge_score():
    vocab = "the a of Belarus Russia army armies jets jet running ran run 2020 200,000 S-400 .\n , said says".split(" ")
    rng = random.Random(2026)
    for _ in range(1500):
        def text():
            return " ".join(rng.choice(vocab) for _ in range(rng.randint(0, 40)))

        _compare(text(), [text() for _ in range(rng.randint(1, 3))], stem=rng.random() < 0.5)


def _lcs_table(a, b):
    t = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            t[i][j] = t[i - 1][j - 1] + 1 if a[i - 1] == b[j - 1] else max(t[i - 1][j], t[i][j - 1])
    return t


def test_bit_parallel_lcs_equals_dynamic_programming():
    rng = random.Random(1)
    for _ in range(2000):
        a = [rng.choice("abcde") for _ in range(rng.randint(0, 70))]
        b = [rng.choice("abcde") for _ in range(rng.randint(0, 70))]
        assert lcs_length(a, b) == _lcs_table(a, b)[-1][-1]


def test_lcs_indices_equal_rouge_score_backtrack():
    rng = random.Random(3)
    for _ in range(1000):
        a = [rng.choice("abcd") for _ in range(rng.randint(0, 30))]
        b = [rng.choice("abcd") for _ in range(rng.randint(0, 30))]
        assert lcs_indices(a, b) == rouge_scorer.lcs_ind(a, b)


def test_rougelsum_uses_newlines_and_equals_rougel_without_them():
    scorer = RougeScorer(["rougeL", "rougeLsum"])
    ref = "the army is ready.\nthe jets arrive next week."
    one_line = "the jets arrive next week. the army is ready."
    split = "the jets arrive next week.\nthe army is ready."
    s1 = scorer.score(one_line, ref.replace("\n", " "))
    assert s1["rougeL"] == s1["rougeLsum"]
    s2 = scorer.score(split, ref)
    assert s2["rougeLsum"].fmeasure > s2["rougeL"].fmeasure


def test_empty_prediction_scores_zero():
    s = RougeScorer().score("", ["the reference"])
    assert all(v.fmeasure == 0 for v in s.values())


def test_stemming_changes_matches():
    assert RougeScorer(["rouge1"], use_stemmer=True).score("running", ["runs"])["rouge1"].fmeasure == 1.0
    assert RougeScorer(["rouge1"], use_stemmer=False).score("running", ["runs"])["rouge1"].fmeasure == 0.0


def test_unicode_tokenizer_keeps_non_latin_words():
    assert RougeScorer(["rouge1"]).score("Москва", ["Москва"])["rouge1"].fmeasure == 0.0
    assert RougeScorer(["rouge1"], unicode=True).score("Москва", ["москва"])["rouge1"].fmeasure == 1.0


def test_parallel_scoring_gives_identical_numbers(monkeypatch):
    from bench.metrics import MetricInputs, MetricOptions
    from bench.metrics.rouge import rouge_metric

    rng = random.Random(11)
    preds = [" ".join(rng.choice(TEXTS) for _ in range(3)) for _ in range(300)]
    refs = [[rng.choice(TEXTS) + "\n" + rng.choice(TEXTS)] for _ in range(300)]
    serial = rouge_metric.Rouge(MetricOptions()).score(MetricInputs.of(preds, refs))
    monkeypatch.setattr(rouge_metric, "PARALLEL_MIN_PAIRS", 10)
    monkeypatch.setenv("BENCH_SCORE_JOBS", "2")
    assert rouge_metric._jobs(300) == 2
    parallel = rouge_metric.Rouge(MetricOptions()).score(MetricInputs.of(preds, refs))
    assert parallel.per_example == serial.per_example
    assert parallel.metrics == serial.metrics and parallel.ci == serial.ci
