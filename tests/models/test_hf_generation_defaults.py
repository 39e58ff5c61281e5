"""Seq2seq summarization settings and decoding as the transformers 4.57 summarization pipeline had them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import tiny_models
from conftest import skip_without_hf

pytestmark = pytest.mark.slow


def _summaries_task(root: Path, n: int = 3) -> Path:
    text = tiny_models.seed_text().split("\n", 3)[3]
    paragraphs = [p.strip() for p in text.split("\n") if p.strip()][:n]
    root.mkdir(parents=True, exist_ok=True)
    rows = [{"id": f"d{k}", "document": p, "references": [p]} for k, p in enumerate(paragraphs)]
    (root / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (root / "d.yaml").write_text("name: docs\nversion: 1\ntype: summarization\nfixture: d.jsonl\nmetrics: [rouge]\n")
    return root / "d.yaml"


def _run(cli, out: Path, model: Path, task: Path, *gen: str) -> tuple[dict, list[str]]:
    args = ["run", "--quiet", "--no-cache", "-o", str(out), "--model", str(model), "--task", str(task)]
    for item in gen:
        args += ["--gen", item]
    code, _, err = cli(*args)
    assert code == 0, err
    path, = out.glob("*/*/*/results.json")
    record = json.loads(path.read_text())
    predictions = [json.loads(line)["prediction"] for line in (path.parent / "predictions.jsonl").read_text().splitlines()]
    return record["config"]["model"], predictions


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    skip_without_hf()
    import parity_models

    root = tmp_path_factory.mktemp("generation-models")
    return {"plain": parity_models.build_bart_plain(root / "plain"), "bart": tiny_models.build_bart(root / "bart")}


def test_a_checkpoint_without_generation_settings_gets_the_pipelines_defaults(models, cli, tmp_path):
    task = _summaries_task(tmp_path / "task", n=1)
    model, _ = _run(cli, tmp_path / "plain", models["plain"], task)
    assert model["generation_sources"]["pipeline_defaults"] == {"num_beams": 4, "max_new_tokens": 256}
    assert model["generation"]["num_beams"] == 4 and model["generation"]["max_new_tokens"] == 256
    # a length asked for replaces the 256; beams asked for replace the 4
    model, _ = _run(cli, tmp_path / "asked", models["plain"], task, "max_length=12", "num_beams=1")
    assert model["generation_sources"]["pipeline_defaults"] == {"num_beams": 4}
    assert model["generation"]["num_beams"] == 1 and model["generation"]["max_length"] == 12
    assert "max_new_tokens" not in model["generation"]
    # a checkpoint with its own beams and length keeps them
    model, _ = _run(cli, tmp_path / "own", models["bart"], task)
    assert not model["generation_sources"].get("pipeline_defaults")
    assert model["generation"]["num_beams"] == 2 and model["generation"]["max_length"] == 40


def test_summaries_are_decoded_without_cleaning_up_tokenization_spaces(models, cli, tmp_path):
    """The tokenizer's own clean_up_tokenization_spaces does not change a summary (the pipeline decoded with False)."""
    cleaning = tmp_path / "cleaning"
    shutil.copytree(models["bart"], cleaning)
    config_file = cleaning / "tokenizer_config.json"
    config = json.loads(config_file.read_text())
    config["clean_up_tokenization_spaces"] = True
    # transformers 5 cleans up after a BPE tokenizer only when told this too (transformers 4 always did)
    config["clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output"] = True
    config_file.write_text(json.dumps(config))
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(cleaning)
    assert tok.clean_up_tokenization_spaces is True
    # Spaces and full stops made likelier, so that the summaries hold " ." (which cleaning up would make ".").
    space, stop = tok.encode(" .", add_special_tokens=False)
    bias = f"sequence_bias=[[[{space}], 5.0], [[{stop}], 10.0]]"
    task = _summaries_task(tmp_path / "task", n=3)
    _, plain = _run(cli, tmp_path / "a", models["bart"], task, "num_beams=1", bias)
    _, cleaned = _run(cli, tmp_path / "b", cleaning, task, "num_beams=1", bias)
    assert plain == cleaned
    # The setup: this tokenizer's own decoding would have changed them.
    assert any(tok.decode(tok.encode(p, add_special_tokens=False)) != p for p in plain)
