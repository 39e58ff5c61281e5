"""bench's Porter stemmer gives nltk's `PorterStemmer()` stems (default mode), word for word."""

from __future__ import annotations

import itertools
import random
import re
import sysconfig
from pathlib import Path

import pytest
from nltk.stem.porter import PorterStemmer

from bench.text.porter import stem
from tiny_models import seed_text

# Every suffix the rules name, and endings that sit on their boundaries.
SUFFIXES = (
    "sses ies ss s ied eed ed ing at bl iz y ational tional enci anci izer bli abli alli entli eli ousli ization "
    "ation ator alism iveness fulness ousness aliti iviti biliti fulli logi icate ative alize iciti ical ful ness "
    "al ance ence er ic able ible ant ement ment ent sion tion ion ou ism ate iti ous ive ize e ll l yy ying ies"
).split()


def _check(words) -> None:
    nltk_stemmer = PorterStemmer()
    bad = [(w, stem(w), nltk_stemmer.stem(w)) for w in words if stem(w) != nltk_stemmer.stem(w)]
    assert not bad, bad[:20]


def _generated(n: int, seed: int) -> list[str]:
    """Random stems (with y, doubled letters, vowel runs) with one or two rule suffixes."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz" + "aeiouy" * 3 + "lsz"
    out = []
    for _ in range(n):
        core = "".join(rng.choice(letters) for _ in range(rng.randint(0, 6)))
        if core and rng.random() < 0.3:
            core += core[-1]
        out.append(core + "".join(rng.choice(SUFFIXES) for _ in range(rng.randint(0, 2))))
    return out


def test_irregular_forms_and_short_words():
    _check(["sky", "skies", "dying", "lying", "tying", "news", "innings", "outings", "cannings", "howe",
            "proceed", "exceed", "succeed", "a", "is", "as", "dies", "ties", "cried", "died", "yyyy", "y", "yy",
            "Running", "CATS", "ÉCOLES", "naïveté", "", "ab", "ply", "spy"])


def test_seed_text_and_every_rule_suffix():
    words = set(re.findall(r"[a-z0-9]+", seed_text().lower()))
    words |= set(SUFFIXES)
    words |= {a + b for a, b in itertools.product(["", "b", "tr", "ea", "hop", "fil", "agr", "relat"], SUFFIXES)}
    _check(sorted(words))


def test_generated_words():
    _check(_generated(5000, seed=0))


@pytest.mark.slow
def test_large_word_list():
    """Every word of the Python standard library's top-level modules (source and docstrings), plus 20,000
    generated words."""
    words: set[str] = set()
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        try:
            words |= set(re.findall(r"[a-z]+", path.read_text(encoding="utf-8", errors="replace").lower()))
        except OSError:
            continue
    assert len(words) > 10000
    _check(sorted(words) + _generated(20_000, seed=1))
