"""The `extractiveness` metric: the statistics through score, run and rescore, and the references' row.

These import spaCy (about 3 s once per process): all marked slow.
"""

from __future__ import annotations

import json

import pytest

from bench.metrics import MetricInputs
from bench.metrics.extractiveness import fragments as extractive
from bench.metrics.extractiveness.extractiveness_metric import RATES, SCORES, as_paragraph
from bench.metrics.scoring import score_examples

from conftest import REPO

pytestmark = pytest.mark.slow

FOX = "The quick brown fox jumps over the lazy dog"


def test_lighteval_s_published_cases_through_the_metric():
    inputs = MetricInputs.of([FOX, "A fox jumps"], [["r"], ["r"]],
                             documents=[FOX + ". The fox is very fast and agile.", FOX])
    s = score_examples(["extractiveness"], inputs)
    per = s.per_example
    assert (per[0]["coverage"], per[0]["density"], per[0]["compression"]) == (100.0, 9.0, 2.0)
    assert per[1]["coverage"] == pytest.approx(200 / 3) and per[1]["density"] == pytest.approx(4 / 3)
    assert per[1]["compression"] == 3.0
    assert set(s.metrics) == set(SCORES) and all(s.ci[k] is not None for k in SCORES)
    assert all(f"|tok:{extractive.TOKENIZER_ID}|text:lines-joined|of:prediction|agg:mean|" in s.signatures[k]
               for k in SCORES)


def test_rates_are_x100_and_a_summary_s_lines_are_one_paragraph():
    doc = "Rain fell on Monday. Schools closed early. Buses stopped."
    lines, flat = "Rain fell on Monday.\nSchools closed early.", "Rain fell on Monday. Schools closed early."
    assert as_paragraph(f"  {lines}\n\n") == flat
    by_lines = score_examples(["extractiveness"], MetricInputs.of([lines], [[]], documents=[doc])).per_example[0]
    direct = extractive.stats_many([flat], [doc])[0]
    assert by_lines == {k: direct[k] * (100 if k in RATES else 1) for k in SCORES}


def test_the_references_row_is_the_mean_over_each_example_s_references():
    docs = ["a b c d e f", "g h i j"]
    refs = [["a b c", "x y"], ["g h"]]
    s = score_examples(["extractiveness"], MetricInputs.of(["a b", "g"], refs, documents=docs))
    each = extractive.stats_many(["a b c", "x y", "g h"], [docs[0], docs[0], docs[1]])
    expected = ((each[0]["coverage"] + each[1]["coverage"]) / 2 + each[2]["coverage"]) / 2 * 100
    assert s.reference["metrics"]["coverage"] == pytest.approx(expected)
    assert all("|of:reference|refs:mean|" in sig for sig in s.reference["signatures"].values())
    assert s.reference["counts"] == {"reference_examples": 2}


def test_an_empty_summary_is_zero_and_counted():
    s = score_examples(["extractiveness"], MetricInputs.of(["", "a"], [[], []], documents=["a b", "a b"]))
    assert s.per_example[0] == {k: 0.0 for k in SCORES}
    assert s.warnings == ["1 summary is empty: extractiveness statistics 0 (summary_length 0)"]


def test_bench_score_reads_documents_and_needs_no_references(in_tmp, cli):
    rows = [{"id": "1", "prediction": FOX, "document": FOX + ". The fox is very fast and agile."},
            {"id": "2", "prediction": "A fox jumps", "document": FOX}]
    (in_tmp / "s.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, out, err = cli("score", "s.jsonl", "--metric", "extractiveness", "--format", "json")
    assert code == 0, err
    result = json.loads(out)
    assert list(result["metrics"]) == list(SCORES)
    assert result["metrics"]["compression"] == 2.5 and "reference" not in result
    del rows[1]["document"]
    (in_tmp / "s.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, _, err = cli("score", "s.jsonl", "--metric", "extractiveness")
    assert code == 2 and "s.jsonl:2: metric 'extractiveness' needs a 'document' on every line" in err


def test_a_run_reports_the_statistics_beside_rouge_and_tokenizes_each_document_once(in_tmp, cli, spacy_texts):
    seen = spacy_texts
    code, _, err = cli("run", "-q", "-m", "lead-3", "-m", "textrank", "-t", "seed-summarization")
    assert code == 0, err
    records = [json.loads(p.read_text()) for p in sorted((in_tmp / "results").glob("seed-summarization/*/*/"
                                                                                     "results.json"))]
    assert len(records) == 2
    for record in records:
        assert {"rouge1", "rougeLsum", *SCORES} <= set(record["metrics"])
        assert set(record["reference"]["metrics"]) == set(SCORES)
    assert records[0]["reference"] == records[1]["reference"]  # the same references, the same row
    fixture = [json.loads(line) for line in (REPO / "fixtures" / "seed_summarization.jsonl").read_text().splitlines()]
    documents = {r["document"] for r in fixture}
    # each document tokenized once for both models and the references; each distinct text once at all
    assert all(seen.count(d) == 1 for d in documents) and len(seen) == len(set(seen))


def test_rescore_adds_extractiveness_to_a_run_scored_with_rouge_only(in_tmp, cli):
    text = (REPO / "tasks" / "seed-summarization.yaml").read_text(encoding="utf-8")
    text = text.replace("metrics: [rouge, extractiveness]", "metrics: [rouge]").replace(
        "../fixtures/seed_summarization.jsonl", str(REPO / "fixtures" / "seed_summarization.jsonl"))
    (in_tmp / "news.yaml").write_text(text.replace("name: seed-summarization", "name: news"))
    code, _, err = cli("run", "-q", "-m", "lead-3", "-t", "news.yaml")
    assert code == 0, err
    (run,) = (in_tmp / "results" / "news" / "lead-3").iterdir()
    assert "coverage" not in json.loads((run / "results.json").read_text())["metrics"]
    code, _, err = cli("rescore", run, "--metric", "extractiveness", "-o", "more")
    assert code == 0, err
    (new,) = (in_tmp / "more" / "news" / "lead-3").iterdir()
    record = json.loads((new / "results.json").read_text())
    assert {"rouge1", *SCORES} <= set(record["metrics"]) and set(record["reference"]["metrics"]) == set(SCORES)
