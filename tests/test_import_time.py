"""`bench score --metric rouge` imports nothing heavy, whatever else is installed.

nltk imports scipy.stats when scipy is installed (about 1.7 s), so a ROUGE
scorer that imported nltk for its stemmer made every `bench score` slower in
most NLP environments, though not in a bare one. The test runs the real
command in a fresh interpreter with `-X importtime` and reads which packages
it imported, in this environment, which has scipy installed (the `test`
extra requires it).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: Packages `bench score --metric rouge` must never import: each costs from 0.3 s to several seconds.
HEAVY = ("scipy", "nltk", "torch", "transformers", "datasets", "evaluate", "spacy", "pandas", "sklearn",
         "matplotlib", "rouge_score")


def imported_packages(*args: str, cwd) -> set[str]:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "bench", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


@pytest.mark.slow
@pytest.mark.parametrize("options", [[], ["--no-split-sentences"], ["--no-stemmer"], ["--tokenizer", "unicode"]])
def test_bench_score_rouge_imports_nothing_heavy(tmp_path, options):
    pytest.importorskip("scipy", reason="the trap this test guards against needs scipy installed")
    path = tmp_path / "scores.jsonl"
    path.write_text(json.dumps({"id": "1", "prediction": "Cats were running. They ran far.",
                                "references": ["A cat runs.\nIt ran home."]}) + "\n", encoding="utf-8")
    names = imported_packages("score", str(path), "--metric", "rouge", *options, cwd=tmp_path)
    assert "bench" in names and "numpy" in names  # the trace was read
    assert not names & set(HEAVY), sorted(names & set(HEAVY))
