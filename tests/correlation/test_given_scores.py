"""Scores computed elsewhere: a ratings line's "scores" become metric rows beside the ones bench computes, with
the same statistics; null leaves a summary out and is counted."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from bench.correlation import correlate_ratings
from bench.correlation.levels import correlate
from bench.correlation.ratings import read_ratings
from bench.errors import BenchErrors


def rows(seed: int = 0, docs: int = 12, systems: int = 4):
    rng = np.random.default_rng(seed)
    out = []
    for d in range(docs):
        for k in range(systems):
            q = rng.normal() + k
            out.append({"id": f"d{d}", "system": f"s{k}", "prediction": f"the summary {d} of system {k}" + " word" * k,
                        "references": [f"the summary {d}"], "ratings": {"relevance": int(np.clip(round(q + 3), 1, 5))},
                        "scores": {"api_judge": round(float(q + rng.normal(scale=0.5)), 4),
                                   "dev_metric": None if (d, k) == (0, 0) else float(rng.random())}})
    return out


def write(path, lines):
    path.write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    return path


def test_given_scores_are_rows_with_the_statistics_of_any_metric(tmp_path):
    lines = rows()
    path = write(tmp_path / "r.jsonl", lines)
    rated, result = correlate_ratings([path], n_resamples=40)
    assert {r.metric for r in result.rows} == {"api_judge", "dev_metric"}  # given: no ROUGE unless asked
    assert any("score 'dev_metric': no value (null) for 1 of 48 summaries" in n for n in rated.notes)
    grids = {name: rated.grid(values) for name, values in rated.stored.items()}
    direct = correlate(grids, rated.mean_ratings(), n_resamples=40)
    mine = {(r.metric, r.level): r for r in result.rows}
    for r in direct.rows:
        assert mine[r.metric, r.level].values == r.values and mine[r.metric, r.level].ci == r.ci
    sample = mine["dev_metric", "sample"]
    assert (sample.n, sample.skipped) == (47, 1)
    assert math.isnan(grids["dev_metric"][0, 0])


def test_bench_metrics_beside_given_scores(tmp_path):
    path = write(tmp_path / "r.jsonl", rows(1))
    _, result = correlate_ratings([path], metrics=["api_judge", "rouge"], n_resamples=20)
    assert {r.metric for r in result.rows} == {"api_judge", "rouge1", "rouge2", "rougeL", "rougeLsum"}
    assert {p.a for p in result.paired} | {p.b for p in result.paired} >= {"api_judge", "rouge1"}


def test_a_given_score_named_as_a_metric_bench_computes_is_refused(tmp_path):
    lines = rows(2)
    for line in lines:
        line["scores"] = {"rouge1": 0.5}
    path = write(tmp_path / "r.jsonl", lines)
    with pytest.raises(Exception) as info:
        correlate_ratings([path], metrics=["rouge"], n_resamples=10)
    assert "score 'rouge1' is both given in the file and given by a metric asked for" in str(info.value)


def test_every_bad_score_is_reported_with_its_line(tmp_path):
    lines = rows(3, docs=2)
    lines[1]["scores"]["api_judge"] = "0.9"
    lines[2]["scores"] = {"api_judge": 0.1}  # dev_metric missing
    del lines[3]["scores"]
    lines[4]["scores"]["api_judge"] = True
    path = write(tmp_path / "r.jsonl", lines)
    with pytest.raises(BenchErrors) as info:
        read_ratings(path)
    text = "\n".join(f"{e.where}: {e.message}" for e in info.value.errors)
    assert "r.jsonl:2 (field 'scores'): score 'api_judge' must be a finite number or null, got a string" in text
    assert "r.jsonl:3: score 'dev_metric' is missing (line 1 gives it)" in text
    assert "r.jsonl:4: no 'scores' here, but line 1 gives 'api_judge', 'dev_metric'" in text
    assert "r.jsonl:5 (field 'scores'): score 'api_judge' must be a finite number or null, got a boolean" in text
