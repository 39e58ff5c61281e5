"""Which code computes ROUGE: bench's C extension, else rouge-score-rs, else bench's own Python.

All three give the same numbers, bit for bit, for rouge_score's tokenizer, with
and without stemming, on one or several references:

- ``c``: `bench.metrics.rouge._engine`, compiled from
  bench/metrics/rouge/_engine.c when bench is installed (hatch_build.py; loaded
  by `bench.metrics.rouge.compiled`, not where BENCH_NO_NATIVE is set). Each
  text is tokenized once, each distinct word stemmed once, tokens become
  integer ids and the LCS is bit-parallel; it scores without the GIL, so a
  large batch is split into one chunk per core, scored in threads.
  tests/metrics/test_c_engine.py holds it to bench's Python scorer (itself held
  to rouge_score) and its stemmer to `bench.text.porter`.
- ``rouge-score-rs`` (PyPI `rouge-score-rs`, a Rust implementation of
  rouge_score 0.1.2, every core): where the C extension did not build.
  tests/metrics/test_rouge_engine.py holds it to bench's Python scorer.
- ``python``: `bench.metrics.rouge.lib_rouge`, for bench's unicode tokenizer (neither
  compiled engine has it) and where nothing compiled is available.

``BENCH_ROUGE_ENGINE=c|rouge-score-rs|python`` picks one (for tests and
comparisons); asking for one that is not available is an error, not a fallback.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from bench.errors import EXIT_ENVIRONMENT, BenchError

#: The ROUGE types bench reports, in the order of the columns `fmeasures` returns.
TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")

ENGINES = ("c", "rouge-score-rs", "python")
ENV = "BENCH_ROUGE_ENGINE"

#: Below this many pairs the C engine scores in the calling thread (a thread costs more than it saves).
THREAD_MIN_PAIRS = 512


class EngineUnavailable(BenchError):
    """BENCH_ROUGE_ENGINE names an engine that cannot be used here."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message, where=ENV, hint=hint, exit_code=EXIT_ENVIRONMENT)


def _c_module():
    from bench.metrics.rouge import compiled

    return compiled.module()


def _c_disabled() -> bool:
    from bench.metrics.rouge import compiled

    return compiled.disabled()


def _rs_module():
    try:
        import rouge_score_rs
    except ImportError:
        return None
    return rouge_score_rs


@lru_cache(maxsize=1)
def selected() -> tuple[str, object | None]:
    """(engine name, its module) for the default tokenizer: BENCH_ROUGE_ENGINE's, or the first available."""
    want = os.environ.get(ENV, "").strip().lower()
    if want and want not in ENGINES:
        raise EngineUnavailable(f"{want!r} is not a ROUGE engine", hint=f"use one of {', '.join(ENGINES)}, or unset it")
    for name, load in (("c", _c_module), ("rouge-score-rs", _rs_module)):
        if want in ("", name):
            mod = load()
            if mod is not None:
                return name, mod
            if want == name:
                how = ("pip install rouge-score-rs" if name != "c"
                       else "unset BENCH_NO_NATIVE" if _c_disabled()
                       else "reinstall bench with a C compiler and the Python headers (pip install -e .)")
                raise EngineUnavailable(f"the {name} ROUGE engine is not available here", hint=f"{how}, or unset {ENV}")
    return "python", None


def native_module():
    """The compiled engine's module (C or rouge-score-rs), or None when bench's Python scores."""
    return selected()[1]


def uses_native(tokenizer: str) -> bool:
    """Whether texts with this tokenizer ('default' or 'unicode') are scored by a compiled engine."""
    return tokenizer == "default" and selected()[0] != "python"


def name(tokenizer: str) -> str:
    """The engine that scores texts with this tokenizer, with its version where it has one."""
    if tokenizer != "default":
        return "python"
    engine, mod = selected()
    if engine == "rouge-score-rs":
        return f"rouge-score-rs-{mod.__version__}"
    return engine


def cache_clear() -> None:
    """Forget the engine chosen (after BENCH_ROUGE_ENGINE or BENCH_NO_NATIVE changes)."""
    from bench.metrics.rouge import compiled

    compiled.module.cache_clear()
    selected.cache_clear()


@lru_cache(maxsize=4)
def _rs_scorer(use_stemmer: bool):
    return _rs_module().RougeScorer(list(TYPES), use_stemmer=use_stemmer)


def cpus() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _c_scores(mod, predictions: Sequence[str], references: Sequence[Sequence[str]],
              use_stemmer: bool) -> tuple[np.ndarray, int]:
    n = len(predictions)
    threads = min(cpus(), n // (THREAD_MIN_PAIRS // 2)) if n >= THREAD_MIN_PAIRS else 1
    if threads <= 1:
        data, lossy = mod.rouge(predictions, references, use_stemmer)
        return np.frombuffer(data, dtype=np.float64).reshape(n, len(TYPES)), lossy
    size = -(-n // threads)
    parts: list[tuple[bytes, int] | BaseException | None] = [None] * threads

    def work(k: int) -> None:
        try:
            parts[k] = mod.rouge(predictions[k * size:(k + 1) * size], references[k * size:(k + 1) * size],
                                 use_stemmer)
        except BaseException as e:  # re-raised in the calling thread
            parts[k] = e

    workers = [threading.Thread(target=work, args=(k,), daemon=True) for k in range(1, threads)]
    for w in workers:
        w.start()
    work(0)
    for w in workers:
        w.join()
    for p in parts:
        if isinstance(p, BaseException):
            raise p
    data = b"".join(p[0] for p in parts)
    return np.frombuffer(data, dtype=np.float64).reshape(n, len(TYPES)), sum(p[1] for p in parts)


def native_fmeasures(predictions: Sequence[str], references: Sequence[Sequence[str]],
                     use_stemmer: bool) -> np.ndarray:
    """F-measures (0..1) of TYPES per example, an (n, 4) array, computed by the compiled engine.

    With several references each type keeps the reference with the highest
    F-measure, the first one on ties, as rouge_score's `score_multi`.
    """
    return native_scores(predictions, references, use_stemmer)[0]


def native_scores(predictions: Sequence[str], references: Sequence[Sequence[str]],
                  use_stemmer: bool) -> tuple[np.ndarray, int | None]:
    """`native_fmeasures`, and how many examples have a text that loses most of its letters and digits to
    the tokenizer where the engine counts them (the C engine); None where it does not."""
    engine, mod = selected()
    if engine == "c":  # it reads the sequences as they are, and refuses an example without a reference itself
        return _c_scores(mod, predictions, references, use_stemmer)
    if engine != "rouge-score-rs":
        raise EngineUnavailable("no compiled ROUGE engine is available", hint=f"unset {ENV}")
    return _rs_fmeasures(predictions, references, use_stemmer), None


def _rs_fmeasures(predictions: Sequence[str], references: Sequence[Sequence[str]], use_stemmer: bool) -> np.ndarray:
    """rouge-score-rs: every (reference, prediction) pair goes to one `score_batch` call (all cores)."""
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
    scores = _rs_scorer(use_stemmer).score_batch(targets, preds)
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
