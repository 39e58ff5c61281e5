"""`bench.results.runs_df` and `examples_df`: real runs read back into typed frames, checked against the files."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO
from hand_made_runs import make_run

from bench.errors import BenchError, BenchWarning
from bench.results import examples_df, runs_df
from bench.results.frames import (BOOL, FLOAT, INT, JSON, RUN_COLUMNS, RUN_CONFIG, RUN_IDENTITY, STRING, TIME,
                                  run_time)


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    """Real runs: lead-3 twice and textrank on the seed summarization task, sliding-window on the seed QA task."""
    from bench.api import run

    root = tmp_path_factory.mktemp("frames") / "results"
    run(models=["lead-3", "textrank"], tasks=["seed-summarization"], output_dir=root)
    run(models=["lead-3"], tasks=["seed-summarization"], output_dir=root, limit=1)
    run(models=["sliding-window"], tasks=["seed-qa"], output_dir=root)
    return root


def records(root: Path) -> dict[str, dict]:
    """run id -> results.json, read with json alone."""
    return {p.parent.name: json.loads(p.read_text(encoding="utf-8")) for p in root.glob("*/*/*/results.json")}


def dtype_kind(series: pd.Series) -> str:
    d = series.dtype
    if isinstance(d, pd.StringDtype):
        return STRING
    if isinstance(d, pd.DatetimeTZDtype):
        return TIME
    return {"Int64": INT, "float64": FLOAT, "boolean": BOOL}.get(str(d), str(d))


def test_runs_df_has_one_typed_row_per_run_with_the_numbers_of_results_json(results):
    df = runs_df([results])
    raw = records(results)
    assert sorted(df["run_id"]) == sorted(raw)
    fixed = [name for name, _ in RUN_COLUMNS]
    assert [c for c in df.columns if c in fixed] == fixed  # every fixed column, in the documented order
    assert list(df.columns[:len(RUN_IDENTITY)]) == [name for name, _ in RUN_IDENTITY]
    for name, kind in RUN_COLUMNS:
        assert dtype_kind(df[name]) == (STRING if kind == JSON else kind), name
    for _, row in df.iterrows():
        r = raw[row["run_id"]]
        assert (row["task"], row["model"], row["task_hash"], row["n"]) == (r["task"], r["model"], r["task_hash"],
                                                                           r["n_examples"])
        for m, v in r["metrics"].items():
            assert row[m] == v and [row[f"{m}_ci_low"], row[f"{m}_ci_high"]] == r["ci"][m]
            assert row[f"signature_{m}"] == r["signatures"][m]
            assert row[f"{m}_unscored"] == r["counts"].get(f"{m}_unscored", 0)
        for m, v in (r.get("reference") or {}).get("metrics", {}).items():
            assert row[f"reference_{m}"] == v
        assert row["created"] == pd.Timestamp(r["run_id"][:16])  # the Z makes it UTC
        assert row["seed"] == r["config"]["seed"] and row["stemmer"] is True
        assert json.loads(row["metrics_config"]) == r["config"]["metrics"]
        assert row["git_commit"] == r["provenance"]["git_commit"]
        assert row["package_numpy"] == r["provenance"]["packages"]["numpy"]
        assert row["started_at"] == pd.Timestamp(r["provenance"]["started_at"])
        assert row["total_s"] == r["timing"]["total_s"] and row["predicted"] == r["timing"]["predicted"]
        assert Path(row["path"]) == results / r["task"] / r["model"] / r["run_id"]
    qa = df[df["task"] == "seed-qa"].iloc[0]
    assert qa["count_HasAns_total"] == raw[qa["run_id"]]["counts"]["HasAns_total"]
    assert pd.isna(qa["reference_coverage"]) and pd.isna(qa["rouge1"])  # a score the run does not have
    assert list(df["limit"].dropna()) == [1] and df["limit"].isna().sum() == 3  # nullable: NA, not 0


def test_nullable_columns_hold_missing_values_not_zeros(tmp_path):
    make_run(tmp_path, model="a", scores={"rouge1": [10.0, 30.0]}, examples_per_s=None)
    df = runs_df([tmp_path])
    row = df.iloc[0]
    for name, _ in RUN_CONFIG:
        assert pd.isna(row[name]), name  # the hand-made record has no config
    assert pd.isna(row["examples_per_s"]) and pd.isna(row["git_dirty"]) and pd.isna(row["started_at"])
    assert row["rouge1"] == 20.0 and row["n"] == 2


def test_latest_keeps_the_runs_bench_compare_shows(results):
    from bench.api import compare

    shown = {r["run"] for r in compare([results])}
    latest = runs_df([results], latest=True)
    assert set(latest["run_id"]) == shown
    assert len(latest) < len(runs_df([results]))
    assert set(examples_df([results], latest=True)["run_id"]) == shown


def test_run_time_reads_the_run_id():
    assert run_time("20260101T093000Z-3fa2c1") == "2026-01-01T09:30:00Z"
    assert run_time("my-run") is None


def test_examples_df_has_every_line_and_its_means_are_the_runs_scores(results):
    runs = runs_df([results])
    ex = examples_df([results])
    assert len(ex) == runs["n"].sum()
    assert list(ex.columns[:8]) == ["run_id", "task", "model", "example_id", "prediction", "references", "question",
                                    "no_answer_score"]
    for _, run in runs.iterrows():
        lines = [json.loads(line) for line in (Path(run["path"]) / "predictions.jsonl").read_text("utf-8").splitlines()]
        mine = ex[ex["run_id"] == run["run_id"]]
        assert list(mine["example_id"]) == [line["id"] for line in lines]
        assert list(mine["prediction"]) == [line["prediction"] for line in lines]
        assert [list(r) for r in mine["references"]] == [line["references"] for line in lines]
        for name in lines[0]["scores"]:
            assert list(mine[name]) == [line["scores"][name] for line in lines]
            assert mine[name].mean() == pytest.approx(run[name], abs=1e-9)  # the means are results.json's
    qa = ex[ex["task"] == "seed-qa"]
    assert qa["question"].notna().all() and ex.loc[ex["task"] != "seed-qa", "question"].isna().all()
    assert ex.loc[ex["task"] != "seed-qa", "f1"].isna().all()


def test_examples_df_without_texts_and_with_documents(results):
    lean = examples_df([results], texts=False)
    assert not {"prediction", "references", "question", "document"} & set(lean.columns)
    assert "rouge1" in lean.columns
    full = examples_df([results / "seed-summarization"], documents=True)
    fixture = [json.loads(line) for line in (REPO / "fixtures" / "seed_summarization.jsonl").read_text().splitlines()]
    by_id = {row["id"]: row["document"] for row in fixture}
    assert list(full["document"]) == [by_id[i] for i in full["example_id"]]


def test_details_are_flattened_where_they_are_scalar(tmp_path):
    run = make_run(tmp_path, model="a", scores={"rouge1": [10.0, 30.0]})
    lines = [json.loads(line) for line in (run / "predictions.jsonl").read_text().splitlines()]
    lines[0]["details"] = {"judge:x": {"score": 3, "replies": ["a b"], "verdict": "ok", "parsed": True}}
    lines[1]["details"] = {"judge:x": {"score": 4.5, "replies": [], "verdict": "no", "parsed": False}, "one": 2.0}
    (run / "predictions.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    ex = examples_df([tmp_path])
    assert list(ex["detail_judge:x_score"]) == [3.0, 4.5]
    assert list(ex["detail_judge:x_verdict"]) == ["ok", "no"]
    assert list(ex["detail_judge:x_parsed"]) == [True, False]
    assert pd.isna(ex["detail_one"][0]) and ex["detail_one"][1] == 2.0
    assert "detail_judge:x_replies" not in ex.columns  # a list
    assert "detail_judge:x_verdict" not in examples_df([tmp_path], texts=False).columns


def test_a_damaged_run_is_left_out_with_one_warning_or_raises_when_strict(results, tmp_path):
    root = tmp_path / "results"
    shutil.copytree(results, root)
    broken = next(root.glob("seed-qa/*/*/results.json"))
    broken.write_text("{", encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = runs_df([root])
    assert "seed-qa" not in set(df["task"]) and len(df) == 3
    assert [str(w.message) for w in caught if issubclass(w.category, BenchWarning)] == [
        f"left out a damaged run: {broken}:1: not a valid results.json: invalid JSON: Expecting property name "
        "enclosed in double quotes (column 2)"]
    with pytest.raises(BenchError, match="not a valid results.json"):
        runs_df([root], strict=True)

    lines = next(root.glob("seed-summarization/textrank/*/predictions.jsonl"))
    lines.write_text(lines.read_text().replace('"rouge1": ', '"rouge1": 1000 + 0 * '), encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ex = examples_df([root])
    assert "textrank" not in set(ex["model"]) and "lead-3" in set(ex["model"])
    messages = [str(w.message) for w in caught if issubclass(w.category, BenchWarning)]
    assert len(messages) == 2 and "predictions.jsonl:1: invalid JSON" in messages[1]
    with pytest.raises(BenchError):
        examples_df([root], strict=True)


def test_no_runs_is_bench_s_error(tmp_path):
    with pytest.raises(BenchError, match="no runs"):
        runs_df([tmp_path])
    with pytest.raises(BenchError, match="no such results directory"):
        examples_df([tmp_path / "missing"])


def test_importing_bench_results_imports_no_pandas():
    code = "import sys, bench.results, bench.results.frames, bench.results.per_example; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_the_arrow_reader_and_bench_s_reader_give_the_same_frame(results, monkeypatch):
    from bench.results import per_example

    fast = examples_df([results], documents=True)
    monkeypatch.setattr(per_example, "read_prediction_table", lambda run_dir, record: None)
    slow = examples_df([results], documents=True)
    pd.testing.assert_frame_equal(fast, slow)


def test_what_the_arrow_reader_leaves_is_read_or_refused_by_bench_s_reader(tmp_path):
    from bench.results.frames import read_record
    from bench.results.reading import read_prediction_table

    run = make_run(tmp_path, model="a", scores={"rouge1": [10.0, 30.0]})
    assert read_prediction_table(run, read_record(run)) is not None
    lines = [json.loads(line) for line in (run / "predictions.jsonl").read_text().splitlines()]

    def write(rows, text=None):
        (run / "predictions.jsonl").write_text(text or "".join(json.dumps(x) + "\n" for x in rows), encoding="utf-8")

    write([{**lines[0], "no_answer_score": 0.5}, lines[1]], None)
    text = (run / "predictions.jsonl").read_text().replace("0.5", "NaN")
    write(None, text)  # pyarrow reads NaN; bench refuses it
    assert read_prediction_table(run, read_record(run)) is None
    with pytest.raises(BenchError, match="NaN is not a valid number"):
        examples_df([tmp_path], strict=True)

    write([{**lines[0], "prediction": "ratio: NaN, Infinity"}, lines[1]])  # words, not numbers: read all the same
    assert list(examples_df([tmp_path])["prediction"]) == ["ratio: NaN, Infinity", "a output 1"]
    write([lines[0], {**lines[1], "id": lines[0]["id"]}])
    assert read_prediction_table(run, read_record(run)) is None
    with pytest.raises(BenchError, match="duplicate example id"):
        examples_df([tmp_path], strict=True)
    write(None, json.dumps(lines[0]) + " " + json.dumps(lines[1]) + "\n\n")  # two objects on a line: pyarrow reads
    assert read_prediction_table(run, read_record(run)) is None            # two rows, bench refuses the line
    with pytest.raises(BenchError, match="predictions.jsonl:1: invalid JSON"):
        examples_df([tmp_path], strict=True)
    write(None, (json.dumps(lines[0]) + "\n" + json.dumps(lines[1]) + "\n").replace("a output", "caf\u00e9 output"))
    (run / "predictions.jsonl").write_bytes((run / "predictions.jsonl").read_text().encode("latin-1"))
    assert read_prediction_table(run, read_record(run)) is None  # not UTF-8, which pyarrow does not check
    with pytest.raises(BenchError, match="not valid UTF-8"):
        examples_df([tmp_path], strict=True)


def test_a_fifo_in_place_of_predictions_is_refused_not_waited_on(tmp_path):
    import os

    from bench.results.frames import read_record
    from bench.results.reading import read_prediction_table

    run = make_run(tmp_path, model="a", scores={"rouge1": [10.0, 30.0]})
    (run / "predictions.jsonl").unlink()
    os.mkfifo(run / "predictions.jsonl")  # nobody writes: opening it for reading would block for ever
    assert read_prediction_table(run, read_record(run)) is None
    with pytest.raises(BenchError, match="FIFO"):
        examples_df([tmp_path], strict=True)
