"""G-Eval's weighted score, sum_i p(i) * i over the scale, from a server's token log-probabilities and from a
tiny local causal LM's own logits; what happens without them; the cache of both.

The server (tests/helpers/judge_server.py) answers from the table below: each reply as tokens with their
alternatives, so every expected score is worked out by hand from it. The local model's expected scores come
from transformers' own `generate` (its logits at the step where the score token was generated), not from the
forward pass bench makes.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bench.metrics import MetricInputs, MetricSpec
from bench.metrics.model_based.judge_scoring import find_score, score_token, weighted_score
from bench.metrics.scoring import score_examples

from cache_kinds import rows
from judge_server import JudgeServer

L = math.log

#: Replies by the summary the prompt holds: (text, [(token, [(alternative, logprob), ...]), ...]).
TOKENS = {
    # the score at the first token; "hello" is not on the scale, " 5" is 5
    "alpha summary": ("4", [("4", [("4", L(.6)), ("3", L(.2)), (" 5", L(.1)), ("hello", L(.1))])]),
    # "Score: 4/5": the score in the third token; " 4" and "4" both write 4
    "bravo summary": ("Score: 4/5", [("Score", [("Score", L(.9))]), (":", [(":", L(1.0))]),
                                     (" 4", [(" 4", L(.5)), (" 3", L(.3)), ("4", L(.1))]), ("/", [("/", L(.8))]),
                                     ("5", [("5", L(.9))])]),
    # 7 is off the scale: the score is the " 3" further on (the "2" among the first token's alternatives is not)
    "charlie summary": ("7. Then 3", [("7", [("7", L(.9)), ("2", L(.1))]), (".", [(".", L(1.0))]),
                                      (" Then", [(" Then", L(1.0))]), (" 3", [(" 3", L(.7)), (" 2", L(.3))])]),
    # the score is inside a token that is not the number alone: read by its first number
    "delta summary": ("Score:4", [("Score:4", [("Score:4", L(.9)), ("Score:5", L(.1))])]),
    # no number on the scale: unscored
    "echo summary": ("None", [("None", [("None", 0.0)])]),
}
EXPECTED = {
    "alpha summary": (4 * .6 + 3 * .2 + 5 * .1) / .9,
    "bravo summary": (4 * .6 + 3 * .3) / .9,
    "charlie summary": 3 * .7 + 2 * .3,
    "delta summary": 4.0,
    "echo summary": None,
}
ROWS = [{"id": f"r{k}", "prediction": s, "references": [], "document": f"Document number {k}."}
        for k, s in enumerate(TOKENS)]


def _inputs(rows=ROWS) -> MetricInputs:
    return MetricInputs(ids=[r["id"] for r in rows], predictions=[r["prediction"] for r in rows],
                        references=[r["references"] for r in rows], documents=[r["document"] for r in rows])


def with_logprobs(prompt: str, body: dict):
    return next(reply for summary, reply in TOKENS.items() if summary in prompt)


@pytest.fixture
def server():
    s = JudgeServer(with_logprobs)
    yield s
    s.close()


def _spec(server, **more) -> MetricSpec:
    return MetricSpec("judge:consistency", {"model": "openai:judge-x", "base_url": server.url, **more})


@pytest.mark.parametrize("api", ["chat", "completions"])
def test_weighted_scores_are_the_sum_over_the_scale_of_the_score_tokens_probabilities(server, tmp_path, api):
    top = 20 if api == "chat" else 5
    scores = score_examples([_spec(server, api=api, top_logprobs=str(top))], _inputs(), cache_dir=tmp_path)
    got = [row.get("judge_consistency") for row in scores.per_example]
    expected = list(EXPECTED.values())
    assert got[-1] is None and got[:-1] == pytest.approx(expected[:-1], abs=1e-12)
    body = server.requests[0]
    assert (body["logprobs"], body.get("top_logprobs")) == ((True, 20) if api == "chat" else (5, None))
    details = [d["judge_consistency"] for d in scores.details]
    assert details[0]["probabilities"] == [pytest.approx({"3": .2 / .9, "4": .6 / .9, "5": .1 / .9})]
    assert details[3]["probabilities"] == [None] and details[3]["scores"] == [4.0]  # read by its first number
    assert scores.counts["judge_consistency_first_number_replies"] == 1
    assert scores.counts["judge_consistency_unscored"] == 1
    assert "|parse:first-number-in-scale|scoring:mixed|n:1|" in scores.signatures["judge_consistency"]
    assert any("1 of 4 scored replies were read by their first number" in w for w in scores.warnings)


def test_all_weighted_says_so_in_the_signature_and_a_rerun_asks_nothing(server, tmp_path):
    inputs = _inputs(ROWS[:3])
    first = score_examples([_spec(server)], inputs, cache_dir=tmp_path)
    assert "|scoring:weighted|" in first.signatures["judge_consistency"]
    assert first.counts["judge_consistency_first_number_replies"] == 0
    assert len(server.requests) == 3 and len(rows(tmp_path, "judge")) == 6  # each reply and its record
    again = score_examples([_spec(server)], inputs, cache_dir=tmp_path)
    assert len(server.requests) == 3  # the log-probabilities came from the cache too
    assert again.per_example == first.per_example and again.details == first.details
    # the replies serve scoring=first-number as they are; its signature is the one without scoring:
    plain = score_examples([_spec(server, scoring="first-number")], inputs, cache_dir=tmp_path)
    assert len(server.requests) == 3
    assert [r["judge_consistency"] for r in plain.per_example] == [4.0, 4.0, 3.0]
    assert "scoring:" not in plain.signatures["judge_consistency"]


def test_replies_cached_without_probabilities_are_asked_again_for_them(server, tmp_path):
    inputs = _inputs(ROWS[:2])
    score_examples([_spec(server, scoring="first-number")], inputs, cache_dir=tmp_path)
    assert len(server.requests) == 2 and "logprobs" not in server.requests[0]
    weighted = score_examples([_spec(server)], inputs, cache_dir=tmp_path)
    assert len(server.requests) == 4 and server.requests[-1]["logprobs"] is True
    assert [r["judge_consistency"] for r in weighted.per_example] == pytest.approx(list(EXPECTED.values())[:2])


def test_a_server_without_log_probabilities_gets_the_sampled_mean_one_warning_and_says_so(tmp_path):
    # replies by seed: 2, 3, 4 for every example; the server ignores `logprobs`
    server = JudgeServer(lambda prompt, body: str(2 + body["seed"]))
    try:
        spec = _spec(server, n="3", temperature="1")
        scores = score_examples([spec], _inputs(ROWS[:2]), cache_dir=tmp_path)
        assert all(b["logprobs"] is True for b in server.requests) and len(server.requests) == 6
        assert [r["judge_consistency"] for r in scores.per_example] == [3.0, 3.0]  # (2 + 3 + 4) / 3
        notes = [w for w in scores.warnings if "log-probabilities" in w]
        assert len(notes) == 1 and "returned no token log-probabilities" in notes[0]
        assert "the mean of its 3 sampled replies" in notes[0] and "judge.n=20" in notes[0]
        assert "scoring:" not in scores.signatures["judge_consistency"]  # first-number, as recorded
        assert scores.counts["judge_consistency_first_number_replies"] == 6
        assert scores.details[0]["judge_consistency"]["probabilities"] == [None, None, None]
        again = score_examples([spec], _inputs(ROWS[:2]), cache_dir=tmp_path)
        assert len(server.requests) == 6 and again.per_example == scores.per_example  # "none came" is cached too
    finally:
        server.close()


def test_the_score_token_is_the_one_holding_the_first_number_on_the_scale():
    assert score_token(["Score", ":", " 4", "/", "5"], 1, 5) == 2
    assert score_token(["7", ".", " Then", " 3"], 1, 5) == 3
    assert score_token(["1", "1", " 1"], 1, 5) == 2  # "11" is off the scale
    assert score_token(["0", "5"], 1, 5) is None  # "05" is 5, written by "0" and "5": not one token of the scale
    assert score_token(["Score:4"], 1, 5) is None
    assert score_token(["none"], 1, 5) is None
    assert score_token([" 2", ".", "5"], 1, 5) == 0  # a decimal: its integer's token
    assert find_score("Score: 4/5", 1, 5) == (4.0, 7)
    value, p = weighted_score({1: L(.25), 2: L(.25)})
    assert value == pytest.approx(1.5) and p == pytest.approx({1: .5, 2: .5})


# ------------------------------------------------------------------ a local causal LM

PROMPTS = ["Nothing happened", "He said", "weapons talks", "They met in", "it KYIV", "The war ended.", "Russia",
           "A summary"]


def _generate_reference(model_dir: Path, prompts: list[str], max_new_tokens: int):
    """Per prompt: the greedy reply, the index of its score token, and sum_i p(i) * i from the logits
    `generate` itself gave at that step (p over the tokens whose text, stripped, is i, renormalised); where the
    token holding the score is not its integer alone, no index and the number itself."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    scale = {v: [i for i in range(len(tok)) if tok.decode([i]).strip() == str(v)] for v in range(1, 6)}
    out = []
    for prompt in prompts:
        ids = tok(prompt, return_tensors="pt")["input_ids"]
        with torch.no_grad():
            g = model.generate(ids, do_sample=False, max_new_tokens=max_new_tokens, output_logits=True,
                               return_dict_in_generate=True, pad_token_id=tok.eos_token_id)
        new = g.sequences[0, ids.shape[1]:].tolist()
        reply = tok.decode(new, skip_special_tokens=True)
        found = find_score(reply, 1, 5)
        at = None
        if found is not None:
            at = next(t for t in range(len(new)) if len(tok.decode(new[:t + 1], skip_special_tokens=True)) > found[1])
        value = None
        if at is not None and tok.decode([new[at]]).strip() == str(int(found[0])):
            p = torch.softmax(g.logits[at][0].double(), dim=-1)
            mass = {v: float(p[ids_v].sum()) for v, ids_v in scale.items()}
            value = sum(v * m for v, m in mass.items()) / sum(mass.values())
        elif found is not None:
            value, at = found[0], None  # the score's token is not its integer alone
        out.append((reply, at, value))
    return out


@pytest.mark.slow
def test_a_local_judge_weights_the_scale_by_its_own_next_token_distribution(tmp_path):
    from judge_models import build_rating_gpt2

    from bench.metrics.model_based.judge import JUDGES

    model_dir = build_rating_gpt2(tmp_path / "rater")
    template = "Rate 1-5. {summary}"
    rows_ = [{"id": f"p{k}", "prediction": p, "references": [], "document": ""} for k, p in enumerate(PROMPTS)]
    settings = {"model": str(model_dir), "max_tokens": 4, "device": "cpu", "prompt": template}
    metric = JUDGES["coherence"](None, settings, tmp_path / "cache")
    try:
        result = metric.score(_inputs(rows_))
    finally:
        metric.close()
    reference = _generate_reference(model_dir, [template.replace("{summary}", p) for p in PROMPTS], 4)
    details = result.details["judge_coherence"]
    assert [d["replies"][0] for d in details] == [reply for reply, _, _ in reference]
    got = result.per_example["judge_coherence"]
    for value, (reply, at, expected) in zip(got, reference):
        assert (value is None) == (expected is None), reply
        if value is not None:
            assert value == pytest.approx(expected, abs=1e-5), reply
    # the replies cover each case: the score at the first token, further on, and no score at all
    ats = [at for _, at, value in reference if value is not None]
    assert 0 in ats and any(a > 0 for a in ats) and None in got
    assert all(d["probabilities"][0] is not None for d in details if d["score"] is not None)
    assert result.counts["judge_coherence_first_number_replies"] == 0
    assert "|scoring:weighted|" in result.signatures["judge_coherence"]
    # weighted scores are not integers: the distribution, not the greedy digit
    assert all(v != round(v) for v in got if v is not None)
    # the second time nothing is generated and no forward pass is made: the model is not even loaded
    again = JUDGES["coherence"](None, settings, tmp_path / "cache")
    try:
        assert again.score(_inputs(rows_)).per_example == result.per_example
        assert again.judge.model is None
    finally:
        again.close()
    records = [json.loads(v) for *_, v, _, _ in rows(tmp_path / "cache", "judge") if v.startswith(b"{")]
    assert len(records) == len(PROMPTS) and all("scale" in r for r in records)
