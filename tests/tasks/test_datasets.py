"""Tasks over datasets (`dataset:` = load_dataset arguments), tested on local files shaped like
cnn_dailymail and squad/squad_v2, through the same code path as Hub datasets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import REPO

from bench.api import load_task
from bench.tasks.examples import count_examples, load_examples, select_indices

SENTENCES = [
    "The council approved the new budget on Monday.",
    "It raises spending on schools by five percent.",
    "Opposition members voted against the plan.",
    "The mayor said the vote was a good day for the city.",
    "A final reading is planned for next month.",
]


def _cnn_rows(n: int = 6) -> list[dict]:
    rows = []
    for i in range(n):
        article = " ".join(SENTENCES[i % 5:] + SENTENCES[:i % 5])
        highlights = "\n".join(SENTENCES[(i + k) % 5] for k in range(3))  # as cnn_dailymail: one string, "\n"
        rows.append({"article": article, "highlights": highlights, "id": f"{i:040x}"})
    return rows


CONTEXT = "Normans were descended from Norse raiders. Their duchy was in France. It was founded in 911."


def _squad_table(wrong_start: bool = False, v2: bool = False) -> pa.Table:
    qs = [("q0", "Who were the Normans descended from?", ["Norse raiders", "Norse"], [28, 28]),
          ("q1", "Where was their duchy?", ["France"], [60 if wrong_start else CONTEXT.index("France")]),
          ("q2", "When was it founded?", ["911", "in 911"], [CONTEXT.index("911"), CONTEXT.index("in 911")])]
    if v2:
        qs.append(("q3", "Who founded Paris?", [], []))
    answers = pa.array([{"text": t, "answer_start": s} for _, _, t, s in qs],
                       type=pa.struct([("text", pa.list_(pa.string())), ("answer_start", pa.list_(pa.int32()))]))
    return pa.table({"id": [q[0] for q in qs], "title": ["Normans"] * len(qs), "context": [CONTEXT] * len(qs),
                     "question": [q[1] for q in qs], "answers": answers})


def _local_task(tmp: Path, shipped: str, name: str, dataset: dict, **changes) -> Path:
    """A copy of a shipped task definition, with `dataset` pointing at local files."""
    spec = yaml.safe_load((REPO / "tasks" / f"{shipped}.yaml").read_text(encoding="utf-8"))
    spec.update(name=name, dataset=dataset, **changes)
    (tmp / "tk").mkdir(exist_ok=True)
    path = tmp / "tk" / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def _cnn_task(tmp: Path, n: int = 6, **changes) -> Path:
    (tmp / "data").mkdir(exist_ok=True)
    (tmp / "data" / "cnn_test.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in _cnn_rows(n)), encoding="utf-8")
    return _local_task(tmp, "cnn_dailymail", "cnn-local",
                       {"path": "json", "data_files": {"test": "../data/cnn_test.jsonl"}, "split": "test"}, **changes)


def _squad_task(tmp: Path, v2: bool = False, wrong_start: bool = False) -> Path:
    (tmp / "data").mkdir(exist_ok=True)
    name = "squad_v2" if v2 else "squad"
    pq.write_table(_squad_table(wrong_start, v2), tmp / "data" / f"{name}_validation.parquet")
    return _local_task(tmp, name, f"{name}-local",
                       {"path": "parquet", "data_files": {"validation": f"../data/{name}_validation.parquet"},
                        "split": "validation"})


def _record(tmp: Path, task: str) -> tuple[dict, list[dict]]:
    (path,) = sorted((tmp / "results" / task).glob("*/*/results.json"))[-1:]
    rows = [json.loads(line) for line in (path.parent / "predictions.jsonl").read_text().splitlines()]
    return json.loads(path.read_text()), rows


def test_shipped_definitions_name_the_real_datasets():
    expected = {
        "cnn_dailymail": ("abisee/cnn_dailymail", "3.0.0", "test", "summarization",
                          {"id": "id", "document": "article", "references": "highlights"}),
        "xsum": ("EdinburghNLP/xsum", None, "test", "summarization",
                 {"id": "id", "document": "document", "references": "summary"}),
        "squad": ("rajpurkar/squad", "plain_text", "validation", "qa",
                  {"id": "id", "context": "context", "question": "question", "answers": "answers"}),
        "squad_v2": ("rajpurkar/squad_v2", "squad_v2", "validation", "qa",
                     {"id": "id", "context": "context", "question": "question", "answers": "answers"}),
    }
    for name, (path, config, split, ttype, fields) in expected.items():
        task = load_task(REPO / "tasks" / f"{name}.yaml")
        assert task.name == name and task.type == ttype and dict(task.fields) == fields
        assert task.fixture is None and not task.runs_by_default
        assert (task.dataset.path, task.dataset.name, task.dataset.split) == (path, config, split)
        assert count_examples(task) is None


def test_cnn_dailymail_shaped_file_runs_with_highlights_as_one_reference(in_tmp, cli):
    path = _cnn_task(in_tmp)
    code, out, err = cli("validate", str(path))
    assert code == 0 and out.startswith("ok  cnn-local: 6 examples (summarization"), err
    code, out, err = cli("run", "-m", "lead-3", "-t", str(path), "-q")
    assert code == 0, err
    record, rows = _record(in_tmp, "cnn-local")
    assert record["n_examples"] == 6 and 0 < record["metrics"]["rougeLsum"] <= 100
    assert record["config"]["task"]["dataset"]["path"] == "json"
    fingerprint = record["config"]["task"]["dataset_fingerprint"]
    assert fingerprint and isinstance(fingerprint, str)
    definition = load_task(path)
    assert record["task_hash"] != definition.hash  # the loaded hash covers the fingerprint
    loaded, _ = load_examples(definition)
    assert loaded.hash == record["task_hash"] and loaded.fingerprint == fingerprint
    assert [r["id"] for r in rows] == [r["id"] for r in _cnn_rows()]
    for row, src in zip(rows, _cnn_rows()):
        assert row["references"] == [src["highlights"]] and "\n" in row["references"][0]
    assert rows[0]["prediction"].split("\n") == SENTENCES[:3]


def test_the_definition_hash_follows_the_data_files(tmp_path):
    path = _cnn_task(tmp_path, 6)
    first = load_task(path).hash
    assert load_task(path).hash == first
    _cnn_task(tmp_path, 5)
    assert load_task(path).hash != first


@pytest.mark.parametrize("v2", [False, True])
def test_squad_shaped_parquet_runs(in_tmp, cli, v2):
    path = _squad_task(in_tmp, v2=v2)
    task, examples = load_examples(load_task(path))
    assert [e.id for e in examples] == ["q0", "q1", "q2"] + (["q3"] if v2 else [])
    assert examples[0].references == ("Norse raiders", "Norse") and examples[0].answer_starts == (28, 28)
    if v2:
        assert examples[3].references == () and examples[3].answer_starts == ()
    code, out, err = cli("run", "-m", "sliding-window", "-t", str(path), "-q")
    assert code == 0, err
    record, rows = _record(in_tmp, task.name)
    assert record["n_examples"] == len(examples) and "f1" in record["metrics"]
    assert rows[1]["references"] == ["France"]


def test_rows_of_a_dataset_are_validated_with_their_index(in_tmp, cli):
    path = _squad_task(in_tmp, wrong_start=True)
    code, out, err = cli("validate", str(path))
    assert code == 2 and "Traceback" not in err
    assert "squad_validation.parquet[validation][1] (field 'answers'): answer 0 'France' is not at answer_start 60" in err
    assert f"'France' occurs at answer_start {CONTEXT.index('France')}" in err
    code, out, err = cli("run", "-m", "sliding-window", "-t", str(path), "-q")
    assert code == 2 and not (in_tmp / "results").exists()


def test_fields_must_name_columns_of_the_dataset(in_tmp, cli):
    path = _cnn_task(in_tmp, fields={"id": "id", "document": "story", "references": "highlights"})
    code, out, err = cli("validate", str(path))
    assert code == 2 and "1 problem found" in err
    line = next(n for n, t in enumerate(path.read_text().splitlines(), 1) if t.startswith("fields:"))
    assert f"tk/cnn-local.yaml:{line} (field 'fields'): task field 'document' names column 'story'" in err
    assert "columns there: article, highlights, id" in err


def test_bad_dataset_arguments_are_clear(in_tmp, cli):
    path = _cnn_task(in_tmp)
    spec = yaml.safe_load(path.read_text())
    spec["dataset"]["split"] = "validation"
    path.write_text(yaml.safe_dump(spec))
    code, out, err = cli("run", "-m", "lead-3", "-t", str(path), "-q")
    assert code == 2 and "Unknown split" in err and "'json'" in err and "Traceback" not in err

    spec["dataset"] = {"path": "json", "data_files": "../data/missing.jsonl", "split": "train"}
    path.write_text(yaml.safe_dump(spec))
    code, out, err = cli("validate", str(path))
    assert code == 2 and "data file not found: data/missing.jsonl" in err

    spec["dataset"] = {"path": "abisee/cnn_dailymail", "config": "3.0.0", "split": "test"}
    path.write_text(yaml.safe_dump(spec))
    code, out, err = cli("validate", str(path))
    assert code == 2 and "unknown 'dataset' key 'config' (the configuration goes in 'name'" in err

    spec["dataset"] = {"path": "parquet", "split": "test"}
    spec["fixture"] = "x.jsonl"
    path.write_text(yaml.safe_dump(spec))
    code, out, err = cli("validate", str(path))
    assert code == 2 and "a task has a 'fixture' or a 'dataset', not both" in err


def test_limit_and_seeded_sample(in_tmp, cli):
    path = _cnn_task(in_tmp, 20)
    ids = [r["id"] for r in _cnn_rows(20)]
    code, out, err = cli("run", "-m", "lead-3", "-t", str(path), "--limit", "4", "-q", "-o", "lim")
    assert code == 0, err
    (res,) = (in_tmp / "lim").glob("*/*/*/results.json")
    record = json.loads(res.read_text())
    assert record["n_examples"] == 4 and record["config"]["limit"] == 4
    assert [json.loads(x)["id"] for x in (res.parent / "predictions.jsonl").read_text().splitlines()] == ids[:4]

    picked = []
    for k, seed in enumerate(("7", "7", "8")):
        code, out, err = cli("run", "-m", "lead-3", "-t", str(path), "--sample", "5", "--seed", seed, "-q",
                             "-o", f"s{k}")
        assert code == 0, err
        (res,) = (in_tmp / f"s{k}").glob("*/*/*/results.json")
        assert json.loads(res.read_text())["config"]["sample"] == 5
        picked.append([json.loads(x)["id"] for x in (res.parent / "predictions.jsonl").read_text().splitlines()])
    assert picked[0] == picked[1] == [ids[i] for i in select_indices(20, sample=5, seed=7)]
    assert picked[2] == [ids[i] for i in select_indices(20, sample=5, seed=8)] != picked[0]

    code, out, err = cli("run", "-m", "lead-3", "-t", str(path), "--sample", "5", "--limit", "3", "-q")
    assert code == 2 and "cannot be used together" in err
    code, out, err = cli("run", "-m", "lead-3", "-t", "seed-qa", "--sample", "0", "-q")
    assert code == 2 and "--sample must be at least 1" in err


def test_sample_also_works_on_fixture_tasks(in_tmp, cli):
    code, out, err = cli("run", "-m", "sliding-window", "-t", "seed-qa", "--sample", "10", "-q")
    assert code == 0, err
    record, rows = _record(in_tmp, "seed-qa")
    assert record["n_examples"] == 10 and record["config"]["sample"] == 10


def test_select_indices():
    for seed in range(5):
        small, large = select_indices(100, sample=10, seed=seed), select_indices(100, sample=30, seed=seed)
        assert len(small) == 10 and small == sorted(set(small)) and set(small) <= set(large)
        assert small == select_indices(100, sample=10, seed=seed)
    assert select_indices(100, sample=10, seed=0) != select_indices(100, sample=10, seed=1)
    assert select_indices(5, sample=10) == [0, 1, 2, 3, 4]
    assert select_indices(5, limit=2) == [0, 1] and select_indices(5) is None


def test_a_run_without_task_leaves_dataset_tasks_out(in_tmp, cli):
    _cnn_task(in_tmp)
    code, out, err = cli("run", "-m", "lead-3", "--tasks-dir", "tk", "-q")
    assert code == 2
    assert err.startswith("error: no task to run in tk: a task over a dataset runs only when named (--task)"), err
    assert "or add --bundled to run the bundled tasks too" in err
    code, out, err = cli("run", "-m", "lead-3", "--tasks-dir", "tk", "--bundled", "-q")
    assert code == 0, err
    assert sorted(p.name for p in (in_tmp / "results").iterdir() if p.is_dir() and not p.name.startswith(".")) \
        == ["seed-headline", "seed-summarization"]


def _offline_env(tmp: Path) -> dict[str, str]:
    hf = tmp / "empty-hf-home"
    return {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "HF_HOME": str(hf),
            "HF_DATASETS_CACHE": str(hf / "datasets"), "PYTHONPATH": str(REPO)}


@pytest.mark.slow
def test_offline_and_not_cached_is_one_clear_error_and_writes_nothing(tmp_path):
    for args in (["run", "--model", "lead-3", "--task", "cnn_dailymail"], ["validate", "cnn_dailymail"]):
        proc = subprocess.run([sys.executable, "-m", "bench", *args], cwd=tmp_path, env=_offline_env(tmp_path),
                              capture_output=True, text=True, timeout=120)
        err = proc.stderr
        assert proc.returncode == 3, err
        assert "Traceback" not in err and err.count("error:") == 1
        assert ("dataset 'abisee/cnn_dailymail' (config '3.0.0', split 'test') for task 'cnn_dailymail' "
                "is not in the local datasets cache") in err
        assert "offline mode" in err
        assert """python -c "import datasets; datasets.load_dataset('abisee/cnn_dailymail', '3.0.0', split='test')\"""" in err
        assert "dataset: {path: parquet, data_files: {test: " in err
        assert not (tmp_path / "results").exists()


def test_unreachable_hub_without_offline_mode_fails_at_once(tmp_path):
    """No offline variable, and the hub's address refuses connections: the cache only, no retry loop."""
    env = {k: v for k, v in _offline_env(tmp_path).items()
           if k not in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE", "HTTPS_PROXY", "https_proxy", "ALL_PROXY",
                        "all_proxy")}
    env["HF_ENDPOINT"] = "http://127.0.0.1:9"
    proc = subprocess.run([sys.executable, "-m", "bench", "run", "--model", "lead-3", "--task", "cnn_dailymail"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr
    assert "is not in the local datasets cache, and the Hugging Face Hub cannot be reached" in proc.stderr
    assert "Retrying" not in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "results").exists()


def test_list_shows_dataset_tasks_without_loading_datasets(tmp_path):
    code = ("import sys\nfrom bench.cli.app import main\n"
            "try:\n    main(['list'])\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
            "print(sorted(m for m in ('torch', 'transformers', 'datasets') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=_offline_env(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"
    row = next(line for line in proc.stdout.splitlines() if "cnn_dailymail" in line)
    assert "?" in row


def test_parse_dataset_resolves_data_files_against_the_task_folder(tmp_path):
    from bench.tasks.datasets import local_files, parse_dataset

    (tmp_path / "data").mkdir()
    for name in ("test-0.parquet", "test-1.parquet", "train.parquet"):
        (tmp_path / "data" / name).write_bytes(b"x")
    source, errors = parse_dataset({"path": "parquet", "split": "test",
                                    "data_files": {"test": "data/test-*.parquet", "train": ["data/train.parquet"]}},
                                   tmp_path, "t.yaml:3")
    assert errors == [] and source is not None and source.is_local
    assert source.data_files == {"test": (str(tmp_path / "data/test-*.parquet"),),
                                 "train": (str(tmp_path / "data/train.parquet"),)}
    assert local_files(source) == [tmp_path / "data" / n for n in ("test-0.parquet", "test-1.parquet",
                                                                    "train.parquet")]
    hub, errors = parse_dataset({"path": "abisee/cnn_dailymail", "name": "3.0.0", "split": "test"}, tmp_path, "t")
    assert errors == [] and hub is not None and local_files(hub) == [] and not hub.is_local
    none, errors = parse_dataset({"path": "json", "config": "x", "split": 1}, tmp_path, "t.yaml:3")
    assert none is None and [e.message.split(" (")[0].split(".")[0] for e in errors] == [
        "unknown 'dataset' key 'config'", "'dataset' needs 'split'"]
    assert all(e.where == "t.yaml:3" for e in errors)


def test_dataset_fingerprint():
    from bench.tasks.datasets import dataset_fingerprint

    class Loaded:
        _fingerprint = "0123abcd"

    assert dataset_fingerprint(Loaded()) == "0123abcd"
    assert dataset_fingerprint(object()) is None


@pytest.mark.parametrize("kind, what", [("fifo", "a FIFO (named pipe), not a regular file"),
                                        ("loop", "a symbolic link loop"),
                                        ("dev-zero", "a character device, not a regular file")])
@pytest.mark.parametrize("pattern", ["odd.jsonl", "*.jsonl"])
def test_data_files_that_are_not_regular_files_are_refused_before_anything_reads_them(in_tmp, cli, kind, what,
                                                                                      pattern):
    import os

    (in_tmp / "good.jsonl").write_text('{"id": "a", "document": "d", "references": ["r"]}\n', encoding="utf-8")
    odd = in_tmp / "odd.jsonl"
    if kind == "fifo":
        os.mkfifo(odd)
    elif kind == "loop":
        odd.symlink_to("odd.jsonl")
    else:
        if not Path("/dev/zero").exists():
            pytest.skip("no /dev/zero")
        odd.symlink_to("/dev/zero")
    (in_tmp / "t.yaml").write_text(f'name: t\nversion: 1\ntype: summarization\n'
                                   f'dataset: {{path: json, data_files: "{pattern}", split: train}}\n', encoding="utf-8")
    for argv in (["validate", "t.yaml"], ["run", "-q", "-m", "lead-3", "-t", "t.yaml"]):
        code, _, err = cli(*argv)
        assert code == 2 and "Traceback" not in err, err
        assert "t.yaml:4: cannot read data file" in err and "odd.jsonl" in err and what in err, err
