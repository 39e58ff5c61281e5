"""Run directories: written atomically, read back through the one results.json validator."""

from __future__ import annotations

import gzip
import json
import math
import os
from pathlib import Path

import pytest
from conftest import REPO

from bench.errors import BenchError
from bench.results.store import (
    RESULT_FIELDS, SCHEMA_VERSION, new_run_id, read_run, results_dir_of, run_directory, run_metrics, slug, write_run,
)

CORPUS = REPO / "tests" / "bad_inputs"
GOOD_RUN = CORPUS / "good" / "results" / "news" / "lead-3" / "20260101T000000Z-000001"
DAMAGED = "the file is damaged; delete this run directory and run again"


def _record(**changes) -> dict:
    record = json.loads((GOOD_RUN / "results.json").read_text(encoding="utf-8"))
    record.update(changes)
    return record


def _write_json(tmp_path: Path, record, name: str = "results.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(record, indent=2), encoding="utf-8")
    return path


def _error(path: Path, **kwargs) -> BenchError:
    with pytest.raises(BenchError) as info:
        read_run(path, **kwargs)
    return info.value


# ------------------------------------------------------------------ names


def test_slug_keeps_names_inside_the_results_directory():
    assert slug("org/model") == "org--model"
    assert slug("../../outside") == "outside" and slug("a/../b") == "a--..--b"
    assert slug(".hidden") == "hidden" and slug("-option") == "option"
    assert slug("") == "unnamed"
    long_a, long_b = "m" * 200 + "a", "m" * 200 + "b"
    assert len(slug(long_a)) <= 100 and slug(long_a) != slug(long_b)


def test_run_ids_sort_by_time_and_differ():
    a, b = new_run_id(), new_run_id()
    assert a != b
    stamp, _, suffix = a.partition("-")
    assert len(stamp) == len("20260101T000000Z") and stamp.endswith("Z") and len(suffix) == 6


def test_run_directory_and_results_dir_of_are_inverses(tmp_path):
    record = {"task": "news", "model": "org/model", "run_id": "20260101T000000Z-abcdef"}
    path = run_directory(tmp_path, record)
    assert path == tmp_path / "news" / "org--model" / "20260101T000000Z-abcdef"
    assert results_dir_of(path) == tmp_path


# ------------------------------------------------------------------ writing


def test_write_run_then_read_run_round_trips(tmp_path):
    record = _record(run_id="20260102T000000Z-000001", extra={"kept": (1, 2)})
    rows = [{"id": "a", "prediction": "é", "references": ("r",), "scores": {"rouge1": 50.0}},
            {"id": "b", "prediction": "", "references": ["r"], "scores": {"rouge1": float("nan")}}]
    path = write_run(tmp_path, record, iter(rows))
    assert path == tmp_path / "news" / "lead-3" / "20260102T000000Z-000001"
    assert read_run(path) == {**record, "extra": {"kept": [1, 2]}}
    assert read_run(path / "results.json") == read_run(path)
    # results.json: RESULT_FIELDS order first, other fields after; indented, UTF-8 as is
    text = (path / "results.json").read_text(encoding="utf-8")
    assert list(json.loads(text)) == [*(f for f in RESULT_FIELDS if f in record), "extra"]
    assert text.endswith("}\n") and '\n  "run_id"' in text
    # predictions.jsonl: one JSON line per row; NaN written as null, tuples as lists
    lines = (path / "predictions.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [
        {"id": "a", "prediction": "é", "references": ["r"], "scores": {"rouge1": 50.0}},
        {"id": "b", "prediction": "", "references": ["r"], "scores": {"rouge1": None}},
    ]
    assert '"é"' in lines[0]
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name], "a temporary directory was left"


def test_a_metric_that_is_not_finite_is_written_as_null_and_refused_on_reading(tmp_path):
    record = _record(metrics={**_record()["metrics"], "rouge1": math.inf})
    path = write_run(tmp_path, record, [])
    assert json.loads((path / "results.json").read_text())["metrics"]["rouge1"] is None
    assert _error(path).message == "metric 'rouge1' is null in a run of 3 examples"


def test_write_run_leaves_nothing_when_the_predictions_fail(tmp_path):
    def rows():
        yield {"id": "a", "prediction": "p", "references": ["r"], "scores": {}}
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_run(tmp_path, _record(), rows())
    assert list((tmp_path / "news" / "lead-3").iterdir()) == []


def test_write_run_never_replaces_an_existing_run(tmp_path):
    record = _record()
    first = write_run(tmp_path, record, [])
    (first / "marker").write_text("x")
    with pytest.raises(BenchError) as info:
        write_run(tmp_path, record, [])
    assert "cannot write the run directory" in info.value.message and info.value.exit_code == 3
    assert "prediction cache" in info.value.hint
    assert (first / "marker").exists()
    assert sorted(p.name for p in first.parent.iterdir()) == [first.name]


def test_write_run_below_a_file_is_one_error(tmp_path):
    (tmp_path / "results").write_text("a file")
    with pytest.raises(BenchError) as info:
        write_run(tmp_path / "results", _record(), [])
    assert info.value.message.startswith("cannot create results directory")
    assert info.value.exit_code == 2 and "a file is in the way" in info.value.hint


def test_write_run_where_directories_cannot_be_made_is_an_environment_error(tmp_path):
    if os.geteuid() == 0:  # root writes anywhere but in /sys
        root = Path("/sys") / "bench-results"
        if not Path("/sys").is_dir():
            pytest.skip("no directory this user cannot write to")
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        root = locked / "results"
    with pytest.raises(BenchError) as info:
        write_run(root, _record(), [])
    assert info.value.message.startswith("cannot create results directory") and info.value.exit_code == 3
    assert not root.exists()


# ------------------------------------------------------------------ reading: the damaged files of tests/bad_inputs


@pytest.mark.parametrize("name, where_line, message", [
    ("results_truncated.json", True, "not a valid results.json: invalid JSON"),
    ("results_empty.json", False, "not a valid results.json: the file is empty"),
    ("results_newer_schema.json", False, f"results.json has schema_version 3; this bench reads up to {SCHEMA_VERSION}"),
    ("results_nan_metric.json", True, "not a valid results.json: it holds NaN, which bench never writes"),
    ("results_no_schema_version.json", False, "not a bench results.json (no schema_version)"),
    ("results_not_a_record.json", False, "not a bench results.json (no schema_version)"),
    ("results_missing_run_id.json", False, "run record has no field 'run_id'"),
    ("results_metric_not_a_number.json", False, "metric 'rouge1' is not a number: '68.7'"),
    ("results_negative_count.json", False, "field 'n_examples' of the run record is -3, not a count"),
])
def test_every_damaged_results_file_is_one_error_naming_it(tmp_path, name, where_line, message):
    path = tmp_path / "results.json"
    path.write_bytes((CORPUS / "runs" / name).read_bytes())
    e = _error(path)
    assert e.message.startswith(message)
    assert e.where.startswith(str(path))
    assert (e.where != str(path)) is where_line  # a syntax error also names its line
    if name == "results_nan_metric.json":
        assert e.where.endswith("results.json:11")


def test_a_results_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "results.json"
    path.write_bytes(gzip.compress((GOOD_RUN / "results.json").read_bytes(), mtime=0))
    e = _error(path)
    assert e.message.startswith("not a valid results.json: not UTF-8") and e.hint == DAMAGED


def test_an_unreadable_results_file(tmp_path):
    e = _error(tmp_path / "missing" / "results.json")
    assert e.message.startswith("cannot read run record")


def test_the_good_run_passes():
    record = read_run(GOOD_RUN)
    assert record["run_id"] == "20260101T000000Z-000001" and record["n_examples"] == 3


# ------------------------------------------------------------------ reading: every rule


@pytest.mark.parametrize("changes, message", [
    ({"schema_version": 0}, "results.json has schema_version 0, not a positive integer"),
    ({"schema_version": True}, "results.json has schema_version True, not a positive integer"),
    ({"schema_version": "1"}, "results.json has schema_version '1', not a positive integer"),
    ({"n_examples": "3"}, "field 'n_examples' of the run record is '3', not a count"),
    ({"n_examples": True}, "field 'n_examples' of the run record is True, not a count"),
    ({"model": 3}, "field 'model' of the run record has the wrong type (int)"),
    ({"task": ""}, "field 'task' of the run record is empty"),
    ({"run_id": None}, "field 'run_id' of the run record has the wrong type (NoneType)"),
    ({"task_hash": ["x"]}, "field 'task_hash' of the run record has the wrong type (list)"),
    ({"metrics": []}, "field 'metrics' of the run record has the wrong type (list)"),
    ({"ci": {}}, "no 95% CI [lo, hi] for metric 'rouge1'"),
    ({"ci": {"rouge1": [1.0]}}, "no 95% CI [lo, hi] for metric 'rouge1'"),
    ({"ci": {"rouge1": [1.0, "2"]}}, "the 95% CI of metric 'rouge1' is not two numbers: [1.0, '2']"),
    ({"signatures": {}}, "no signature for metric 'rouge1'"),
    ({"signatures": {"rouge1": 1}}, "the signature of metric 'rouge1' is not a string"),
    ({"config": []}, "field 'config' of the run record is not a mapping"),
    ({"config": {"task": "news"}}, "field 'config' of the run record is not a mapping"),
    ({"config": {"task": {"metrics": ["bleu"]}}}, "run record names unknown metrics ['bleu'] (config.task.metrics)"),
    ({"config": {"task": {"metrics": "rouge"}}}, "run record names unknown metrics 'rouge' (config.task.metrics)"),
    ({"timing": [1.0]}, "field 'timing' of the run record is not a mapping"),
])
def test_each_rule_is_one_error_with_a_hint(tmp_path, changes, message):
    e = _error(_write_json(tmp_path, _record(**changes)))
    assert e.message == message
    assert e.hint and "delete this run directory" in e.hint


@pytest.mark.parametrize("key", ["run_id", "model", "task", "task_hash", "n_examples", "metrics", "ci", "signatures"])
def test_a_missing_field_is_named(tmp_path, key):
    record = _record()
    del record[key]
    e = _error(_write_json(tmp_path, record))
    assert e.message == f"run record has no field {key!r}"
    assert e.hint == "the file is damaged or not written by bench; delete this run directory and run again"


def test_null_metrics_and_bounds_are_allowed_only_in_a_run_of_no_examples(tmp_path):
    record = _record(n_examples=0)
    record["metrics"]["rouge1"] = None
    record["ci"]["rouge1"] = [None, None]
    assert read_run(_write_json(tmp_path, record))["metrics"]["rouge1"] is None
    record["ci"]["rouge1"] = [None, 3.0]
    assert _error(_write_json(tmp_path, record)).message == "metric 'rouge1' is null but its 95% CI is [None, 3.0]"
    record["n_examples"] = 3
    assert _error(_write_json(tmp_path, record)).message == "metric 'rouge1' is null in a run of 3 examples"


def _damaged_metric(tmp_path, text_changes: dict[str, str]) -> BenchError:
    """The error for the good results.json with text replaced (so 1e999 stays as written)."""
    text = (GOOD_RUN / "results.json").read_text(encoding="utf-8")
    for old, new in text_changes.items():
        assert old in text
        text = text.replace(old, new, 1)
    path = tmp_path / "results.json"
    path.write_text(text, encoding="utf-8")
    e = _error(path)
    assert e.where == str(path) and e.hint == DAMAGED
    return e


@pytest.mark.parametrize("value, message", [
    ("250", "metric 'rouge1' is 250, outside the metric's range 0..100"),
    ("100.5", "metric 'rouge1' is 100.5, outside the metric's range 0..100"),
    ("-5", "metric 'rouge1' is -5, outside the metric's range 0..100"),
    ("-0.001", "metric 'rouge1' is -0.001, outside the metric's range 0..100"),
    ("1e999", "metric 'rouge1' is not finite: inf"),
    ("-1e999", "metric 'rouge1' is not finite: -inf"),
    ("null", "metric 'rouge1' is null in a run of 3 examples"),
    ("true", "metric 'rouge1' is not a number: True"),
    ("1" + "0" * 400, "metric 'rouge1' is not finite: 10000000000000000000...00000000 (401 characters)"),
    ("60.0", "metric 'rouge1' is 60.0, outside its own 95% CI [66.66666666666667, 72.72727272727272]"),
    ("73", "metric 'rouge1' is 73, outside its own 95% CI [66.66666666666667, 72.72727272727272]"),
])
def test_a_metric_out_of_range_not_finite_null_or_outside_its_ci_is_a_damaged_run(tmp_path, value, message):
    e = _damaged_metric(tmp_path, {'"rouge1": 68.68686868686869': f'"rouge1": {value}'})
    assert e.message == message


@pytest.mark.parametrize("bounds, message", [
    ("[-3, 72.72727272727272]", "the 95% CI of metric 'rouge2' is -3, outside the metric's range 0..100"),
    ("[38.7, 1e999]", "the 95% CI of metric 'rouge2' is not finite: inf"),
    ("[38.7, 250]", "the 95% CI of metric 'rouge2' is 250, outside the metric's range 0..100"),
    ("[38.7, -1" + "0" * 320 + "]", "the 95% CI of metric 'rouge2' is not finite: -1000000000000000000...00000000 (322 characters)"),
    ("[null, 64.5]", "the 95% CI of metric 'rouge2' has a null bound but the metric is 50.40860215053763"),
    ("[64.5, 38.7]", "metric 'rouge2' is 50.40860215053763, outside its own 95% CI [64.5, 38.7]"),
    ("[51, 52]", "metric 'rouge2' is 50.40860215053763, outside its own 95% CI [51, 52]"),
])
def test_a_ci_out_of_range_not_finite_or_not_around_its_mean_is_a_damaged_run(tmp_path, bounds, message):
    text = (GOOD_RUN / "results.json").read_text(encoding="utf-8")
    old = text[text.index('"rouge2": [', text.index('"ci"')):]
    old = old[:old.index("]") + 1]
    e = _damaged_metric(tmp_path, {old: f'"rouge2": {bounds}'})
    assert e.message == message


def test_the_range_is_the_one_the_metric_declares(tmp_path):
    from bench.metrics import METRICS
    from bench.results.store import score_range

    assert METRICS.get("rouge").value_range == METRICS.get("squad").value_range == (0.0, 100.0)
    assert score_range(_record(), "rouge1") == (0.0, 100.0)
    assert score_range(_record(config={"task": {"metrics": ["squad"]}}, task_type="qa"), "f1") == (0.0, 100.0)
    # a score with a range of its own keeps it beside metrics of other ranges; others get their union
    both = _record(config={"metrics": [{"name": "rouge"}, {"name": "extractiveness"}]})
    assert score_range(both, "rouge1") == (0.0, 100.0) and score_range(both, "coverage") == (0.0, 100.0)
    assert score_range(both, "density") == (0.0, math.inf)
    qa = _record(config={"metrics": [{"name": "squad"}]}, task_type="qa")
    assert score_range(qa, "best_f1_thresh") == (-math.inf, math.inf) and score_range(qa, "best_f1") == (0.0, 100.0)
    # a user's metric declares nothing bench can check without its code
    assert score_range(_record(config={"metrics": [{"name": "mypkg.metrics:Mine"}]}), "x") == (-math.inf, math.inf)
    # a mean equal to its bounds up to float summation order is sound
    record = _record()
    record["metrics"]["rouge1"] = 100.0 + 1e-12
    record["ci"]["rouge1"] = [100.0, 100.0]
    assert read_run(_write_json(tmp_path, record))["metrics"]["rouge1"] == 100.0 + 1e-12


@pytest.mark.parametrize("key, value", [
    ("examples_per_s", "fast"), ("examples_per_s", -1.0), ("examples_per_s", [1]), ("predict_s", "0.1"),
    ("score_s", True), ("total_s", {"s": 1}), ("load_s", 10 ** 400),
])
def test_a_timing_number_that_is_not_a_number_is_a_damaged_run(tmp_path, key, value):
    record = _record()
    record["timing"][key] = value
    for scores in (True, False):  # rescoring reads it too
        e = _error(_write_json(tmp_path, record), scores=scores)
        from bench.results.store import brief

        assert e.message == f"timing.{key} of the run record is {brief(value)}, not a non-negative number (or null)"
        assert e.hint == DAMAGED
    record["timing"][key] = None
    assert read_run(_write_json(tmp_path, record))["timing"][key] is None


def test_config_and_timing_may_be_absent(tmp_path):
    record = _record()
    del record["config"], record["timing"]
    assert read_run(_write_json(tmp_path, record))["run_id"] == record["run_id"]


def test_scores_false_leaves_the_scores_unchecked_for_rescoring(tmp_path):
    path = tmp_path / "results.json"
    path.write_bytes((CORPUS / "runs" / "results_metric_not_a_number.json").read_bytes())
    assert read_run(path, scores=False)["metrics"]["rouge1"] == "68.7"
    record = _record(ci="gone")
    del record["signatures"]
    assert read_run(_write_json(tmp_path, record), scores=False)["ci"] == "gone"
    # everything else is still checked
    assert _error(_write_json(tmp_path, _record(model="")), scores=False).message.endswith("is empty")


def test_run_metrics_are_the_tasks_or_the_task_types_default():
    assert run_metrics(_record()) == ["rouge"]
    assert run_metrics(_record(config={"task": {"metrics": ["squad", "rouge"]}})) == ["squad", "rouge"]
    assert run_metrics(_record(config={})) == ["rouge"]
    assert run_metrics(_record(config={"task": {"metrics": []}}, task_type="extractive_qa")) == ["squad"]


def test_read_run_names_the_file_relative_to_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "results" / "news" / "lead-3" / "r1"
    run.mkdir(parents=True)
    _write_json(run, _record(model=""))
    e = _error(run)
    assert e.where == os.path.join("results", "news", "lead-3", "r1", "results.json")


def test_prediction_count_must_match_the_record(tmp_path):
    from bench.results.store import INCOMPLETE, check_prediction_count

    path = tmp_path / "predictions.jsonl"
    check_prediction_count(path, 3, {"n_examples": 3})
    for n_rows, record in ((2, {"n_examples": 3}), (4, {"n_examples": 3}), (0, {})):
        with pytest.raises(BenchError) as e:
            check_prediction_count(path, n_rows, record)
        assert e.value.message.startswith(f"predictions.jsonl has {n_rows} examples but its results.json says ")
        assert e.value.hint == INCOMPLETE


@pytest.mark.parametrize("where", ["prediction", "id", "record"])
def test_text_that_is_not_unicode_is_one_error_and_nothing_is_written(tmp_path, where):
    row = {"id": "a", "prediction": "p", "references": ["r"], "scores": {}}
    record = _record()
    if where == "record":
        record["model"] = "m\ud800"
    else:
        row[where] = "x\ud800y"
    with pytest.raises(BenchError) as info:
        write_run(tmp_path, record, [row])
    assert "unpaired surrogate \\ud800" in info.value.message and "nothing was written" in info.value.hint
    assert [p for p in tmp_path.rglob("*") if p.is_file() or p.name.startswith(".")] == []


@pytest.mark.parametrize("field", ["model", "task", "signatures", "provenance"])
def test_a_results_json_holding_text_that_is_not_unicode_is_damaged(tmp_path, field):
    record = _record()
    if field in ("model", "task"):
        record[field] = "x\ud800"
    elif field == "signatures":
        record["signatures"]["rouge1"] += "\udfff"
    else:
        record["provenance"]["command"] = "bench run \ud83d"
    path = _write_json(tmp_path, record)  # json.dumps escapes it: "\ud800"
    for scores in (True, False):
        e = _error(path, scores=scores)
        assert e.message.startswith("not a valid results.json: it holds an unpaired surrogate \\u")
        assert e.hint == DAMAGED
