"""The task records are data only: constructed, replaced and hashed like values, with pure properties."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest
from conftest import REPO

from bench.tasks.records import LOCAL_BUILDERS, DatasetSource, Example, Task, TaskType


def _task(**changes) -> Task:
    task = Task(name="t", version=1, type="summarization", fixture=Path("/data/t.jsonl"),
                fields={"id": "id", "document": "document", "references": "references"},
                metrics=("rouge",), path=Path("/tasks/t.yaml"), hash="ab" * 32)
    return dataclasses.replace(task, **changes)


def test_example_is_a_frozen_hashable_value():
    ex = Example(id="a", input="A cat sat.", references=("A cat.",))
    assert ex.question is None and ex.answer_starts == ()
    assert ex == Example(id="a", input="A cat sat.", references=("A cat.",))
    assert hash(ex) == hash(Example(id="a", input="A cat sat.", references=("A cat.",)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        ex.input = "other"  # type: ignore[misc]
    qa = dataclasses.replace(ex, question="Who sat?", references=("cat",), answer_starts=(2,))
    assert qa.question == "Who sat?" and ex.question is None
    assert len({ex, qa, ex}) == 2


def test_task_type_is_a_frozen_value():
    tt = TaskType("summarization", ("id", "document", "references"), ("rouge",))
    assert tt == TaskType("summarization", ("id", "document", "references"), ("rouge",))
    assert hash(tt) == hash(TaskType("summarization", ("id", "document", "references"), ("rouge",)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        tt.name = "qa"  # type: ignore[misc]


def test_task_is_frozen_and_replace_makes_a_new_one():
    task = _task()
    with pytest.raises(dataclasses.FrozenInstanceError):
        task.hash = "0" * 64  # type: ignore[misc]
    loaded = dataclasses.replace(task, hash="cd" * 32, fingerprint="f1")
    assert (task.hash, task.fingerprint) == ("ab" * 32, None)
    assert (loaded.hash, loaded.fingerprint, loaded.name) == ("cd" * 32, "f1", "t")
    assert loaded != task and _task() == task


def test_task_properties_are_pure():
    task = _task()
    assert task.short_hash == "ab" * 6
    assert task.runs_by_default
    assert task.data_source() == {"fixture": str(Path("/data/t.jsonl"))}
    assert task.summary_sentences == 3 and task.generation == {} and task.prompt is None
    source = DatasetSource(path="abisee/cnn_dailymail", split="test", name="3.0.0")
    ds_task = _task(fixture=None, dataset=source, fingerprint="abc")
    assert not ds_task.runs_by_default
    assert ds_task.data_source() == {"dataset": {"path": "abisee/cnn_dailymail", "split": "test", "name": "3.0.0"},
                                     "dataset_fingerprint": "abc"}


def test_dataset_source_describes_itself():
    src = DatasetSource(path="abisee/cnn_dailymail", split="test", name="3.0.0", revision="main")
    assert not src.is_local
    assert src.describe() == "'abisee/cnn_dailymail' (config '3.0.0', split 'test', revision 'main')"
    assert src.load_kwargs() == {"path": "abisee/cnn_dailymail", "split": "test", "name": "3.0.0",
                                 "revision": "main"}
    assert src.as_dict() == src.load_kwargs()
    assert src.load_call() == "datasets.load_dataset('abisee/cnn_dailymail', '3.0.0', split='test', revision='main')"
    assert src.data_file_patterns() == []
    assert hash(src) == hash(DatasetSource(path="abisee/cnn_dailymail", split="test", name="3.0.0", revision="main"))


def test_dataset_source_data_files_in_each_shape():
    assert "parquet" in LOCAL_BUILDERS
    one = DatasetSource(path="json", split="train", data_files="/d/a.jsonl")
    many = DatasetSource(path="json", split="train", data_files=("/d/a.jsonl", "/d/b-*.jsonl"))
    by_split = DatasetSource(path="parquet", split="test", data_files={"test": ("/d/t-*.parquet",),
                                                                       "train": ("/d/x.parquet",)})
    assert one.is_local and many.is_local and by_split.is_local
    assert one.data_file_patterns() == ["/d/a.jsonl"]
    assert many.data_file_patterns() == ["/d/a.jsonl", "/d/b-*.jsonl"]
    assert by_split.data_file_patterns() == ["/d/t-*.parquet", "/d/x.parquet"]
    assert many.load_kwargs()["data_files"] == ["/d/a.jsonl", "/d/b-*.jsonl"]
    assert by_split.load_kwargs()["data_files"] == {"test": ["/d/t-*.parquet"], "train": ["/d/x.parquet"]}
    assert DatasetSource(path=str(REPO / "fixtures"), split="train").is_local


def test_records_module_imports_nothing_from_bench():
    tree = ast.parse((REPO / "bench" / "tasks" / "records.py").read_text(encoding="utf-8"))
    modules = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    modules += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in modules if m and m.split(".")[0] == "bench"]
