"""Baselines on long and odd documents."""

from __future__ import annotations

import random

from bench.text.sentences import split_sentences
from bench.models.baselines import TEXTRANK_MAX_SENTENCES, TextRank, leading_sentences


def test_leading_sentences_equal_the_first_sentences_of_the_whole_text():
    rng = random.Random(5)
    words = "Mr. Smith went to Washington. He said: \"No.\" U.S. troops (about 200,000) arrived! Why? 1.5 bn".split()
    for _ in range(200):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(0, 3000)))
        for k in (1, 3):
            assert leading_sentences(text, k) == split_sentences(text)[:k]


def test_leading_sentences_of_a_real_article_from_every_starting_point():
    from conftest import SEED_ARTICLE

    text = SEED_ARTICLE.read_text(encoding="utf-8")
    for start in range(0, len(text) - 200, 37):  # each cut of the article: the prefix grows past every length
        for k in (1, 3, 5):
            assert leading_sentences(text[start:], k) == split_sentences(text[start:])[:k]


def test_textrank_caps_very_long_documents_and_says_so():
    doc = " ".join(f"Sentence number {i} talks about topic {i % 7}." for i in range(TEXTRANK_MAX_SENTENCES + 50))
    model = TextRank()
    summary = model.summarize(doc, 3)
    assert len(summary.split("\n")) == 3
    assert model.warnings and "first 1000" in model.warnings[0]


def test_textrank_returns_top_sentences_in_document_order():
    doc = ("Belarus will receive Russian jets. The weather was mild. "
           "Russian jets and helicopters will arrive in Belarus. Jets for Belarus come from Russia.")
    summary = TextRank().summarize(doc, 2).split("\n")
    assert "The weather was mild." not in summary
    assert summary == sorted(summary, key=doc.index)
