"""UniEval's meta-evaluation files as published: recognised by their fields, its predict_scores as the metric
unieval against each criterion's ratings (scipy on the file's own numbers), and the numbers UniEval's README
prints for QAGS when its files are at hand."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.stats

from bench.correlation.ratings import read_ratings

DATA = Path(__file__).resolve().parent / "data"
SAMPLE = DATA / "unieval_sample.json"
REPO = Path(__file__).resolve().parents[2]


def scipy_three(x, y) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {"pearson": scipy.stats.pearsonr(x, y).statistic, "spearman": scipy.stats.spearmanr(x, y).statistic,
                "kendall": scipy.stats.kendalltau(x, y).statistic}


def test_the_file_is_read_as_published(tmp_path):
    rated = read_ratings(SAMPLE)
    items = json.loads(SAMPLE.read_text(encoding="utf-8"))
    assert rated.layout == "unieval" and len(rated.summaries) == len(items) == 48
    assert rated.documents[0] == "dm-test-0000" and rated.systems == ("M0", "M11", "M17", "M23")
    assert rated.criteria == ("coherence", "consistency", "fluency", "relevance")
    first = rated.summaries[0]
    assert first.prediction == items[0]["system_output"] and first.document == items[0]["source"]
    assert first.references == (items[0]["reference"],) and first.ratings["fluency"] == (items[0]["scores"]["fluency"],)
    assert set(rated.criterion_scores) == {"unieval"}
    assert rated.criterion_scores["unieval"]["overall"][3] == items[3]["predict_scores"]["overall"]
    # each item's line is where it starts
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    for summary in rated.summaries[:5]:
        line = int(summary.where.rsplit(":", 1)[1])
        assert lines[line - 1].strip() == "{" and summary.id in lines[line]


def test_unieval_against_each_criterion_equals_scipy_at_every_level(in_tmp, cli):
    code, out, err = cli("correlate", SAMPLE, "--format", "json", "--resamples", "50")
    assert code == 0, err
    data = json.loads(out)
    assert data["layout"] == "unieval" and data["levels"] == ["summary", "system", "sample"]
    items = json.loads(SAMPLE.read_text(encoding="utf-8"))
    rows = {(r["criterion"], r["level"]): r for r in data["rows"]}
    assert {m for m in (r["metric"] for r in data["rows"])} == {"unieval"}
    for criterion in ("coherence", "consistency", "fluency", "relevance"):
        x = np.array([i["predict_scores"][criterion] for i in items])
        y = np.array([i["scores"][criterion] for i in items])
        for c, v in scipy_three(x, y).items():
            assert abs(rows[criterion, "sample"][c] - v) <= 1e-12
        docs = sorted({i["doc_id"] for i in items})
        per_doc = [scipy_three(x[[k for k, i in enumerate(items) if i["doc_id"] == d]],
                               y[[k for k, i in enumerate(items) if i["doc_id"] == d]]) for d in docs]
        kept = [p for p in per_doc if np.isfinite(p["kendall"])]
        assert abs(rows[criterion, "summary"]["spearman"] - np.mean([p["spearman"] for p in kept])) <= 1e-12
        systems = sorted({i["system_id"] for i in items})
        xs = [x[[k for k, i in enumerate(items) if i["system_id"] == s]].mean() for s in systems]
        ys = [y[[k for k, i in enumerate(items) if i["system_id"] == s]].mean() for s in systems]
        assert abs(rows[criterion, "system"]["kendall"] - scipy_three(np.array(xs), np.array(ys))["kendall"]) <= 1e-12


def test_bench_metrics_beside_unieval_and_no_system_id(in_tmp, cli):
    items = json.loads(SAMPLE.read_text(encoding="utf-8"))
    for item in items:
        del item["system_id"]
    (in_tmp / "anon.json").write_text(json.dumps(items), encoding="utf-8")
    code, out, err = cli("correlate", "anon.json", "-f", "json", "--resamples", "20", "--metric", "unieval",
                         "--metric", "rouge", "--criterion", "relevance")
    assert code == 0, err
    data = json.loads(out)
    assert data["levels"] == ["summary", "sample"]  # summaries told apart by their order: no system level
    assert {r["metric"] for r in data["rows"]} == {"unieval", "rouge1", "rouge2", "rougeL", "rougeLsum"}
    assert any("no system_id" in n for n in data["notes"])


def test_one_summary_per_document_as_qags_files_are(in_tmp, cli):
    rng = np.random.default_rng(4)
    items = [{"doc_id": k, "source": "a source text", "system_output": f"summary {k}",
              "scores": {"consistency": float(rng.integers(0, 4) / 3)},
              "predict_scores": {"consistency": float(rng.random())}} for k in range(30)]
    (in_tmp / "qags_like.json").write_text(json.dumps(items, indent=4), encoding="utf-8")
    code, out, err = cli("correlate", "qags_like.json", "-f", "json", "--resamples", "20")
    assert code == 0, err
    data = json.loads(out)
    assert data["levels"] == ["sample"] and len(data["rows"]) == 1
    x = [i["predict_scores"]["consistency"] for i in items]
    y = [i["scores"]["consistency"] for i in items]
    for c, v in scipy_three(x, y).items():
        assert abs(data["rows"][0][c] - v) <= 1e-12
    assert "each document has one rated summary" in err


# ------------------------------------------------------------------ UniEval's published numbers

#: UniEval's README (github.com/maszhongming/UniEval), sample level, Pearson / Spearman / Kendall's tau-b of
#: predict_scores against the human consistency ratings.
PUBLISHED = {"qags_cnndm": (0.681681, 0.662255, 0.531636), "qags_xsum": (0.461376, 0.48792, 0.399218)}


def unieval_file(name: str) -> Path | None:
    """UniEval's file `name` (with predict_scores) under BENCH_UNIEVAL_DIR (a checkout of UniEval's repository, or a
    folder holding its files), or under shared/unieval or tests/correlation/data/unieval of this checkout."""
    bases = [Path(p) for p in (os.environ.get("BENCH_UNIEVAL_DIR"),) if p]
    bases += [REPO / "shared" / "unieval", DATA / "unieval"]
    for base in bases:
        if not base.is_dir():
            continue
        for path in sorted(base.rglob(f"{name}*.json")):
            try:
                first = json.loads(path.read_text(encoding="utf-8"))[0]
            except (ValueError, IndexError, KeyError, OSError):
                continue
            if isinstance(first, dict) and "predict_scores" in first:
                return path
    return None


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_uni_evals_published_qags_numbers(in_tmp, cli, name):
    path = unieval_file(name)
    assert path is not None, f"UniEval's {name}.json is missing from {DATA / 'unieval'}"
    code, out, err = cli("correlate", path, "--format", "json", "--resamples", "10")
    assert code == 0, err
    data = json.loads(out)
    row = next(r for r in data["rows"] if r["level"] == "sample" and r["criterion"] == "consistency"
               and r["metric"] == "unieval")
    pearson, spearman, kendall = PUBLISHED[name]
    assert abs(row["pearson"] - pearson) <= 1e-6
    assert abs(row["spearman"] - spearman) <= 1e-6
    assert abs(row["kendall"] - kendall) <= 1e-6
