"""Reading rated summaries: ratings files, SummEval's annotation file, run directories with a ratings file."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from bench.correlation.ratings import read_ratings, read_runs_with_ratings
from bench.errors import BenchError

SUMMEVAL = Path(__file__).parent / "data" / "summeval_sample.jsonl"


def write(path: Path, rows) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def line(doc="d1", system="A", ratings=None, **extra):
    row = {"id": doc, "system": system, "prediction": f"{system} summary of {doc}", "references": ["a reference"],
           "ratings": {"relevance": 3} if ratings is None else ratings}
    row.update(extra)
    return row


def test_a_ratings_file_on_the_documents_x_systems_grid(tmp_path):
    path = write(tmp_path / "r.jsonl", [
        line("d1", "A", {"relevance": [4, 5, 3], "coherence": 2}),
        line("d1", "B", {"relevance": 2, "coherence": None}),
        line("d2", "B", {"relevance": [1, 2]}, document="the source text"),
    ])
    rated = read_ratings(path)
    assert rated.layout == "ratings" and rated.documents == ("d1", "d2") and rated.systems == ("A", "B")
    assert rated.criteria == ("relevance", "coherence")
    means = rated.mean_ratings()
    assert means["relevance"][0].tolist() == [4.0, 2.0]
    assert math.isnan(means["relevance"][1, 0]) and means["relevance"][1, 1] == 1.5  # no summary of d2 by A
    assert means["coherence"][0, 0] == 2.0 and np.isnan(means["coherence"][0, 1])  # null: not rated
    ann = rated.annotations()["relevance"]
    assert ann.shape == (2, 2, 3) and ann[0, 0].tolist() == [4, 5, 3] and np.isnan(ann[1, 1, 2])
    assert rated.summaries[2].document == "the source text" and rated.summaries[0].document is None
    assert rated.summaries[0].references == ("a reference",)


def test_every_bad_line_is_reported_at_once_with_its_line(tmp_path):
    path = write(tmp_path / "bad.jsonl", [
        line("d1", "A"),
        {"id": "d1", "prediction": "x", "references": ["y"], "ratings": {"relevance": 1}},
        line("d1", "A"),
        line("d2", "A", {"relevance": "high"}),
        line("d3", "A", {"relevance": []}),
        line("d4", "A", {}),
        line("d5", "A", {"relevance": [4, True]}),
        "not json",
        {"id": True, "system": "A", "prediction": "x", "references": ["y"], "ratings": {"relevance": 1}},
        line("d6", "A", document=7),
        {"id": "d7", "system": "A", "references": ["y"], "ratings": {"relevance": 1}},
    ])
    with pytest.raises(BenchError) as e:
        read_ratings(path)
    text = str(e.value)
    assert "bad.jsonl:2: missing field 'system'" in text
    assert "bad.jsonl:3: duplicate (id, system) ('d1', 'A') (first on line 1)" in text
    assert "bad.jsonl:4 (field 'ratings'): rating of 'relevance' must be a number or a list of numbers, got a string" \
        in text
    assert "bad.jsonl:5 (field 'ratings'): rating of 'relevance' must be a number or a list of numbers, got an empty " \
        "list" in text
    assert "bad.jsonl:6 (field 'ratings'): 'ratings' must be an object of criterion -> rating, got an empty object" \
        in text
    assert "bad.jsonl:7 (field 'ratings'): rating of 'relevance' must be a number or a list of numbers, got a list " \
        "holding a boolean" in text
    assert "bad.jsonl:8: invalid JSON" in text
    assert "bad.jsonl:9: 'id' must be a non-empty string" in text
    assert "bad.jsonl:10: 'document' must be a string" in text
    assert "bad.jsonl:11: missing field 'prediction'" in text
    assert text.startswith("10 problems found") and "Traceback" not in text


def test_a_file_without_any_rating_says_so(tmp_path):
    path = write(tmp_path / "r.jsonl", [line("d1", "A", {"relevance": None}), line("d1", "B", {"relevance": None})])
    with pytest.raises(BenchError, match="no summary has a rating"):
        read_ratings(path)


def test_ratings_that_go_with_runs_need_no_texts(tmp_path):
    path = write(tmp_path / "r.jsonl", [{"id": "d1", "system": "A", "ratings": {"relevance": 3}}])
    assert read_ratings(path, texts=False).summaries[0].prediction == ""
    with pytest.raises(BenchError, match="missing field 'prediction'"):
        read_ratings(path)


# ------------------------------------------------------------------ SummEval


def test_summevals_file_is_read_as_published_averaging_the_experts():
    rated = read_ratings(SUMMEVAL)
    assert rated.layout == "summeval"
    assert len(rated.documents) == 3 and rated.systems == ("M0", "M8", "M17", "M23")
    assert rated.criteria == ("coherence", "consistency", "fluency", "relevance")
    lines = [json.loads(x) for x in SUMMEVAL.read_text(encoding="utf-8").splitlines()]
    means = rated.mean_ratings()
    for obj in lines:
        d, s = rated.documents.index(obj["id"]), rated.systems.index(obj["model_id"])
        for c in rated.criteria:
            assert means[c][d, s] == pytest.approx(np.mean([a[c] for a in obj["expert_annotations"]]))
    summary = next(x for x in rated.summaries if (x.id, x.system) == (lines[0]["id"], lines[0]["model_id"]))
    assert summary.prediction == lines[0]["decoded"] and summary.document == lines[0]["text"]
    assert summary.references == tuple(lines[0]["references"])
    assert rated.annotations()["coherence"].shape == (3, 4, 3)


def test_summevals_turker_annotations_on_request():
    rated = read_ratings(SUMMEVAL, annotators="turker")
    obj = json.loads(SUMMEVAL.read_text(encoding="utf-8").splitlines()[0])
    d, s = rated.documents.index(obj["id"]), rated.systems.index(obj["model_id"])
    assert rated.mean_ratings()["fluency"][d, s] == pytest.approx(np.mean([a["fluency"] for a in obj["turker_annotations"]]))
    assert rated.annotations()["fluency"].shape[-1] == 5


def test_a_damaged_summeval_line_names_its_field(tmp_path):
    lines = SUMMEVAL.read_text(encoding="utf-8").splitlines()
    obj = json.loads(lines[1])
    obj["expert_annotations"][1]["coherence"] = "4"
    other = json.loads(lines[2])
    del other["expert_annotations"]
    path = write(tmp_path / "model_annotations.aligned.paired.jsonl", [lines[0], json.dumps(obj), json.dumps(other)])
    with pytest.raises(BenchError) as e:
        read_ratings(path)
    assert ("model_annotations.aligned.paired.jsonl:2 (field 'expert_annotations'): annotator 2's rating of "
            "'coherence' must be a number, got a string") in str(e.value)
    assert ":3 (field 'expert_annotations'): 'expert_annotations' must be a non-empty list" in str(e.value)


# ------------------------------------------------------------------ runs


#: A three-article summarization task (tests/correlation/data/rated-news.yaml).
DATA = SUMMEVAL.parent
IDS = ("n1", "n2", "n3")


def make_runs(root: Path) -> Path:
    """Runs of lead-3 and textrank on the rated-news task; returns the results directory."""
    from bench.api import run

    run(models=["lead-3", "textrank"], tasks=["rated-news"], tasks_dirs=[DATA], output_dir=root / "results")
    return root / "results"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return make_runs(tmp_path_factory.mktemp("runs"))


@pytest.mark.slow
def test_runs_with_a_ratings_file_give_the_runs_predictions_and_stored_scores(runs, tmp_path):
    from bench.comparison.flips import read_predictions
    from bench.comparison.select import collect_runs

    path = write(tmp_path / "r.jsonl", [{"id": i, "system": m, "ratings": {"relevance": k + j}}
                                        for k, i in enumerate(IDS) for j, m in enumerate(["lead-3", "textrank"])])
    rated = read_runs_with_ratings([runs], path)
    assert rated.layout == "runs" and set(rated.systems) == {"lead-3", "textrank"}
    assert set(rated.stored) == {"rouge1", "rouge2", "rougeL", "rougeLsum"}
    stored = {r.model: read_predictions(r.path) for r in collect_runs([runs])}
    for k, s in enumerate(rated.summaries):
        p = stored[s.system][s.id]
        assert s.prediction == p.prediction and s.references == p.references
        assert rated.stored["rouge2"][k] == p.scores["rouge2"]


@pytest.mark.slow
def test_ratings_of_unknown_systems_or_examples_name_their_lines(runs, tmp_path):
    path = write(tmp_path / "r.jsonl", [{"id": "n1", "system": "lead-3", "ratings": {"relevance": 2}},
                                        {"id": "n1", "system": "lead3", "ratings": {"relevance": 2}},
                                        {"id": "n9", "system": "textrank", "ratings": {"relevance": 2}}])
    with pytest.raises(BenchError) as e:
        read_runs_with_ratings([runs], path)
    assert "r.jsonl:2: no run of model 'lead3'. Did you mean 'lead-3'?" in str(e.value)
    assert "r.jsonl:3: the run of 'textrank' has no example 'n9'" in str(e.value)


@pytest.mark.slow
def test_a_model_without_ratings_is_left_out_with_a_note(runs, tmp_path):
    path = write(tmp_path / "r.jsonl", [{"id": i, "system": "lead-3", "ratings": {"relevance": 1}} for i in IDS])
    rated = read_runs_with_ratings([runs], path)
    assert rated.systems == ("lead-3",)
    assert rated.notes == ("run of textrank left out: no ratings",)


def test_numbers_whose_squares_overflow_are_refused_with_their_line(tmp_path, cli, recwarn):
    # 1e308 is a finite double, but Pearson's sums of squares of it are inf and its coefficient NaN; an integer of
    # 400 digits is no double at all. Each is refused where it stands, with the way out; 1e100 itself is kept.
    lines = [line(f"d{d}", s, {"relevance": d + i}) for d in range(3) for i, s in enumerate("ABC")]
    lines[1]["ratings"] = {"relevance": 1e308}
    lines[2]["ratings"] = {"relevance": [2, -1e101]}
    lines[4] = json.dumps(line("d1", "B")).replace('"relevance": 3', '"relevance": ' + "9" * 400)
    lines[5]["scores"] = {"m": 5e300}
    for i, row in enumerate(lines):
        if i != 5 and isinstance(row, dict):
            row["scores"] = {"m": 1e100 if i == 0 else float(i)}
    path = write(tmp_path / "r.jsonl", lines)
    with pytest.raises(BenchError) as e:
        read_ratings(path)
    text = str(e.value)
    assert text.startswith("4 problems found")
    assert "r.jsonl:2 (field 'ratings'): rating of 'relevance' must be a number or a list of numbers, got 1e+308, " \
        "beyond ±1e+100 (rescale the values: the coefficients do not change)" in text
    assert "r.jsonl:3 (field 'ratings'): rating of 'relevance' must be a number or a list of numbers, got a list " \
        "holding -1e+101, beyond ±1e+100" in text
    assert "r.jsonl:5 (field 'ratings'): rating of 'relevance' must be a number or a list of numbers, got an integer " \
        "of 400 digits, beyond ±1e+100" in text
    assert "r.jsonl:6 (field 'scores'): score 'm' must be a finite number or null, got 5e+300, beyond ±1e+100" in text
    code, out, err = cli("correlate", path, "--metric", "m", "--resamples", "10")
    assert code == 2 and out == "" and "Traceback" not in err and "r.jsonl:2" in err
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
    # At the bound itself every coefficient is a number, as for small values.
    for i, row in enumerate(lines):
        if not isinstance(row, dict):
            lines[i] = line("d1", "B")
        lines[i]["ratings"] = {"relevance": [1e100, -1e100, 5e99, 0.0][i * 7 % 4]}
        lines[i]["scores"] = {"m": [-1e100, 1e100, 0.0][i * 5 % 3]}
    write(path, lines)
    code, out, err = cli("correlate", path, "--metric", "m", "--resamples", "10", "-f", "json")
    assert code == 0, err
    big = json.loads(out)["rows"]
    # ... the same as for the values divided by 1e100 (the coefficients do not change with the scale)
    for row in lines:
        row["ratings"]["relevance"] /= 1e100
        row["scores"]["m"] /= 1e100
    write(path, lines)
    code, out, err = cli("correlate", path, "--metric", "m", "--resamples", "10", "-f", "json")
    small = json.loads(out)["rows"]
    assert [r["level"] for r in big] == ["summary", "system", "sample"]
    for b, s in zip(big, small):
        for k in ("kendall", "spearman", "pearson"):
            assert math.isfinite(b[k]) and b[k] == pytest.approx(s[k], abs=1e-12)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
