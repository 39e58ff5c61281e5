"""bench's C extension (bench._native) gives the numbers of bench's Python code, bit for bit.

- its Porter stemmer is `bench.text.porter.stem` (itself held to nltk's
  PorterStemmer by test_porter.py) on every word of real text and on generated
  words built from the suffixes the rules test;
- its ROUGE precision, recall and F-measure are bench's Python scorer's (held
  to rouge_score by test_rouge.py); test_rouge_engine.py holds the F-measures
  through the engine as bench calls it;
- its bootstrap means are numpy's ``x[r][idx].mean(axis=1)``.
"""

from __future__ import annotations

import os
import random
import re
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.metrics.rouge import rouge_metric
from bench.stats import bootstrap
from bench.text import porter
from bench import native
from bench.metrics.rouge.lib_rouge import ROUGE_TYPES, RougeScorer
from tiny_models import seed_text

if native.module() is None:
    if os.environ.get("BENCH_NO_NATIVE", "") in ("", "0"):
        pytest.fail("bench's C extension is not built, or was built from an older source: pip install -e . (or set BENCH_NO_NATIVE=1)",
                    pytrace=False)
    pytest.skip("BENCH_NO_NATIVE is set: the C extension is not built", allow_module_level=True)

C = native.module()

SUFFIXES = ["ational", "tional", "enci", "anci", "izer", "bli", "alli", "entli", "eli", "ousli", "ization",
            "ation", "ator", "alism", "iveness", "fulness", "ousness", "aliti", "iviti", "biliti", "fulli", "logi",
            "icate", "ative", "alize", "iciti", "ical", "ful", "ness", "al", "ance", "ence", "er", "ic", "able",
            "ible", "ant", "ement", "ment", "ent", "ion", "sion", "tion", "ou", "ism", "ate", "iti", "ous", "ive",
            "ize", "sses", "ies", "ss", "s", "ied", "eed", "ed", "ing", "y", "e", "ll", "ly", "bl", "at", "iz"]
IRREGULAR = ["sky", "skies", "dying", "lying", "tying", "news", "innings", "inning", "outings", "outing",
             "cannings", "canning", "howe", "proceed", "exceed", "succeed"]


def test_stemmer_equals_bench_porter_on_real_and_generated_words():
    words = set(re.sub(r"[^a-z0-9]+", " ", seed_text().lower()).split()) | set(IRREGULAR)
    rng = random.Random(0)
    letters = "aeiouybcdlmnstrgzwx0"
    for _ in range(40_000):
        stem = "".join(rng.choice(letters) for _ in range(rng.randint(0, 7)))
        words.add(stem + rng.choice(SUFFIXES) + (rng.choice(SUFFIXES) if rng.random() < 0.3 else ""))
        words.add("".join(rng.choice(letters) for _ in range(rng.randint(1, 12))))
    words.discard("")
    bad = [(w, C.stem(w), porter.stem(w)) for w in sorted(words) if C.stem(w) != porter.stem(w)]
    assert not bad, bad[:10]


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="abcdeilmnorstuyz", min_size=1, max_size=14))
def test_stemmer_equals_bench_porter_on_any_word(word):
    assert C.stem(word) == porter.stem(word)


def test_stem_takes_ascii_only():
    with pytest.raises(ValueError, match="ASCII"):
        C.stem("naïve")


text = st.one_of(
    st.lists(st.sampled_from(seed_text().split() + ["\n", "İstanbul", "KELVIN", "ﬁne", "Straße", "Москва",
                                                    "x²", "...", "\r\n", "\u2028", "runs", "running"]),
             max_size=50).map(" ".join),
    st.text(max_size=40),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pairs=st.lists(st.tuples(text, st.lists(text, min_size=1, max_size=3)), min_size=1, max_size=6),
       stem=st.booleans())
def test_rouge_precision_recall_and_f_equal_the_python_scorer(pairs, stem):
    preds = [p for p, _ in pairs]
    refs = [r for _, r in pairs]
    scorer = RougeScorer(ROUGE_TYPES, use_stemmer=stem)
    expected = np.array([[tuple(scorer.score(p, r)[t]) for t in ROUGE_TYPES] for p, r in pairs])
    data, lossy = C.rouge(preds, refs, stem, full=True)
    assert np.array_equal(np.frombuffer(data).reshape(len(pairs), 4, 3), expected)
    f_only, lossy_again = C.rouge(preds, refs, stem)
    assert np.array_equal(np.frombuffer(f_only).reshape(len(pairs), 4), expected[:, :, 2])
    assert lossy == lossy_again == rouge_metric._count_lossy(preds, refs)


def test_rouge_refuses_bad_input_with_python_errors():
    with pytest.raises(ValueError, match="at least one reference"):
        C.rouge(["a"], [[]], True)
    with pytest.raises(ValueError, match="differ in length"):
        C.rouge(["a", "b"], [["a"]], True)
    with pytest.raises(TypeError, match="expected str"):
        C.rouge(["a"], [[3]], True)


@pytest.mark.parametrize("n", [1, 2, 7, 8, 9, 127, 128, 129, 1000, 8191, 8193, 20_011])
@pytest.mark.parametrize("k", [1, 4, 17])  # 17 rows: more than the extension sums at once
def test_gather_means_equal_numpy_means(n, k):
    rng = np.random.default_rng(n * 31 + k)
    x = rng.normal(size=(k, n)) * 10.0 ** rng.integers(-3, 4, size=(k, 1))
    idx = rng.integers(0, n, size=(23, n))
    expected = np.stack([x[r][idx].mean(axis=1) for r in range(k)])
    for dtype in (np.int64, np.int32):
        out = np.full((k, 30), np.nan)
        C.gather_means(x, idx.astype(dtype), out, 4)
        assert np.array_equal(out[:, 4:27], expected)
        assert np.isnan(out[:, :4]).all() and np.isnan(out[:, 27:]).all()


def test_gather_means_checks_shapes_and_types():
    x = np.zeros((2, 5))
    with pytest.raises(ValueError, match="shapes"):
        C.gather_means(x, np.zeros((3, 4), dtype=np.int64), np.zeros((2, 3)), 0)
    with pytest.raises(ValueError, match="shapes"):
        C.gather_means(x, np.zeros((3, 5), dtype=np.int64), np.zeros((2, 3)), 1)
    with pytest.raises(ValueError, match="float64"):
        C.gather_means(x, np.zeros((3, 5), dtype=np.float64), np.zeros((2, 3)), 0)


@pytest.mark.parametrize("n", [2, 17, 1000, 20_000, 2**31 - 1])
def test_int32_draws_are_the_int64_draws(n):
    # bootstrap draws int32 indices: numpy draws any range below 2**32 with one 32-bit generator
    a = np.random.default_rng(12345).integers(0, n, size=(3, 1001))
    b = np.random.default_rng(12345).integers(0, n, size=(3, 1001), dtype=np.int32)
    assert np.array_equal(a, b)


def test_bootstrap_with_and_without_the_extension_is_the_same(monkeypatch):
    rng = np.random.default_rng(5)
    rows = rng.random((4, 3001)) * 100
    fast = bootstrap.resample_means_many(rows)
    monkeypatch.setattr(native, "module", lambda: None)
    slow = bootstrap.resample_means_many(rows)
    assert np.array_equal(fast, slow)


def test_a_module_built_from_another_source_is_not_used(tmp_path):
    source = tmp_path / "_native.c"
    source.write_text("/* changed */\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert not native.built_from(C, source)
    assert "pip install -e ." in str(caught[0].message)
    source.write_bytes((native.Path(native.__file__).with_name("_native.c")).read_bytes())
    assert native.built_from(C, source)
    assert native.built_from(C, tmp_path / "missing.c")  # installed without its source


def _state(g: np.random.Generator) -> tuple:
    s = g.bit_generator.state
    return s["state"]["state"], s["state"]["inc"], s["has_uint32"], s["uinteger"]


# 2**31 - 1, 3 * 2**29 and 2**30 + 1 reject often (Lemire's threshold is large): the loop is exercised
@pytest.mark.parametrize("n", [1, 2, 3, 20_000, 1_000_003, 2**30 + 1, 3 * 2**29, 2**31 - 1])
@pytest.mark.parametrize("used", [0, 1, 2])  # how many 32-bit values the generator gave before
def test_integers_are_numpy_s_draws(n, used):
    for seed in (12345, 7):
        g = np.random.default_rng(seed)
        g.integers(0, 5, size=used, dtype=np.int32)
        got = np.frombuffer(C.integers(*_state(g), n, 5000), dtype=np.int32)
        assert np.array_equal(got, g.integers(0, n, size=5000, dtype=np.int32))


@pytest.mark.parametrize("n", [1, 2, 9, 129, 3001, 20_000])
@pytest.mark.parametrize("k", [1, 4, 17])
def test_bootstrap_means_are_numpy_s(n, k):
    x = np.random.default_rng(n + k).normal(size=(k, n))
    b = 41
    out = np.empty((k, b))
    first = np.empty(n, dtype=np.int32)
    C.bootstrap_means(x, *_state(np.random.default_rng(12345)), out, first)
    idx = np.random.default_rng(12345).integers(0, n, size=(b, n))
    assert np.array_equal(first, idx[0])
    assert np.array_equal(out, np.stack([x[r][idx].mean(axis=1) for r in range(k)]))


def test_bootstrap_uses_numpy_s_draw_when_the_extension_s_differs(monkeypatch):
    rows = np.random.default_rng(2).random((3, 500))
    expected = np.stack([rows[r][np.random.default_rng(12345).integers(0, 500, size=(1000, 500))].mean(axis=1)
                         for r in range(3)])
    assert np.array_equal(bootstrap.resample_means_many(rows), expected)

    class Drifted:  # an extension whose draws no longer match numpy's (a future numpy)
        gather_means = staticmethod(C.gather_means)

        @staticmethod
        def bootstrap_means(x, state, inc, has, uint, out, first):
            C.bootstrap_means(x, state, inc ^ 2, has, uint, out, first)

    monkeypatch.setattr(native, "module", lambda: Drifted)
    assert np.array_equal(bootstrap.resample_means_many(rows), expected)


@pytest.mark.parametrize("text", ["", "plain ASCII, 123!", "Москва и Минск", "Cristóbal Colón", "北京 is big",
                                  "İİİ", "ǅ ǅ", "x²³", "----", "naïve café résumé über", "Ⅻ Ⅻ ab", "Ｆｕｌｌ"])
def test_text_loss_is_counted_as_rouge_metric_counts_it(text):
    for pair in (([text], [["plain"]]), (["plain"], [["plain", text]])):
        assert C.rouge(*pair, True)[1] == rouge_metric._count_lossy(*pair) == int(rouge_metric._loses_text(text))


def test_only_two_characters_outside_ascii_lowercase_to_ascii_letters_or_digits():
    # the C tokenizer reads texts without lowercasing them first: it maps these two itself
    # (U+0130 -> "i" + a combining dot, U+212A KELVIN SIGN -> "k") and takes every other one for a separator
    found = [c for c in range(0x80, 0x110000) if re.search(r"[a-z0-9]", chr(c).lower())]
    assert found == [0x130, 0x212A]
    assert chr(0x130).lower() == "i\u0307" and chr(0x212A).lower() == "k"


@pytest.mark.parametrize("text", ["İstanbul İİ xİy", "\u212aelvin 5\u212a", "ΣΑΣ ΟΔΟΣ σας", "straße STRASSE", "Ǆemal ǅ",
                                  "ﬁne ﬂow", "Ⅻ ①"])
def test_case_mapping_corners_tokenize_as_str_lower(text):
    for stem in (True, False):
        scorer = RougeScorer(ROUGE_TYPES, use_stemmer=stem)
        pairs = [(text, [text + " i k"]), ("i k stanbul", [text]), (text.upper(), [text.lower()])]
        expected = np.array([[tuple(scorer.score(p, r)[t]) for t in ROUGE_TYPES] for p, r in pairs])
        data, _ = C.rouge([p for p, _ in pairs], [r for _, r in pairs], stem, full=True)
        assert np.array_equal(np.frombuffer(data).reshape(3, 4, 3), expected)


def test_texts_are_held_while_scoring_without_the_gil():
    class Fresh:  # a sequence that makes new strings each time it is read: nothing else holds them
        def __len__(self):
            return 2

        def __getitem__(self, i):
            if i >= 2:
                raise IndexError
            return "".join(["The cat ", "sat on the mat.\nIt ran."][: i + 1])

    data, _ = C.rouge(["the cat sat", "a cat ran"], [Fresh(), Fresh()], True)
    assert np.frombuffer(data).shape == (8,)
