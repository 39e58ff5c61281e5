"""Hugging Face models in the prediction cache, end to end on tiny models: a sampled run per seed, and one model
whatever the spelling of its directory (in the cache key, results.json, results directories and comparisons)."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import os
from pathlib import Path

import pytest
import tiny_models
from conftest import skip_without_hf

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, Path]:
    skip_without_hf()
    from transformers.utils import logging

    logging.disable_progress_bar()
    root = tmp_path_factory.mktemp("identity-models")
    return {"gpt2": tiny_models.build_gpt2(root / "tiny-gpt2"), "bart": tiny_models.build_bart(root / "tiny-bart")}


def _run(cli, out: Path, *args: str) -> tuple[dict, list[str]]:
    before = set(out.glob("*/*/*/results.json"))
    code, _, err = cli("run", "-q", "-o", str(out), *args)
    assert code == 0, err
    (path,) = set(out.glob("*/*/*/results.json")) - before
    rows = [json.loads(line) for line in (path.parent / "predictions.jsonl").read_text().splitlines()]
    return json.loads(path.read_text()), [r["prediction"] for r in rows]


def test_sampling_with_two_seeds_gives_two_cache_entries_and_the_same_seed_reuses_its_own(tiny, cli, tmp_path):
    args = ("--model", str(tiny["gpt2"]), "--task", "seed-qa", "--limit", "3", "--gen", "do_sample=true",
            "--gen", "max_new_tokens=8", "--gen", "temperature=5.0")
    out = tmp_path / "out"
    one, p1 = _run(cli, out, *args, "--seed", "1")
    two, p2 = _run(cli, out, *args, "--seed", "2")
    assert two["config"]["cache"]["reused"] == 0 and two["config"]["cache"]["key"] != one["config"]["cache"]["key"]
    assert p1 != p2
    with contextlib.closing(sqlite3.connect(out / ".cache" / "cache.sqlite")) as db:  # the two keys' entries
        keys = {grp for (grp,) in db.execute("SELECT DISTINCT grp FROM entries WHERE ns = 'predictions'")}
    assert keys == {one["config"]["cache"]["key"], two["config"]["cache"]["key"]}
    again, p1_again = _run(cli, out, *args, "--seed", "1")
    assert again["config"]["cache"]["reused"] == 3 and p1_again == p1 and again["config"]["seed"] == 1
    # greedy decoding depends on neither the seed's draws nor the batch size, yet the seed is in the key
    batched, _ = _run(cli, out, *args, "--seed", "1", "--batch-size", "1")
    assert batched["config"]["cache"]["reused"] == 3


def test_every_spelling_of_a_model_directory_is_one_model(tiny, cli, in_tmp, monkeypatch):
    bart = tiny["bart"]
    (in_tmp / "models").mkdir()
    (in_tmp / "models" / "tiny-bart").symlink_to(bart)
    monkeypatch.setenv("HOME", str(bart.parent))
    args = ("--task", "seed-headline", "--gen", "num_beams=1", "--gen", "max_new_tokens=4")
    out = in_tmp / "results"
    records = [_run(cli, out, "--model", spelling, *args)[0]
               for spelling in (str(bart), f"{bart}/", "./models/tiny-bart", "models/tiny-bart/", "~/tiny-bart")]
    canonical = str(bart.resolve())
    assert {r["model"] for r in records} == {canonical}
    assert {r["config"]["model"]["name"] for r in records} == {canonical}
    assert {r["config"]["cache"]["key"] for r in records} == {records[0]["config"]["cache"]["key"]}
    assert [r["config"]["cache"]["reused"] for r in records] == [0, 1, 1, 1, 1]
    assert len(list(out.glob("seed-headline/*"))) == 1  # one model directory
    code, stdout, err = cli("compare", str(out), "--format", "json")
    assert code == 0, err
    assert {row["model"] for row in json.loads(stdout)} == {canonical}
    assert os.path.isabs(canonical)
