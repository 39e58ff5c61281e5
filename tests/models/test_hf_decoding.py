"""Extractive QA decoding: segment ids, the two span decodings, and the answers' no-answer scores.

The models are built here with weights chosen so that the answer can be worked
out (tests/helpers/parity_models.py): a BERT whose segment ids decide the
answer, and pointer models whose logits are dot products with chosen words.
`benchmarks/parity/parity.py` checks the pipeline decoding against the
transformers 4.57 pipeline itself, which CI cannot install.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import skip_without_hf

from bench.models.model import Answer

SENTENCE = "The man named was Alexander Lukashenko of Belarus."


def _task(root: Path, rows: list[dict], **generation) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "t.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    lines = ["name: decoding-qa", "version: 1", "type: qa", "fixture: t.jsonl", "metrics: [squad]"]
    if generation:
        lines.append(f"generation: {json.dumps(generation)}")
    (root / "t.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root / "t.yaml"


def _row(i: int, context: str, question: str = "Who was named?") -> dict:
    return {"id": f"q{i}", "context": context, "question": question, "answers": {"text": [], "answer_start": []}}


def _predictions(cli, out: Path, model: Path, task: Path, *gen: str) -> tuple[list[dict], dict]:
    args = ["run", "--quiet", "--no-cache", "-o", str(out), "--model", str(model), "--task", str(task)]
    for item in gen:
        args += ["--gen", item]
    _, _, err = cli(*args)
    results = list(out.glob("*/*/*/results.json"))
    assert len(results) == 1, err
    record = json.loads(results[0].read_text())
    rows = [json.loads(line) for line in (results[0].parent / "predictions.jsonl").read_text().splitlines()]
    return rows, record


# ------------------------------------------------------------- pure functions


def test_run_qa_answers_carry_the_null_score_minus_the_best_span_score():
    from bench.models.hf.qa import Span, choose_answer

    context = "alpha bravo charl"
    answer = choose_answer(context, [Span(9.0, 6, 17), Span(3.0, 0, 5)], [18.0, 12.5], None)
    assert isinstance(answer, Answer) and answer == "bravo charl" and answer.no_answer_score == 12.5 - 9.0
    abstained = choose_answer(context, [Span(9.0, 6, 17)], [18.0], 0.0)
    assert abstained == "" and abstained.no_answer_score == 9.0
    assert choose_answer(context, [None], [1.0], None).no_answer_score is None


def test_pipeline_scores_spans_by_softmax_probabilities_per_window():
    import numpy as np

    from bench.models.hf.qa import pipeline_candidates

    # [CLS] q [SEP] c c c [SEP]: only the context (and [CLS]) may be in an answer
    allowed = [True, False, False, True, True, True, False]
    start = [1.0, 50.0, 0.0, 2.0, 1.0, 0.0, 0.0]
    end = [1.0, 50.0, 0.0, 0.0, 3.0, 1.0, 0.0]
    candidates, null = pipeline_candidates(start, end, allowed, max_answer_tokens=15)
    ps = np.exp([1.0, 2.0, 1.0, 0.0]) / np.exp([1.0, 2.0, 1.0, 0.0]).sum()  # [CLS] and the context only
    pe = np.exp([1.0, 0.0, 3.0, 1.0]) / np.exp([1.0, 0.0, 3.0, 1.0]).sum()
    assert null == pytest.approx(ps[0] * pe[0], rel=1e-6)
    best = candidates[0]
    assert (best.start, best.end) == (3, 4) and best.score == pytest.approx(ps[1] * pe[2], rel=1e-6)
    assert all(c.end >= c.start and c.score >= 0 for c in candidates)
    assert all(allowed[c.start] or c.start == 0 for c in candidates)
    # a span longer than max_answer_tokens scores 0
    short, _ = pipeline_candidates(start, end, allowed, max_answer_tokens=1)
    assert (short[0].start, short[0].end) in {(4, 4), (3, 3)} and short[0].score < best.score


# --------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    skip_without_hf()
    import parity_models

    root = tmp_path_factory.mktemp("decoding-models")
    return {
        "segments": parity_models.build_segment_pointer_bert(root / "segments", "Alexander", "Lukashenko", "Belarus",
                                                              scale=4.0),
        "cut": parity_models.build_weighted_pointer_qa(root / "cut", {"Alexander": 1.0}, {"Alexander": 1.0}),
        "windows": parity_models.build_weighted_pointer_qa(root / "windows", {"Alexander": 1.0, "Belarus": 0.8},
                                                           {"Alexander": 1.0, "Belarus": 0.8}),
    }


@pytest.mark.slow
def test_segment_ids_decide_the_answer(built, cli, tmp_path):
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    path = built["segments"]
    tok = AutoTokenizer.from_pretrained(path)
    plain = tok("Who was named?", SENTENCE)
    # The setup: transformers 5's generic tokenizer leaves the segment ids out unless asked, and fed all-zero ids
    # the model points at the decoy ("Belarus"), not at the answer.
    assert "token_type_ids" not in plain
    model = AutoModelForQuestionAnswering.from_pretrained(path).eval()
    with torch.no_grad():
        zeros = model(input_ids=torch.tensor([plain["input_ids"]]))
    context_start = plain.sequence_ids().index(1)
    top = int(zeros.start_logits[0, context_start:-1].argmax()) + context_start
    assert tok.convert_ids_to_tokens(plain["input_ids"][top]) == "Belarus"

    task = _task(tmp_path / "task", [_row(0, SENTENCE), _row(1, "Belarus said so. " + SENTENCE)])
    for decoding in ("run_qa", "pipeline"):
        rows, record = _predictions(cli, tmp_path / decoding, path, task, f"qa_decoding={decoding}")
        assert [r["prediction"] for r in rows] == ["Alexander Lukashenko"] * 2, decoding
        assert record["config"]["model"]["qa"]["segment_ids"] is True
        assert record["config"]["model"]["qa"]["decoding"] == decoding


@pytest.mark.slow
def test_pipeline_widens_a_cut_word_and_run_qa_keeps_the_tokens(built, cli, tmp_path):
    from transformers import AutoTokenizer

    context = "The man named was Alexanders of Belarus."
    assert AutoTokenizer.from_pretrained(built["cut"]).tokenize("Alexanders") == ["Alexander", "##s"]
    task = _task(tmp_path / "task", [_row(0, context)])
    run_qa, _ = _predictions(cli, tmp_path / "run_qa", built["cut"], task)
    pipeline, record = _predictions(cli, tmp_path / "pipeline", built["cut"], task, "qa_decoding=pipeline")
    assert run_qa[0]["prediction"] == "Alexander"  # the token's own characters
    assert pipeline[0]["prediction"] == "Alexanders"  # the whole word
    qa = record["config"]["model"]["qa"]
    assert qa["decoding"] == "pipeline" and qa["max_answer_tokens"] == 15 and qa["doc_stride"] == 64


def _two_window_context(tokenizer_dir: Path) -> tuple[str, int, int]:
    """Four 'Alexander's early (the first window only) and one 'Belarus' late (the second window only)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    filler = "the man was named in the news of the week and the day of the month"
    context = "Alexander said so , Alexander said so , Alexander said so , Alexander said so . " + filler + \
        " and then " + filler + " , Belarus ."
    enc = tok("Who was named?", context, truncation="only_second", max_length=48, stride=8,
              return_overflowing_tokens=True)
    windows = [[tok.convert_ids_to_tokens(i) for i, s in zip(ids, enc.sequence_ids(k)) if s == 1]
               for k, ids in enumerate(enc["input_ids"])]
    assert windows[0].count("Alexander") == 4 and "Belarus" not in windows[0]
    later = [w for w in windows[1:] if "Belarus" in w]
    assert later and all("Alexander" not in w for w in windows[1:])
    return context, 48, 8


@pytest.mark.slow
def test_two_windows_where_raw_logits_and_softmax_scores_disagree(built, cli, tmp_path):
    context, length, stride = _two_window_context(built["windows"])
    task = _task(tmp_path / "task", [_row(0, context)], max_seq_length=length, doc_stride=stride)
    # run_qa compares raw start + end logits across windows: 'Alexander' (weight 1.0) beats 'Belarus' (0.8)...
    run_qa, _ = _predictions(cli, tmp_path / "run_qa", built["windows"], task, "max_question_tokens=8")
    assert run_qa[0]["prediction"] == "Alexander"
    # ...the pipeline normalises each window: four 'Alexander's share the first window's probability (the
    # merged answer scores about 1/4), while 'Belarus' has its window to itself (about 1).
    pipeline, _ = _predictions(cli, tmp_path / "pipeline", built["windows"], task, "qa_decoding=pipeline")
    assert pipeline[0]["prediction"] == "Belarus"
    assert run_qa[0]["no_answer_score"] < 0 and pipeline[0]["no_answer_score"] < 0


@pytest.mark.slow
def test_the_model_returns_answers_with_no_answer_scores(built, tmp_path):
    from bench.models.hf.config import info_for
    from bench.models.hf.factory import create_model
    from bench.api import load_task
    from bench.tasks.examples import load_examples

    task, examples = load_examples(load_task(_task(tmp_path / "task", [_row(0, SENTENCE),
                                                                      _row(1, "Belarus said so. " + SENTENCE)])))
    for decoding in ("run_qa", "pipeline"):
        model = create_model(info_for(str(built["segments"])), device="cpu",
                             generation={"qa_decoding": decoding, "null_threshold": 0})
        answers = model.predict(examples, task)
        model.close()
        assert all(isinstance(a, Answer) for a in answers)
        # the answer's pointer logits beat the [CLS] token's by far: a negative margin, and an answer
        assert answers == ["Alexander Lukashenko"] * 2
        assert all(a.no_answer_score is not None and a.no_answer_score < 0 for a in answers)


@pytest.mark.slow
def test_pipeline_names_and_settings_that_do_not_apply_are_refused(built, cli, tmp_path):
    task = _task(tmp_path / "task", [_row(0, SENTENCE)])
    model = str(built["cut"])
    code, _, err = cli("run", "--quiet", "-o", str(tmp_path / "a"), "--model", model, "--task", str(task),
                       "--gen", "handle_impossible_answer=true")
    assert code != 0 and "handle_impossible_answer" in err and "null_threshold=0" in err and "Traceback" not in err
    code, _, err = cli("run", "--quiet", "-o", str(tmp_path / "b"), "--model", model, "--task", str(task),
                       "--gen", "qa_decoding=pipelines")
    assert code != 0 and "qa_decoding must be run_qa or pipeline" in err and "Traceback" not in err
    code, _, err = cli("run", "--quiet", "-o", str(tmp_path / "c"), "--model", model, "--task", str(task),
                       "--gen", "qa_decoding=pipeline", "--gen", "n_best=5")
    assert code != 0 and "n_best applies to qa_decoding=run_qa only" in err
