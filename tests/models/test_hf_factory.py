"""Hugging Face specs (bench/models/hf/factory.py) over the torch-free lookup (config.py): nothing loads."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import REPO

from bench.errors import BenchError
from bench.models.hf.config import ALIASES, info_for
from bench.models.hf.factory import HFModelSpec, alias_specs, create_model, spec, spec_for

BART_CONFIG = {"architectures": ["BartForConditionalGeneration"], "is_encoder_decoder": True, "model_type": "bart",
               "task_specific_params": {"summarization": {"prefix": "summarize: "}}}


@pytest.fixture
def model_dir(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(BART_CONFIG), encoding="utf-8")
    return tmp_path


def test_every_alias_has_a_spec_whose_factory_is_create_model():
    specs = alias_specs()
    assert [s.name for s in specs] == [info.name for info in ALIASES]
    for s, info in zip(specs, ALIASES):
        assert isinstance(s, HFModelSpec) and s.info is info
        assert (s.kind, s.task_types, s.target) == (info.kind, info.task_types, info.model_id)
        assert s.factory.func is create_model and s.factory.args == (info,)


def test_a_local_directory_is_read_for_its_kind(model_dir):
    info = info_for(str(model_dir))
    assert info is not None and info.local and info.kind == "seq2seq" and info.prefix == "summarize: "
    s = spec_for(str(model_dir))
    assert s == spec(info) and s.task_types == ("summarization",) and s.target == str(model_dir.resolve())


def test_a_name_that_is_neither_hub_id_nor_directory_has_no_spec():
    assert info_for("no-such-model") is None
    assert spec_for("no-such-model") is None


def test_a_missing_directory_is_an_error(tmp_path):
    with pytest.raises(BenchError, match="model directory not found"):
        spec_for(str(tmp_path / "missing" / "model"))


def test_options_are_checked_before_anything_loads(model_dir):
    info = info_for(str(model_dir))
    with pytest.raises(BenchError, match="--base-url is for openai:NAME models only"):
        create_model(info, base_url="http://127.0.0.1:8000")
    with pytest.raises(BenchError, match="unknown option.*: beams"):
        create_model(info, beams=4)


def test_specs_never_import_torch(model_dir):
    code = ("import sys; from bench.models.hf.factory import alias_specs, spec_for; "
            f"alias_specs(); spec_for({str(model_dir)!r}); "
            "print('torch' in sys.modules, 'transformers' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "False"]
