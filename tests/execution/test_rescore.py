"""Rescoring: a run's metrics recomputed from its predictions.jsonl as a new run, no model loaded."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import REPO

from bench.errors import BenchError, BenchErrors
from bench.execution.rescoring import find_run_dir, read_predictions, rescore_run
from bench.metrics import MetricOptions
from bench.metrics.scoring import score_predictions
from bench.results.store import read_run

GOOD_RESULTS = REPO / "tests" / "bad_inputs" / "good" / "results"
LEAD = "news/lead-3/20260101T000000Z-000001"


@pytest.fixture
def results(tmp_path):
    shutil.copytree(GOOD_RESULTS, tmp_path / "results")
    return tmp_path / "results"


def test_rescore_writes_a_new_run_beside_the_old_one(results):
    old = read_run(results / LEAD)
    options = MetricOptions(stemmer=False)
    record, path = rescore_run(results / LEAD, options)
    assert path.parent == (results / LEAD).parent and path.name == record["run_id"] != old["run_id"]
    assert read_run(path) == json.loads((path / "results.json").read_text(encoding="utf-8"))
    assert record["config"]["rescored_from"] == old["run_id"]
    assert record["config"]["metric_options"]["stemmer"] is False
    assert "stem:none" in record["signatures"]["rouge1"]
    assert {k: record[k] for k in ("model", "task", "task_hash", "n_examples")} == {
        k: old[k] for k in ("model", "task", "task_hash", "n_examples")}
    assert record["timing"]["load_s"] == old["timing"]["load_s"] and record["timing"]["score_s"] >= 0
    rows = [json.loads(line) for line in (results / LEAD / "predictions.jsonl").read_text().splitlines()]
    expected = score_predictions(["rouge"], [r["prediction"] for r in rows], [r["references"] for r in rows], options)
    assert record["metrics"] == expected.metrics
    new_rows = [json.loads(line) for line in (path / "predictions.jsonl").read_text().splitlines()]
    assert [r["scores"] for r in new_rows] == expected.per_example
    assert [r["prediction"] for r in new_rows] == [r["prediction"] for r in rows]


def test_rescore_into_another_results_directory(results, tmp_path):
    record, path = rescore_run(results / LEAD / "results.json", MetricOptions(), tmp_path / "elsewhere")
    assert path == tmp_path / "elsewhere" / "news" / "lead-3" / record["run_id"]


def test_the_old_scores_need_not_be_sound(results):
    path = results / LEAD / "results.json"
    record = json.loads(path.read_text())
    record["metrics"]["rouge1"] = "68.7"
    path.write_text(json.dumps(record))
    new, _ = rescore_run(results / LEAD, MetricOptions())
    assert isinstance(new["metrics"]["rouge1"], float)


def test_find_run_dir_refuses_what_is_not_a_run(results, tmp_path):
    with pytest.raises(BenchError, match="no such run directory"):
        find_run_dir(tmp_path / "missing")
    with pytest.raises(BenchError, match="not a run directory"):
        find_run_dir(results / "news")
    assert find_run_dir(results / LEAD / "results.json") == results / LEAD


def test_read_predictions_checks_each_line_and_the_count(results):
    run_dir = results / LEAD
    record = read_run(run_dir)
    assert [r["id"] for r in read_predictions(run_dir, record)] == ["river-1", "port-2", "café-3"]
    with pytest.raises(BenchError, match="predictions.jsonl has 3 examples but its results.json says 4"):
        read_predictions(run_dir, {**record, "n_examples": 4})
    pred = run_dir / "predictions.jsonl"
    pred.write_text(pred.read_text().replace('"prediction": "A new ferry', '"prediction": 1, "x": "'))
    with pytest.raises(BenchErrors) as info:
        read_predictions(run_dir, record)
    assert info.value.errors[0].where.endswith("predictions.jsonl:2")
    pred.unlink()
    with pytest.raises(BenchError, match="the run directory has no predictions.jsonl"):
        read_predictions(run_dir, record)


# ------------------------------------------------------------ a string of references is one reference


STRING_REFS = [
    {"id": "a", "prediction": "W", "references": "Wednesday"},
    {"id": "b", "prediction": "Wednesday", "references": "Wednesday"},
    {"id": "c", "prediction": "The ferry runs on Monday.", "references": "A ferry runs on Monday.\nIt is new."},
    {"id": "d", "prediction": "ab", "references": ["ba", "ab"]},
]


def _string_reference_run(results, rows, record_changes=None):
    run = results / LEAD
    lines = [json.dumps({**r, "scores": {}}) for r in rows]
    (run / "predictions.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    record = json.loads((run / "results.json").read_text())
    record.update({"n_examples": len(rows), **(record_changes or {})})
    (run / "results.json").write_text(json.dumps(record), encoding="utf-8")
    return run


def test_rescore_and_score_read_a_string_of_references_as_one_reference(results, cli, tmp_path):
    run = _string_reference_run(results, STRING_REFS)
    record, path = rescore_run(run, MetricOptions(), tmp_path / "out")
    new_rows = [json.loads(line) for line in (path / "predictions.jsonl").read_text().splitlines()]
    assert [r["scores"]["rouge1"] for r in new_rows][:2] == [0.0, 100.0]  # "W" is not the reference "Wednesday"
    assert new_rows[0]["references"] == ["Wednesday"]  # written as the list it is read as
    # the same file through `bench score`: the same numbers
    code, out, err = cli("score", run / "predictions.jsonl", "--format", "json")
    assert code == 0, err
    scored = json.loads(out)
    assert scored["metrics"] == record["metrics"]
    # and the same as writing each string as a one-element list
    listed = [{**r, "references": [r["references"]] if isinstance(r["references"], str) else r["references"]}
              for r in STRING_REFS]
    expected = score_predictions(["rouge"], [r["prediction"] for r in listed], [r["references"] for r in listed],
                                 MetricOptions())
    assert record["metrics"] == expected.metrics and [r["scores"] for r in new_rows] == expected.per_example


def test_squad_reads_a_string_of_references_as_one_answer_too(results, tmp_path):
    rows = [{"id": "q1", "prediction": "1", "references": "1066", "question": "When?"},
            {"id": "q2", "prediction": "1066", "references": "1066", "question": "When?"}]
    run = _string_reference_run(results, rows, {"task_type": "qa", "config": {"task": {"metrics": ["squad"]}}})
    record, _ = rescore_run(run, MetricOptions(), tmp_path / "out")
    assert record["metrics"]["exact_match"] == 50.0 and record["signatures"]["f1"].startswith("f1|nrefs:1|")


def test_every_scorer_reads_a_string_as_one_reference():
    import bench
    from bench.tasks.records import as_references

    assert as_references("Wednesday") == ["Wednesday"] and as_references(("a", "b")) == ["a", "b"]
    assert as_references([]) == []
    per = score_predictions(["rouge"], ["W", "W"], ["Wednesday", ["Wednesday"]], MetricOptions()).per_example
    assert per[0] == per[1] and per[0]["rouge1"] == 0.0
    api = bench.score(["W", "W"], ["Wednesday", ["Wednesday"]])
    assert api["per_example"][0] == api["per_example"][1] and api["metrics"]["rouge1"] == 0.0


# ------------------------------------------------------------ a rescore that changes nothing writes nothing


def _runs(results) -> list[str]:
    return sorted(p.name for p in (results / LEAD).parent.iterdir())


def test_rescoring_with_the_runs_own_options_writes_nothing_and_names_the_run(results, cli):
    from bench.execution.rescoring import existing_rescore

    before = _runs(results)
    assert existing_rescore(results / LEAD, MetricOptions()) == results / LEAD
    record, path = rescore_run(results / LEAD, MetricOptions())
    assert path == results / LEAD and record == read_run(results / LEAD) and _runs(results) == before
    code, out, err = cli("rescore", results / LEAD)
    assert code == 0 and "nothing written" in err and str(results / LEAD) in err and "wrote" not in err
    assert _runs(results) == before


def test_a_second_rescore_with_the_same_new_options_writes_nothing(results, cli):
    code, _, err = cli("rescore", results / LEAD, "--no-stemmer")
    assert code == 0 and "wrote 1 run(s)" in err
    (new,) = set(_runs(results)) - {LEAD.rsplit("/", 1)[1]}
    for target in (results / LEAD, results / LEAD.rsplit("/", 1)[0] / new):  # the original, and the rescored run
        code, _, err = cli("rescore", target, "--no-stemmer")
        assert code == 0 and "nothing written" in err and new in err, err
    assert len(_runs(results)) == 2
    # back to the original's options, from the rescored run: the original has those scores
    code, _, err = cli("rescore", results / LEAD.rsplit("/", 1)[0] / new)
    assert code == 0 and "nothing written" in err and LEAD.rsplit("/", 1)[1] in err
    # other options still write a new run
    code, _, err = cli("rescore", results / LEAD, "--tokenizer", "unicode")
    assert code == 0 and "wrote 1 run(s)" in err and len(_runs(results)) == 3


@pytest.mark.parametrize("damage", ["metric", "per-example", "bench-version", "prediction"])
def test_a_run_whose_scores_are_not_what_rescoring_gives_is_rescored(results, damage):
    run = results / LEAD
    record = json.loads((run / "results.json").read_text())
    lines = (run / "predictions.jsonl").read_text().splitlines()
    if damage == "metric":  # still a sound record, but not the scores of these predictions
        record["metrics"]["rouge1"] = 70.0
    elif damage == "per-example":
        lines[0] = lines[0].replace('"rouge1": 72.72727272727272', '"rouge1": 99.0')
    elif damage == "bench-version":  # scored by another bench
        record["signatures"] = {k: v.replace("bench:0.1.0", "bench:0.0.9") for k, v in record["signatures"].items()}
    else:  # the other candidate: an earlier rescoring whose predictions differ from this run's
        (run / "predictions.jsonl").write_text("\n".join(lines) + "\n")
        sibling, _ = rescore_run(run, MetricOptions(stemmer=False))
        other = json.loads(json.dumps(sibling))
        other["config"]["metric_options"] = asdict_options(MetricOptions())
        (run.parent / sibling["run_id"] / "results.json").write_text(json.dumps(other))
        lines[0] = lines[0].replace("The Riverside library", "The Riverside town library")
        record["metrics"]["rouge1"] = 70.0
    (run / "results.json").write_text(json.dumps(record))
    (run / "predictions.jsonl").write_text("\n".join(lines) + "\n")
    before = _runs(results)
    new, path = rescore_run(run, MetricOptions())
    assert path != run and path.name not in before and new["config"]["rescored_from"] == record["run_id"]


def asdict_options(options: MetricOptions) -> dict:
    from dataclasses import asdict

    return asdict(options)


# ------------------------------------------------------------ a rescored run measured no throughput


def test_a_rescored_run_has_no_throughput_and_no_speed_star(results, cli):
    code, _, err = cli("rescore", results / LEAD, "--no-stemmer")
    assert code == 0, err
    (path,) = [p for p in (results / LEAD).parent.iterdir() if p.name != LEAD.rsplit("/", 1)[1]]
    record = read_run(path)
    assert record["timing"]["examples_per_s"] is None and record["timing"]["score_s"] >= 0
    rows = json.loads(cli("compare", results, "--format", "json", "--all-runs")[1])
    assert {r["run"]: r["examples_per_s"] for r in rows if r["model"] == "lead-3"}[path.name] is None


def test_a_rescore_that_cannot_be_written_is_one_message_and_leaves_nothing(results, cli, tmp_path, monkeypatch):
    import errno

    import bench.io

    def refuse(src, dst):
        raise OSError(errno.EROFS, "Read-only file system")

    out = tmp_path / "out"
    monkeypatch.setattr(bench.io.os, "replace", refuse)
    code, stdout, err = cli("rescore", results / LEAD, "--no-stemmer", "-o", out)
    assert code == 3 and "Traceback" not in err and "Read-only file system" in err and stdout == ""
    assert [p for p in out.rglob("*") if p.is_file() or p.name.startswith(".")] == []  # no run, no temporary file


def test_a_rescored_run_is_written_as_bench_writes_runs_and_compare_reads_it(results, cli, tmp_path):
    # a hand-edited predictions.jsonl with a number for an id and a string for references
    rows = [{"id": 7, "prediction": "The ferry runs.", "references": "A ferry runs."},
            {"id": "b", "prediction": "W", "references": ["Wednesday"]}]
    run = _string_reference_run(results, rows)
    record, path = rescore_run(run, MetricOptions(), tmp_path / "out")
    written = [json.loads(line) for line in (path / "predictions.jsonl").read_text().splitlines()]
    assert [(r["id"], r["references"]) for r in written] == [("7", ["A ferry runs."]), ("b", ["Wednesday"])]
    from bench.comparison.flips import read_predictions as compare_reads

    assert list(compare_reads(path)) == ["7", "b"]
    # rescoring it again with the same options into the same place is a duplicate of that run
    assert rescore_run(run, MetricOptions(), tmp_path / "out")[1] == path


@pytest.mark.parametrize("field", ["id", "prediction", "references", "question"])
def test_text_that_is_not_unicode_is_refused_with_its_line_and_nothing_is_written(results, cli, tmp_path, field):
    rows = [{"id": "a", "prediction": "p", "references": ["r"], "question": "q"},
            {"id": "b", "prediction": "p", "references": ["r"], "question": "q"}]
    rows[1][field] = ["x\ud800"] if field == "references" else "x\ud800"
    run = _string_reference_run(results, rows)
    code, out, err = cli("rescore", run, "--no-stemmer", "-o", tmp_path / "out")
    assert code == 2 and "Traceback" not in err
    assert f"predictions.jsonl:2 (field {field!r}): unpaired surrogate \\ud800" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("edit", ["every prediction", "one prediction", "one reference"])
def test_a_rescore_of_edited_predictions_is_written_even_with_the_runs_own_options(results, cli, edit):
    """The stored scores no longer belong to the predictions: the same options give new scores, never the old ones."""
    path = results / LEAD / "predictions.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    if edit == "every prediction":
        rows = [{**r, "prediction": "zzz"} for r in rows]
    elif edit == "one prediction":
        rows[1] = {**rows[1], "prediction": rows[1]["prediction"] + " and more words"}
    else:
        rows[0] = {**rows[0], "references": ["A different reference altogether."]}
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    before = _runs(results)
    code, _, err = cli("rescore", results / LEAD)
    assert code == 0 and "nothing written" not in err and "wrote 1 run(s)" in err, err
    (new,) = set(_runs(results)) - set(before)
    record = read_run(results / LEAD.rsplit("/", 1)[0] / new)
    expected = score_predictions(["rouge"], [r["prediction"] for r in rows], [r["references"] for r in rows],
                                 MetricOptions())
    assert record["metrics"] == pytest.approx(expected.metrics)
    if edit == "every prediction":
        assert record["metrics"]["rouge1"] == 0.0


@pytest.mark.slow
def test_asking_again_for_a_metric_the_run_has_says_so_and_how_to_write_it_anyway(cli, tmp_path):
    code, _, err = cli("run", "-q", "-m", "lead-3", "-t", "seed-summarization", "-o", tmp_path / "results")
    assert code == 0, err
    (run,) = (tmp_path / "results" / "seed-summarization" / "lead-3").iterdir()
    code, _, err = cli("rescore", run, "--metric", "extractiveness")  # a summarization run has it already
    assert code == 0 and "nothing written" in err
    assert "already has the scores of --metric extractiveness" in err and "--output-dir DIR" in err
    assert "pass other options" not in err
    code, _, err = cli("rescore", run, "--metric", "extractiveness", "--output-dir", tmp_path / "again")
    assert code == 0 and "wrote 1 run(s)" in err
