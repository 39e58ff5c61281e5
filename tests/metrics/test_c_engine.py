"""bench's ROUGE engine in C (bench.metrics.rouge._engine) gives the numbers of bench's Python code, bit for bit.

- its Porter stemmer is `bench.text.porter.stem` (itself held to nltk's
  PorterStemmer by test_porter.py) on every word of real text and on generated
  words built from the suffixes the rules test;
- its ROUGE precision, recall and F-measure are bench's Python scorer's (held
  to rouge_score by test_rouge.py); test_rouge_engine.py holds the F-measures
  through the engine as bench calls it;
- it reads the caller's sequences safely however they behave (a subprocess
  runs the hostile ones, so a crash fails the test instead of ending pytest).

.ci/sanitize runs this file under AddressSanitizer and UndefinedBehaviorSanitizer.
"""

from __future__ import annotations

import random
import re
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.metrics.rouge import rouge_metric
from bench.metrics.rouge import compiled
from bench.text import porter
from bench.metrics.rouge.lib_rouge import ROUGE_TYPES, RougeScorer
from tiny_models import seed_text

if compiled.module() is None:
    if not compiled.disabled():
        pytest.fail("bench's compiled ROUGE engine is not built, or was built from an older source: pip install -e . "
                    "(or set BENCH_NO_NATIVE=1)", pytrace=False)
    pytest.skip("BENCH_NO_NATIVE is set: the compiled ROUGE engine is not used", allow_module_level=True)

C = compiled.module()

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


def test_a_module_built_from_another_source_is_not_used(tmp_path):
    source = tmp_path / "_engine.c"
    source.write_text("/* changed */\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert not compiled.built_from(C, source)
    assert "pip install -e ." in str(caught[0].message)
    source.write_bytes(compiled.SOURCE.read_bytes())
    assert compiled.built_from(C, source)
    assert compiled.built_from(C, tmp_path / "missing.c")  # installed without its source


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


#: Run in a process of its own: callers whose sequences change while the engine reads them. Prints, per case,
#: the scores it got (as lists) or the exception, as JSON.
HOSTILE = r'''
import json, sys
from bench.metrics.rouge import compiled

C = compiled.module()
out = {}


def case(name, preds, refs):
    try:
        data, lossy = C.rouge(preds, refs, True)
        out[name] = ["ok", [list(data[i:i + 32]) for i in range(0, len(data), 32)]]
    except Exception as e:  # a Python error is an answer; a crash is not
        out[name] = ["error", type(e).__name__]


def lists():
    preds = [f"the cat sat {i}" for i in range(40)]
    return preds, [[f"the cat sat on mat {i}"] for i in range(40)]


class Shrinks:
    """A reference list that, when read, empties the lists the caller passed."""

    def __init__(self, *victims):
        self.victims = victims

    def __iter__(self):
        for v in self.victims:
            v.clear()
        return iter(["the cat"])


preds, refs = lists()
refs[0] = Shrinks(preds, refs)
case("clears both lists", preds, refs)
preds, refs = lists()
refs[3] = Shrinks(preds)
case("clears the predictions", preds, refs)
preds, refs = lists()
refs[5] = Shrinks(refs)
case("clears the references", preds, refs)
preds, refs = lists()
inner = ["the cat", "a dog"]
refs[2] = inner
refs[1] = Shrinks(inner)
case("clears a later example's references", preds, refs)
preds, refs = lists()
refs[7] = Shrinks(preds, refs)
case("tuples", tuple(preds), tuple(refs))
print(json.dumps(out))
'''


def test_sequences_changed_while_they_are_read_are_read_as_they_were_at_the_call():
    # an object's __iter__ empties the caller's lists while the engine walks them: it once read past their end
    import json
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", HOSTILE], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"exit code {proc.returncode}: {proc.stderr[-3000:]}"
    got = json.loads(proc.stdout)
    preds = [f"the cat sat {i}" for i in range(40)]
    scorer = RougeScorer(ROUGE_TYPES, use_stemmer=True)

    def expected(refs):  # the lists as they were at the call
        return [[scorer.score(p, r)[t].fmeasure for t in ROUGE_TYPES] for p, r in zip(preds, refs)]

    def refs_with(k, first):
        refs = [[f"the cat sat on mat {i}"] for i in range(40)]
        refs[k] = first
        return refs

    def scores(case):
        status, rows = got[case]
        assert status == "ok", got[case]
        return np.frombuffer(b"".join(bytes(r) for r in rows)).reshape(-1, 4).tolist()

    assert scores("clears both lists") == expected(refs_with(0, ["the cat"]))
    assert scores("clears the predictions") == expected(refs_with(3, ["the cat"]))
    assert scores("clears the references") == expected(refs_with(5, ["the cat"]))
    # the later example's own list was emptied before the engine reached it: that example has no reference
    assert got["clears a later example's references"] == ["error", "ValueError"]
    assert scores("tuples") == expected(refs_with(7, ["the cat"]))
