"""SummaC-ZS equals a direct computation of its rule with the same NLI model, caches every pair, and refuses
models without entailment and contradiction classes.

The reference computation below is the rule written out plainly, as SummaC's
own `SummaCZS` computes it: one (document sentence, summary sentence) pair at
a time through the model, softmax; per summary sentence the maximum
P(entailment) over the document's sentences minus the maximum
P(contradiction) over them; mean over the summary's sentences, x100.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from cache_kinds import edit, rows as stored_rows
from conftest import SEED_ARTICLE, skip_without_hf

from bench.errors import EXIT_ENVIRONMENT, BenchError
from bench.metrics.metric import MetricInputs
from bench.text.sentences import split_sentences
from bench.metrics.model_based.summac import SummacZS, nli_label_indices

TOLERANCE = 1e-4  # x100 scale: float32 logits, batched with padding vs one pair at a time


def _paragraphs() -> list[str]:
    body = " ".join(SEED_ARTICLE.read_text(encoding="utf-8").splitlines()[3:])
    sentences = split_sentences(body)
    return [" ".join(sentences[i:i + 4]) for i in range(0, 16, 4)]


DOCUMENTS = _paragraphs()
SUMMARIES = [
    " ".join(split_sentences(DOCUMENTS[0])[:2]),
    "Nobody said anything. " + split_sentences(DOCUMENTS[1])[0],
    split_sentences(DOCUMENTS[2])[-1],
    "",
]


@pytest.fixture(scope="module")
def nli(tmp_path_factory) -> dict[str, Path]:
    skip_without_hf()
    from tiny_metric_models import build_nli

    root = tmp_path_factory.mktemp("nli")
    return {
        "bert": build_nli(root / "bert"),
        "roberta": build_nli(root / "roberta", labels=("CONTRADICTION", "NEUTRAL", "ENTAILMENT"), style="roberta"),
        "generic": build_nli(root / "generic", labels=("LABEL_0", "LABEL_1", "LABEL_2")),
        "sentiment": build_nli(root / "sentiment", labels=("negative", "positive")),
    }


def _direct(path: Path, summaries, documents, entailment: int, contradiction: int) -> list[float | None]:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path).eval()
    out = []
    for summary, document in zip(summaries, documents):
        sentence_scores = []
        for hypothesis in split_sentences(summary):
            best_entailment, best_contradiction = 0.0, 0.0
            for premise in split_sentences(document):
                with torch.no_grad():
                    logits = model(**tok(premise, hypothesis, return_tensors="pt", truncation=True)).logits[0]
                p = torch.softmax(logits, dim=-1)
                best_entailment = max(best_entailment, float(p[entailment]))
                best_contradiction = max(best_contradiction, float(p[contradiction]))
            sentence_scores.append(best_entailment - best_contradiction)
        out.append(100 * float(np.mean(sentence_scores)) if sentence_scores else None)
    return out


def _compute(path: Path, summaries=SUMMARIES, documents=DOCUMENTS, cache_dir: Path | None = None, **settings):
    metric = SummacZS(settings={"model": str(path), "device": "cpu", **settings}, cache_dir=cache_dir)
    try:
        return metric.score(MetricInputs(ids=[f"d{i}" for i in range(len(summaries))], predictions=list(summaries),
                                           references=[[] for _ in summaries], documents=list(documents)))
    finally:
        metric.close()


@pytest.mark.slow
@pytest.mark.parametrize("style, labels", [("bert", (0, 2)), ("roberta", (2, 0))])
def test_equals_the_rule_computed_directly(nli, style, labels):
    result = _compute(nli[style], batch_size=3)
    expected = _direct(nli[style], SUMMARIES, DOCUMENTS, *labels)
    np.testing.assert_allclose(result.per_example["summac_zs"][:-1], expected[:-1], rtol=0, atol=TOLERANCE)
    assert result.metrics["summac_zs"] == pytest.approx(np.mean(expected[:-1]), abs=TOLERANCE)
    assert f"|labels:e{labels[0]}-c{labels[1]}|" in result.signatures["summac_zs"]
    # The per-sentence scores behind each summary's, for predictions.jsonl.
    details = result.details["summac_zs"]
    for summary, score, rows in zip(SUMMARIES, result.per_example["summac_zs"], details):
        assert [r["sentence"] for r in rows] == split_sentences(summary)
        if rows:
            assert np.mean([r["score"] for r in rows]) == pytest.approx(score, abs=1e-9)
            for r in rows:
                assert r["score"] == pytest.approx(r["entailment"] - r["contradiction"], abs=1e-9)
                assert 0 <= r["entailment"] <= 100 and 0 <= r["contradiction"] <= 100
                assert r["entailed_by"] >= 0 and r["contradicted_by"] >= 0
    # The two maxima are separate: somewhere a sentence's best entailment and strongest contradiction come
    # from different document sentences (else this test could not tell the rule from max of differences).
    assert any(r["entailed_by"] != r["contradicted_by"] for rows in details for r in rows)
    # An empty summary has no sentence to judge: unscored, counted, left out of the mean.
    assert details[-1] == [] and result.per_example["summac_zs"][-1] is None
    assert result.counts["summac_zs_unscored"] == 1
    assert any("1 empty prediction" in w for w in result.warnings)


@pytest.mark.slow
def test_pairs_are_cached_so_a_rerun_and_a_second_summarizer_pay_only_for_new_pairs(nli, tmp_path):
    from bench.metrics.model_based.loading import NLI, load_metric_model
    from bench.metrics.model_based.summac import SummacZSScorer, model_key, open_cache

    model = load_metric_model(str(nli["bert"]), NLI, device="cpu")
    cache = open_cache(tmp_path, model_key(model))
    scorer = SummacZSScorer(model, 0, 2, cache)
    first = scorer.score(SUMMARIES, DOCUMENTS)
    assert first.computed == first.pairs > 0
    again = scorer.score(SUMMARIES, DOCUMENTS)
    assert again.computed == 0
    np.testing.assert_array_equal(again.scores, first.scores)  # NaN (the empty summary) included
    # The same summaries but the third; "Nobody said anything." against document 1 was seen in SUMMARIES[1].
    other = [SUMMARIES[0], "Nobody said anything.", "A new sentence about nothing.", SUMMARIES[3]]
    second = scorer.score(other, DOCUMENTS)
    n_doc = [len(split_sentences(d)) for d in DOCUMENTS]
    assert second.computed == n_doc[2]  # only "A new sentence about nothing." against document 2 is new
    cache.close()
    model.close()
    assert len(stored_rows(tmp_path, "summac_pairs")) == first.pairs + n_doc[2]
    # A new process (a new metric) reads the same file, and the numbers do not change.
    result = _compute(nli["bert"], other, DOCUMENTS, cache_dir=tmp_path)
    np.testing.assert_allclose(np.array(result.per_example["summac_zs"], dtype=float), second.scores, rtol=0,
                               atol=1e-12)


@pytest.mark.slow
def test_a_model_without_entailment_and_contradiction_labels_is_refused(nli):
    with pytest.raises(BenchError, match=r"no entailment label in its config.id2label \(its labels: 0: negative, "
                                         r"1: positive\)") as e:
        SummacZS(settings={"model": str(nli["sentiment"])})
    assert e.value.exit_code == EXIT_ENVIRONMENT
    with pytest.raises(BenchError, match="LABEL_0"):
        SummacZS(settings={"model": str(nli["generic"])})
    # Naming the classes makes the model usable.
    result = _compute(nli["generic"], SUMMARIES[:1], DOCUMENTS[:1], entailment_label="LABEL_0",
                      contradiction_label="2")
    expected = _direct(nli["generic"], SUMMARIES[:1], DOCUMENTS[:1], 0, 2)
    assert result.per_example["summac_zs"] == pytest.approx(expected, abs=TOLERANCE)


def test_label_names_are_read_from_id2label():
    assert nli_label_indices({"0": "ENTAILMENT", "1": "NEUTRAL", "2": "CONTRADICTION"}, "m") == (0, 2)
    assert nli_label_indices({0: "contradiction", 1: "entailment", 2: "neutral"}, "m") == (1, 0)
    assert nli_label_indices({0: "SUPPORTS", 1: "REFUTES", 2: "NOT ENOUGH INFO"}, "m") == (0, 1)
    # An alias's classes (SummaC's table) are used only when the config names none.
    assert nli_label_indices({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}, "m", alias_indices=(0, 1)) == (0, 1)
    with pytest.raises(BenchError, match="no contradiction label"):
        nli_label_indices({0: "entailment", 1: "not_entailment"}, "m")
    with pytest.raises(BenchError, match="no entailment label 'yes'"):
        nli_label_indices({0: "entailment", 1: "contradiction"}, "m", entailment_label="yes")
    with pytest.raises(BenchError, match="the same class"):
        nli_label_indices({0: "entailment", 1: "contradiction"}, "m", contradiction_label="0")


@pytest.mark.slow
def test_bench_score_command_line_keeps_per_sentence_details(nli, cli, in_tmp):
    rows = [{"id": f"d{i}", "prediction": s, "references": [], "document": d}
            for i, (s, d) in enumerate(zip(SUMMARIES[:3], DOCUMENTS[:3]))]
    (in_tmp / "preds.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    code, out, err = cli("score", "preds.jsonl", "--metric", "summac_zs", "--metric-opt",
                         f"summac_zs.model={nli['bert']}", "--metric-opt", "summac_zs.device=cpu", "--format", "json")
    assert code == 0, err
    result = json.loads(out)
    expected = _direct(nli["bert"], SUMMARIES[:3], DOCUMENTS[:3], 0, 2)
    assert result["metrics"]["summac_zs"] == pytest.approx(np.mean(expected), abs=TOLERANCE)
    assert result["signatures"]["summac_zs"].startswith("summac_zs|model:")


@pytest.mark.slow
def test_rows_without_a_document_are_refused_before_any_model_loads(nli, cli, in_tmp):
    (in_tmp / "preds.jsonl").write_text(json.dumps({"id": "a", "prediction": "x", "references": ["y"]}) + "\n",
                                        encoding="utf-8")
    code, out, err = cli("score", "preds.jsonl", "--metric", "summac_zs", "--metric-opt",
                         f"summac_zs.model={nli['bert']}")
    assert code == 2 and "document" in err


@pytest.mark.slow
def test_bench_run_and_rescore_keep_details_and_reuse_the_pair_cache(nli, cli, tmp_path):
    out = tmp_path / "results"
    code, _, err = cli("run", "--quiet", "-o", str(out), "-t", "seed-summarization", "-m", "lead-3",
                       "--metric", "summac_zs", "--metric-opt", f"summac_zs.model={nli['bert']}",
                       "--metric-opt", "summac_zs.device=cpu")
    assert code == 0, err
    [run_dir] = [p.parent for p in out.glob("*/*/*/results.json")]
    record = json.loads((run_dir / "results.json").read_text())
    rows = [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text().splitlines()]
    assert record["metrics"]["summac_zs"] == pytest.approx(np.mean([r["scores"]["summac_zs"] for r in rows]))
    for row in rows:
        details = row["details"]["summac_zs"]
        assert [d["sentence"] for d in details] == split_sentences(row["prediction"])
        assert np.mean([d["score"] for d in details]) == pytest.approx(row["scores"]["summac_zs"])
    pairs = record["counts"]["summac_zs_pairs"]
    assert pairs > 0 and len(stored_rows(out / ".cache" / "metrics", "summac_pairs")) == pairs
    # A rescore with another batch size (nothing the cache keys on) reads every pair from the cache: its
    # scores are the run's to the last bit, though batches of another size would round differently.
    code, _, err = cli("rescore", str(run_dir), "--metric", "summac_zs", "--metric-opt",
                       f"summac_zs.model={nli['bert']}", "--metric-opt", "summac_zs.device=cpu",
                       "--metric-opt", "summac_zs.batch_size=2")
    assert code == 0, err
    [rescored] = [p.parent for p in out.glob("*/*/*/results.json") if p.parent != run_dir]
    again = [json.loads(line) for line in (rescored / "predictions.jsonl").read_text().splitlines()]
    assert [r["scores"]["summac_zs"] for r in again] == [r["scores"]["summac_zs"] for r in rows]
    assert [r["details"]["summac_zs"] for r in again] == [r["details"]["summac_zs"] for r in rows]
    # Every cached pair set by hand to entailment 0.99: damage, computed again, never scored.
    edit(out / ".cache" / "metrics", "UPDATE entries SET value = ? WHERE ns = 'summac_pairs'",
         (struct.pack("<dd", 0.99, 0.0),))
    code, _, err = cli("rescore", str(run_dir), "-o", str(tmp_path / "again"), "--metric", "summac_zs",
                       "--metric-opt", f"summac_zs.model={nli['bert']}", "--metric-opt", "summac_zs.device=cpu")
    assert code == 0, err
    assert f"warning: {pairs} damaged entries in the cache store" in err
    [tampered] = [json.loads(p.read_text()) for p in (tmp_path / "again").glob("*/*/*/results.json")]
    assert tampered["metrics"]["summac_zs"] == pytest.approx(record["metrics"]["summac_zs"], abs=1e-4)
