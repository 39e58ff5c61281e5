"""bench's BERTScore equals the bert-score package's (`bert_score.score`, 0.3.13) on tiny local encoders.

Both read the same save_pretrained directories (a BERT-style encoder with a
WordPiece tokenizer, and a RoBERTa-style one with a byte-level BPE
`RobertaTokenizer`), at the same layer and options; numbers agree to 1e-5
on the x100 scale: idf, truncation of long texts, several references,
rescaling with a baseline file.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import SEED_ARTICLE, skip_without_hf

from bench.errors import EXIT_ENVIRONMENT, BenchError
from bench.metrics.metric import MetricInputs
from bench.metrics.model_based.bertscore import BertScore, read_baseline

TOLERANCE = 1e-5  # x100 scale


def _article_sentences() -> list[str]:
    body = SEED_ARTICLE.read_text(encoding="utf-8").splitlines()[3:]
    text = " ".join(line.strip() for line in body if line.strip())
    return [s.strip() + "." for s in text.split(". ") if len(s.split()) > 3]


SENTENCES = _article_sentences()
LONG = " ".join(SENTENCES[:12])  # far longer than the tiny encoders' 64 tokens

PREDICTIONS = [SENTENCES[0], SENTENCES[3], "  " + SENTENCES[5] + "  ", LONG, SENTENCES[1] + " " + SENTENCES[2],
               "Belarus", SENTENCES[8]]
REFERENCES = [
    [SENTENCES[1], SENTENCES[0]],
    [SENTENCES[4]],
    [SENTENCES[5], SENTENCES[6], SENTENCES[7]],
    [SENTENCES[9], LONG[: len(LONG) // 2]],
    [SENTENCES[2]],
    [SENTENCES[10], "Belarus and Russia"],
    [SENTENCES[8]],
]


@pytest.fixture(scope="module")
def encoders(tmp_path_factory) -> dict[str, Path]:
    skip_without_hf()
    from tiny_metric_models import build_bert_encoder, build_roberta_encoder

    root = tmp_path_factory.mktemp("encoders")
    return {"bert": build_bert_encoder(root / "bert"), "roberta": build_roberta_encoder(root / "roberta")}


def _package(path: Path, layer: int, predictions=PREDICTIONS, references=REFERENCES, **options) -> np.ndarray:
    bert_score = pytest.importorskip("bert_score")
    p, r, f = bert_score.score(list(predictions), [list(x) for x in references], model_type=str(path),
                               num_layers=layer, device="cpu", nthreads=0, **options)
    return np.stack([p.numpy(), r.numpy(), f.numpy()], axis=1).astype(np.float64) * 100


def _ours(path: Path, predictions=PREDICTIONS, references=REFERENCES, **settings) -> np.ndarray:
    metric = BertScore(settings={"model": str(path), "device": "cpu", **settings})
    try:
        result = metric.score(MetricInputs(ids=[f"e{i}" for i in range(len(predictions))],
                                             predictions=list(predictions), references=references))
    finally:
        metric.close()
    return np.stack([result.per_example[k] for k in ("bertscore_precision", "bertscore_recall", "bertscore_f1")],
                    axis=1)


@pytest.mark.slow
@pytest.mark.parametrize("style", ["bert", "roberta"])
@pytest.mark.parametrize("idf", [False, True])
def test_equals_the_package(encoders, style, idf):
    ours = _ours(encoders[style], layer=2, idf=idf)
    theirs = _package(encoders[style], 2, idf=idf)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=TOLERANCE)
    # Several references: each of P, R and F is its best over the references.
    assert ours[2, 0] > 0 and np.isfinite(ours).all()


@pytest.mark.slow
@pytest.mark.parametrize("layer", [0, 1, 3])
def test_every_layer_equals_the_package(encoders, layer):
    np.testing.assert_allclose(_ours(encoders["roberta"], layer=layer), _package(encoders["roberta"], layer),
                               rtol=0, atol=TOLERANCE)


@pytest.mark.slow
def test_rescaled_with_a_baseline_file_equals_the_package(encoders, tmp_path):
    baseline = tmp_path / "baseline.tsv"
    rows = ["LAYER,P,R,F"] + [f"{k},{0.61 + k / 100:.8f},{0.62 + k / 100:.8f},{0.615 + k / 100:.8f}" for k in range(4)]
    baseline.write_text("\n".join(rows) + "\n", encoding="utf-8")
    ours = _ours(encoders["bert"], layer=2, idf=True, rescale_with_baseline=True, baseline_path=str(baseline))
    theirs = _package(encoders["bert"], 2, idf=True, rescale_with_baseline=True, lang="en",
                      baseline_path=str(baseline))
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=TOLERANCE)
    assert read_baseline(baseline, 2) == pytest.approx((0.63, 0.64, 0.635))


@pytest.mark.slow
def test_batch_size_does_not_change_the_numbers(encoders):
    one = _ours(encoders["bert"], layer=3, batch_size=1)
    many = _ours(encoders["bert"], layer=3, batch_size=64)
    # Up to float32 rounding: a batch of one text has no padding, and torch may take another attention kernel
    # for it, which can move a score by an ulp or two (6e-6 each near 100 on this scale).
    np.testing.assert_allclose(one, many, rtol=0, atol=5e-5)


@pytest.mark.slow
def test_empty_texts_score_zero_raw(encoders, tmp_path):
    # bert-score 0.3.13 cannot encode an empty text under transformers 5 (it calls the removed
    # build_inputs_with_special_tokens), so its documented rule is checked directly: a text of only the
    # special tokens scores P = R = F = 0, rescaled (0 - b) / (1 - b).
    predictions = ["", "   ", SENTENCES[0]]
    references = [[SENTENCES[0]], [SENTENCES[1]], [""]]
    np.testing.assert_array_equal(_ours(encoders["roberta"], predictions, references, layer=2), 0.0)
    baseline = tmp_path / "b.tsv"
    baseline.write_text("LAYER,P,R,F\n0,0.5,0.5,0.5\n1,0.5,0.5,0.5\n2,0.75,0.8,0.5\n", encoding="utf-8")
    rescaled = _ours(encoders["roberta"], predictions, references, layer=2, rescale_with_baseline=True,
                     baseline_path=str(baseline))
    np.testing.assert_allclose(rescaled, np.tile([-300.0, -400.0, -100.0], (3, 1)), atol=1e-4)


@pytest.mark.slow
def test_an_example_without_references_is_unscored_and_counted(encoders):
    metric = BertScore(settings={"model": str(encoders["bert"]), "layer": 1, "device": "cpu"})
    try:
        result = metric.score(MetricInputs(ids=["e0", "e1", "e2"], predictions=PREDICTIONS[:3],
                                             references=[REFERENCES[0], [], REFERENCES[2]]))
    finally:
        metric.close()
    assert result.per_example["bertscore_f1"][1] is None
    assert result.counts["bertscore_f1_unscored"] == 1 and any("without references" in w for w in result.warnings)
    both = _ours(encoders["bert"], [PREDICTIONS[0], PREDICTIONS[2]], [REFERENCES[0], REFERENCES[2]], layer=1)
    assert result.metrics["bertscore_f1"] == pytest.approx(both[:, 2].mean(), abs=TOLERANCE)


@pytest.mark.slow
def test_idf_over_one_reference_is_undefined_and_refused(encoders):
    # With one reference every token's idf is log(2/2) = 0: the package gives NaN, bench says why.
    with pytest.raises(BenchError, match="idf"):
        _ours(encoders["bert"], [SENTENCES[0]], [[SENTENCES[0]]], layer=1, idf=True)


@pytest.mark.slow
def test_bench_score_command_line(encoders, cli, in_tmp):
    rows = [{"id": f"e{i}", "prediction": p, "references": r} for i, (p, r) in enumerate(zip(PREDICTIONS, REFERENCES))]
    (in_tmp / "preds.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    code, out, err = cli("score", "preds.jsonl", "--metric", "bertscore", "--metric-opt",
                         f"bertscore.model={encoders['roberta']}", "--metric-opt", "bertscore.layer=2",
                         "--metric-opt", "bertscore.idf=true", "--metric-opt", "bertscore.device=cpu",
                         "--format", "json")
    assert code == 0, err
    result = json.loads(out)
    theirs = _package(encoders["roberta"], 2, idf=True).mean(axis=0)
    for k, name in enumerate(("bertscore_precision", "bertscore_recall", "bertscore_f1")):
        assert result["metrics"][name] == pytest.approx(theirs[k], abs=TOLERANCE)
        sig = result["signatures"][name]
        assert sig.startswith(f"{name}|model:") and "|layer:2|idf:refs|rescaled:no|nrefs:1-3|" in sig


@pytest.mark.slow
def test_wrong_options_are_one_clear_message(encoders, tmp_path):
    with pytest.raises(BenchError, match="layer 9 does not exist: the model has layers 0 to 3"):
        _ours(encoders["bert"], ["a"], [["a"]], layer=9)
    with pytest.raises(BenchError, match="no bundled rescale baseline"):
        BertScore(settings={"model": str(encoders["bert"]), "rescale_with_baseline": True})
    bad = tmp_path / "bad.tsv"
    bad.write_text("layer;p;r;f\n", encoding="utf-8")
    with pytest.raises(BenchError, match="not 'LAYER,P,R,F'") as e:
        BertScore(settings={"model": str(encoders["bert"]), "rescale_with_baseline": True,
                            "baseline_path": str(bad)})
    assert e.value.where.endswith("bad.tsv:1")
    with pytest.raises(BenchError, match="batch_size"):
        BertScore(settings={"model": str(encoders["bert"]), "batch_size": "lots"})
    with pytest.raises(BenchError, match="has no option 'layers'"):
        BertScore(settings={"model": str(encoders["bert"]), "layers": 3})


@pytest.mark.slow
def test_a_model_neither_cached_nor_downloadable_is_the_offline_error(monkeypatch):
    skip_without_hf()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", "/nonexistent-cache-for-bench-tests")
    with pytest.raises(BenchError, match="not in the Hugging Face cache") as e:
        BertScore()  # the default: roberta-large, layer 17
    assert e.value.exit_code == EXIT_ENVIRONMENT
    assert "FacebookAI/roberta-large" in str(e.value)
    assert "--metric-opt bertscore.model=/path/to/model" in e.value.hint


@pytest.mark.slow
def test_a_text_against_itself_scores_100_within_the_declared_range(encoders):
    ours = _ours(encoders["bert"], SENTENCES[:6], [[s] for s in SENTENCES[:6]], layer=3)
    np.testing.assert_allclose(ours, 100.0, atol=1e-3)  # float32 rounding may put it a hair above 100
    for k, name in enumerate(("bertscore_precision", "bertscore_recall", "bertscore_f1")):
        lo, hi = BertScore.range_of(name)
        assert lo < ours[:, k].min() and ours[:, k].max() <= hi
