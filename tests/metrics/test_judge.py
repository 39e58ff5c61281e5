"""judge:CRITERION against a small OpenAI-style server started in the test, and a tiny local causal LM.

The server answers each judge prompt by the summary it holds (a table of replies written in the test), so
every parse and mean below is worked out by hand from that table. Its replies carry no log-probabilities
unless a test gives them (the weighted scores: see also test_judge_weighted.py).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from bench.errors import BenchError
from bench.metrics import MetricInputs, MetricSpec, resolve_metric
from bench.metrics.model_based.judge import CRITERIA, PARSE_RULE, default_prompts, fill, parse_score
from bench.metrics.scoring import score_examples
from bench.version import __version__

from cache_kinds import rows
from conftest import REPO
from judge_server import JudgeServer

stored_rows = rows

#: Replies by the summary the prompt holds; anything else is answered "3".
REPLIES = {
    "alpha summary": "4",
    "bravo summary": "Score: 7/10. On the 1-5 scale: 3",  # 7 and 10 are off the scale, then 1 is the first on it
    "charlie summary": "I cannot rate this summary.",
    "delta summary": "2.5",
    "echo summary": "Rating: 0, it is the 4th worst",  # 0 off the scale, "4th" is not a number
}
ROWS = [{"id": f"r{k}", "prediction": s, "references": ["a reference"], "document": f"Document number {k}."}
        for k, s in enumerate(REPLIES)]


def by_summary(prompt: str, body: dict) -> str:
    return next((reply for summary, reply in REPLIES.items() if summary in prompt), "3")


@pytest.fixture
def server():
    s = JudgeServer(by_summary)
    yield s
    s.close()


def _write(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _inputs(rows=ROWS) -> MetricInputs:
    return MetricInputs(ids=[r["id"] for r in rows], predictions=[r["prediction"] for r in rows],
                        references=[r["references"] for r in rows], documents=[r["document"] for r in rows])


def _settings(server, **more) -> dict:
    return {"model": "openai:judge-x", "base_url": server.url, **more}


# ------------------------------------------------------------------ parsing and prompts


@pytest.mark.parametrize("reply, low, high, expected", [
    ("4", 1, 5, 4.0), (" 5\n", 1, 5, 5.0), ("Score: 4/5", 1, 5, 4.0), ("3.5 out of 5", 1, 5, 3.5),
    ("Score: 7/10. On the 1-5 scale: 3", 1, 5, 1.0), ("7. Then 3", 1, 5, 3.0), ("Rating: 0, it is the 4th", 1, 5, None),
    ("no number", 1, 5, None), ("", 1, 5, None), ("4", 1, 3, None), ("Fluency: 2", 1, 3, 2.0), ("-2 or 2", 1, 5, 2.0),
    ("v4 then 2", 1, 5, 2.0), ("4.", 1, 5, 4.0), ("1.25.3", 1, 5, None),
])
def test_the_first_number_on_the_scale_is_the_score(reply, low, high, expected):
    assert parse_score(reply, low, high) == expected


def test_placeholders_are_filled_once_and_other_braces_kept():
    assert fill("{document}|{summary}|{x}", "D {summary}", "S {document}") == "D {summary}|S {document}|{x}"


def test_bundled_prompts_name_their_scale_and_both_texts():
    prompts = default_prompts()
    assert set(prompts) == set(CRITERIA)
    for criterion, (low, high) in CRITERIA.items():
        text = prompts[criterion]
        assert "{summary}" in text and f"from {low} to {high}" in text
        assert ("{document}" in text) == (criterion != "fluency")
        assert "Evaluation Form" not in text  # bench's own wording


# ------------------------------------------------------------------ scoring through the metric


def test_hand_checked_parses_means_and_unscored_count(server, tmp_path):
    scores = score_examples([MetricSpec("judge:consistency", _settings(server, scoring="first-number"))], _inputs(),
                            cache_dir=tmp_path)
    # parses: 4, 1 (the "1" of "1-5"), none, 2.5, none
    assert [row.get("judge_consistency") for row in scores.per_example] == [4.0, 1.0, None, 2.5, None]
    assert scores.metrics["judge_consistency"] == pytest.approx((4 + 1 + 2.5) / 3)
    assert scores.counts["judge_consistency_unscored"] == 2
    assert any("2 of 5 examples unscored" in w and "r2, r4" in w for w in scores.warnings)
    detail = scores.details[1]["judge_consistency"]
    assert detail == {"score": 1.0, "scores": [1.0], "replies": [REPLIES["bravo summary"]]}
    assert scores.details[2]["judge_consistency"]["score"] is None
    # greedy, seeded, short; the prompt is the bundled rubric filled with the row's document and summary
    body = server.requests[0]
    assert body["temperature"] == 0.0 and body["seed"] == 0 and body["max_tokens"] == 32
    assert "logprobs" not in body and "top_logprobs" not in body  # not asked for by scoring=first-number
    prompts = {b["messages"][0]["content"] for b in server.requests}
    assert fill(default_prompts()["consistency"], ROWS[0]["document"], ROWS[0]["prediction"]) in prompts
    sha = hashlib.sha256(default_prompts()["consistency"].encode()).hexdigest()[:12]
    assert scores.signatures["judge_consistency"] == (
        f"judge_consistency|judge:openai:judge-x|prompt:{sha}|parse:{PARSE_RULE}|n:1|temp:0|agg:mean|bench:{__version__}")


def test_fluency_is_on_a_1_to_3_scale_and_reads_no_document(server, tmp_path):
    rows = [{k: v for k, v in r.items() if k != "document"} for r in ROWS]
    inputs = MetricInputs(ids=[r["id"] for r in rows], predictions=[r["prediction"] for r in rows],
                          references=[r["references"] for r in rows])
    scores = score_examples([MetricSpec("judge:fluency", _settings(server))], inputs, cache_dir=tmp_path)
    # 4 is off a 1-3 scale; "Score: 7/10. On the 1-5 scale: 3" -> 1; 2.5; none
    assert [row.get("judge_fluency") for row in scores.per_example] == [None, 1.0, None, 2.5, None]
    assert resolve_metric("judge:fluency").range_of("judge_fluency") == (1.0, 3.0)


def test_n_samples_are_averaged_each_with_its_own_seed(server, tmp_path):
    server.reply = lambda prompt, body: "no score" if body["seed"] == 3 else str(1 + body["seed"])
    scores = score_examples([MetricSpec("judge:coherence", _settings(server, n=4, temperature=1.5, seed=0))],
                            _inputs(ROWS[:2]), cache_dir=tmp_path)
    # seeds 0, 1, 2 -> 1, 2, 3; seed 3 replies without a number
    assert [row["judge_coherence"] for row in scores.per_example] == [2.0, 2.0]
    assert sorted(b["seed"] for b in server.requests) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert {b["temperature"] for b in server.requests} == {1.5}
    assert scores.counts["judge_coherence_unparsed_replies"] == 2
    assert scores.details[0]["judge_coherence"]["scores"] == [1.0, 2.0, 3.0, None]
    assert "|n:4|temp:1.5|" in scores.signatures["judge_coherence"]


def test_a_prompt_of_your_own_changes_the_signature(server, tmp_path):
    prompt = "Is this summary relevant to the article?\n{document}\n---\n{summary}\nScore 1-5:"
    scores = score_examples([MetricSpec("judge:relevance", _settings(server, prompt=prompt))],
                            _inputs(ROWS[:1]), cache_dir=tmp_path)
    assert server.requests[0]["messages"][0]["content"] == fill(prompt, ROWS[0]["document"], ROWS[0]["prediction"])
    assert f"|prompt:{hashlib.sha256(prompt.encode()).hexdigest()[:12]}|" in scores.signatures["judge_relevance"]
    (tmp_path / "p.txt").write_text(prompt, encoding="utf-8")
    again = score_examples([MetricSpec("judge:relevance", _settings(server, prompt_file=str(tmp_path / "p.txt")))],
                           _inputs(ROWS[:1]), cache_dir=tmp_path)
    assert again.signatures == scores.signatures and len(server.requests) == 1  # same prompt: from the cache


def test_no_reply_on_the_scale_for_any_example_is_an_error_not_a_zero(server, tmp_path):
    server.reply = lambda prompt, body: "It is fine."
    with pytest.raises(BenchError, match="no reply of the judge has a number from 1 to 5, for any of the 5") as e:
        score_examples([MetricSpec("judge:consistency", _settings(server))], _inputs(), cache_dir=tmp_path)
    assert e.value.exit_code == 3


def test_the_api_key_comes_from_the_variable_named_and_is_never_recorded(server, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "the-default-key")
    monkeypatch.setenv("JUDGE_KEY", "the-judge-key")
    scores = score_examples([MetricSpec("judge:consistency", _settings(server, api_key_env="JUDGE_KEY"))],
                            _inputs(ROWS[:2]), cache_dir=tmp_path)
    assert server.keys == ["Bearer the-judge-key"] * 2
    assert "the-judge-key" not in json.dumps(scores.signatures) + json.dumps(scores.details)
    import os

    assert os.environ["OPENAI_API_KEY"] == "the-default-key"  # put back
    monkeypatch.delenv("JUDGE_KEY")
    with pytest.raises(BenchError, match="the environment variable 'JUDGE_KEY' \\(api_key_env\\) is not set"):
        score_examples([MetricSpec("judge:consistency", _settings(server, api_key_env="JUDGE_KEY"))], _inputs(ROWS[:2]))


def test_options_for_one_criterion_override_those_for_every_judge(server, tmp_path):
    from bench.metrics import parse_metric_specs

    specs = parse_metric_specs(["judge:fluency", "judge:coherence"],
                               {"judge": _settings(server), "judge:fluency": {"max_tokens": "5"}})
    scores = score_examples(specs, _inputs(ROWS[1:2]), cache_dir=tmp_path)
    assert sorted(b["max_tokens"] for b in server.requests) == [5, 32]
    assert set(scores.metrics) == {"judge_fluency", "judge_coherence"}


# ------------------------------------------------------------------ cache, interruption


def test_bench_score_caches_every_reply_and_a_rerun_asks_nothing(server, cli, in_tmp):
    _write(in_tmp / "s.jsonl", ROWS)
    args = ("score", "s.jsonl", "--metric", "judge:consistency", "--metric-opt", "judge.model=openai:judge-x",
            "--metric-opt", f"judge.base_url={server.url}", "--metric-opt", "judge.cache_dir=jc", "--format", "json")
    code, out, err = cli(*args)
    assert code == 0, err
    first = json.loads(out)
    assert first["metrics"]["judge_consistency"] == pytest.approx(2.5) and len(server.requests) == 5
    assert first["counts"]["judge_consistency_unscored"] == 2 and "2 of 5 examples unscored" in err
    code, out, err = cli(*args)
    assert code == 0, err
    assert len(server.requests) == 5  # all five from the cache
    assert json.loads(out)["metrics"] == first["metrics"]
    # a summary edited on one line asks for that line only
    _write(in_tmp / "s.jsonl", [*ROWS[:4], {**ROWS[4], "prediction": "alpha summary again"}])
    code, out, err = cli(*args)
    assert code == 0 and len(server.requests) == 6
    assert json.loads(out)["metrics"]["judge_consistency"] == pytest.approx((4 + 1 + 2.5 + 4) / 4)


def test_an_interrupted_scoring_resumes_paying_only_for_the_rest(server, cli, in_tmp):
    _write(in_tmp / "s.jsonl", ROWS)
    args = ("score", "s.jsonl", "--metric", "judge:relevance", "--metric-opt", "judge.model=openai:judge-x",
            "--metric-opt", f"judge.base_url={server.url}", "--metric-opt", "judge.cache_dir=jc",
            "--metric-opt", "judge.concurrency=1", "--metric-opt", "judge.scoring=first-number", "--format", "json")
    server.refuse_after = 3
    code, out, err = cli(*args)
    assert code == 3 and "quota exceeded" in err and "Traceback" not in err and out == ""
    assert len(server.requests) == 4  # three answered, the fourth refused, nothing sent after it
    assert len(rows(in_tmp / "jc", "judge")) == 3
    server.refuse_after = None
    code, out, err = cli(*args)
    assert code == 0, err
    assert len(server.requests) == 4 + 2  # the two replies never received
    assert json.loads(out)["metrics"]["judge_relevance"] == pytest.approx(2.5)
    assert len(rows(in_tmp / "jc", "judge")) == 5


@pytest.mark.parametrize("scoring", ["first-number", "weighted"])
def test_an_empty_reply_is_never_cached_and_asked_again(server, cli, in_tmp, scoring):
    _write(in_tmp / "s.jsonl", ROWS[:2])
    args = ("score", "s.jsonl", "--metric", "judge:consistency", "--metric-opt", "judge.model=openai:judge-x",
            "--metric-opt", f"judge.base_url={server.url}", "--metric-opt", "judge.cache_dir=jc", "--format", "json",
            "--metric-opt", f"judge.scoring={scoring}")
    server.reply = lambda prompt, body: None if "bravo" in prompt else "4"  # "content": null
    code, out, err = cli(*args)
    assert code == 0, err
    assert json.loads(out)["counts"]["judge_consistency_unscored"] == 1 and len(server.requests) == 2
    kept = sorted(v for *_, v, _, _ in rows(in_tmp / "jc", "judge"))  # the real reply only (and its record)
    assert kept == ([b"4"] if scoring == "first-number" else [b"4", b'{"reply": "4", "tokens": null}'])
    server.reply = by_summary  # the server is fixed: the empty reply is asked again, the other is not
    code, out, err = cli(*args)
    assert code == 0, err
    assert len(server.requests) == 3 and json.loads(out)["metrics"]["judge_consistency"] == pytest.approx((4 + 1) / 2)


# ------------------------------------------------------------------ run and rescore


@pytest.mark.slow
def test_bench_run_and_rescore_score_with_the_judge_and_reuse_its_replies(server, cli, in_tmp):
    server.reply = lambda prompt, body: "Fluency: 2" if "Fluency" in prompt or "fluency" in prompt else "4"
    common = ("--metric-opt", "judge.model=openai:judge-x", "--metric-opt", f"judge.base_url={server.url}")
    code, _, err = cli("run", "-q", "-m", "lead-3", "-t", "seed-summarization", "--metric", "judge:fluency", *common)
    assert code == 0, err
    (run,) = (in_tmp / "results" / "seed-summarization" / "lead-3").iterdir()
    record = json.loads((run / "results.json").read_text())
    assert record["metrics"]["judge_fluency"] == 2.0 and record["counts"]["judge_fluency_unscored"] == 0
    assert record["signatures"]["judge_fluency"].startswith("judge_fluency|judge:openai:judge-x|prompt:")
    (row,) = [json.loads(line) for line in (run / "predictions.jsonl").read_text().splitlines()]
    assert row["scores"]["judge_fluency"] == 2.0
    # weighted by default; this server sends no log-probabilities, so the reply is read by its first number
    assert row["details"]["judge_fluency"] == {"score": 2.0, "scores": [2.0], "replies": ["Fluency: 2"],
                                               "probabilities": [None]}
    assert record["counts"]["judge_fluency_first_number_replies"] == 1
    assert len(server.requests) == 1
    # a second run takes the prediction and the judge's reply from the caches
    code, _, err = cli("run", "-q", "-m", "lead-3", "-t", "seed-summarization", "--metric", "judge:fluency", *common)
    assert code == 0, err
    assert len(server.requests) == 1
    code, _, err = cli("rescore", run, "--metric", "judge:coherence", *common)
    assert code == 0, err
    new = [d for d in (in_tmp / "results" / "seed-summarization" / "lead-3").iterdir()
           if "judge_coherence" in json.loads((d / "results.json").read_text())["metrics"]]
    assert len(new) == 1 and len(server.requests) == 2
    rescored = json.loads((new[0] / "results.json").read_text())
    assert rescored["metrics"]["judge_coherence"] == 4.0 and rescored["metrics"]["judge_fluency"] == 2.0


def test_a_task_file_gives_the_judge_its_prompt(server, cli, in_tmp):
    text = (REPO / "tasks" / "seed-summarization.yaml").read_text(encoding="utf-8")
    text = text.replace("../fixtures/seed_summarization.jsonl", str(REPO / "fixtures" / "seed_summarization.jsonl"))
    text = text.replace("name: seed-summarization", "name: news").replace(
        "metrics: [rouge, extractiveness]",
        "metrics:\n  - rouge\n  - judge:consistency:\n      model: openai:judge-x\n"
        "      prompt: |\n        Article: {document}\n        Summary: {summary}\n        Consistent, 1-5?\n")
    (in_tmp / "news.yaml").write_text(text, encoding="utf-8")
    code, _, err = cli("run", "-q", "-m", "lead-3", "-t", in_tmp / "news.yaml",
                       "--metric-opt", f"judge.base_url={server.url}")
    assert code == 0, err
    (prompt,) = [b["messages"][0]["content"] for b in server.requests]
    assert prompt.startswith("Article: KYIV: The authoritarian") and prompt.endswith("Consistent, 1-5?\n")
    (run,) = (in_tmp / "results" / "news" / "lead-3").iterdir()
    assert json.loads((run / "results.json").read_text())["metrics"]["judge_consistency"] == 3.0


# ------------------------------------------------------------------ refusals


@pytest.mark.parametrize("name, settings, message", [
    ("judge:coherance", {}, "unknown judge criterion 'coherance' in metric 'judge:coherance'. Did you mean"),
    ("judge:consistency", {}, "metric 'judge:consistency' needs a judge model"),
    ("judge:consistency", {"model": "openai:judge-x"}, "judge model openai:judge-x needs the server's URL"),
    ("judge:consistency", {"model": "openai:judge-x", "base_url": "URL", "device": "cuda"},
     "judge options device do not apply to a model behind a server"),
    ("judge:consistency", {"model": "lead-3"}, "judge model 'lead-3' is a baseline model"),
    ("judge:consistency", {"model": "./no/such/dir", "base_url": "http://x"}, "judge options base_url are for openai"),
    ("judge:consistency", {"model": "openai:judge-x", "base_url": "URL", "prompt": "{document} only"},
     "the prompt has no {summary} placeholder"),
    ("judge:relevance", {"model": "openai:judge-x", "base_url": "URL", "prompt": "{summary} only"},
     "the prompt has no {document} placeholder"),
    ("judge:consistency", {"model": "openai:judge-x", "base_url": "URL", "n": "0"}, "n must be 1 or more"),
    ("judge:consistency", {"model": "openai:judge-x", "base_url": "URL", "temperature": "-1"},
     "temperature must be 0 or more"),
    ("judge:consistency", {"model": "openai:judge-x", "base_url": "URL", "prompt_file": "/no/such/prompt.txt"},
     "cannot read the judge's prompt file"),
    ("judge:consistency", {"model": "openai:judge-x", "base_url": "URL", "max_length": "100"},
     "judge options max_length do not apply to a model behind a server"),
    ("judge:consistency", {"model": "./no/such/dir", "top_logprobs": "5"}, "judge options top_logprobs are for openai"),
    ("judge:consistency", {"model": "./no/such/dir", "batch_size": "0"},
     "metric 'judge:consistency': batch_size must be a positive integer or 'auto', not 0"),
    ("judge:consistency", {"model": "./no/such/dir", "max_length": "8"},
     "metric 'judge:consistency': max_length must be 16 or more, not 8"),
    ("judge:consistency", {"model": "openai:judge-x", "base_url": "URL", "scoring": "probabilities"},
     "option 'scoring' must be 'weighted' or 'first-number'"),
    ("judge:consistency", {"model": "openai:judge-x", "base_url": "URL", "top_logprobs": "0"},
     "top_logprobs must be 1 or more"),
])
def test_bad_options_are_one_clear_error_before_anything_runs(server, name, settings, message):
    settings = {k: server.url if v == "URL" else v for k, v in settings.items()}
    with pytest.raises(BenchError) as e:
        resolve_metric(name)(None, settings, None)
    assert message in str(e.value)
    assert server.requests == []


def test_an_unreachable_server_or_unserved_model_stops_a_run_before_it_starts(server, cli, in_tmp):
    code, _, err = cli("run", "-q", "-m", "lead-3", "-t", "seed-summarization", "--metric", "judge:fluency",
                       "--metric-opt", "judge.model=openai:judge-x", "--metric-opt", "judge.base_url=http://127.0.0.1:9",
                       "--metric-opt", "judge.max_retries=0")
    assert code == 3 and "cannot reach the server at http://127.0.0.1:9/v1" in err and "Traceback" not in err
    code, _, err = cli("run", "-q", "-m", "lead-3", "-t", "seed-summarization", "--metric", "judge:fluency",
                       "--metric-opt", "judge.model=openai:other", "--metric-opt", f"judge.base_url={server.url}")
    assert code == 3 and "does not serve 'other'" in err and "it serves: judge-x" in err
    assert not (in_tmp / "results").exists() and server.requests == []


@pytest.mark.parametrize("model, message, code", [
    ("./no/such/dir", "judge model: model directory not found: ./no/such/dir", 3),
    ("nobody/no-such-judge-model", "judge model: model 'nobody/no-such-judge-model' is not in the Hugging Face cache",
     3),
    ("distilbart", "judge model 'distilbart' is a seq2seq model; a judge is a causal LM or openai:NAME", 2),
])
def test_a_local_judge_that_is_not_there_or_not_a_causal_lm_is_refused(model, message, code, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(BenchError) as e:
        resolve_metric("judge:coherence")(None, {"model": model}, None)
    assert message in str(e.value) and e.value.exit_code == code
    assert "--model " not in str(e.value)  # the hint names the judge's option


def test_rows_without_a_document_are_refused_before_the_judge_is_asked(server, cli, in_tmp):
    _write(in_tmp / "s.jsonl", [{k: v for k, v in r.items() if k != "document"} for r in ROWS])
    code, _, err = cli("score", "s.jsonl", "--metric", "judge:consistency", "--metric-opt",
                       "judge.model=openai:judge-x", "--metric-opt", f"judge.base_url={server.url}")
    assert code == 2 and "needs a 'document' on every line" in err and server.requests == []


# ------------------------------------------------------------------ a local causal LM


@pytest.mark.slow
def test_a_tiny_local_causal_lm_judges_and_its_replies_are_cached(tmp_path):
    from tiny_models import build_gpt2

    from bench.metrics.model_based.judge import JUDGES

    model_dir = build_gpt2(tmp_path / "tiny-gpt2")
    rows = [*ROWS, *({"id": f"x{k}", "prediction": f"summary {k}", "references": [], "document": "Text. " * 200}
                     for k in range(3))]
    settings = {"model": str(model_dir), "max_tokens": 12, "device": "cpu", "scoring": "first-number",
                "prompt": "Rate 1-5.\n{document}\n{summary}\nScore:"}
    metric = JUDGES["coherence"](None, settings, tmp_path / "cache")
    try:
        result = metric.score(_inputs(rows))
    except BenchError as e:  # a random model may never write a number on the scale: the unscored path, all of it
        assert "no reply of the judge has a number from 1 to 5" in str(e)
        result = None
    finally:
        metric.close()
    stored = [v for *_, v, _, _ in stored_rows(tmp_path / "cache", "judge")]
    assert len(stored) == len([r for r in rows if r])  # one reply per example, kept even when none parses
    if result is not None:
        for k, detail in enumerate(result.details["judge_coherence"]):
            (reply,) = detail["replies"]
            assert detail["scores"] == [parse_score(reply, 1, 5)]
            assert result.per_example["judge_coherence"][k] == detail["scores"][0]
        assert result.counts["judge_coherence_unscored"] == sum(v is None for v in result.per_example["judge_coherence"])
        assert "|judge:tiny-gpt2@" in result.signatures["judge_coherence"]
    # the second time the model is not even loaded
    again = JUDGES["coherence"](None, settings, tmp_path / "cache")
    try:
        try:
            again.score(_inputs(rows))
        except BenchError:
            assert result is None
        assert again.judge.model is None and again.judge.requests == 0
    finally:
        again.close()


@pytest.mark.slow
def test_a_local_judge_samples_each_reply_with_its_own_seed_reproducibly(tmp_path):
    from tiny_models import build_gpt2

    from bench.metrics.model_based.judge import JUDGES

    model_dir = build_gpt2(tmp_path / "tiny-gpt2", chat_template=False)
    settings = {"model": str(model_dir), "max_tokens": 6, "device": "cpu", "n": 3, "temperature": 1.0,
                "prompt": "{summary} 1 2 3", "scoring": "first-number"}
    rows = [{"id": "a", "prediction": "alpha", "references": []}, {"id": "b", "prediction": "bravo", "references": []}]
    inputs = MetricInputs(ids=["a", "b"], predictions=["alpha", "bravo"], references=[[], []])

    def replies(cache: Path) -> list[list[str]]:
        metric = JUDGES["fluency"](None, settings, cache)
        try:
            try:
                metric.score(inputs)
            except BenchError as e:
                assert "no reply of the judge has a number from 1 to 3" in str(e)
        finally:
            metric.close()
        return sorted(v.decode() for *_, v, _, _ in stored_rows(cache, "judge"))

    first = replies(tmp_path / "one")
    assert len(first) == len(rows) * 3
    assert len(set(first)) > 1  # sampled: the replies differ
    assert replies(tmp_path / "two") == first  # and the same seeds give the same replies again


def test_a_local_judges_model_options_are_the_shared_ones_after_its_own():
    from dataclasses import fields

    from bench.metrics.metric_options import ModelOptions
    from bench.metrics.model_based.judge import JudgeOptions

    names = [f.name for f in fields(JudgeOptions)]
    assert issubclass(JudgeOptions, ModelOptions)
    assert names[:5] == ["model", "base_url", "api", "api_key_env", "scoring"]
    assert names[-5:] == ["batch_size", "device", "dtype", "max_length", "revision"]


@pytest.mark.slow
def test_max_length_is_the_longest_prompt_of_a_local_judge(tmp_path):
    from tiny_models import build_gpt2

    from bench.metrics.model_based.judge import JUDGES

    model_dir = build_gpt2(tmp_path / "tiny-gpt2", chat_template=False)
    rows = [{"id": "a", "prediction": "summary", "references": [], "document": "Text. " * 200}]
    settings = {"model": str(model_dir), "max_tokens": 4, "device": "cpu", "scoring": "first-number",
                "prompt": "{document}\n{summary}\nScore 1-5:"}
    metric = JUDGES["coherence"](None, {**settings, "max_length": "40"}, tmp_path / "cache")
    try:
        with pytest.raises(BenchError):  # a random model writes no score; the prompt was cut all the same
            metric.score(_inputs(rows))
        assert metric.judge.model.truncated == 1 and "fit 40 tokens" in metric.judge.model.truncation_note
        assert metric.judge.identity()["max_length"] == 40
        assert "|judge:tiny-gpt2@" in metric.signature_value(set()) and "|trunc:40|" in metric.signature_value(set())
    finally:
        metric.close()
    # the tiny model takes 256 tokens: a 250-token prompt and 12 to generate do not fit
    metric = JUDGES["coherence"](None, {**settings, "max_length": "250", "max_tokens": "12"}, tmp_path / "cache")
    try:
        with pytest.raises(BenchError, match="takes 256 tokens: max_length=250 and max_tokens=12 do not fit"):
            metric.score(_inputs(rows))
    finally:
        metric.close()
