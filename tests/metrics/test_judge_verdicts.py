"""A pairwise judge's reply read as a verdict (A, B or a tie), as written or weighted by its token probabilities;
the pairwise prompts' placeholders."""

from __future__ import annotations

import math

import pytest

from bench.metrics.model_based.judge_backends import fill
from bench.metrics.model_based.judge_scoring import local_record, server_record
from bench.metrics.model_based.judge_verdicts import (A, B, TIE, default_pairwise_prompts, find_verdict, most_likely,
                                                      order_distribution, read_verdict, verdict_token)
from bench.metrics.model_based.judge import CRITERIA

L = math.log


@pytest.mark.parametrize("reply, verdict", [
    ("A", A), ("[[B]]", B), ("C", TIE), ("It's a tie.", TIE), ("TIE", TIE), ("Tie", TIE),
    ("Summary B is better than summary A.", B), ("Assistant B", B), ("A/B", A), ("B.", B),
    ("a", None), ("Banana", None), ("", None), ("Both are fine.", None), ("ties", None), ("CB", None),
    ("I prefer neither; A-", A),
])
def test_the_first_verdict_written_as_a_word_of_its_own(reply, verdict):
    found = find_verdict(reply)
    assert (found[0] if found else None) == verdict


@pytest.mark.parametrize("pieces, at", [
    (["[[", "A", "]]"], 1), (["Summary", " B", " is", " better"], 1), (["C"], 0), (["It", "'s", " a", " tie"], 3),
    (["Sum", "mary B"], None),  # the token holding the verdict is not the letter alone
    (["Nothing"], None),
])
def test_the_verdict_token_holds_the_verdict_alone(pieces, at):
    assert verdict_token(pieces) == at


def test_a_servers_alternatives_give_the_verdicts_probabilities_renormalised():
    record = server_record("Summary B", [("Summary", [("Summary", L(.9))]),
                                         (" B", [(" B", L(.5)), ("B", L(.1)), (" A", L(.2)), ("C", L(.1)),
                                                 (" maybe", L(.1))])])
    v = read_verdict(record, weighted=True)
    assert v.verdict == B and v.rule == "weighted"
    assert v.p == pytest.approx({A: .2 / .9, B: .6 / .9, TIE: .1 / .9})
    # as written: p is 1 for the verdict written
    assert read_verdict("Summary B", weighted=False).p == {A: 0.0, B: 1.0, TIE: 0.0}
    # without log-probabilities, or with the verdict inside a longer token: as written, and said so
    bare = read_verdict(server_record("A", None), weighted=True)
    assert bare.p == {A: 1.0, B: 0.0, TIE: 0.0} and bare.without_logprobs
    inside = read_verdict(server_record("Sum B", [("Sum", [("Sum", 0.0)]), (" B", [(" Bx", 0.0)])]), weighted=True)
    assert inside.rule == "first-number" and inside.p[B] == 1.0
    assert read_verdict(server_record("no idea", [("no idea", [])]), weighted=True).verdict is None


def test_a_local_models_record_and_the_orders_distribution():
    v = read_verdict(local_record("A", {"A": L(.3), "B": L(.1), "tie": L(.1)}), weighted=True)
    assert v.p == pytest.approx({A: .6, B: .2, TIE: .2})
    two = [v, read_verdict("B", weighted=False), read_verdict("garbage", weighted=False)]
    q = order_distribution(two)  # the parsed replies' mean; the unparsable one left out
    assert q == pytest.approx({A: .3, B: .6, TIE: .1}) and most_likely(q) == B
    assert order_distribution([two[2]]) is None
    assert most_likely({A: .4, B: .4, TIE: .2}) == TIE and most_likely({A: .4, B: .2, TIE: .4}) == TIE


def test_pairwise_placeholders_are_filled_once_in_their_order():
    template = "{document} | {summary_a} | {summary_b} | {summary} | {other}"
    assert fill(template, "doc", "first {summary_b}", "second {document}") == (
        "doc | first {summary_b} | second {document} | {summary} | {other}")
    # a prompt of the judge metric is filled as before: {summary_a} and {summary_b} are other braces there
    assert fill(template, "doc", "one") == "doc | {summary_a} | {summary_b} | one | {other}"


def test_bundled_pairwise_prompts_ask_each_criterion_of_both_summaries():
    prompts = default_pairwise_prompts()
    assert set(prompts) == set(CRITERIA)
    for c, p in prompts.items():
        assert "{summary_a}" in p and "{summary_b}" in p and c in p
        assert ("{document}" in p) == (c != "fluency")
        assert "A if summary A is better, B if summary B is better, C if they are equally good" in p
