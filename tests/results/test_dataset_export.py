"""`bench export`: the folder read back with pandas, pyarrow and datasets gives the frames it was written from."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
import yaml
from test_frames import results  # noqa: F401  (the module's real runs)

from bench.errors import BenchError
from bench.results import examples_df, runs_df
from bench.results.dataset_export import CARD_MARK, EXAMPLE_COLUMN_DOCS, RUN_COLUMN_DOCS, export
from bench.results.frames import RUN_COLUMNS


def same(a, b) -> bool:
    """Equal values, missing equal to missing (NaN, NA, NaT, None)."""
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)) or hasattr(a, "tolist"):
        return list(a) == list(b)
    if pd.isna(a) and pd.isna(b):
        return True
    return a == b


def rows_equal(df: pd.DataFrame, back: pd.DataFrame, convert=lambda column, v: v) -> None:
    assert list(back.columns) == list(df.columns)
    assert len(back) == len(df)
    for c in df.columns:
        for x, y in zip(df[c].tolist(), back[c].tolist()):
            assert same(x, convert(c, y)), (c, x, y)


def test_parquet_reads_back_the_same_frames_with_pandas_pyarrow_and_datasets(results, tmp_path):  # noqa: F811
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = tmp_path / "export"
    paths = export([results], out)
    assert [p.name for p in paths] == ["runs.parquet", "examples.parquet", "README.md"]
    runs, examples = runs_df([results]), examples_df([results])

    pd.testing.assert_frame_equal(pd.read_parquet(out / "runs.parquet"), runs)  # every column, its type
    back = pd.read_parquet(out / "examples.parquet")
    pd.testing.assert_frame_equal(back.drop(columns="references"), examples.drop(columns="references"))
    assert [list(r) for r in back["references"]] == [list(r) for r in examples["references"]]  # arrays, for pandas
    typed = pd.read_parquet(out / "examples.parquet", dtype_backend="pyarrow")
    assert str(typed["references"].dtype).startswith("list<") and typed["references"].tolist() == \
        examples["references"].tolist()

    table = pq.read_table(out / "examples.parquet")
    assert table.schema.field("references").type == pa.list_(pa.string())
    assert table.schema.field("rouge1").type == pa.float64()
    runs_table = pq.read_table(out / "runs.parquet")
    assert runs_table.schema.field("created").type == pa.timestamp("us", tz="UTC")
    assert runs_table.schema.field("n").type == pa.int64() and runs_table.schema.field("stemmer").type == pa.bool_()
    assert runs_table.column("rouge1").to_pylist() == [None if math.isnan(v) else v for v in runs["rouge1"]]

    loaded = datasets.load_dataset("parquet", data_files=str(out / "examples.parquet"), split="train",
                                   cache_dir=str(tmp_path / "hf"))
    assert loaded.num_rows == len(examples)
    assert loaded["references"] == [list(r) for r in examples["references"]]
    assert loaded["example_id"] == list(examples["example_id"])
    by_card = datasets.load_dataset(str(out), "runs", split="train", cache_dir=str(tmp_path / "hf"))  # README configs
    assert by_card["run_id"] == list(runs["run_id"])
    assert by_card.features["created"].dtype == "timestamp[us, tz=UTC]"


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_csv_and_json_lines_read_back_with_pandas_and_datasets(results, tmp_path, fmt):  # noqa: F811
    import datasets

    out = tmp_path / fmt
    export([results], out, fmt=fmt)
    runs, examples = runs_df([results]), examples_df([results])

    def read(name: str) -> pd.DataFrame:
        path = out / f"{name}.{fmt}"
        return pd.read_csv(path, keep_default_na=False, na_values=[""]) if fmt == "csv" else \
            pd.read_json(path, lines=True, convert_dates=False, dtype=False, precise_float=True)

    def convert(column: str, v):
        if column == "references" and fmt == "csv":
            return json.loads(v)
        if column in ("created", "started_at", "finished_at") and not pd.isna(v):
            return pd.Timestamp(v)
        return v

    rows_equal(runs, read("runs"), convert)  # floats at full precision, times and lists as they were
    if fmt == "csv":  # CSV has one empty field for an empty text and a missing one (the card says so)
        assert (examples["prediction"] == "").any()
        examples["prediction"] = examples["prediction"].replace("", pd.NA)
    rows_equal(examples, read("examples"), convert)
    loaded = datasets.load_dataset("csv" if fmt == "csv" else "json", data_files=str(out / f"examples.{fmt}"),
                                   split="train", cache_dir=str(tmp_path / "hf"))
    assert loaded.num_rows == len(examples)
    assert loaded["rouge1"] == [None if math.isnan(v) else v for v in examples["rouge1"]]
    if fmt == "jsonl":
        assert loaded["references"] == [list(r) for r in examples["references"]]


def test_the_card_names_the_files_the_columns_and_the_signatures(results, tmp_path):  # noqa: F811
    out = tmp_path / "export"
    export([results], out, fmt="csv")
    text = (out / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n")  # a dataset card's metadata comes first
    meta = yaml.safe_load(text.split("---\n")[1])
    assert meta["configs"] == [{"config_name": "runs", "data_files": "runs.csv"},
                               {"config_name": "examples", "data_files": "examples.csv"}]
    assert CARD_MARK in text
    assert set(RUN_COLUMN_DOCS) == {name for name, _ in RUN_COLUMNS}
    for name in [*RUN_COLUMN_DOCS, *EXAMPLE_COLUMN_DOCS]:
        assert f"| `{name}` |" in text
    runs = runs_df([results])
    for sig in runs["signature_rouge1"].dropna().unique():
        assert f"`rouge1`: `{sig}`" in text
    assert "4 runs in `runs.csv`" in text


def test_an_earlier_export_is_replaced_whole_and_other_folders_are_refused(results, tmp_path):  # noqa: F811
    out = tmp_path / "export"
    export([results], out, fmt="csv")
    export([results / "seed-qa"], out, fmt="parquet")
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "examples.parquet", "runs.parquet"]
    assert set(pd.read_parquet(out / "runs.parquet")["task"]) == {"seed-qa"}

    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(BenchError, match="holds other files"):
        export([results], foreign)
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]
    with pytest.raises(BenchError, match="names a file"):
        export([results], foreign / "notes.txt")
    with pytest.raises(BenchError, match="unknown export format"):
        export([results], tmp_path / "x", fmt="xlsx")


def test_a_damaged_run_stops_the_export_and_nothing_is_written(results, tmp_path):  # noqa: F811
    import shutil

    root = tmp_path / "results"
    shutil.copytree(results, root)
    next(root.glob("seed-qa/*/*/predictions.jsonl")).write_text("{}\n", encoding="utf-8")
    with pytest.raises(BenchError, match="predictions.jsonl"):
        export([root], tmp_path / "export")
    assert not (tmp_path / "export").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_bench_export_command(results, tmp_path, cli, monkeypatch):  # noqa: F811
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("export", str(results), "--format", "jsonl", "--output", "out", "--latest", "--no-texts")
    assert code == 0, err
    assert "wrote runs.jsonl, examples.jsonl, README.md to out" in err
    back = pd.read_json(tmp_path / "out" / "examples.jsonl", lines=True)
    assert "prediction" not in back.columns
    assert set(back["run_id"]) == set(runs_df([results], latest=True)["run_id"])
    code, out, err = cli("export", str(results))
    assert code == 2 and "Missing option '--output'" in err
