"""Which code computes ROUGE: rouge-score-rs where it is installed, bench's own Python otherwise.

rouge-score-rs (PyPI `rouge-score-rs`, a Rust implementation of rouge_score
0.1.2) returns rouge_score's numbers bit for bit for rouge_score's tokenizer,
with and without stemming, on one or several references, and scores a batch
on every core without the GIL. bench uses it for the default tokenizer when it
imports; tests/metrics/test_rouge_engine.py holds it to bench's pure-Python
scorer (`bench.metrics.rouge`, itself held to rouge_score) on generated texts
of every kind (Unicode, empty, punctuation only, long).

bench's pure-Python scorer stays: for the unicode tokenizer (bench's own,
which rouge-score-rs does not have) and for platforms without a wheel.
``BENCH_ROUGE_ENGINE=python`` forces it (for tests and comparisons); the
numbers are the same either way.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

#: The ROUGE types bench reports, in the order of the columns `fmeasures` returns.
TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")


@lru_cache(maxsize=1)
def native_module():
    """The rouge_score_rs package, or None where it is not installed or BENCH_ROUGE_ENGINE=python."""
    if os.environ.get("BENCH_ROUGE_ENGINE", "").strip().lower() == "python":
        return None
    try:
        import rouge_score_rs
    except ImportError:
        return None
    return rouge_score_rs


def uses_native(tokenizer: str) -> bool:
    """Whether texts with this tokenizer ('default' or 'unicode') are scored by rouge-score-rs."""
    return tokenizer == "default" and native_module() is not None


def name(tokenizer: str) -> str:
    """The engine that scores texts with this tokenizer, with its version."""
    mod = native_module() if tokenizer == "default" else None
    return f"rouge-score-rs-{mod.__version__}" if mod is not None else "python"


@lru_cache(maxsize=4)
def _native_scorer(use_stemmer: bool):
    return native_module().RougeScorer(list(TYPES), use_stemmer=use_stemmer)


def native_fmeasures(predictions: Sequence[str], references: Sequence[Sequence[str]],
                     use_stemmer: bool) -> np.ndarray:
    """F-measures (0..1) of TYPES per example, an (n, 4) array, computed by rouge-score-rs.

    Every (reference, prediction) pair goes to one `score_batch` call (all
    cores); with several references each type keeps the reference with the
    highest F-measure, the first one on ties, as rouge_score's `score_multi`.
    """
    n = len(predictions)
    targets: list[str] = []
    preds: list[str] = []
    single = True
    for pred, refs in zip(predictions, references):
        if len(refs) != 1:
            single = False
            if not refs:
                raise ValueError("ROUGE needs at least one reference")
        targets.extend(refs)
        preds.extend([pred] * len(refs))
    scores = _native_scorer(use_stemmer).score_batch(targets, preds)
    flat = np.array([[s[t][2] for t in TYPES] for s in scores], dtype=np.float64).reshape(len(scores), len(TYPES))
    if single:
        return flat
    out = np.empty((n, len(TYPES)))
    k = 0
    for i, refs in enumerate(references):
        m = len(refs)
        # np.argmax: the first maximum, as rouge_score's score_multi
        out[i] = flat[k + np.argmax(flat[k:k + m], axis=0), np.arange(len(TYPES))] if m > 1 else flat[k]
        k += m
    return out
