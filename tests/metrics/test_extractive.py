"""Extractiveness statistics (Grusky et al. 2018) as SummEval's DataStatsMetric computes them.

Tests on token lists run without spaCy; the ones that tokenize text import spaCy (seconds) and are marked slow.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.metrics.extractiveness import fragments as extractive
from bench.metrics.extractiveness.fragments import RATES, STAT_NAMES, fragments, stats, stats_many, tokenize

from conftest import REPO, SEED_ARTICLE

FOX = "The quick brown fox jumps over the lazy dog"


def plain_scan(summary: list[str], document: list[str]) -> list[int]:
    """The Newsroom fragment search as the paper describes it, written out plainly: for each summary position scan
    the whole document from its start, extend every match, keep the first longest, jump the scan past each match."""
    s = [t.lower() for t in summary]
    d = [t.lower() for t in document]
    lengths = []
    i = 0
    while i < len(s):
        longest = 0
        j = 0
        while j < len(d):
            if s[i] != d[j]:
                j += 1
                continue
            k = 0
            while i + k < len(s) and j + k < len(d) and s[i + k] == d[j + k]:
                k += 1
            longest = max(longest, k)
            j += k
        if longest:
            lengths.append(longest)
        i += longest or 1
    return lengths


def plain_ngram_shares(summary: list[str], document: list[str], n: int) -> tuple[float, float]:
    """(novel, repeated) for n-grams by their definition, tokens as written: shares of the distinct summary n-grams."""
    grams = [tuple(summary[k:k + n]) for k in range(len(summary) - n + 1)]
    in_document = {tuple(document[k:k + n]) for k in range(len(document) - n + 1)}
    distinct = set(grams)
    if not distinct:
        return 0.0, 0.0
    return (len(distinct - in_document) / len(distinct),
            len([g for g in distinct if grams.count(g) > 1]) / len(distinct))


# --- the published cases (lighteval tests/unit/metrics/test_cases/extractiveness.json) -------------------------

# spaCy's tokens of the texts, written out, so that these run without spaCy; the slow tests below tokenize for real.
FOX_TOKENS = FOX.split()
FOX_AND_MORE_TOKENS = [*FOX_TOKENS, ".", "The", "fox", "is", "very", "fast", "and", "agile", "."]


@pytest.mark.parametrize(("summary", "document", "coverage", "density", "compression"), [
    (FOX_TOKENS, FOX_AND_MORE_TOKENS, 1.0, 9.0, 2.0),
    (["A", "fox", "jumps"], FOX_TOKENS, 2 / 3, 4 / 3, 3.0),
    (FOX_TOKENS, FOX_TOKENS, 1.0, 9.0, 1.0),
])
def test_published_cases_on_tokens(summary, document, coverage, density, compression):
    got = stats(summary, document)
    assert got["coverage"] == pytest.approx(coverage)
    assert got["density"] == pytest.approx(density)
    assert got["compression"] == pytest.approx(compression)


@pytest.mark.slow
def test_published_cases_from_text():
    summaries = [FOX, "A fox jumps", FOX]
    documents = [FOX + ". The fox is very fast and agile.", FOX, FOX]
    got = stats_many(summaries, documents)
    flat = [g[name] for g in got for name in ("coverage", "density", "compression")]
    assert flat == pytest.approx([1.0, 9.0, 2.0, 2 / 3, 4 / 3, 3.0, 1.0, 9.0, 1.0])
    assert tokenize([documents[0]])[0] == tuple(FOX_AND_MORE_TOKENS)


# --- fragments ---------------------------------------------------------------------------------------------------

def test_the_scan_jumps_past_each_match():
    # "a a" is found at 0 and the scan resumes at 2, so "a a b" (at 1) is never tried: [2, 1], not [3].
    assert fragments("a a b".split(), "a a a b".split()) == [2, 1]


def test_the_first_longest_match_is_kept_and_the_summary_moves_on_by_its_length():
    assert fragments("x y z w".split(), "y z q x y q x y z".split()) == [3]
    assert fragments("x y z w x y".split(), "x y z".split()) == [3, 2]
    assert fragments("q r s".split(), "a b c".split()) == []


def test_fragments_compare_lowercased_tokens():
    assert fragments(["The", "FOX"], ["the", "fox"]) == [2]


def test_density_is_the_mean_squared_fragment_length_per_summary_token():
    got = stats("a b c x d e".split(), "a b c y d e".split())
    assert got["coverage"] == pytest.approx(5 / 6)
    assert got["density"] == pytest.approx((9 + 4) / 6)
    assert got["compression"] == pytest.approx(1.0)


# --- novel and repeated n-grams ------------------------------------------------------------------------------------

def test_novel_ngrams_count_distinct_ngrams():
    # distinct summary 1-grams {a, b, z}: z is novel; 2-grams {ab, ba, az}: az is novel (the document has ab, ba,
    # ac); 3-grams {aba, bab, baz}: bab and baz are novel (the document has aba, bac).
    got = stats("a b a b a z".split(), "a b a c".split())
    assert got["novel_1gram"] == pytest.approx(1 / 3)
    assert got["novel_2gram"] == pytest.approx(1 / 3)
    assert got["novel_3gram"] == pytest.approx(2 / 3)
    # repeated: a and b of {a, b, z}; ab and ba of {ab, ba, az}; aba of {aba, bab, baz}
    assert got["repeated_1gram"] == pytest.approx(2 / 3)
    assert got["repeated_2gram"] == pytest.approx(2 / 3)
    assert got["repeated_3gram"] == pytest.approx(1 / 3)


def test_ngram_statistics_keep_case_as_summeval_does():
    # SummEval lowercases for the fragments only: "The" is novel against "the", and "The ... the" is no repetition.
    got = stats(["The", "dog", "saw", "the", "cat"], ["the", "dog", "saw", "a", "cat"])
    assert got["coverage"] == pytest.approx(1.0)
    assert got["novel_1gram"] == pytest.approx(1 / 5)
    assert got["repeated_1gram"] == 0.0


# --- empty inputs --------------------------------------------------------------------------------------------------

def test_an_empty_summary_scores_zero_everywhere_and_says_its_length():
    got = stats([], "a b c".split())
    assert got == {name: 0.0 for name in STAT_NAMES}


def test_a_summary_shorter_than_n_has_zero_for_that_n():
    got = stats(["a"], ["a", "b"])
    assert got["novel_1gram"] == 0.0 and got["repeated_1gram"] == 0.0
    assert got["novel_2gram"] == got["novel_3gram"] == got["repeated_2gram"] == got["repeated_3gram"] == 0.0
    got = stats(["z", "z"], ["a"])
    assert got["novel_1gram"] == 1.0 and got["repeated_1gram"] == 1.0
    assert got["novel_2gram"] == 1.0 and got["repeated_2gram"] == 0.0
    assert got["novel_3gram"] == 0.0


def test_an_empty_document_leaves_every_ngram_novel():
    got = stats("a b c".split(), [])
    assert (got["coverage"], got["density"], got["compression"]) == (0.0, 0.0, 0.0)
    assert got["novel_1gram"] == got["novel_2gram"] == got["novel_3gram"] == 1.0
    assert got["summary_length"] == 3.0
    assert fragments([], []) == []


# --- the API -------------------------------------------------------------------------------------------------------

def test_stats_returns_every_statistic_in_order_and_names_the_rates():
    assert tuple(stats(["a"], ["a"])) == STAT_NAMES
    assert RATES < set(STAT_NAMES)
    assert {"density", "compression", "summary_length"}.isdisjoint(RATES)


def test_stats_many_needs_one_document_per_summary():
    with pytest.raises(ValueError, match="one document per summary"):
        stats_many(["a", "b"], ["a"])


def test_tokenizer_id_names_spacy_and_its_version():
    assert extractive.TOKENIZER_ID == f"spacy-{metadata.version('spacy')}-blank-en"
    with pytest.raises(AttributeError):
        extractive.NO_SUCH_NAME  # noqa: B018


# --- the indexed search is the plain scan --------------------------------------------------------------------------

# a small alphabet so that repeats, overlaps and runs of one token are common; mixed case to exercise lowercasing
tokens = st.lists(st.sampled_from(["a", "b", "c", "A", "d", "\n"]), max_size=40)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(summary=tokens, document=tokens)
def test_fragments_equal_the_plain_scan(summary, document):
    assert fragments(summary, document) == plain_scan(summary, document)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(summary=tokens, document=tokens)
def test_statistics_stay_in_their_ranges_and_ngram_shares_follow_their_definition(summary, document):
    got = stats(summary, document)
    lengths = fragments(summary, document)
    assert sum(lengths) <= len(summary)
    for name in RATES:
        assert 0.0 <= got[name] <= 1.0, name
    assert got["coverage"] <= got["density"] <= got["coverage"] * max(lengths, default=0) + 1e-12
    assert got["summary_length"] == len(summary)
    for n in (1, 2, 3):
        novel, repeated = plain_ngram_shares(summary, document, n)
        assert got[f"novel_{n}gram"] == pytest.approx(novel, abs=1e-12)
        assert got[f"repeated_{n}gram"] == pytest.approx(repeated, abs=1e-12)


def test_fragments_equal_the_plain_scan_on_a_news_article():
    words = SEED_ARTICLE.read_text(encoding="utf-8").split()
    document = words[: len(words) // 2] * 2
    for start in range(0, len(words) - 60, 37):
        summary = words[start:start + 60]
        assert fragments(summary, document) == plain_scan(summary, document)


# --- spaCy's tokens ------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_whitespace_runs_are_tokens_and_count_as_summeval_counts_them():
    (summary,) = tokenize(["Russia  backs him.\n\nHe agrees."])
    assert summary == ("Russia", " ", "backs", "him", ".", "\n\n", "He", "agrees", ".")
    got = stats_many(["Russia  backs him.\n\nHe agrees."], ["Russia backs him.\n\nHe agrees."])[0]
    assert got["summary_length"] == 9.0
    assert got["coverage"] == pytest.approx(8 / 9)  # all but the double space


@pytest.mark.slow
def test_unicode_text_is_tokenized_and_matched():
    (summary, document) = tokenize(["CRISTÓBAL Colón, İstanbul; Москва и Минск 東京.",
                                    "Cristóbal Colón met Москва и Минск officials."])
    assert summary[:3] == ("CRISTÓBAL", "Colón", ",")
    assert "Москва" in summary and "東京" in summary
    got = stats(summary, document)
    assert fragments(summary, document) == [2, 3, 1]  # "cristóbal colón", "москва и минск", the full stop
    assert got["novel_1gram"] > 0


@pytest.mark.slow
def test_a_text_is_tokenized_once_across_calls():
    extractive.clear_cache()
    article = SEED_ARTICLE.read_text(encoding="utf-8")
    first = tokenize([article])[0]
    assert extractive.cache_info()[0] == 1
    again = tokenize([article, article])
    assert again[0] is first and again[1] is first  # the very tuple tokenized the first time
    stats_many(["Lukashenko said.", "Russia said."], [article, article])
    assert extractive.cache_info()[0] == 3  # the article once, and the two summaries
    assert tokenize([article])[0] is first


@pytest.mark.slow
def test_stats_many_equals_stats_pair_by_pair_with_documents_repeated():
    article = SEED_ARTICLE.read_text(encoding="utf-8")
    other = "Minsk said the exercises were defensive.\n\nMoscow agreed."
    documents = [article, other, article, "", other, article]
    summaries = ["Lukashenko expects Russian weapons.", "Moscow agreed.", "", "Anything at all.",
                 "The exercises were defensive, Minsk said.", "Belarus president expects big shipment of weapons"]
    expected = [stats(s, d) for s, d in zip(tokenize(summaries), tokenize(documents))]
    assert stats_many(summaries, documents) == expected
    assert expected[1]["coverage"] == 1.0 and expected[3]["compression"] == 0.0


@pytest.mark.slow
def test_the_cache_is_bounded(monkeypatch):
    extractive.clear_cache()
    monkeypatch.setattr(extractive, "CACHE_TOKENS", 3)
    first = tokenize(["one", "two", "three", "four"])
    assert extractive.cache_info() == (3, 3)  # "one" went first
    again = tokenize(["one", "four"])
    assert again[0] == first[0] and again[0] is not first[0]  # tokenized anew
    assert again[1] is first[3]  # still held
    tokenize(["a text of more tokens than the cache holds"])
    assert extractive.cache_info()[1] <= 3


def _run(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO,
                          timeout=60, check=False)


def test_importing_the_module_does_not_import_spacy():
    done = _run("import sys, bench.metrics.extractiveness.fragments as e\n"
                "e.stats(['a'], ['a']); e.fragments(['a'], ['a'])\n"
                "print('spacy' in sys.modules)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_a_missing_spacy_is_one_clear_error():
    done = _run("import sys\n"
                "sys.modules['spacy'] = None  # as if spaCy were not installed\n"
                "from bench.errors import BenchError\n"
                "from bench.metrics.extractiveness import fragments as extractive\n"
                "try:\n"
                "    extractive.stats_many(['a'], ['a'])\n"
                "except BenchError as e:\n"
                "    print(e.exit_code); print(e)\n")
    assert done.returncode == 0, done.stderr
    code, message = done.stdout.split("\n", 1)
    assert code == "3"
    assert "spaCy is not installed" in message
    assert "hint: pip install spacy" in message
    assert "Traceback" not in done.stdout + done.stderr
