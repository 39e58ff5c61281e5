"""Shared test setup: every test runs offline, with its own results directory."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
#: Model classes and builders the tests load (tiny_models, fault_models, resume_models, plugin_example/).
HELPERS = Path(__file__).resolve().parent / "helpers"
#: The article the bundled fixtures were written from (line 1 headline, 2 date, 3 URL, then the body).
SEED_ARTICLE = REPO / "fixtures" / "source" / "seed_article.txt"

if str(HELPERS) not in sys.path:
    sys.path.insert(0, str(HELPERS))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def skip_without_hf() -> None:
    """Skip the calling test when the 'hf' extra (torch, transformers) is not installed."""
    for package in ("torch", "transformers"):
        pytest.importorskip(package, reason="needs the 'hf' extra: pip install -e '.[hf]'")


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Run in an empty working directory (so results/ lands in tmp)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def cli(capsys):
    """Run the `bench` command line in-process: returns (exit code, stdout, stderr)."""
    from bench.cli.app import main

    def invoke(*args: str) -> tuple[int, str, str]:
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


@pytest.fixture
def spacy_texts(monkeypatch) -> list[str]:
    """Every text spaCy's tokenizer is given from now on (the extractiveness metric's tokenizer, spaCy's own,
    with each text written down), the in-memory token cache emptied first."""
    from bench.metrics.extractiveness import fragments as extractive

    spacy_tokenizer = extractive._tokenizer()
    seen: list[str] = []

    class Counting:
        def pipe(self, texts, **kwargs):
            texts = list(texts)
            seen.extend(texts)
            return spacy_tokenizer.pipe(texts, **kwargs)

    monkeypatch.setattr(extractive, "_tokenizer", lambda: Counting())
    extractive.clear_cache()
    return seen
