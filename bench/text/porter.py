"""The Porter stemmer as rouge_score applies it: nltk's `PorterStemmer()` in its default mode.

rouge_score stems with `nltk.stem.porter.PorterStemmer()`, whose default mode
is NLTK_EXTENSIONS: Porter (1980) with Martin Porter's later changes and a few
of nltk's own. Importing it imports the whole nltk package, and nltk imports
scipy.stats when scipy is installed (about 1.7 s), so bench's start-up would
depend on what else is installed. This module is bench's own implementation
of the same rules; tests/metrics/test_porter.py holds it to nltk's stemmer
word for word over the seed text and a generated word list.

The rules, as nltk's default mode applies them (stated here so the code can be
read against them):

- a word is lowercased; a few irregular forms map to fixed stems (`dying` ->
  `die`, `skies` -> `sky`, `news` -> `news`, ...); words of at most two
  characters are returned as they are;
- a letter is a consonant unless it is a, e, i, o, u, or a y that follows a
  consonant; the *measure* m of a stem is the number of vowel-consonant
  boundaries;
- steps 1a, 1b, 1c, 2, 3, 4, 5a, 5b run in this order; within a step the
  first rule whose suffix the word ends with decides, and if its condition
  fails the word is left as it is (step 5a tries both of its conditions);
- nltk's additions: `ies`/`ied` on a four-letter word keep the `e`
  (`dies` -> `die`), any other `ied` -> `i` at once; step 1c turns a final y
  into i only after a consonant that is not the first letter; `alli` -> `al`
  is applied and step 2 runs again; `fulli` -> `ful`; `logi` -> `log`
  (measured with the `l`); *o also holds for a two-letter vowel-consonant stem.
"""

from __future__ import annotations

_VOWELS = frozenset("aeiou")

# nltk's irregular forms (nltk/stem/porter.py, NLTK_EXTENSIONS): word -> stem.
_IRREGULAR = {
    "sky": "sky", "skies": "sky", "dying": "die", "lying": "lie", "tying": "tie", "news": "news",
    "innings": "inning", "inning": "inning", "outings": "outing", "outing": "outing",
    "cannings": "canning", "canning": "canning", "howe": "howe", "proceed": "proceed",
    "exceed": "exceed", "succeed": "succeed",
}


def _kinds(word: str) -> str:
    """'c' or 'v' for each letter: y is a vowel after a consonant, a consonant otherwise."""
    out = []
    prev = "v"  # a y at the start counts as a consonant
    for ch in word:
        if ch in _VOWELS:
            k = "v"
        elif ch == "y":
            k = "v" if prev == "c" else "c"
        else:
            k = "c"
        out.append(k)
        prev = k
    return "".join(out)


def _m(stem: str) -> int:
    return _kinds(stem).count("vc")


def _has_vowel(stem: str) -> bool:
    return "v" in _kinds(stem)


def _double_consonant(word: str) -> bool:
    return len(word) >= 2 and word[-1] == word[-2] and _kinds(word)[-1] == "c"


def _cvc(word: str) -> bool:
    """*o: the word ends consonant-vowel-consonant, the last not w, x or y (or is a two-letter vowel-consonant)."""
    k = _kinds(word)
    if len(word) >= 3 and k.endswith("cvc") and word[-1] not in "wxy":
        return True
    return len(word) == 2 and k == "vc"


def _m_pos(stem: str) -> bool:
    return _m(stem) > 0


def _m_gt1(stem: str) -> bool:
    return _m(stem) > 1


def _first_rule(word: str, rules) -> str:
    """Apply the first rule whose suffix `word` ends with; the word unchanged if its condition fails."""
    for suffix, replacement, condition in rules:
        if word.endswith(suffix):
            stem = word[: len(word) - len(suffix)]
            return stem + replacement if condition(stem) else word
    return word


_STEP1A = (("sses", "ss"), ("ies", "i"), ("ss", "ss"), ("s", ""))

_STEP2 = (
    ("ational", "ate", _m_pos), ("tional", "tion", _m_pos), ("enci", "ence", _m_pos),
    ("anci", "ance", _m_pos), ("izer", "ize", _m_pos), ("bli", "ble", _m_pos), ("alli", "al", _m_pos),
    ("entli", "ent", _m_pos), ("eli", "e", _m_pos), ("ousli", "ous", _m_pos), ("ization", "ize", _m_pos),
    ("ation", "ate", _m_pos), ("ator", "ate", _m_pos), ("alism", "al", _m_pos), ("iveness", "ive", _m_pos),
    ("fulness", "ful", _m_pos), ("ousness", "ous", _m_pos), ("aliti", "al", _m_pos), ("iviti", "ive", _m_pos),
    ("biliti", "ble", _m_pos), ("fulli", "ful", _m_pos),
    # the measure of "logi" is taken with its "l": of word[:-3], i.e. stem + "l"
    ("logi", "log", lambda stem: _m_pos(stem + "l")),
)

_STEP3 = (
    ("icate", "ic", _m_pos), ("ative", "", _m_pos), ("alize", "al", _m_pos), ("iciti", "ic", _m_pos),
    ("ical", "ic", _m_pos), ("ful", "", _m_pos), ("ness", "", _m_pos),
)

_STEP4 = tuple(
    (suffix, "", _m_gt1)
    for suffix in ("al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent")
) + (("ion", "", lambda stem: _m(stem) > 1 and stem[-1] in "st"),) + tuple(
    (suffix, "", _m_gt1) for suffix in ("ou", "ism", "ate", "iti", "ous", "ive", "ize")
)


def _step1a(word: str) -> str:
    if len(word) == 4 and word.endswith("ies"):
        return word[:-3] + "ie"
    for suffix, replacement in _STEP1A:
        if word.endswith(suffix):
            return word[: len(word) - len(suffix)] + replacement
    return word


def _step1b(word: str) -> str:
    if word.endswith("ied"):
        return word[:-3] + ("ie" if len(word) == 4 else "i")
    if word.endswith("eed"):
        stem = word[:-3]
        return stem + "ee" if _m_pos(stem) else word
    for suffix in ("ed", "ing"):
        if word.endswith(suffix) and _has_vowel(word[: -len(suffix)]):
            stem = word[: -len(suffix)]
            break
    else:
        return word
    if stem.endswith(("at", "bl", "iz")):
        return stem + "e"
    if _double_consonant(stem):
        return stem[:-1] if stem[-1] not in "lsz" else stem
    return stem + "e" if _m(stem) == 1 and _cvc(stem) else stem


def _step1c(word: str) -> str:
    if word.endswith("y"):
        stem = word[:-1]
        if len(stem) > 1 and _kinds(stem)[-1] == "c":
            return stem + "i"
    return word


def _step2(word: str) -> str:
    if word.endswith("alli") and _m_pos(word[:-4]):
        return _step2(word[:-4] + "al")
    return _first_rule(word, _STEP2)


def _step5a(word: str) -> str:
    if word.endswith("e"):
        stem = word[:-1]
        m = _m(stem)
        if m > 1 or (m == 1 and not _cvc(stem)):
            return stem
    return word


def _step5b(word: str) -> str:
    if word.endswith("ll") and _m(word[:-1]) > 1:
        return word[:-1]
    return word


def stem(word: str) -> str:
    """The stem nltk's `PorterStemmer().stem(word)` returns (default NLTK_EXTENSIONS mode)."""
    w = word.lower()
    fixed = _IRREGULAR.get(w)
    if fixed is not None:
        return fixed
    if len(word) <= 2:
        return w
    w = _step1a(w)
    w = _step1b(w)
    w = _step1c(w)
    w = _step2(w)
    w = _first_rule(w, _STEP3)
    w = _first_rule(w, _STEP4)
    w = _step5a(w)
    return _step5b(w)
