"""The compiled ROUGE engines, bench's C extension and rouge-score-rs, give the numbers of bench's Python scorer.

bench's pure-Python scorer (bench.metrics.rouge.lib_rouge) is held to rouge_score by
tests/metrics/test_rouge.py; here each compiled engine is held to it, bit for
bit, on generated texts of every kind: Unicode of every script and case-mapping
corner, empty and punctuation-only texts, blank lines, repeated words, several
references and long texts.
"""

from __future__ import annotations

import contextlib
import os
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.metrics.rouge import engines as rouge_engine, rouge_metric
from bench.metrics.rouge.lib_rouge import ROUGE_TYPES, RougeScorer
from bench.metrics.rouge import compiled
from tiny_models import seed_text


def _available(engine: str) -> bool:
    if engine == "python":
        return True
    if engine == "c":
        # built by every install with a C compiler: missing here is a failure unless the build was turned off
        if compiled.module() is None and not compiled.disabled():
            pytest.fail("bench's compiled ROUGE engine is not built, or was built from an older source: pip install -e . "
                        "(or set BENCH_NO_NATIVE=1)")
        return compiled.module() is not None
    try:
        import rouge_score_rs  # noqa: F401
    except ImportError:
        return False
    return True


ENGINES = [pytest.param(e, id=e) for e in ("c", "rouge-score-rs")]


@contextlib.contextmanager
def engine_env(engine: str):
    """BENCH_ROUGE_ENGINE=engine for the block (skipped where it is not available)."""
    if not _available(engine):
        pytest.skip(f"the {engine} engine is not available here")
    old = os.environ.get("BENCH_ROUGE_ENGINE")
    os.environ["BENCH_ROUGE_ENGINE"] = engine
    rouge_engine.cache_clear()
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("BENCH_ROUGE_ENGINE", None)
        else:
            os.environ["BENCH_ROUGE_ENGINE"] = old
        rouge_engine.cache_clear()

WORDS = seed_text().split() + ["running", "runs", "ran", "generously", "skies", "dying", "İstanbul", "KELVIN",
                               "ﬁne", "Straße", "naïve", "Москва", "北京", "x²", "٣", "S-400", "$1.5", "it's"]
SEPARATORS = [" ", " ", " ", "\n", "\n\n", " - ", ", ", ". ", "\t", "\r\n", "\u2028", "\xa0", "...", " ! "]

word = st.sampled_from(WORDS) | st.text(min_size=1, max_size=8)
text = st.one_of(
    st.builds(lambda ws, seps: "".join(w + s for w, s in zip(ws, seps)),
              st.lists(word, max_size=40), st.lists(st.sampled_from(SEPARATORS), min_size=40, max_size=40)),
    st.text(max_size=60),
    st.sampled_from(["", " ", "\n", "\n\n", "!!! ... ???", "-", "a", "the the the", ".\n.\n"]),
)


def _python(predictions, references, stem):
    scorer = RougeScorer(ROUGE_TYPES, use_stemmer=stem)
    return np.array([[scorer.score(p, r)[t].fmeasure for t in ROUGE_TYPES] for p, r in zip(predictions, references)])


def _assert_same(predictions, references, stem):
    ours = _python(predictions, references, stem)
    native = rouge_engine.native_fmeasures(predictions, references, stem)
    assert native.shape == ours.shape
    bad = np.argwhere(native != ours)
    assert bad.size == 0, [(predictions[i], references[i], ROUGE_TYPES[j], ours[i, j], native[i, j])
                           for i, j in bad[:5]]


@pytest.mark.parametrize("engine", ENGINES)
def test_native_engine_equals_the_python_scorer(engine):
    with engine_env(engine):
        @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(pairs=st.lists(st.tuples(text, st.lists(text, min_size=1, max_size=3)), min_size=1, max_size=8),
               stem=st.booleans())
        def check(pairs, stem):
            _assert_same([p for p, _ in pairs], [r for _, r in pairs], stem)

        check()


@pytest.mark.parametrize("engine", ENGINES)
def test_batches_split_into_threads_give_the_same_numbers(engine, monkeypatch):
    rng = random.Random(21)
    sentences = [s for s in seed_text().split(". ") if s] + ["Москва и Минск.", "!!!", "", "İstanbul KELVIN"]
    preds = ["\n".join(rng.sample(sentences, 3)) for _ in range(700)]
    refs = [["\n".join(rng.sample(sentences, 2)) for _ in range(rng.randint(1, 3))] for _ in range(700)]
    with engine_env(engine):
        monkeypatch.setattr(rouge_engine, "cpus", lambda: 3)
        _assert_same(preds, refs, True)


@pytest.mark.parametrize("engine", ENGINES)
def test_several_references_keep_the_first_best_per_type(engine):
    rng = random.Random(3)
    sentences = [s for s in seed_text().split(". ") if s]
    preds, refs = [], []
    for _ in range(200):
        pred = " ".join(rng.sample(sentences, 2))
        # duplicates among the references make ties: the first best one must win, as in score_multi
        r = [" ".join(rng.sample(sentences, 2)) for _ in range(rng.randint(2, 4))]
        refs.append(r + [r[0]] if rng.random() < 0.3 else r)
        preds.append(pred)
    with engine_env(engine):
        for stem in (True, False):
            _assert_same(preds, refs, stem)


@pytest.mark.parametrize("engine", ENGINES)
def test_long_texts(engine):
    rng = random.Random(5)
    words = seed_text().split()
    long = [" ".join(rng.choice(words) for _ in range(3000)) for _ in range(4)]
    # one 3,000-word line, and the same words as 50-word lines (ROUGE-Lsum over many sentences)
    lines = ["\n".join(" ".join(t.split()[k:k + 50]) for k in range(0, 3000, 50)) for t in long]
    with engine_env(engine):
        _assert_same([long[0], long[1], lines[0]], [[long[2]], [long[3], long[0]], [lines[1], lines[2]]], True)


@pytest.mark.parametrize("engine", ENGINES)
def test_score_chunk_gives_the_same_numbers_with_either_engine(engine, monkeypatch):
    rng = random.Random(9)
    sentences = [s for s in seed_text().split(". ") if s] + ["Москва и Минск.", "!!!", ""]
    preds = [". ".join(rng.sample(sentences, 3)) for _ in range(60)]
    refs = [[". ".join(rng.sample(sentences, 2))] for _ in range(60)]
    preds[0] = "Москва и Минск подписали соглашение. Belarus."
    for split in (True, False):
        args = (True, "default", split, preds, refs)
        with engine_env(engine):
            assert rouge_engine.uses_native("default")
            compiled, lossy_compiled = rouge_metric._score_chunk(args)
        with engine_env("python"):
            assert not rouge_engine.uses_native("default")
            python, lossy_python = rouge_metric._score_chunk(args)
        assert np.array_equal(compiled, python)
        assert lossy_compiled == lossy_python > 0


def test_the_unicode_tokenizer_is_always_bench_s_own():
    assert not rouge_engine.uses_native("unicode")
    assert rouge_engine.name("unicode") == "python"


def test_the_c_engine_comes_first_then_rouge_score_rs(monkeypatch):
    monkeypatch.delenv("BENCH_ROUGE_ENGINE", raising=False)
    rouge_engine.cache_clear()
    try:
        expected = "c" if _available("c") else ("rouge-score-rs-" if _available("rouge-score-rs") else "python")
        assert rouge_engine.name("default").startswith(expected)
    finally:
        rouge_engine.cache_clear()


def test_an_unknown_or_unavailable_engine_is_an_error_not_a_fallback(monkeypatch):
    from bench.errors import EXIT_ENVIRONMENT, BenchError

    monkeypatch.setenv("BENCH_ROUGE_ENGINE", "fortran")
    rouge_engine.cache_clear()
    try:
        with pytest.raises(BenchError, match="not a ROUGE engine") as e:
            rouge_engine.uses_native("default")
        assert e.value.exit_code == EXIT_ENVIRONMENT and "c, rouge-score-rs, python" in e.value.hint
        monkeypatch.setattr(rouge_engine, "_c_module", lambda: None)
        monkeypatch.setenv("BENCH_ROUGE_ENGINE", "c")
        rouge_engine.cache_clear()
        with pytest.raises(BenchError, match="the c ROUGE engine is not available"):
            rouge_engine.uses_native("default")
    finally:
        rouge_engine.cache_clear()


@pytest.mark.parametrize("engine", ENGINES)
def test_native_engine_scores_in_one_process_unless_told(engine, monkeypatch):
    monkeypatch.delenv("BENCH_SCORE_JOBS", raising=False)
    with engine_env(engine):
        assert rouge_metric._jobs(100_000) == 1
        assert rouge_metric._jobs(100_000, "unicode") >= 1
        monkeypatch.setenv("BENCH_SCORE_JOBS", "2")
        assert rouge_metric._jobs(100_000) == 2


@pytest.mark.parametrize("text", ["", "plain ASCII, 123!", "Москва и Минск", "Cristóbal Colón", "北京 is big",
                                  "İİİ", "ǅ ǅ", "x²³", "----", "naïve café résumé über"])
def test_loses_text_counts_as_before(text):
    alnum = sum(ch.isalnum() for ch in text)
    kept = sum(("a" <= ch <= "z") or ("0" <= ch <= "9") for ch in text.lower())
    assert rouge_metric._loses_text(text) == (alnum > 0 and kept < 0.5 * alnum)


def test_sentence_splitting_in_worker_processes_changes_nothing(monkeypatch):
    rng = random.Random(13)
    sentences = [s for s in seed_text().split(". ") if s]
    preds = [". ".join(rng.sample(sentences, 3)) for _ in range(40)]
    refs = [[". ".join(rng.sample(sentences, 2))] for _ in range(40)]
    args = (True, "default", True, preds, refs)
    serial, _ = rouge_metric._score_chunk(args)
    monkeypatch.setattr(rouge_metric, "PARALLEL_MIN_PAIRS", 10)
    monkeypatch.setattr(rouge_engine, "cpus", lambda: 2)
    parallel, _ = rouge_metric._score_chunk(args)
    assert np.array_equal(serial, parallel)


def test_python_scorer_uses_worker_processes_for_large_sets_of_any_tokenizer(monkeypatch):
    rng = random.Random(17)
    sentences = [s for s in seed_text().split(". ") if s] + ["Москва и Минск подписали соглашение"]
    preds = [". ".join(rng.sample(sentences, 3)) for _ in range(40)]
    refs = [[". ".join(rng.sample(sentences, 2))] for _ in range(40)]
    monkeypatch.delenv("BENCH_SCORE_JOBS", raising=False)
    for tokenizer in ("unicode", "default"):
        args = (True, tokenizer, False, preds, refs)
        with engine_env("python"):
            serial = rouge_metric._score_chunk(args)
            monkeypatch.setattr(rouge_metric, "PARALLEL_MIN_PAIRS", 10)
            monkeypatch.setattr(rouge_engine, "cpus", lambda: 2)
            assert rouge_metric._jobs(40, tokenizer) == 2
            parallel = rouge_metric._score_chunk(args)
            monkeypatch.undo()
        assert np.array_equal(serial[0], parallel[0]) and serial[1] == parallel[1]


def test_bench_no_native_at_run_time_leaves_the_c_engine_unloaded():
    # set when bench runs (not only when it is installed): the C engine is neither imported nor chosen, and asking
    # for it says which variable turns it off
    import subprocess
    import sys

    code = ("import sys\n"
            "from bench.metrics.rouge import engines\n"
            "print(engines.name('default'), 'bench.metrics.rouge._engine' in sys.modules)\n"
            "import os; os.environ['BENCH_ROUGE_ENGINE'] = 'c'; engines.cache_clear()\n"
            "try:\n    engines.uses_native('default')\n"
            "except engines.EngineUnavailable as e:\n    print(e.hint)\n")
    env = {k: v for k, v in os.environ.items() if k != "BENCH_ROUGE_ENGINE"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**env, "BENCH_NO_NATIVE": "1"})
    assert proc.returncode == 0, proc.stderr
    first, hint = proc.stdout.splitlines()
    engine, imported = first.split()
    assert engine != "c" and imported == "False"
    assert hint == "unset BENCH_NO_NATIVE, or unset BENCH_ROUGE_ENGINE"
