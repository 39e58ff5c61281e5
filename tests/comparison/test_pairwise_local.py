"""`bench compare --judge PATH`: a tiny local causal LM as the pairwise judge, its verdicts weighted by its own
next-token distribution where it writes them (tests/helpers/judge_models.py: a model that writes only the letters
A, B and C and separators). The expected probabilities come from transformers' own `generate` (its logits at the
step where the verdict was generated), not from the forward pass bench makes."""

from __future__ import annotations

import json

import pytest

from bench.metrics.model_based.judge_backends import fill
from bench.metrics.model_based.judge_verdicts import find_verdict

from pairwise_runs import TASK, make_runs, make_task, summary

TEMPLATE = "{document}\nA: {summary_a}\nB: {summary_b}\nBetter:"


def _reference(model_dir, prompts, max_new_tokens):
    """Per prompt: the greedy reply and P(A), P(B), P(tie) from `generate`'s logits where the verdict is written
    (None where the reply has none, or the verdict's token is not the letter alone)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    letters = {v: [i for i in range(len(tok)) if tok.decode([i]).strip() == letter]
               for v, letter in (("A", "A"), ("B", "B"), ("tie", "C"))}
    out = {}
    for prompt in prompts:
        ids = tok(prompt, return_tensors="pt")["input_ids"]
        with torch.no_grad():
            g = model.generate(ids, do_sample=False, max_new_tokens=max_new_tokens, output_logits=True,
                               return_dict_in_generate=True, pad_token_id=tok.eos_token_id)
        new = g.sequences[0, ids.shape[1]:].tolist()
        reply = tok.decode(new, skip_special_tokens=True)
        found = find_verdict(reply)
        p = None
        if found is not None:
            at = next(t for t in range(len(new)) if len(tok.decode(new[:t + 1], skip_special_tokens=True)) > found[1])
            if tok.decode([new[at]]).strip() in ("A", "B", "C"):
                probs = torch.softmax(g.logits[at][0].double(), dim=-1)
                mass = {v: float(probs[i].sum()) for v, i in letters.items()}
                p = {v: m / sum(mass.values()) for v, m in mass.items()}
        out[prompt] = (reply, p)
    return out


@pytest.mark.slow
def test_a_local_judge_weights_its_verdicts_by_its_next_token_distribution(in_tmp, cli):
    from judge_models import build_verdict_gpt2

    tasks, task_hash = make_task(in_tmp)
    make_runs(in_tmp / "results", task_hash, models=("short", "long"))
    model_dir = build_verdict_gpt2(in_tmp / "verdicts")
    args = ("compare", "results", "-t", TASK, "--tasks-dir", "tasks", "--judge", str(model_dir), "--judge-opt",
            "device=cpu", "--judge-opt", "max_tokens=3", "--judge-opt", f"prompt={TEMPLATE}", "--criterion",
            "fluency", "--format", "json")
    code, out, err = cli(*args)
    assert code == 0, err
    data = json.loads(out)
    documents = {json.loads(line)["id"]: json.loads(line)["document"]
                 for line in (tasks / "pair_news.jsonl").read_text(encoding="utf-8").splitlines()}
    prompts = {}
    for v in data["verdicts"]:
        a, b = summary(v["model"], v["id"]), summary(v["opponent"], v["id"])
        prompts[(v["id"], 0)] = fill(TEMPLATE, documents[v["id"]], a, b)
        prompts[(v["id"], 1)] = fill(TEMPLATE, documents[v["id"]], b, a)
    reference = _reference(model_dir, list(prompts.values()), 3)
    weighted = 0
    for v in data["verdicts"]:
        for k, order in enumerate(v["orders"]):
            reply, p = reference[prompts[(v["id"], k)]]
            assert order["replies"][0]["reply"] == reply
            if p is not None:
                assert order["p"] == pytest.approx(p, abs=1e-5)
                weighted += 1
    # verdicts weighted where the model wrote one (at its third token), the other replies counted unparsable
    assert weighted >= 2 and data["counts"]["unparsable"] == 12 - weighted
    assert "|scoring:weighted|" in data["signatures"]["fluency"]
    # a rerun is read from the cache: nothing is generated
    code, out, err = cli(*args)
    assert code == 0, err
    again = json.loads(out)
    assert again["counts"]["asked"] == 0 and again["verdicts"] == data["verdicts"]
