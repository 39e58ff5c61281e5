"""The prediction cache's key: every input that can change a prediction is in it, and nothing else.

A user's model is written to a temporary module here and edited between runs, as a user would: the seed, its
code (its module and the module of a base class), its settings (defaults included), its `version` and its
`fingerprint()` each give a new key; the same command reuses the cache.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest

from bench.api import run
from bench.errors import BenchError
from bench.execution.cache import cache_key, model_identity
from bench.models import resolve_model
from bench.tasks.discovery import resolve_tasks

BASE = '''
from bench.models import Model


class Base(Model):
    task_types = ("qa",)

    def pick(self, words):
        return words[{base_offset}]
'''

PLUGIN = '''
import random

from {base} import Base


class Words(Base):
    """Random words of the context: its predictions depend on the seed."""

    name = "words"
    version = {version!r}

    def __init__(self, seed: int = 0, n_words: int = {n_words}) -> None:
        self.n_words = n_words
        self.rng = random.Random(seed)

    @classmethod
    def fingerprint(cls):
        return {fingerprint!r}

    def predict(self, examples, task):
        return [" ".join([self.pick(ex.input.split())] + self.rng.sample(ex.input.split(), self.n_words)){suffix}
                for ex in examples]

    def describe(self):
        return {{"name": self.name, "n_words": self.n_words}}


class GlobalRandom(Base):
    """Draws from Python's global generator, which the runner seeds: the seed matters though it is not named."""

    name = "global-random"

    def predict(self, examples, task):
        return [random.choice(ex.input.split()) for ex in examples]
'''

DEFAULTS = {"version": "1", "n_words": 3, "fingerprint": "weights-a", "suffix": "", "base_offset": 0}


@pytest.fixture
def plugin(tmp_path, monkeypatch, request):
    """write(**changes): (re)write the plug-in's two modules; returns the model name to run."""
    folder = tmp_path / "plugins"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # an edit within the same second must be seen
    tag = request.node.name.replace("[", "_").replace("]", "").replace("-", "_")
    names = {"base": f"plugbase_{tag}", "plugin": f"plug_{tag}"}

    def write(cls: str = "Words", **changes) -> str:
        values = {**DEFAULTS, **changes}
        (folder / f"{names['base']}.py").write_text(BASE.format(**values))
        (folder / f"{names['plugin']}.py").write_text(PLUGIN.format(base=names["base"], **values))
        for name in names.values():  # a new process would import the edited files: so does this one
            sys.modules.pop(name, None)
        importlib.invalidate_caches()
        return f"{names['plugin']}:{cls}"

    return write


def _run(model: str, out: Path, **kw) -> tuple[dict, list[str]]:
    (record,) = run(models=[model], tasks=["seed-qa"], limit=5, output_dir=out, **kw)
    rows = [json.loads(line) for line in (Path(record["path"]) / "predictions.jsonl").read_text().splitlines()]
    return record, [r["prediction"] for r in rows]


def _cache_files(out: Path) -> list[str]:
    """The cache keys the prediction cache holds entries of."""
    return sorted({grp for (grp,) in _groups(out)}) if (out / ".cache" / "cache.sqlite").exists() else []


def _groups(out: Path) -> list[tuple[str]]:
    import sqlite3

    db = sqlite3.connect(out / ".cache" / "cache.sqlite")
    try:
        return db.execute("SELECT DISTINCT grp FROM entries WHERE ns = 'predictions'").fetchall()
    finally:
        db.close()


@pytest.mark.parametrize("cls", ["Words", "GlobalRandom"])
def test_each_seed_has_its_own_cache_entry_and_the_same_seed_reuses_it(plugin, tmp_path, cls):
    model = plugin(cls)
    out = tmp_path / "out"
    first, p0 = _run(model, out, seed=0)
    second, p1 = _run(model, out, seed=1)
    assert second["config"]["cache"]["reused"] == 0 and second["config"]["seed"] == 1
    assert p0 != p1, "a new seed must not reuse the predictions of another"
    assert len(_cache_files(out)) == 2 and first["config"]["cache"]["key"] != second["config"]["cache"]["key"]
    again, p0_again = _run(model, out, seed=0)
    assert again["config"]["cache"] == {**first["config"]["cache"], "reused": 5, "predicted": 0}
    assert p0_again == p0 and len(_cache_files(out)) == 2


@pytest.mark.parametrize("change, recorded", [
    ({"n_words": 1}, {"n_words": 1}),          # a default of __init__
    ({"suffix": " + '.'"}, None),               # the body of predict
    ({"base_offset": 1}, None),                 # a base class in another module of the user's
    ({"version": "2"}, None),                   # its declared version
    ({"fingerprint": "weights-b"}, None),       # its fingerprint (e.g. of weights it reads)
], ids=["default", "code", "base-class-module", "version", "fingerprint"])
def test_an_edited_plugin_predicts_again_and_records_the_new_setting(plugin, tmp_path, change, recorded):
    out = tmp_path / "out"
    before, old = _run(plugin(), out)
    after, new = _run(plugin(**change), out)
    assert after["config"]["cache"]["reused"] == 0 and after["config"]["cache"]["predicted"] == 5
    assert after["config"]["cache"]["key"] != before["config"]["cache"]["key"]
    if recorded:
        assert {k: after["config"]["model"][k] for k in recorded} == recorded
        assert all(len(p.split()) == 2 for p in new) and all(len(p.split()) == 4 for p in old)
    unchanged, _ = _run(plugin(**change), out)  # written again, byte for byte the same: the cache holds
    assert unchanged["config"]["cache"]["reused"] == 5


def test_settings_given_by_the_run_are_in_the_key(plugin, tmp_path):
    spec = resolve_model(plugin())
    (task,) = resolve_tasks(["seed-qa"])
    key = lambda **o: cache_key(model_identity(spec, task, {"batch_size": None, "seed": 0, **o}))  # noqa: E731
    # Words.__init__ takes seed and n_words only: other options do not reach it
    assert key(device="cpu") == key(device="auto") == key()
    assert key(seed=1) != key()
    identity = model_identity(spec, task, {"seed": 0})
    assert identity["settings"] == {"seed": 0, "n_words": 3} and identity["version"] == "1"
    assert identity["fingerprint"] == "weights-a" and len(identity["code"]) == 16


def test_a_fingerprint_that_needs_an_instance_is_refused(tmp_path, monkeypatch):
    (tmp_path / "inst_fp.py").write_text(
        "from bench.models import Model\n\n"
        "class M(Model):\n    task_types = ('qa',)\n\n    def fingerprint(self):\n        return 'x'\n\n"
        "    def predict(self, examples, task):\n        return [''] * len(examples)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = resolve_model("inst_fp:M")
    with pytest.raises(BenchError, match="fingerprint must be a classmethod or staticmethod"):
        spec.identity({"seed": 0})


def test_a_settings_default_without_a_stable_repr_does_not_change_the_key(tmp_path, monkeypatch):
    (tmp_path / "obj_default.py").write_text(
        "from bench.models import Model\n\nSENTINEL = object()\n\n"
        "class M(Model):\n    task_types = ('qa',)\n\n    def __init__(self, x=SENTINEL):\n        pass\n\n"
        "    def predict(self, examples, task):\n        return [''] * len(examples)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    settings = resolve_model("obj_default:M").identity({"seed": 0})["settings"]
    assert settings == {"x": "<object object>"}


def test_baselines_take_no_option_and_so_share_one_key(tmp_path):
    spec = resolve_model("sliding-window")
    (task,) = resolve_tasks(["seed-qa"])
    keys = {cache_key(model_identity(spec, task, {"seed": s, "batch_size": b, "device": "cpu"}))
            for s in (0, 1) for b in (None, 4)}
    assert len(keys) == 1
