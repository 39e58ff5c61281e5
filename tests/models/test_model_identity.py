"""One model, one identity: the spellings of a local model directory name one model (nothing loads here)."""

from __future__ import annotations

import json
import os

import pytest

from bench.models import resolve_model

BART_CONFIG = {"architectures": ["BartForConditionalGeneration"], "is_encoder_decoder": True, "model_type": "bart"}


@pytest.fixture
def model_dir(in_tmp):
    d = in_tmp / "models" / "tiny-bart"
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps(BART_CONFIG), encoding="utf-8")
    (in_tmp / "link-to-bart").symlink_to(d)
    return d


@pytest.mark.parametrize("spelling", [
    "models/tiny-bart", "./models/tiny-bart", "models/tiny-bart/", "models//tiny-bart",
    "models/../models/tiny-bart", "{abs}", "{abs}/", "link-to-bart", "./link-to-bart/", "~/tiny-bart",
])
def test_every_spelling_of_a_directory_is_one_model_named_by_its_resolved_path(model_dir, monkeypatch, spelling):
    monkeypatch.setenv("HOME", str(model_dir.parent))
    spec = resolve_model(spelling.format(abs=model_dir))
    canonical = str(model_dir.resolve())
    assert spec.name == canonical and spec.target == canonical
    assert spec.info.name == canonical and os.path.isabs(spec.name)


def test_the_name_does_not_depend_on_the_working_directory(model_dir, monkeypatch):
    here = resolve_model("./models/tiny-bart").name
    monkeypatch.chdir(model_dir.parent)
    assert resolve_model("./tiny-bart").name == resolve_model("tiny-bart").name == here


def test_a_model_named_twice_in_one_command_runs_once(model_dir, cli, in_tmp):
    """Two spellings of one model in one `bench run` are one model: one run (checked before anything loads)."""
    from bench.execution.runner import check_pairs
    from bench.tasks.discovery import resolve_tasks

    (task,) = resolve_tasks(["seed-summarization"])
    specs = [resolve_model(name) for name in ("./models/tiny-bart", "models/tiny-bart/", "link-to-bart")]
    assert [(s.name, t.name) for s, t in check_pairs(specs, [task], explicit=True)] == [
        (str(model_dir.resolve()), "seed-summarization")]
    code, _, err = cli("run", "-q", "-m", "lead-3", "-m", "lead-3", "-t", "seed-summarization", "-o", "out")
    assert code == 0, err
    assert len(list((in_tmp / "out").glob("seed-summarization/lead-3/*/results.json"))) == 1
