"""SummaC-ZS and SummaC-Conv equal a direct computation of SummaC's rules with the same NLI model, cache every
pair, and refuse models without entailment and contradiction classes.

The reference computations below are SummaC's code (summac/model_summac.py) written out plainly: the texts
cut as `SummaCImager.split_text` cuts them (sentences and paragraphs of 10 characters or fewer dropped), one
(premise, hypothesis) pair at a time through the model, softmax. SummaC-ZS: per summary sentence the maximum
P(entailment) over the premises minus the maximum P(contradiction) over them, mean over the summary's
sentences, x100. SummaC-Conv: `SummaCConv.forward` on a torch module laid out as SummaC's (its ``mlp`` and
``layer_final``), loaded from a state dict saved as SummaC saves its weights.
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
from bench.metrics import resolve_metric
from bench.metrics.metric import MetricInputs
from bench.text.sentences import split_sentences
from bench.metrics.model_based.summac import SummacZS, document_premises, nli_label_indices, summary_sentences

TOLERANCE = 1e-4  # x100 scale: float32 logits, batched with padding vs one pair at a time


def _paragraphs() -> list[str]:
    body = " ".join(SEED_ARTICLE.read_text(encoding="utf-8").splitlines()[3:])
    sentences = split_sentences(body)
    return [" ".join(sentences[i:i + 4]) for i in range(0, 16, 4)]


_PARAGRAPHS = _paragraphs()
# Short sentences (10 characters or fewer: "It rained.", "Yes.", "No way.") on both sides; paragraphs for
# granularity=paragraph.
DOCUMENTS = [_PARAGRAPHS[0] + " It rained.", _PARAGRAPHS[1] + "\n\n" + _PARAGRAPHS[3], "Yes. " + _PARAGRAPHS[2],
             _PARAGRAPHS[3]]
SUMMARIES = [
    " ".join(split_sentences(DOCUMENTS[0])[:2]),
    "Nobody said anything. Yes. " + split_sentences(_PARAGRAPHS[1])[0],
    split_sentences(DOCUMENTS[2])[-1] + " No way.",
    "Yes. No way.",  # no sentence over 10 characters: unscored (SummaC's code scores it 0)
]


def _summac_split(text: str, granularity: str) -> list[str]:
    """`SummaCImager.split_text` (nltk's sentence splitter replaced by bench's)."""
    def sentences(t: str) -> list[str]:
        return [s for s in split_sentences(t) if len(s) > 10]

    if granularity == "document":
        return [text]
    if granularity == "paragraph":
        paragraphs = [p.strip() for p in (text.split("\n\n") if text.count("\n\n") > 0 else text.split("\n"))]
        return [p for p in paragraphs if len(p) > 10]
    if granularity == "2sents":
        s = sentences(text)
        return [" ".join(s[i:(i + 2)]) for i in range(len(s))]
    return sentences(text)


def _pair(tok, model, premise: str, hypothesis: str):
    import torch

    with torch.no_grad():
        logits = model(**tok(premise, hypothesis, return_tensors="pt", truncation=True)).logits[0]
    return torch.softmax(logits, dim=-1)


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
        # probabilities spread from 0 to 1, so that SummaC-Conv's histograms fill many bins
        "sharp": build_nli(root / "sharp", initializer_range=1.0),
    }


def _direct(path: Path, summaries, documents, entailment: int, contradiction: int,
            granularity: str = "sentence") -> list[float | None]:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path).eval()
    out = []
    for summary, document in zip(summaries, documents):
        sentence_scores = []
        for hypothesis in _summac_split(summary, "sentence"):
            best_entailment, best_contradiction = 0.0, 0.0
            for premise in _summac_split(document, granularity):
                p = _pair(tok, model, premise, hypothesis)
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
@pytest.mark.parametrize("style, labels, granularity", [("bert", (0, 2), "sentence"), ("roberta", (2, 0), "sentence"),
                                                        ("bert", (0, 2), "paragraph"), ("bert", (0, 2), "2sents"),
                                                        ("bert", (0, 2), "document")])
def test_equals_the_rule_computed_directly(nli, style, labels, granularity):
    result = _compute(nli[style], batch_size=3, granularity=granularity)
    expected = _direct(nli[style], SUMMARIES, DOCUMENTS, *labels, granularity=granularity)
    np.testing.assert_allclose(result.per_example["summac_zs"][:-1], expected[:-1], rtol=0, atol=TOLERANCE)
    assert result.metrics["summac_zs"] == pytest.approx(np.mean(expected[:-1]), abs=TOLERANCE)
    assert f"|labels:e{labels[0]}-c{labels[1]}|" in result.signatures["summac_zs"]
    assert f"|minlen:11|gran:{granularity}|" in result.signatures["summac_zs"]
    # The per-sentence scores behind each summary's, for predictions.jsonl: the short sentences are not there.
    details = result.details["summac_zs"]
    assert [r["sentence"] for r in details[1]][1:] == [split_sentences(_PARAGRAPHS[1])[0]]
    for summary, score, rows in zip(SUMMARIES, result.per_example["summac_zs"], details):
        assert [r["sentence"] for r in rows] == [s for s in split_sentences(summary) if len(s) > 10]
        if rows:
            assert np.mean([r["score"] for r in rows]) == pytest.approx(score, abs=1e-9)
            for r in rows:
                assert r["score"] == pytest.approx(r["entailment"] - r["contradiction"], abs=1e-9)
                assert 0 <= r["entailment"] <= 100 and 0 <= r["contradiction"] <= 100
                assert r["entailed_by"] >= 0 and r["contradicted_by"] >= 0
    # The two maxima are separate: somewhere a sentence's best entailment and strongest contradiction come
    # from different document sentences (else this test could not tell the rule from max of differences).
    # Checked where the premises are many (sentences: 4 to 9 a document); with paragraphs (one or two a
    # document) whether they part depends on the random weights' last digits, which differ between machines,
    # and the same code takes the maxima at every granularity.
    if granularity == "sentence":
        assert any(r["entailed_by"] != r["contradicted_by"] for rows in details for r in rows)
    # A summary of short sentences only has no sentence to judge: unscored, counted, left out of the mean.
    assert details[-1] == [] and result.per_example["summac_zs"][-1] is None
    assert result.counts["summac_zs_unscored"] == 1
    assert any("1 prediction(s) with no sentence over 10 characters" in w for w in result.warnings)


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
    n_doc = [len(document_premises(d)) for d in DOCUMENTS]
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
        assert [d["sentence"] for d in details] == summary_sentences(row["prediction"])
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


# ------------------------------------------------------------------ SummaC-Conv

#: SummaC's 'percentile' bins, as `SummaCConv.__init__` writes them.
SUMMAC_PERCENTILE_BINS = [0.0, 0.01, 0.02, 0.03, 0.04, 0.07, 0.13, 0.37, 0.90, 0.91, 0.92, 0.93, 0.94, 0.95, 0.955,
                          0.96, 0.965, 0.97, 0.975, 0.98, 0.985, 0.99, 0.995, 1.0]


def _conv_module():
    """A module laid out as SummaC's `SummaCConv` (models=["vitc"], bins="percentile", nli_labels="e"): what its
    state dict holds."""
    import torch

    class Conv(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.mlp = torch.nn.Linear(len(SUMMAC_PERCENTILE_BINS) - 1, 1)
            self.layer_final = torch.nn.Linear(3, 2)

    return Conv()


def _conv_weights(path: Path, seed: int = 5) -> Path:
    import torch

    torch.manual_seed(seed)
    module = _conv_module()
    with torch.no_grad():
        module.mlp.weight.normal_(0, 0.1)
        module.layer_final.weight.normal_(0, 1.0)
    torch.save(module.state_dict(), path)  # as SummaC's file was written: a state dict of its two layers
    return path


def _conv_direct(nli_path: Path, weights: Path, summaries, documents) -> list[float | None]:
    """`SummaCConv.forward` and `score`, one example at a time, on the image built pair by pair."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(nli_path)
    model = AutoModelForSequenceClassification.from_pretrained(nli_path).eval()
    conv = _conv_module()
    conv.load_state_dict(torch.load(weights))
    out: list[float | None] = []
    for summary, document in zip(summaries, documents):
        premises = _summac_split(document, "sentence")[:100]  # SummaCImager.max_doc_sents
        hypotheses = _summac_split(summary, "sentence")
        if not premises or not hypotheses:
            out.append(None)
            continue
        image = np.array([[float(_pair(tok, model, p, h)[0]) for h in hypotheses] for p in premises])
        rows = []
        for j in range(len(hypotheses)):
            counts = [0.0] * (len(SUMMAC_PERCENTILE_BINS) - 1)
            for x in image[:, j]:  # each bin holds its lower edge; the last holds 1.0 too
                k = max(i for i, edge in enumerate(SUMMAC_PERCENTILE_BINS[:-1]) if edge <= x)
                counts[k] += 1
            rows.append(counts)
        rows = (rows + [[0.0] * len(rows[0])] * 10)[:10]  # n_rows
        histograms = torch.FloatTensor([rows])
        seq_length = int((torch.sum(histograms, dim=-1) != 0.0).long().sum())
        with torch.no_grad():
            rs = conv.mlp(histograms).reshape(1, 10)[0][:seq_length]
            features = torch.cat([torch.mean(rs).unsqueeze(0)] * 3).unsqueeze(0)
            probs = torch.softmax(conv.layer_final(features), dim=-1)
        out.append(100 * float(probs[0, 1]))
    return out


#: SummaC's own weights file, as published (tests/metrics/data/summac/README.md).
PUBLISHED_WEIGHTS = Path(__file__).parent / "data" / "summac" / "summac_conv_vitc_sent_perc_e.bin"


def test_summacs_published_weights_read_as_torch_loads_them():
    import hashlib

    torch = pytest.importorskip("torch")
    from bench.metrics.model_based.summac_conv import read_weights

    w = read_weights(PUBLISHED_WEIGHTS)
    state = torch.load(PUBLISHED_WEIGHTS, map_location="cpu", weights_only=True)
    assert sorted(state) == ["layer_final.bias", "layer_final.weight", "mlp.bias", "mlp.weight"]
    np.testing.assert_array_equal(w.mlp_weight, state["mlp.weight"].numpy()[0])
    assert w.mlp_bias == float(state["mlp.bias"][0])
    np.testing.assert_array_equal(w.final_weight, state["layer_final.weight"].numpy())
    np.testing.assert_array_equal(w.final_bias, state["layer_final.bias"].numpy())
    assert w.sha256 == hashlib.sha256(PUBLISHED_WEIGHTS.read_bytes()).hexdigest()


@pytest.mark.slow
@pytest.mark.parametrize("published", [False, True], ids=["built-here", "summacs-own"])
def test_summac_conv_equals_summacs_forward_computed_directly(nli, tmp_path, cli, monkeypatch, published):
    from bench.metrics.model_based.summac_conv import SummacConv

    weights = PUBLISHED_WEIGHTS if published else _conv_weights(tmp_path / "summac_conv_vitc_sent_perc_e.bin")
    long_summary = " ".join(split_sentences(" ".join(_PARAGRAPHS))[:12])  # 12 sentences: SummaC reads 10
    long_document = " ".join(f"Sentence number {k} of a long list of facts." for k in range(105))  # 100 kept
    summaries = [*SUMMARIES, long_summary, "Sentence number 104 of a long list of facts.", "A summary of nothing."]
    documents = [*DOCUMENTS, DOCUMENTS[0], long_document, "Short. Tiny."]
    inputs = MetricInputs(ids=[f"d{i}" for i in range(len(summaries))], predictions=summaries,
                          references=[[] for _ in summaries], documents=documents)
    metric = SummacConv(settings={"model": str(nli["sharp"]), "device": "cpu", "weights": str(weights),
                                  "batch_size": 4}, cache_dir=tmp_path / "cache")
    try:
        result = metric.score(inputs)
    finally:
        metric.close()
    expected = _conv_direct(nli["sharp"], weights, summaries, documents)
    got = result.per_example["summac_conv"]
    assert [v is None for v in got] == [v is None for v in expected] == [False, False, False, True, False, False,
                                                                           True]
    np.testing.assert_allclose([v for v in got if v is not None], [v for v in expected if v is not None], rtol=0,
                               atol=1e-4)
    if not published:
        assert len({round(v, 3) for v in got if v is not None}) > 3  # the weights tell the examples apart
    assert result.counts["summac_conv_unscored"] == 2
    assert any("1 prediction(s) with more than 10 sentences" in w for w in result.warnings)
    assert any("1 document(s) with more than 100 premises" in w for w in result.warnings)
    assert any("1 document(s) with no sentence over 10 characters" in w for w in result.warnings)
    import hashlib

    sha = hashlib.sha256(weights.read_bytes()).hexdigest()[:12]
    assert f"|gran:sentence|trunc:128|dtype:float32|weights:{sha}|bins:percentile|rows:10|premises:100|agg:mean|" in \
        result.signatures["summac_conv"]
    # the details list the sentences read, each with its first layer's output and its best P(entailment)
    assert len(summary_sentences(long_summary)) == 12
    assert [d["sentence"] for d in result.details["summac_conv"][4]] == summary_sentences(long_summary)[:10]
    # SummaC-ZS on the same model takes every pair from the cache the Conv run filled.
    zs = SummacZS(settings={"model": str(nli["sharp"]), "device": "cpu"}, cache_dir=tmp_path / "cache")
    try:
        zs_result = zs.score(inputs)
    finally:
        zs.close()
    assert zs_result.counts["summac_zs_pairs"] > result.counts["summac_conv_pairs"]  # every premise of the long one
    # (the pairs the Conv run scored were read from the cache; the 5 premises past the 100th were scored)
    assert len(stored_rows(tmp_path / "cache", "summac_pairs")) == zs_result.counts["summac_zs_pairs"]
    # From the command line, the weights named by --metric-opt.
    monkeypatch.chdir(tmp_path)
    rows = [{"id": f"d{i}", "prediction": s, "references": [], "document": d}
            for i, (s, d) in enumerate(zip(summaries[:3], documents[:3]))]
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    code, out, err = cli("score", "p.jsonl", "--metric", "summac_conv", "--metric-opt", f"summac_conv.model={nli['sharp']}",
                         "--metric-opt", "summac_conv.device=cpu", "--metric-opt", f"summac_conv.weights={weights}",
                         "--format", "json")
    assert code == 0, err
    assert json.loads(out)["metrics"]["summac_conv"] == pytest.approx(np.mean(expected[:3]), abs=1e-4)


def test_summac_conv_bins_as_numpy_counts_them():
    from bench.metrics.model_based.summac_conv import PERCENTILE_BINS, histograms

    assert list(PERCENTILE_BINS) == SUMMAC_PERCENTILE_BINS
    row = histograms(np.array([[0.0, 0.01, 0.009999, 0.37, 0.5, 0.995, 1.0, 0.9999, 0.9]]))[0]
    expected = np.zeros(23)
    expected[0] = 2  # 0.0 and 0.009999 in [0, 0.01)
    expected[1] = 1  # 0.01: a bin holds its lower edge
    expected[7] = 2  # 0.37 and 0.5 in [0.37, 0.90)
    expected[8] = 1  # 0.9 in [0.90, 0.91)
    expected[22] = 3  # 0.995, 0.9999 and 1.0: the last bin holds its upper edge too
    np.testing.assert_array_equal(row, expected)


def test_summac_conv_weights_are_refused_unless_they_are_summacs_layout(tmp_path):
    torch = pytest.importorskip("torch")
    from bench.metrics.model_based.summac_conv import read_weights

    with pytest.raises(BenchError, match="metric 'summac_conv' needs SummaC-Conv's weights") as e:
        resolve_metric("summac_conv")(None, {"model": "vitc"}, None)
    assert "github.com/tingofurro/summac" in e.value.hint
    good = _conv_weights(tmp_path / "w.bin")
    assert read_weights(good).mlp_weight.shape == (23,)
    (tmp_path / "text.bin").write_text("not a torch file", encoding="utf-8")
    with pytest.raises(BenchError, match="cannot read SummaC-Conv's weights"):
        read_weights(tmp_path / "text.bin")
    state = torch.load(good)
    torch.save({**state, "extra.weight": torch.zeros(1)}, tmp_path / "extra.bin")
    with pytest.raises(BenchError, match="hold extra.weight, layer_final.bias"):
        read_weights(tmp_path / "extra.bin")
    torch.save({**state, "mlp.weight": torch.zeros(1, 50)}, tmp_path / "even50.bin")
    with pytest.raises(BenchError, match=r"mlp.weight is \(1, 50\) of float32, not \(1, 23\) of floats"):
        read_weights(tmp_path / "even50.bin")
    with pytest.raises(BenchError, match="no such|No such"):
        read_weights(tmp_path / "missing.bin")
    with pytest.raises(BenchError, match="granularity must be one of sentence, paragraph, 2sents, document"):
        resolve_metric("summac_zs")(None, {"granularity": "sentences"}, None)
