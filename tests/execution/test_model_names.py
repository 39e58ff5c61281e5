"""Names people choose (`bench run --model M --name NAME`): the name is what results show, the model's own name
stays the prediction cache's key and the run's provenance, and one name never holds two models' runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.errors import BenchError


def _records(results: Path) -> dict[str, dict]:
    """model directory name -> its (only) results.json."""
    return {p.parent.parent.name: json.loads(p.read_text(encoding="utf-8"))
            for p in sorted(results.glob("seed-headline/*/*/results.json"))}


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if ".cache" not in p.parts}


def test_a_named_model_is_shown_by_its_name_and_known_by_its_own(in_tmp, cli):
    code, _, err = cli("run", "-m", "lead-3", "-t", "seed-headline", "-q")
    assert code == 0, err
    code, _, err = cli("run", "-m", "lead-3", "--name", "my-lead", "-t", "seed-headline", "-q")
    assert code == 0, err
    # the same model under another name: its predictions come from the cache, made under its own name
    assert "my-lead on seed-headline: 1 of 1 predictions from the prediction cache" in err
    records = _records(in_tmp / "results")
    assert set(records) == {"lead-3", "my-lead"}
    own, named = records["lead-3"], records["my-lead"]
    assert named["model"] == "my-lead" and own["model"] == "lead-3"
    assert named["provenance"]["model_source"] == own["provenance"]["model_source"] == "lead-3"
    assert named["config"]["cache"]["key"] == own["config"]["cache"]["key"]
    assert named["metrics"] == own["metrics"]
    code, out, err = cli("compare", "-t", "seed-headline", "--format", "csv")
    assert code == 0, err
    header, *rows = [row.split(",") for row in out.splitlines()]
    assert {row[header.index("model")] for row in rows} == {"lead-3", "my-lead", "reference"}
    leaderboard = (in_tmp / "results" / "leaderboard.md").read_text(encoding="utf-8")
    assert "| my-lead |" in leaderboard


def test_the_python_api_names_models_in_order(in_tmp):
    import bench

    records = bench.run(models=["lead-3", "textrank"], names=["first", "ranked"], tasks=["seed-headline"])
    assert [(r["model"], r["provenance"]["model_source"]) for r in records] == [("first", "lead-3"),
                                                                               ("ranked", "textrank")]
    assert Path(records[1]["path"]).parent.name == "ranked"
    with pytest.raises(BenchError, match="--name is given 3 times for 2 models"):
        bench.run(models=["lead-3", "textrank"], names=["a", "b", "c"], tasks=["seed-headline"])


def test_a_name_taken_by_another_model_is_refused_before_anything_runs(in_tmp, cli):
    code, _, err = cli("run", "-m", "lead-3", "--name", "mine", "-t", "seed-headline", "-t", "seed-summarization",
                       "-q")
    assert code == 0, err
    before = _files(in_tmp)
    code, out, err = cli("run", "-m", "textrank", "--name", "mine", "-t", "seed-summarization", "-t",
                         "seed-headline", "-q")
    assert code == 2 and out == ""
    assert err == ("error: the name 'mine' is taken in results by another model: lead-3 ran under it on task "
                   "'seed-summarization' (results/seed-summarization/mine), and this is textrank\n"
                   "  hint: give this model another name (--name), or write its runs elsewhere (--output-dir)\n")
    assert _files(in_tmp) == before
    # the model that holds the name runs under it again; another results directory is another namespace
    assert cli("run", "-m", "lead-3", "--name", "mine", "-t", "seed-headline", "-q")[0] == 0
    code, _, err = cli("run", "-m", "textrank", "--name", "mine", "-t", "seed-headline", "-q", "-o", "other")
    assert code == 0, err
    assert _records(in_tmp / "other")["mine"]["provenance"]["model_source"] == "textrank"


def test_a_run_of_an_earlier_bench_is_of_the_model_its_name_says(in_tmp, cli):
    """Runs written before `model_source` was recorded: a model ran under its own name then."""
    assert cli("run", "-m", "lead-3", "-t", "seed-headline", "-q")[0] == 0
    (path,) = (in_tmp / "results").glob("seed-headline/lead-3/*/results.json")
    record = json.loads(path.read_text(encoding="utf-8"))
    del record["provenance"]["model_source"]
    path.write_text(json.dumps(record), encoding="utf-8")
    assert cli("run", "-m", "lead-3", "-t", "seed-headline", "-q")[0] == 0
    (in_tmp / "plugin_names.py").write_text(
        "from bench.models import Model\n\n\nclass Other(Model):\n    name = 'other'\n"
        "    task_types = ('summarization',)\n\n    def predict(self, examples, task):\n"
        "        return ['x' for _ in examples]\n", encoding="utf-8")
    code, _, err = cli("run", "-m", "plugin_names:Other", "--name", "lead-3x", "-t", "seed-headline", "-q")
    assert code == 0, err
    records = _records(in_tmp / "results")
    assert records["lead-3x"]["provenance"]["model_source"] == "other"  # a class's own name, not module:Class


@pytest.mark.parametrize("name, message", [
    ("a/b", "invalid model name 'a/b' (--name)"),
    (".hidden", "invalid model name '.hidden' (--name)"),
    ("x..y", "invalid model name 'x..y' (--name)"),
    ("x" * 101, "invalid model name 'xxxx"),
    ("", "invalid model name '' (--name)"),
])
def test_a_name_must_be_a_directory_name_as_it_is(in_tmp, cli, name, message):
    code, out, err = cli("run", "-m", "lead-3", "--name", name, "-t", "seed-headline")
    assert code == 2 and message in err and "hint: use letters, digits, '-', '_' and '.'" in err
    assert not (in_tmp / "results").exists()


def test_one_model_may_run_under_its_own_name_and_another(in_tmp, cli):
    code, _, err = cli("run", "-m", "lead-3", "-m", "lead-3", "--name", "lead-3", "--name", "lead-again",
                       "-t", "seed-headline", "-q")
    assert code == 0, err
    assert set(_records(in_tmp / "results")) == {"lead-3", "lead-again"}
