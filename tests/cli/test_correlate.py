"""`bench correlate`: tables of metric-human correlation from a ratings file, SummEval's file or runs."""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.stats

from bench.correlation.ratings import read_ratings
from bench.metrics import MetricInputs
from bench.metrics.scoring import score_examples

DATA = Path(__file__).resolve().parent.parent / "correlation" / "data"
SUMMEVAL = DATA / "summeval_sample.jsonl"
KEYS = {"metric", "criterion", "level", "n", "kendall", "spearman", "pearson", "ci"}


def write(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def ratings_file(path: Path) -> Path:
    """SummEval's sample as a ratings file: one line per summary, the experts' ratings as lists."""
    rows = []
    for text in SUMMEVAL.read_text(encoding="utf-8").splitlines():
        obj = json.loads(text)
        rows.append({"id": obj["id"], "system": obj["model_id"], "prediction": obj["decoded"],
                     "references": obj["references"], "document": obj["text"],
                     "ratings": {c: [a[c] for a in obj["expert_annotations"]]
                                 for c in ("coherence", "relevance")}})
    return write(path, rows)


def rouge_grid(path: Path) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """ROUGE of every summary through bench's scoring API, and the mean ratings, as documents x systems arrays."""
    rated = read_ratings(path)
    inputs = MetricInputs(ids=[str(k) for k in range(len(rated.summaries))],
                          predictions=[s.prediction for s in rated.summaries],
                          references=[list(s.references) for s in rated.summaries])
    per = score_examples(["rouge"], inputs).per_example
    scores = {name: rated.grid([p[name] for p in per]) for name in per[0]}
    return scores, rated.mean_ratings()


def test_json_rows_match_scipy_on_the_summeval_file(in_tmp, cli):
    code, out, err = cli("correlate", SUMMEVAL, "--format", "json", "--resamples", "100")
    assert code == 0, err
    data = json.loads(out)
    assert data["layout"] == "summeval" and data["documents"] == 3 and data["systems"] == 4
    rows = data["rows"]
    assert {r["metric"] for r in rows} == {"rouge1", "rouge2", "rougeL", "rougeLsum"}  # ROUGE by default
    assert {r["criterion"] for r in rows} == {"coherence", "consistency", "fluency", "relevance"}
    assert len(rows) == 4 * 4 * 3 and all(KEYS <= set(r) for r in rows)
    assert data["levels"] == ["summary", "system", "sample"] and data["summaries"] == 12
    scores, ratings = rouge_grid(SUMMEVAL)
    for r in rows:
        s, h = scores[r["metric"]], ratings[r["criterion"]]
        if r["level"] == "sample":  # the 12 summaries pooled
            ref = scipy.stats.spearmanr(s.ravel(), h.ravel()).statistic
            assert r["n"] == 12
        elif r["level"] == "system":
            ref = scipy.stats.spearmanr(s.mean(axis=0), h.mean(axis=0)).statistic
            assert r["n"] == 4
        else:
            per_doc = [scipy.stats.spearmanr(s[d], h[d]).statistic for d in range(3)
                       if np.ptp(s[d]) > 0 and np.ptp(h[d]) > 0]
            ref = np.mean(per_doc)
            assert r["n"] == len(per_doc)
        assert abs(r["spearman"] - ref) <= 1e-12
        if r["level"] == "sample":
            lo, hi = r["ci"]["spearman"]
            assert lo <= hi and not r["withheld"]
        else:  # 3 documents, 4 systems: too few for an interval
            assert r["ci"]["spearman"] is None and r["withheld"] and r["best"] == []
    assert [a["criterion"] for a in data["agreement"]] == ["coherence", "consistency", "fluency", "relevance"]
    assert all(-1 <= a["alpha"] <= 1 and a["annotators"] == 3 for a in data["agreement"])
    assert data["paired"] and {"a", "b", "diff", "ci", "p", "level", "criterion", "coefficient"} <= set(data["paired"][0])


def test_a_ratings_file_gives_the_same_numbers_as_the_summeval_layout(in_tmp, cli):
    ratings_file(in_tmp / "rated.jsonl")
    code, out, err = cli("correlate", "rated.jsonl", "-f", "json", "--resamples", "50")
    assert code == 0, err
    mine = {(r["metric"], r["criterion"], r["level"]): r for r in json.loads(out)["rows"]}
    code, out, _ = cli("correlate", SUMMEVAL, "-f", "json", "--resamples", "50", "--criterion", "coherence",
                       "--criterion", "relevance")
    theirs = {(r["metric"], r["criterion"], r["level"]): r for r in json.loads(out)["rows"]}
    assert mine.keys() == theirs.keys()
    for key, r in mine.items():
        assert r == theirs[key]


def test_the_table_shows_criteria_as_columns_with_intervals_and_the_agreement(in_tmp, cli):
    code, out, err = cli("correlate", SUMMEVAL, "--resamples", "50", "--metric", "rouge")
    assert code == 0, err
    for text in ("Kendall tau-b, summary level", "Spearman rho, system level", "Pearson r", "coherence", "relevance",
                 "rougeLsum", "95% bootstrap interval", "Krippendorff's alpha", "3 documents x 4 systems"):
        assert text in out, text
    assert "[" in out and "]" in out


def test_md_csv_and_html(in_tmp, cli):
    code, md, err = cli("correlate", SUMMEVAL, "-f", "md", "--resamples", "50", "--html", "page.html")
    assert code == 0, err
    assert "| metric | coherence | consistency | fluency | relevance |" in md and "wrote page.html" in err
    page = (in_tmp / "page.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "Content-Security-Policy" in page and "<script" not in page
    assert page.count("<table>") == 9 and "Annotator agreement" in page
    code, text, err = cli("correlate", SUMMEVAL, "-f", "csv", "--resamples", "50")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 48 and {"kendall", "kendall_lo", "kendall_hi", "best", "withheld"} <= set(rows[0])
    code, out, _ = cli("correlate", SUMMEVAL, "-f", "json", "--resamples", "50")
    by_key = {(r["metric"], r["criterion"], r["level"]): r for r in json.loads(out)["rows"]}
    for r in rows:
        j = by_key[(r["metric"], r["criterion"], r["level"])]
        assert (float(r["pearson"]) if r["pearson"] else None) == j["pearson"]


def test_names_from_the_file_are_inert_in_every_format(in_tmp, cli):
    rows = [{"id": f"d{d}", "system": system, "prediction": f"a summary {d} {k}", "references": ["a summary"],
             "ratings": {"<b>rel|evance</b>\x1b[31m": k + d}} for d in range(3) for k, system in enumerate(["A", "B", "C"])]
    write(in_tmp / "r.jsonl", rows)
    code, out, err = cli("correlate", "r.jsonl", "--resamples", "20", "--html", "p.html")
    assert code == 0, err
    assert "\x1b[31m" not in out and "\\x1b[31m" in out
    page = (in_tmp / "p.html").read_text(encoding="utf-8")
    assert "<b>rel" not in page and "&lt;b&gt;rel" in page
    code, md, _ = cli("correlate", "r.jsonl", "--resamples", "20", "-f", "md")
    assert "&lt;b&gt;rel\\|evance" in md


def test_constant_documents_are_skipped_and_counted(in_tmp, cli):
    rows = []
    for d in range(4):
        for k, system in enumerate(["A", "B", "C"]):
            rows.append({"id": f"d{d}", "system": system, "prediction": "the cat sat on the mat"[: 6 + 5 * k],
                         "references": ["the cat sat on the mat"],
                         "ratings": {"relevance": 3 if d == 0 else k + 1}})
    write(in_tmp / "r.jsonl", rows)
    code, out, err = cli("correlate", "r.jsonl", "-f", "json", "--resamples", "20", "--metric", "rouge")
    assert code == 0, err
    row = next(r for r in json.loads(out)["rows"] if r["level"] == "summary" and r["metric"] == "rouge1")
    assert row["n"] == 3 and row["skipped"] == 1 and row["kendall"] == pytest.approx(1.0)
    code, out, _ = cli("correlate", "r.jsonl", "--resamples", "20")
    assert "skips up to 1 of 4 documents" in out and "n=3" in out


def test_one_system_gives_the_sample_level_only_and_says_why(in_tmp, cli):
    write(in_tmp / "r.jsonl", [{"id": f"d{d}", "system": "A", "prediction": "x y", "references": ["x"],
                                "ratings": {"relevance": d}} for d in range(3)])
    code, out, err = cli("correlate", "r.jsonl", "-f", "json", "--resamples", "10")
    assert code == 0, err
    data = json.loads(out)
    assert data["levels"] == ["sample"] and {r["level"] for r in data["rows"]} == {"sample"}
    assert all(r["kendall"] is None and r["ci"]["kendall"] is None for r in data["rows"])  # ROUGE is constant
    assert [n for n in data["notes"] if "each document has one rated summary" in n]
    code, out, _ = cli("correlate", "r.jsonl", "--resamples", "10")
    assert out.count("each document has one rated summary") == 1 and "summary level:" not in out


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize("args, expected", [
    (["r.jsonl", "--criterion", "relevanse"], "no rating of criterion 'relevanse'. Did you mean 'relevance'?"),
    (["r.jsonl", "--annotators", "turker"], "--annotators chooses between SummEval's expert and turker annotations"),
    (["r.jsonl", "--resamples", "0"], "--resamples must be 1 or more, got 0"),
    (["r.jsonl", "--metric", "rougee"], "unknown metric 'rougee'"),
    (["r.jsonl", "r.jsonl"], "give one ratings file, got 2 paths"),
    (["."], "a run or results directory needs the ratings of its predictions"),
    (["missing.jsonl"], "missing.jsonl"),
    (["r.jsonl", "--binary", "relevanse"], "--binary relevanse: no rating of criterion 'relevanse'. Did you mean"),
    (["r.jsonl", "--binary", "relevance=high"], "--binary relevance=high: the cut must be a number, got 'high'"),
    (["r.jsonl", "--threshold", "rouge1"], "--threshold expects METRIC=VALUE, got 'rouge1'"),
    (["r.jsonl", "--threshold", "rouge1=nan"], "--threshold rouge1=nan: the value must be a finite number"),
    (["r.jsonl", "--threshold", "rouge1=0.5"], "--threshold: no criterion is rated 0 or 1"),
    (["r.jsonl", "--oracle-threshold"], "--oracle-threshold: no criterion is rated 0 or 1"),
    (["r.jsonl", "--threshold", "rouge1=0.5", "--threshold-from", "r.jsonl"], "give thresholds one way"),
    (["r.jsonl", "--binary", "relevance=2", "--threshold", "rouge9=0.5"], "no metric 'rouge9' is correlated"),
])
def test_usage_errors_are_one_message(in_tmp, cli, args, expected):
    write(in_tmp / "r.jsonl", [{"id": "d", "system": s, "prediction": "x", "references": ["x"],
                                "ratings": {"relevance": 1}} for s in "AB"])
    code, out, err = cli("correlate", *args)
    assert code == 2 and not out and "Traceback" not in err
    assert err.startswith("error: ") and expected in err, err


def test_binary_ratings_are_detection_in_every_format(in_tmp, cli):
    rng = np.random.default_rng(3)
    rows = []
    for k in range(40):
        q = rng.random()
        rows.append({"id": f"d{k}", "system": "A", "prediction": "p", "references": ["r"],
                     "ratings": {"consistent": int(q > 0.5), "fluency": [int(q > 0.2), int(q > 0.4)]},
                     "scores": {"detector": round(q + rng.normal(scale=0.2), 3), "other": float(rng.random())}})
    write(in_tmp / "r.jsonl", rows)
    code, out, err = cli("correlate", "r.jsonl", "-f", "json", "--resamples", "40", "--threshold", "detector=0.5",
                         "--threshold", "other=0.5", "--oracle-threshold")
    assert code == 0, err
    data = json.loads(out)
    # every criterion correlated (consistent too, as the papers report labels); fluency's averaged 0/1 of two
    # annotators is no label
    assert sorted(r["criterion"] for r in data["rows"]) == ["consistent"] * 2 + ["fluency"] * 2
    y = np.array([r["ratings"]["consistent"] for r in rows])
    s = np.array([r["scores"]["detector"] for r in rows])
    from scipy.stats import pearsonr

    row = next(r for r in data["rows"] if (r["metric"], r["criterion"]) == ("detector", "consistent"))
    assert abs(row["pearson"] - pearsonr(s, y).statistic) <= 1e-12
    assert {(d["metric"], d["criterion"]) for d in data["detection"]} == {("detector", "consistent"),
                                                                         ("other", "consistent")}
    d = next(d for d in data["detection"] if d["metric"] == "detector")
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    assert abs(d["roc_auc"] - roc_auc_score(y, s)) <= 1e-12 and d["threshold"] == 0.5
    assert abs(d["balanced_accuracy"] - balanced_accuracy_score(y, s >= 0.5)) <= 1e-12
    assert d["balanced_accuracy_tuned_on_test_data"] >= d["balanced_accuracy"]
    assert data["threshold_source"] == "--threshold"
    code, out, err = cli("correlate", "r.jsonl", "--resamples", "40", "--oracle-threshold", "--html", "p.html")
    assert code == 0, err
    flat = " ".join(out.split())
    assert "Detection of consistent" in flat and "ROC AUC" in flat
    assert "threshold tuned on the test data (optimistic)" in flat and "no threshold given, so no balanced" in flat
    page = (in_tmp / "p.html").read_text(encoding="utf-8")
    assert "Detection of consistent" in page and "tuned on the test data" in page
    code, md, _ = cli("correlate", "r.jsonl", "--resamples", "40", "-f", "md", "--oracle-threshold")
    assert "### Detection of consistent" in md and "tuned on the test data (optimistic)" in md
    code, text, _ = cli("correlate", "r.jsonl", "--resamples", "40", "-f", "csv", "--oracle-threshold")
    table = list(csv.DictReader(io.StringIO(text)))
    detection = [r for r in table if r["level"] == "detection"]
    assert len(detection) == 2 and all(r["roc_auc"] and r["balanced_accuracy_tuned_on_test_data"] for r in detection)


def test_a_bad_ratings_file_writes_nothing(in_tmp, cli):
    write(in_tmp / "r.jsonl", [{"id": "d", "system": "A", "prediction": "x", "references": ["x"],
                                "ratings": {"relevance": "good"}}])
    code, out, err = cli("correlate", "r.jsonl", "-o", "out.json", "--html", "p.html", "-f", "json")
    assert code == 2 and not out
    assert "r.jsonl:1 (field 'ratings'): rating of 'relevance' must be a number or a list of numbers" in err
    assert "hint: one number per annotator" in err
    assert not (in_tmp / "out.json").exists() and not (in_tmp / "p.html").exists()


def test_a_metric_that_reads_the_document_needs_one_on_every_line(in_tmp, cli):
    write(in_tmp / "r.jsonl", [{"id": "d", "system": s, "prediction": "x", "references": ["x"],
                                "ratings": {"relevance": 1}} for s in "AB"])
    code, _, err = cli("correlate", "r.jsonl", "--metric", "extractiveness")
    assert code == 2 and "metric 'extractiveness' needs each example's document" in err


@pytest.mark.slow
def test_extractiveness_on_summevals_source_texts(in_tmp, cli):
    code, out, err = cli("correlate", SUMMEVAL, "--metric", "extractiveness", "-f", "json", "--resamples", "20")
    assert code == 0, err
    metrics = {r["metric"] for r in json.loads(out)["rows"]}
    assert {"coverage", "density"} <= metrics, metrics


def test_defaults_are_bench_metrics_bootstrap_defaults():
    from bench.cli.correlate import RESAMPLES, SEED
    from bench.stats.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED

    assert (SEED, RESAMPLES) == (DEFAULT_SEED, DEFAULT_RESAMPLES)


# ------------------------------------------------------------------ runs


@pytest.mark.slow
def test_runs_of_two_models_with_a_ratings_file(tmp_path, cli, monkeypatch):
    from bench.api import run

    run(models=["lead-3", "textrank"], tasks=["rated-news"], tasks_dirs=[DATA], output_dir=tmp_path / "results")
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "ratings.jsonl", [{"id": i, "system": m, "ratings": {"relevance": [k + j, k + 2 * j],
                                                                            "coherence": 5 - k * j}}
                                       for k, i in enumerate(("n1", "n2", "n3")) for j, m in enumerate(["lead-3", "textrank"])])
    code, out, err = cli("correlate", "results", "--ratings", "ratings.jsonl", "--resamples", "50")
    assert code == 0, err
    assert "3 documents x 2 systems" in out and "rouge2" in out and "relevance" in out
    assert "with 2 systems a correlation across systems is 1, -1 or undefined" in out
    code, out, err = cli("correlate", "results", "--ratings", "ratings.jsonl", "-f", "json", "--resamples", "50",
                         "--metric", "rouge1")
    data = json.loads(out)
    assert data["layout"] == "runs" and {r["metric"] for r in data["rows"]} == {"rouge1"}
    assert data["agreement"][0]["criterion"] == "relevance" and data["agreement"][0]["annotators"] == 2


@pytest.mark.slow
def test_runs_of_several_tasks_need_the_task_named(tmp_path, cli, monkeypatch):
    from bench.api import run

    run(models=["lead-3", "textrank"], tasks=["rated-news", "seed-summarization"], tasks_dirs=[DATA],
        output_dir=tmp_path / "results")
    run(models=["lead-3", "textrank"], tasks=["rated-news"], tasks_dirs=[DATA], output_dir=tmp_path / "one")
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "ratings.jsonl", [{"id": i, "system": m, "ratings": {"relevance": k * (j + 1) % 4}}
                                       for k, i in enumerate(("n1", "n2", "n3")) for j, m in enumerate(["lead-3", "textrank"])])
    code, out, err = cli("correlate", "results", "--ratings", "ratings.jsonl", "--resamples", "50")
    assert code == 2 and out == ""
    assert err.startswith("error: the runs are of 2 tasks (rated-news, seed-summarization); ratings go with one task")
    assert "hint: choose it with --task (-t), e.g. -t rated-news" in err
    args = ("--ratings", "ratings.jsonl", "--resamples", "50", "-f", "json")
    code, out, err = cli("correlate", "results", "-t", "rated-news", *args)
    assert code == 0, err
    code, alone, err = cli("correlate", "one", *args)
    assert code == 0, err
    assert json.loads(out)["rows"] == json.loads(alone)["rows"]  # the other task's runs are left out entirely
    code, out, err = cli("correlate", "results", "-t", "rated-new", *args)
    assert code == 2 and "no run of task 'rated-new' under results. Did you mean 'rated-news'?" in err
    code, out, err = cli("correlate", "ratings.jsonl", "-t", "rated-news")
    assert code == 2 and "--task chooses the runs a ratings file goes with" in err


@pytest.mark.slow
def test_correlate_imports_no_heavy_package(in_tmp):
    code = ("import sys, runpy; sys.argv = ['bench', 'correlate', %r, '--resamples', '10', '-f', 'json'];\n"
            "from bench.cli.app import main\n"
            "try:\n    main()\nexcept SystemExit as e:\n    assert e.code in (0, None), e.code\n"
            "heavy = [m for m in ('torch', 'transformers', 'datasets', 'evaluate') if m in sys.modules]\n"
            "print('HEAVY', heavy)") % str(SUMMEVAL)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=in_tmp)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().endswith("HEAVY []"), proc.stdout[-300:]
    assert not math.isnan(json.loads(proc.stdout.rsplit("HEAVY", 1)[0])["rows"][0]["kendall"])


@pytest.mark.slow
def test_the_statistics_need_no_scipy(in_tmp):
    proc = subprocess.run([sys.executable, "-c", "import sys, bench.correlation.levels, bench.correlation.render; "
                           "print('scipy' in sys.modules)"], capture_output=True, text=True, timeout=60, cwd=in_tmp)
    assert proc.stdout.strip() == "False", proc.stderr[-2000:]
